#include "core/node/edgegateway.h"

#include "core/balancing/activehealthchecker.h"
#include "core/balancing/outlierdetector.h"
#include "core/balancing/regionstate.h"
#include "core/edge/edgerouter.h"
#include "core/edge/edgeserver.h"
#include "core/util/tlsfiles.h"

#include <QJsonArray>
#include <QLoggingCategory>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcEdge, "meridian.edge")

BalancerConfig balancerConfigFor(const NodeConfig &config,
                                 const ControlState &state,
                                 const QMap<QString, QString> &health)
{
    BalancerConfig balancer;
    for (const RegionSpec &spec : config.regions) {
        const RegionControl control = state.regions.value(spec.id);
        Region region;
        region.id = spec.id;
        region.name = spec.name;
        region.lat = spec.lat;
        region.lon = spec.lon;
        region.weight = control.weight;
        region.priority = control.priority;
        region.dial = control.dial;
        region.state = adminStateFromString(control.state).value_or(AdminState::Active);
        Endpoint endpoint;
        endpoint.url = spec.dataUrl.toString();
        endpoint.health = healthStateFromString(health.value(spec.id, u"unknown"_s))
                                  .value_or(HealthState::Unknown);
        region.endpoints.append(endpoint);
        balancer.regions.append(region);
    }
    balancer.strategy = state.strategy.name;
    balancer.params = state.strategy.params;
    // Before the first health check, an endpoint counts as usable: a freshly started cluster
    // takes traffic at once and the checks take it away if it is down.
    balancer.unknownIsHealthy = true;
    return balancer;
}

EdgeGateway::EdgeGateway(const NodeConfig &config, QObject *parent)
    : QObject(parent)
    , m_config(config)
{}

EdgeGateway::~EdgeGateway()
{
    stop(0);
}

QString EdgeGateway::start()
{
    QString error;
    const auto edge = EdgeConfig::fromJson(m_config.edgeSection, &error);
    if (!edge)
        return u"%1: %2"_s.arg(m_config.file, error);
    m_edgeConfig = *edge;

    m_router = std::make_shared<EdgeRouter>(m_edgeConfig);
    if (!m_router->locatorError().isEmpty())
        return u"%1: edge: %2"_s.arg(m_config.file, m_router->locatorError());
    m_outliers = new OutlierDetector(Clock::steady(), this);
    if (auto r = m_outliers->setSettings(m_edgeConfig.outlier); !r)
        return u"%1: edge.outlier: %2"_s.arg(m_config.file, r.error());
    m_router->setOutlierDetector(m_outliers);
    const std::weak_ptr<EdgeRouter> router = m_router;
    // Emitted on the worker thread that saw the failure: the router is thread-safe.
    connect(
            m_outliers,
            &OutlierDetector::ejected,
            this,
            [router](const QString &region, const QString &url, std::chrono::milliseconds ms) {
                if (auto r = router.lock()) {
                    qCInfo(lcEdge).noquote()
                            << "ejected" << url << "of" << region << "for" << ms.count() << "ms";
                    r->setEjected(region, url, true);
                }
            },
            Qt::DirectConnection);
    connect(
            m_outliers,
            &OutlierDetector::returned,
            this,
            [router](const QString &region, const QString &url) {
                if (auto r = router.lock())
                    r->setEjected(region, url, false);
            },
            Qt::DirectConnection);

    m_checker = new ActiveHealthChecker(Clock::steady(), this);
    if (auto r = m_checker->setSettings(m_edgeConfig.healthCheck); !r)
        return u"%1: edge.health_check: %2"_s.arg(m_config.file, r.error());
    if (const QString error = trustUpstreamCa(); !error.isEmpty())
        return error;
    connect(m_checker,
            &ActiveHealthChecker::healthChanged,
            this,
            [this](const QString &region, const QString &url, HealthState health) {
                qCInfo(lcEdge).noquote()
                        << "endpoint" << url << "of" << region << "is now" << toString(health);
                m_checked.insert({region, url}, health);
                rebuild();
            });

    m_running = true;
    rebuild();
    QList<EndpointRef> targets;
    for (const Region &region : m_balancer.regions) {
        for (const Endpoint &endpoint : region.endpoints)
            targets.append({region.id, endpoint.url});
    }
    m_checker->setTargets(targets);
    m_outliers->setTargets(targets);
    m_checker->start();
    m_outliers->start();

    m_server = new EdgeServer(m_edgeConfig, m_router, this);
    connect(m_server, &EdgeServer::trafficUpdated, this, [this](const auto &traffic) {
        m_traffic = traffic;
        emit trafficUpdated();
    });
    if (!m_server->start(&error)) {
        m_running = false;
        return error;
    }
    qCInfo(lcEdge).noquote() << "edge role started for" << m_config.nodeId << "on"
                             << u"%1:%2"_s.arg(m_edgeConfig.listenHost).arg(m_server->port())
                             << "with" << m_balancer.regions.size() << "regions, strategy"
                             << m_balancer.strategy;
    return {};
}

void EdgeGateway::stop(int graceMs)
{
    m_running = false;
    if (m_checker)
        m_checker->stop();
    if (m_outliers)
        m_outliers->stop();
    if (m_server)
        m_server->stop(graceMs);
}

quint16 EdgeGateway::port() const
{
    return m_server ? m_server->port() : 0;
}

void EdgeGateway::setControlState(const ControlState &state)
{
    m_state = state;
    rebuild();
}

void EdgeGateway::setRegionHealth(const QString &region, const QString &health)
{
    m_health.insert(region, health);
    rebuild();
}

void EdgeGateway::rebuild()
{
    if (!m_running)
        return;
    BalancerConfig next = balancerConfigFor(m_config, m_state, m_health);
    for (Region &region : next.regions) {
        for (Endpoint &endpoint : region.endpoints) {
            const HealthState checked = m_checked.value({region.id, endpoint.url},
                                                        HealthState::Unknown);
            if (checked != HealthState::Unknown)
                endpoint.health = checked;
        }
    }
    if (next == m_balancer)
        return;
    QString error;
    if (!m_router->setConfig(next, &error)) {
        qCWarning(lcEdge).noquote()
                << "balancing configuration rejected, keeping the last one:" << error;
        return;
    }
    if (!error.isEmpty())
        qCWarning(lcEdge).noquote() << error;
    m_balancer = next;
    emit balancerConfigChanged(m_balancer);
}

QList<EdgeRegionTraffic> EdgeGateway::liveCounters() const
{
    return m_server ? m_server->liveCounters() : QList<EdgeRegionTraffic>{};
}

QString EdgeGateway::reopenAccessLog()
{
    QString error;
    if (m_server && !m_server->reopenAccessLog(&error))
        return error;
    return {};
}

QString EdgeGateway::reloadTls()
{
    QString error;
    if (m_server && !m_server->reloadTls(&error))
        return error;
    // The health checks trust what the connections trust, or a rotated CA would mark every
    // region down while requests still reach them.
    return trustUpstreamCa();
}

QString EdgeGateway::trustUpstreamCa()
{
    if (!m_checker || m_edgeConfig.upstreamCaFile.isEmpty())
        return {}; // the system's CAs
    QString problem;
    const QList<QSslCertificate> ca = TlsFiles::readCertificates(m_edgeConfig.upstreamCaFile,
                                                                 &problem);
    if (!problem.isEmpty())
        return u"edge.upstream_ca_file %1: %2"_s.arg(m_edgeConfig.upstreamCaFile, problem);
    m_checker->setCaCertificates(ca);
    return {};
}

quint16 EdgeGateway::tlsPort() const
{
    return m_server ? m_server->tlsPort() : 0;
}

double EdgeGateway::busyPollSeconds() const
{
    return m_server ? m_server->busyPollSeconds() : 0.0;
}

EdgeLoop::TlsCounters EdgeGateway::tlsCounters() const
{
    return m_server ? m_server->tlsCounters() : EdgeLoop::TlsCounters{};
}

std::optional<EdgeCache::Stats> EdgeGateway::cacheStats() const
{
    if (!m_server || !m_server->hasCache())
        return std::nullopt;
    return m_server->cacheStats();
}

void EdgeGateway::purgeCache(const Action &action)
{
    if (!m_server || !m_server->hasCache())
        return;
    std::vector<std::string> patterns;
    for (const QJsonValue &path : action.args.value(u"paths"_s).toArray())
        patterns.push_back(path.toString().toStdString());
    const QString host = action.args.value(u"host"_s).toString();
    const size_t removed = m_server->purgeCache(EdgeCachePurge(host.toStdString(), patterns));
    qCInfo(lcEdge).noquote() << "cache purge" << action.id << "by" << action.actor << "removed"
                             << removed << (removed == 1 ? "entry" : "entries");
    m_purges.append({action.id, qint64(removed)});
    if (m_purges.size() > 64)
        m_purges.removeFirst();
}

QJsonValue EdgeGateway::cacheJson() const
{
    if (!m_server || !m_server->hasCache())
        return QJsonValue();
    const EdgeCache::Stats stats = m_server->cacheStats();
    QJsonObject purges;
    for (const auto &[id, removed] : m_purges)
        purges.insert(id, double(removed));
    return QJsonObject{{u"entries"_s, double(stats.entries)},
                       {u"bytes"_s, double(stats.bytes)},
                       {u"max_bytes"_s, double(m_edgeConfig.cacheMaxBytes)},
                       {u"hits"_s, double(stats.hits)},
                       {u"misses"_s, double(stats.misses)},
                       {u"stale"_s, double(stats.staleServed)},
                       {u"updating"_s, double(stats.updating)},
                       {u"evictions"_s, double(stats.evictions)},
                       {u"purged"_s, double(stats.purged)},
                       {u"purges"_s, purges}};
}

QJsonObject EdgeGateway::trafficJson() const
{
    QJsonObject regions;
    for (const EdgeRegionTraffic &t : m_traffic) {
        QJsonObject status;
        for (int c = 1; c <= 5; ++c)
            status.insert(u"%1xx"_s.arg(c), double(t.byClass[size_t(c)]));
        regions.insert(t.region,
                       QJsonObject{{u"rps"_s, t.rps},
                                   {u"share"_s, t.share},
                                   {u"p50_ms"_s, t.p50Ms},
                                   {u"p99_ms"_s, t.p99Ms},
                                   {u"in_flight"_s, double(t.inFlight)},
                                   {u"requests"_s, double(t.requests)},
                                   {u"status"_s, status},
                                   {u"failures"_s, double(t.failures)},
                                   {u"retries"_s, double(t.retries)}});
    }
    return regions;
}

} // namespace Meridian
