#pragma once

#include "core/edge/edgecache.h"
#include "core/edge/edgeconfig.h"
#include "core/edge/edgeloop.h"
#include "core/edge/edgetraffic.h"

#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QTimer>

#include <memory>
#include <vector>

namespace Meridian {

class AccessLog;
class EdgeRouter;
class EdgeTlsContext;
class EdgeWorker;
struct EdgeShared;

// The edge role's data plane: an HTTP/1.1 reverse proxy that sends every request to a region
// picked by the balancing core, with a cache in front. It runs `workers` threads, each with its
// own event loop and SO_REUSEPORT listener (see EdgeLoop); this object lives in the owner's
// thread, starts and stops them, and samples their per-region traffic once a second for
// /metrics and the control API's event stream.
class EdgeServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EdgeServer)

public:
    EdgeServer(const EdgeConfig &config,
               std::shared_ptr<EdgeRouter> router,
               QObject *parent = nullptr);
    ~EdgeServer() override;

    // Binds every worker's listener and starts the threads; false (and nothing running) with a
    // message naming the address on failure.
    bool start(QString *error);
    // Stops accepting, lets in-flight requests finish for up to `graceMs`, joins the threads.
    void stop(int graceMs = 5000);
    bool isRunning() const { return !m_workers.empty(); }
    quint16 port() const { return m_port; }
    // The HTTPS port (edge.tls); 0 without it.
    quint16 tlsPort() const { return m_tlsPort; }
    // Reads edge.tls's certificate and key and edge.upstream_ca_file again (SIGHUP after a
    // renewal): new connections get them, open ones keep theirs. On failure the old ones stay.
    bool reloadTls(QString *error);
    // TLS handshakes on the HTTPS port since start, summed over the workers.
    EdgeLoop::TlsCounters tlsCounters() const;
    // Seconds the workers spent polling for events before sleeping (edge.busy_poll_us).
    double busyPollSeconds() const;
    const EdgeConfig &config() const { return m_config; }

    // Per-region traffic over the last sampling window (rps, share, p50/p99) and since start.
    QList<EdgeRegionTraffic> trafficSnapshot() const { return m_snapshot; }
    // The counters since start (requests, status classes, failures, retries, in flight, the
    // latency histogram) read now, without the window's rates: for /metrics counters that must
    // not lag a second.
    QList<EdgeRegionTraffic> liveCounters() const;
    bool hasCache() const { return bool(m_cache); }
    EdgeCache::Stats cacheStats() const;
    // Removes the cached responses `purge` matches (none without a cache); how many.
    size_t purgeCache(const EdgeCachePurge &purge);
    // Opens edge.access_log again at its path (SIGHUP, after logrotate moved it); true without
    // an access log.
    bool reopenAccessLog(QString *error);
    // Samples the workers' counters now (the timer does it every second).
    void sample();

signals:
    void trafficUpdated(const QList<EdgeRegionTraffic> &traffic);

private:
    EdgeRegionTraffic counters(int region, const EdgeTraffic::Totals &totals) const;

    EdgeConfig m_config;
    std::shared_ptr<EdgeRouter> m_router;
    std::shared_ptr<EdgeTraffic> m_traffic;
    std::shared_ptr<EdgeCache> m_cache;
    std::shared_ptr<AccessLog> m_accessLog;
    std::shared_ptr<EdgeTlsContext> m_tls;
    std::shared_ptr<EdgeTlsContext> m_upstreamTls;
    std::shared_ptr<const EdgeShared> m_shared;
    std::vector<EdgeWorker *> m_workers;
    quint16 m_port = 0;
    quint16 m_tlsPort = 0;
    QTimer m_sampleTimer;
    QElapsedTimer m_sinceSample;
    std::vector<EdgeTraffic::Totals> m_previous;
    QList<EdgeRegionTraffic> m_snapshot;
};

} // namespace Meridian
