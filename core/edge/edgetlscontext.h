#pragma once

#include <QMutex>
#include <QString>

#include <memory>
#include <string>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace Meridian {

// The socket under one TLS session: OpenSSL reads and writes it through a BIO of the edge's own
// (recv/send with MSG_NOSIGNAL), which records whether the last read emptied the socket, so an
// edge-triggered loop can stop reading without one more read to find out.
struct EdgeTlsSocket
{
    int fd = -1;
    bool drained = false; // the last read returned less than asked, or nothing (EAGAIN)
};

// The edge's TLS: either the server side of its HTTPS port, an OpenSSL server context built from
// edge.tls's certificate chain and key (TLS 1.2 or later, ALPN "http/1.1", session tickets
// shared by every worker), or the client side of its connections to https:// regions, which
// verifies each region's certificate against edge.upstream_ca_file (or the system's CAs) and the
// URL's host. Every worker takes a new session from it for each connection; reload() swaps in a
// context built from the files as they are now (SIGHUP after a renewal) while connections
// already made keep the context they started with. Thread-safe.
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
    // The client side: trusts the CA certificates in `caFile` (empty: the system's).
    static std::unique_ptr<EdgeTlsContext> createClient(const QString &caFile, QString *error);
    // Builds a context from the same files again; on failure the current one stays in use.
    bool reload(QString *error);

    // A server-side session on the accepted, non-blocking `socket` (which must outlive it);
    // null if OpenSSL cannot allocate one. The caller owns it (SSL_free). Sessions read ahead:
    // after a read, SSL_has_pending() and socket->drained together say whether more is there.
    SSL *newSession(EdgeTlsSocket *socket) const;
    // A client session on the connecting `socket` to `serverName` (a host name, sent as SNI, or
    // an IP address), whose certificate must name it. Client contexts only.
    SSL *newClientSession(EdgeTlsSocket *socket, const std::string &serverName) const;
    // Why the peer's certificate was refused ("certificate has expired", …), or empty.
    static QString verifyError(const SSL *ssl);

    // OpenSSL's reason for the last failure on this thread ("wrong version number", …), and
    // clears OpenSSL's error queue.
    static QString lastError();

private:
    enum class Role { Server, Client };
    EdgeTlsContext(Role role, QString certificateFile, QString privateKeyFile, QString caFile);
    SSL_CTX *build(QString *error) const; // from the files, for the role
    SSL_CTX *buildServer(QString *error) const;
    SSL_CTX *buildClient(QString *error) const;
    // A session of the current context on `socket` (through the edge's BIO); null if out of
    // memory.
    SSL *newAttached(EdgeTlsSocket *socket) const;

    const Role m_role;
    const QString m_certificateFile;
    const QString m_privateKeyFile;
    const QString m_caFile;
    mutable QMutex m_mutex;
    SSL_CTX *m_context = nullptr; // guarded by m_mutex; each session holds its own reference
};

} // namespace Meridian
