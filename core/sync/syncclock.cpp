#include "core/sync/syncclock.h"

#include <QDateTime>

namespace Meridian {

qint64 SystemSyncClock::nowMs() const
{
    return QDateTime::currentMSecsSinceEpoch();
}

const SystemSyncClock *SystemSyncClock::instance()
{
    static const SystemSyncClock clock;
    return &clock;
}

} // namespace Meridian
