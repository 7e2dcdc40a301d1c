#pragma once

// What the sync tests share: the replicated test table and a clock the test moves by hand.

#include "core/sync/syncclock.h"
#include "core/sync/syncconfig.h"

#include <QDir>
#include <QString>

namespace Meridian::Test {

inline QString kvTableDdl()
{
    return QStringLiteral("CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB, updated_at INTEGER)");
}

// A replica in `dir` that reacts fast enough for tests: heartbeats and maintenance every 100 ms,
// redials after 20-200 ms, drops a silent connection after 2 s; `normal` durability.
inline SyncConfig quickConfig(const QString &dir, const QString &region)
{
    SyncConfig c;
    c.regionId = region;
    c.databasePath = QDir(dir).filePath(region + QStringLiteral(".db"));
    c.durability = Durability::Normal;
    c.heartbeatIntervalMs = 100;
    c.connectionTimeoutMs = 2000;
    c.reconnectMinMs = 20;
    c.reconnectMaxMs = 200;
    c.maintenanceIntervalMs = 100;
    return c;
}

// Wall-clock time under the test's control, so timing-dependent states are reached exactly.
class ManualClock final : public SyncClock
{
public:
    qint64 nowMs() const override { return m_now; }
    qint64 m_now = 1'700'000'000'000;
};

} // namespace Meridian::Test
