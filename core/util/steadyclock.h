#pragma once

#include "core/util/clock.h"

namespace Meridian {

// The real monotonic clock (std::chrono::steady_clock); coarseNow() is CLOCK_MONOTONIC_COARSE
// on Linux (the kernel's last tick, no clock-source read).
class SteadyClock final : public Clock
{
public:
    Duration now() const override;
    Duration coarseNow() const override;
};

} // namespace Meridian
