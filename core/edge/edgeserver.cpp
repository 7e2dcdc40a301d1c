#include "core/edge/edgeserver.h"

#include "core/edge/edgefetchregistry.h"
#include "core/edge/edgeloop.h"
#include "core/edge/edgerouter.h"
#include "core/edge/edgetlscontext.h"
#include "core/edge/edgeworker.h"
#include "core/http/accesslog.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcEdgeProxy)

using namespace Qt::StringLiterals;

namespace Meridian {

EdgeServer::EdgeServer(const EdgeConfig &config, std::shared_ptr<EdgeRouter> router, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_router(std::move(router))
{
    m_sampleTimer.setInterval(1000);
    connect(&m_sampleTimer, &QTimer::timeout, this, &EdgeServer::sample);
}

EdgeServer::~EdgeServer()
{
    stop(0);
}

bool EdgeServer::start(QString *error)
{
    if (!m_workers.empty())
        return true;
    m_traffic = std::make_shared<EdgeTraffic>(m_config.workers);
    if (m_config.cacheEnabled && m_config.cacheMaxBytes > 0)
        m_cache = std::make_shared<EdgeCache>(m_config.cacheMaxBytes,
                                              m_config.cacheMaxObjectBytes,
                                              m_config.cacheStaleIfErrorS * 1000,
                                              m_config.cacheStaleWhileRevalidateS * 1000);
    if (!m_config.accessLog.isEmpty()) {
        auto log = std::make_shared<AccessLog>();
        QString why;
        if (!log->open(m_config.accessLog, &why)) {
            if (error)
                *error = u"edge: %1"_s.arg(why);
            return false;
        }
        m_accessLog = std::move(log);
    }
    if (m_config.tlsEnabled()) {
        QString why;
        m_tls = EdgeTlsContext::create(m_config.tls.certificateFile,
                                       m_config.tls.privateKeyFile,
                                       &why);
        if (!m_tls) {
            if (error)
                *error = why;
            return false;
        }
    }
    // The client side is always there: regions may be listed with https:// URLs at any time.
    QString problem;
    m_upstreamTls = EdgeTlsContext::createClient(m_config.upstreamCaFile, &problem);
    if (!m_upstreamTls) {
        if (error)
            *error = problem;
        return false;
    }
    auto shared = std::make_shared<EdgeShared>();
    shared->config = m_config;
    shared->router = m_router;
    shared->traffic = m_traffic;
    shared->cache = m_cache;
    shared->accessLog = m_accessLog;
    shared->tls = m_tls;
    shared->upstreamTls = m_upstreamTls;
    shared->fetches = std::make_shared<EdgeFetchRegistry>(m_config.workers);
    m_shared = shared;
    quint16 port = m_config.listenPort;
    quint16 tlsPort = m_config.tlsListenPort;
    for (int i = 0; i < m_config.workers; ++i) {
        auto *w = new EdgeWorker(i, m_shared, this);
        QString why;
        if (!w->listen(port, tlsPort, &why)) {
            delete w;
            for (EdgeWorker *started : m_workers)
                delete started;
            m_workers.clear();
            if (error)
                *error = u"edge: %1"_s.arg(why);
            return false;
        }
        port = w->port(); // workers after the first share the ports the first one got
        tlsPort = w->tlsPort();
        m_workers.push_back(w);
    }
    m_port = port;
    m_tlsPort = tlsPort;
    for (EdgeWorker *w : m_workers)
        w->start();
    m_previous.assign(size_t(m_router->regionCount()), EdgeTraffic::Totals{});
    m_sinceSample.start();
    m_sampleTimer.start();
    qCInfo(lcEdgeProxy).noquote() << u"edge gateway listening on %1:%2 with %3 worker thread(s)"_s
                                             .arg(m_config.listenHost)
                                             .arg(m_port)
                                             .arg(m_config.workers);
    if (m_tls)
        qCInfo(lcEdgeProxy).noquote()
                << u"edge gateway serving HTTPS on %1:%2 with %3"_s
                           .arg(m_config.tlsListenHost.isEmpty() ? m_config.listenHost
                                                                 : m_config.tlsListenHost)
                           .arg(m_tlsPort)
                           .arg(m_config.tls.certificateFile);
    return true;
}

void EdgeServer::stop(int graceMs)
{
    if (m_workers.empty())
        return;
    m_sampleTimer.stop();
    for (EdgeWorker *w : m_workers)
        w->requestStop(graceMs);
    for (EdgeWorker *w : m_workers) {
        w->wait();
        delete w;
    }
    m_workers.clear();
}

bool EdgeServer::reloadTls(QString *error)
{
    if (m_upstreamTls && !m_upstreamTls->reload(error))
        return false;
    return !m_tls || m_tls->reload(error);
}

EdgeLoop::TlsCounters EdgeServer::tlsCounters() const
{
    EdgeLoop::TlsCounters sum;
    for (const EdgeWorker *w : m_workers) {
        const EdgeLoop::TlsCounters c = w->tlsCounters();
        sum.full += c.full;
        sum.resumed += c.resumed;
        sum.failed += c.failed;
        sum.plainHttp += c.plainHttp;
    }
    return sum;
}

double EdgeServer::busyPollSeconds() const
{
    quint64 micros = 0;
    for (const EdgeWorker *w : m_workers)
        micros += w->busyPollMicros();
    return double(micros) / 1e6;
}

bool EdgeServer::reopenAccessLog(QString *error)
{
    return !m_accessLog || m_accessLog->reopen(error);
}

EdgeCache::Stats EdgeServer::cacheStats() const
{
    return m_cache ? m_cache->stats() : EdgeCache::Stats{};
}

size_t EdgeServer::purgeCache(const EdgeCachePurge &purge)
{
    return m_cache ? m_cache->purge(purge) : 0;
}

EdgeRegionTraffic EdgeServer::counters(int region, const EdgeTraffic::Totals &t) const
{
    EdgeRegionTraffic rt;
    rt.region = m_router->regionId(region);
    rt.requests = t.requests;
    rt.byClass = t.byClass;
    rt.failures = t.failures;
    rt.retries = t.retries;
    rt.inFlight = t.inFlight;
    rt.latency = t.latency;
    rt.latencySumUs = t.latencySumUs;
    return rt;
}

QList<EdgeRegionTraffic> EdgeServer::liveCounters() const
{
    QList<EdgeRegionTraffic> out;
    if (!m_traffic)
        return out;
    const int regions = std::min(m_router->regionCount(), EdgeTraffic::kMaxRegions);
    for (int r = 0; r < regions; ++r)
        out.append(counters(r, m_traffic->totals(r)));
    return out;
}

void EdgeServer::sample()
{
    if (!m_traffic)
        return;
    const int regions = std::min(m_router->regionCount(), EdgeTraffic::kMaxRegions);
    const double seconds = std::max(0.001, double(m_sinceSample.restart()) / 1000.0);
    if (int(m_previous.size()) < regions)
        m_previous.resize(size_t(regions));
    QList<EdgeRegionTraffic> out;
    quint64 windowTotal = 0;
    std::vector<quint64> window(static_cast<size_t>(regions), 0);
    for (int r = 0; r < regions; ++r) {
        const EdgeTraffic::Totals t = m_traffic->totals(r);
        EdgeTraffic::Totals &prev = m_previous[size_t(r)];
        EdgeRegionTraffic rt = counters(r, t);
        window[size_t(r)] = t.requests - prev.requests;
        windowTotal += window[size_t(r)];
        rt.rps = double(window[size_t(r)]) / seconds;
        std::array<quint64, EdgeTraffic::kBuckets> hist;
        for (int b = 0; b < EdgeTraffic::kBuckets; ++b)
            hist[size_t(b)] = t.latency[size_t(b)] - prev.latency[size_t(b)];
        rt.p50Ms = EdgeTraffic::percentileMs(hist, 0.50);
        rt.p99Ms = EdgeTraffic::percentileMs(hist, 0.99);
        prev = t;
        out.append(rt);
    }
    for (int r = 0; r < regions; ++r)
        out[r].share = windowTotal ? double(window[size_t(r)]) / double(windowTotal) : 0.0;
    m_snapshot = out;
    emit trafficUpdated(m_snapshot);
}

} // namespace Meridian
