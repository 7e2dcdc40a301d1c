#include "core/control/controlclient.h"

#include "core/util/tlsfiles.h"

#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSslCertificate>
#include <QTimer>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcClient, "meridian.control.client", QtInfoMsg)

using namespace Api;

namespace {

QString encodeSegment(const QString &segment)
{
    return QString::fromLatin1(QUrl::toPercentEncoding(segment));
}

// Mutating bodies carry "force" only when it is set: the API refuses unknown fields, and an
// explicit false says nothing the default does not.
QJsonObject withForce(QJsonObject body, bool force)
{
    if (force)
        body.insert(u"force"_s, true);
    return body;
}

QString secondsText(std::chrono::milliseconds duration)
{
    return QString::number(double(duration.count()) / 1000.0, 'g', 3);
}

} // namespace

ControlClient::ControlClient(QObject *parent)
    : QObject(parent)
    , m_network(new QNetworkAccessManager(this))
{
    m_network->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
}

ControlClient::~ControlClient()
{
    // Calls still in flight end silently: their callbacks may refer to objects already gone.
    for (ControlCall *call : findChildren<ControlCall *>(Qt::FindDirectChildrenOnly))
        call->abort();
}

QString ControlClient::setCaCertificatesFile(const QString &path)
{
    // Connections kept alive keep the trust they were made with: drop them.
    if (path.isEmpty()) {
        m_tls = QSslConfiguration::defaultConfiguration();
        m_network->clearConnectionCache();
        return {};
    }
    QString problem;
    const QList<QSslCertificate> certificates = TlsFiles::readCertificates(path, &problem);
    if (!problem.isEmpty())
        return u"the CA file %1 %2"_s.arg(path, problem);
    m_tls = QSslConfiguration::defaultConfiguration();
    m_tls.addCaCertificates(certificates);
    m_network->clearConnectionCache();
    return {};
}

ApiResult<QUrl> ControlClient::parseEndpoint(const QString &endpoint)
{
    const QString trimmed = endpoint.trimmed();
    if (trimmed.isEmpty()) {
        ApiError error;
        error.code = u"invalid_endpoint"_s;
        error.message = u"no endpoint given: pass --endpoint URL or set MERIDIAN_ENDPOINT"_s;
        return error;
    }
    const QString withScheme = trimmed.contains(u"://"_s) ? trimmed : u"http://"_s + trimmed;
    QUrl url(withScheme, QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || url.host().isEmpty() || (scheme != u"http"_s && scheme != u"https"_s)
        || url.hasQuery() || url.hasFragment()) {
        ApiError error;
        error.code = u"invalid_endpoint"_s;
        error.message
                = u"invalid endpoint \"%1\": expected http://HOST:PORT or https://HOST:PORT"_s.arg(
                        endpoint);
        return error;
    }
    QString path = url.path();
    while (path.endsWith(u'/'))
        path.chop(1);
    url.setPath(path);
    return url;
}

ApiResult<QUrl> ControlClient::setEndpoint(const QString &endpoint)
{
    ApiResult<QUrl> parsed = parseEndpoint(endpoint);
    if (!parsed)
        return parsed;
    m_endpoint = parsed.value();
    // A node on this machine is never reached through a proxy from the environment.
    const QHostAddress address(m_endpoint.host());
    const bool local = address.isLoopback() || m_endpoint.host() == u"localhost"_s;
    m_network->setProxy(local ? QNetworkProxy(QNetworkProxy::NoProxy)
                              : QNetworkProxy(QNetworkProxy::DefaultProxy));
    return parsed;
}

QUrl ControlClient::urlFor(const QString &path, const QString &query) const
{
    QUrl url = m_endpoint;
    url.setPath(m_endpoint.path() + path, QUrl::TolerantMode);
    if (!query.isEmpty())
        url.setQuery(query);
    return url;
}

ApiError ControlClient::networkError(QNetworkReply *reply, const QString &url)
{
    ApiError error;
    error.url = url;
    const QString host = QUrl(url).host();
    switch (reply->error()) {
    case QNetworkReply::ConnectionRefusedError:
        error.code = u"connection_refused"_s;
        error.message = u"connection refused by %1: is meridiand running there?"_s.arg(
                QUrl(url).adjusted(QUrl::RemovePath | QUrl::RemoveQuery).toString());
        break;
    case QNetworkReply::HostNotFoundError:
        error.code = u"host_not_found"_s;
        error.message = u"host \"%1\" not found (asked for %2)"_s.arg(host, url);
        break;
    case QNetworkReply::TimeoutError:
        error.code = u"timeout"_s;
        error.message = u"connecting to %1 timed out"_s.arg(url);
        break;
    case QNetworkReply::RemoteHostClosedError:
        error.code = u"network"_s;
        error.message = u"%1 closed the connection before answering"_s.arg(url);
        if (QUrl(url).scheme() == u"http"_s) // what a node with control.tls does to plain HTTP
            error.message += u" (if the node serves HTTPS, use an https:// endpoint)"_s;
        break;
    case QNetworkReply::OperationCanceledError:
        error.code = u"cancelled"_s;
        error.message = u"request to %1 cancelled"_s.arg(url);
        break;
    case QNetworkReply::SslHandshakeFailedError:
        error.code = u"network"_s;
        error.message = u"TLS handshake with %1 failed: %2 (if its certificate comes from the "
                        "cluster's own CA, give that CA: meridianctl --cacert FILE, "
                        "MERIDIAN_CACERT, or the CA file of the control room's profile)"_s
                                .arg(host, reply->errorString());
        break;
    default:
        error.code = u"network"_s;
        error.message = u"cannot reach %1: %2"_s.arg(url, reply->errorString());
        break;
    }
    return error;
}

ControlCall *ControlClient::send(const QByteArray &verb,
                                 const QString &path,
                                 const QString &query,
                                 const QJsonObject *body,
                                 QObject *context,
                                 RawHandler handler)
{
    const QUrl url = urlFor(path, query);
    const QString urlText = url.toString();
    QNetworkRequest request(url);
    request.setSslConfiguration(m_tls);
    request.setRawHeader("Accept", "application/json");
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    QByteArray payload;
    if (body) {
        payload = QJsonDocument(*body).toJson(QJsonDocument::Compact);
        request.setHeader(QNetworkRequest::ContentTypeHeader, u"application/json"_s);
    }
    qCDebug(lcClient) << verb << urlText;

    QNetworkReply *reply = body ? m_network->sendCustomRequest(request, verb, payload)
                                : m_network->sendCustomRequest(request, verb);
    auto *call = new ControlCall(reply, this);
    const std::chrono::milliseconds timeout = m_timeout;
    call->m_timer->start(timeout);
    connect(call->m_timer, &QTimer::timeout, call, [call] {
        call->m_timedOut = true;
        if (call->m_reply)
            call->m_reply->abort();
    });
    const QPointer<QObject> guard(context);
    const bool guarded = context != nullptr;
    if (context)
        connect(context, &QObject::destroyed, call, &ControlCall::abort);

    connect(reply, &QNetworkReply::finished, call, [=] {
        call->m_timer->stop();
        reply->deleteLater();
        call->deleteLater();
        if (call->m_aborted || (guarded && !guard))
            return;
        // An aborted reply (timeout) is closed: reading it would only warn.
        const QByteArray data = reply->isOpen() ? reply->readAll() : QByteArray();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (call->m_timedOut) {
            ApiError error;
            error.code = u"timeout"_s;
            error.url = urlText;
            error.message = u"no answer from %1 within %2 s: the node may be overloaded or "
                            "unreachable"_s.arg(urlText, secondsText(timeout));
            handler(error);
        } else if (status == 0) {
            handler(networkError(reply, urlText));
        } else if (status >= 400) {
            handler(ApiError::fromHttp(status, data, urlText));
        } else if (status >= 300) {
            const QString location = QString::fromUtf8(reply->rawHeader("Location"));
            handler(ApiError::invalidResponse(u"unexpected redirect (HTTP %1) to \"%2\""_s
                                                      .arg(status)
                                                      .arg(location),
                                              urlText));
        } else {
            handler(data);
        }
    });
    return call;
}

template<typename T>
ControlCall *ControlClient::call(const QByteArray &verb,
                                 const QString &path,
                                 const QJsonObject *body,
                                 QObject *context,
                                 ApiResult<T> (*parse)(const QJsonObject &),
                                 Callback<T> done,
                                 const QString &query)
{
    const QString url = urlFor(path, query).toString();
    return send(verb,
                path,
                query,
                body,
                context,
                [parse, done = std::move(done), url](const ApiResult<QByteArray> &raw) {
                    if (!raw) {
                        done(raw.error());
                        return;
                    }
                    QJsonParseError parseError;
                    const QJsonDocument document = QJsonDocument::fromJson(raw.value(), &parseError);
                    if (parseError.error != QJsonParseError::NoError || !document.isObject()) {
                        const QString reason = parseError.error != QJsonParseError::NoError
                                                       ? parseError.errorString()
                                                       : u"not a JSON object"_s;
                        ApiResult<T> result = ApiError::invalidResponse(reason, url);
                        result.setBody(raw.value());
                        done(result);
                        return;
                    }
                    ApiResult<T> result = parse(document.object());
                    if (!result) {
                        ApiError error = result.error();
                        error.url = url;
                        error.message += u" (from "_s + url + u')';
                        result = error;
                    }
                    result.setBody(raw.value());
                    done(result);
                });
}

ControlCall *ControlClient::status(QObject *context, Callback<NodeStatus> done)
{
    return call<NodeStatus>("GET", u"/v1/status"_s, nullptr, context, &NodeStatus::fromJson, done);
}

ControlCall *ControlClient::cluster(QObject *context, Callback<ClusterView> done)
{
    return call<ClusterView>("GET", u"/v1/cluster"_s, nullptr, context, &ClusterView::fromJson, done);
}

ControlCall *ControlClient::regions(QObject *context, Callback<QList<RegionStatus>> done)
{
    return call<QList<RegionStatus>>("GET",
                                     u"/v1/regions"_s,
                                     nullptr,
                                     context,
                                     &regionsFromJson,
                                     done);
}

ControlCall *ControlClient::region(const QString &id, QObject *context, Callback<RegionStatus> done)
{
    return call<RegionStatus>("GET",
                              u"/v1/regions/"_s + encodeSegment(id),
                              nullptr,
                              context,
                              &RegionStatus::fromJson,
                              done);
}

ControlCall *ControlClient::act(const QByteArray &verb,
                                const QString &path,
                                const QJsonObject &body,
                                QObject *context,
                                Callback<ActionResult> done)
{
    return call<ActionResult>(verb, path, &body, context, &ActionResult::fromJson, std::move(done));
}

ControlCall *ControlClient::drain(const QString &id,
                                  double deadlineS,
                                  bool force,
                                  QObject *context,
                                  Callback<ActionResult> done)
{
    QJsonObject body{{u"force"_s, force}};
    if (deadlineS > 0)
        body.insert(u"deadline_s"_s, deadlineS);
    return act("POST",
               u"/v1/regions/%1/drain"_s.arg(encodeSegment(id)),
               body,
               context,
               std::move(done));
}

ControlCall *ControlClient::activate(const QString &id,
                                     QObject *context,
                                     Callback<ActionResult> done)
{
    return activate(id, false, context, std::move(done));
}

ControlCall *ControlClient::activate(const QString &id,
                                     bool force,
                                     QObject *context,
                                     Callback<ActionResult> done)
{
    const QJsonObject body = withForce({}, force);
    return act("POST",
               u"/v1/regions/%1/activate"_s.arg(encodeSegment(id)),
               body,
               context,
               std::move(done));
}

ControlCall *ControlClient::promote(const QString &id,
                                    bool force,
                                    QObject *context,
                                    Callback<ActionResult> done)
{
    const QJsonObject body{{u"force"_s, force}};
    return act("POST",
               u"/v1/regions/%1/promote"_s.arg(encodeSegment(id)),
               body,
               context,
               std::move(done));
}

ControlCall *ControlClient::setDial(const QString &id,
                                    int percent,
                                    QObject *context,
                                    Callback<ActionResult> done)
{
    return setDial(id, percent, false, context, std::move(done));
}

ControlCall *ControlClient::setDial(
        const QString &id, int percent, bool force, QObject *context, Callback<ActionResult> done)
{
    const QJsonObject body = withForce({{u"percent"_s, percent}}, force);
    return act("PUT",
               u"/v1/regions/%1/dial"_s.arg(encodeSegment(id)),
               body,
               context,
               std::move(done));
}

ControlCall *ControlClient::setWeight(const QString &id,
                                      int weight,
                                      QObject *context,
                                      Callback<ActionResult> done)
{
    return setWeight(id, weight, false, context, std::move(done));
}

ControlCall *ControlClient::setWeight(
        const QString &id, int weight, bool force, QObject *context, Callback<ActionResult> done)
{
    const QJsonObject body = withForce({{u"weight"_s, weight}}, force);
    return act("PUT",
               u"/v1/regions/%1/weight"_s.arg(encodeSegment(id)),
               body,
               context,
               std::move(done));
}

ControlCall *ControlClient::strategy(QObject *context, Callback<StrategyInfo> done)
{
    return call<StrategyInfo>("GET",
                              u"/v1/strategy"_s,
                              nullptr,
                              context,
                              &StrategyInfo::fromJson,
                              done);
}

ControlCall *ControlClient::setStrategy(const StrategyInfo &strategy,
                                        QObject *context,
                                        Callback<ActionResult> done)
{
    return setStrategy(strategy, false, context, std::move(done));
}

ControlCall *ControlClient::setStrategy(const StrategyInfo &strategy,
                                        bool force,
                                        QObject *context,
                                        Callback<ActionResult> done)
{
    const QJsonObject body = withForce(strategy.toJson(), force);
    return act("PUT", u"/v1/strategy"_s, body, context, std::move(done));
}

ControlCall *ControlClient::preview(const PreviewRequest &request,
                                    QObject *context,
                                    Callback<Preview> done)
{
    const QJsonObject body = request.toJson();
    return call<Preview>("POST", u"/v1/preview"_s, &body, context, &Preview::fromJson, done);
}

ControlCall *ControlClient::startResync(const QString &id,
                                        const QString &from,
                                        QObject *context,
                                        Callback<ResyncProgress> done)
{
    QJsonObject body;
    if (!from.isEmpty())
        body.insert(u"from"_s, from);
    return call<ResyncProgress>("POST",
                                u"/v1/regions/%1/resync"_s.arg(encodeSegment(id)),
                                &body,
                                context,
                                &ResyncProgress::fromJson,
                                done);
}

ControlCall *ControlClient::resync(const QString &id,
                                   QObject *context,
                                   Callback<ResyncProgress> done)
{
    return call<ResyncProgress>("GET",
                                u"/v1/regions/%1/resync"_s.arg(encodeSegment(id)),
                                nullptr,
                                context,
                                &ResyncProgress::fromJson,
                                done);
}

ControlCall *ControlClient::cancelResync(const QString &id,
                                         QObject *context,
                                         Callback<ResyncProgress> done)
{
    return call<ResyncProgress>("DELETE",
                                u"/v1/regions/%1/resync"_s.arg(encodeSegment(id)),
                                nullptr,
                                context,
                                &ResyncProgress::fromJson,
                                done);
}

ControlCall *ControlClient::revert(const QString &actionId,
                                   QObject *context,
                                   Callback<ActionResult> done)
{
    return revert(actionId, false, context, std::move(done));
}

ControlCall *ControlClient::revert(const QString &actionId,
                                   bool force,
                                   QObject *context,
                                   Callback<ActionResult> done)
{
    const QJsonObject body = withForce({}, force);
    return act("POST",
               u"/v1/actions/%1/revert"_s.arg(encodeSegment(actionId)),
               body,
               context,
               std::move(done));
}

ControlCall *ControlClient::approve(const QString &actionId,
                                    QObject *context,
                                    Callback<ActionResult> done)
{
    const QJsonObject body;
    return act("POST",
               u"/v1/actions/%1/approve"_s.arg(encodeSegment(actionId)),
               body,
               context,
               std::move(done));
}

ControlCall *ControlClient::purgeCache(const QStringList &paths,
                                       const QString &host,
                                       bool force,
                                       QObject *context,
                                       Callback<ActionResult> done)
{
    QJsonObject body{{u"paths"_s, QJsonArray::fromStringList(paths)}};
    if (!host.isEmpty())
        body.insert(u"host"_s, host);
    return act("POST", u"/v1/cache/purge"_s, withForce(body, force), context, std::move(done));
}

ControlCall *ControlClient::cacheStats(QObject *context, Callback<QList<EdgeCacheStats>> done)
{
    return call<QList<EdgeCacheStats>>("GET",
                                       u"/v1/cache"_s,
                                       nullptr,
                                       context,
                                       &EdgeCacheStats::listFromJson,
                                       done);
}

ControlCall *ControlClient::purgeStatus(const QString &actionId,
                                        QObject *context,
                                        Callback<PurgeStatus> done)
{
    return call<PurgeStatus>("GET",
                             u"/v1/cache/purge/%1"_s.arg(encodeSegment(actionId)),
                             nullptr,
                             context,
                             &PurgeStatus::fromJson,
                             done);
}

ControlCall *ControlClient::actions(QObject *context, Callback<QList<ActionInfo>> done)
{
    return actions(0, context, std::move(done));
}

ControlCall *ControlClient::actions(int limit, QObject *context, Callback<QList<ActionInfo>> done)
{
    return call<QList<ActionInfo>>("GET",
                                   u"/v1/actions"_s,
                                   nullptr,
                                   context,
                                   &actionsFromJson,
                                   done,
                                   limit > 0 ? u"limit=%1"_s.arg(limit) : QString());
}

ControlCall *ControlClient::links(QObject *context, Callback<QList<LinkStatus>> done)
{
    return call<QList<LinkStatus>>("GET", u"/v1/links"_s, nullptr, context, &linksFromJson, done);
}

ControlCall *ControlClient::digest(QObject *context, Callback<DigestReport> done)
{
    return call<DigestReport>("GET",
                              u"/v1/digest"_s,
                              nullptr,
                              context,
                              &DigestReport::fromJson,
                              done);
}

ControlCall *ControlClient::audit(int limit, QObject *context, Callback<QList<AuditEntry>> done)
{
    return call<QList<AuditEntry>>("GET",
                                   u"/v1/audit"_s,
                                   nullptr,
                                   context,
                                   &auditFromJson,
                                   done,
                                   limit > 0 ? u"limit=%1"_s.arg(limit) : QString());
}

ControlCall *ControlClient::overwritten(const QString &region,
                                        int limit,
                                        QObject *context,
                                        Callback<QList<OverwrittenEntry>> done)
{
    return call<QList<OverwrittenEntry>>("GET",
                                         u"/v1/regions/%1/overwritten"_s.arg(encodeSegment(region)),
                                         nullptr,
                                         context,
                                         &overwrittenFromJson,
                                         done,
                                         limit > 0 ? u"limit=%1"_s.arg(limit) : QString());
}

ControlCall::ControlCall(QNetworkReply *reply, QObject *parent)
    : QObject(parent)
    , m_reply(reply)
    , m_timer(new QTimer(this))
{
    m_timer->setSingleShot(true);
}

ControlCall::~ControlCall()
{
    if (m_reply) {
        m_reply->disconnect(this);
        if (m_reply->isRunning())
            m_reply->abort();
        m_reply->deleteLater();
    }
}

void ControlCall::abort()
{
    m_aborted = true;
    m_timer->stop();
    if (m_reply && m_reply->isRunning())
        m_reply->abort();
}

} // namespace Meridian
