#pragma once

#include "core/sync/hybridlogicalclock.h"
#include "core/sync/linkstatus.h"
#include "core/sync/logentry.h"
#include "core/sync/syncconfig.h"
#include "core/sync/syncresult.h"
#include "core/sync/synctypes.h"
#include "core/sync/transaction.h"
#include "core/sync/transporthost.h"

#include <QHash>
#include <QObject>
#include <QTimer>

#include <deque>
#include <functional>
#include <memory>

namespace Meridian {

class Transport;

namespace Internal {
class PeerConnection;
class ReplicaStore;
class ResyncSession;
} // namespace Internal

// One region's replicated SQLite store. Local writes run through write()/execute(): they are
// captured with the session extension, logged in the same durable transaction and streamed to
// every peer; entries from peers are applied with row-level last-writer-wins by (HLC, origin).
// Reports per-link lag and state, a content digest, overwritten writes, and resyncs from a
// peer's snapshot when the log no longer reaches back far enough.
//
// Threading: a Replica is used from the thread it lives in (its sockets and timers run in that
// thread's event loop); it is not thread-safe. write() blocks that thread until the commit is
// durable (an fsync with Durability::Full), which is what acknowledges a client's write.
class Replica final
    : public QObject
    , public TransportHost
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Replica)

public:
    explicit Replica(SyncConfig config, QObject *parent = nullptr);
    ~Replica() override;

    // 1. open the database (creates it and the sync metadata), 2. register tables,
    // 3. start replication. close() stops and closes; a Replica can be opened again.
    SyncResult<void> open();
    void close();
    bool isOpen() const;
    SyncResult<void> registerTable(const QString &name, const QString &createStatement = {});
    QStringList registeredTables() const;
    SyncResult<void> start();
    void stop();
    bool isRunning() const { return m_running; }
    void setPeers(const QList<PeerConfig> &peers);
    quint16 replicationPort() const; // the listener's port (useful with listenPort 0)
    // Replace the built-in TCP transport (before start()); the replica takes ownership.
    void setTransport(std::function<Transport *(TransportHost *, QObject *)> factory);

    // A durable write transaction: returns after commit (data + log entry), or an error and
    // nothing changed. Do not call write() from inside a body.
    SyncResult<WriteReceipt> write(const std::function<SyncResult<void>(Transaction &)> &body);
    SyncResult<WriteReceipt> execute(const QString &sql, const QVariantList &params = {});
    // Reads on a separate read-only connection (sees every committed write).
    SyncResult<QueryResult> query(const QString &sql, const QVariantList &params = {}) const;

    QList<LinkStatus> links() const;
    QString digest() const; // 32 hex digits, order-independent sum over replicated rows
    SyncResult<QString> recomputeDigest(); // the same, by a full scan (checks the incremental one)
    SyncResult<QList<OverwrittenCounter>> overwrittenCounters();
    SyncResult<QList<OverwrittenWrite>> overwrittenJournal(int limit = 100);
    CursorVector cursors() const;
    quint64 currentHlc() const { return m_hlc.current(); }
    const SyncConfig &config() const { return m_config; }

    // Runs retention now (otherwise every few maintenance ticks): prunes log entries every
    // configured peer has applied (after minLogRetentionMs) or older than maxLogRetentionMs.
    SyncResult<int> pruneLog();
    SyncResult<int> collectTombstones();

    // Resync: replace this region's data with a consistent snapshot from `peer` (verified
    // before it is swapped in), keep this region's own not-yet-replicated writes, then catch up
    // from the logs. Progress via resyncProgress(); an interrupted resync can be retried and
    // resumes the transfer.
    SyncResult<void> startResync(const QString &peer);
    void cancelResync();
    ResyncProgress resyncStatus() const { return m_resyncStatus; }

    // TransportHost (called by the transport)
    QString regionId() const override { return m_config.regionId; }
    int schemaVersion() const override { return m_config.schemaVersion; }
    CursorVector logHeads() const override;
    CursorVector logLowWater() const override;
    quint64 hlcWatermark() const override;
    qint64 wallClockMs() const override;
    std::optional<quint64> entryHlc(const QString &origin, quint64 seq) override;
    SyncResult<QList<LogEntry>> readLog(const QString &origin,
                                        quint64 afterSeq,
                                        int maxEntries,
                                        qint64 maxBytes) override;
    SyncResult<CursorVector> applyEntries(const QString &fromPeer,
                                          const QList<LogEntry> &entries) override;
    void peerAnnounced(const PeerAnnouncement &announcement) override;
    void peerAcknowledged(const QString &peer, const CursorVector &applied) override;
    void peerConnectionChanged(const QString &peer, bool connected, const QString &reason) override;

signals:
    void linkChanged(const Meridian::LinkStatus &status);
    void clockSkewAlarm(const QString &origin, qint64 skewMs);
    void applied(const QString &origin, quint64 seq, quint64 hlc);
    void written(const Meridian::WriteReceipt &receipt);
    void resyncProgress(const Meridian::ResyncProgress &progress);

private:
    struct Track
    {
        quint64 head = 0;
        bool connected = false;
        qint64 lastContactMs = 0;
        qint64 clockSkewMs = 0;
        bool skewAlarmed = false;
        bool schemaMismatch = false;
        QString schemaDetail;
        bool needsResync = false;
        QString resyncDetail;
        QString disconnectReason;
        quint64 pendingSeq = 0;
        quint64 pendingHlc = 0;
        quint64 lastAppliedHlc = 0;
        qint64 lastProgressMs = 0;
        std::deque<std::pair<qint64, int>> applyEvents; // (ms, entries)
        quint64 watermarkCandidateHead = 0;
        quint64 watermarkCandidate = 0;
        quint64 safeHlc = 0; // everything from this origin at or below is applied here
    };

    void maintenance();
    void evaluateLinks();
    LinkStatus linkFor(const QString &origin, const Track &t, qint64 now) const;
    void checkSkew(const QString &origin, qint64 skewMs);
    void startResyncSession(const PeerConfig &peer);
    // Fails with Stale, changing nothing, when the snapshot lacks writes of this region that
    // its own log no longer holds (unless acceptLoss).
    SyncResult<void> swapIn(const QString &snapshotPath, bool acceptLoss);
    void catchUpTick();
    void setResyncStatus(const ResyncProgress &p);
    void serveSnapshot(Internal::PeerConnection *connection, const QByteArray &request);

    SyncConfig m_config;
    const SyncClock *m_clock;
    HybridLogicalClock m_hlc;
    std::unique_ptr<Internal::ReplicaStore> m_store;
    std::function<Transport *(TransportHost *, QObject *)> m_transportFactory;
    Transport *m_transport = nullptr;
    bool m_running = false;
    QHash<QString, Track> m_tracks;
    QHash<QString, LinkStatus> m_reported;
    QMap<QString, CursorVector> m_peerAcks;
    bool m_peerAcksDirty = false;
    bool m_hlcPersistFailing = false; // the last maintenance could not persist the clock
    QTimer m_maintenanceTimer;
    int m_tick = 0;
    QStringList m_tableNames;
    QHash<QString, QString> m_tableDdl;
    Internal::ResyncSession *m_resync = nullptr;
    ResyncProgress m_resyncStatus;
    QTimer m_catchUpTimer;
    qint64 m_catchUpStartedMs = 0;
    qint64 m_resyncRows = 0;
    QString m_resyncPeer;
    bool m_resyncFetchedFresh = false; // a stale resumed snapshot was replaced once
};

} // namespace Meridian
