// How fast a cache purge reaches the edges: a LocalCluster of meridiand processes (3 regions +
// 2 edges, optionally with simulated WAN latency between regions), the demo site's
// /assets/site.css (public, max-age=3600) cached at both edges. Each round POSTs
// /v1/cache/purge to a region node that is not the control leader (the call is forwarded, as an
// operator's usually is), then polls both edges for the file until each answers X-Cache: MISS,
// and GET /v1/cache/purge/{id} until it says done. Prints, per round and as medians: the
// control call's time, the time until each edge had dropped the file (measured from the start of
// the call), and until the status route reported every edge (it reads the edges' probes).
#include "../../tests/edge/edgeload.h"
#include "../../tests/node/testhttp.h"
#include "core/cluster/localcluster.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTemporaryDir>
#include <QThread>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace Qt::StringLiterals;
using namespace Meridian;
using MeridianTest::at;
using MeridianTest::call;

namespace {

double msSince(qint64 startUs)
{
    return double(EdgeLoad::nowUs() - startUs) / 1000.0;
}

double median(std::vector<double> values)
{
    if (values.empty())
        return -1.0;
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

// GETs the file until the edge answers from its cache; false if it never does.
bool warm(const QUrl &edge)
{
    for (int i = 0; i < 50; ++i) {
        if (call("GET", at(edge, u"/assets/site.css"_s), {}, {}, 2000).header("X-Cache") == "HIT")
            return true;
        QThread::msleep(20);
    }
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Cache purge propagation benchmark (local cluster)."_s);
    parser.addHelpOption();
    QCommandLineOption roundsOption(u"rounds"_s, u"Rounds (default 10)."_s, u"N"_s, u"10"_s);
    QCommandLineOption wanOption(u"wan"_s, u"Simulate WAN latency between regions."_s);
    QCommandLineOption binOption(u"meridiand"_s, u"Path of meridiand."_s, u"PATH"_s);
    parser.addOptions({roundsOption, wanOption, binOption});
    parser.process(app);
    const int rounds = std::max(1, parser.value(roundsOption).toInt());

    QTemporaryDir dir;
    LocalCluster cluster(dir.filePath(u"c"_s));
    LocalClusterOptions options;
    options.regions = 3;
    options.edges = 2;
    options.simulateWan = parser.isSet(wanOption);
    options.meridiandPath = parser.value(binOption);
    QString error;
    if (!cluster.up(options, &error)) {
        std::fprintf(stderr, "purge: %s\n", qPrintable(error));
        return 1;
    }
    const QList<QUrl> edges = {cluster.node(u"edge-1"_s)->dataUrl,
                               cluster.node(u"edge-2"_s)->dataUrl};
    const QByteArray admin = cluster.adminToken();
    // us-east is the primary, so the control leader: send the call to eu-west, which forwards it.
    const QUrl control = cluster.node(u"eu-west"_s)->controlUrl;
    std::printf("cache purge: 3 regions + 2 edges%s, POST /v1/cache/purge to eu-west (forwarded "
                "to the leader us-east), probe_interval_ms 1000\n",
                options.simulateWan ? ", WAN latency simulated" : "");

    std::vector<double> callMs, edgeMs, statusMs;
    int status = 0;
    for (int round = 1; round <= rounds; ++round) {
        for (const QUrl &edge : edges) {
            if (!warm(edge)) {
                std::fprintf(stderr,
                             "purge: %s never served the file from its cache\n",
                             qPrintable(edge.toString()));
                return 1;
            }
        }
        const qint64 began = EdgeLoad::nowUs();
        const auto answer = call("POST",
                                 at(control, u"/v1/cache/purge"_s),
                                 admin,
                                 R"({"paths": ["/assets/*"]})");
        const double answered = msSince(began);
        if (answer.status != 202) {
            std::fprintf(stderr, "purge: HTTP %d %s\n", answer.status, answer.body.constData());
            return 1;
        }
        const QString id = answer.json().value(u"action"_s).toObject().value(u"id"_s).toString();
        std::vector<double> dropped(size_t(edges.size()), -1.0);
        double reported = -1.0;
        while (msSince(began) < 30000.0
               && (reported < 0 || std::any_of(dropped.begin(), dropped.end(), [](double v) {
                       return v < 0;
                   }))) {
            for (qsizetype i = 0; i < edges.size(); ++i) {
                if (dropped[size_t(i)] >= 0)
                    continue;
                const auto css = call("GET", at(edges.at(i), u"/assets/site.css"_s), {}, {}, 2000);
                if (css.header("X-Cache") == "MISS")
                    dropped[size_t(i)] = msSince(began);
            }
            if (reported < 0
                && call("GET", at(control, u"/v1/cache/purge/"_s + id), admin)
                           .json()
                           .value(u"done"_s)
                           .toBool())
                reported = msSince(began);
        }
        const double slowest = *std::max_element(dropped.begin(), dropped.end());
        const bool missing = std::any_of(dropped.begin(), dropped.end(), [](double v) {
            return v < 0;
        });
        std::printf("round %2d: call %.1f ms; dropped at edge-1 %.1f ms, edge-2 %.1f ms; status "
                    "done %.1f ms\n",
                    round,
                    answered,
                    dropped[0],
                    dropped[1],
                    reported);
        if (missing || reported < 0)
            status = 1;
        callMs.push_back(answered);
        edgeMs.push_back(slowest);
        statusMs.push_back(reported);
    }
    std::printf("median of %d rounds: call %.1f ms, every edge dropped it %.1f ms (max %.1f ms), "
                "status done %.1f ms\n",
                rounds,
                median(callMs),
                median(edgeMs),
                *std::max_element(edgeMs.begin(), edgeMs.end()),
                median(statusMs));
    cluster.down(5000, &error);
    return status;
}
