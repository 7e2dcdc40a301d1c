#include "core/sync/hybridlogicalclock.h"

#include "core/sync/syncclock.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Meridian {

HybridLogicalClock::HybridLogicalClock(const SyncClock *clock)
    : m_clock(clock)
{}

quint64 HybridLogicalClock::make(qint64 physicalMs, quint16 logical)
{
    return (quint64(std::max<qint64>(physicalMs, 0)) << 16) | logical;
}

quint64 HybridLogicalClock::tick()
{
    const quint64 wall = make(m_clock->nowMs(), 0);
    m_last = std::max(wall, m_last + 1);
    return m_last;
}

quint64 HybridLogicalClock::receive(quint64 remote)
{
    const quint64 wall = make(m_clock->nowMs(), 0);
    m_last = std::max({wall, m_last + 1, remote + 1});
    return m_last;
}

void HybridLogicalClock::advanceTo(quint64 floor)
{
    m_last = std::max(m_last, floor);
}

QString HybridLogicalClock::format(quint64 hlc)
{
    return u"%1.%2"_s.arg(physicalMs(hlc)).arg(logical(hlc), 4, 10, QLatin1Char('0'));
}

} // namespace Meridian
