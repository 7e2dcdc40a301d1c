#include "core/sync/replica.h"

#include "core/sync/natstransport.h"
#include "core/sync/peerconnection.h"
#include "core/sync/replicastore.h"
#include "core/sync/resyncsession.h"
#include "core/sync/snapshotserver.h"
#include "core/sync/syncclock.h"
#include "core/sync/tcptransport.h"

#include <QFile>
#include <QLoggingCategory>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcSync, "meridian.sync")

namespace {
constexpr qint64 kRateWindowMs = 10000;
constexpr int kPruneEveryTicks = 10;
} // namespace

Replica::Replica(SyncConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_clock(m_config.clock ? m_config.clock : SystemSyncClock::instance())
    , m_hlc(m_clock)
{
    m_maintenanceTimer.setInterval(std::max(10, m_config.maintenanceIntervalMs));
    connect(&m_maintenanceTimer, &QTimer::timeout, this, &Replica::maintenance);
    m_catchUpTimer.setInterval(100);
    connect(&m_catchUpTimer, &QTimer::timeout, this, &Replica::catchUpTick);
}

Replica::~Replica()
{
    blockSignals(true); // no signals to half-destroyed receivers while links shut down
    close();
}

SyncResult<void> Replica::open()
{
    if (auto r = m_config.validate(); !r)
        return r;
    if (isOpen())
        return {};
    const QString backup = m_config.databasePath + u".pre-resync"_s;
    if (!QFile::exists(m_config.databasePath) && QFile::exists(backup)) {
        // A resync was interrupted between moving the old file aside and the new one in.
        qCWarning(lcSync) << "restoring" << m_config.databasePath << "from" << backup;
        QFile::rename(backup, m_config.databasePath);
        for (const QString &suffix : {u"-wal"_s, u"-shm"_s}) {
            if (QFile::exists(backup + suffix))
                QFile::rename(backup + suffix, m_config.databasePath + suffix);
        }
    }
    auto store = std::make_unique<Internal::ReplicaStore>(m_config.regionId, &m_hlc, m_clock);
    if (auto r = store->open(m_config.databasePath,
                             m_config.durability,
                             m_config.schemaVersion,
                             m_config.overwrittenJournalLimit);
        !r)
        return r;
    // Opening may wait for a lock (5 s); from now on a write fails soon instead (see config).
    store->setBusyTimeout(m_config.busyTimeoutMs);
    auto acks = store->loadPeerAcks();
    if (!acks)
        return acks.error();
    m_peerAcks = *acks;
    m_store = std::move(store);
    for (const QString &name : std::as_const(m_tableNames)) {
        if (auto r = m_store->registerTable(name, m_tableDdl.value(name)); !r) {
            m_store.reset();
            return r;
        }
    }
    qCInfo(lcSync) << "opened" << m_config.databasePath << "as region" << m_config.regionId
                   << "durability" << SyncConfig::durabilityName(m_config.durability);
    return {};
}

void Replica::close()
{
    stop();
    if (m_store && m_peerAcksDirty)
        (void) m_store->savePeerAcks(m_peerAcks);
    if (m_store)
        (void) m_store->persistHlc();
    m_store.reset();
}

bool Replica::isOpen() const
{
    return m_store && m_store->isOpen();
}

SyncResult<void> Replica::registerTable(const QString &name, const QString &createStatement)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"open() the replica before registerTable()"_s);
    if (auto r = m_store->registerTable(name, createStatement); !r)
        return r;
    if (!m_tableNames.contains(name)) {
        m_tableNames.append(name);
        m_tableDdl.insert(name, createStatement);
    }
    return {};
}

QStringList Replica::registeredTables() const
{
    return m_tableNames;
}

void Replica::setTransport(std::function<Transport *(TransportHost *, QObject *)> factory)
{
    m_transportFactory = std::move(factory);
}

SyncResult<void> Replica::start()
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"open() the replica before start()"_s);
    if (m_running)
        return {};
    // Both built-in transports serve snapshots for resync on the replication port.
    const auto serve = [this](Internal::PeerConnection *c, const QByteArray &request) {
        serveSnapshot(c, request);
    };
    if (m_transportFactory) {
        m_transport = m_transportFactory(this, this);
    } else if (m_config.transport == TransportKind::Nats) {
        auto *nats = new NatsTransport(this, m_config, this);
        nats->setSnapshotHandler(serve);
        m_transport = nats;
    } else {
        auto *tcp = new TcpTransport(this, m_config, this);
        tcp->setSnapshotHandler(serve);
        m_transport = tcp;
    }
    if (auto r = m_transport->start(); !r) {
        delete m_transport;
        m_transport = nullptr;
        return r;
    }
    m_running = true;
    for (const PeerConfig &p : std::as_const(m_config.peers))
        m_tracks[p.regionId];
    m_maintenanceTimer.start();
    evaluateLinks();
    return {};
}

void Replica::stop()
{
    m_maintenanceTimer.stop();
    if (m_transport) {
        m_transport->stop();
        delete m_transport;
        m_transport = nullptr;
    }
    m_running = false;
    for (Track &t : m_tracks)
        t.connected = false;
}

void Replica::setPeers(const QList<PeerConfig> &peers)
{
    m_config.peers = peers;
    for (const PeerConfig &p : peers)
        m_tracks[p.regionId];
    if (m_transport)
        m_transport->setPeers(peers);
}

quint16 Replica::replicationPort() const
{
    return m_transport ? m_transport->listenPort() : 0;
}

SyncResult<WriteReceipt> Replica::write(const std::function<SyncResult<void>(Transaction &)> &body)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    auto r = m_store->write(body);
    if (r && r->seq > 0) {
        emit written(*r);
        if (m_transport)
            m_transport->entriesAvailable();
    }
    return r;
}

SyncResult<WriteReceipt> Replica::execute(const QString &sql, const QVariantList &params)
{
    return write([&](Transaction &tx) -> SyncResult<void> {
        auto r = tx.exec(sql, params);
        if (!r)
            return r.error();
        return {};
    });
}

SyncResult<QueryResult> Replica::query(const QString &sql, const QVariantList &params) const
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    return m_store->query(sql, params);
}

QString Replica::digest() const
{
    return isOpen() ? m_store->digest() : QString();
}

SyncResult<QString> Replica::recomputeDigest()
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    return m_store->computeDigest();
}

SyncResult<QList<OverwrittenCounter>> Replica::overwrittenCounters()
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    return m_store->overwrittenCounters();
}

SyncResult<QList<OverwrittenWrite>> Replica::overwrittenJournal(int limit)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    return m_store->overwrittenJournal(limit);
}

CursorVector Replica::cursors() const
{
    return isOpen() ? m_store->cursors() : CursorVector{};
}

CursorVector Replica::logHeads() const
{
    return cursors();
}

CursorVector Replica::logLowWater() const
{
    return isOpen() ? m_store->lowWater() : CursorVector{};
}

quint64 Replica::hlcWatermark() const
{
    return isOpen() ? m_store->persistedHlc() : 0;
}

qint64 Replica::wallClockMs() const
{
    return m_clock->nowMs();
}

std::optional<quint64> Replica::entryHlc(const QString &origin, quint64 seq)
{
    if (!isOpen())
        return std::nullopt;
    auto r = m_store->readLog(origin, seq - 1, 1, 1 << 30);
    if (!r || r->isEmpty())
        return std::nullopt;
    return r->first().hlc;
}

SyncResult<QList<LogEntry>> Replica::readLog(const QString &origin,
                                             quint64 afterSeq,
                                             int maxEntries,
                                             qint64 maxBytes)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    return m_store->readLog(origin, afterSeq, maxEntries, maxBytes);
}

SyncResult<CursorVector> Replica::applyEntries(const QString &fromPeer,
                                               const QList<LogEntry> &entries)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    auto outcome = m_store->apply(entries);
    if (!outcome)
        return outcome.error();
    const qint64 now = m_clock->nowMs();
    if (!outcome->schemaMismatchOrigin.isEmpty()) {
        Track &t = m_tracks[outcome->schemaMismatchOrigin];
        if (!t.schemaMismatch)
            qCWarning(lcSync) << "not applying entries of" << outcome->schemaMismatchOrigin
                              << "from" << fromPeer << ":" << outcome->schemaMismatchDetail;
        t.schemaMismatch = true;
        t.schemaDetail = outcome->schemaMismatchDetail;
    }
    QHash<QString, Internal::ApplyOutcome::Applied> last;
    QHash<QString, int> counts;
    for (const auto &a : outcome->entries) {
        last.insert(a.origin, a);
        ++counts[a.origin];
        const qint64 ahead = HybridLogicalClock::physicalMs(a.hlc) - now;
        if (ahead > m_config.clockSkewAlarmMs)
            checkSkew(a.origin, ahead);
    }
    const CursorVector &cursors = m_store->cursors();
    for (auto it = last.cbegin(); it != last.cend(); ++it) {
        Track &t = m_tracks[it.key()];
        t.lastAppliedHlc = it->hlc;
        t.lastProgressMs = now;
        t.head = std::max(t.head, it->seq);
        t.applyEvents.emplace_back(now, counts.value(it.key()));
        if (t.watermarkCandidateHead > 0 && cursors.value(it.key()) >= t.watermarkCandidateHead) {
            t.safeHlc = std::max(t.safeHlc, t.watermarkCandidate);
            t.watermarkCandidateHead = 0;
        }
        emit applied(it.key(), it->seq, it->hlc);
    }
    if (outcome->applied > 0 && m_transport)
        m_transport->entriesAvailable(); // relay to peers that cannot reach the origin
    if (outcome->applied > 0)
        evaluateLinks();
    return m_store->cursors();
}

void Replica::checkSkew(const QString &origin, qint64 skewMs)
{
    Track &t = m_tracks[origin];
    t.clockSkewMs = skewMs;
    const bool alarmed = skewMs > m_config.clockSkewAlarmMs;
    if (alarmed && !t.skewAlarmed) {
        qCWarning(lcSync) << "clock skew alarm:" << origin << "is" << skewMs
                          << "ms ahead of this region's clock";
        emit clockSkewAlarm(origin, skewMs);
    }
    t.skewAlarmed = alarmed;
}

void Replica::peerAnnounced(const PeerAnnouncement &a)
{
    const qint64 now = m_clock->nowMs();
    const CursorVector mine = cursors();
    Track &t = m_tracks[a.regionId];
    t.lastContactMs = now;
    checkSkew(a.regionId, a.wallClockMs - now);
    if (a.schemaVersion != m_config.schemaVersion) {
        t.schemaMismatch = true;
        t.schemaDetail = u"%1 runs schema version %2, this region %3"_s.arg(a.regionId)
                                 .arg(a.schemaVersion)
                                 .arg(m_config.schemaVersion);
    } else if (t.schemaMismatch && t.schemaDetail.contains(u"runs schema version"_s)) {
        t.schemaMismatch = false;
        t.schemaDetail.clear();
    }
    for (auto it = a.heads.cbegin(); it != a.heads.cend(); ++it) {
        if (it.key() == m_config.regionId)
            continue;
        Track &o = m_tracks[it.key()];
        const quint64 applied = mine.value(it.key());
        if (it.value() > o.head && o.head <= applied && it.value() > applied)
            o.lastProgressMs = now; // a backlog starts now: the stall clock starts here
        o.head = std::max(o.head, it.value());
    }
    for (auto it = a.pendingSeq.cbegin(); it != a.pendingSeq.cend(); ++it) {
        Track &o = m_tracks[it.key()];
        o.pendingSeq = it.value();
        o.pendingHlc = a.pendingHlc.value(it.key());
    }
    // The origin's own log decides whether this replica can still catch up from it.
    const quint64 low = a.lowWater.value(a.regionId);
    const quint64 have = mine.value(a.regionId);
    if (low > have + 1 && a.heads.value(a.regionId) > have) {
        if (!t.needsResync)
            qCWarning(lcSync) << a.regionId << "no longer retains entries after" << have
                              << "; this region needs a resync";
        t.needsResync = true;
        t.resyncDetail = u"%1 retains its log from seq %2; this region has applied up to %3: "
                         "resync from a peer"_s.arg(a.regionId)
                                 .arg(low)
                                 .arg(have);
    } else {
        t.needsResync = false;
        t.resyncDetail.clear();
    }
    // Tombstone collection: everything the origin will ever write is above its watermark.
    if (mine.value(a.regionId) >= a.heads.value(a.regionId)) {
        t.safeHlc = std::max(t.safeHlc, a.hlcWatermark);
    } else if (t.watermarkCandidateHead == 0) {
        // Keep the first promise until it is reached: replacing it with each newer one would
        // never be reached by a replica that is always a little behind.
        t.watermarkCandidateHead = a.heads.value(a.regionId);
        t.watermarkCandidate = a.hlcWatermark;
    }
    evaluateLinks();
}

void Replica::peerAcknowledged(const QString &peer, const CursorVector &applied)
{
    CursorVector &acks = m_peerAcks[peer];
    for (auto it = applied.cbegin(); it != applied.cend(); ++it) {
        if (it.value() > acks.value(it.key())) {
            acks[it.key()] = it.value();
            m_peerAcksDirty = true;
        }
    }
}

void Replica::peerConnectionChanged(const QString &peer, bool connected, const QString &reason)
{
    Track &t = m_tracks[peer];
    t.connected = connected;
    t.disconnectReason = connected ? QString() : reason;
    if (connected)
        t.lastContactMs = m_clock->nowMs();
    evaluateLinks();
}

LinkStatus Replica::linkFor(const QString &origin, const Track &t, qint64 now) const
{
    LinkStatus s;
    s.origin = origin;
    s.replica = m_config.regionId;
    s.appliedSeq = cursors().value(origin);
    s.headSeq = std::max(t.head, s.appliedSeq);
    s.entriesBehind = s.headSeq - s.appliedSeq;
    s.lastContactMs = t.lastContactMs;
    s.clockSkewMs = t.clockSkewMs;
    if (s.entriesBehind > 0) {
        quint64 oldest = 0;
        if (t.pendingSeq == s.appliedSeq + 1 && t.pendingHlc > 0)
            oldest = t.pendingHlc;
        else if (t.lastAppliedHlc > 0)
            oldest = t.lastAppliedHlc;
        if (oldest > 0)
            s.secondsBehind = std::max<qint64>(0, now - HybridLogicalClock::physicalMs(oldest))
                              / 1000.0;
    }
    qint64 entries = 0;
    qint64 since = now;
    for (const auto &[at, n] : t.applyEvents) {
        if (at >= now - kRateWindowMs) {
            entries += n;
            since = std::min(since, at);
        }
    }
    s.applyRate = entries / (kRateWindowMs / 1000.0);
    if (t.schemaMismatch) {
        s.state = LinkState::SchemaMismatch;
        s.detail = t.schemaDetail;
    } else if (t.needsResync) {
        s.state = LinkState::NeedsResync;
        s.detail = t.resyncDetail;
    } else if (!t.connected) {
        s.state = LinkState::Disconnected;
        s.detail = t.disconnectReason.isEmpty() ? u"no connection to %1"_s.arg(origin)
                                                : t.disconnectReason;
    } else if (s.entriesBehind == 0) {
        s.state = LinkState::CaughtUp;
    } else if (now - t.lastProgressMs > m_config.stallTimeoutMs) {
        s.state = LinkState::Stalled;
        s.detail = u"%1 entries behind and no progress for %2 s"_s.arg(s.entriesBehind)
                           .arg((now - t.lastProgressMs) / 1000);
    } else {
        s.state = LinkState::Lagging;
    }
    return s;
}

QList<LinkStatus> Replica::links() const
{
    const qint64 now = m_clock->nowMs();
    QList<LinkStatus> out;
    QStringList origins = m_tracks.keys();
    origins.sort();
    for (const QString &origin : std::as_const(origins)) {
        if (origin == m_config.regionId)
            continue;
        out.append(linkFor(origin, m_tracks.value(origin), now));
    }
    return out;
}

void Replica::evaluateLinks()
{
    const qint64 now = m_clock->nowMs();
    for (auto it = m_tracks.begin(); it != m_tracks.end(); ++it) {
        if (it.key() == m_config.regionId)
            continue;
        auto &events = it->applyEvents;
        while (!events.empty() && events.front().first < now - kRateWindowMs)
            events.pop_front();
        const LinkStatus s = linkFor(it.key(), *it, now);
        const auto prev = m_reported.constFind(it.key());
        if (prev == m_reported.cend() || prev->state != s.state || prev->detail != s.detail) {
            m_reported.insert(it.key(), s);
            emit linkChanged(s);
        }
    }
}

void Replica::maintenance()
{
    if (!isOpen())
        return;
    ++m_tick;
    // Advance the clock with time even when this region writes nothing: the persisted HLC is
    // the watermark peers collect tombstones below, and an idle region's must not stand still.
    m_hlc.tick();
    // Said once when it starts failing (a full disk would otherwise log it every second) and
    // once when it works again.
    if (auto r = m_store->persistHlc(); !r) {
        if (!m_hlcPersistFailing)
            qCWarning(lcSync) << "cannot persist the HLC:" << r.error().message;
        m_hlcPersistFailing = true;
    } else if (m_hlcPersistFailing) {
        m_hlcPersistFailing = false;
        qCInfo(lcSync) << "the HLC is persisted again";
    }
    if (m_peerAcksDirty) {
        if (auto r = m_store->savePeerAcks(m_peerAcks); r)
            m_peerAcksDirty = false;
    }
    if (m_tick % kPruneEveryTicks == 0) {
        if (auto r = pruneLog(); !r)
            qCWarning(lcSync) << "log pruning failed:" << r.error().message;
        if (auto r = collectTombstones(); !r)
            qCWarning(lcSync) << "tombstone collection failed:" << r.error().message;
    }
    evaluateLinks();
}

SyncResult<int> Replica::pruneLog()
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    QStringList peers;
    for (const PeerConfig &p : std::as_const(m_config.peers))
        peers.append(p.regionId);
    return m_store->prune(m_peerAcks, peers, m_config.minLogRetentionMs, m_config.maxLogRetentionMs);
}

SyncResult<int> Replica::collectTombstones()
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    if (m_config.peers.isEmpty())
        return 0;
    quint64 below = m_hlc.current();
    for (const PeerConfig &p : std::as_const(m_config.peers))
        below = std::min(below, m_tracks.value(p.regionId).safeHlc);
    if (below == 0)
        return 0;
    return m_store->collectTombstones(below);
}

SyncResult<void> Replica::startResync(const QString &peer)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    if (m_resync || m_catchUpTimer.isActive())
        return syncError(SyncError::Code::InvalidArgument,
                         u"a resync is already running; cancel it first"_s);
    const auto it = std::find_if(m_config.peers.cbegin(),
                                 m_config.peers.cend(),
                                 [&](const PeerConfig &p) { return p.regionId == peer; });
    if (it == m_config.peers.cend())
        return syncError(SyncError::Code::InvalidArgument,
                         u"\"%1\" is not a configured peer of %2"_s.arg(peer, m_config.regionId));
    if (it->host.isEmpty() || it->port == 0)
        return syncError(SyncError::Code::InvalidArgument,
                         u"peer \"%1\" has no replication address to fetch a snapshot from: "
                         "configure its host and port (with NATS too)"_s.arg(peer));
    m_resyncPeer = peer;
    m_resyncFetchedFresh = false;
    qCInfo(lcSync) << m_config.regionId << "starts a resync from" << peer;
    startResyncSession(*it);
    return {};
}

void Replica::startResyncSession(const PeerConfig &peer)
{
    m_resync = new Internal::ResyncSession(m_config.regionId,
                                           peer,
                                           m_config.databasePath,
                                           m_config.connectionTimeoutMs,
                                           m_config.secret,
                                           m_config.tls,
                                           this);
    connect(m_resync, &Internal::ResyncSession::progress, this, &Replica::setResyncStatus);
    connect(m_resync, &Internal::ResyncSession::failed, this, [this] {
        m_resync->deleteLater();
        m_resync = nullptr;
    });
    connect(m_resync,
            &Internal::ResyncSession::verified,
            this,
            [this, peer](const QString &path, qint64 rows) {
                Internal::ResyncSession *session = m_resync;
                m_resync = nullptr;
                m_resyncRows = rows;
                auto swapped = swapIn(path, m_resyncFetchedFresh);
                if (!swapped && swapped.error().code == SyncError::Code::Stale) {
                    // A resumed snapshot made before writes of this region that its log has
                    // pruned since (every peer had them): a fresh snapshot holds them.
                    qCInfo(lcSync).noquote() << swapped.error().message;
                    session->discardFiles();
                    session->deleteLater();
                    m_resyncFetchedFresh = true;
                    ResyncProgress p = m_resyncStatus;
                    p.phase = ResyncProgress::Phase::Snapshot;
                    p.message = u"the resumed snapshot misses writes of this region; asking %1 "
                                "for a fresh one"_s.arg(peer.regionId);
                    setResyncStatus(p);
                    startResyncSession(peer);
                    return;
                }
                if (!swapped) {
                    session->discardFiles();
                    session->deleteLater();
                    ResyncProgress p = m_resyncStatus;
                    p.phase = ResyncProgress::Phase::Failed;
                    p.message = swapped.error().message;
                    setResyncStatus(p);
                    return;
                }
                session->discardFiles();
                session->deleteLater();
                ResyncProgress p = m_resyncStatus;
                p.phase = ResyncProgress::Phase::CatchUp;
                p.rows = rows;
                p.etaSeconds = -1;
                p.message = u"snapshot swapped in; catching up from the logs"_s;
                setResyncStatus(p);
                m_catchUpStartedMs = m_clock->nowMs();
                m_catchUpTimer.start();
            });
    m_resync->start();
}

void Replica::cancelResync()
{
    if (m_resync)
        m_resync->cancel();
}

void Replica::setResyncStatus(const ResyncProgress &p)
{
    m_resyncStatus = p;
    emit resyncProgress(p);
}

SyncResult<void> Replica::swapIn(const QString &snapshotPath, bool acceptLoss)
{
    const QString self = m_config.regionId;
    const QString dbPath = m_config.databasePath;
    const QString backup = dbPath + u".pre-resync"_s;
    // 1. Prepare the snapshot: it becomes this region's database, keeping this region's own
    //    conflict counters and journal; acknowledgements in it are the peer's, so drop them.
    quint64 snapshotSelfSeq = 0;
    {
        Internal::SqliteDb snap;
        if (auto r = snap.open(snapshotPath, false); !r)
            return r;
        QueryResult meta;
        if (auto r = snap.run(u"SELECT value FROM _meridian_meta WHERE key = 'schema_version'"_s,
                              {},
                              &meta);
            !r)
            return r.error();
        if (meta.rows.value(0).value(0).toInt() != m_config.schemaVersion)
            return syncError(SyncError::Code::Schema,
                             u"the snapshot has schema version %1, this region %2"_s
                                     .arg(meta.rows.value(0).value(0).toString())
                                     .arg(m_config.schemaVersion));
        QueryResult cur;
        if (auto r = snap.run(u"SELECT seq FROM _meridian_cursor WHERE origin = ?"_s, {self}, &cur);
            !r)
            return r.error();
        snapshotSelfSeq = quint64(cur.rows.value(0).value(0).toLongLong());
        QString attachPath = dbPath;
        attachPath.replace(u'\'', u"''"_s);
        if (auto r = snap.exec(
                    u"ATTACH '%1' AS old; BEGIN;"
                    "DELETE FROM main._meridian_conflicts;"
                    "INSERT INTO main._meridian_conflicts SELECT * FROM old._meridian_conflicts;"
                    "DELETE FROM main._meridian_overwritten;"
                    "INSERT INTO main._meridian_overwritten SELECT * FROM "
                    "old._meridian_overwritten;"
                    "DELETE FROM main._meridian_peer_ack;"
                    "INSERT OR REPLACE INTO main._meridian_meta VALUES('region_id', '%2');"
                    "COMMIT; DETACH old;"_s.arg(attachPath, self));
            !r)
            return r;
    }
    // 2. This region's own writes that the snapshot does not contain yet.
    QList<LogEntry> own;
    for (;;) {
        const quint64 after = own.isEmpty() ? snapshotSelfSeq : own.last().seq;
        auto batch = m_store->readLog(self, after, 1000, qint64(1) << 30);
        if (!batch)
            return batch.error();
        if (batch->isEmpty())
            break;
        own.append(*batch);
    }
    if (m_store->cursors().value(self) > (own.isEmpty() ? snapshotSelfSeq : own.last().seq)) {
        if (!acceptLoss) {
            return syncError(SyncError::Code::Stale,
                             u"the snapshot has this region's writes up to seq %1, and its log "
                             "no longer holds those after it (up to seq %2)"_s.arg(snapshotSelfSeq)
                                     .arg(m_store->cursors().value(self)));
        }
        qCWarning(lcSync) << "some of this region's writes after seq" << snapshotSelfSeq
                          << "were pruned before the resync and are lost";
    }
    // 3. Swap files: the old database is kept as <db>.pre-resync until the new one is open.
    const bool wasRunning = m_running;
    stop();
    m_store.reset();
    QFile::remove(backup);
    for (const QString &suffix : {u"-wal"_s, u"-shm"_s})
        QFile::remove(backup + suffix);
    if (!QFile::rename(dbPath, backup))
        return syncError(SyncError::Code::Storage, u"cannot move %1 aside"_s.arg(dbPath));
    for (const QString &suffix : {u"-wal"_s, u"-shm"_s}) {
        if (QFile::exists(dbPath + suffix))
            QFile::rename(dbPath + suffix, backup + suffix);
    }
    const auto restore = [&] {
        m_store.reset();
        QFile::remove(dbPath);
        for (const QString &suffix : {u"-wal"_s, u"-shm"_s})
            QFile::remove(dbPath + suffix);
        QFile::rename(backup, dbPath);
        for (const QString &suffix : {u"-wal"_s, u"-shm"_s}) {
            if (QFile::exists(backup + suffix))
                QFile::rename(backup + suffix, dbPath + suffix);
        }
        (void) open();
        if (wasRunning)
            (void) start();
    };
    if (!QFile::rename(snapshotPath, dbPath)) {
        restore();
        return syncError(SyncError::Code::Storage, u"cannot move the snapshot into place"_s);
    }
    if (auto r = open(); !r) {
        restore();
        return r;
    }
    if (!own.isEmpty()) {
        auto applied = m_store->apply(own);
        if (!applied) {
            restore();
            return applied.error();
        }
        qCInfo(lcSync) << "re-applied" << applied->applied
                       << "own writes the snapshot did not have yet";
    }
    QFile::remove(backup);
    for (const QString &suffix : {u"-wal"_s, u"-shm"_s})
        QFile::remove(backup + suffix);
    m_peerAcks.clear();
    m_peerAcksDirty = false;
    for (Track &t : m_tracks) {
        t.needsResync = false;
        t.resyncDetail.clear();
        t.schemaMismatch = false;
        t.schemaDetail.clear();
    }
    if (wasRunning) {
        if (auto r = start(); !r)
            return r;
    }
    qCInfo(lcSync) << m_config.regionId << "swapped in the snapshot; digest" << digest();
    return {};
}

void Replica::catchUpTick()
{
    const QList<LinkStatus> all = links();
    qint64 behind = 0;
    bool done = true;
    for (const LinkStatus &l : all) {
        behind += qint64(l.entriesBehind);
        if (l.state == LinkState::Lagging || l.state == LinkState::Stalled
            || l.state == LinkState::NeedsResync
            || (l.origin == m_resyncPeer && l.state != LinkState::CaughtUp))
            done = false;
    }
    ResyncProgress p = m_resyncStatus;
    p.rows = m_resyncRows;
    const bool timedOut = m_clock->nowMs() - m_catchUpStartedMs > 10LL * m_config.stallTimeoutMs;
    if (done || timedOut) {
        m_catchUpTimer.stop();
        p.phase = ResyncProgress::Phase::Done;
        p.message = done ? u"resync complete"_s
                         : u"snapshot in place; %1 entries still to catch up (see links)"_s.arg(
                                 behind);
        setResyncStatus(p);
        return;
    }
    p.message = u"%1 entries to catch up"_s.arg(behind);
    setResyncStatus(p);
}

void Replica::serveSnapshot(Internal::PeerConnection *connection, const QByteArray &request)
{
    auto *server = new Internal::SnapshotServer(
            connection,
            m_config.databasePath + u".snapshots"_s,
            // Runs on the snapshot server's worker thread: its own read-only connection.
            [database = m_config.databasePath](const QString &path) -> QString {
                return Internal::ReplicaStore::vacuumInto(database, path);
            },
            m_config.snapshotChunkBytes,
            this);
    server->handle(request);
}

} // namespace Meridian
