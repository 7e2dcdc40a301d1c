#pragma once

#include <QString>
#include <QStringList>

#include <optional>

namespace Meridian {

// The operator's administrative state of a region. Only Active regions take new requests;
// Draining ones finish their in-flight requests; Drained and Standby ones take nothing.
enum class AdminState { Active, Draining, Drained, Standby };

// The health of one upstream endpoint, as the active checker and outlier detection see it.
enum class HealthState { Healthy, Unhealthy, Unknown };

QString toString(AdminState state);
QString toString(HealthState state);
// "active", "draining", "drained", "standby"; anything else → nullopt.
std::optional<AdminState> adminStateFromString(const QString &text);
// "healthy", "unhealthy", "unknown"; anything else → nullopt.
std::optional<HealthState> healthStateFromString(const QString &text);

const QStringList &adminStateNames();
const QStringList &healthStateNames();

} // namespace Meridian
