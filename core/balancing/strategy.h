#pragma once

#include "core/balancing/balancingresult.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>

namespace Meridian {

// The balancing strategies, selectable by name at run time (docs/balancing.md).
enum class StrategyKind {
    RoundRobin,
    WeightedRoundRobin,
    Random,
    WeightedRandom,
    LeastConnections,
    LeastRequest,
    LatencyEwma,
    GeoProximity,
    ConsistentHash,
    Failover,
};

// The typed parameters of every strategy; each strategy reads only its own.
struct StrategyParams
{
    int choiceCount = 2;        // least_request, latency_ewma: candidates sampled per pick
    double decayMs = 10'000.0;  // latency_ewma: time constant of the EWMA decay
    double defaultRttMs = 30.0; // latency_ewma: estimate before the first observation
    int tableSize = 65'537;     // consistent_hash: Maglev lookup table size (a prime)

    bool operator==(const StrategyParams &other) const = default;
};

// round_robin, weighted_round_robin, random, weighted_random, least_connections, least_request,
// latency_ewma, geo_proximity, consistent_hash, failover (in StrategyKind order).
const QStringList &strategyNames();
QString toString(StrategyKind kind);
std::optional<StrategyKind> strategyFromName(const QString &name);
// The parameter names a strategy accepts (empty for those without parameters).
QStringList strategyParameterNames(StrategyKind kind);

// Parses and range-checks `params` for strategy `name`. Unknown strategies, unknown parameters,
// wrong types and out-of-range values are errors that say what is accepted.
BalancingResult<StrategyParams> parseStrategyParams(const QString &name, const QJsonObject &params);

} // namespace Meridian
