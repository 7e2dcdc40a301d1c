#pragma once

#include <QString>

namespace Meridian {

class SyncClock;

// Hybrid logical clock (Kulkarni et al., 2014): 48 bits of physical milliseconds and 16 bits of
// logical counter in one 64-bit value. Monotonic, close to wall time, and it orders causally
// related events across regions; the replica persists it so it never goes backwards.
class HybridLogicalClock
{
public:
    explicit HybridLogicalClock(const SyncClock *clock);

    quint64 tick();                  // a local event (a write, a heartbeat watermark)
    quint64 receive(quint64 remote); // merge a timestamp seen from a peer
    void advanceTo(quint64 floor);   // never issue anything <= floor (restart, snapshot)
    quint64 current() const { return m_last; }

    static quint64 make(qint64 physicalMs, quint16 logical);
    static qint64 physicalMs(quint64 hlc) { return qint64(hlc >> 16); }
    static quint16 logical(quint64 hlc) { return quint16(hlc & 0xffff); }
    static QString format(quint64 hlc); // "1732500000123.0004"

private:
    const SyncClock *m_clock;
    quint64 m_last = 0;
};

} // namespace Meridian
