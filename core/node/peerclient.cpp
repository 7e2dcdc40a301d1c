#include "core/node/peerclient.h"

#include <QBuffer>
#include <QElapsedTimer>
#include <QNetworkReply>
#include <QNetworkRequest>

using namespace Qt::StringLiterals;

namespace Meridian {

QByteArray PeerReply::header(const QByteArray &name) const
{
    for (const auto &[key, value] : headers) {
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    }
    return {};
}

PeerClient::PeerClient(QByteArray clusterToken, QObject *parent)
    : QObject(parent)
    , m_clusterToken(std::move(clusterToken))
{}

void PeerClient::addCaCertificates(const QList<QSslCertificate> &certificates)
{
    m_tls.addCaCertificates(certificates);
}

void PeerClient::call(const QUrl &base,
                      const QByteArray &method,
                      const QString &pathAndQuery,
                      const QByteArray &body,
                      int timeoutMs,
                      Callback done,
                      const QByteArray &authorization,
                      const QList<std::pair<QByteArray, QByteArray>> &extraHeaders)
{
    QUrl url = base;
    const qsizetype question = pathAndQuery.indexOf(u'?');
    url.setPath(question < 0 ? pathAndQuery : pathAndQuery.left(question));
    if (question >= 0)
        url.setQuery(pathAndQuery.mid(question + 1));
    QNetworkRequest request(url);
    request.setSslConfiguration(m_tls);
    request.setTransferTimeout(timeoutMs);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                         QNetworkRequest::ManualRedirectPolicy);
    request.setRawHeader("Authorization",
                         authorization.isEmpty() ? "Bearer " + m_clusterToken : authorization);
    if (!body.isEmpty())
        request.setRawHeader("Content-Type", "application/json");
    for (const auto &[name, value] : extraHeaders)
        request.setRawHeader(name, value);

    auto *timer = new QElapsedTimer;
    timer->start();
    QNetworkReply *reply = m_manager.sendCustomRequest(request, method, body);
    connect(reply, &QNetworkReply::finished, this, [reply, timer, done = std::move(done)]() {
        PeerReply answer;
        answer.elapsedMs = double(timer->nsecsElapsed()) / 1e6;
        delete timer;
        answer.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        answer.body = reply->readAll();
        answer.headers = reply->rawHeaderPairs();
        if (answer.status == 0) {
            answer.error = reply->errorString();
            answer.connectionRefused = reply->error() == QNetworkReply::ConnectionRefusedError;
        }
        reply->deleteLater();
        done(answer);
    });
}

} // namespace Meridian
