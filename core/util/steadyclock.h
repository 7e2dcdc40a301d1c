#pragma once

#include "core/util/clock.h"

namespace Meridian {

// The real monotonic clock (std::chrono::steady_clock).
class SteadyClock final : public Clock
{
public:
    Duration now() const override;
};

} // namespace Meridian
