#include "core/sync/changeset.h"
#include "core/sync/replica.h"
#include "core/sync/syncclock.h"
#include "synctestsupport.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

#include <atomic>
#include <memory>

#include <unistd.h>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

using Test::ManualClock;

const QString kKvDdl = Test::kvTableDdl();

} // namespace

class tst_Replica final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void writeQueryAndDigest();
    void payloadEncodingAndApply();
    void rejectsBadInput();
    void bodyErrorRollsBack();
    void reopenKeepsState();
    void crashAfterCommitKeepsClock();
    void threeRegionsConverge();
    void lastWriterWinsAndJournal();
    void overwrittenJournalIsBounded();
    void lateUpdateDoesNotResurrect();
    void tombstonesOutliveAnAbsentRegion();
    void schemaMismatchIsReported();
    void diskFullRefusesWritesAndKeepsTheAcknowledged();
    void sharedSecretAuthenticatesPeers();
    void unauthenticatedConnectionLearnsNothing();

private:
    SyncConfig config(const QString &region);
    std::unique_ptr<Replica> openReplica(const QString &region, const SyncConfig *cfg = nullptr);
    void connectAll(const QList<Replica *> &replicas);
    // Gives every replica the others' current replication ports as its peers.
    void introduce(const QList<Replica *> &replicas);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_Replica::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_Replica::cleanup()
{
    m_dir.reset();
}

SyncConfig tst_Replica::config(const QString &region)
{
    return Test::quickConfig(m_dir->path(), region);
}

std::unique_ptr<Replica> tst_Replica::openReplica(const QString &region, const SyncConfig *cfg)
{
    auto r = std::make_unique<Replica>(cfg ? *cfg : config(region));
    auto opened = r->open();
    if (!opened) {
        qWarning() << opened.error().message;
        return nullptr;
    }
    if (auto reg = r->registerTable(u"kv"_s, kKvDdl); !reg) {
        qWarning() << reg.error().message;
        return nullptr;
    }
    return r;
}

void tst_Replica::connectAll(const QList<Replica *> &replicas)
{
    for (Replica *r : replicas)
        QVERIFY(r->start().ok());
    introduce(replicas);
}

void tst_Replica::introduce(const QList<Replica *> &replicas)
{
    for (Replica *r : replicas) {
        QList<PeerConfig> peers;
        for (Replica *o : replicas) {
            if (o != r)
                peers.append({o->regionId(), u"127.0.0.1"_s, o->replicationPort()});
        }
        r->setPeers(peers);
    }
}

void tst_Replica::writeQueryAndDigest()
{
    auto a = openReplica(u"a"_s);
    QVERIFY(a);
    const QString empty = a->digest();
    auto w = a->execute(u"INSERT INTO kv VALUES(?, ?, ?)"_s, {u"k1"_s, QByteArray("v1"), 1});
    QVERIFY2(w.ok(), qPrintable(w.ok() ? QString() : w.error().message));
    QCOMPARE(w->seq, 1u);
    QCOMPARE(w->rowsChanged, 1);
    auto q = a->query(u"SELECT value FROM kv WHERE key = ?"_s, {u"k1"_s});
    QVERIFY(q.ok());
    QCOMPARE(q->rows.size(), 1);
    QCOMPARE(q->rows.first().first().toByteArray(), QByteArray("v1"));
    QVERIFY(a->digest() != empty);
    QCOMPARE(*a->recomputeDigest(), a->digest());

    // The same content reached in another order has the same digest.
    auto b = openReplica(u"b"_s);
    QVERIFY(b);
    QVERIFY(b->execute(u"INSERT INTO kv VALUES('x', 'y', 2)"_s).ok());
    QVERIFY(b->execute(u"INSERT INTO kv VALUES(?, ?, ?)"_s, {u"k1"_s, QByteArray("v1"), 1}).ok());
    QVERIFY(b->execute(u"DELETE FROM kv WHERE key = 'x'"_s).ok());
    QCOMPARE(b->digest(), a->digest());
    QCOMPARE(*b->recomputeDigest(), b->digest());

    // A statement that changes nothing is not logged.
    auto none = a->execute(u"DELETE FROM kv WHERE key = 'missing'"_s);
    QVERIFY(none.ok());
    QCOMPARE(none->seq, 0u);
    QCOMPARE(a->cursors().value(u"a"_s), 1u);
}

// Local writes encode their log payload straight from the session's changeset; the payload
// must be exactly ChangeSet's encoding (the wire and log format), for every value type, several
// tables, updates and deletes, and applying it elsewhere must give the same content and digest.
void tst_Replica::payloadEncodingAndApply()
{
    auto a = openReplica(u"a"_s);
    QVERIFY(a);
    QVERIFY(a->registerTable(u"t2"_s,
                             u"CREATE TABLE t2(x INTEGER, y TEXT, r REAL, b BLOB, n, "
                             "PRIMARY KEY(y, x))"_s)
                    .ok());
    auto w = a->write([](Transaction &tx) -> SyncResult<void> {
        for (int i = 0; i < 20; ++i) {
            if (auto r = tx.exec(u"INSERT INTO kv VALUES(?, ?, ?)"_s,
                                 {u"k%1"_s.arg(i), QByteArray(i * 40, char('a' + i)), i});
                !r)
                return r.error();
            if (auto r = tx.exec(u"INSERT INTO t2 VALUES(?, ?, ?, ?, NULL)"_s,
                                 {-i * 1000003LL, u"ü%1"_s.arg(i), i / 3.0, QByteArray(i, '\0')});
                !r)
                return r.error();
        }
        return {};
    });
    QVERIFY2(w.ok(), qPrintable(w.ok() ? QString() : w.error().message));
    QCOMPARE(w->rowsChanged, 40);
    // Updates (read back), deletes and a row inserted then deleted in one transaction.
    w = a->write([](Transaction &tx) -> SyncResult<void> {
        for (const QString &sql : {u"UPDATE kv SET value = x'00ff' WHERE key IN ('k1', 'k2')"_s,
                                   u"DELETE FROM kv WHERE key = 'k3'"_s,
                                   u"UPDATE t2 SET n = 7.5, y = 'moved' WHERE x = -1000003"_s,
                                   u"INSERT INTO kv VALUES('gone', 'g', 0)"_s,
                                   u"DELETE FROM kv WHERE key = 'gone'"_s}) {
            if (auto r = tx.exec(sql); !r)
                return r.error();
        }
        return {};
    });
    QVERIFY2(w.ok(), qPrintable(w.ok() ? QString() : w.error().message));
    QCOMPARE(w->rowsChanged, 5); // 2 updates, 1 delete, the moved row's delete and insert
    auto log = a->readLog(u"a"_s, 0, 10, 1 << 30);
    QVERIFY(log.ok());
    QCOMPARE(log->size(), 2);
    for (const LogEntry &e : *log) {
        QVERIFY(e.checksumValid());
        const auto cs = Internal::ChangeSet::decode(e.payload);
        QVERIFY(cs.has_value());
        QCOMPARE(cs->encode(), e.payload);
    }
    QCOMPARE(*a->recomputeDigest(), a->digest());

    auto b = openReplica(u"b"_s);
    QVERIFY(b);
    QVERIFY(b->registerTable(u"t2"_s,
                             u"CREATE TABLE t2(x INTEGER, y TEXT, r REAL, b BLOB, n, "
                             "PRIMARY KEY(y, x))"_s)
                    .ok());
    QVERIFY(b->applyEntries(u"a"_s, *log).ok());
    QCOMPARE(b->digest(), a->digest());
    QCOMPARE(*b->recomputeDigest(), a->digest());
    QCOMPARE(b->query(u"SELECT count(*) FROM t2 WHERE y = 'moved' AND n = 7.5"_s)
                     ->rows.first()
                     .first()
                     .toInt(),
             1);
}

void tst_Replica::rejectsBadInput()
{
    SyncConfig bad = config(u"bad region"_s);
    Replica r(bad);
    auto opened = r.open();
    QVERIFY(!opened.ok());
    QVERIFY(opened.error().message.contains(u"region id"_s));

    auto a = openReplica(u"a"_s);
    QVERIFY(a);
    auto noPk = a->registerTable(u"nopk"_s, u"CREATE TABLE nopk(a, b)"_s);
    QVERIFY(!noPk.ok());
    QVERIFY(noPk.error().message.contains(u"PRIMARY KEY"_s));
    QVERIFY(!a->registerTable(u"_meridian_log"_s).ok());
    QVERIFY(!a->registerTable(u"missing"_s).ok());

    const QString before = a->digest();
    QVERIFY(!a->execute(u"DROP TABLE kv"_s).ok());
    QVERIFY(!a->execute(u"DELETE FROM _meridian_log"_s).ok());
    QVERIFY(!a->execute(u"COMMIT"_s).ok());
    QVERIFY(!a->execute(u"INSERT INTO kv VALUES(1)"_s).ok());
    QVERIFY(!a->execute(u"INSERT INTO kv VALUES(?, ?, ?)"_s, {1}).ok());
    QCOMPARE(a->digest(), before);
    QCOMPARE(a->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 0);

    // A database file belongs to one region.
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('k', 'v', 0)"_s).ok());
    a.reset();
    SyncConfig other = config(u"b"_s);
    other.databasePath = config(u"a"_s).databasePath;
    Replica wrong(other);
    auto wrongOpen = wrong.open();
    QVERIFY(!wrongOpen.ok());
    QVERIFY(wrongOpen.error().message.contains(u"belongs to region"_s));
}

void tst_Replica::bodyErrorRollsBack()
{
    auto a = openReplica(u"a"_s);
    QVERIFY(a);
    auto w = a->write([](Transaction &tx) -> SyncResult<void> {
        if (auto r = tx.exec(u"INSERT INTO kv VALUES('a', 'b', 1)"_s); !r)
            return r.error();
        return syncError(SyncError::Code::InvalidArgument, u"changed my mind"_s);
    });
    QVERIFY(!w.ok());
    QCOMPARE(w.error().message, u"changed my mind"_s);
    QCOMPARE(a->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 0);
    QCOMPARE(a->cursors().value(u"a"_s), 0u);
    QCOMPARE(a->query(u"SELECT count(*) FROM _meridian_log"_s)->rows.first().first().toInt(), 0);
}

void tst_Replica::reopenKeepsState()
{
    quint64 hlc = 0;
    QString digest;
    {
        auto a = openReplica(u"a"_s);
        QVERIFY(a);
        for (int i = 0; i < 5; ++i)
            QVERIFY(a->execute(u"INSERT INTO kv VALUES(?, 'v', 0)"_s, {i}).ok());
        hlc = a->currentHlc();
        digest = a->digest();
    }
    auto a = openReplica(u"a"_s);
    QVERIFY(a);
    QCOMPARE(a->digest(), digest);
    QCOMPARE(a->cursors().value(u"a"_s), 5u);
    QVERIFY(a->currentHlc() >= hlc);
    auto w = a->execute(u"INSERT INTO kv VALUES('n', 'v', 0)"_s);
    QCOMPARE(w->seq, 6u);
    QVERIFY(w->hlc > hlc);
}

// A local commit persists its HLC only in the own cursor row (not in the `hlc` meta row). The
// files copied while the replica is open, between two writes, are what a SIGKILL leaves: opened
// again, the clock, the watermark, the sequence and the digest must all carry on.
void tst_Replica::crashAfterCommitKeepsClock()
{
    const QString crashed = m_dir->filePath(u"crashed.db"_s);
    WriteReceipt last;
    QString digest;
    {
        auto a = openReplica(u"a"_s);
        QVERIFY(a);
        for (int i = 0; i < 5; ++i) {
            auto w = a->execute(u"INSERT INTO kv VALUES(?, 'v', 0)"_s, {i});
            QVERIFY(w.ok());
            last = *w;
        }
        digest = a->digest();
        const QString db = m_dir->filePath(u"a.db"_s);
        QVERIFY(QFile::copy(db, crashed));
        QVERIFY(QFile::copy(db + u"-wal"_s, crashed + u"-wal"_s));
    }
    SyncConfig c = config(u"a"_s);
    c.databasePath = crashed;
    auto a = openReplica(u"a"_s, &c);
    QVERIFY(a);
    QCOMPARE(a->cursors().value(u"a"_s), 5u);
    QCOMPARE(a->digest(), digest);
    QCOMPARE(*a->recomputeDigest(), digest);
    QVERIFY(a->hlcWatermark() >= last.hlc);
    QVERIFY(a->currentHlc() >= last.hlc);
    auto w = a->execute(u"INSERT INTO kv VALUES('n', 'v', 0)"_s);
    QVERIFY(w.ok());
    QCOMPARE(w->seq, 6u);
    QVERIFY(w->hlc > last.hlc);
}

void tst_Replica::threeRegionsConverge()
{
    auto a = openReplica(u"a"_s);
    auto b = openReplica(u"b"_s);
    auto c = openReplica(u"c"_s);
    QVERIFY(a && b && c);
    connectAll({a.get(), b.get(), c.get()});
    for (int i = 0; i < 20; ++i) {
        Replica *r = (i % 3 == 0) ? a.get() : (i % 3 == 1) ? b.get() : c.get();
        QVERIFY(r->execute(u"INSERT OR REPLACE INTO kv VALUES(?, ?, ?)"_s,
                           {u"k%1"_s.arg(i % 7), QByteArray::number(i), i})
                        .ok());
    }
    QTRY_VERIFY_WITH_TIMEOUT(a->digest() == b->digest() && b->digest() == c->digest(), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (Replica *r : {a.get(), b.get(), c.get()}) {
                    for (const LinkStatus &l : r->links()) {
                        if (l.state != LinkState::CaughtUp)
                            return false;
                    }
                    if (r->links().size() != 2)
                        return false;
                }
                return true;
            }(),
            10000);
    QCOMPARE(*a->recomputeDigest(), a->digest());
    QCOMPARE(*c->recomputeDigest(), c->digest());
    QCOMPARE(a->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 7);
}

void tst_Replica::lastWriterWinsAndJournal()
{
    ManualClock clockA, clockB;
    clockB.m_now = clockA.m_now + 1000; // b writes later in HLC terms
    SyncConfig ca = config(u"a"_s);
    ca.clock = &clockA;
    SyncConfig cb = config(u"b"_s);
    cb.clock = &clockB;
    auto a = openReplica(u"a"_s, &ca);
    auto b = openReplica(u"b"_s, &cb);
    QVERIFY(a && b);
    // Concurrent writes to the same key before the regions talk.
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('k', 'from-a', 1)"_s).ok());
    QVERIFY(b->execute(u"INSERT INTO kv VALUES('k', 'from-b', 2)"_s).ok());
    connectAll({a.get(), b.get()});
    QTRY_COMPARE_WITH_TIMEOUT(a->digest(), b->digest(), 10000);
    QCOMPARE(a->query(u"SELECT value FROM kv"_s)->rows.first().first().toByteArray(),
             QByteArray("from-b"));
    for (Replica *r : {a.get(), b.get()}) {
        auto counters = r->overwrittenCounters();
        QVERIFY(counters.ok());
        QCOMPARE(counters->size(), 1);
        QCOMPARE(counters->first().table, u"kv"_s);
        QCOMPARE(counters->first().region, u"a"_s);
        QCOMPARE(counters->first().count, 1);
        auto journal = r->overwrittenJournal(10);
        QVERIFY(journal.ok());
        QCOMPARE(journal->size(), 1);
        QCOMPARE(journal->first().loserOrigin, u"a"_s);
        QCOMPARE(journal->first().winnerOrigin, u"b"_s);
        QCOMPARE(journal->first().loserRow.value(u"value"_s).toString(), u"from-a"_s);
    }
    // A sequential update (b saw a's value) is not a conflict.
    QVERIFY(a->execute(u"UPDATE kv SET value = 'seq' WHERE key = 'k'"_s).ok());
    QTRY_COMPARE_WITH_TIMEOUT(a->digest(), b->digest(), 10000);
    QCOMPARE(b->overwrittenCounters()->first().count, 1);
}

void tst_Replica::overwrittenJournalIsBounded()
{
    // Five conflicts against a journal of three: the counter has all five, the journal the
    // newest three.
    ManualClock clockA, clockB;
    clockB.m_now = clockA.m_now + 1000;
    SyncConfig ca = config(u"a"_s);
    ca.clock = &clockA;
    ca.overwrittenJournalLimit = 3;
    SyncConfig cb = config(u"b"_s);
    cb.clock = &clockB;
    cb.overwrittenJournalLimit = 3;
    auto a = openReplica(u"a"_s, &ca);
    auto b = openReplica(u"b"_s, &cb);
    QVERIFY(a && b);
    for (int i = 0; i < 5; ++i) {
        QVERIFY(a->execute(u"INSERT INTO kv VALUES(?, 'from-a', ?)"_s, {u"k%1"_s.arg(i), i}).ok());
        QVERIFY(b->execute(u"INSERT INTO kv VALUES(?, 'from-b', ?)"_s, {u"k%1"_s.arg(i), i}).ok());
    }
    connectAll({a.get(), b.get()});
    QTRY_VERIFY_WITH_TIMEOUT(a->digest() == b->digest() && !a->overwrittenCounters()->isEmpty()
                                     && a->overwrittenCounters()->first().count == 5,
                             10000);
    for (Replica *r : {a.get(), b.get()}) {
        QCOMPARE(r->overwrittenCounters()->first().count, 5);
        auto journal = r->overwrittenJournal(10);
        QVERIFY(journal.ok());
        QCOMPARE(journal->size(), 3);
        QSet<QString> keys;
        for (const auto &entry : *journal) {
            QCOMPARE(entry.loserOrigin, u"a"_s);
            keys.insert(entry.loserRow.value(u"key"_s).toString());
        }
        QCOMPARE(keys, (QSet<QString>{u"k2"_s, u"k3"_s, u"k4"_s}));
    }
}

void tst_Replica::lateUpdateDoesNotResurrect()
{
    ManualClock clockA, clockB;
    clockB.m_now = clockA.m_now + 1000;
    SyncConfig ca = config(u"a"_s);
    ca.clock = &clockA;
    SyncConfig cb = config(u"b"_s);
    cb.clock = &clockB;
    auto a = openReplica(u"a"_s, &ca);
    auto b = openReplica(u"b"_s, &cb);
    QVERIFY(a && b);
    QVERIFY(b->execute(u"INSERT INTO kv VALUES('k', 'v', 1)"_s).ok());
    QVERIFY(b->execute(u"DELETE FROM kv WHERE key = 'k'"_s).ok());
    // a's older insert of the same key arrives after the delete: the tombstone wins.
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('k', 'old', 0)"_s).ok());
    connectAll({a.get(), b.get()});
    QTRY_COMPARE_WITH_TIMEOUT(a->digest(), b->digest(), 10000);
    QCOMPARE(a->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 0);
    QCOMPARE(b->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 0);
}

// A delete's tombstone must stay while any region may still send an older write of the row,
// and be collected once every region has moved past it.
void tst_Replica::tombstonesOutliveAnAbsentRegion()
{
    auto a = openReplica(u"a"_s);
    auto b = openReplica(u"b"_s);
    auto c = openReplica(u"c"_s);
    QVERIFY(a && b && c);
    connectAll({a.get(), b.get(), c.get()});
    const auto tombstones = [](Replica *r) {
        return r->query(u"SELECT count(*) FROM _meridian_rowmeta WHERE deleted = 1"_s)
                ->rows.first()
                .first()
                .toInt();
    };
    const auto rows = [](Replica *r) {
        return r->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt();
    };
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('k', 'v', 1)"_s).ok());
    QTRY_VERIFY_WITH_TIMEOUT(rows(b.get()) == 1 && rows(c.get()) == 1, 10000);

    c->stop(); // c is away: it could still hold an older write of 'k' it has not sent
    const auto lostC = [](Replica *r) {
        for (const LinkStatus &l : r->links()) {
            if (l.origin == u"c"_s)
                return l.state == LinkState::Disconnected;
        }
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(lostC(a.get()) && lostC(b.get()), 10000);
    QVERIFY(a->execute(u"DELETE FROM kv WHERE key = 'k'"_s).ok());
    QTRY_COMPARE_WITH_TIMEOUT(rows(b.get()), 0, 10000);
    // Ten maintenance rounds (100 ms each) would have collected it without the rule.
    for (int round = 0; round < 3; ++round) {
        QTest::qWait(100); // let announcements and maintenance run; the checks below are exact
        QCOMPARE(a->collectTombstones().value(), 0);
        QCOMPARE(b->collectTombstones().value(), 0);
    }
    QCOMPARE(tombstones(a.get()), 1);
    QCOMPARE(tombstones(b.get()), 1);

    // c returns on a new port, learns the delete, and its clock passes the tombstone.
    QVERIFY(c->start().ok());
    introduce({a.get(), b.get(), c.get()});
    QTRY_COMPARE_WITH_TIMEOUT(rows(c.get()), 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(tombstones(a.get()) == 0 && tombstones(b.get()) == 0
                                     && tombstones(c.get()) == 0,
                             20000);
    QCOMPARE(a->digest(), c->digest());
    QCOMPARE(b->digest(), c->digest());
}

void tst_Replica::schemaMismatchIsReported()
{
    SyncConfig cb = config(u"b"_s);
    cb.schemaVersion = 2;
    auto a = openReplica(u"a"_s);
    auto b = openReplica(u"b"_s, &cb);
    QVERIFY(a && b);
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('k', 'v', 1)"_s).ok());
    connectAll({a.get(), b.get()});
    QTRY_VERIFY_WITH_TIMEOUT(!b->links().isEmpty()
                                     && b->links().first().state == LinkState::SchemaMismatch,
                             10000);
    QTRY_VERIFY_WITH_TIMEOUT(!a->links().isEmpty()
                                     && a->links().first().state == LinkState::SchemaMismatch,
                             10000);
    QVERIFY(b->links().first().detail.contains(u"schema version"_s));
    QCOMPARE(b->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt(), 0);
}

// A full disk must refuse the write with a clear error, lose nothing acknowledged, leave no gap
// in the log (a peer waits for every sequence number), and recover once there is room again.
// Needs root to mount a small tmpfs; skipped elsewhere.
void tst_Replica::diskFullRefusesWritesAndKeepsTheAcknowledged()
{
    const QString mountPoint = m_dir->filePath(u"small"_s);
    QVERIFY(QDir().mkpath(mountPoint));
    auto mount = [&](const QString &options) {
        return QProcess::execute(u"mount"_s,
                                 {u"-t"_s, u"tmpfs"_s, u"-o"_s, options, u"tmpfs"_s, mountPoint})
               == 0;
    };
    if (::geteuid() != 0 || !mount(u"size=1m"_s))
        QSKIP("needs root and permission to mount a tmpfs");
    const auto unmount = qScopeGuard([&] {
        QProcess::execute(u"umount"_s, {u"-l"_s, mountPoint});
    });

    SyncConfig c = config(u"a"_s);
    c.databasePath = mountPoint + u"/a.db"_s;
    c.durability = Durability::Full;
    auto a = openReplica(u"a"_s, &c);
    QVERIFY(a);
    const QByteArray value(32 * 1024, 'v');
    QStringList acknowledged;
    quint64 lastSeq = 0;
    std::optional<SyncError> refused;
    for (int i = 0; i < 200 && !refused; ++i) {
        const QString key = u"k%1"_s.arg(i);
        auto w = a->execute(u"INSERT INTO kv VALUES(?, ?, ?)"_s, {key, value, i});
        if (w) {
            acknowledged.append(key);
            lastSeq = w->seq;
        } else {
            refused = w.error();
        }
    }
    QVERIFY2(refused, "1 MiB never filled up");
    QVERIFY(!acknowledged.isEmpty());
    QCOMPARE(refused->code, SyncError::Code::Storage);
    QVERIFY2(refused->message.contains(u"full"_s), qPrintable(refused->message));
    const auto count = a->query(u"SELECT count(*) FROM kv"_s);
    QVERIFY(count.ok());
    QCOMPARE(count->rows.first().first().toInt(), acknowledged.size());

    // Maintenance persists the clock every 100 ms here, and fails while the disk is full: it
    // says so once, not every time.
    static std::atomic<int> clockWarnings{0};
    static QtMessageHandler previous = nullptr;
    clockWarnings = 0;
    previous = qInstallMessageHandler(
            [](QtMsgType type, const QMessageLogContext &context, const QString &message) {
                if (message.contains(u"cannot persist the HLC"_s))
                    ++clockWarnings;
                if (previous)
                    previous(type, context, message);
            });
    const auto restoreHandler = qScopeGuard([] { qInstallMessageHandler(previous); });
    QVERIFY(a->start().ok());
    QTRY_VERIFY_WITH_TIMEOUT(clockWarnings.load() >= 1, 5000);
    QTest::qWait(500); // five more maintenance rounds, still full: the span observed
    QCOMPARE(clockWarnings.load(), 1);

    // Room again: the next write is the next sequence number, with no hole for the refused one.
    QVERIFY(mount(u"remount,size=16m"_s));
    auto next = a->execute(u"INSERT INTO kv VALUES('after', 'x', 0)"_s);
    QVERIFY2(next.ok(), qPrintable(next.ok() ? QString() : next.error().message));
    QCOMPARE(next->seq, lastSeq + 1);

    // Everything acknowledged is there after a reopen, and the digest still matches the rows.
    a.reset();
    a = openReplica(u"a"_s, &c);
    QVERIFY(a);
    const auto after = a->query(u"SELECT count(*) FROM kv"_s);
    QVERIFY(after.ok());
    QCOMPARE(after->rows.first().first().toInt(), acknowledged.size() + 1);
    QCOMPARE(*a->recomputeDigest(), a->digest());
    auto log = a->readLog(u"a"_s, 0, 1000, 1 << 30);
    QVERIFY(log.ok());
    QCOMPARE(quint64(log->size()), lastSeq + 1);
    for (qsizetype i = 0; i < log->size(); ++i)
        QCOMPARE(log->at(i).seq, quint64(i + 1));
}

// With a cluster secret, regions that share it replicate; one with another secret or none gets
// nothing from them and gives them nothing, and its link says why.
void tst_Replica::sharedSecretAuthenticatesPeers()
{
    const QByteArray secret = "0123456789abcdef-cluster-secret";
    SyncConfig ca = config(u"a"_s);
    SyncConfig cb = config(u"b"_s);
    SyncConfig cx = config(u"x"_s); // another secret
    SyncConfig cn = config(u"n"_s); // none
    ca.secret = cb.secret = secret;
    cx.secret = "fedcba9876543210-another-secret";
    auto a = openReplica(u"a"_s, &ca);
    auto b = openReplica(u"b"_s, &cb);
    auto x = openReplica(u"x"_s, &cx);
    auto n = openReplica(u"n"_s, &cn);
    QVERIFY(a && b && x && n);
    QVERIFY(x->execute(u"INSERT INTO kv VALUES('from-x', 'x', 0)"_s).ok());
    QVERIFY(n->execute(u"INSERT INTO kv VALUES('from-n', 'n', 0)"_s).ok());
    connectAll({a.get(), b.get(), x.get(), n.get()});

    QVERIFY(a->execute(u"INSERT INTO kv VALUES('from-a', 'a', 0)"_s).ok());
    QTRY_VERIFY_WITH_TIMEOUT(a->digest() == b->digest(), 10000);
    // Every side has dialled every other several times by now (reconnects every 20-200 ms).
    QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const LinkStatus &l : a->links()) {
                    if ((l.origin == u"x"_s || l.origin == u"n"_s)
                        && l.state != LinkState::Disconnected)
                        return false;
                }
                return a->links().size() == 3;
            }(),
            10000);
    const auto count = [](Replica *r) {
        return r->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt();
    };
    QCOMPARE(count(a.get()), 1);
    QCOMPARE(count(b.get()), 1);
    QCOMPARE(count(x.get()), 1); // only its own row
    QCOMPARE(count(n.get()), 1);
    QVERIFY(a->cursors().value(u"x"_s) == 0 && a->cursors().value(u"n"_s) == 0);
    QVERIFY(x->cursors().value(u"a"_s) == 0 && n->cursors().value(u"a"_s) == 0);
    for (const LinkStatus &l : a->links()) {
        if (l.origin == u"x"_s || l.origin == u"n"_s)
            QVERIFY2(l.detail.contains(u"authenticat"_s) || l.detail.contains(u"secret"_s),
                     qPrintable(l.origin + u": "_s + l.detail));
    }
}

// A connection that does not prove the secret is told nothing (not even the region's
// announcement) and is dropped when it tries to speak the protocol.
void tst_Replica::unauthenticatedConnectionLearnsNothing()
{
    SyncConfig ca = config(u"a"_s);
    ca.secret = "0123456789abcdef-cluster-secret";
    ca.connectionTimeoutMs = 60000; // so that only the handshake rules can close a connection
    auto a = openReplica(u"a"_s, &ca);
    QVERIFY(a);
    QVERIFY(a->start().ok());
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('k', 'v', 0)"_s).ok());
    QTcpSocket socket;
    QByteArray received;
    connect(&socket, &QTcpSocket::readyRead, &socket, [&] { received += socket.readAll(); });
    socket.connectToHost(u"127.0.0.1"_s, a->replicationPort());
    QTRY_VERIFY_WITH_TIMEOUT(received.size() >= 5, 5000);
    QCOMPARE(quint8(received.at(4)), quint8(10)); // AuthChallenge, and nothing about the data
    QCOMPARE(qFromBigEndian<quint32>(received.constData()), 17u);
    // Asking for a snapshot without answering the challenge closes the connection.
    socket.write(QByteArray("\x00\x00\x00\x02\x06\x00", 6));
    QTRY_COMPARE_WITH_TIMEOUT(socket.state(), QAbstractSocket::UnconnectedState, 5000);
    received += socket.readAll();
    QCOMPARE(received.size(), 5 + 16); // the challenge only

    // Nor may it make the region buffer a large frame before proving anything.
    QTcpSocket big;
    big.connectToHost(u"127.0.0.1"_s, a->replicationPort());
    QVERIFY(big.waitForConnected(5000));
    big.write(QByteArray("\x01\x00\x00\x00\x02", 5)); // a 16 MiB batch announced
    QTRY_COMPARE_WITH_TIMEOUT(big.state(), QAbstractSocket::UnconnectedState, 5000);
}

QTEST_GUILESS_MAIN(tst_Replica)
#include "tst_replica.moc"
