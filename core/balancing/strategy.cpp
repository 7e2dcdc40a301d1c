#include "core/balancing/strategy.h"

#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

const QStringList &strategyNames()
{
    static const QStringList names{u"round_robin"_s,
                                   u"weighted_round_robin"_s,
                                   u"random"_s,
                                   u"weighted_random"_s,
                                   u"least_connections"_s,
                                   u"least_request"_s,
                                   u"latency_ewma"_s,
                                   u"geo_proximity"_s,
                                   u"consistent_hash"_s,
                                   u"failover"_s};
    return names;
}

QString toString(StrategyKind kind)
{
    return strategyNames().at(static_cast<int>(kind));
}

std::optional<StrategyKind> strategyFromName(const QString &name)
{
    const qsizetype index = strategyNames().indexOf(name);
    if (index < 0)
        return std::nullopt;
    return static_cast<StrategyKind>(index);
}

QStringList strategyParameterNames(StrategyKind kind)
{
    switch (kind) {
    case StrategyKind::LeastRequest:
        return {u"choice_count"_s};
    case StrategyKind::LatencyEwma:
        return {u"choice_count"_s, u"decay_ms"_s, u"default_rtt_ms"_s};
    case StrategyKind::ConsistentHash:
        return {u"table_size"_s};
    default:
        return {};
    }
}

namespace {

bool isPrime(qint64 n)
{
    if (n < 2)
        return false;
    for (qint64 d = 2; d * d <= n; ++d) {
        if (n % d == 0)
            return false;
    }
    return true;
}

} // namespace

BalancingResult<StrategyParams> parseStrategyParams(const QString &name, const QJsonObject &params)
{
    using R = BalancingResult<StrategyParams>;
    const auto kind = strategyFromName(name);
    if (!kind)
        return R::failure(
                u"unknown strategy '%1'; use one of %2"_s.arg(name, strategyNames().join(u", "_s)));
    const QStringList accepted = strategyParameterNames(*kind);
    StrategyParams parsed;
    for (auto it = params.begin(); it != params.end(); ++it) {
        const QString &key = it.key();
        if (!accepted.contains(key)) {
            return R::failure(
                    accepted.isEmpty()
                            ? u"strategy '%1' takes no parameters (got '%2')"_s.arg(name, key)
                            : u"strategy '%1' has no parameter '%2'; its parameters are %3"_s
                                      .arg(name, key, accepted.join(u", "_s)));
        }
        const QJsonValue value = it.value();
        if (!value.isDouble() || !std::isfinite(value.toDouble()))
            return R::failure(u"parameter '%1' of strategy '%2' must be a number"_s.arg(key, name));
        const double number = value.toDouble();
        if (key == u"choice_count"_s) {
            if (number != std::floor(number) || number < 2 || number > 16)
                return R::failure(
                        u"choice_count must be an integer in 2..16 (got %1)"_s.arg(number));
            parsed.choiceCount = static_cast<int>(number);
        } else if (key == u"decay_ms"_s) {
            if (number < 1 || number > 3'600'000)
                return R::failure(u"decay_ms must be in 1..3600000 (got %1)"_s.arg(number));
            parsed.decayMs = number;
        } else if (key == u"default_rtt_ms"_s) {
            if (number <= 0 || number > 600'000)
                return R::failure(u"default_rtt_ms must be in (0, 600000] (got %1)"_s.arg(number));
            parsed.defaultRttMs = number;
        } else if (key == u"table_size"_s) {
            if (number != std::floor(number) || number < 101 || number > 16'777'216
                || !isPrime(static_cast<qint64>(number))) {
                return R::failure(
                        u"table_size must be a prime in 101..16777216, such as 65537 (got %1)"_s.arg(
                                number));
            }
            parsed.tableSize = static_cast<int>(number);
        }
    }
    return parsed;
}

} // namespace Meridian
