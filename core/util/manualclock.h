#pragma once

#include "core/util/clock.h"

#include <atomic>

namespace Meridian {

// A clock that moves only when told to: tests advance it to make time-driven logic exact.
// Thread-safe; never goes backwards.
class ManualClock final : public Clock
{
public:
    explicit ManualClock(Duration start = std::chrono::seconds(1));

    Duration now() const override;
    void advance(Duration by);
    // Moves to `to`; a time earlier than now() is ignored (a steady clock never goes back).
    void setNow(Duration to);

private:
    std::atomic<Duration::rep> m_now;
};

} // namespace Meridian
