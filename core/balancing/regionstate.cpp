#include "core/balancing/regionstate.h"

using namespace Qt::StringLiterals;

namespace Meridian {

const QStringList &adminStateNames()
{
    static const QStringList names{u"active"_s, u"draining"_s, u"drained"_s, u"standby"_s};
    return names;
}

const QStringList &healthStateNames()
{
    static const QStringList names{u"healthy"_s, u"unhealthy"_s, u"unknown"_s};
    return names;
}

QString toString(AdminState state)
{
    return adminStateNames().at(static_cast<int>(state));
}

QString toString(HealthState state)
{
    return healthStateNames().at(static_cast<int>(state));
}

std::optional<AdminState> adminStateFromString(const QString &text)
{
    const qsizetype index = adminStateNames().indexOf(text);
    if (index < 0)
        return std::nullopt;
    return static_cast<AdminState>(index);
}

std::optional<HealthState> healthStateFromString(const QString &text)
{
    const qsizetype index = healthStateNames().indexOf(text);
    if (index < 0)
        return std::nullopt;
    return static_cast<HealthState>(index);
}

} // namespace Meridian
