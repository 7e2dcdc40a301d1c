#include "core/sync/replica.h"
#include "synctestsupport.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {
const QString kKvDdl = Test::kvTableDdl();
}

class tst_CrashSafety final : public QObject
{
    Q_OBJECT

private slots:
    void killedMidWriteLoopLosesNothing();

private:
    std::unique_ptr<QProcess> spawn(const QString &db, quint16 peerPort, int writes, quint16 *port);
    void readAcks(QProcess *p, QHash<QString, quint64> *acked, QByteArray *buffer);
    quint64 m_appliedFromA = 0;
};

std::unique_ptr<QProcess> tst_CrashSafety::spawn(const QString &db,
                                                 quint16 peerPort,
                                                 int writes,
                                                 quint16 *port)
{
    auto p = std::make_unique<QProcess>();
    p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p->start(QStringLiteral(SYNCTOOL_PATH),
             {u"--region"_s,
              u"b"_s,
              u"--db"_s,
              db,
              u"--peer"_s,
              u"a=127.0.0.1:%1"_s.arg(peerPort),
              u"--writes"_s,
              QString::number(writes)});
    if (!p->waitForStarted(5000))
        return nullptr;
    QDeadlineTimer deadline(10000);
    while (!p->canReadLine() && !deadline.hasExpired())
        p->waitForReadyRead(100);
    const QByteArray line = p->readLine().trimmed();
    if (!line.startsWith("PORT "))
        return nullptr;
    *port = quint16(line.mid(5).toUInt());
    return p;
}

void tst_CrashSafety::readAcks(QProcess *p, QHash<QString, quint64> *acked, QByteArray *buffer)
{
    buffer->append(p->readAllStandardOutput());
    qsizetype nl;
    while ((nl = buffer->indexOf('\n')) >= 0) {
        const QList<QByteArray> parts = buffer->left(nl).split(' ');
        buffer->remove(0, nl + 1);
        if (parts.size() == 3 && parts[0] == "ACK")
            acked->insert(QString::fromUtf8(parts[1]), parts[2].toULongLong());
        if (parts.size() == 3 && parts[0] == "APPLIED" && parts[1] == "a")
            m_appliedFromA = std::max(m_appliedFromA, parts[2].toULongLong());
    }
}

void tst_CrashSafety::killedMidWriteLoopLosesNothing()
{
    QTemporaryDir dir;
    SyncConfig ca;
    ca.regionId = u"a"_s;
    ca.databasePath = dir.filePath(u"a.db"_s);
    ca.heartbeatIntervalMs = 100;
    ca.reconnectMinMs = 20;
    ca.reconnectMaxMs = 200;
    Replica a(ca);
    QVERIFY(a.open().ok());
    QVERIFY(a.registerTable(u"kv"_s, kKvDdl).ok());
    QVERIFY(a.start().ok());

    const QString bDb = dir.filePath(u"b.db"_s);
    quint16 bPort = 0;
    auto b = spawn(bDb, a.replicationPort(), 100000, &bPort);
    QVERIFY(b);
    a.setPeers({{u"b"_s, u"127.0.0.1"_s, bPort}});

    // a writes too, so b is applying remote batches when it dies.
    QHash<QString, quint64> acked;
    QByteArray buffer;
    int aWrites = 0;
    QDeadlineTimer deadline(20000);
    while (acked.size() < 300 && !deadline.hasExpired()) {
        QVERIFY(a.execute(u"INSERT INTO kv VALUES(?, 'from-a', 0)"_s, {u"a-%1"_s.arg(aWrites++)})
                        .ok());
        QTest::qWait(2);
        readAcks(b.get(), &acked, &buffer);
    }
    QVERIFY2(acked.size() >= 300, "synctool did not acknowledge enough writes");
    QVERIFY(a.cursors().value(u"b"_s) > 0); // replication was under way
    b->kill();                              // SIGKILL, mid write loop
    QVERIFY(b->waitForFinished(5000));
    readAcks(b.get(), &acked, &buffer); // acks printed before the kill count too
    quint64 maxAcked = 0;
    for (quint64 s : std::as_const(acked))
        maxAcked = std::max(maxAcked, s);

    // More writes at a while b is down.
    for (int i = 0; i < 50; ++i)
        QVERIFY(a.execute(u"INSERT INTO kv VALUES(?, 'from-a', 1)"_s, {u"a-%1"_s.arg(aWrites++)})
                        .ok());

    auto b2 = spawn(bDb, a.replicationPort(), 0, &bPort);
    QVERIFY(b2);
    a.setPeers({{u"b"_s, u"127.0.0.1"_s, bPort}});
    QTRY_VERIFY_WITH_TIMEOUT(a.cursors().value(u"b"_s) >= maxAcked, 20000);
    QTRY_VERIFY_WITH_TIMEOUT(!a.links().isEmpty() && a.links().first().state == LinkState::CaughtUp,
                             20000);
    // b catches up with a, then stops cleanly so its file can be inspected.
    m_appliedFromA = 0;
    QTRY_VERIFY_WITH_TIMEOUT((readAcks(b2.get(), &acked, &buffer),
                              m_appliedFromA >= a.cursors().value(u"a"_s)),
                             20000);
    b2->closeWriteChannel();
    QVERIFY(b2->waitForFinished(10000));
    Replica bView([&] {
        SyncConfig c;
        c.regionId = u"b"_s;
        c.databasePath = bDb;
        return c;
    }());
    QCOMPARE(b2->exitCode(), 0);
    QVERIFY(bView.open().ok());
    QVERIFY(bView.registerTable(u"kv"_s).ok());

    // No acknowledged write of b is lost, at b or at a.
    const quint64 bSeq = bView.cursors().value(u"b"_s);
    QVERIFY(bSeq >= maxAcked);
    for (auto it = acked.cbegin(); it != acked.cend(); ++it) {
        for (Replica *r : {&a, &bView}) {
            auto q = r->query(u"SELECT count(*) FROM kv WHERE key = ?"_s, {it.key()});
            QVERIFY(q.ok());
            QVERIFY2(q->rows.first().first().toInt() == 1, qPrintable(it.key()));
        }
    }
    // Nothing applied twice: b's log holds each of a's entries exactly once, contiguous up to
    // its cursor, and no write was counted as a conflict.
    auto log = bView.query(u"SELECT count(*), min(seq), max(seq) FROM _meridian_log "
                           "WHERE origin = 'a'"_s);
    QVERIFY(log.ok());
    const quint64 aCursorAtB = bView.cursors().value(u"a"_s);
    QCOMPARE(quint64(log->rows.first().at(0).toLongLong()), aCursorAtB);
    QCOMPARE(log->rows.first().at(1).toLongLong(), 1);
    QCOMPARE(quint64(log->rows.first().at(2).toLongLong()), aCursorAtB);
    QCOMPARE(aCursorAtB, a.cursors().value(u"a"_s));
    QVERIFY(bView.overwrittenCounters()->isEmpty());
    QVERIFY(a.overwrittenCounters()->isEmpty());
    QCOMPARE(*bView.recomputeDigest(), bView.digest());
    QCOMPARE(bView.digest(), a.digest());
}

QTEST_GUILESS_MAIN(tst_CrashSafety)
#include "tst_crashsafety.moc"
