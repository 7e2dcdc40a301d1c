#pragma once

#include "core/control/actionplanner.h"
#include "core/control/auditlog.h"
#include "core/control/controlstate.h"
#include "core/control/tokenauth.h"
#include "core/http/httphandler.h"
#include "core/http/httprequest.h"
#include "core/http/httpresponder.h"
#include "core/node/nodeconfig.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QObject>

#include <QTimer>

#include <functional>
#include <memory>

namespace Meridian {

class ClusterMonitor;
class ControlBackend;
class ControlStore;
class HttpRouter;
class PeerClient;
struct Action;
struct PeerReply;

// The control API of one node (docs/control-api.md): authentication and roles, the audit log,
// forwarding of mutating calls to the control leader (the serialisation point that keeps
// concurrent operators from breaking the safety rules), the cluster view gathered from probes,
// and the live event stream. All on the thread that owns it.
class ControlService final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ControlService)

public:
    ControlService(const NodeConfig &config,
                   ControlStore *store,
                   ClusterMonitor *monitor,
                   PeerClient *peers,
                   ControlBackend *backend,
                   AuditLog *audit,
                   QObject *parent = nullptr);
    ~ControlService() override;

    // Adds every /v1/ route to `router`.
    void addRoutes(HttpRouter &router);

    // The region whose node currently acts as control leader as this node sees it (empty when
    // none is reachable).
    QString leader() const;
    // The voters (every configured node: regions and edges) and how many of them this node
    // reaches, itself included. With control.leader_quorum "majority" a node that reaches no
    // strict majority has no leader: one side of a partition at most can apply unforced calls.
    struct Quorum
    {
        int reachable = 0;
        int voters = 0;
        bool hasQuorum() const { return 2 * reachable > voters; }
    };
    Quorum quorum() const;
    QJsonObject quorumJson() const;
    QJsonObject statusJson() const;
    QJsonObject probeJson(bool withDigest) const;
    // Asks the control leader to record that this node's draining region is drained (no request
    // in flight, or its deadline passed). The leader checks that the drain is still the current
    // one, so a drain settled late never overrides a newer activate.
    void settleDrain(const QString &region, const RegionControl &draining);
    // Ends every event stream (shutdown).
    void closeStreams();

private:
    struct Caller
    {
        QString token; // configured name
        TokenRole role = TokenRole::Viewer;
        QString client; // address (and the first node, when forwarded)
    };
    using Handler = std::function<void(const HttpRequest &, HttpResponder, const Caller &)>;

    HttpHandler guarded(TokenRole role, const QString &action, Handler handler);
    void mutate(const QString &kind,
                const HttpRequest &request,
                HttpResponder responder,
                const Caller &caller);
    // The 503 no_quorum answer of a node (or a leader) that reaches no majority.
    ControlError noQuorumError() const;
    void applyLocally(const QString &kind,
                      const QString &subject,
                      const HttpRequest &request,
                      HttpResponder responder,
                      const Caller &caller);
    void forward(const QString &leaderId,
                 const QString &kind,
                 const HttpRequest &request,
                 HttpResponder responder,
                 const Caller &caller);
    void resync(const HttpRequest &request, HttpResponder responder, const Caller &caller);
    void overwritten(const HttpRequest &request, HttpResponder responder, const Caller &caller);
    // Requests about one region that only its own node can answer (resync, its journal) are
    // passed to that node; `done` gets its reply (status 0 and an error when it did not answer).
    // False, and nothing sent, when no node of the cluster serves that region.
    bool forwardToRegionNode(const QString &region,
                             const HttpRequest &request,
                             const Caller &caller,
                             std::function<void(const PeerReply &)> done);
    void recordAudit(const Caller &caller,
                     const QString &action,
                     const QJsonObject &args,
                     int status,
                     const QString &code);
    void answer(HttpResponder &responder,
                const Caller &caller,
                const QString &action,
                const QJsonObject &args,
                int status,
                const QJsonObject &body);
    void answerError(HttpResponder &responder,
                     const Caller &caller,
                     const QString &action,
                     const QJsonObject &args,
                     const ControlError &error);

    QJsonObject regionJson(const QString &id, const QMap<QString, double> &shares) const;
    QJsonArray regionsJson() const;
    QJsonArray linksJson() const;
    QJsonArray edgesJson() const;
    QJsonObject clusterJson() const;
    double rttBetween(const QString &a, const QString &b) const;
    QJsonArray inboundLinksOf(const QString &region) const;
    std::optional<QList<InboundLink>> inboundForSafety(const QString &region) const;
    QJsonObject probeOf(const QString &nodeId) const;
    // The edge nodes as this one knows them: itself when it runs an edge, the edge-only nodes,
    // and the regions whose last probe said they run an edge too, each with its `cache` (the
    // probe's: null without a cache) and whether it is reachable.
    struct EdgeCacheReport
    {
        QString node;
        QJsonValue cache;
        bool reachable = false;
    };
    QList<EdgeCacheReport> edgeCaches() const;
    // GET /v1/cache: every edge's cache figures.
    QJsonObject cacheJson() const;
    // GET /v1/cache/purge/{id}: the purge action and, per edge node, whether it has applied it.
    ControlResult<QJsonObject> purgeStatus(const QString &id) const;
    // What the cluster's edge gateways sent to each region over their last second, summed over
    // the edges this node knows (itself and the reachable ones): region id -> EdgeTraffic JSON.
    QMap<QString, QJsonObject> edgeTraffic() const;
    bool isReachable(const QString &nodeId) const;
    void digest(HttpResponder responder);

    void publish(const QByteArray &event, const QJsonObject &data);
    void onStateChanged(const ControlState &before, const ControlState &after);
    void publishPeriodic();

    void applyPromoteWithFreshLinks(const QString &subject,
                                    const HttpRequest &request,
                                    HttpResponder responder,
                                    const Caller &caller);

    // While a promote is planned: the target's inbound links just fetched from its node
    // (nothing inside: the node did not answer), instead of the last probe's.
    std::optional<std::pair<QString, std::optional<QJsonArray>>> m_freshLinks;
    const NodeConfig &m_config;
    ControlStore *m_store;
    ClusterMonitor *m_monitor;
    PeerClient *m_peers;
    ControlBackend *m_backend;
    AuditLog *m_audit;
    TokenAuth m_auth;
    ActionPlanner m_planner;
    QDateTime m_startedAt;
    QElapsedTimer m_uptime;
    QList<HttpResponder> m_streams;
    QTimer m_periodic;
    QTimer m_heartbeat;
    bool m_settleInFlight = false;
};

} // namespace Meridian
