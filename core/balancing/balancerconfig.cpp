#include "core/balancing/balancerconfig.h"

#include <QJsonArray>
#include <QSet>

using namespace Qt::StringLiterals;

namespace Meridian {

QString toString(PanicMode mode)
{
    return mode == PanicMode::Spread ? u"spread"_s : u"refuse"_s;
}

std::optional<PanicMode> panicModeFromString(const QString &text)
{
    if (text == u"spread"_s)
        return PanicMode::Spread;
    if (text == u"refuse"_s)
        return PanicMode::Refuse;
    return std::nullopt;
}

BalancingResult<StrategyParams> BalancerConfig::validate() const
{
    using R = BalancingResult<StrategyParams>;
    QSet<QString> ids;
    for (const Region &r : regions) {
        if (const auto valid = r.validate(); !valid)
            return R::failure(valid.error());
        if (ids.contains(r.id))
            return R::failure(
                    u"region id '%1' is used twice; region ids must be unique"_s.arg(r.id));
        ids.insert(r.id);
    }
    if (regions.size() > 60'000)
        return R::failure(
                u"%1 regions is more than the 60000 a balancer takes"_s.arg(regions.size()));
    auto params = parseStrategyParams(strategy, this->params);
    if (params && strategy == u"consistent_hash"_s && params.value().tableSize <= regions.size()) {
        return R::failure(u"table_size %1 must be larger than the number of regions (%2)"_s
                                  .arg(params.value().tableSize)
                                  .arg(regions.size()));
    }
    return params;
}

const Region *BalancerConfig::region(const QString &id) const
{
    for (const Region &r : regions) {
        if (r.id == id)
            return &r;
    }
    return nullptr;
}

Region *BalancerConfig::region(const QString &id)
{
    for (Region &r : regions) {
        if (r.id == id)
            return &r;
    }
    return nullptr;
}

QJsonObject BalancerConfig::toJson() const
{
    QJsonArray list;
    for (const Region &r : regions)
        list.append(r.toJson());
    return QJsonObject{{u"regions"_s, list},
                       {u"strategy"_s, strategy},
                       {u"params"_s, params},
                       {u"panic_mode"_s, toString(panicMode)},
                       {u"unknown_is_healthy"_s, unknownIsHealthy}};
}

BalancingResult<BalancerConfig> BalancerConfig::fromJson(const QJsonObject &object)
{
    using R = BalancingResult<BalancerConfig>;
    static const QStringList known{u"regions"_s,
                                   u"strategy"_s,
                                   u"params"_s,
                                   u"panic_mode"_s,
                                   u"unknown_is_healthy"_s};
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!known.contains(it.key()))
            return R::failure(
                    u"unknown balancer field '%1'; known fields: %2"_s.arg(it.key(),
                                                                           known.join(u", "_s)));
    }
    BalancerConfig config;
    config.strategy = object.value(u"strategy"_s).toString(config.strategy);
    config.params = object.value(u"params"_s).toObject();
    const QString panicText = object.value(u"panic_mode"_s).toString(u"spread"_s);
    const auto panic = panicModeFromString(panicText);
    if (!panic)
        return R::failure(u"panic_mode '%1' is unknown; use spread or refuse"_s.arg(panicText));
    config.panicMode = *panic;
    config.unknownIsHealthy = object.value(u"unknown_is_healthy"_s).toBool(false);
    for (const QJsonValue &value : object.value(u"regions"_s).toArray()) {
        auto region = Region::fromJson(value.toObject());
        if (!region)
            return R::failure(region.error());
        config.regions.append(region.value());
    }
    if (const auto valid = config.validate(); !valid)
        return R::failure(valid.error());
    return config;
}

bool isEndpointUsable(const Endpoint &endpoint, bool unknownIsHealthy)
{
    if (endpoint.ejected)
        return false;
    return endpoint.health == HealthState::Healthy
           || (unknownIsHealthy && endpoint.health == HealthState::Unknown);
}

bool isRegionEligible(const Region &region, bool unknownIsHealthy)
{
    if (region.state != AdminState::Active || region.dial <= 0)
        return false;
    for (const Endpoint &endpoint : region.endpoints) {
        if (isEndpointUsable(endpoint, unknownIsHealthy))
            return true;
    }
    return false;
}

bool isRegionInPanicSet(const Region &region)
{
    return region.state == AdminState::Active && region.dial > 0 && !region.endpoints.isEmpty();
}

} // namespace Meridian
