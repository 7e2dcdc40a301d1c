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

QString NatsConfig::effectiveSubjectPrefix() const
{
    return subjectPrefix.isEmpty() ? u"meridian."_s + cluster : subjectPrefix;
}

QString NatsConfig::streamName(const QString &origin) const
{
    // Stream names may not hold '.', which region ids may: the stream's subject is checked
    // when it is opened, so two ids that map to one name fail loudly instead of mixing.
    QString name = u"MERIDIAN_%1_%2"_s.arg(cluster, origin);
    name.replace(u'.', u'_');
    return name;
}

QString NatsConfig::logSubject(const QString &origin) const
{
    return effectiveSubjectPrefix() + u".log."_s + origin;
}

QString NatsConfig::heartbeatSubject(const QString &origin) const
{
    return effectiveSubjectPrefix() + u".hb."_s + origin;
}

QString SyncConfig::transportName(TransportKind kind)
{
    return kind == TransportKind::Nats ? u"nats"_s : u"tcp"_s;
}

std::optional<TransportKind> SyncConfig::parseTransport(const QString &name)
{
    if (name == "tcp"_L1)
        return TransportKind::Tcp;
    if (name == "nats"_L1)
        return TransportKind::Nats;
    return std::nullopt;
}

std::optional<SyncConfig::FieldProblem> SyncConfig::natsConfigProblem(const NatsConfig &nats)
{
    static const QRegularExpression urlRe(u"^(nats|tls)://[^\\s,/]+/?$"_s);
    static const QRegularExpression clusterRe(u"^[A-Za-z0-9_-]{1,32}$"_s);
    static const QRegularExpression prefixRe(u"^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$"_s);
    if (nats.servers.isEmpty())
        return FieldProblem{u"servers"_s,
                            u"give at least one NATS server URL, e.g. nats://127.0.0.1:4222"_s};
    for (const QString &url : nats.servers) {
        if (!urlRe.match(url).hasMatch())
            return FieldProblem{u"servers"_s,
                                u"\"%1\" is not a NATS URL (nats://host:port or tls://host:port)"_s
                                        .arg(url)};
    }
    if (!clusterRe.match(nats.cluster).hasMatch())
        return FieldProblem{u"cluster"_s,
                            u"\"%1\" must be 1-32 letters, digits, '_' or '-' (it names the "
                            "streams)"_s.arg(nats.cluster)};
    if (!nats.subjectPrefix.isEmpty()
        && (!prefixRe.match(nats.subjectPrefix).hasMatch() || nats.subjectPrefix.size() > 128))
        return FieldProblem{u"subject_prefix"_s,
                            u"\"%1\" is not a NATS subject prefix (dot-separated tokens of "
                            "letters, digits, '_', '-')"_s.arg(nats.subjectPrefix)};
    if (nats.replicas < 1 || nats.replicas > 5)
        return FieldProblem{u"replicas"_s, u"must be between 1 and 5"_s};
    if (nats.maxAgeMs < 0)
        return FieldProblem{u"max_age_ms"_s, u"must be >= 0 (0 = unlimited)"_s};
    if (nats.maxBytes == 0)
        return FieldProblem{u"max_bytes"_s, u"must be positive, or -1 for unlimited"_s};
    if (nats.maxMsgs == 0)
        return FieldProblem{u"max_msgs"_s, u"must be positive, or -1 for unlimited"_s};
    if (nats.duplicateWindowMs < 1000)
        return FieldProblem{u"duplicate_window_ms"_s, u"must be >= 1000"_s};
    if (nats.maxAgeMs > 0 && nats.duplicateWindowMs > nats.maxAgeMs)
        return FieldProblem{u"duplicate_window_ms"_s, u"must not exceed max_age_ms"_s};
    if (nats.fetchBatch < 1 || nats.fetchBatch > 10000)
        return FieldProblem{u"fetch_batch"_s, u"must be between 1 and 10000"_s};
    if (nats.maxPublishAhead < 1)
        return FieldProblem{u"max_publish_ahead"_s, u"must be >= 1"_s};
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
        if (transport == TransportKind::Tcp && (p.host.isEmpty() || p.port == 0))
            return invalid(u"peer \"%1\" needs a host and a non-zero port"_s.arg(p.regionId));
    }
    if (transport == TransportKind::Nats) {
        if (const auto problem = natsConfigProblem(nats))
            return invalid(u"nats."_s + problem->text());
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
    if (busyTimeoutMs < 0 || busyTimeoutMs > 60000)
        return invalid(u"busyTimeoutMs must be between 0 and 60000"_s);
    if (snapshotChunkBytes < 1024 || snapshotChunkBytes > 16 * 1024 * 1024)
        return invalid(u"snapshotChunkBytes must be between 1 KiB and 16 MiB"_s);
    if (maxLogRetentionMs > 0 && maxLogRetentionMs < minLogRetentionMs)
        return invalid(u"maxLogRetentionMs must be 0 (never) or >= minLogRetentionMs"_s);
    return {};
}

} // namespace Meridian
