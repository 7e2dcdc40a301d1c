// The edge role end to end: a LocalCluster of real meridiand processes (3 regions + 1 edge) on
// loopback ports, requests through the edge's data port, strategies, drain and a region killed
// under load, all driven through the control API.
#include "../node/nodelogs.h"
#include "../node/testhttp.h"
#include "core/cluster/localcluster.h"
#include "edgeload.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QJsonArray>
#include <QMap>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace Meridian;
using MeridianTest::at;
using MeridianTest::call;

class tst_EdgeCluster final : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    quint16 m_edgePort = 0;
    QUrl m_control;     // a region's control API (forwards mutations to the leader)
    QUrl m_edgeControl; // the edge node's control API

    QJsonObject cluster() { return call("GET", at(m_control, u"/v1/cluster"_s), viewer()).json(); }
    QByteArray admin() const { return m_cluster->adminToken(); }
    QByteArray viewer() const { return m_cluster->viewerToken(); }

    // Sends `count` requests one after the other and counts the serving regions; "" counts
    // failed requests (anything but 200).
    QMap<QByteArray, int> spread(int count, const QList<QByteArray> &headers = {})
    {
        EdgeLoad load(m_edgePort, "/healthz", 1);
        load.setHeaderVariants(headers);
        load.start(count, 30000);
        load.wait();
        QMap<QByteArray, int> seen;
        for (const EdgeLoad::Sample &s : load.samples())
            ++seen[s.status == 200 ? s.region : QByteArray()];
        return seen;
    }

    // Sets the strategy through the control API and waits until the edge node has it.
    bool setStrategy(const QString &name)
    {
        const auto answer = call("PUT",
                                 at(m_control, u"/v1/strategy"_s),
                                 admin(),
                                 QJsonDocument(QJsonObject{{u"name"_s, name}}).toJson());
        if (answer.status != 200) {
            qWarning() << "PUT /v1/strategy" << answer.status << answer.body;
            return false;
        }
        // A poll with a deadline: the change reaches the edge through replication.
        QDeadlineTimer deadline(10000);
        while (call("GET", at(m_edgeControl, u"/v1/strategy"_s), viewer())
                       .json()
                       .value(u"name"_s)
                       .toString()
               != name) {
            if (deadline.hasExpired())
                return false;
            QTest::qWait(50);
        }
        return true;
    }

    bool setWeight(const QString &region, int weight)
    {
        return call("PUT",
                    at(m_control, u"/v1/regions/%1/weight"_s.arg(region)),
                    admin(),
                    QJsonDocument(QJsonObject{{u"weight"_s, weight}}).toJson())
                       .status
               == 200;
    }

    // The edge node's view of a region's state.
    QString edgeState(const QString &region)
    {
        return call("GET", at(m_edgeControl, u"/v1/regions/%1"_s.arg(region)), viewer())
                .json()
                .value(u"state"_s)
                .toString();
    }

    QJsonObject edgeTraffic(const QString &region)
    {
        for (const QJsonValue &r : cluster().value(u"regions"_s).toArray()) {
            if (r.toObject().value(u"id"_s).toString() == region)
                return r.toObject().value(u"edge"_s).toObject();
        }
        return {};
    }

    static QSet<QByteArray> regionsIn(const std::vector<EdgeLoad::Sample> &samples)
    {
        QSet<QByteArray> seen;
        for (const auto &s : samples)
            seen.insert(s.region);
        return seen;
    }

    static int failures(const std::vector<EdgeLoad::Sample> &samples)
    {
        int failed = 0;
        for (const auto &s : samples)
            failed += s.status != 200;
        return failed;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_cluster = std::make_unique<LocalCluster>(m_dir.filePath(u"c"_s));
        LocalClusterOptions options;
        options.regions = 3;
        options.edges = 1;
        options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
        // Purges wait for a second admin here (purgeReachesTheEdge).
        options.controlOverrides = {{u"probe_interval_ms"_s, 200},
                                    {u"approval_required"_s, QJsonArray{u"purge"_s}}};
        options.edgeOverrides = {{u"workers"_s, 2}, {u"hash_key"_s, u"header:X-Session"_s}};
        QString error;
        QVERIFY2(m_cluster->up(options, &error), qPrintable(error));
        const LocalNode *edge = m_cluster->node(u"edge-1"_s);
        QVERIFY(edge);
        m_edgePort = quint16(edge->dataUrl.port());
        m_edgeControl = edge->controlUrl;
        m_control = m_cluster->node(u"us-east"_s)->controlUrl;
        QVERIFY(setStrategy(u"round_robin"_s));
        // Every region takes traffic once the edge has checked them.
        QTRY_VERIFY_WITH_TIMEOUT(spread(30).size() == 3 && !spread(30).contains(QByteArray()),
                                 20000);
    }

    void cleanupTestCase()
    {
        if (m_cluster) {
            QString error;
            m_cluster->down(5000, &error);
            const QStringList critical = MeridianTest::criticalLogLines(m_cluster->nodes());
            QVERIFY2(critical.isEmpty(), qPrintable(critical.join(u'\n')));
        }
    }

    void proxiesAndNamesTheRegion()
    {
        EdgeLoad load(m_edgePort, "/", 1);
        load.start(3, 10000);
        load.wait();
        for (const EdgeLoad::Sample &s : load.samples()) {
            QCOMPARE(s.status, 200);
            QVERIFY2(m_cluster->node(QString::fromUtf8(s.region)), s.region.constData());
        }
        // The edge's traffic is in GET /v1/cluster and the edge node's /metrics.
        QTRY_VERIFY_WITH_TIMEOUT(edgeTraffic(u"us-east"_s).value(u"requests"_s).toDouble() > 0,
                                 10000);
        const auto metrics = call("GET", at(m_edgeControl, u"/metrics"_s), {});
        QCOMPARE(metrics.status, 200);
        QVERIFY(metrics.body.contains("meridian_edge_requests_total{region=\"eu-west\""));
        // Per-region latency is a histogram of every answered request: its count is the sum of
        // the status classes (both read in one collection), +Inf holds them all.
        const auto value = [&metrics](const QByteArray &series) {
            for (const QByteArray &line : metrics.body.split('\n')) {
                if (line.startsWith(series + ' '))
                    return line.mid(series.size() + 1).toDouble();
            }
            return -1.0;
        };
        double answered = 0;
        for (const char *cls : {"none", "1xx", "2xx", "3xx", "4xx", "5xx"})
            answered += value("meridian_edge_requests_total{region=\"eu-west\",class=\""
                              + QByteArray(cls) + "\"}");
        QVERIFY(answered > 0);
        const QByteArray histogram = "meridian_edge_request_duration_seconds";
        QCOMPARE(value(histogram + "_count{region=\"eu-west\"}"), answered);
        QCOMPARE(value(histogram + "_bucket{region=\"eu-west\",le=\"+Inf\"}"), answered);
        QVERIFY(value(histogram + "_bucket{region=\"eu-west\",le=\"1.048576\"}") > 0);
        QVERIFY(value(histogram + "_sum{region=\"eu-west\"}") > 0);
        QVERIFY(value("meridian_edge_cache_misses_total") >= 0);
        QVERIFY(value("meridian_edge_cache_bytes") >= 0);
        QVERIFY(value("meridian_edge_busy_poll_seconds_total") >= 0); // present: -1 if not
        // ... and in the control API's `traffic` events.
        QNetworkAccessManager manager;
        QNetworkRequest request(at(m_control, u"/v1/events"_s));
        request.setRawHeader("Authorization", "Bearer " + viewer());
        std::unique_ptr<QNetworkReply> events(manager.get(request));
        QByteArray stream;
        connect(events.get(), &QNetworkReply::readyRead, this, [&]() {
            stream += events->readAll();
        });
        const auto edgeTrafficEvent = [&stream]() {
            for (const QByteArray &block : stream.split('\n')) {
                if (block.startsWith("data: ") && block.contains("\"traffic_share\"")
                    && block.contains("\"edge\":{") && block.contains("\"2xx\""))
                    return true;
            }
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(stream.contains("event: traffic") && edgeTrafficEvent(), 10000);
        events->abort();
    }

    void roundRobin()
    {
        QVERIFY(setStrategy(u"round_robin"_s));
        const auto seen = spread(60);
        QCOMPARE(seen.value(QByteArray()), 0);
        QCOMPARE(seen.size(), 3);
        for (auto it = seen.begin(); it != seen.end(); ++it)
            QVERIFY2(it.value() >= 10, it.key().constData());
    }

    // The strategies without a test of their own above: every request is served (status 200,
    // by a region of the cluster), and those that spread load do reach every region.
    void everyOtherStrategyServes_data()
    {
        QTest::addColumn<QString>("strategy");
        QTest::addColumn<int>("minRegions");
        QTest::addRow("random") << u"random"_s << 3;
        QTest::addRow("weighted_random") << u"weighted_random"_s << 3;
        // One request at a time: every count is 0, and ties rotate over the regions.
        QTest::addRow("least_connections") << u"least_connections"_s << 3;
        QTest::addRow("least_request") << u"least_request"_s << 3;
        // Loopback latencies are nearly equal, so which region wins is not fixed.
        QTest::addRow("latency_ewma") << u"latency_ewma"_s << 1;
    }

    void everyOtherStrategyServes()
    {
        QFETCH(QString, strategy);
        QFETCH(int, minRegions);
        QVERIFY(setStrategy(strategy));
        const auto seen = spread(90);
        QCOMPARE(seen.value(QByteArray()), 0);
        for (auto it = seen.begin(); it != seen.end(); ++it)
            QVERIFY2(m_cluster->node(QString::fromUtf8(it.key())), it.key().constData());
        QVERIFY2(seen.size() >= minRegions, qPrintable(u"%1 regions"_s.arg(seen.size())));
    }

    void weighted()
    {
        QVERIFY(setStrategy(u"weighted_round_robin"_s));
        QVERIFY(setWeight(u"us-east"_s, 400));
        auto reset = qScopeGuard([this]() { setWeight(u"us-east"_s, 100); });
        // 4 : 1 : 1 once the edge has the weight.
        QTRY_VERIFY_WITH_TIMEOUT(spread(60).value("us-east") >= 30, 10000);
        const auto seen = spread(60);
        QCOMPARE(seen.value(QByteArray()), 0);
        QVERIFY(seen.value("us-east") > 2 * seen.value("eu-west"));
        QVERIFY(seen.value("us-east") > 2 * seen.value("ap-southeast"));
        QVERIFY(seen.value("eu-west") > 0);
    }

    void failover()
    {
        // The first region in failover order (priority, then id) takes everything.
        QString first;
        int best = INT_MAX;
        for (const QJsonValue &v : cluster().value(u"regions"_s).toArray()) {
            const QJsonObject r = v.toObject();
            const int priority = r.value(u"priority"_s).toInt();
            const QString id = r.value(u"id"_s).toString();
            if (priority < best || (priority == best && id < first)) {
                best = priority;
                first = id;
            }
        }
        QVERIFY(setStrategy(u"failover"_s));
        const auto seen = spread(30);
        QCOMPARE(seen.size(), 1);
        QCOMPARE(seen.value(first.toUtf8()), 30);
    }

    void consistentHashIsSticky()
    {
        QVERIFY(setStrategy(u"consistent_hash"_s));
        QList<QByteArray> sessions;
        for (int i = 0; i < 16; ++i)
            sessions.append("X-Session: user-" + QByteArray::number(i) + "\r\n");
        EdgeLoad load(m_edgePort, "/healthz", 1);
        load.setHeaderVariants(sessions);
        load.start(16 * 6, 30000);
        load.wait();
        QMap<QByteArray, QSet<QByteArray>> regionsOf;
        for (const EdgeLoad::Sample &s : load.samples()) {
            QCOMPARE(s.status, 200);
            regionsOf[s.key].insert(s.region);
        }
        QCOMPARE(regionsOf.size(), 16);
        QSet<QByteArray> used;
        for (auto it = regionsOf.begin(); it != regionsOf.end(); ++it) {
            QVERIFY2(it.value().size() == 1, it.key().constData()); // each session stays put
            used.unite(it.value());
        }
        QVERIFY(used.size() >= 2); // and the sessions are spread
    }

    void geoProximityByHeader()
    {
        QVERIFY(setStrategy(u"geo_proximity"_s));
        for (const QJsonValue &v : cluster().value(u"regions"_s).toArray()) {
            const QJsonObject r = v.toObject();
            const QByteArray location
                    = "X-Client-Location: " + QByteArray::number(r.value(u"lat"_s).toDouble() + 0.5)
                      + "," + QByteArray::number(r.value(u"lon"_s).toDouble() - 0.5) + "\r\n";
            const auto seen = spread(5, {location});
            QCOMPARE(seen.size(), 1);
            QCOMPARE(seen.value(r.value(u"id"_s).toString().toUtf8()), 5);
        }
    }

    void stickySessionsKeepADrainingRegion()
    {
        QVERIFY(setStrategy(u"consistent_hash"_s));
        QList<QByteArray> sessions;
        for (int i = 0; i < 24; ++i)
            sessions.append("X-Session: sticky-" + QByteArray::number(i) + "\r\n");
        auto regionsBySession = [this, &sessions]() {
            EdgeLoad load(m_edgePort, "/healthz", 1);
            load.setHeaderVariants(sessions);
            load.start(int(sessions.size()), 30000);
            load.wait();
            QMap<QByteArray, QByteArray> out;
            for (const EdgeLoad::Sample &s : load.samples())
                out.insert(s.key, s.status == 200 ? s.region : QByteArray("failed"));
            return out;
        };
        const auto home = regionsBySession();
        QCOMPARE(home.size(), sessions.size());
        const QByteArray drained = home.first(); // a region that is some session's home
        QCOMPARE(call("POST",
                      at(m_control, u"/v1/regions/%1/drain"_s.arg(QString::fromUtf8(drained))),
                      admin(),
                      "{\"deadline_s\": 10}")
                         .status,
                 202);
        QTRY_COMPARE_WITH_TIMEOUT(edgeState(QString::fromUtf8(drained)), u"draining"_s, 10000);
        // While draining, every session stays where it was, including the drained region's.
        QCOMPARE(regionsBySession(), home);
        // At the deadline the drain ends and only its sessions move.
        QTRY_COMPARE_WITH_TIMEOUT(edgeState(QString::fromUtf8(drained)), u"drained"_s, 20000);
        const auto after = regionsBySession();
        for (auto it = home.begin(); it != home.end(); ++it) {
            if (it.value() == drained)
                QVERIFY(after.value(it.key()) != drained && after.value(it.key()) != "failed");
            else
                QCOMPARE(after.value(it.key()), it.value());
        }
        QCOMPARE(call("POST",
                      at(m_control, u"/v1/regions/%1/activate"_s.arg(QString::fromUtf8(drained))),
                      admin(),
                      "{}")
                         .status,
                 200);
        QTRY_COMPARE_WITH_TIMEOUT(edgeState(QString::fromUtf8(drained)), u"active"_s, 10000);
    }

    void drainUnderLoad()
    {
        QVERIFY(setStrategy(u"round_robin"_s));
        EdgeLoad load(m_edgePort, "/healthz", 3);
        load.start(200000, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(load.count() > 150 && regionsIn(load.samples()).size() == 3, 20000);
        const qint64 before = EdgeLoad::nowUs();
        const auto answer = call("POST",
                                 at(m_control, u"/v1/regions/eu-west/drain"_s),
                                 admin(),
                                 "{\"deadline_s\": 60}");
        const qint64 after = EdgeLoad::nowUs();
        QCOMPARE(answer.status, 202);
        // Keep the load going for well past the bound (5 s), then look.
        const qint64 bound = after + 5'000'000;
        QTRY_VERIFY_WITH_TIMEOUT(!load.samples().empty()
                                         && load.samples().back().sentUs > bound + 500'000,
                                 30000);
        load.stop();
        const auto samples = load.samples();
        qint64 lastEuWest = 0;
        int late = 0;
        int afterBound = 0;
        for (const EdgeLoad::Sample &s : samples) {
            if (s.region == "eu-west")
                lastEuWest = std::max(lastEuWest, s.doneUs);
            if (s.sentUs > bound) {
                ++afterBound;
                late += s.region == "eu-west";
            }
        }
        qInfo("drain: last request served by eu-west finished %.1f ms after the drain call "
              "started; %d requests, %d failed",
              double(lastEuWest - before) / 1000.0,
              int(samples.size()),
              failures(samples));
        QCOMPARE(failures(samples), 0);
        QVERIFY(afterBound > 50);
        QCOMPARE(late, 0);

        QCOMPARE(call("POST", at(m_control, u"/v1/regions/eu-west/activate"_s), admin(), "{}").status,
                 200);
        QTRY_COMPARE_WITH_TIMEOUT(edgeState(u"eu-west"_s), u"active"_s, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(spread(30).contains("eu-west"), 10000);
    }

    void purgeReachesTheEdge()
    {
        // The demo site's /assets/ are public, max-age=3600: the edge keeps them.
        const QUrl edgeData = m_cluster->node(u"edge-1"_s)->dataUrl;
        const auto css = [&edgeData]() {
            return call("GET", at(edgeData, u"/assets/site.css"_s), {});
        };
        QTRY_COMPARE_WITH_TIMEOUT(css().header("X-Cache"), QByteArray("HIT"), 10000);
        // Every edge's cache figures, from any node.
        const auto edgeCache = [this]() {
            return call("GET", at(m_control, u"/v1/cache"_s), viewer())
                    .json()
                    .value(u"edges"_s)
                    .toArray()
                    .at(0)
                    .toObject();
        };
        QTRY_VERIFY_WITH_TIMEOUT(edgeCache().value(u"cache"_s)[u"hits"_s].toInt() >= 1, 10000);
        QCOMPARE(edgeCache().value(u"id"_s).toString(), u"edge-1"_s);
        QVERIFY(edgeCache().value(u"reachable"_s).toBool());
        QVERIFY(edgeCache().value(u"cache"_s)[u"entries"_s].toInt() >= 1);
        QCOMPARE(edgeCache().value(u"cache"_s)[u"purged"_s].toInt(), 0);
        const QUrl purge = at(m_control, u"/v1/cache/purge"_s);
        const QByteArray assets = "{\"paths\": [\"/assets/*\"]}";
        // Refused calls change nothing: a viewer, a path that is none, an unknown field.
        QCOMPARE(call("POST", purge, viewer(), assets).status, 403);
        for (const QByteArray &bad : {QByteArray("{\"paths\": [\"assets/*\"]}"),
                                      QByteArray("{\"paths\": \"/assets/*\"}"),
                                      QByteArray("{\"path\": [\"/assets/*\"]}"),
                                      QByteArray("{\"paths\": [")}) {
            const auto refused = call("POST", purge, admin(), bad);
            QCOMPARE(refused.status, 400);
            QVERIFY2(!refused.json()
                              .value(u"error"_s)
                              .toObject()
                              .value(u"message"_s)
                              .toString()
                              .isEmpty(),
                     refused.body.constData());
        }
        QCOMPARE(css().header("X-Cache"), QByteArray("HIT"));

        // Accepted by a region's node (the control leader records it); it waits for a second
        // admin, and no edge applies it meanwhile.
        const auto accepted = call("POST", purge, admin(), assets);
        QCOMPARE(accepted.status, 202);
        QVERIFY(accepted.json().value(u"approval_required"_s).toBool());
        const QJsonObject action = accepted.json().value(u"action"_s).toObject();
        QCOMPARE(action.value(u"kind"_s).toString(), u"purge"_s);
        QCOMPARE(action.value(u"status"_s).toString(), u"pending_approval"_s);
        const QString id = action.value(u"id"_s).toString();
        const QUrl statusUrl = at(m_control, u"/v1/cache/purge/"_s + id);
        const QUrl edgeStatusUrl = at(m_edgeControl, u"/v1/cache/purge/"_s + id);
        // The edge has read the pending action (its own node knows it) and not applied it.
        QTRY_COMPARE_WITH_TIMEOUT(call("GET", edgeStatusUrl, viewer()).status, 200, 10000);
        QJsonObject status = call("GET", statusUrl, viewer()).json();
        QVERIFY(!status.value(u"done"_s).toBool());
        QCOMPARE(status.value(u"edges"_s).toArray().at(0)[u"state"_s].toString(), u"pending"_s);
        QCOMPARE(css().header("X-Cache"), QByteArray("HIT"));
        // Approved by another admin (the cluster token's): now every edge applies it.
        QFile file(m_cluster->clusterFile());
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray second = QJsonDocument::fromJson(file.readAll())
                                          .object()
                                          .value(u"cluster_token"_s)
                                          .toString()
                                          .toLatin1();
        const auto approved
                = call("POST", at(m_control, u"/v1/actions/%1/approve"_s.arg(id)), second, "{}");
        QVERIFY2(approved.status == 200, approved.body.constData());
        QTRY_VERIFY_WITH_TIMEOUT((status = call("GET", statusUrl, viewer()).json())
                                         .value(u"done"_s)
                                         .toBool(),
                                 15000);
        const QJsonArray edges = status.value(u"edges"_s).toArray();
        QCOMPARE(edges.size(), 1);
        QCOMPARE(edges.at(0)[u"id"_s].toString(), u"edge-1"_s);
        QCOMPARE(edges.at(0)[u"state"_s].toString(), u"applied"_s);
        QVERIFY(edges.at(0)[u"removed"_s].toInt() >= 1);
        QCOMPARE(status.value(u"applied"_s).toInt(), 1);
        // The edge's own control API tells the same.
        QTRY_VERIFY_WITH_TIMEOUT(call("GET", at(m_edgeControl, u"/v1/cache/purge/"_s + id), viewer())
                                         .json()
                                         .value(u"done"_s)
                                         .toBool(),
                                 15000);
        QTRY_VERIFY_WITH_TIMEOUT(edgeCache().value(u"cache"_s)[u"purged"_s].toInt() >= 1, 10000);
        // The next request goes to a region, and is kept again.
        QCOMPARE(css().header("X-Cache"), QByteArray("MISS"));
        QCOMPARE(css().header("X-Cache"), QByteArray("HIT"));
        const auto metrics = call("GET", at(m_edgeControl, u"/metrics"_s), {});
        QVERIFY(metrics.body.contains("\nmeridian_edge_cache_purged_total "));
        QVERIFY(!metrics.body.contains("\nmeridian_edge_cache_purged_total 0\n"));

        // A purge cannot be reverted; other ids are no purge.
        const auto revert
                = call("POST", at(m_control, u"/v1/actions/%1/revert"_s.arg(id)), admin(), "{}");
        QCOMPARE(revert.status, 409);
        QCOMPARE(call("GET", at(m_control, u"/v1/cache/purge/act-999999"_s), viewer()).status, 404);
        QCOMPARE(call("GET", at(m_control, u"/v1/cache/purge/"_s + id), {}).status, 401);
    }

    void killedRegionUnderLoad()
    {
        QVERIFY(setStrategy(u"round_robin"_s));
        EdgeLoad load(m_edgePort, "/healthz", 3);
        load.start(200000, 90000);
        QTRY_VERIFY_WITH_TIMEOUT(load.count() > 150 && regionsIn(load.samples()).size() == 3, 20000);
        const qint64 killed = EdgeLoad::nowUs();
        QString error;
        QVERIFY2(m_cluster->kill(u"ap-southeast"_s, &error), qPrintable(error));
        // Its share of the edge's traffic drops to 0 while the others carry the load.
        QTRY_VERIFY_WITH_TIMEOUT(edgeTraffic(u"ap-southeast"_s).value(u"share"_s).toDouble() == 0.0
                                         && edgeTraffic(u"us-east"_s).value(u"rps"_s).toDouble()
                                                    > 0.0,
                                 20000);
        const qint64 count = load.count();
        QTRY_VERIFY_WITH_TIMEOUT(load.count() > count + 200, 20000);
        load.stop();
        const auto samples = load.samples();
        int afterKill = 0;
        for (const EdgeLoad::Sample &s : samples)
            afterKill += s.sentUs > killed;
        qInfo("kill: %d requests after the SIGKILL, %d failed", afterKill, failures(samples));
        QVERIFY(afterKill > 200);
        QCOMPARE(failures(samples), 0);
        QVERIFY2(m_cluster->start(u"ap-southeast"_s, &error), qPrintable(error));
    }

    // Last: it takes every region down.
    void siteStaysUpWhileEveryRegionIsDown()
    {
        // The demo site's pages are no-cache (asked again at every use) with
        // stale-if-error=86400: while a region answers, they are revalidated; when none can,
        // the edge answers with its copy.
        const QUrl edgeData = m_cluster->node(u"edge-1"_s)->dataUrl;
        const auto page = call("GET", at(edgeData, u"/index.html"_s), {});
        QCOMPARE(page.status, 200);
        QVERIFY(page.body.contains("Meridian demo site"));
        QCOMPARE(call("GET", at(edgeData, u"/index.html"_s), {}).header("X-Cache"),
                 QByteArray("HIT")); // revalidated by a region: 304
        QString error;
        for (const QString &region : {u"us-east"_s, u"eu-west"_s, u"ap-southeast"_s})
            QVERIFY2(m_cluster->kill(region, &error), qPrintable(error));
        // At once (connections refused) and once the health checks have taken every region out.
        for (int i = 0; i < 2; ++i) {
            const auto stale = call("GET", at(edgeData, u"/index.html"_s), {});
            QCOMPARE(stale.status, 200);
            QCOMPARE(stale.header("X-Cache"), QByteArray("STALE"));
            QCOMPARE(stale.body, page.body);
            if (i == 0)
                QTRY_VERIFY_WITH_TIMEOUT(spread(3).value(QByteArray()) == 3, 10000);
        }
        // What was never stored has nothing to stand in for it.
        const int unstored = call("GET", at(edgeData, u"/never-fetched.html"_s), {}).status;
        QVERIFY2(unstored == 502 || unstored == 503, QByteArray::number(unstored).constData());
        const auto metrics = call("GET", at(m_edgeControl, u"/metrics"_s), {});
        QVERIFY(metrics.body.contains("\nmeridian_edge_cache_stale_total 2\n"));
    }
};

QTEST_GUILESS_MAIN(tst_EdgeCluster)
#include "tst_edgecluster.moc"
