#pragma once

#include <QDateTime>
#include <QList>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QString>

namespace Meridian {

// The PEM files of one side of a mutually authenticated TLS connection: the certificate it
// presents, its private key, and the certificate authorities whose certificates it accepts from
// the other side (and nothing else: not the system's). All three empty: no TLS.
struct TlsFiles
{
    QString certificateFile; // the leaf certificate first, then any intermediates
    QString privateKeyFile;  // unencrypted PEM (RSA, EC or DSA)
    QString caFile;          // one or more CA certificates

    bool isEnabled() const
    {
        return !certificateFile.isEmpty() || !privateKeyFile.isEmpty() || !caFile.isEmpty();
    }

    // The outcome of load(): a configuration, or which file is unusable and why.
    struct Loaded
    {
        QSslConfiguration configuration;
        QString field; // "cert_file", "key_file" or "ca_file" when something is wrong
        QString problem;
        bool ok() const { return problem.isEmpty(); }
        QString errorText() const; // "key_file /etc/…/node.key: holds no …"
    };
    enum class PeerCertificate {
        Required,     // mutual TLS: the peer's certificate must come from a CA of caFile
        NotRequested, // a server whose clients authenticate otherwise (tokens); caFile unused
    };
    // Reads the files into a configuration that presents the certificate (TLS 1.2 or later).
    // Callers read them for each new connection, so renewed files take effect without a
    // restart.
    Loaded load(PeerCertificate peer = PeerCertificate::Required) const;

    // The PEM certificates in `path`; none, with *problem set ("cannot be read: …", "holds no
    // PEM certificate"), when there are none to use.
    static QList<QSslCertificate> readCertificates(const QString &path, QString *problem);

    // When the certificate in certificateFile (as it is now) expires; null if unreadable.
    QDateTime certificateExpiry() const;

    friend bool operator==(const TlsFiles &, const TlsFiles &) = default;
};

} // namespace Meridian
