#pragma once

#include <QMutex>
#include <QString>

#include <memory>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace Meridian {

// The edge's HTTPS side: an OpenSSL server context built from edge.tls's certificate chain and
// key (TLS 1.2 or later, ALPN "http/1.1", session tickets shared by every worker). Every worker
// takes a new session from it for each accepted connection; reload() swaps in a context built
// from the files as they are now (SIGHUP after a renewal) while connections already accepted
// keep the context they started with. Thread-safe.
//
// OpenSSL directly rather than QSslSocket: the edge's workers run their own epoll loops over
// raw descriptors (EdgeLoop), which a QSslSocket cannot join.
class EdgeTlsContext
{
public:
    ~EdgeTlsContext();
    EdgeTlsContext(const EdgeTlsContext &) = delete;
    EdgeTlsContext &operator=(const EdgeTlsContext &) = delete;

    // Reads the PEM files; null with *error ("edge.tls.key_file …: …") when they are unusable.
    static std::unique_ptr<EdgeTlsContext> create(const QString &certificateFile,
                                                  const QString &privateKeyFile,
                                                  QString *error);
    // Builds a context from the same files again; on failure the current one stays in use.
    bool reload(QString *error);

    // A server-side session on the accepted, non-blocking descriptor `fd`; null if OpenSSL
    // cannot allocate one. The caller owns it (SSL_free).
    SSL *newSession(int fd) const;

    // OpenSSL's reason for the last failure on this thread ("wrong version number", …), and
    // clears OpenSSL's error queue.
    static QString lastError();

private:
    EdgeTlsContext(QString certificateFile, QString privateKeyFile);
    static SSL_CTX *build(const QString &certificateFile,
                          const QString &privateKeyFile,
                          QString *error);

    const QString m_certificateFile;
    const QString m_privateKeyFile;
    mutable QMutex m_mutex;
    SSL_CTX *m_context = nullptr; // guarded by m_mutex; each session holds its own reference
};

} // namespace Meridian
