#include "core/util/steadyclock.h"

#include <QtGlobal>

#ifdef Q_OS_LINUX
#include <time.h>
#endif

namespace Meridian {

Clock::Duration SteadyClock::now() const
{
    return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch());
}

Clock::Duration SteadyClock::coarseNow() const
{
#ifdef Q_OS_LINUX
    // steady_clock is CLOCK_MONOTONIC with libstdc++ and libc++; the coarse variant shares its
    // epoch and reads the time of the last tick without touching the clock source.
    timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
#endif
    return now();
}

} // namespace Meridian
