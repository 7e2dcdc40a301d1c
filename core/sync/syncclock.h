#pragma once

#include <QtGlobal>

namespace Meridian {

// Wall-clock source for the sync core (HLC physical time, lag ages, retention, back-off).
// Injected so tests can skew or freeze time exactly.
class SyncClock
{
public:
    virtual ~SyncClock() = default;
    virtual qint64 nowMs() const = 0; // milliseconds since the Unix epoch
};

// The system clock (QDateTime::currentMSecsSinceEpoch).
class SystemSyncClock final : public SyncClock
{
public:
    qint64 nowMs() const override;
    static const SystemSyncClock *instance();
};

} // namespace Meridian
