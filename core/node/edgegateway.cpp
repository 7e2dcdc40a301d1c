#include "core/node/edgegateway.h"

#include "core/balancing/regionstate.h"

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

QString EdgeGateway::start()
{
    m_running = true;
    rebuild();
    qCInfo(lcEdge).noquote() << "edge role started for" << m_config.nodeId
                             << "(state and health tracking)";
    return {};
}

void EdgeGateway::stop()
{
    m_running = false;
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
    if (next == m_balancer)
        return;
    m_balancer = next;
    emit balancerConfigChanged(m_balancer);
}

} // namespace Meridian
