#pragma once

#include "core/balancing/balancerconfig.h"
#include "core/control/controlstate.h"
#include "core/node/nodeconfig.h"

#include <QObject>

namespace Meridian {

// The seam of the `edge` role: started by Node when the role includes edge, fed with the shared
// control state and the region health this node's ClusterMonitor measures, it keeps the
// balancing configuration the gateway's data plane (core/edge) picks from. Today it does health
// and state tracking only; the data plane plugs in here.
class EdgeGateway final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EdgeGateway)

public:
    EdgeGateway(const NodeConfig &config, QObject *parent = nullptr);

    // Returns an error message, or nothing when it runs.
    QString start();
    void stop();

    void setControlState(const ControlState &state);
    void setRegionHealth(const QString &region, const QString &health);
    const BalancerConfig &balancerConfig() const { return m_balancer; }

signals:
    void balancerConfigChanged(const Meridian::BalancerConfig &config);

private:
    void rebuild();

    const NodeConfig &m_config;
    ControlState m_state;
    QMap<QString, QString> m_health;
    BalancerConfig m_balancer;
    bool m_running = false;
};

// The balancing core's view of the cluster: regions from the config, the operator's controls from
// `state`, endpoint health from `health` (region id -> healthy | unhealthy | unknown).
BalancerConfig balancerConfigFor(const NodeConfig &config,
                                 const ControlState &state,
                                 const QMap<QString, QString> &health);

} // namespace Meridian
