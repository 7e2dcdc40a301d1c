#pragma once

// What the sync tests share: the replicated test table and a clock the test moves by hand.

#include "core/sync/syncclock.h"

#include <QString>

namespace Meridian::Test {

inline QString kvTableDdl()
{
    return QStringLiteral("CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB, updated_at INTEGER)");
}

// Wall-clock time under the test's control, so timing-dependent states are reached exactly.
class ManualClock final : public SyncClock
{
public:
    qint64 nowMs() const override { return m_now; }
    qint64 m_now = 1'700'000'000'000;
};

} // namespace Meridian::Test
