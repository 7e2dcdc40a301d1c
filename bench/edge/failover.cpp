// Failover and drain through a real edge: a LocalCluster of meridiand processes (3 regions +
// 1 edge, 1 worker thread), round_robin, and a bounded keep-alive load (tests/edge/edgeload).
//
// kill:  SIGKILL one region under load; counts failed requests (anything but 200) and measures
//        the time from the SIGKILL to the last attempt the edge started at that region (polling
//        the edge's meridian_edge_attempts_total every 10 ms), i.e. until its share is 0.
// drain: POST /v1/regions/ID/drain under load; counts failed requests and measures the time from
//        the control call to the last request served by that region (its send time: the edge
//        picked it at or after that moment, and its finish time: an upper bound).
#include "../../tests/edge/edgeload.h"
#include "../../tests/node/testhttp.h"
#include "core/cluster/localcluster.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <cstdio>

using namespace Qt::StringLiterals;
using namespace Meridian;
using MeridianTest::at;
using MeridianTest::call;

namespace {

double attemptsAt(const QUrl &edgeControl, const QString &region)
{
    const auto metrics = call("GET", at(edgeControl, u"/metrics"_s), {}, {}, 2000);
    const QRegularExpression line(u"^meridian_edge_attempts_total\\{region=\"%1\"\\} (\\S+)$"_s.arg(
                                          region),
                                  QRegularExpression::MultilineOption);
    const auto match = line.match(QString::fromUtf8(metrics.body));
    return match.hasMatch() ? match.captured(1).toDouble() : -1.0;
}

int failed(const std::vector<EdgeLoad::Sample> &samples, qint64 fromUs = 0)
{
    return int(std::count_if(samples.begin(), samples.end(), [fromUs](const auto &s) {
        return s.sentUs >= fromUs && s.status != 200;
    }));
}

// Polls until `condition` or the deadline; false on timeout.
template<typename F>
bool waitFor(F condition, int timeoutMs)
{
    const qint64 until = EdgeLoad::nowUs() + qint64(timeoutMs) * 1000;
    while (!condition()) {
        if (EdgeLoad::nowUs() > until)
            return false;
        QThread::msleep(20);
    }
    return true;
}

bool servesAll(EdgeLoad &load, qint64 sinceUs, int regions)
{
    QSet<QByteArray> seen;
    for (const auto &s : load.samples())
        if (s.sentUs > sinceUs && s.status == 200)
            seen.insert(s.region);
    return seen.size() == regions;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Edge failover and drain benchmark (local cluster)."_s);
    parser.addHelpOption();
    QCommandLineOption roundsOption(u"rounds"_s, u"Rounds of each (default 3)."_s, u"N"_s, u"3"_s);
    QCommandLineOption connOption(u"connections"_s,
                                  u"Keep-alive client connections (default 8)."_s,
                                  u"N"_s,
                                  u"8"_s);
    QCommandLineOption binOption(u"meridiand"_s, u"Path of meridiand."_s, u"PATH"_s);
    parser.addOptions({roundsOption, connOption, binOption});
    parser.process(app);
    const int rounds = parser.value(roundsOption).toInt();
    const int connections = parser.value(connOption).toInt();

    QTemporaryDir dir;
    LocalCluster cluster(dir.filePath(u"c"_s));
    LocalClusterOptions options;
    options.regions = 3;
    options.edges = 1;
    options.meridiandPath = parser.value(binOption);
    options.controlOverrides = {{u"probe_interval_ms"_s, 200}};
    options.edgeOverrides = {{u"workers"_s, 1}};
    QString error;
    if (!cluster.up(options, &error)) {
        std::fprintf(stderr, "failover: %s\n", qPrintable(error));
        return 1;
    }
    const quint16 port = quint16(cluster.node(u"edge-1"_s)->dataUrl.port());
    const QUrl edgeControl = cluster.node(u"edge-1"_s)->controlUrl;
    const QUrl control = cluster.node(u"us-east"_s)->controlUrl;
    const QByteArray admin = cluster.adminToken();
    call("PUT", at(control, u"/v1/strategy"_s), admin, R"({"name": "round_robin"})");
    waitFor(
            [&] {
                return call("GET", at(edgeControl, u"/v1/strategy"_s), admin)
                               .json()
                               .value(u"name"_s)
                               .toString()
                       == u"round_robin"_s;
            },
            10000);
    std::printf("edge failover/drain: 3 regions + 1 edge (1 worker), round_robin, %d keep-alive "
                "connections, GET /healthz\n",
                connections);

    int status = 0;
    for (int round = 1; round <= rounds; ++round) {
        // --- drain eu-west -------------------------------------------------------------------
        {
            EdgeLoad load(port, "/healthz", connections);
            load.start(10'000'000, 60'000);
            const qint64 began = EdgeLoad::nowUs();
            if (!waitFor([&] { return servesAll(load, began, 3); }, 20000)) {
                std::fprintf(stderr, "failover: not every region serves before the drain\n");
                return 1;
            }
            const qint64 before = EdgeLoad::nowUs();
            const auto answer = call("POST",
                                     at(control, u"/v1/regions/eu-west/drain"_s),
                                     admin,
                                     R"({"deadline_s": 60})");
            const qint64 after = EdgeLoad::nowUs();
            waitFor([&] { return EdgeLoad::nowUs() > after + 3'000'000; }, 10000);
            load.stop();
            const auto samples = load.samples();
            qint64 lastSent = 0;
            qint64 lastDone = 0;
            for (const auto &s : samples) {
                if (s.region == "eu-west") {
                    lastSent = std::max(lastSent, s.sentUs);
                    lastDone = std::max(lastDone, s.doneUs);
                }
            }
            const int bad = failed(samples, began);
            std::printf("round %d drain: HTTP %d, control call %.1f ms; last request to eu-west "
                        "sent %+.1f ms / finished %+.1f ms after the call began; %zu requests, "
                        "%d failed\n",
                        round,
                        answer.status,
                        double(after - before) / 1000.0,
                        double(lastSent - before) / 1000.0,
                        double(lastDone - before) / 1000.0,
                        samples.size(),
                        bad);
            status |= bad != 0;
            call("POST", at(control, u"/v1/regions/eu-west/activate"_s), admin, "{}");
        }
        // --- SIGKILL ap-southeast ------------------------------------------------------------
        {
            EdgeLoad load(port, "/healthz", connections);
            load.start(10'000'000, 60'000);
            const qint64 began = EdgeLoad::nowUs();
            if (!waitFor([&] { return servesAll(load, began, 3); }, 20000)) {
                std::fprintf(stderr, "failover: not every region serves before the kill\n");
                return 1;
            }
            const qint64 killed = EdgeLoad::nowUs();
            if (!cluster.kill(u"ap-southeast"_s, &error)) {
                std::fprintf(stderr, "failover: %s\n", qPrintable(error));
                return 1;
            }
            // The first poll after the kill bounds the time when nothing changes after it.
            double last = attemptsAt(edgeControl, u"ap-southeast"_s);
            qint64 lastChange = EdgeLoad::nowUs();
            while (EdgeLoad::nowUs() < killed + 3'000'000) {
                QThread::msleep(10);
                const double now = attemptsAt(edgeControl, u"ap-southeast"_s);
                if (now != last) {
                    last = now;
                    lastChange = EdgeLoad::nowUs();
                }
            }
            load.stop();
            const auto samples = load.samples();
            const qint64 afterKill
                    = std::count_if(samples.begin(), samples.end(), [killed](const auto &s) {
                          return s.sentUs >= killed;
                      });
            const int bad = failed(samples, began);
            for (const auto &s : samples) {
                if (s.status != 200)
                    std::printf("  failed: status %d, sent %+.1f ms after the kill, took %.1f ms\n",
                                s.status,
                                double(s.sentUs - killed) / 1000.0,
                                double(s.doneUs - s.sentUs) / 1000.0);
            }
            std::printf("round %d kill: last attempt at ap-southeast <= %.0f ms after SIGKILL "
                        "(10 ms polls); %lld requests after the kill, %d failed\n",
                        round,
                        double(lastChange - killed) / 1000.0,
                        static_cast<long long>(afterKill),
                        bad);
            status |= bad != 0;
            if (!cluster.start(u"ap-southeast"_s, &error)) {
                std::fprintf(stderr, "failover: %s\n", qPrintable(error));
                return 1;
            }
        }
    }
    cluster.down(5000, &error);
    return status;
}
