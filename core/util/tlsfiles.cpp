#include "core/util/tlsfiles.h"

#include <QDateTime>
#include <QFile>
#include <QSslCertificate>
#include <QSslKey>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// The file's content, or an empty array with *problem set.
QByteArray readFile(const QString &path, QString *problem)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *problem = u"cannot be read: %1"_s.arg(file.errorString());
        return {};
    }
    return file.readAll();
}

// Whether the private key in `keyPem` belongs to the certificate in `certificatePem` (Qt has no
// such check; OpenSSL, which Qt's TLS backend is, does).
bool keyMatchesCertificate(const QByteArray &certificatePem, const QByteArray &keyPem)
{
    BIO *certificateBio = BIO_new_mem_buf(certificatePem.constData(), int(certificatePem.size()));
    BIO *keyBio = BIO_new_mem_buf(keyPem.constData(), int(keyPem.size()));
    // No passphrase prompt on the terminal: an encrypted key simply does not load.
    pem_password_cb *noPassphrase = [](char *, int, int, void *) { return 0; };
    X509 *certificate = certificateBio
                                ? PEM_read_bio_X509(certificateBio, nullptr, noPassphrase, nullptr)
                                : nullptr;
    EVP_PKEY *key = keyBio ? PEM_read_bio_PrivateKey(keyBio, nullptr, noPassphrase, nullptr)
                           : nullptr;
    const bool match = certificate && key && X509_check_private_key(certificate, key) == 1;
    X509_free(certificate);
    EVP_PKEY_free(key);
    BIO_free(certificateBio);
    BIO_free(keyBio);
    ERR_clear_error();
    return match;
}

} // namespace

QList<QSslCertificate> TlsFiles::readCertificates(const QString &path, QString *problem)
{
    const QByteArray pem = readFile(path, problem);
    if (!problem->isEmpty())
        return {};
    const QList<QSslCertificate> certificates = QSslCertificate::fromData(pem, QSsl::Pem);
    if (certificates.isEmpty())
        *problem = u"holds no PEM certificate"_s;
    return certificates;
}

QDateTime TlsFiles::certificateExpiry() const
{
    const QList<QSslCertificate> chain = QSslCertificate::fromPath(certificateFile);
    return chain.isEmpty() ? QDateTime() : chain.first().expiryDate();
}

QString TlsFiles::Loaded::errorText() const
{
    return field + u": "_s + problem;
}

TlsFiles::Loaded TlsFiles::load(PeerCertificate peer) const
{
    const bool mutual = peer == PeerCertificate::Required;
    Loaded out;
    const auto fail = [&out](const QString &field, const QString &file, const QString &problem) {
        out.field = field;
        out.problem = file.isEmpty() ? problem : file + u": "_s + problem;
        out.configuration = {};
        return out;
    };
    if (certificateFile.isEmpty() || privateKeyFile.isEmpty() || (mutual && caFile.isEmpty())) {
        const QString missing = certificateFile.isEmpty()  ? u"cert_file"_s
                                : privateKeyFile.isEmpty() ? u"key_file"_s
                                                           : u"ca_file"_s;
        return fail(missing,
                    {},
                    mutual ? u"is required with TLS (cert_file, key_file and ca_file)"_s
                           : u"is required with TLS (cert_file and key_file)"_s);
    }

    QString problem;
    const QList<QSslCertificate> chain = readCertificates(certificateFile, &problem);
    if (!problem.isEmpty())
        return fail(u"cert_file"_s, certificateFile, problem);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (chain.first().expiryDate() < now)
        return fail(u"cert_file"_s,
                    certificateFile,
                    u"the certificate expired on %1"_s.arg(
                            chain.first().expiryDate().toString(Qt::ISODate)));
    if (chain.first().effectiveDate() > now)
        return fail(u"cert_file"_s,
                    certificateFile,
                    u"the certificate is not valid before %1"_s.arg(
                            chain.first().effectiveDate().toString(Qt::ISODate)));

    const QByteArray keyPem = readFile(privateKeyFile, &problem);
    if (!problem.isEmpty())
        return fail(u"key_file"_s, privateKeyFile, problem);
    QSslKey key;
    for (const QSsl::KeyAlgorithm algorithm : {QSsl::Ec, QSsl::Rsa, QSsl::Dsa}) {
        key = QSslKey(keyPem, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!key.isNull())
            break;
    }
    if (key.isNull())
        return fail(u"key_file"_s,
                    privateKeyFile,
                    u"holds no unencrypted PEM private key (RSA, EC or DSA)"_s);
    if (!keyMatchesCertificate(chain.first().toPem(), keyPem))
        return fail(u"key_file"_s,
                    privateKeyFile,
                    u"does not belong to the certificate in %1"_s.arg(certificateFile));

    QSslConfiguration c = QSslConfiguration::defaultConfiguration();
    c.setProtocol(QSsl::TlsV1_2OrLater);
    c.setLocalCertificateChain(chain);
    c.setPrivateKey(key);
    if (!mutual) {
        c.setPeerVerifyMode(QSslSocket::VerifyNone); // no client certificate is asked for
        out.configuration = c;
        return out;
    }

    const QList<QSslCertificate> authorities = readCertificates(caFile, &problem);
    if (!problem.isEmpty())
        return fail(u"ca_file"_s, caFile, problem);

    c.setCaCertificates(authorities); // only the cluster's CAs, not the system's
    c.setPeerVerifyMode(QSslSocket::VerifyPeer);
    out.configuration = c;
    return out;
}

} // namespace Meridian
