#pragma once

#include "core/balancing/balancerconfig.h"
#include "core/balancing/endpointref.h"
#include "core/control/action.h"
#include "core/control/controlstate.h"
#include "core/edge/edgecache.h"
#include "core/edge/edgeconfig.h"
#include "core/edge/edgeloop.h"
#include "core/edge/edgetraffic.h"
#include "core/node/nodeconfig.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>

#include <memory>
#include <optional>

namespace Meridian {

class ActiveHealthChecker;
class EdgeRouter;
class EdgeServer;
class OutlierDetector;

// The `edge` role of a node: runs the edge data plane (core/edge's EdgeServer on the `edge`
// section's listen address) in front of the cluster's regions. It turns the shared control state
// and endpoint health into the BalancerConfig the gateway picks from and pushes every change to
// the router at once (an atomic swap: no connection is dropped); it runs the active health
// checks of every region endpoint and the passive outlier detection, and keeps the per-region
// traffic the data plane measured for /metrics, GET /v1/cluster and the `traffic` events.
class EdgeGateway final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EdgeGateway)

public:
    EdgeGateway(const NodeConfig &config, QObject *parent = nullptr);
    ~EdgeGateway() override;

    // Returns an error message, or nothing when it runs.
    QString start();
    // Stops accepting and lets in-flight requests finish for up to `graceMs`.
    void stop(int graceMs = 5000);

    void setControlState(const ControlState &state);
    // The cluster monitor's view of a region's data endpoint; the gateway's own active checks
    // win once they have a verdict.
    void setRegionHealth(const QString &region, const QString &health);
    const BalancerConfig &balancerConfig() const { return m_balancer; }
    quint16 port() const;

    // Per-region traffic over the last second: {"id": {"rps", "share", "p50_ms", "p99_ms",
    // "in_flight", "requests", "status": {"2xx": n, ...}, "failures", "retries"}}.
    QJsonObject trafficJson() const;
    QList<EdgeRegionTraffic> traffic() const { return m_traffic; }
    // Counters read now (see EdgeServer::liveCounters).
    QList<EdgeRegionTraffic> liveCounters() const;
    // The edge cache's counters now; nullopt when the cache is off.
    std::optional<EdgeCache::Stats> cacheStats() const;
    // Applies a `purge` action (POST /v1/cache/purge) to the cache and remembers how many
    // entries it removed; a no-op without a cache.
    void purgeCache(const Action &action);
    // The cache as the probe reports it: {"entries", "bytes", "max_bytes", "hits", "misses",
    // "stale", "evictions", "purged", "purges": {"act-…": removed}} (counters since start; the
    // purges this process applied, newest 64); null without a cache.
    QJsonValue cacheJson() const;
    // edge.access_log again at its path (SIGHUP); an error message, or nothing.
    QString reopenAccessLog();
    // edge.tls's files and edge.upstream_ca_file again (SIGHUP after a renewal), for new
    // connections and the health checks; an error message, or nothing.
    QString reloadTls();
    // The HTTPS port (0 without edge.tls) and its handshakes since start.
    quint16 tlsPort() const;
    EdgeLoop::TlsCounters tlsCounters() const;
    // Seconds the workers spent polling before sleeping (edge.busy_poll_us).
    double busyPollSeconds() const;
    QString accessLogPath() const { return m_edgeConfig.accessLog; }

signals:
    void balancerConfigChanged(const Meridian::BalancerConfig &config);
    void trafficUpdated();

private:
    // Gives the health checker edge.upstream_ca_file's certificates; an error, or nothing.
    QString trustUpstreamCa();
    void rebuild();

    const NodeConfig &m_config;
    EdgeConfig m_edgeConfig;
    ControlState m_state;
    QMap<QString, QString> m_health;
    QHash<EndpointRef, HealthState> m_checked; // the active checker's verdicts
    BalancerConfig m_balancer;
    std::shared_ptr<EdgeRouter> m_router;
    EdgeServer *m_server = nullptr;
    ActiveHealthChecker *m_checker = nullptr;
    OutlierDetector *m_outliers = nullptr;
    QList<EdgeRegionTraffic> m_traffic;
    QList<std::pair<QString, qint64>> m_purges; // (action id, entries removed), oldest first
    bool m_running = false;
};

// The balancing core's view of the cluster: regions from the config, the operator's controls from
// `state`, endpoint health from `health` (region id -> healthy | unhealthy | unknown).
BalancerConfig balancerConfigFor(const NodeConfig &config,
                                 const ControlState &state,
                                 const QMap<QString, QString> &health);

} // namespace Meridian
