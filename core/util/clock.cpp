#include "core/util/clock.h"

#include "core/util/steadyclock.h"

namespace Meridian {

Clock::~Clock() = default;

Clock::Duration Clock::coarseNow() const
{
    return now();
}

const Clock &Clock::steady()
{
    static const SteadyClock clock;
    return clock;
}

} // namespace Meridian
