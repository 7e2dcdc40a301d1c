#pragma once

#include "core/balancing/balancerconfig.h"
#include "core/balancing/configchange.h"
#include "core/balancing/pickresult.h"

#include <QList>
#include <QMap>
#include <QString>

namespace Meridian {

// The expected share of new requests each region gets (0..1, summing to 1 unless refused).
struct TrafficShares
{
    QMap<QString, double> shares; // every configured region id, 0 for those that get nothing
    bool panic = false;           // nothing is eligible: the shares are the panic spread
    Refusal refusal = Refusal::None;
    // How the shares were derived when they are an approximation (dynamic strategies, geo).
    QString note;
};

// What the balancer would do with `config`: exact for round_robin, weighted_round_robin,
// random, weighted_random, failover and consistent_hash (from the Maglev tables); steady-state
// approximations for least_connections, least_request and latency_ewma (shares proportional to
// weight × dial, as with equal service times) and for geo_proximity (equal demand from each
// configured region's location). See docs/balancing.md.
BalancingResult<TrafficShares> expectedShares(const BalancerConfig &config);

// The expected shares after `change` (or `changes`, in order) is applied to `config`; an
// invalid change is an error.
BalancingResult<TrafficShares> preview(const BalancerConfig &config, const ConfigChange &change);
BalancingResult<TrafficShares> preview(const BalancerConfig &config,
                                       const QList<ConfigChange> &changes);

} // namespace Meridian
