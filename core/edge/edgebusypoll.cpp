#include "core/edge/edgebusypoll.h"

#include <algorithm>

namespace Meridian {

EdgeBusyPoll::EdgeBusyPoll(int maxUs)
    : m_maxUs(std::max(maxUs, 0))
{}

int EdgeBusyPoll::windowUs(int64_t nowUs)
{
    if (m_windowUs == 0)
        return 0;
    if (nowUs - m_periodStartUs >= kPeriodUs) {
        m_periodStartUs = nowUs;
        m_polledInPeriodUs = 0;
    }
    const int64_t allowance = kMaxPolledPerPeriodUs - m_polledInPeriodUs;
    return allowance > 0 ? int(std::min<int64_t>(m_windowUs, allowance)) : 0;
}

void EdgeBusyPoll::idled(int64_t idleUs, int64_t polledUs)
{
    m_polledInPeriodUs += std::max<int64_t>(polledUs, 0);
    if (idleUs <= m_windowUs)
        return; // the poll caught it: the window is right
    if (idleUs <= m_maxUs) {
        // A longer poll would have caught it (the haltpoll governor's grow rule).
        m_windowUs = std::min(std::max(m_windowUs * 2, kGrowStartUs), m_maxUs);
    } else {
        // The loop slept long: polling would only have burnt CPU.
        m_windowUs /= 2;
    }
}

} // namespace Meridian
