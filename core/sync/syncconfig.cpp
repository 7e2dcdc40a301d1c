#include "core/sync/syncconfig.h"

#include <QRegularExpression>

using namespace Qt::StringLiterals;

namespace Meridian {

bool SyncConfig::isValidRegionId(const QString &id)
{
    static const QRegularExpression re(u"^[A-Za-z0-9_.-]{1,64}$"_s);
    return re.match(id).hasMatch();
}

QString SyncConfig::durabilityName(Durability d)
{
    return d == Durability::Full ? u"full"_s : u"normal"_s;
}

std::optional<Durability> SyncConfig::parseDurability(const QString &name)
{
    if (name == "full"_L1)
        return Durability::Full;
    if (name == "normal"_L1)
        return Durability::Normal;
    return std::nullopt;
}

SyncResult<void> SyncConfig::validate() const
{
    const auto invalid = [](const QString &m) {
        return syncError(SyncError::Code::InvalidArgument, m);
    };
    if (!isValidRegionId(regionId))
        return invalid(
                u"region id \"%1\" is invalid: use 1-64 letters, digits, '_', '.' or '-'"_s.arg(
                        regionId));
    if (databasePath.isEmpty())
        return invalid(u"databasePath is empty: give the path of the region's SQLite file"_s);
    if (schemaVersion < 0)
        return invalid(u"schemaVersion must be >= 0"_s);
    for (const PeerConfig &p : peers) {
        if (!isValidRegionId(p.regionId))
            return invalid(u"peer region id \"%1\" is invalid"_s.arg(p.regionId));
        if (p.regionId == regionId)
            return invalid(u"peer \"%1\" has this replica's own region id"_s.arg(p.regionId));
        if (p.host.isEmpty() || p.port == 0)
            return invalid(u"peer \"%1\" needs a host and a non-zero port"_s.arg(p.regionId));
    }
    if (batchMaxEntries < 1 || batchMaxBytes < 1024 || maxInFlightBatches < 1)
        return invalid(u"batchMaxEntries, batchMaxBytes (>= 1024) and maxInFlightBatches must be "
                       "positive"_s);
    if (heartbeatIntervalMs < 10 || connectionTimeoutMs <= heartbeatIntervalMs)
        return invalid(u"heartbeatIntervalMs must be >= 10 and below connectionTimeoutMs"_s);
    if (reconnectMinMs < 1 || reconnectMaxMs < reconnectMinMs)
        return invalid(u"reconnectMinMs must be >= 1 and <= reconnectMaxMs"_s);
    if (clockSkewAlarmMs < 1 || stallTimeoutMs < 1 || minLogRetentionMs < 0 || maxLogRetentionMs < 0
        || overwrittenJournalLimit < 0 || maintenanceIntervalMs < 10)
        return invalid(u"time limits and journal size must be positive"_s);
    if (snapshotChunkBytes < 1024 || snapshotChunkBytes > 16 * 1024 * 1024)
        return invalid(u"snapshotChunkBytes must be between 1 KiB and 16 MiB"_s);
    if (maxLogRetentionMs > 0 && maxLogRetentionMs < minLogRetentionMs)
        return invalid(u"maxLogRetentionMs must be 0 (never) or >= minLogRetentionMs"_s);
    return {};
}

} // namespace Meridian
