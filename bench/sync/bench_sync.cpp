// bench_sync: throughput, lag, backlog apply and resync figures of the data sync core, each
// compared with a baseline measured in the same run. See docs/benchmarks.md ("Data sync").
//
//   bench_sync [--seconds S] [--resync-mb M] [--transport tcp|nats]
//
// Peers run as child processes of this program (bench_sync --peer ...), on loopback. With
// --transport nats the lag measurement also runs over NATS JetStream (a nats-server -js started
// here, or --nats-url) and is compared with TCP measured in the same run.
#include "core/sync/hybridlogicalclock.h"
#include "core/sync/replica.h"
#include "core/util/allocator.h"

#include <sqlite3.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QProcess>
#include <QSocketNotifier>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <unistd.h>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

const QString kKvDdl = u"CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB, updated_at INTEGER)"_s;

qint64 realtimeUs()
{
    return QDateTime::currentMSecsSinceEpoch() * 1000; // ms resolution is enough for lag
}

// CPU time of this process (all threads), in seconds: unlike wall time, hardly moved by what
// else runs on the machine.
double cpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// CPU time (user + system) used so far by another process, in seconds; 0 if unknown.
double cpuSeconds(qint64 pid)
{
    QFile f(u"/proc/%1/stat"_s.arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    const QByteArray stat = f.readAll();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return 0;
    return double(fields.at(11).toLongLong() + fields.at(12).toLongLong())
           / double(sysconf(_SC_CLK_TCK));
}

// The calling thread's time on a CPU and waiting for one (run queue), in seconds, from
// /proc/thread-self/schedstat; zeros where the kernel does not provide it.
std::pair<double, double> threadSchedSeconds()
{
    QFile f(u"/proc/thread-self/schedstat"_s);
    if (!f.open(QIODevice::ReadOnly))
        return {0, 0};
    const QList<QByteArray> fields = f.readAll().trimmed().split(' ');
    if (fields.size() < 2)
        return {0, 0};
    return {fields.at(0).toLongLong() / 1e9, fields.at(1).toLongLong() / 1e9};
}

// A commit-rate measurement: rows per wall second, and CPU microseconds per row spent by the
// writing process and by the peer processes meanwhile.
struct Rate
{
    double rowsPerSecond = 0;
    double writerCpuUsPerRow = 0;
    double peersCpuUsPerRow = 0;
};

// With --tls-dir DIR: every replica replicates over mutual TLS with DIR/node.pem, DIR/node.key
// and DIR/ca.pem (e.g. tests/sync/tls), to measure what TLS costs.
TlsFiles tlsFiles(const QString &dir)
{
    if (dir.isEmpty())
        return {};
    const QDir d(dir);
    return {d.absoluteFilePath(u"node.pem"_s),
            d.absoluteFilePath(u"node.key"_s),
            d.absoluteFilePath(u"ca.pem"_s)};
}

// Runs the event loop for `ms` without spinning: the peers share this machine's cores.
void pump(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, Qt::PreciseTimer, &loop, &QEventLoop::quit);
    loop.exec();
}

// Runs a peer replica in this process: applies what the origin sends, reports each applied
// batch as "APPLIED <seq> <realtime us>".
int runPeer(const QCommandLineParser &args)
{
    SyncConfig c;
    c.regionId = args.value(u"region"_s);
    c.databasePath = args.value(u"db"_s);
    c.durability = *SyncConfig::parseDurability(args.value(u"durability"_s));
    c.peers.append({u"a"_s, u"127.0.0.1"_s, quint16(args.value(u"origin-port"_s).toUInt())});
    c.tls = tlsFiles(args.value(u"tls-dir"_s));
    if (args.isSet(u"nats-url"_s)) {
        c.transport = TransportKind::Nats;
        c.nats.servers = {args.value(u"nats-url"_s)};
        c.nats.cluster = args.value(u"nats-cluster"_s);
    }
    Replica r(c);
    if (!r.open() || !r.registerTable(u"kv"_s, kKvDdl) || !r.start())
        return 1;
    QObject::connect(&r, &Replica::applied, [](const QString &origin, quint64 seq, quint64) {
        if (origin == "a"_L1) {
            std::printf("APPLIED %llu %lld\n",
                        static_cast<unsigned long long>(seq),
                        static_cast<long long>(realtimeUs()));
            std::fflush(stdout);
        }
    });
    std::printf("PORT %u\n", r.replicationPort());
    std::fflush(stdout);
    QSocketNotifier in(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&in, &QSocketNotifier::activated, [] {
        char buf[64];
        if (::read(STDIN_FILENO, buf, sizeof buf) <= 0)
            QCoreApplication::quit();
    });
    return QCoreApplication::exec();
}

struct Peer
{
    std::unique_ptr<QProcess> process;
    quint16 port = 0;
    QByteArray buffer;
    QList<std::pair<quint64, qint64>> applied; // (seq, realtime us)

    void read()
    {
        buffer.append(process->readAllStandardOutput());
        qsizetype nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
            const QList<QByteArray> p = buffer.left(nl).split(' ');
            buffer.remove(0, nl + 1);
            if (p.size() == 3 && p[0] == "APPLIED")
                applied.append({p[1].toULongLong(), p[2].toLongLong()});
        }
    }
    quint64 lastApplied() const { return applied.isEmpty() ? 0 : applied.last().first; }
};

class Bench
{
public:
    Bench(double seconds,
          int resyncMb,
          QStringList only,
          QList<int> rows,
          QList<Durability> modes,
          QString natsUrl,
          QString natsStore,
          QString tlsDir)
        : m_seconds(seconds)
        , m_resyncMb(resyncMb)
        , m_only(std::move(only))
        , m_rows(std::move(rows))
        , m_modes(std::move(modes))
        , m_natsUrl(std::move(natsUrl))
        , m_natsStore(std::move(natsStore))
        , m_tlsDir(std::move(tlsDir))
    {}
    ~Bench();
    int run();

private:
    QString path(const QString &name) { return m_dir.filePath(name + u"-%1.db"_s.arg(++m_n)); }
    std::unique_ptr<Replica> origin(Durability d,
                                    const QString &db,
                                    bool withPeers,
                                    TransportKind transport = TransportKind::Tcp);
    bool startNatsServer();
    void stopPeers();
    Rate plainRate(int rowsPerTxn, Durability d);
    Rate replicatedRate(int rowsPerTxn, Durability d, bool withPeers);
    double peersCpuSeconds() const;
    struct Lag
    {
        double p50 = -1, p99 = -1;
    };
    Lag lag(int writesPerSecond, Durability d, TransportKind transport = TransportKind::Tcp);
    void backlog();
    void resync();

    double m_seconds;
    int m_resyncMb;
    QStringList m_only;        // measurements to run; empty: all
    QList<int> m_rows;         // rows per transaction of the commit measurement
    QList<Durability> m_modes; // durability modes of the commit measurement
    QString m_natsUrl;         // empty: TCP only; "start": run a nats-server here
    QString m_natsStore;       // the started server's JetStream store; empty: in m_dir
    QString m_natsCluster;
    QString m_tlsDir; // empty: plain TCP
    std::unique_ptr<QProcess> m_natsServer;
    std::unique_ptr<QTemporaryDir> m_natsStoreDir;
    QTemporaryDir m_dir;
    int m_n = 0;
    std::vector<std::unique_ptr<Peer>> m_peers;
};

Bench::~Bench()
{
    if (m_natsServer) {
        m_natsServer->terminate();
        if (!m_natsServer->waitForFinished(10000))
            m_natsServer->kill();
    }
}

// A nats-server -js on a free loopback port, its store in the temporary directory or in a
// fresh directory under --nats-store (e.g. /dev/shm, to take the server off the disk).
bool Bench::startNatsServer()
{
    const QString exe = QStandardPaths::findExecutable(u"nats-server"_s);
    if (exe.isEmpty()) {
        std::fprintf(stderr, "bench_sync: nats-server is not installed; give --nats-url\n");
        return false;
    }
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return false;
    const quint16 port = probe.serverPort();
    probe.close();
    QString store = m_dir.filePath(u"jetstream"_s);
    if (!m_natsStore.isEmpty()) {
        m_natsStoreDir = std::make_unique<QTemporaryDir>(m_natsStore + u"/bench_sync-nats-XXXXXX"_s);
        if (!m_natsStoreDir->isValid()) {
            std::fprintf(stderr,
                         "bench_sync: cannot create a directory in %s\n",
                         qPrintable(m_natsStore));
            return false;
        }
        store = m_natsStoreDir->path();
    }
    m_natsServer = std::make_unique<QProcess>();
    m_natsServer->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    m_natsServer->start(
            exe,
            {u"-js"_s, u"-a"_s, u"127.0.0.1"_s, u"-p"_s, QString::number(port), u"-sd"_s, store});
    if (!m_natsServer->waitForStarted(5000))
        return false;
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 15000 && m_natsServer->state() == QProcess::Running) {
        QTcpSocket s;
        s.connectToHost(QHostAddress::LocalHost, port);
        if (s.waitForConnected(200) && s.waitForReadyRead(500) && s.readAll().startsWith("INFO")) {
            m_natsUrl = u"nats://127.0.0.1:%1"_s.arg(port);
            return true;
        }
        pump(50);
    }
    return false;
}

std::unique_ptr<Replica> Bench::origin(Durability d,
                                       const QString &db,
                                       bool withPeers,
                                       TransportKind transport)
{
    SyncConfig c;
    c.regionId = u"a"_s;
    c.databasePath = db;
    c.durability = d;
    c.tls = tlsFiles(m_tlsDir);
    if (transport == TransportKind::Nats) {
        // Fresh streams per measurement: the replicas' databases are fresh too.
        m_natsCluster = u"bench%1"_s.arg(m_n);
        c.transport = TransportKind::Nats;
        c.nats.servers = {m_natsUrl};
        c.nats.cluster = m_natsCluster;
        c.peers = {{u"b"_s, {}, 0}, {u"c"_s, {}, 0}};
    }
    auto r = std::make_unique<Replica>(c);
    if (!r->open() || !r->registerTable(u"kv"_s, kKvDdl) || !r->start())
        qFatal("cannot open the origin replica");
    if (!withPeers)
        return r;
    QList<PeerConfig> peers;
    for (const QString &id : {u"b"_s, u"c"_s}) {
        auto p = std::make_unique<Peer>();
        p->process = std::make_unique<QProcess>();
        p->process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        QStringList peerArgs{u"--peer"_s,
                             u"--region"_s,
                             id,
                             u"--db"_s,
                             path(id),
                             u"--durability"_s,
                             SyncConfig::durabilityName(d),
                             u"--origin-port"_s,
                             QString::number(r->replicationPort())};
        if (!m_tlsDir.isEmpty())
            peerArgs << u"--tls-dir"_s << m_tlsDir;
        if (transport == TransportKind::Nats)
            peerArgs << u"--nats-url"_s << m_natsUrl << u"--nats-cluster"_s << m_natsCluster;
        p->process->start(QCoreApplication::applicationFilePath(), peerArgs);
        p->process->waitForStarted();
        while (!p->process->canReadLine() && p->process->waitForReadyRead(10000)) {
        }
        p->port = quint16(p->process->readLine().trimmed().mid(5).toUInt());
        peers.append({id, u"127.0.0.1"_s, p->port});
        m_peers.push_back(std::move(p));
    }
    r->setPeers(peers);
    QElapsedTimer t;
    t.start();
    // links() returns a new list on each call: keep one before iterating it.
    const auto connected = [&r] {
        const QList<LinkStatus> links = r->links();
        return links.size() >= 2 && std::all_of(links.cbegin(), links.cend(), [](const auto &l) {
                   return l.state == LinkState::CaughtUp;
               });
    };
    while (!connected()) {
        if (t.elapsed() > 10000) {
            for (const LinkStatus &l : r->links())
                std::fprintf(stderr,
                             "link %s -> %s: %s %s (%lld behind)\n",
                             qPrintable(l.origin),
                             qPrintable(l.replica),
                             qPrintable(linkStateName(l.state)),
                             qPrintable(l.detail),
                             static_cast<long long>(l.entriesBehind));
            qFatal("peers did not connect");
        }
        pump(10);
    }
    return r;
}

void Bench::stopPeers()
{
    for (auto &p : m_peers) {
        p->process->closeWriteChannel();
        if (!p->process->waitForFinished(10000))
            p->process->kill();
    }
    m_peers.clear();
}

double Bench::peersCpuSeconds() const
{
    double s = 0;
    for (const auto &p : m_peers)
        s += cpuSeconds(p->process->processId());
    return s;
}

Rate Bench::plainRate(int rowsPerTxn, Durability d)
{
    sqlite3 *db = nullptr;
    sqlite3_open(path(u"plain"_s).toUtf8().constData(), &db);
    sqlite3_exec(db,
                 d == Durability::Full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL"
                                       : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                 nullptr,
                 nullptr,
                 nullptr);
    sqlite3_exec(db, kKvDdl.toUtf8().constData(), nullptr, nullptr, nullptr);
    sqlite3_stmt *ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO kv VALUES(?, ?, ?)", -1, &ins, nullptr);
    const QByteArray value(100, 'v');
    QElapsedTimer t;
    t.start();
    const double cpu0 = cpuSeconds();
    qint64 rows = 0;
    while (t.elapsed() < m_seconds * 1000) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        for (int i = 0; i < rowsPerTxn; ++i, ++rows) {
            const QByteArray key = "k" + QByteArray::number(rows);
            sqlite3_bind_text(ins, 1, key.constData(), int(key.size()), SQLITE_TRANSIENT);
            sqlite3_bind_blob(ins, 2, value.constData(), int(value.size()), SQLITE_STATIC);
            sqlite3_bind_int64(ins, 3, rows);
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    Rate rate;
    rate.rowsPerSecond = rows / (t.elapsed() / 1000.0);
    rate.writerCpuUsPerRow = (cpuSeconds() - cpu0) * 1e6 / double(rows);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return rate;
}

Rate Bench::replicatedRate(int rowsPerTxn, Durability d, bool withPeers)
{
    auto a = origin(d, path(u"a"_s), withPeers);
    const QByteArray value(100, 'v');
    QElapsedTimer t;
    t.start();
    const double cpu0 = cpuSeconds();
    const double peersCpu0 = peersCpuSeconds();
    qint64 rows = 0;
    while (t.elapsed() < m_seconds * 1000) {
        auto w = a->write([&](Transaction &tx) -> SyncResult<void> {
            for (int i = 0; i < rowsPerTxn; ++i, ++rows) {
                auto r = tx.exec(u"INSERT INTO kv VALUES(?, ?, ?)"_s,
                                 {u"k%1"_s.arg(rows), value, rows});
                if (!r)
                    return r.error();
            }
            return {};
        });
        if (!w)
            qFatal("write failed: %s", qPrintable(w.error().message));
        QCoreApplication::processEvents(); // the transport streams to the peers meanwhile
    }
    Rate rate;
    rate.rowsPerSecond = rows / (t.elapsed() / 1000.0);
    rate.writerCpuUsPerRow = (cpuSeconds() - cpu0) * 1e6 / double(rows);
    rate.peersCpuUsPerRow = (peersCpuSeconds() - peersCpu0) * 1e6 / double(rows);
    stopPeers();
    return rate;
}

Bench::Lag Bench::lag(int writesPerSecond, Durability d, TransportKind transport)
{
    auto a = origin(d, path(u"a"_s), true, transport);
    QHash<quint64, qint64> ackedAt; // seq -> realtime us
    const qint64 serverPid = m_natsServer && transport == TransportKind::Nats
                                     ? m_natsServer->processId()
                                     : 0;
    const double cpu0 = cpuSeconds(), peersCpu0 = peersCpuSeconds();
    const double serverCpu0 = serverPid ? cpuSeconds(serverPid) : 0;
    qint64 inWriteNs = 0, inLoopNs = 0; // origin's thread: in write(), in the event loop
    const auto [onCpu0, runQueue0] = threadSchedSeconds();
    QElapsedTimer t;
    t.start();
    qint64 written = 0;
    const qint64 total = qint64(writesPerSecond * m_seconds);
    while (written < total) {
        const qint64 due = t.elapsed() * writesPerSecond / 1000;
        while (written < std::min(due, total)) {
            const qint64 w0 = t.nsecsElapsed();
            auto w = a->execute(u"INSERT INTO kv VALUES(?, 'v', 0)"_s, {u"k%1"_s.arg(written)});
            inWriteNs += t.nsecsElapsed() - w0;
            if (!w)
                qFatal("write failed");
            ackedAt.insert(w->seq, realtimeUs());
            ++written;
        }
        const qint64 l0 = t.nsecsElapsed();
        pump(1);
        inLoopNs += t.nsecsElapsed() - l0;
        for (auto &p : m_peers)
            p->read();
    }
    const double wall = t.nsecsElapsed() / 1e9;
    const double achieved = written / wall;
    const auto [onCpu1, runQueue1] = threadSchedSeconds();
    const double onCpu = onCpu1 - onCpu0, runQueue = runQueue1 - runQueue0;
    const double cpu = cpuSeconds() - cpu0, peersCpu = peersCpuSeconds() - peersCpu0;
    const double serverCpu = serverPid ? cpuSeconds(serverPid) - serverCpu0 : 0;
    const quint64 last = a->cursors().value(u"a"_s);
    QElapsedTimer settle;
    settle.start();
    while (settle.elapsed() < 20000
           && std::any_of(m_peers.cbegin(), m_peers.cend(), [&](const auto &p) {
                  return p->lastApplied() < last;
              })) {
        pump(5);
        for (auto &p : m_peers)
            p->read();
    }
    QList<double> lags;
    qsizetype batches = 0; // apply transactions at the peers (each one fsync with `full`)
    for (const auto &p : m_peers)
        batches += p->applied.size();
    for (const auto &p : m_peers) {
        quint64 prev = 0;
        for (const auto &[seq, at] : p->applied) {
            for (quint64 s = prev + 1; s <= seq; ++s) {
                if (ackedAt.contains(s))
                    lags.append((at - ackedAt.value(s)) / 1000.0);
            }
            prev = seq;
        }
    }
    stopPeers();
    std::sort(lags.begin(), lags.end());
    const auto pct = [&](double q) {
        return lags.isEmpty()
                       ? -1.0
                       : lags.at(std::min<qsizetype>(lags.size() - 1, qsizetype(q * lags.size())));
    };
    std::printf("lag %-4s %-7s %5d writes/s offered, %7.0f achieved, 1 row/txn: p50 %6.1f ms  "
                "p99 %6.1f ms  max %6.1f ms  (%lld samples at 2 peers in %lld batches; target p99 "
                "<= 50 ms)\n",
                qPrintable(SyncConfig::transportName(transport)),
                qPrintable(SyncConfig::durabilityName(d)),
                writesPerSecond,
                achieved,
                pct(0.5),
                pct(0.99),
                lags.isEmpty() ? -1.0 : lags.last(),
                static_cast<long long>(lags.size()),
                static_cast<long long>(batches));
    // Where the origin's thread spent the run, and the CPU each process used (per wall second):
    // tells a slow disk (time in write(), little CPU) from CPU competition or work in the loop.
    // Per write, the origin's thread was on a CPU, waiting for one, or blocked (mostly in
    // fdatasync with `full`; the event loop's sleep excluded) for the rest.
    const double perWriteMs = written ? 1e3 / double(written) : 0.0;
    std::printf("    origin thread: %.3f ms per write in write() (%.0f %% of the run), %.0f %% in "
                "the event loop; per write: on CPU %.3f ms, waiting for a CPU %.3f ms, blocked "
                "%.3f ms; CPU/s: origin process %.2f, 2 peers %.2f, nats-server %.2f\n",
                written ? inWriteNs / 1e6 / double(written) : 0.0,
                100.0 * double(inWriteNs) / 1e9 / wall,
                100.0 * double(inLoopNs) / 1e9 / wall,
                onCpu * perWriteMs,
                runQueue * perWriteMs,
                std::max(0.0, wall - double(inLoopNs) / 1e9 - onCpu - runQueue) * perWriteMs,
                cpu / wall,
                peersCpu / wall,
                serverCpu / wall);
    return {pct(0.5), pct(0.99)};
}

void Bench::backlog()
{
    auto a = origin(Durability::Normal, path(u"a"_s), false);
    const QByteArray value(100, 'v');
    for (int txn = 0; txn < 1000; ++txn) {
        auto w = a->write([&](Transaction &tx) -> SyncResult<void> {
            for (int i = 0; i < 100; ++i) {
                auto r = tx.exec(u"INSERT INTO kv VALUES(?, ?, ?)"_s,
                                 {u"k%1-%2"_s.arg(txn).arg(i), value, i});
                if (!r)
                    return r.error();
            }
            return {};
        });
        if (!w)
            qFatal("write failed");
    }
    // In-process apply: the replica's own apply path, no network.
    {
        SyncConfig c;
        c.regionId = u"b"_s;
        c.databasePath = path(u"b"_s);
        c.durability = Durability::Normal;
        c.tls = tlsFiles(m_tlsDir);
        Replica b(c);
        if (!b.open() || !b.registerTable(u"kv"_s, kKvDdl))
            qFatal("cannot open b");
        QList<QList<LogEntry>> batches;
        quint64 after = 0;
        for (;;) {
            auto e = a->readLog(u"a"_s, after, 512, 1 << 20);
            if (!e || e->isEmpty())
                break;
            after = e->last().seq;
            batches.append(*e);
        }
        QElapsedTimer t;
        t.start();
        for (const auto &batch : batches) {
            if (!b.applyEntries(u"a"_s, batch))
                qFatal("apply failed");
        }
        const double s = t.elapsed() / 1000.0;
        std::printf("backlog  apply 100,000 changes (1,000 entries x 100 rows), in process: "
                    "%.2f s = %.0f changes/s (target >= 50,000)\n",
                    s,
                    100000 / s);
    }
    // Over loopback: b connects and catches up.
    {
        SyncConfig c;
        c.regionId = u"b"_s;
        c.databasePath = path(u"b"_s);
        c.durability = Durability::Normal;
        c.tls = tlsFiles(m_tlsDir);
        Replica b(c);
        if (!b.open() || !b.registerTable(u"kv"_s, kKvDdl))
            qFatal("cannot open b");
        QElapsedTimer t;
        t.start();
        (void) b.start();
        b.setPeers({{u"a"_s, u"127.0.0.1"_s, a->replicationPort()}});
        while (b.cursors().value(u"a"_s) < 1000 && t.elapsed() < 60000)
            QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        const double s = t.elapsed() / 1000.0;
        std::printf("backlog  same backlog over loopback TCP (sender and receiver in one thread): "
                    "%.2f s = %.0f changes/s\n",
                    s,
                    100000 / s);
    }
}

void Bench::resync()
{
    // The rows are written by plain SQLite and then adopted by the replica, so the origin's
    // replication log is empty, as after log truncation (the case resync exists for): the
    // region being resynced gets its data from the snapshot, not by replaying the log.
    const QString aDb = path(u"a"_s);
    const QByteArray value(1000, 'r');
    const qint64 targetBytes = qint64(m_resyncMb) * 1024 * 1024;
    int txn = 0;
    {
        sqlite3 *db = nullptr;
        sqlite3_open(aDb.toUtf8().constData(), &db);
        sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
        sqlite3_exec(db, kKvDdl.toUtf8().constData(), nullptr, nullptr, nullptr);
        sqlite3_stmt *ins = nullptr;
        sqlite3_prepare_v2(db, "INSERT INTO kv VALUES(?, ?, ?)", -1, &ins, nullptr);
        // Rows plus the replica's per-row metadata make the database about 1.1x the values.
        while (qint64(txn) * 500 * (value.size() + 100) < targetBytes) {
            sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
            for (int i = 0; i < 500; ++i) {
                const QByteArray key = "r" + QByteArray::number(txn) + '-' + QByteArray::number(i);
                sqlite3_bind_text(ins, 1, key.constData(), int(key.size()), SQLITE_TRANSIENT);
                sqlite3_bind_blob(ins, 2, value.constData(), int(value.size()), SQLITE_STATIC);
                sqlite3_bind_int64(ins, 3, i);
                sqlite3_step(ins);
                sqlite3_reset(ins);
            }
            sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
            ++txn;
        }
        sqlite3_finalize(ins);
        sqlite3_close(db);
    }
    auto a = origin(Durability::Normal, aDb, false);
    (void) a->query(u"PRAGMA wal_checkpoint(TRUNCATE)"_s);
    const qint64 rows = qint64(txn) * 500;
    // Baseline: VACUUM INTO plus a file copy.
    QElapsedTimer t;
    t.start();
    const QString vac = path(u"vacuum"_s);
    if (!a->query(u"VACUUM INTO ?"_s, {vac}))
        qFatal("VACUUM INTO failed");
    const QString copy = path(u"copy"_s);
    QFile::copy(vac, copy);
    const double baseline = t.elapsed() / 1000.0;
    const qint64 size = QFileInfo(vac).size();

    SyncConfig c;
    c.regionId = u"b"_s;
    c.databasePath = path(u"b"_s);
    c.durability = Durability::Normal;
    c.tls = tlsFiles(m_tlsDir);
    c.peers = {{u"a"_s, u"127.0.0.1"_s, a->replicationPort()}};
    Replica b(c);
    if (!b.open() || !b.registerTable(u"kv"_s, kKvDdl) || !b.start())
        qFatal("cannot open b");
    // Where the time goes: when each phase began, relative to the start.
    QString phases;
    ResyncProgress::Phase lastPhase = ResyncProgress::Phase::Idle;
    QObject::connect(&b, &Replica::resyncProgress, [&](const ResyncProgress &p) {
        if (p.phase == lastPhase)
            return;
        lastPhase = p.phase;
        phases += u" %1@%2s"_s.arg(ResyncProgress::phaseName(p.phase))
                          .arg(t.elapsed() / 1000.0, 0, 'f', 2);
    });
    t.restart();
    if (!b.startResync(u"a"_s))
        qFatal("cannot start resync");
    while (b.resyncStatus().phase != ResyncProgress::Phase::Done
           && b.resyncStatus().phase != ResyncProgress::Phase::Failed && t.elapsed() < 600000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    const double took = t.elapsed() / 1000.0;
    std::printf(
            "resync   %.0f MB, %lld rows: VACUUM INTO + copy %.2f s (%.0f MB/s); snapshot resync "
            "(VACUUM INTO, BLAKE2b, TCP, quick_check, swap, catch-up) %.2f s (%.0f MB/s); "
            "speed ratio %.2f (target >= 0.5) [%s; phases:%s]\n",
            size / 1048576.0,
            static_cast<long long>(rows),
            baseline,
            size / 1048576.0 / baseline,
            took,
            size / 1048576.0 / took,
            baseline / took,
            qPrintable(ResyncProgress::phaseName(b.resyncStatus().phase)),
            qPrintable(phases));
}

int Bench::run()
{
    std::printf("bench_sync: %.0f s per measurement, database files in %s%s\n",
                m_seconds,
                qPrintable(m_dir.path()),
                m_tlsDir.isEmpty() ? ""
                                   : qPrintable(u"; replication over mutual TLS (certificates in "
                                                "%1)"_s.arg(m_tlsDir)));
    const auto wanted = [this](const QString &name) {
        return m_only.isEmpty() || m_only.contains(name);
    };
    for (Durability d : m_modes) {
        for (int rows : m_rows) {
            if (!wanted(u"commit"_s))
                break;
            const Rate plain = plainRate(rows, d);
            const Rate captured = replicatedRate(rows, d, false);
            const Rate repl = replicatedRate(rows, d, true);
            std::printf(
                    "commit   %-7s %3d rows/txn: plain SQLite %9.0f rows/s, captured (no peers) "
                    "%9.0f rows/s, captured + replicated to 2 peers %9.0f rows/s, ratio %.2f "
                    "(target >= %.1f); CPU us/row: plain %.1f, captured %.1f, replicated %.1f "
                    "+ peers %.1f\n",
                    qPrintable(SyncConfig::durabilityName(d)),
                    rows,
                    plain.rowsPerSecond,
                    captured.rowsPerSecond,
                    repl.rowsPerSecond,
                    repl.rowsPerSecond / plain.rowsPerSecond,
                    rows == 1 ? 0.5 : 0.8,
                    plain.writerCpuUsPerRow,
                    captured.writerCpuUsPerRow,
                    repl.writerCpuUsPerRow,
                    repl.peersCpuUsPerRow);
            std::fflush(stdout);
        }
    }
    if (wanted(u"lag"_s)) {
        if (m_natsUrl == "start"_L1 && !startNatsServer())
            qFatal("cannot start nats-server");
        for (Durability d : std::as_const(m_modes)) {
            const Lag tcp = lag(2000, d);
            std::fflush(stdout);
            if (m_natsUrl.isEmpty())
                continue;
            const Lag nats = lag(2000, d, TransportKind::Nats);
            std::printf("lag nats/tcp %-7s p50 x%.2f  p99 x%.2f  (same run, same machine)\n",
                        qPrintable(SyncConfig::durabilityName(d)),
                        tcp.p50 > 0 ? nats.p50 / tcp.p50 : -1.0,
                        tcp.p99 > 0 ? nats.p99 / tcp.p99 : -1.0);
            std::fflush(stdout);
        }
    }
    if (wanted(u"backlog"_s)) {
        backlog();
        std::fflush(stdout);
    }
    if (wanted(u"resync"_s))
        resync();
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    tuneAllocatorForLargeBuffers(); // as meridiand does
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
            u"Data sync benchmark: commit rate with capture and replication to 2 peer processes vs "
            "plain SQLite, replication lag, backlog apply and snapshot resync (docs/benchmarks.md)."_s);
    parser.addHelpOption();
    parser.addOptions({
            {u"peer"_s, u"run as a peer replica (internal)"_s},
            {u"region"_s, u"peer region"_s, u"id"_s},
            {u"db"_s, u"peer database"_s, u"path"_s},
            {u"durability"_s, u"peer durability"_s, u"mode"_s, u"full"_s},
            {u"origin-port"_s, u"origin port"_s, u"port"_s},
            {u"nats-cluster"_s, u"peer NATS cluster name"_s, u"name"_s},
            {u"transport"_s,
             u"also measure lag over this transport vs tcp (tcp, nats)"_s,
             u"name"_s,
             u"tcp"_s},
            {u"nats-url"_s,
             u"NATS server for --transport nats (default: start nats-server -js here)"_s,
             u"url"_s},
            {u"nats-store"_s,
             u"put the started nats-server's store under this directory (e.g. /dev/shm)"_s,
             u"dir"_s},
            {u"tls-dir"_s,
             u"replicate over mutual TLS with node.pem, node.key and ca.pem from this directory "
             "(e.g. tests/sync/tls)"_s,
             u"dir"_s},
            {u"seconds"_s, u"seconds per measurement"_s, u"s"_s, u"3"_s},
            {u"resync-mb"_s, u"database size for the resync measurement"_s, u"mb"_s, u"200"_s},
            {u"only"_s,
             u"run only these measurements (commit, lag, backlog, resync; comma-separated)"_s,
             u"list"_s},
            {u"rows"_s,
             u"rows per transaction of the commit measurement (comma-separated)"_s,
             u"list"_s,
             u"100,1"_s},
            {u"modes"_s,
             u"durability modes of the commit and lag measurements (full, normal; "
             "comma-separated)"_s,
             u"list"_s,
             u"full,normal"_s},
    });
    parser.process(app);
    if (parser.isSet(u"peer"_s))
        return runPeer(parser);
    const QStringList only = parser.value(u"only"_s).split(u',', Qt::SkipEmptyParts);
    for (const QString &name : only) {
        if (!QStringList{u"commit"_s, u"lag"_s, u"backlog"_s, u"resync"_s}.contains(name)) {
            std::fprintf(stderr, "bench_sync: unknown measurement \"%s\"\n", qPrintable(name));
            return 2;
        }
    }
    QList<int> rows;
    for (const QString &n : parser.value(u"rows"_s).split(u',', Qt::SkipEmptyParts)) {
        if (n.toInt() <= 0) {
            std::fprintf(stderr, "bench_sync: bad --rows value \"%s\"\n", qPrintable(n));
            return 2;
        }
        rows.append(n.toInt());
    }
    QList<Durability> modes;
    for (const QString &m : parser.value(u"modes"_s).split(u',', Qt::SkipEmptyParts)) {
        const auto d = SyncConfig::parseDurability(m);
        if (!d) {
            std::fprintf(stderr, "bench_sync: unknown durability \"%s\"\n", qPrintable(m));
            return 2;
        }
        modes.append(*d);
    }
    const auto transport = SyncConfig::parseTransport(parser.value(u"transport"_s));
    if (!transport) {
        std::fprintf(stderr,
                     "bench_sync: unknown transport \"%s\" (tcp, nats)\n",
                     qPrintable(parser.value(u"transport"_s)));
        return 2;
    }
    QString natsUrl;
    if (*transport == TransportKind::Nats)
        natsUrl = parser.isSet(u"nats-url"_s) ? parser.value(u"nats-url"_s) : u"start"_s;
    Bench bench(parser.value(u"seconds"_s).toDouble(),
                parser.value(u"resync-mb"_s).toInt(),
                only,
                rows,
                modes,
                natsUrl,
                parser.value(u"nats-store"_s),
                parser.value(u"tls-dir"_s));
    return bench.run();
}
