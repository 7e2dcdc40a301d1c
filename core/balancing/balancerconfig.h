#pragma once

#include "core/balancing/balancingresult.h"
#include "core/balancing/region.h"
#include "core/balancing/strategy.h"

#include <QJsonObject>
#include <QList>
#include <QString>

namespace Meridian {

// What the balancer does when no region is eligible: spread over every endpoint of the active
// regions with a non-zero dial regardless of health (Envoy's panic threshold: health checks that
// fail everywhere are more likely wrong than every region down), or refuse with a reason.
// Panic overrides health only, never the operator's state or dial.
enum class PanicMode { Spread, Refuse };

QString toString(PanicMode mode);
std::optional<PanicMode> panicModeFromString(const QString &text); // "spread" | "refuse"

// The whole input of a Balancer: the regions, the strategy by name with its parameters, and the
// panic mode. A plain value: the control room edits copies of it for preview().
struct BalancerConfig
{
    QList<Region> regions;
    QString strategy = QStringLiteral("round_robin");
    QJsonObject params;
    PanicMode panicMode = PanicMode::Spread;
    // Endpoints whose health is `unknown` (never checked) count as healthy when true. Off by
    // default: only endpoints known to be healthy take traffic.
    bool unknownIsHealthy = false;

    // Checks every region, unique ids and the strategy with its parameters.
    BalancingResult<StrategyParams> validate() const;

    const Region *region(const QString &id) const;
    Region *region(const QString &id);

    QJsonObject toJson() const;
    static BalancingResult<BalancerConfig> fromJson(const QJsonObject &object);

    bool operator==(const BalancerConfig &other) const = default;
};

// Whether `endpoint` may take new requests: healthy (or unknown, if so configured) and not
// ejected by outlier detection.
bool isEndpointUsable(const Endpoint &endpoint, bool unknownIsHealthy);
// The one eligibility rule of every strategy: an active region with a non-zero dial and at
// least one usable endpoint.
bool isRegionEligible(const Region &region, bool unknownIsHealthy);
// The regions a panic spread uses: active, non-zero dial, at least one endpoint of any health.
bool isRegionInPanicSet(const Region &region);

} // namespace Meridian
