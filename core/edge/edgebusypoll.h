#pragma once

#include <cstdint>

namespace Meridian {

// How long a worker's event loop keeps polling for events before it sleeps, adapted as Linux's
// haltpoll cpuidle governor adapts a virtual CPU's poll before HLT. In a virtual machine a
// thread that sleeps is woken by an inter-processor interrupt and the virtual CPU's exit from
// HLT, which costs tens of microseconds each time; a loop under steady load that empties its
// queue sleeps and is woken thousands of times a second, and the other processes of the
// request path (the regions, the clients) wait meanwhile. Polling a little longer costs CPU only
// while nothing comes, so the window grows while events come soon after the loop runs dry and
// shrinks to nothing when they do not (an idle or lightly loaded edge sleeps at once), and the
// time spent polling is capped at a share of each period: one client sending requests back to
// back would otherwise keep a core spinning between them.
class EdgeBusyPoll
{
public:
    // maxUs: the longest poll; 0 never polls.
    explicit EdgeBusyPoll(int maxUs);

    // How long to poll now, in microseconds, before sleeping; 0: sleep at once. `nowUs` is a
    // monotonic clock.
    int windowUs(int64_t nowUs);
    // The loop ran dry and its next event came `idleUs` later (by polling, or after a sleep;
    // a sleep that timed out counts as long), of which it polled `polledUs`.
    void idled(int64_t idleUs, int64_t polledUs);

    static constexpr int kGrowStartUs = 10;                  // the window's first step
    static constexpr int64_t kPeriodUs = 100'000;            // the cap's period ...
    static constexpr int64_t kMaxPolledPerPeriodUs = 20'000; // ... and its polling allowance

private:
    int m_maxUs;
    int m_windowUs = 0;
    int64_t m_periodStartUs = 0;
    int64_t m_polledInPeriodUs = 0;
};

} // namespace Meridian
