#pragma once

#include "core/control/apitypes.h"

#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QUrl>

#include <chrono>
#include <functional>

class QNetworkAccessManager;
class QNetworkReply;
class QTimer;

namespace Meridian {

class ControlCall;

// The client of one node's control API (docs/control-api.md), shared by meridianctl and the
// control room. Every call is asynchronous on the caller's event loop (QNetworkAccessManager; it
// never blocks): it takes a context object and a callback, and the callback runs exactly once on
// the context's thread with a value struct or an Api::ApiError, unless the call is aborted, the
// context is destroyed or the client is destroyed first (then it never runs). Each call has a
// timeout (default 10 s, no answer at all within it → `timeout`). Network failures become
// operator-readable errors: "connection refused by http://127.0.0.1:42001: is meridiand running
// there?".
class ControlClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ControlClient)

public:
    template<typename T>
    using Callback = std::function<void(const Api::ApiResult<T> &)>;

    explicit ControlClient(QObject *parent = nullptr);
    ~ControlClient() override;

    // "http://host:port", "https://host:port/prefix" or "host:port" (http is assumed). Returns
    // the reason when the endpoint is not usable; the previous endpoint is then kept.
    Api::ApiResult<QUrl> setEndpoint(const QString &endpoint);
    QUrl endpoint() const { return m_endpoint; }
    void setToken(const QString &token) { m_token = token; }
    QString token() const { return m_token; }
    // Trusts the CA certificates of this PEM file for https:// endpoints, besides the system's
    // (a cluster whose control.tls certificates come from its own CA); an empty path: the
    // system's only. Returns why the file cannot be used (the trust is then unchanged).
    QString setCaCertificatesFile(const QString &path);
    const QSslConfiguration &sslConfiguration() const { return m_tls; }
    void setTimeout(std::chrono::milliseconds timeout) { m_timeout = timeout; }
    std::chrono::milliseconds timeout() const { return m_timeout; }

    static Api::ApiResult<QUrl> parseEndpoint(const QString &endpoint);

    ControlCall *status(QObject *context, Callback<Api::NodeStatus> done);
    ControlCall *cluster(QObject *context, Callback<Api::ClusterView> done);
    ControlCall *regions(QObject *context, Callback<QList<Api::RegionStatus>> done);
    ControlCall *region(const QString &id, QObject *context, Callback<Api::RegionStatus> done);
    // deadlineS <= 0 leaves the deadline to the server's default.
    ControlCall *drain(const QString &id,
                       double deadlineS,
                       bool force,
                       QObject *context,
                       Callback<Api::ActionResult> done);
    ControlCall *activate(const QString &id, QObject *context, Callback<Api::ActionResult> done);
    // `force` skips the safety rules and the control leader requirement (audited all the same).
    ControlCall *activate(const QString &id,
                          bool force,
                          QObject *context,
                          Callback<Api::ActionResult> done);
    ControlCall *promote(const QString &id,
                         bool force,
                         QObject *context,
                         Callback<Api::ActionResult> done);
    ControlCall *setDial(const QString &id,
                         int percent,
                         QObject *context,
                         Callback<Api::ActionResult> done);
    ControlCall *setDial(const QString &id,
                         int percent,
                         bool force,
                         QObject *context,
                         Callback<Api::ActionResult> done);
    ControlCall *setWeight(const QString &id,
                           int weight,
                           QObject *context,
                           Callback<Api::ActionResult> done);
    ControlCall *setWeight(const QString &id,
                           int weight,
                           bool force,
                           QObject *context,
                           Callback<Api::ActionResult> done);
    ControlCall *strategy(QObject *context, Callback<Api::StrategyInfo> done);
    ControlCall *setStrategy(const Api::StrategyInfo &strategy,
                             QObject *context,
                             Callback<Api::ActionResult> done);
    ControlCall *setStrategy(const Api::StrategyInfo &strategy,
                             bool force,
                             QObject *context,
                             Callback<Api::ActionResult> done);
    ControlCall *preview(const Api::PreviewRequest &request,
                         QObject *context,
                         Callback<Api::Preview> done);
    // An empty `from` lets the node choose the peer.
    ControlCall *startResync(const QString &id,
                             const QString &from,
                             QObject *context,
                             Callback<Api::ResyncProgress> done);
    ControlCall *resync(const QString &id, QObject *context, Callback<Api::ResyncProgress> done);
    ControlCall *cancelResync(const QString &id,
                              QObject *context,
                              Callback<Api::ResyncProgress> done);
    ControlCall *revert(const QString &actionId, QObject *context, Callback<Api::ActionResult> done);
    ControlCall *revert(const QString &actionId,
                        bool force,
                        QObject *context,
                        Callback<Api::ActionResult> done);
    // Applies a pending_approval action; the approving token must differ from the requester's.
    ControlCall *approve(const QString &actionId,
                         QObject *context,
                         Callback<Api::ActionResult> done);
    // POST /v1/cache/purge: `paths` as the API takes them ("/index.html", "/assets/*"); an
    // empty `host` purges them for every host.
    ControlCall *purgeCache(const QStringList &paths,
                            const QString &host,
                            bool force,
                            QObject *context,
                            Callback<Api::ActionResult> done);
    ControlCall *cacheStats(QObject *context, Callback<QList<Api::EdgeCacheStats>> done);
    ControlCall *purgeStatus(const QString &actionId,
                             QObject *context,
                             Callback<Api::PurgeStatus> done);
    ControlCall *actions(QObject *context, Callback<QList<Api::ActionInfo>> done);
    // limit <= 0 leaves the number of actions to the server (newest first).
    ControlCall *actions(int limit, QObject *context, Callback<QList<Api::ActionInfo>> done);
    ControlCall *links(QObject *context, Callback<QList<Api::LinkStatus>> done);
    ControlCall *digest(QObject *context, Callback<Api::DigestReport> done);
    // limit <= 0 leaves the number of entries to the server.
    ControlCall *audit(int limit, QObject *context, Callback<QList<Api::AuditEntry>> done);
    // REGION's overwritten journal (writes that lost a conflict there), newest first.
    ControlCall *overwritten(const QString &region,
                             int limit,
                             QObject *context,
                             Callback<QList<Api::OverwrittenEntry>> done);

    // The URL of a path under the endpoint ("/v1/events"), for EventStream and messages.
    QUrl urlFor(const QString &path, const QString &query = {}) const;
    QNetworkAccessManager *networkAccess() const { return m_network; }

    // The message for a transport failure of `reply`, e.g. connection refused, for `url`.
    static Api::ApiError networkError(QNetworkReply *reply, const QString &url);

private:
    using RawHandler = std::function<void(const Api::ApiResult<QByteArray> &)>;
    ControlCall *send(const QByteArray &verb,
                      const QString &path,
                      const QString &query,
                      const QJsonObject *body,
                      QObject *context,
                      RawHandler handler);
    // A mutating call: every one answers with the action and what it changed.
    ControlCall *act(const QByteArray &verb,
                     const QString &path,
                     const QJsonObject &body,
                     QObject *context,
                     Callback<Api::ActionResult> done);
    template<typename T>
    ControlCall *call(const QByteArray &verb,
                      const QString &path,
                      const QJsonObject *body,
                      QObject *context,
                      Api::ApiResult<T> (*parse)(const QJsonObject &),
                      Callback<T> done,
                      const QString &query = {});

    QNetworkAccessManager *m_network;
    QUrl m_endpoint;
    QString m_token;
    QSslConfiguration m_tls = QSslConfiguration::defaultConfiguration();
    std::chrono::milliseconds m_timeout{10000};
};

// One control call in flight. Owned by the ControlClient and deleted after it finishes; keep it in
// a QPointer if you may abort it later.
class ControlCall final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ControlCall)

public:
    ~ControlCall() override;
    // Stops the call; its callback never runs.
    void abort();

private:
    friend class ControlClient;
    ControlCall(QNetworkReply *reply, QObject *parent);

    QPointer<QNetworkReply> m_reply;
    QTimer *m_timer = nullptr;
    bool m_aborted = false;
    bool m_timedOut = false;
};

} // namespace Meridian
