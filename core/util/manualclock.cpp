#include "core/util/manualclock.h"

namespace Meridian {

ManualClock::ManualClock(Duration start)
    : m_now(start.count())
{}

Clock::Duration ManualClock::now() const
{
    return Duration(m_now.load(std::memory_order_acquire));
}

void ManualClock::advance(Duration by)
{
    if (by.count() > 0)
        m_now.fetch_add(by.count(), std::memory_order_acq_rel);
}

void ManualClock::setNow(Duration to)
{
    auto current = m_now.load(std::memory_order_acquire);
    while (to.count() > current
           && !m_now.compare_exchange_weak(current, to.count(), std::memory_order_acq_rel)) {
    }
}

} // namespace Meridian
