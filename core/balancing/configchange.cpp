#include "core/balancing/configchange.h"

#include <algorithm>
#include <climits>

using namespace Qt::StringLiterals;

namespace Meridian {

ConfigChange ConfigChange::drain(const QString &regionId)
{
    return setState(regionId, AdminState::Draining);
}

ConfigChange ConfigChange::activate(const QString &regionId)
{
    return setState(regionId, AdminState::Active);
}

ConfigChange ConfigChange::setState(const QString &regionId, AdminState state)
{
    ConfigChange change;
    change.kind = Kind::SetState;
    change.regionId = regionId;
    change.state = state;
    return change;
}

ConfigChange ConfigChange::setDial(const QString &regionId, int percent)
{
    ConfigChange change;
    change.kind = Kind::SetDial;
    change.regionId = regionId;
    change.value = percent;
    return change;
}

ConfigChange ConfigChange::setWeight(const QString &regionId, int weight)
{
    ConfigChange change;
    change.kind = Kind::SetWeight;
    change.regionId = regionId;
    change.value = weight;
    return change;
}

ConfigChange ConfigChange::setPriority(const QString &regionId, int priority)
{
    ConfigChange change;
    change.kind = Kind::SetPriority;
    change.regionId = regionId;
    change.value = priority;
    return change;
}

ConfigChange ConfigChange::promote(const QString &regionId)
{
    ConfigChange change;
    change.kind = Kind::Promote;
    change.regionId = regionId;
    return change;
}

ConfigChange ConfigChange::setStrategy(const QString &name, const QJsonObject &params)
{
    ConfigChange change;
    change.kind = Kind::SetStrategy;
    change.strategy = name;
    change.params = params;
    return change;
}

ConfigChange ConfigChange::setPanicMode(PanicMode mode)
{
    ConfigChange change;
    change.kind = Kind::SetPanicMode;
    change.panicMode = mode;
    return change;
}

ConfigChange ConfigChange::setEndpointHealth(const QString &regionId,
                                             const QString &url,
                                             HealthState health)
{
    ConfigChange change;
    change.kind = Kind::SetEndpointHealth;
    change.regionId = regionId;
    change.endpointUrl = url;
    change.health = health;
    return change;
}

ConfigChange ConfigChange::setEndpointEjected(const QString &regionId,
                                              const QString &url,
                                              bool ejected)
{
    ConfigChange change;
    change.kind = Kind::SetEndpointEjected;
    change.regionId = regionId;
    change.endpointUrl = url;
    change.ejected = ejected;
    return change;
}

BalancingResult<BalancerConfig> ConfigChange::applyTo(const BalancerConfig &config) const
{
    using R = BalancingResult<BalancerConfig>;
    BalancerConfig changed = config;
    Region *region = nullptr;
    if (kind != Kind::SetStrategy && kind != Kind::SetPanicMode) {
        region = changed.region(regionId);
        if (!region)
            return R::failure(
                    u"no region '%1'; known regions are listed by the balancer config"_s.arg(
                            regionId));
    }
    switch (kind) {
    case Kind::SetState:
        region->state = state;
        break;
    case Kind::SetDial:
        if (value < 0 || value > 100)
            return R::failure(u"dial %1 is out of range; use 0..100 (%)"_s.arg(value));
        region->dial = value;
        break;
    case Kind::SetWeight:
        if (value < 0 || value > 1'000'000)
            return R::failure(u"weight %1 is out of range; use 0..1000000"_s.arg(value));
        region->weight = value;
        break;
    case Kind::SetPriority:
        region->priority = value;
        break;
    case Kind::Promote: {
        int lowest = INT_MAX;
        for (const Region &other : changed.regions) {
            if (other.id != regionId)
                lowest = std::min(lowest, other.priority);
        }
        region->state = AdminState::Active;
        if (lowest != INT_MAX && region->priority >= lowest) {
            if (lowest == INT_MIN)
                return R::failure(u"cannot promote '%1': another region already has the lowest "
                                  "possible priority"_s.arg(regionId));
            region->priority = lowest - 1;
        }
        break;
    }
    case Kind::SetStrategy:
        changed.strategy = strategy;
        changed.params = params;
        break;
    case Kind::SetPanicMode:
        changed.panicMode = panicMode;
        break;
    case Kind::SetEndpointHealth:
    case Kind::SetEndpointEjected: {
        auto it = std::find_if(region->endpoints.begin(),
                               region->endpoints.end(),
                               [&](const Endpoint &e) { return e.url == endpointUrl; });
        if (it == region->endpoints.end())
            return R::failure(u"region '%1' has no endpoint '%2'"_s.arg(regionId, endpointUrl));
        if (kind == Kind::SetEndpointHealth)
            it->health = health;
        else
            it->ejected = ejected;
        break;
    }
    }
    if (const auto valid = changed.validate(); !valid)
        return R::failure(valid.error());
    return changed;
}

QString ConfigChange::describe() const
{
    switch (kind) {
    case Kind::SetState:
        return state == AdminState::Draining ? u"drain %1"_s.arg(regionId)
               : state == AdminState::Active ? u"activate %1"_s.arg(regionId)
                                             : u"set %1 %2"_s.arg(regionId, toString(state));
    case Kind::SetDial:
        return u"dial %1 to %2 %"_s.arg(regionId).arg(value);
    case Kind::SetWeight:
        return u"weight %1 to %2"_s.arg(regionId).arg(value);
    case Kind::SetPriority:
        return u"priority %1 to %2"_s.arg(regionId).arg(value);
    case Kind::Promote:
        return u"promote %1"_s.arg(regionId);
    case Kind::SetStrategy:
        return u"strategy %1"_s.arg(strategy);
    case Kind::SetPanicMode:
        return u"panic mode %1"_s.arg(toString(panicMode));
    case Kind::SetEndpointHealth:
        return u"mark %1 %2 %3"_s.arg(regionId, endpointUrl, toString(health));
    case Kind::SetEndpointEjected:
        return (ejected ? u"eject %1 %2"_s : u"return %1 %2"_s).arg(regionId, endpointUrl);
    }
    return {};
}

} // namespace Meridian
