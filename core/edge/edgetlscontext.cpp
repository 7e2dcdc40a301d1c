#include "core/edge/edgetlscontext.h"

#include <QFile>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <cerrno>
#include <sys/socket.h>

#include <cstring>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// ALPN: HTTP/1.1 is all the edge speaks. A client offering h2 and http/1.1 gets http/1.1; one
// offering only protocols the edge does not speak gets no ALPN answer and may go on or give up.
int selectAlpn(SSL *,
               const unsigned char **out,
               unsigned char *outLength,
               const unsigned char *in,
               unsigned int inLength,
               void *)
{
    static constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
    for (unsigned int i = 0; i < inLength;) {
        const unsigned int length = in[i];
        if (i + 1 + length > inLength)
            break;
        if (length == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, sizeof kHttp11) == 0) {
            *out = in + i + 1;
            *outLength = static_cast<unsigned char>(length);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + length;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

} // namespace

EdgeTlsContext::EdgeTlsContext(Role role,
                               QString certificateFile,
                               QString privateKeyFile,
                               QString caFile)
    : m_role(role)
    , m_certificateFile(std::move(certificateFile))
    , m_privateKeyFile(std::move(privateKeyFile))
    , m_caFile(std::move(caFile))
{}

EdgeTlsContext::~EdgeTlsContext()
{
    SSL_CTX_free(m_context);
}

QString EdgeTlsContext::lastError()
{
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0)
        return u"unknown TLS error"_s;
    const char *reason = ERR_reason_error_string(code);
    return reason ? QString::fromLatin1(reason) : u"TLS error %1"_s.arg(code);
}

SSL_CTX *EdgeTlsContext::build(QString *error) const
{
    ERR_clear_error();
    return m_role == Role::Server ? buildServer(error) : buildClient(error);
}

namespace {

// What both sides share: TLS 1.2 or later; no renegotiation (a known denial-of-service lever);
// an EOF without close_notify is an ordinary end of the connection, as for every HTTP/1.1 peer
// that just closes; partial writes, so a large body goes out record by record; a write may be
// retried from a buffer that moved (compacted); idle keep-alive connections give their buffers
// back.
SSL_CTX *newContext(const SSL_METHOD *method)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx)
        return nullptr;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                             | SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

// A failure building `ctx`: frees it, says "what: OpenSSL's reason" (or `what` alone when it
// says everything) and returns null.
SSL_CTX *failed(SSL_CTX *ctx, QString *error, const QString &what, bool withReason = true)
{
    if (error)
        *error = withReason ? what + u": "_s + EdgeTlsContext::lastError() : what;
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return nullptr;
}

} // namespace

SSL_CTX *EdgeTlsContext::buildClient(QString *error) const
{
    SSL_CTX *ctx = newContext(TLS_client_method());
    if (!ctx)
        return failed(ctx, error, u"edge: cannot create a TLS context"_s);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (m_caFile.isEmpty()) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1)
            return failed(ctx, error, u"edge: cannot use the system's CA certificates"_s);
    } else if (SSL_CTX_load_verify_locations(ctx, QFile::encodeName(m_caFile).constData(), nullptr)
               != 1) {
        return failed(ctx, error, u"edge.upstream_ca_file %1"_s.arg(m_caFile));
    }
    static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
    return ctx;
}

SSL_CTX *EdgeTlsContext::buildServer(QString *error) const
{
    const QString &certificateFile = m_certificateFile;
    const QString &privateKeyFile = m_privateKeyFile;
    SSL_CTX *ctx = newContext(TLS_server_method());
    const auto fail = [&](const QString &what, bool withReason = true) {
        return failed(ctx, error, what, withReason);
    };
    if (!ctx)
        return fail(u"edge.tls: cannot create a TLS context"_s);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);
    const QByteArray cert = QFile::encodeName(certificateFile);
    const QByteArray key = QFile::encodeName(privateKeyFile);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert.constData()) != 1)
        return fail(u"edge.tls.cert_file %1"_s.arg(certificateFile));
    // This also checks the key against the certificate just loaded (key values mismatch).
    if (SSL_CTX_use_PrivateKey_file(ctx, key.constData(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            return fail(u"edge.tls.key_file %1 does not belong to the certificate in %2"_s
                                .arg(privateKeyFile, certificateFile),
                        false);
        return fail(u"edge.tls.key_file %1"_s.arg(privateKeyFile));
    }
    return ctx;
}

std::unique_ptr<EdgeTlsContext> EdgeTlsContext::create(const QString &certificateFile,
                                                       const QString &privateKeyFile,
                                                       QString *error)
{
    std::unique_ptr<EdgeTlsContext> out(
            new EdgeTlsContext(Role::Server, certificateFile, privateKeyFile, {}));
    out->m_context = out->build(error);
    return out->m_context ? std::move(out) : nullptr;
}

std::unique_ptr<EdgeTlsContext> EdgeTlsContext::createClient(const QString &caFile, QString *error)
{
    std::unique_ptr<EdgeTlsContext> out(new EdgeTlsContext(Role::Client, {}, {}, caFile));
    out->m_context = out->build(error);
    return out->m_context ? std::move(out) : nullptr;
}

bool EdgeTlsContext::reload(QString *error)
{
    SSL_CTX *fresh = build(error);
    if (!fresh)
        return false;
    SSL_CTX *old = nullptr;
    {
        QMutexLocker lock(&m_mutex);
        old = m_context;
        m_context = fresh;
    }
    SSL_CTX_free(old); // sessions made from it hold their own references
    return true;
}

namespace {

int socketRead(BIO *bio, char *data, int length)
{
    auto *socket = static_cast<EdgeTlsSocket *>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    for (;;) {
        const ssize_t n = ::recv(socket->fd, data, size_t(length), 0);
        if (n >= 0) {
            socket->drained = n < length;
            return int(n);
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            socket->drained = true;
            BIO_set_retry_read(bio);
        }
        return -1;
    }
}

int socketWrite(BIO *bio, const char *data, int length)
{
    auto *socket = static_cast<EdgeTlsSocket *>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    for (;;) {
        const ssize_t n = ::send(socket->fd, data, size_t(length), MSG_NOSIGNAL);
        if (n >= 0)
            return int(n);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(bio);
        return -1;
    }
}

long socketControl(BIO *, int command, long, void *)
{
    return command == BIO_CTRL_FLUSH ? 1 : 0; // writes go straight to the socket
}

int socketCreate(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

// The BIO type of EdgeTlsSocket, made once for the process.
const BIO_METHOD *socketMethod()
{
    static BIO_METHOD *const method = [] {
        BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                     "meridian edge socket");
        BIO_meth_set_read(m, socketRead);
        BIO_meth_set_write(m, socketWrite);
        BIO_meth_set_ctrl(m, socketControl);
        BIO_meth_set_create(m, socketCreate);
        return m;
    }();
    return method;
}

// Puts `ssl` on `socket` through the edge's BIO, reading ahead; false if out of memory.
bool attach(SSL *ssl, EdgeTlsSocket *socket)
{
    BIO *bio = BIO_new(socketMethod());
    if (!bio)
        return false;
    BIO_set_data(bio, socket);
    SSL_set_bio(ssl, bio, bio); // the session owns it from here
    SSL_set_read_ahead(ssl, 1);
    return true;
}

} // namespace

SSL *EdgeTlsContext::newAttached(EdgeTlsSocket *socket) const
{
    SSL *ssl = nullptr;
    {
        QMutexLocker lock(&m_mutex);
        ssl = SSL_new(m_context);
    }
    if (ssl && !attach(ssl, socket)) {
        SSL_free(ssl);
        return nullptr;
    }
    return ssl;
}

SSL *EdgeTlsContext::newSession(EdgeTlsSocket *socket) const
{
    SSL *ssl = newAttached(socket);
    if (ssl)
        SSL_set_accept_state(ssl);
    return ssl;
}

SSL *EdgeTlsContext::newClientSession(EdgeTlsSocket *socket, const std::string &serverName) const
{
    SSL *ssl = newAttached(socket);
    if (!ssl)
        return nullptr;
    in6_addr probe;
    const bool ip = inet_pton(AF_INET, serverName.c_str(), &probe) == 1
                    || inet_pton(AF_INET6, serverName.c_str(), &probe) == 1;
    // SNI is for host names only (RFC 6066); either way the certificate must name the URL's host.
    const bool named = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName.c_str())
                                       == 1
                          : SSL_set_tlsext_host_name(ssl, serverName.c_str()) == 1
                                       && SSL_set1_host(ssl, serverName.c_str()) == 1;
    if (!named) {
        SSL_free(ssl);
        return nullptr;
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

QString EdgeTlsContext::verifyError(const SSL *ssl)
{
    const long result = SSL_get_verify_result(ssl);
    return result == X509_V_OK ? QString()
                               : QString::fromLatin1(X509_verify_cert_error_string(result));
}

} // namespace Meridian
