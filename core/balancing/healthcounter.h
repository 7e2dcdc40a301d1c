#pragma once

#include "core/balancing/regionstate.h"

namespace Meridian {

// The rise/fall hysteresis of one endpoint's active health checks (HAProxy's `rise`/`fall`):
// `rise` consecutive successes make it healthy, `fall` consecutive failures unhealthy. From
// `unknown` the first result decides at once (as Envoy does at start-up), so a new endpoint
// neither waits `rise` intervals for traffic nor keeps it while failing.
class HealthCounter
{
public:
    explicit HealthCounter(int rise = 2, int fall = 3);

    // Records one check result and returns the state after it.
    HealthState record(bool success);
    HealthState state() const { return m_state; }
    int consecutiveSuccesses() const { return m_successes; }
    int consecutiveFailures() const { return m_failures; }

private:
    int m_rise;
    int m_fall;
    int m_successes = 0;
    int m_failures = 0;
    HealthState m_state = HealthState::Unknown;
};

} // namespace Meridian
