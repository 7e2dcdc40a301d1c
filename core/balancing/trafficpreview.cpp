#include "core/balancing/trafficpreview.h"

#include "core/balancing/balancersnapshot.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// Probability that each region of `order` ends up with a request that walks `order` and is
// kept by a region with probability dial/100; what every region turns away goes to the first.
QMap<int, double> spillShares(const BalancerConfig &config, const QList<int> &order)
{
    QMap<int, double> shares;
    double remaining = 1.0;
    for (int index : order) {
        const double keep = remaining * double(config.regions[index].dial) / 100.0;
        shares[index] += keep;
        remaining -= keep;
    }
    if (!order.isEmpty())
        shares[order.front()] += remaining;
    return shares;
}

} // namespace

BalancingResult<TrafficShares> expectedShares(const BalancerConfig &config)
{
    using R = BalancingResult<TrafficShares>;
    const auto params = config.validate();
    if (!params)
        return R::failure(params.error());
    const StrategyKind kind = *strategyFromName(config.strategy);

    TrafficShares result;
    for (const Region &region : config.regions)
        result.shares.insert(region.id, 0.0);

    QList<int> candidates;
    for (int i = 0; i < config.regions.size(); ++i) {
        if (isRegionEligible(config.regions[i], config.unknownIsHealthy))
            candidates.append(i);
    }
    if (candidates.isEmpty()) {
        if (config.panicMode == PanicMode::Refuse) {
            result.refusal = config.regions.isEmpty() ? Refusal::NothingToSpread
                                                      : Refusal::NoEligibleRegion;
            return result;
        }
        for (int i = 0; i < config.regions.size(); ++i) {
            if (isRegionInPanicSet(config.regions[i]))
                candidates.append(i);
        }
        result.panic = true;
        if (candidates.isEmpty()) {
            result.refusal = Refusal::NothingToSpread;
            return result;
        }
    }
    // Regions whose strategy weight is 0 take nothing (as in the balancer's views).
    const QList<double> allWeights = Internal::strategyWeights(config, kind, candidates);
    QList<int> indices;
    QList<double> weights;
    double total = 0.0;
    for (int k = 0; k < candidates.size(); ++k) {
        if (allWeights[k] > 0.0) {
            indices.append(candidates[k]);
            weights.append(allWeights[k]);
            total += allWeights[k];
        }
    }
    auto add = [&](int index, double share) { result.shares[config.regions[index].id] += share; };

    switch (kind) {
    case StrategyKind::LeastConnections:
    case StrategyKind::LeastRequest:
    case StrategyKind::LatencyEwma:
        result.note = u"steady-state approximation: shares proportional to weight × dial, as "
                      "with equal service times; actual shares follow load and latency"_s;
        [[fallthrough]];
    case StrategyKind::RoundRobin:
    case StrategyKind::WeightedRoundRobin:
    case StrategyKind::Random:
    case StrategyKind::WeightedRandom:
        for (int k = 0; k < indices.size(); ++k)
            add(indices[k], weights[k] / total);
        break;
    case StrategyKind::Failover: {
        const QMap<int, double> shares = spillShares(config,
                                                     Internal::failoverOrder(config, indices));
        for (auto it = shares.begin(); it != shares.end(); ++it)
            add(it.key(), it.value());
        break;
    }
    case StrategyKind::GeoProximity: {
        result.note = u"approximation: equal demand from the location of every configured "
                      "region, sent to the nearest eligible region (dials spill to the next "
                      "nearest)"_s;
        const double demand = 1.0 / double(config.regions.size());
        for (const Region &source : config.regions) {
            const GeoPoint from = GeoPoint::fromDegrees(source.lat, source.lon);
            QList<int> order = indices;
            std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
                const Region &ra = config.regions[a];
                const Region &rb = config.regions[b];
                return from.distanceKm(GeoPoint::fromDegrees(ra.lat, ra.lon))
                       < from.distanceKm(GeoPoint::fromDegrees(rb.lat, rb.lon));
            });
            const QMap<int, double> shares = spillShares(config, order);
            for (auto it = shares.begin(); it != shares.end(); ++it)
                add(it.key(), it.value() * demand);
        }
        break;
    }
    case StrategyKind::ConsistentHash: {
        const quint32 size = static_cast<quint32>(params.value().tableSize);
        const MaglevTable home = Internal::buildHomeTable(config, size);
        const MaglevTable spill = Internal::buildViewTable(config, indices, weights, size);
        QList<double> homeShare(config.regions.size(), 0.0);
        for (quint16 entry : home.entries())
            homeShare[entry] += 1.0 / size;
        QList<double> spillShare(indices.size(), 0.0);
        for (quint16 entry : spill.entries())
            spillShare[entry] += 1.0 / size;
        double spilled = 0.0;
        for (int i = 0; i < config.regions.size(); ++i) {
            const bool kept = indices.contains(i);
            const double keep = kept ? double(config.regions[i].dial) / 100.0 : 0.0;
            add(i, homeShare[i] * keep);
            spilled += homeShare[i] * (1.0 - keep);
        }
        for (int k = 0; k < indices.size(); ++k)
            add(indices[k], spilled * spillShare[k]);
        break;
    }
    }
    return result;
}

BalancingResult<TrafficShares> preview(const BalancerConfig &config, const ConfigChange &change)
{
    return preview(config, QList<ConfigChange>{change});
}

BalancingResult<TrafficShares> preview(const BalancerConfig &config,
                                       const QList<ConfigChange> &changes)
{
    BalancerConfig changed = config;
    for (const ConfigChange &change : changes) {
        auto next = change.applyTo(changed);
        if (!next)
            return BalancingResult<TrafficShares>::failure(
                    u"%1: %2"_s.arg(change.describe(), next.error()));
        changed = std::move(next.value());
    }
    return expectedShares(changed);
}

} // namespace Meridian
