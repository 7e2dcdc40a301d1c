#pragma once

#include "core/sync/syncresult.h"
#include "core/util/tlsfiles.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace Meridian {

class SyncClock;

// A peer region this replica exchanges log entries with.
struct PeerConfig
{
    QString regionId;
    QString host; // IP address or host name of the peer's replication listener
    quint16 port = 0;

    friend bool operator==(const PeerConfig &, const PeerConfig &) = default;
};

// How hard a commit works to survive failures (see docs/sync.md).
enum class Durability {
    Full,   // synchronous=FULL: every acknowledged write survives kill -9 and power loss
    Normal, // synchronous=NORMAL: survives kill -9; the last commits may be lost on power loss
};

// Which transport moves log entries between regions (docs/sync.md, "Transports").
enum class TransportKind {
    Tcp,  // built-in: one persistent TCP connection per peer (TcpTransport)
    Nats, // NATS JetStream: one stream per origin region (NatsTransport)
};

// Where and how the NATS JetStream transport publishes and consumes (transport == Nats).
// Durations are milliseconds; limits below 0 mean "no limit".
struct NatsConfig
{
    QStringList servers;                          // nats://host:port or tls://host:port
    QString cluster = QStringLiteral("meridian"); // streams MERIDIAN_<cluster>_<origin>
    QString subjectPrefix;                        // "" = "meridian.<cluster>"
    QString credentialsFile;                      // optional NATS .creds file
    int replicas = 1;                             // stream replicas (clustered JetStream)
    qint64 maxAgeMs = 7LL * 24 * 3600 * 1000;     // stream retention by age; 0 = unlimited
    qint64 maxBytes = -1;                         // stream retention by size
    qint64 maxMsgs = -1;                          // stream retention by message count
    qint64 duplicateWindowMs = 2 * 60 * 1000;     // the stream's Nats-Msg-Id dedup window
    int fetchBatch = 256;                         // entries per pull (and per applyEntries)
    int maxPublishAhead = 4096; // own entries handed to the publisher, unconfirmed

    QString effectiveSubjectPrefix() const;
    QString streamName(const QString &origin) const;
    QString logSubject(const QString &origin) const;
    QString heartbeatSubject(const QString &origin) const;

    friend bool operator==(const NatsConfig &, const NatsConfig &) = default;
};

// Everything a Replica needs to know. Durations are milliseconds.
struct SyncConfig
{
    QString regionId;     // [A-Za-z0-9_.-]{1,64}, unique in the cluster, never reused
    QString databasePath; // the region's SQLite file (WAL mode; -wal/-shm beside it)
    QString listenHost = QStringLiteral("127.0.0.1");
    quint16 listenPort = 0; // 0: the OS picks one (see Replica::replicationPort())
    bool listen = true;     // accept inbound replication connections
    QList<PeerConfig> peers;
    Durability durability = Durability::Full;
    int schemaVersion = 1; // peers with another version are not applied to
    qint64 clockSkewAlarmMs = 5000;
    qint64 minLogRetentionMs = 10 * 60 * 1000;         // keep entries at least this long
    qint64 maxLogRetentionMs = 7LL * 24 * 3600 * 1000; // prune even unacknowledged after; 0 = never
    int batchMaxEntries = 512;
    qint64 batchMaxBytes = 1024 * 1024;
    int maxInFlightBatches = 4; // unacknowledged batches per peer (backpressure)
    int heartbeatIntervalMs = 1000;
    int connectionTimeoutMs = 5000; // no frame for this long: the connection is dropped
    // Shared by every region (and nothing else): each replication and snapshot connection
    // proves knowledge of it before any data flows. Empty: connections are not authenticated.
    QByteArray secret;
    // Certificates for mutual TLS on every replication and snapshot connection (docs/sync.md,
    // "Encryption"). Not enabled: plain TCP.
    TlsFiles tls;
    int stallTimeoutMs = 10000; // backlog without progress for this long: `stalled`
    // Once open, how long a write waits for a lock another process holds on the database (an
    // operator's sqlite3 session, a backup tool) before it fails. The replica shares its thread
    // with the node's control API and links, so this is how long they can stall.
    int busyTimeoutMs = 250;
    int reconnectMinMs = 200;
    int reconnectMaxMs = 10000;
    int overwrittenJournalLimit = 10000;
    int maintenanceIntervalMs = 1000;             // HLC persistence, pruning, tombstone collection
    qint64 snapshotChunkBytes = 256 * 1024;       // resync transfer unit
    const SyncClock *clock = nullptr;             // nullptr: the system clock
    TransportKind transport = TransportKind::Tcp; // with Nats, peers' host/port serve resync only
    NatsConfig nats;

    SyncResult<void> validate() const;
    static bool isValidRegionId(const QString &id);
    static QString durabilityName(Durability d);
    static std::optional<Durability> parseDurability(const QString &name);
    static QString transportName(TransportKind kind); // "tcp", "nats"
    static std::optional<TransportKind> parseTransport(const QString &name);
    // A setting that cannot be used, by its configuration-file name, and why.
    struct FieldProblem
    {
        QString field;
        QString message;
        QString text() const { return field + QStringLiteral(": ") + message; }
    };
    // The first NATS setting that is unusable; nullopt when they are all fine.
    static std::optional<FieldProblem> natsConfigProblem(const NatsConfig &nats);
};

} // namespace Meridian
