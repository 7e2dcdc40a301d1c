#include "core/sync/replica.h"
#include "core/sync/syncclock.h"
#include "synctestsupport.h"

#include <QDeadlineTimer>
#include <QDirIterator>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

using Test::ManualClock;

const QString kKvDdl = Test::kvTableDdl();

} // namespace

class tst_Resync final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void resyncAfterTruncation();
    void interruptedResyncResumes();
    void cancelledVerifyResumesAtTheEnd();
    void corruptPartialIsDiscarded();
    void clockSkewRaisesAlarm();

private:
    SyncConfig config(const QString &region);
    std::unique_ptr<Replica> make(const SyncConfig &c);
    void link(Replica *a, Replica *b);
    void truncatedScenario(int rows, int blobBytes);
    // Waits (bounded) until b's resync ends, then names how: done, failed or cancelled.
    QString resyncOutcome();

    std::unique_ptr<QTemporaryDir> m_dir;
    ManualClock m_clock;
    ManualClock m_ahead; // outlives the replicas that use it
    std::unique_ptr<Replica> m_a;
    std::unique_ptr<Replica> m_b;
};

void tst_Resync::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_Resync::cleanup()
{
    m_a.reset();
    m_b.reset();
    m_dir.reset();
}

SyncConfig tst_Resync::config(const QString &region)
{
    SyncConfig c;
    c.regionId = region;
    c.databasePath = m_dir->filePath(region + u".db"_s);
    c.durability = Durability::Normal;
    c.heartbeatIntervalMs = 50;
    c.connectionTimeoutMs = 2000;
    c.reconnectMinMs = 20;
    c.reconnectMaxMs = 200;
    c.maintenanceIntervalMs = 50;
    c.minLogRetentionMs = 0;
    c.maxLogRetentionMs = 60'000;
    c.clock = &m_clock;
    return c;
}

std::unique_ptr<Replica> tst_Resync::make(const SyncConfig &c)
{
    auto r = std::make_unique<Replica>(c);
    if (!r->open() || !r->registerTable(u"kv"_s, kKvDdl) || !r->start())
        return nullptr;
    return r;
}

void tst_Resync::link(Replica *a, Replica *b)
{
    a->setPeers({{b->regionId(), u"127.0.0.1"_s, b->replicationPort()}});
    b->setPeers({{a->regionId(), u"127.0.0.1"_s, a->replicationPort()}});
}

// a and b in sync; b goes away; a writes and then prunes its log past b's cursor (max
// retention); b writes a little on its own; b comes back and sees needs_resync.
void tst_Resync::truncatedScenario(int rows, int blobBytes)
{
    SyncConfig ca = config(u"a"_s);
    ca.snapshotChunkBytes = 16 * 1024;
    m_a = make(ca);
    m_b = make(config(u"b"_s));
    QVERIFY(m_a && m_b);
    link(m_a.get(), m_b.get());
    QVERIFY(m_a->execute(u"INSERT INTO kv VALUES('before', 'x', 0)"_s).ok());
    QTRY_COMPARE_WITH_TIMEOUT(m_b->digest(), m_a->digest(), 10000);

    m_b->stop();
    const QByteArray blob(blobBytes, 'z');
    for (int i = 0; i < rows; i += 100) {
        auto w = m_a->write([&](Transaction &tx) -> SyncResult<void> {
            for (int k = i; k < std::min(rows, i + 100); ++k) {
                auto r = tx.exec(u"INSERT INTO kv VALUES(?, ?, ?)"_s, {u"a%1"_s.arg(k), blob, k});
                if (!r)
                    return r.error();
            }
            return {};
        });
        QVERIFY(w.ok());
    }
    QVERIFY(m_b->execute(u"INSERT INTO kv VALUES('b-own-1', 'mine', 1)"_s).ok());
    QVERIFY(m_b->execute(u"INSERT INTO kv VALUES('b-own-2', 'mine', 2)"_s).ok());
    m_clock.m_now += 120'000; // everything in a's log is now past max retention
    auto pruned = m_a->pruneLog();
    QVERIFY(pruned.ok());
    QVERIFY(*pruned > 0);

    QVERIFY(m_b->start().ok());
    link(m_a.get(), m_b.get());
    QTRY_VERIFY_WITH_TIMEOUT(!m_b->links().isEmpty()
                                     && m_b->links().first().state == LinkState::NeedsResync,
                             10000);
    QVERIFY(m_b->links().first().detail.contains(u"resync"_s));
    QVERIFY(m_a->digest() != m_b->digest());
}

QString tst_Resync::resyncOutcome()
{
    auto ended = [this] {
        const auto phase = m_b->resyncStatus().phase;
        return phase == ResyncProgress::Phase::Done || phase == ResyncProgress::Phase::Failed
               || phase == ResyncProgress::Phase::Cancelled;
    };
    // qWait keeps both replicas' event loops (this thread) running the whole time.
    QDeadlineTimer deadline(20000);
    while (!ended() && !deadline.hasExpired())
        QTest::qWait(20);
    if (!ended())
        return u"still running after 20 s: "_s
               + ResyncProgress::phaseName(m_b->resyncStatus().phase);
    return ResyncProgress::phaseName(m_b->resyncStatus().phase);
}

void tst_Resync::resyncAfterTruncation()
{
    truncatedScenario(300, 64);
    if (QTest::currentTestFailed())
        return;
    QSignalSpy spy(m_b.get(), &Replica::resyncProgress);
    QVERIFY(!m_b->startResync(u"nobody"_s).ok());
    QVERIFY(m_b->startResync(u"a"_s).ok());
    QVERIFY(!m_b->startResync(u"a"_s).ok()); // one at a time
    QCOMPARE(resyncOutcome(), u"done"_s);
    QList<ResyncProgress::Phase> phases;
    for (const QList<QVariant> &args : spy) {
        const auto p = args.first().value<ResyncProgress>();
        if (phases.isEmpty() || phases.last() != p.phase)
            phases.append(p.phase);
    }
    QVERIFY(phases.contains(ResyncProgress::Phase::Snapshot));
    QVERIFY(phases.contains(ResyncProgress::Phase::Transfer));
    QVERIFY(phases.contains(ResyncProgress::Phase::Verify));
    QVERIFY(phases.contains(ResyncProgress::Phase::CatchUp));
    QCOMPARE(m_b->resyncStatus().rows, 303); // b's own rows had reached a already
    // b's own writes survived the swap and reached a; everything converges.
    QTRY_COMPARE_WITH_TIMEOUT(m_b->digest(), m_a->digest(), 10000);
    QCOMPARE(m_a->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 303);
    QCOMPARE(*m_b->recomputeDigest(), m_b->digest());
    QTRY_VERIFY_WITH_TIMEOUT(m_b->links().first().state == LinkState::CaughtUp, 10000);
    QVERIFY(!QFile::exists(m_b->config().databasePath + u".pre-resync"_s));
    QVERIFY(!QFile::exists(m_b->config().databasePath + u".resync.partial"_s));
    // Still a working replica in both directions.
    QVERIFY(m_b->execute(u"UPDATE kv SET value = 'after' WHERE key = 'a1'"_s).ok());
    QTRY_COMPARE_WITH_TIMEOUT(m_b->digest(), m_a->digest(), 10000);
}

void tst_Resync::interruptedResyncResumes()
{
    truncatedScenario(1500, 1024);
    if (QTest::currentTestFailed())
        return;
    const QString before = m_b->digest();
    QObject scope; // ends the connections below with this function
    bool cancelled = false;
    connect(m_b.get(), &Replica::resyncProgress, &scope, [&](const ResyncProgress &p) {
        if (!cancelled && p.phase == ResyncProgress::Phase::Transfer && p.bytesDone > 0
            && p.bytesDone < p.bytesTotal) {
            cancelled = true;
            m_b->cancelResync();
        }
    });
    QVERIFY(m_b->startResync(u"a"_s).ok());
    QCOMPARE(resyncOutcome(), u"cancelled"_s);
    // The old database is intact and usable.
    QCOMPARE(m_b->digest(), before);
    QVERIFY(m_b->execute(u"INSERT INTO kv VALUES('b-own-3', 'mine', 3)"_s).ok());
    QCOMPARE(m_b->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 4);
    const qint64 partial = QFileInfo(m_b->config().databasePath + u".resync.partial"_s).size();
    QVERIFY(partial > 0);
    // a applies b-own-3 and b prunes it from its log (every peer has it): the snapshot the
    // retry resumes was made before it, so that retry must fetch a fresh one instead of
    // losing the write here.
    QTRY_COMPARE_WITH_TIMEOUT(m_a->query(u"SELECT count(*) FROM kv WHERE key = 'b-own-3'"_s)
                                      ->rows.first()
                                      .first()
                                      .toInt(),
                              1,
                              10000);
    QTRY_COMPARE_WITH_TIMEOUT(m_b->query(u"SELECT count(*) FROM _meridian_log WHERE origin = 'b' "
                                         "AND seq = 3"_s)
                                      ->rows.first()
                                      .first()
                                      .toInt(),
                              0,
                              10000);

    qint64 firstTransferBytes = -1;
    connect(m_b.get(), &Replica::resyncProgress, &scope, [&](const ResyncProgress &p) {
        if (firstTransferBytes < 0 && p.phase == ResyncProgress::Phase::Transfer)
            firstTransferBytes = p.bytesDone;
    });
    QVERIFY(m_b->startResync(u"a"_s).ok());
    QCOMPARE(resyncOutcome(), u"done"_s);
    QCOMPARE(firstTransferBytes, partial); // resumed, not restarted
    QTRY_COMPARE_WITH_TIMEOUT(m_b->digest(), m_a->digest(), 10000);
    QCOMPARE(m_a->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 1504);
}

// Cancelled once every byte had arrived: the retry asks for nothing more than the end of the
// stream, and the checksum the server recorded when it first sent the file.
void tst_Resync::cancelledVerifyResumesAtTheEnd()
{
    truncatedScenario(600, 1024);
    if (QTest::currentTestFailed())
        return;
    QObject scope; // ends the connections below with this function
    bool cancelled = false;
    qint64 total = 0;
    connect(m_b.get(), &Replica::resyncProgress, &scope, [&](const ResyncProgress &p) {
        if (!cancelled && p.phase == ResyncProgress::Phase::Verify) {
            cancelled = true;
            total = p.bytesTotal;
            m_b->cancelResync();
        }
    });
    QVERIFY(m_b->startResync(u"a"_s).ok());
    QCOMPARE(resyncOutcome(), u"cancelled"_s);
    QVERIFY(total > 0);
    QCOMPARE(QFileInfo(m_b->config().databasePath + u".resync.partial"_s).size(), total);
    // The server recorded the checksum it computed while sending.
    QDirIterator recorded(m_dir->path(),
                          {u"*.db.blake2b"_s},
                          QDir::Files,
                          QDirIterator::Subdirectories);
    QVERIFY(recorded.hasNext());
    QCOMPARE(QFileInfo(recorded.next()).size(), 32);

    qint64 firstTransferBytes = -1;
    connect(m_b.get(), &Replica::resyncProgress, &scope, [&](const ResyncProgress &p) {
        if (firstTransferBytes < 0 && p.phase == ResyncProgress::Phase::Transfer)
            firstTransferBytes = p.bytesDone;
    });
    QVERIFY(m_b->startResync(u"a"_s).ok());
    QCOMPARE(resyncOutcome(), u"done"_s);
    QCOMPARE(firstTransferBytes, total);
    QTRY_COMPARE_WITH_TIMEOUT(m_b->digest(), m_a->digest(), 10000);
}

// A partial file damaged between attempts fails the checksum: it is discarded with a clear
// message, the old database stays, and the next attempt fetches the snapshot whole.
void tst_Resync::corruptPartialIsDiscarded()
{
    truncatedScenario(1500, 1024);
    if (QTest::currentTestFailed())
        return;
    const QString before = m_b->digest();
    QObject scope;
    bool cancelled = false;
    connect(m_b.get(), &Replica::resyncProgress, &scope, [&](const ResyncProgress &p) {
        if (!cancelled && p.phase == ResyncProgress::Phase::Transfer && p.bytesDone > 4096
            && p.bytesDone < p.bytesTotal) {
            cancelled = true;
            m_b->cancelResync();
        }
    });
    QVERIFY(m_b->startResync(u"a"_s).ok());
    QCOMPARE(resyncOutcome(), u"cancelled"_s);
    const QString partialPath = m_b->config().databasePath + u".resync.partial"_s;
    {
        QFile partial(partialPath);
        QVERIFY(partial.open(QIODevice::ReadWrite));
        QVERIFY(partial.size() > 4096);
        QVERIFY(partial.seek(4000));
        char byte = 0;
        QVERIFY(partial.getChar(&byte));
        QVERIFY(partial.seek(4000));
        QVERIFY(partial.putChar(char(byte ^ 0x5a)));
    }
    QVERIFY(m_b->startResync(u"a"_s).ok());
    QCOMPARE(resyncOutcome(), u"failed"_s);
    QVERIFY2(m_b->resyncStatus().message.contains(u"checksum mismatch"_s),
             qPrintable(m_b->resyncStatus().message));
    QVERIFY(!QFile::exists(partialPath));
    QCOMPARE(m_b->digest(), before);

    QVERIFY(m_b->startResync(u"a"_s).ok());
    QCOMPARE(resyncOutcome(), u"done"_s);
    QTRY_COMPARE_WITH_TIMEOUT(m_b->digest(), m_a->digest(), 10000);
}

void tst_Resync::clockSkewRaisesAlarm()
{
    m_ahead.m_now = m_clock.m_now + 10'000; // b's clock runs 10 s ahead
    m_a = make(config(u"a"_s));
    SyncConfig cb = config(u"b"_s);
    cb.clock = &m_ahead;
    m_b = make(cb);
    QVERIFY(m_a && m_b);
    QSignalSpy alarms(m_a.get(), &Replica::clockSkewAlarm);
    QVERIFY(m_b->execute(u"INSERT INTO kv VALUES('k', 'from-b', 1)"_s).ok());
    link(m_a.get(), m_b.get());
    QTRY_VERIFY_WITH_TIMEOUT(!alarms.isEmpty(), 10000);
    QCOMPARE(alarms.first().at(0).toString(), u"b"_s);
    QVERIFY(alarms.first().at(1).toLongLong() >= 9000);
    QTRY_COMPARE_WITH_TIMEOUT(m_a->digest(), m_b->digest(), 10000);
    // a's later write still wins over b's earlier one: the HLC moved past b's timestamp.
    QVERIFY(m_a->execute(u"UPDATE kv SET value = 'from-a' WHERE key = 'k'"_s).ok());
    QTRY_COMPARE_WITH_TIMEOUT(m_a->digest(), m_b->digest(), 10000);
    QCOMPARE(m_b->query(u"SELECT value FROM kv"_s)->rows.first().first().toString(), u"from-a"_s);
    QVERIFY(std::abs(m_a->links().first().clockSkewMs) >= 9000);
}

QTEST_GUILESS_MAIN(tst_Resync)
#include "tst_resync.moc"
