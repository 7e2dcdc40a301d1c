// NatsTransport against a real nats-server with JetStream (one server per test case).
#include "core/sync/bytecodec.h"
#include "core/sync/replica.h"
#include "synctestsupport.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <nats/nats.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

const QString kKvDdl = Test::kvTableDdl();
constexpr int kWaitMs = 30000;

// Processes events until `done` holds or the deadline passes (no fixed sleeps).
bool waitFor(const std::function<bool()> &done, int ms = kWaitMs)
{
    QDeadlineTimer deadline(ms);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        QTest::qWait(1);
    }
    return true;
}

quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = probe.serverPort();
    probe.close();
    return port;
}

// A real `nats-server -js` on a loopback port with its store in a directory that survives
// restarts of the server.
class NatsServer
{
public:
    explicit NatsServer(QString storeDir)
        : m_storeDir(std::move(storeDir))
    {}
    ~NatsServer() { stop(); }

    static QString executable() { return QStandardPaths::findExecutable(u"nats-server"_s); }

    bool start()
    {
        if (m_port == 0)
            m_port = freePort();
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.start(executable(),
                        {u"-js"_s,
                         u"-a"_s,
                         u"127.0.0.1"_s,
                         u"-p"_s,
                         QString::number(m_port),
                         u"-sd"_s,
                         m_storeDir});
        if (!m_process.waitForStarted(5000))
            return false;
        // Ready when it accepts a connection and greets with INFO.
        return waitFor(
                       [this] {
                           if (m_process.state() != QProcess::Running)
                               return true;
                           QTcpSocket s;
                           s.connectToHost(QHostAddress::LocalHost, m_port);
                           return s.waitForConnected(200) && s.waitForReadyRead(500)
                                  && s.readAll().startsWith("INFO");
                       },
                       15000)
               && m_process.state() == QProcess::Running;
    }

    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.terminate();
        if (!m_process.waitForFinished(10000)) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }

    QString url() const { return u"nats://127.0.0.1:%1"_s.arg(m_port); }
    QByteArray log() { return m_process.readAll(); }

private:
    QString m_storeDir;
    quint16 m_port = 0;
    QProcess m_process;
};

// A plain libnats JetStream client, to look at streams and publish as an earlier incarnation of
// a region would have.
class JsClient
{
public:
    explicit JsClient(const QString &url)
    {
        const QByteArray u = url.toUtf8();
        if (natsConnection_ConnectTo(&m_nc, u.constData()) == NATS_OK)
            natsConnection_JetStream(&m_js, m_nc, nullptr);
    }
    ~JsClient()
    {
        if (m_js)
            jsCtx_Destroy(m_js);
        if (m_nc)
            natsConnection_Destroy(m_nc);
    }
    bool ok() const { return m_js != nullptr; }

    struct State
    {
        quint64 msgs = 0, first = 0, last = 0;
    };
    std::optional<State> state(const QString &stream)
    {
        jsStreamInfo *si = nullptr;
        const QByteArray name = stream.toUtf8();
        if (js_GetStreamInfo(&si, m_js, name.constData(), nullptr, nullptr) != NATS_OK)
            return std::nullopt;
        State s{si->State.Msgs, si->State.FirstSeq, si->State.LastSeq};
        jsStreamInfo_Destroy(si);
        return s;
    }

    // Publishes `e` like NatsTransport does; returns the JetStream answer (duplicate or not).
    std::optional<bool> publish(const QString &subject, const LogEntry &e, bool expectSeq)
    {
        QByteArray payload;
        Internal::ByteWriter w(&payload);
        e.encode(w);
        const QByteArray subj = subject.toUtf8();
        const QByteArray id = (e.origin + u':' + QString::number(e.seq)).toUtf8();
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id.constData();
        if (expectSeq)
            po.ExpectLastSeq = e.seq - 1;
        jsPubAck *pa = nullptr;
        if (js_Publish(&pa,
                       m_js,
                       subj.constData(),
                       payload.constData(),
                       int(payload.size()),
                       &po,
                       nullptr)
            != NATS_OK)
            return std::nullopt;
        const bool duplicate = pa->Duplicate;
        jsPubAck_Destroy(pa);
        return duplicate;
    }

private:
    natsConnection *m_nc = nullptr;
    jsCtx *m_js = nullptr;
};

} // namespace

class tst_NatsTransport final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void threeReplicasConverge();
    void restartedReplicaCatchesUp();
    void natsServerRestart();
    void natsServerLosesStore();
    void duplicatePublishAppliesOnce();
    void streamLimitLossNeedsResync();
    void invalidConfigStartsNothing();
    void publishesWithoutItsEventLoop();

private:
    SyncConfig config(const QString &region, const QStringList &peers);
    Replica *addReplica(const QString &region, const QStringList &peers, SyncConfig *cfg = nullptr);
    void exchangeAddresses();
    bool converged(const QList<Replica *> &replicas) const;
    bool allCaughtUp(const QList<Replica *> &replicas) const;
    static void write(Replica *r, const QString &key, const QString &value);
    static qint64 logCount(Replica *r, const QString &origin);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<NatsServer> m_nats;
    std::vector<std::unique_ptr<Replica>> m_replicas;
};

void tst_NatsTransport::initTestCase()
{
    if (NatsServer::executable().isEmpty())
        QSKIP("nats-server is not installed (Debian: apt install nats-server); these tests need "
              "a real JetStream server");
}

void tst_NatsTransport::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_nats = std::make_unique<NatsServer>(m_dir->filePath(u"jetstream"_s));
    QVERIFY2(m_nats->start(), m_nats->log().constData());
}

void tst_NatsTransport::cleanup()
{
    if (QTest::currentTestFailed()) {
        for (auto &r : m_replicas) {
            for (const LinkStatus &l : r->links())
                qWarning().noquote() << r->regionId() << "<-" << l.origin << linkStateName(l.state)
                                     << l.appliedSeq << "/" << l.headSeq << l.detail;
            qWarning() << r->regionId() << r->digest() << r->cursors();
        }
    }
    m_replicas.clear(); // stops transports before the server goes away
    if (m_nats && QTest::currentTestFailed())
        qWarning().noquote() << "nats-server output:" << m_nats->log();
    m_nats.reset();
    m_dir.reset();
}

SyncConfig tst_NatsTransport::config(const QString &region, const QStringList &peers)
{
    SyncConfig c;
    c.regionId = region;
    c.databasePath = m_dir->filePath(region + u".db"_s);
    c.durability = Durability::Normal;
    c.heartbeatIntervalMs = 100;
    c.connectionTimeoutMs = 2000;
    c.maintenanceIntervalMs = 100;
    c.transport = TransportKind::Nats;
    c.nats.servers = {m_nats->url()};
    c.nats.cluster = u"test"_s;
    c.nats.fetchBatch = 64;
    for (const QString &p : peers)
        c.peers.append({p, {}, 0}); // addresses (for resync) follow once listeners run
    return c;
}

Replica *tst_NatsTransport::addReplica(const QString &region,
                                       const QStringList &peers,
                                       SyncConfig *cfg)
{
    auto r = std::make_unique<Replica>(cfg ? *cfg : config(region, peers));
    if (auto o = r->open(); !o) {
        qWarning() << o.error().message;
        return nullptr;
    }
    if (!r->registerTable(u"kv"_s, kKvDdl).ok())
        return nullptr;
    if (auto s = r->start(); !s) {
        qWarning() << s.error().message;
        return nullptr;
    }
    m_replicas.push_back(std::move(r));
    return m_replicas.back().get();
}

void tst_NatsTransport::exchangeAddresses()
{
    for (auto &r : m_replicas) {
        QList<PeerConfig> peers;
        for (const PeerConfig &p : r->config().peers) {
            for (auto &o : m_replicas) {
                if (o->regionId() == p.regionId)
                    peers.append({p.regionId, u"127.0.0.1"_s, o->replicationPort()});
            }
        }
        r->setPeers(peers);
    }
}

void tst_NatsTransport::write(Replica *r, const QString &key, const QString &value)
{
    auto w = r->execute(u"INSERT OR REPLACE INTO kv VALUES(?, ?, ?)"_s,
                        {key, value.toUtf8(), QDateTime::currentMSecsSinceEpoch()});
    QVERIFY2(w.ok(), qPrintable(w.ok() ? QString() : w.error().message));
}

qint64 tst_NatsTransport::logCount(Replica *r, const QString &origin)
{
    auto q = r->query(u"SELECT count(*), count(DISTINCT seq) FROM _meridian_log WHERE origin = ?"_s,
                      {origin});
    if (!q || q->rows.isEmpty())
        return -1;
    if (q->rows.first().at(0) != q->rows.first().at(1))
        return -2; // a sequence twice
    return q->rows.first().at(0).toLongLong();
}

bool tst_NatsTransport::converged(const QList<Replica *> &replicas) const
{
    // Same content and same cursors (an origin that never wrote may be absent: 0).
    const auto nonZero = [](const CursorVector &v) {
        CursorVector out;
        for (auto it = v.cbegin(); it != v.cend(); ++it) {
            if (it.value() > 0)
                out.insert(it.key(), it.value());
        }
        return out;
    };
    for (Replica *r : replicas) {
        if (r->digest() != replicas.first()->digest()
            || nonZero(r->cursors()) != nonZero(replicas.first()->cursors()))
            return false;
    }
    return true;
}

bool tst_NatsTransport::allCaughtUp(const QList<Replica *> &replicas) const
{
    for (Replica *r : replicas) {
        const QList<LinkStatus> links = r->links();
        if (links.size() != replicas.size() - 1)
            return false;
        for (const LinkStatus &l : links) {
            if (l.state != LinkState::CaughtUp)
                return false;
        }
    }
    return true;
}

void tst_NatsTransport::threeReplicasConverge()
{
    Replica *a = addReplica(u"a"_s, {u"b"_s, u"c.eu"_s});
    Replica *b = addReplica(u"b"_s, {u"a"_s, u"c.eu"_s});
    Replica *c = addReplica(u"c.eu"_s, {u"a"_s, u"b"_s}); // a '.' in the id: stream name
    QVERIFY(a && b && c);
    QVERIFY(waitFor([&] { return allCaughtUp({a, b, c}); }));
    // Concurrent writes on overlapping keys: each region writes while the others' entries
    // arrive, so the same rows are overwritten in different orders in different regions.
    QRandomGenerator rng(7);
    const QList<Replica *> all{a, b, c};
    quint64 logged = 0;
    for (int i = 0; i < 300; ++i) {
        Replica *r = all.at(int(rng.bounded(3)));
        const QString key = u"k%1"_s.arg(rng.bounded(12));
        auto w = rng.bounded(6) == 0
                         ? r->execute(u"DELETE FROM kv WHERE key = ?"_s, {key})
                         : r->execute(u"INSERT OR REPLACE INTO kv VALUES(?, ?, ?)"_s,
                                      {key, u"%1-%2"_s.arg(r->regionId()).arg(i).toUtf8(), i});
        QVERIFY(w.ok());
        logged += w->seq > 0 ? 1 : 0; // a delete of an absent row is not logged
        if (i % 10 == 0)
            QTest::qWait(int(rng.bounded(0, 5)));
    }
    QVERIFY(waitFor([&] { return converged(all); }));
    const CursorVector cursors = a->cursors();
    QCOMPARE(cursors.value(u"a"_s) + cursors.value(u"b"_s) + cursors.value(u"c.eu"_s), logged);
    for (Replica *r : all) {
        QCOMPARE(*r->recomputeDigest(), r->digest());
        for (Replica *o : all)
            QCOMPARE(logCount(r, o->regionId()), qint64(o->cursors().value(o->regionId())));
    }
    QVERIFY(waitFor([&] { return allCaughtUp(all); }));
}

void tst_NatsTransport::restartedReplicaCatchesUp()
{
    Replica *a = addReplica(u"a"_s, {u"b"_s, u"c"_s});
    Replica *b = addReplica(u"b"_s, {u"a"_s, u"c"_s});
    Replica *c = addReplica(u"c"_s, {u"a"_s, u"b"_s});
    QVERIFY(a && b && c);
    for (int i = 0; i < 20; ++i)
        write(i % 2 ? a : b, u"k%1"_s.arg(i % 7), u"before-%1"_s.arg(i));
    QVERIFY(waitFor([&] { return converged({a, b, c}); }));
    c->stop();
    QVERIFY(waitFor([&] {
        for (const LinkStatus &l : a->links()) {
            if (l.origin == u"c"_s)
                return l.state == LinkState::Disconnected;
        }
        return false;
    }));
    for (int i = 0; i < 200; ++i)
        write(i % 2 ? a : b, u"k%1"_s.arg(i % 13), u"while-c-down-%1"_s.arg(i));
    write(c, u"c-only"_s, u"written while stopped"_s);
    QVERIFY(c->start().ok());
    QVERIFY(waitFor([&] { return converged({a, b, c}); }));
    QVERIFY(waitFor([&] { return allCaughtUp({a, b, c}); }));
    for (const QString &origin : {u"a"_s, u"b"_s, u"c"_s})
        QCOMPARE(logCount(c, origin), qint64(c->cursors().value(origin)));
    QCOMPARE(c->cursors().value(u"a"_s), 110u);
    QCOMPARE(c->cursors().value(u"b"_s), 110u);
    QCOMPARE(a->cursors().value(u"c"_s), 1u);
}

void tst_NatsTransport::natsServerRestart()
{
    Replica *a = addReplica(u"a"_s, {u"b"_s});
    Replica *b = addReplica(u"b"_s, {u"a"_s});
    QVERIFY(a && b);
    for (int i = 0; i < 30; ++i)
        write(a, u"k%1"_s.arg(i), u"v%1"_s.arg(i));
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    m_nats->stop();
    QVERIFY(waitFor([&] {
        const QList<LinkStatus> links = b->links();
        return links.size() == 1 && links.first().state == LinkState::Disconnected;
    }));
    for (int i = 0; i < 40; ++i) // queued in a's log while NATS is down
        write(i % 2 ? a : b, u"k%1"_s.arg(i), u"during-outage-%1"_s.arg(i));
    QVERIFY(a->digest() != b->digest());
    QVERIFY2(m_nats->start(), m_nats->log().constData()); // same port, same store
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    QVERIFY(waitFor([&] { return allCaughtUp({a, b}); }));
    QCOMPARE(b->cursors().value(u"a"_s), 50u);
    QCOMPARE(a->cursors().value(u"b"_s), 20u);
    JsClient js(m_nats->url());
    QVERIFY(js.ok());
    const auto state = js.state(a->config().nats.streamName(u"a"_s));
    QVERIFY(state);
    QCOMPARE(state->msgs, 50u); // nothing stored twice across the outage
    QCOMPARE(state->last, 50u);
}

void tst_NatsTransport::natsServerLosesStore()
{
    SyncConfig ca = config(u"a"_s, {u"b"_s});
    ca.minLogRetentionMs = 0; // prune what b has applied at once
    Replica *a = addReplica(u"a"_s, {u"b"_s}, &ca);
    Replica *b = addReplica(u"b"_s, {u"a"_s});
    QVERIFY(a && b);
    for (int i = 0; i < 10; ++i)
        write(a, u"k%1"_s.arg(i), u"v%1"_s.arg(i));
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    // b's heartbeats carry its cursors: a may prune what b applied, and only that.
    QVERIFY(waitFor([&] {
        (void) a->pruneLog();
        return a->logLowWater().value(u"a"_s) > 1;
    }));
    const quint64 low = a->logLowWater().value(u"a"_s);
    QVERIFY(low <= 11);
    m_nats->stop();
    QVERIFY(QDir(m_dir->filePath(u"jetstream"_s)).removeRecursively());
    QVERIFY2(m_nats->start(), m_nats->log().constData()); // same port, empty store
    // The next publish fails (no stream): a recreates its stream, starts it at its first
    // retained entry and publishes from there, so stream sequences stay entry sequences; b
    // reads on from its cursor.
    for (int i = 10; i < 15; ++i)
        write(a, u"k%1"_s.arg(i), u"v%1"_s.arg(i));
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    QCOMPARE(b->cursors().value(u"a"_s), 15u);
    QCOMPARE(logCount(b, u"a"_s), 15);
    JsClient js(m_nats->url());
    QVERIFY(js.ok());
    QVERIFY(waitFor([&] {
        const auto state = js.state(a->config().nats.streamName(u"a"_s));
        return state && state->first == low && state->last == 15 && state->msgs == 16 - low;
    }));
}

void tst_NatsTransport::duplicatePublishAppliesOnce()
{
    Replica *a = addReplica(u"a"_s, {u"b"_s});
    Replica *b = addReplica(u"b"_s, {u"a"_s});
    QVERIFY(a && b);
    for (int i = 0; i < 10; ++i)
        write(a, u"k%1"_s.arg(i), u"v%1"_s.arg(i));
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    // a stops, writes on, and an "earlier incarnation" of it had already stored entries 11-13
    // in the stream when it died (acknowledgements lost): on restart a must neither store them
    // twice nor skip 14 and 15.
    a->stop();
    for (int i = 10; i < 15; ++i)
        write(a, u"k%1"_s.arg(i), u"v%1"_s.arg(i));
    JsClient js(m_nats->url());
    QVERIFY(js.ok());
    const QString subject = a->config().nats.logSubject(u"a"_s);
    const QString stream = a->config().nats.streamName(u"a"_s);
    auto entries = a->readLog(u"a"_s, 10, 3, 1 << 20);
    QVERIFY(entries && entries->size() == 3);
    for (const LogEntry &e : std::as_const(*entries))
        QCOMPARE(js.publish(subject, e, true), std::optional<bool>(false));
    // The same message id again: JetStream's dedup window drops it.
    QCOMPARE(js.publish(subject, entries->at(1), false), std::optional<bool>(true));
    QCOMPARE(js.state(stream)->msgs, 13u);
    QVERIFY(a->start().ok());
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    QCOMPARE(b->cursors().value(u"a"_s), 15u);
    QCOMPARE(logCount(b, u"a"_s), 15);
    const auto state = js.state(stream);
    QCOMPARE(state->msgs, 15u);
    QCOMPARE(state->last, 15u);
    // A restart of the consumer side re-reads from its cursor, not from the stream's start.
    b->stop();
    QVERIFY(b->start().ok());
    write(a, u"after"_s, u"restart"_s);
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    QCOMPARE(logCount(b, u"a"_s), 16);
}

void tst_NatsTransport::streamLimitLossNeedsResync()
{
    SyncConfig ca = config(u"a"_s, {u"b"_s});
    ca.nats.maxMsgs = 5; // the stream keeps only a's last 5 entries
    Replica *a = addReplica(u"a"_s, {u"b"_s}, &ca);
    QVERIFY(a);
    for (int i = 0; i < 20; ++i)
        write(a, u"k%1"_s.arg(i), u"v%1"_s.arg(i));
    JsClient js(m_nats->url());
    QVERIFY(js.ok());
    QVERIFY(waitFor([&] {
        const auto s = js.state(ca.nats.streamName(u"a"_s));
        return s && s->last == 20;
    }));
    QCOMPARE(js.state(ca.nats.streamName(u"a"_s))->first, 16u);
    Replica *b = addReplica(u"b"_s, {u"a"_s});
    QVERIFY(b);
    exchangeAddresses();
    QVERIFY(waitFor([&] {
        const QList<LinkStatus> links = b->links();
        return links.size() == 1 && links.first().state == LinkState::NeedsResync;
    }));
    QVERIFY2(b->links().first().detail.contains(u"16"_s), qPrintable(b->links().first().detail));
    QCOMPARE(b->cursors().value(u"a"_s), 0u); // nothing skipped silently
    // Resync over a NATS deployment: the snapshot comes from a's snapshot-only TCP listener.
    QVERIFY(a->replicationPort() != 0);
    QVERIFY(b->startResync(u"a"_s).ok());
    QVERIFY(waitFor([&] {
        const auto phase = b->resyncStatus().phase;
        return phase == ResyncProgress::Phase::Done || phase == ResyncProgress::Phase::Failed;
    }));
    QVERIFY2(b->resyncStatus().phase == ResyncProgress::Phase::Done,
             qPrintable(b->resyncStatus().message));
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    write(a, u"after"_s, u"resync"_s);
    QVERIFY(waitFor([&] { return converged({a, b}); }));
    QVERIFY(waitFor([&] { return allCaughtUp({a, b}); }));
}

void tst_NatsTransport::invalidConfigStartsNothing()
{
    SyncConfig c = config(u"a"_s, {u"b"_s});
    c.nats.servers = {u"http://127.0.0.1:1"_s};
    Replica r(c);
    const auto opened = r.open();
    QVERIFY(!opened);
    QVERIFY2(opened.error().message.contains(u"nats.servers"_s), qPrintable(opened.error().message));
    c.nats.servers = {m_nats->url()};
    c.nats.cluster = u"bad.name"_s;
    QVERIFY(!c.validate());
    c.nats.cluster = u"ok"_s;
    c.peers = {{u"b"_s, {}, 0}}; // with NATS a peer needs no address...
    QVERIFY(c.validate());
    c.transport = TransportKind::Tcp; // ...with TCP it does
    QVERIFY(!c.validate());
}

// Writes are published in batches once per event-loop turn; a thread that writes without
// returning to its loop still publishes, a batch every 16 entries.
void tst_NatsTransport::publishesWithoutItsEventLoop()
{
    Replica *a = addReplica(u"a"_s, {u"b"_s});
    QVERIFY(a);
    JsClient js(m_nats->url());
    QVERIFY(js.ok());
    const QString stream = a->config().nats.streamName(u"a"_s);
    const auto last = [&] {
        const auto st = js.state(stream);
        return st ? st->last : 0;
    };
    write(a, u"k0"_s, u"v"_s); // published once the transport is ready
    QDeadlineTimer deadline(20000);
    while (last() < 1 && !deadline.hasExpired())
        QTest::qWait(1);
    QCOMPARE(last(), quint64(1));

    for (int i = 1; i <= 40; ++i)
        write(a, u"k%1"_s.arg(i), u"v"_s);
    // No event processing here: only what entriesAvailable() handed over itself arrives.
    deadline = QDeadlineTimer(20000);
    while (last() < 33 && !deadline.hasExpired())
        std::this_thread::sleep_for(std::chrono::milliseconds(5)); // polls, no event loop
    QCOMPARE(last(), quint64(33)); // 2 batches of 16; the last 8 wait for the loop

    deadline = QDeadlineTimer(20000);
    while (last() < 41 && !deadline.hasExpired())
        QTest::qWait(1);
    QCOMPARE(last(), quint64(41));
}

QTEST_GUILESS_MAIN(tst_NatsTransport)
#include "tst_natstransport.moc"
