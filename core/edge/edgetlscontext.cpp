#include "core/edge/edgetlscontext.h"

#include <QFile>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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

EdgeTlsContext::EdgeTlsContext(QString certificateFile, QString privateKeyFile)
    : m_certificateFile(std::move(certificateFile))
    , m_privateKeyFile(std::move(privateKeyFile))
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

SSL_CTX *EdgeTlsContext::build(const QString &certificateFile,
                               const QString &privateKeyFile,
                               QString *error)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    // "what: OpenSSL's reason", or `what` alone when it says everything.
    const auto fail = [&](const QString &what, bool withReason = true) {
        if (error)
            *error = withReason ? what + u": "_s + lastError() : what;
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return nullptr;
    };
    if (!ctx)
        return fail(u"edge.tls: cannot create a TLS context"_s);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // No renegotiation (a known denial-of-service lever); a client's EOF without close_notify
    // is an ordinary end of the connection, as for every HTTP/1.1 client that just closes.
    SSL_CTX_set_options(ctx,
                        SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                                | SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Partial writes, so a large body goes out record by record; the loop may retry a write
    // from a buffer that moved (compacted); idle keep-alive connections give their buffers back.
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                             | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);
    const QByteArray cert = QFile::encodeName(certificateFile);
    const QByteArray key = QFile::encodeName(privateKeyFile);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert.constData()) != 1)
        return fail(u"edge.tls.cert_file %1"_s.arg(certificateFile));
    if (SSL_CTX_use_PrivateKey_file(ctx, key.constData(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            return fail(u"edge.tls.key_file %1 does not belong to the certificate in %2"_s
                                .arg(privateKeyFile, certificateFile),
                        false);
        return fail(u"edge.tls.key_file %1"_s.arg(privateKeyFile));
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fail(u"edge.tls.key_file %1 does not belong to the certificate in %2"_s
                            .arg(privateKeyFile, certificateFile),
                    false);
    return ctx;
}

std::unique_ptr<EdgeTlsContext> EdgeTlsContext::create(const QString &certificateFile,
                                                       const QString &privateKeyFile,
                                                       QString *error)
{
    SSL_CTX *ctx = build(certificateFile, privateKeyFile, error);
    if (!ctx)
        return nullptr;
    std::unique_ptr<EdgeTlsContext> out(new EdgeTlsContext(certificateFile, privateKeyFile));
    out->m_context = ctx;
    return out;
}

bool EdgeTlsContext::reload(QString *error)
{
    SSL_CTX *fresh = build(m_certificateFile, m_privateKeyFile, error);
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

SSL *EdgeTlsContext::newSession(int fd) const
{
    SSL *ssl = nullptr;
    {
        QMutexLocker lock(&m_mutex);
        ssl = SSL_new(m_context);
    }
    if (!ssl)
        return nullptr;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return nullptr;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

} // namespace Meridian
