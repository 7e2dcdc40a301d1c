#pragma once

#include <chrono>

namespace Meridian {

// A monotonic clock behind an interface, so that time-driven logic (health checks, outlier
// ejection, latency decay) can be driven by a ManualClock in tests and by SteadyClock in
// production.
class Clock
{
public:
    using Duration = std::chrono::nanoseconds;

    virtual ~Clock();

    // Monotonic time since an arbitrary, fixed epoch.
    virtual Duration now() const = 0;
    // The same clock read cheaply, at the resolution of a scheduler tick (1-4 ms on Linux):
    // for hot paths that stamp events in milliseconds. Never ahead of now(). The default
    // returns now().
    virtual Duration coarseNow() const;

    // The process-wide steady clock.
    static const Clock &steady();
};

} // namespace Meridian
