#include "core/control/controlstate.h"

#include "core/balancing/strategy.h"

#include <QJsonArray>

using namespace Qt::StringLiterals;

namespace Meridian {

QString toIsoTime(const QDateTime &time)
{
    return time.toUTC().toString(Qt::ISODateWithMs);
}

QJsonObject RegionControl::toJson() const
{
    QJsonObject object{{u"state"_s, state},
                       {u"weight"_s, weight},
                       {u"priority"_s, priority},
                       {u"dial"_s, dial}};
    if (drainDeadline.isValid())
        object.insert(u"drain_deadline"_s, toIsoTime(drainDeadline));
    return object;
}

std::optional<RegionControl> RegionControl::fromJson(const QJsonObject &object)
{
    RegionControl control;
    control.state = object.value(u"state"_s).toString(control.state);
    if (!ControlState::adminStates().contains(control.state))
        return std::nullopt;
    control.weight = object.value(u"weight"_s).toInt(control.weight);
    control.priority = object.value(u"priority"_s).toInt(control.priority);
    control.dial = object.value(u"dial"_s).toInt(control.dial);
    const QString deadline = object.value(u"drain_deadline"_s).toString();
    if (!deadline.isEmpty())
        control.drainDeadline = QDateTime::fromString(deadline, Qt::ISODateWithMs);
    return control;
}

QJsonObject StrategyChoice::toJson() const
{
    return {{u"name"_s, name}, {u"params"_s, params}};
}

std::optional<StrategyChoice> StrategyChoice::fromJson(const QJsonObject &object)
{
    StrategyChoice choice;
    choice.name = object.value(u"name"_s).toString();
    if (!ControlState::strategyNames().contains(choice.name))
        return std::nullopt;
    choice.params = object.value(u"params"_s).toObject();
    return choice;
}

const QStringList &ControlState::adminStates()
{
    static const QStringList states = {u"active"_s, u"draining"_s, u"drained"_s, u"standby"_s};
    return states;
}

const QStringList &ControlState::strategyNames()
{
    // The balancing core owns the list; the control plane accepts exactly what it can run.
    return Meridian::strategyNames();
}

int ControlState::activeCount() const
{
    int count = 0;
    for (const RegionControl &region : regions)
        count += region.state == u"active"_s ? 1 : 0;
    return count;
}

QMap<QString, QJsonObject> ControlState::toRows() const
{
    QMap<QString, QJsonObject> rows;
    for (auto it = regions.cbegin(); it != regions.cend(); ++it)
        rows.insert(u"region/"_s + it.key(), it.value().toJson());
    rows.insert(u"strategy"_s, strategy.toJson());
    rows.insert(u"primary"_s, QJsonObject{{u"region"_s, primary}});
    return rows;
}

bool ControlState::applyRow(const QString &key, const QJsonObject &value)
{
    if (key.startsWith(u"region/"_s)) {
        const QString id = key.mid(7);
        const auto control = RegionControl::fromJson(value);
        if (id.isEmpty() || !control)
            return false;
        regions.insert(id, *control);
        return true;
    }
    if (key == u"strategy"_s) {
        const auto choice = StrategyChoice::fromJson(value);
        if (!choice)
            return false;
        strategy = *choice;
        return true;
    }
    if (key == u"primary"_s) {
        primary = value.value(u"region"_s).toString();
        return true;
    }
    return false;
}

QJsonObject ControlState::toJson() const
{
    QJsonObject regionObject;
    for (auto it = regions.cbegin(); it != regions.cend(); ++it)
        regionObject.insert(it.key(), it.value().toJson());
    return {{u"regions"_s, regionObject},
            {u"strategy"_s, strategy.toJson()},
            {u"primary"_s, primary}};
}

void ControlState::applyParts(const QJsonObject &parts)
{
    const QJsonObject regionParts = parts.value(u"regions"_s).toObject();
    for (auto it = regionParts.constBegin(); it != regionParts.constEnd(); ++it) {
        if (!regions.contains(it.key()))
            continue;
        if (const auto control = RegionControl::fromJson(it.value().toObject()))
            regions[it.key()] = *control;
    }
    if (parts.contains(u"strategy"_s)) {
        if (const auto choice = StrategyChoice::fromJson(parts.value(u"strategy"_s).toObject()))
            strategy = *choice;
    }
    if (parts.contains(u"primary"_s))
        primary = parts.value(u"primary"_s).toString();
}

} // namespace Meridian
