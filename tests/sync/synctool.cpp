// synctool: a replica in its own process, for crash-safety tests. Opens a replica with full
// durability, prints "PORT <n>" once it listens, then writes one row per event-loop turn and
// prints "ACK <key> <seq>" after each write returns (that is, once it is durable). Exits when
// its standard input closes. Prints "APPLIED <origin> <seq>" after each applied batch.
#include "core/sync/replica.h"
#include "synctestsupport.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QSocketNotifier>
#include <QTimer>

#include <cstdio>
#include <unistd.h>

using namespace Meridian;
using namespace Qt::StringLiterals;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addOptions({
            {u"region"_s, u"region id"_s, u"id"_s},
            {u"db"_s, u"database path"_s, u"path"_s},
            {u"peer"_s, u"peer as id=host:port"_s, u"peer"_s},
            {u"writes"_s, u"rows to write"_s, u"n"_s, u"0"_s},
    });
    parser.process(app);
    SyncConfig c;
    c.regionId = parser.value(u"region"_s);
    c.databasePath = parser.value(u"db"_s);
    c.durability = Durability::Full;
    c.heartbeatIntervalMs = 100;
    c.reconnectMinMs = 20;
    c.reconnectMaxMs = 200;
    for (const QString &p : parser.values(u"peer"_s)) {
        const QStringList idAddr = p.split(u'=');
        const QStringList hostPort = idAddr.value(1).split(u':');
        c.peers.append({idAddr.value(0), hostPort.value(0), quint16(hostPort.value(1).toUInt())});
    }
    Replica replica(c);
    auto fail = [](const SyncError &e) {
        std::fprintf(stderr, "synctool: %s\n", qPrintable(e.message));
        return 1;
    };
    if (auto r = replica.open(); !r)
        return fail(r.error());
    if (auto r = replica.registerTable(u"kv"_s, Meridian::Test::kvTableDdl()); !r)
        return fail(r.error());
    if (auto r = replica.start(); !r)
        return fail(r.error());
    QObject::connect(&replica,
                     &Replica::applied,
                     &app,
                     [](const QString &origin, quint64 seq, quint64) {
                         std::printf("APPLIED %s %llu\n",
                                     qPrintable(origin),
                                     static_cast<unsigned long long>(seq));
                         std::fflush(stdout);
                     });
    std::printf("PORT %u\n", replica.replicationPort());
    std::fflush(stdout);

    const int writes = parser.value(u"writes"_s).toInt();
    const qint64 base = replica.cursors().value(c.regionId);
    int done = 0;
    QTimer writer;
    writer.setInterval(0);
    QObject::connect(&writer, &QTimer::timeout, &app, [&] {
        if (done >= writes) {
            writer.stop();
            return;
        }
        const QString key = u"%1-%2"_s.arg(c.regionId).arg(base + done);
        auto w = replica.execute(u"INSERT INTO kv VALUES(?, ?, ?)"_s,
                                 {key, QByteArray(100, 'x'), done});
        if (!w) {
            std::fprintf(stderr, "synctool: write failed: %s\n", qPrintable(w.error().message));
            app.exit(1);
            return;
        }
        std::printf("ACK %s %llu\n", qPrintable(key), static_cast<unsigned long long>(w->seq));
        std::fflush(stdout);
        ++done;
    });
    writer.start();

    QSocketNotifier stdinWatch(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&stdinWatch, &QSocketNotifier::activated, &app, [&] {
        char buf[256];
        if (::read(STDIN_FILENO, buf, sizeof buf) <= 0)
            app.quit();
    });
    return app.exec();
}
