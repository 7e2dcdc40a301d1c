#include "core/sync/replica.h"
#include "core/sync/transport.h"
#include "core/sync/transporthost.h"
#include "synctestsupport.h"

#include <QHash>
#include <QRandomGenerator>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

const QString kKvDdl = Test::kvTableDdl();

class ChaosNetwork;

// A transport over an in-process "network" that delays, duplicates, reorders and partitions
// deliveries, so the replica's idempotent, order-independent apply is exercised hard.
class ChaosTransport final : public Transport
{
public:
    ChaosTransport(TransportHost *host, QObject *parent, ChaosNetwork *net);
    ~ChaosTransport() override;
    SyncResult<void> start() override;
    void stop() override;
    void setPeers(const QList<PeerConfig> &) override {}
    void entriesAvailable() override {}
    QStringList connectedPeers() const override { return {}; }
    TransportHost *endpoint() const { return host(); }

private:
    ChaosNetwork *m_net;
};

class ChaosNetwork final : public QObject
{
public:
    explicit ChaosNetwork(quint32 seed)
        : m_rng(seed)
    {
        m_timer.setInterval(5);
        connect(&m_timer, &QTimer::timeout, this, &ChaosNetwork::tick);
        m_timer.start();
    }

    void attach(ChaosTransport *t) { m_nodes.insert(t->endpoint()->regionId(), t); }
    void detach(ChaosTransport *t) { m_nodes.remove(m_nodes.key(t)); }
    void cut(const QString &a, const QString &b, bool cut)
    {
        for (const auto &[x, y] : {std::pair{a, b}, std::pair{b, a}}) {
            if (cut)
                m_cut.insert(x + u'>' + y);
            else
                m_cut.remove(x + u'>' + y);
            if (ChaosTransport *t = m_nodes.value(y))
                t->endpoint()->peerConnectionChanged(x, !cut, cut ? u"partitioned"_s : QString());
        }
    }
    void healAll()
    {
        const QStringList ids = m_nodes.keys();
        for (const QString &a : ids) {
            for (const QString &b : ids) {
                if (a != b)
                    cut(a, b, false);
            }
        }
    }
    QRandomGenerator &rng() { return m_rng; }
    int delivered = 0;
    int duplicatesSent = 0;

private:
    void tick()
    {
        const QStringList ids = m_nodes.keys();
        for (const QString &src : ids) {
            for (const QString &dst : ids) {
                if (src == dst || m_cut.contains(src + u'>' + dst))
                    continue;
                TransportHost *from = m_nodes.value(src)->endpoint();
                TransportHost *to = m_nodes.value(dst)->endpoint();
                PeerAnnouncement a;
                a.regionId = src;
                a.schemaVersion = from->schemaVersion();
                a.wallClockMs = from->wallClockMs();
                a.hlcWatermark = from->hlcWatermark();
                a.heads = from->logHeads();
                a.lowWater = from->logLowWater();
                schedule(dst, [to, a] { to->peerAnnounced(a); });
                const CursorVector have = to->logHeads();
                for (auto it = a.heads.cbegin(); it != a.heads.cend(); ++it) {
                    if (it.key() == dst)
                        continue;
                    quint64 after = have.value(it.key());
                    if (m_rng.bounded(5) == 0 && after > 0) {
                        after -= std::min<quint64>(after, m_rng.bounded(1, 6)); // duplicates
                        ++duplicatesSent;
                    }
                    if (it.value() <= after)
                        continue;
                    auto entries = from->readLog(it.key(), after, int(m_rng.bounded(1, 6)), 1 << 20);
                    if (!entries || entries->isEmpty())
                        continue;
                    const QList<LogEntry> batch = *entries;
                    const QString peer = src;
                    schedule(dst, [this, to, peer, batch] {
                        auto r = to->applyEntries(peer, batch);
                        QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
                        ++delivered;
                    });
                }
            }
        }
    }
    void schedule(const QString &dst, std::function<void()> f)
    {
        // Random delay: later batches often overtake earlier ones (reordering).
        QTimer::singleShot(int(m_rng.bounded(0, 25)), this, [this, dst, f] {
            if (m_nodes.contains(dst))
                f();
        });
    }

    QRandomGenerator m_rng;
    QTimer m_timer;
    QHash<QString, ChaosTransport *> m_nodes;
    QSet<QString> m_cut;
};

ChaosTransport::ChaosTransport(TransportHost *host, QObject *parent, ChaosNetwork *net)
    : Transport(host, parent)
    , m_net(net)
{}

ChaosTransport::~ChaosTransport()
{
    stop();
}

SyncResult<void> ChaosTransport::start()
{
    m_net->attach(this);
    for (const QString &r : {u"a"_s, u"b"_s, u"c"_s, u"d"_s}) {
        if (r != host()->regionId())
            host()->peerConnectionChanged(r, true, {});
    }
    return {};
}

void ChaosTransport::stop()
{
    m_net->detach(this);
}

struct AckedWrite
{
    QString key;
    quint64 hlc;
    QString origin;
    bool deleted;
    QByteArray value;
};

} // namespace

class tst_Convergence final : public QObject
{
    Q_OBJECT

private slots:
    void randomWritesConverge_data();
    void randomWritesConverge();
    void tcpWithDisconnects();

private:
    void randomOp(Replica *r, QRandomGenerator &rng, QList<AckedWrite> *acked);
    void verifyOutcome(const QList<Replica *> &replicas, const QList<AckedWrite> &acked);
};

void tst_Convergence::randomOp(Replica *r, QRandomGenerator &rng, QList<AckedWrite> *acked)
{
    const QString key = u"k%1"_s.arg(rng.bounded(12));
    const QByteArray value = QByteArray::number(rng.generate());
    const int op = int(rng.bounded(10));
    SyncResult<WriteReceipt> w = WriteReceipt{};
    bool deleted = false;
    if (op < 5) {
        w = r->execute(u"INSERT OR REPLACE INTO kv VALUES(?, ?, ?)"_s, {key, value, op});
    } else if (op < 8) {
        w = r->execute(u"UPDATE kv SET value = ? WHERE key = ?"_s, {value, key});
    } else {
        w = r->execute(u"DELETE FROM kv WHERE key = ?"_s, {key});
        deleted = true;
    }
    QVERIFY2(w.ok(), qPrintable(w.ok() ? QString() : w.error().message));
    if (w->seq > 0)
        acked->append({key, w->hlc, r->regionId(), deleted, value});
}

void tst_Convergence::verifyOutcome(const QList<Replica *> &replicas, const QList<AckedWrite> &acked)
{
    // Every acknowledged write is visible or superseded by a later one: each key holds the
    // write with the greatest (HLC, origin), or is absent if that write was a delete.
    QHash<QString, AckedWrite> winner;
    for (const AckedWrite &w : acked) {
        auto it = winner.find(w.key);
        if (it == winner.end() || w.hlc > it->hlc || (w.hlc == it->hlc && w.origin > it->origin))
            winner.insert(w.key, w);
    }
    for (Replica *r : replicas) {
        auto rows = r->query(u"SELECT key, value FROM kv"_s);
        QVERIFY(rows.ok());
        QHash<QString, QByteArray> have;
        for (const QVariantList &row : rows->rows)
            have.insert(row.value(0).toString(), row.value(1).toByteArray());
        for (const AckedWrite &w : std::as_const(winner)) {
            if (w.deleted)
                QVERIFY2(!have.contains(w.key), qPrintable(r->regionId() + u" "_s + w.key));
            else
                QCOMPARE(have.value(w.key), w.value);
        }
        QCOMPARE(*r->recomputeDigest(), r->digest());
    }
}

void tst_Convergence::randomWritesConverge_data()
{
    QTest::addColumn<quint32>("seed");
    QTest::addColumn<int>("regions");
    QTest::addRow("seed1-3regions") << 1u << 3;
    QTest::addRow("seed7-3regions") << 7u << 3;
    QTest::addRow("seed42-4regions") << 42u << 4;
}

void tst_Convergence::randomWritesConverge()
{
    QFETCH(quint32, seed);
    QFETCH(int, regions);
    QTemporaryDir dir;
    ChaosNetwork net(seed);
    std::vector<std::unique_ptr<Replica>> owned;
    QList<Replica *> replicas;
    const QStringList ids{u"a"_s, u"b"_s, u"c"_s, u"d"_s};
    for (int i = 0; i < regions; ++i) {
        SyncConfig c;
        c.regionId = ids.at(i);
        c.databasePath = dir.filePath(c.regionId + u".db"_s);
        c.durability = Durability::Normal;
        c.maintenanceIntervalMs = 50;
        auto r = std::make_unique<Replica>(c);
        QVERIFY(r->open().ok());
        QVERIFY(r->registerTable(u"kv"_s, kKvDdl).ok());
        r->setTransport([&net](TransportHost *h, QObject *parent) {
            return new ChaosTransport(h, parent, &net);
        });
        QVERIFY(r->start().ok());
        replicas.append(r.get());
        owned.push_back(std::move(r));
    }
    QList<AckedWrite> acked;
    QRandomGenerator &rng = net.rng();
    for (int i = 0; i < 240; ++i) {
        randomOp(replicas.at(int(rng.bounded(regions))), rng, &acked);
        if (i % 40 == 10) {
            const QString a = ids.at(int(rng.bounded(regions)));
            const QString b = ids.at(int(rng.bounded(regions)));
            if (a != b)
                net.cut(a, b, true);
        }
        if (i % 40 == 30)
            net.healAll();
        QTest::qWait(int(rng.bounded(0, 3))); // let deliveries interleave with writes
    }
    net.healAll();
    QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (Replica *r : replicas) {
                    if (r->digest() != replicas.first()->digest()
                        || r->cursors() != replicas.first()->cursors())
                        return false;
                }
                return true;
            }(),
            20000);
    QVERIFY(net.duplicatesSent > 0);
    verifyOutcome(replicas, acked);
    for (Replica *r : replicas)
        QVERIFY(r->overwrittenCounters().ok());
}

void tst_Convergence::tcpWithDisconnects()
{
    QTemporaryDir dir;
    std::vector<std::unique_ptr<Replica>> owned;
    QList<Replica *> replicas;
    for (const QString &id : {u"a"_s, u"b"_s, u"c"_s}) {
        SyncConfig c;
        c.regionId = id;
        c.databasePath = dir.filePath(id + u".db"_s);
        c.durability = Durability::Normal;
        c.heartbeatIntervalMs = 100;
        c.connectionTimeoutMs = 1000;
        c.reconnectMinMs = 20;
        c.reconnectMaxMs = 200;
        c.batchMaxEntries = 3; // many small batches in flight
        c.maxInFlightBatches = 2;
        auto r = std::make_unique<Replica>(c);
        QVERIFY(r->open().ok());
        QVERIFY(r->registerTable(u"kv"_s, kKvDdl).ok());
        QVERIFY(r->start().ok());
        replicas.append(r.get());
        owned.push_back(std::move(r));
    }
    for (Replica *r : replicas) {
        QList<PeerConfig> peers;
        for (Replica *o : replicas) {
            if (o != r)
                peers.append({o->regionId(), u"127.0.0.1"_s, o->replicationPort()});
        }
        r->setPeers(peers);
    }
    QRandomGenerator rng(99);
    QList<AckedWrite> acked;
    for (int i = 0; i < 150; ++i) {
        randomOp(replicas.at(int(rng.bounded(3))), rng, &acked);
        if (i == 50)
            replicas.at(2)->stop(); // c drops off the network, keeps writing locally
        if (i == 100) {
            QVERIFY(replicas.at(2)->start().ok()); // new port: tell the others
            for (Replica *r : {replicas.at(0), replicas.at(1)}) {
                QList<PeerConfig> peers;
                for (Replica *o : replicas) {
                    if (o != r)
                        peers.append({o->regionId(), u"127.0.0.1"_s, o->replicationPort()});
                }
                r->setPeers(peers);
            }
            QList<PeerConfig> cPeers;
            for (Replica *o : {replicas.at(0), replicas.at(1)})
                cPeers.append({o->regionId(), u"127.0.0.1"_s, o->replicationPort()});
            replicas.at(2)->setPeers(cPeers);
        }
        QTest::qWait(int(rng.bounded(0, 3)));
    }
    QTRY_VERIFY_WITH_TIMEOUT(replicas.at(0)->digest() == replicas.at(1)->digest()
                                     && replicas.at(1)->digest() == replicas.at(2)->digest()
                                     && replicas.at(0)->cursors() == replicas.at(2)->cursors(),
                             20000);
    verifyOutcome(replicas, acked);
    for (Replica *r : replicas) {
        QTRY_VERIFY_WITH_TIMEOUT(
                [&] {
                    for (const LinkStatus &x : r->links()) {
                        if (x.state != LinkState::CaughtUp)
                            return false;
                    }
                    return r->links().size() == 2;
                }(),
                5000);
    }
}

QTEST_GUILESS_MAIN(tst_Convergence)
#include "tst_convergence.moc"
