// A link's state as operators see it (caught_up, lagging, stalled, disconnected), its backlog and
// its age, and the watermark that lets tombstones go, driven step by step: the test plays the
// transport, delivering announcements and entries by hand, with a clock it moves itself.
#include "core/sync/replica.h"
#include "core/sync/transporthost.h"
#include "synctestsupport.h"

#include <QTemporaryDir>
#include <QTest>

using namespace Meridian;
using namespace Qt::StringLiterals;

class tst_LinkState final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void statesFollowTheBacklog();
    void heartbeatsKeepAnIdleLinkCaughtUp();
    void tombstonesGoWhileTheReplicaStaysBehind();

private:
    std::unique_ptr<Replica> openReplica(const QString &region);
    // What the origin's transport would announce to the replica.
    void announce();
    LinkStatus link() const;
    void deliver(int entries);

    std::unique_ptr<QTemporaryDir> m_dir;
    Test::ManualClock m_clock;
    std::unique_ptr<Replica> m_origin;
    std::unique_ptr<Replica> m_replica;
};

void tst_LinkState::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_origin = openReplica(u"a"_s);
    m_replica = openReplica(u"b"_s);
    QVERIFY(m_origin && m_replica);
}

void tst_LinkState::cleanup()
{
    m_replica.reset();
    m_origin.reset();
    m_dir.reset();
}

std::unique_ptr<Replica> tst_LinkState::openReplica(const QString &region)
{
    SyncConfig c;
    c.regionId = region;
    c.databasePath = m_dir->filePath(region + u".db"_s);
    c.durability = Durability::Normal;
    c.clock = &m_clock;
    c.stallTimeoutMs = 5000;
    // b's peer is a (never dialled: the test is the transport); tombstone collection and log
    // pruning wait for the configured peers.
    c.peers = {{region == u"a"_s ? u"b"_s : u"a"_s, u"127.0.0.1"_s, 9}};
    auto r = std::make_unique<Replica>(c);
    if (!r->open().ok() || !r->registerTable(u"kv"_s, Test::kvTableDdl()).ok())
        return nullptr;
    return r;
}

void tst_LinkState::announce()
{
    TransportHost *origin = m_origin.get();
    PeerAnnouncement a;
    a.regionId = origin->regionId();
    a.schemaVersion = origin->schemaVersion();
    a.wallClockMs = origin->wallClockMs();
    a.hlcWatermark = origin->hlcWatermark();
    a.heads = origin->logHeads();
    a.lowWater = origin->logLowWater();
    const quint64 next = m_replica->cursors().value(a.regionId) + 1;
    if (next <= a.heads.value(a.regionId)) {
        a.pendingSeq.insert(a.regionId, next);
        a.pendingHlc.insert(a.regionId, origin->entryHlc(a.regionId, next).value_or(0));
    }
    static_cast<TransportHost *>(m_replica.get())->peerAnnounced(a);
}

LinkStatus tst_LinkState::link() const
{
    const QList<LinkStatus> links = m_replica->links();
    return links.size() == 1 ? links.first() : LinkStatus{};
}

void tst_LinkState::deliver(int entries)
{
    TransportHost *origin = m_origin.get();
    const quint64 after = m_replica->cursors().value(u"a"_s);
    auto batch = origin->readLog(u"a"_s, after, entries, 1 << 20);
    QVERIFY(batch.ok());
    QCOMPARE(batch->size(), entries);
    QVERIFY(static_cast<TransportHost *>(m_replica.get())->applyEntries(u"a"_s, *batch).ok());
}

void tst_LinkState::statesFollowTheBacklog()
{
    for (int i = 0; i < 3; ++i)
        QVERIFY(m_origin->execute(u"INSERT INTO kv VALUES(?, 'v', 0)"_s, {u"k%1"_s.arg(i)}).ok());
    auto *replica = static_cast<TransportHost *>(m_replica.get());
    replica->peerConnectionChanged(u"a"_s, true, {});
    announce();
    LinkStatus l = link();
    QCOMPARE(l.origin, u"a"_s);
    QCOMPARE(l.state, LinkState::Lagging);
    QCOMPARE(l.entriesBehind, 3u);
    QCOMPARE(l.secondsBehind, 0.0);

    // Heartbeats arrive, nothing is applied: the backlog ages, then the link is stalled.
    m_clock.m_now += 2000;
    announce();
    l = link();
    QCOMPARE(l.state, LinkState::Lagging);
    QCOMPARE(l.secondsBehind, 2.0);
    m_clock.m_now += 3000;
    announce();
    QCOMPARE(link().state, LinkState::Lagging); // exactly the stall timeout: not yet
    m_clock.m_now += 1;
    announce();
    l = link();
    QCOMPARE(l.state, LinkState::Stalled);
    QVERIFY2(l.detail.contains(u"3 entries behind"_s), qPrintable(l.detail));
    QCOMPARE(l.secondsBehind, 5.001);
    QCOMPARE(l.applyRate, 0.0);

    // Progress ends the stall; the age is now that of the oldest entry still missing.
    deliver(1);
    announce();
    l = link();
    QCOMPARE(l.state, LinkState::Lagging);
    QCOMPARE(l.entriesBehind, 2u);
    QCOMPARE(l.appliedSeq, 1u);
    QVERIFY(l.applyRate > 0);
    deliver(2);
    announce();
    l = link();
    QCOMPARE(l.state, LinkState::CaughtUp);
    QCOMPARE(l.entriesBehind, 0u);
    QCOMPARE(l.secondsBehind, 0.0);
    QCOMPARE(m_replica->digest(), m_origin->digest());

    // A lost connection says why, whatever the backlog.
    replica->peerConnectionChanged(u"a"_s, false, u"connection reset by peer"_s);
    l = link();
    QCOMPARE(l.state, LinkState::Disconnected);
    QCOMPARE(l.detail, u"connection reset by peer"_s);
}

void tst_LinkState::heartbeatsKeepAnIdleLinkCaughtUp()
{
    QVERIFY(m_origin->execute(u"INSERT INTO kv VALUES('k', 'v', 0)"_s).ok());
    auto *replica = static_cast<TransportHost *>(m_replica.get());
    replica->peerConnectionChanged(u"a"_s, true, {});
    deliver(1);
    announce();
    QCOMPARE(link().state, LinkState::CaughtUp);
    // An hour without writes, heartbeats only: still caught up, contact fresh, nothing behind.
    for (int i = 0; i < 60; ++i) {
        m_clock.m_now += 60'000;
        announce();
    }
    const LinkStatus l = link();
    QCOMPARE(l.state, LinkState::CaughtUp);
    QCOMPARE(l.lastContactMs, m_clock.m_now);
    QCOMPARE(l.secondsBehind, 0.0);
    // A new write the replica hears of but has not received: lagging, not stalled, at first.
    QVERIFY(m_origin->execute(u"INSERT INTO kv VALUES('k2', 'v', 0)"_s).ok());
    announce();
    QCOMPARE(link().state, LinkState::Lagging);
    m_clock.m_now += 5001;
    announce();
    QCOMPARE(link().state, LinkState::Stalled);
}

void tst_LinkState::tombstonesGoWhileTheReplicaStaysBehind()
{
    // a deletes a row; b applies it, but a keeps writing and every announcement finds b a few
    // entries behind. The tombstone must still go once b has caught up to what an earlier
    // announcement promised, not wait for a moment when b is fully caught up.
    QVERIFY(m_origin->execute(u"INSERT INTO kv VALUES('k', 'v', 0)"_s).ok());
    QVERIFY(m_origin->execute(u"DELETE FROM kv WHERE key = 'k'"_s).ok());
    auto *replica = static_cast<TransportHost *>(m_replica.get());
    replica->peerConnectionChanged(u"a"_s, true, {});
    const auto tombstones = [this]() {
        return m_replica->query(u"SELECT count(*) FROM _meridian_rowmeta WHERE deleted = 1"_s)
                ->rows.first()
                .first()
                .toInt();
    };
    for (int i = 0; i < 6; ++i) {
        m_clock.m_now += 100;
        QVERIFY(m_origin->execute(u"INSERT INTO kv VALUES(?, 'v', 0)"_s, {u"x%1"_s.arg(i)}).ok());
        announce(); // a's head is always one entry beyond what b has
        deliver(i == 0 ? 2 : 1);
        QVERIFY(m_replica->collectTombstones().ok());
        if (tombstones() == 0)
            break;
    }
    QCOMPARE(tombstones(), 0);
    QVERIFY(link().entriesBehind > 0); // b was never caught up meanwhile
}

QTEST_GUILESS_MAIN(tst_LinkState)
#include "tst_linkstate.moc"
