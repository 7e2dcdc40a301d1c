#pragma once

#include <QByteArray>
#include <QList>
#include <QNetworkAccessManager>
#include <QObject>
#include <QSslConfiguration>
#include <QUrl>

#include <functional>

namespace Meridian {

// One answer from another node's control API.
struct PeerReply
{
    int status = 0; // 0: no HTTP answer (connection refused, timeout, ...)
    QByteArray body;
    QList<std::pair<QByteArray, QByteArray>> headers;
    QString error;
    bool connectionRefused = false; // nothing was sent: safe to try elsewhere
    double elapsedMs = 0.0;

    bool ok() const { return status >= 200 && status < 300; }
    QByteArray header(const QByteArray &name) const;
};

// Asynchronous HTTP calls from this node to the control APIs of the others: probes, forwarded
// control calls, gathering digests. Each call has a deadline; the callback runs on this object's
// thread exactly once.
class PeerClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerClient)

public:
    explicit PeerClient(QByteArray clusterToken, QObject *parent = nullptr);
    // Trusted for https:// nodes besides the system's CAs (control.tls.ca_file).
    void addCaCertificates(const QList<QSslCertificate> &certificates);

    using Callback = std::function<void(const PeerReply &)>;

    // Calls `base` + `pathAndQuery`. With an empty `authorization`, the cluster token is sent.
    void call(const QUrl &base,
              const QByteArray &method,
              const QString &pathAndQuery,
              const QByteArray &body,
              int timeoutMs,
              Callback done,
              const QByteArray &authorization = {},
              const QList<std::pair<QByteArray, QByteArray>> &extraHeaders = {});

private:
    QNetworkAccessManager m_manager;
    QByteArray m_clusterToken;
    QSslConfiguration m_tls = QSslConfiguration::defaultConfiguration();
};

} // namespace Meridian
