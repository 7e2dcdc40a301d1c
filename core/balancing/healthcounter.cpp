#include "core/balancing/healthcounter.h"

#include <algorithm>

namespace Meridian {

HealthCounter::HealthCounter(int rise, int fall)
    : m_rise(std::max(1, rise))
    , m_fall(std::max(1, fall))
{}

HealthState HealthCounter::record(bool success)
{
    if (success) {
        m_failures = 0;
        ++m_successes;
        if (m_state == HealthState::Unknown || m_successes >= m_rise)
            m_state = HealthState::Healthy;
    } else {
        m_successes = 0;
        ++m_failures;
        if (m_state == HealthState::Unknown || m_failures >= m_fall)
            m_state = HealthState::Unhealthy;
    }
    return m_state;
}

} // namespace Meridian
