// A real local cluster (3 regions + 1 edge, each a meridiand process on loopback ports chosen by
// the OS): replication convergence, the control API's actions reaching every node, the safety
// rules (also with two operators at once), revert, auth, audit, bad input, kill/restart, SIGTERM.
#include "core/cluster/localcluster.h"
#include "nodelogs.h"
#include "testhttp.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>

using namespace Qt::StringLiterals;
using namespace Meridian;
using MeridianTest::Answer;
using MeridianTest::at;
using MeridianTest::call;

class tst_NodeCluster final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void healthChecksAreNotTraffic();
    void statusAnswers();
    void authRules_data();
    void authRules();
    void writesConverge();
    void controlChangesReachEveryNode();
    void minActiveRegions();
    void concurrentOperators();
    void revert();
    void malformedRequestsChangeNothing_data();
    void malformedRequestsChangeNothing();
    void auditRecordsAcceptedAndRefused();
    void eventStream();
    void promoteRefusedWhileLinkIsDown();
    void killedNodeCatchesUp();
    void leaderFailover();
    void noQuorumRefusesUnforcedCalls();
    void sigtermShutsDownGracefully();

private:
    QUrl control(const QString &id) const { return m_cluster->node(id)->controlUrl; }
    QUrl data(const QString &id) const { return m_cluster->node(id)->dataUrl; }
    QByteArray admin() const { return m_cluster->adminToken(); }
    QByteArray viewer() const { return m_cluster->viewerToken(); }
    // Polls GET /v1/regions/{region} on `node` until `field` equals `value`; returns the ms taken
    // or -1 after `timeoutMs`.
    qint64 waitRegionField(const QString &node,
                           const QString &region,
                           const QString &field,
                           const QJsonValue &value,
                           int timeoutMs = 5000);
    bool waitDigestsAgree(int timeoutMs);
    void restoreBaseline();

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    const QStringList m_regions = {u"us-east"_s, u"eu-west"_s, u"ap-southeast"_s};
    const QStringList m_nodes = {u"us-east"_s, u"eu-west"_s, u"ap-southeast"_s, u"edge-1"_s};
};

void tst_NodeCluster::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_cluster = std::make_unique<LocalCluster>(m_dir->filePath(u"cluster"_s));
    LocalClusterOptions options;
    options.regions = 3;
    options.edges = 1;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.controlOverrides = {{u"min_active_regions"_s, 2}, {u"probe_interval_ms"_s, 200}};
    options.configOverrides = {{u"shutdown_timeout_ms"_s, 3000}};
    QString error;
    QVERIFY2(m_cluster->up(options, &error), qPrintable(error));
    QCOMPARE(m_cluster->nodes().size(), 4);
    // Every node knows every other one before the tests start (first probes answered).
    for (const QString &node : m_nodes) {
        QTRY_VERIFY_WITH_TIMEOUT(call("GET", at(control(node), u"/v1/cluster"_s), viewer())
                                         .json()
                                         .value(u"regions"_s)
                                         .toArray()
                                         .at(2)
                                         .toObject()
                                         .value(u"reachable"_s)
                                         .toBool(),
                                 10000);
    }
}

void tst_NodeCluster::cleanupTestCase()
{
    if (m_cluster) {
        QString error;
        QVERIFY2(m_cluster->down(5000, &error), qPrintable(error));
        for (const LocalNode &node : m_cluster->nodes())
            QVERIFY(!LocalCluster::processAlive(node.pid));
        const QStringList critical = MeridianTest::criticalLogLines(m_cluster->nodes());
        QVERIFY2(critical.isEmpty(), qPrintable(critical.join(u'\n')));
    }
}

qint64 tst_NodeCluster::waitRegionField(const QString &node,
                                        const QString &region,
                                        const QString &field,
                                        const QJsonValue &value,
                                        int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeoutMs) {
        const Answer answer = call("GET", at(control(node), u"/v1/regions/"_s + region), viewer());
        if (answer.json().value(field) == value)
            return timer.elapsed();
        QTest::qWait(20);
    }
    return -1;
}

bool tst_NodeCluster::waitDigestsAgree(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        const Answer answer = call("GET", at(control(u"eu-west"_s), u"/v1/digest"_s), viewer());
        if (answer.status == 200 && answer.json().value(u"agree"_s).toBool())
            return true;
        QTest::qWait(50);
    }
    qWarning("digests still differ: %s",
             call("GET", at(control(u"eu-west"_s), u"/v1/digest"_s), viewer()).body.constData());
    return false;
}

void tst_NodeCluster::restoreBaseline()
{
    // Every region active; us-east primary; a clean strategy.
    for (const QString &region : m_regions) {
        const Answer state
                = call("GET", at(control(u"us-east"_s), u"/v1/regions/"_s + region), viewer());
        if (state.json().value(u"state"_s).toString() != u"active"_s)
            call("POST",
                 at(control(u"us-east"_s), u"/v1/regions/%1/activate"_s.arg(region)),
                 admin(),
                 "{}");
    }
}

// Before any test sends data requests: the edge and the peers probe each region's /healthz
// several times a second, which must not show as the region's req/s in the cluster view.
void tst_NodeCluster::healthChecksAreNotTraffic()
{
    const auto served = [this]() {
        const Answer metrics = call("GET", at(control(u"eu-west"_s), u"/metrics"_s), {});
        double total = 0;
        for (const QByteArray &line : metrics.body.split('\n')) {
            if (line.startsWith("meridian_http_requests_total{"))
                total += line.mid(line.lastIndexOf(' ') + 1).toDouble();
        }
        return total;
    };
    const double before = served();
    // An edge whose health_check.path is a page of the site: known by its User-Agent.
    for (int i = 0; i < 5; ++i) {
        QCOMPARE(call("GET",
                      at(data(u"eu-west"_s), u"/index.html"_s),
                      {},
                      {},
                      10000,
                      {{"User-Agent", "meridian-health/0.0.0"}})
                         .status,
                 200);
    }
    QTRY_VERIFY_WITH_TIMEOUT(served() >= before + 10, 10000); // probes did arrive meanwhile
    const QJsonObject region
            = call("GET", at(control(u"eu-west"_s), u"/v1/regions/eu-west"_s), viewer()).json();
    QCOMPARE(region.value(u"rps"_s).toDouble(), 0.0);
    QCOMPARE(region.value(u"p99_ms"_s).toDouble(), 0.0);
}

void tst_NodeCluster::statusAnswers()
{
    for (const LocalNode &node : m_cluster->nodes()) {
        const Answer answer = call("GET", at(node.controlUrl, u"/v1/status"_s), viewer());
        QCOMPARE(answer.status, 200);
        const QJsonObject status = answer.json();
        QCOMPARE(status.value(u"node_id"_s).toString(), node.id);
        QCOMPARE(status.value(u"role"_s).toString(), node.role);
        QCOMPARE(status.value(u"health"_s).toString(), u"healthy"_s);
        QVERIFY(!status.value(u"version"_s).toString().isEmpty());
        QVERIFY(status.value(u"uptime_s"_s).toDouble() > 0);
        QCOMPARE(status.value(u"leader"_s).toString(), u"us-east"_s);
    }
    const QJsonObject cluster
            = call("GET", at(control(u"eu-west"_s), u"/v1/cluster"_s), viewer()).json();
    QCOMPARE(cluster.value(u"regions"_s).toArray().size(), 3);
    QCOMPARE(cluster.value(u"links"_s).toArray().size(), 6);
    QCOMPARE(cluster.value(u"primary"_s).toString(), u"us-east"_s);
    const QJsonObject dublin = cluster.value(u"regions"_s).toArray().at(1).toObject();
    QCOMPARE(dublin.value(u"id"_s).toString(), u"eu-west"_s);
    QCOMPARE(dublin.value(u"name"_s).toString(), u"Dublin"_s);
    QCOMPARE(dublin.value(u"lat"_s).toDouble(), 53.35);
    // Every pair has a measured RTT once each node has probed the others.
    QTRY_VERIFY_WITH_TIMEOUT(
            [&]() {
                const QJsonArray links
                        = call("GET", at(control(u"eu-west"_s), u"/v1/links"_s), viewer())
                                  .json()
                                  .value(u"links"_s)
                                  .toArray();
                for (const QJsonValue &link : links) {
                    if (!link.toObject().value(u"rtt_ms"_s).isDouble())
                        return false;
                }
                return links.size() == 6;
            }(),
            5000);
    // The data port tags every answer with its region and serves the site.
    const Answer page = call("GET", at(data(u"eu-west"_s), u"/"_s), {});
    QCOMPARE(page.status, 200);
    QCOMPARE(page.header("X-Meridian-Region"), QByteArray("eu-west"));
    QVERIFY(page.body.contains("Meridian demo site"));
    QCOMPARE(page.header("Cache-Control"), QByteArray("no-cache, stale-if-error=86400"));
    const Answer css = call("GET", at(data(u"eu-west"_s), u"/assets/site.css"_s), {});
    QCOMPARE(css.header("Cache-Control"),
             QByteArray("public, max-age=3600, stale-while-revalidate=86400, "
                        "stale-if-error=86400"));
    const Answer metrics = call("GET", at(control(u"us-east"_s), u"/metrics"_s), {});
    QCOMPARE(metrics.status, 200);
    QVERIFY(metrics.body.contains("meridian_http_requests_total"));
    QVERIFY(metrics.body.contains(
            "meridian_replication_link_state{origin=\"eu-west\",replica=\"us-east\""));
}

void tst_NodeCluster::authRules_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("authorization");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    const QByteArray garbage = "not-a-token";
    QTest::addRow("no token, read")
            << QByteArray("GET") << u"/v1/status"_s << QByteArray() << 401 << u"unauthorized"_s;
    QTest::addRow("bad token, read")
            << QByteArray("GET") << u"/v1/cluster"_s << garbage << 401 << u"unauthorized"_s;
    QTest::addRow("no token, drain") << QByteArray("POST") << u"/v1/regions/eu-west/drain"_s
                                     << QByteArray() << 401 << u"unauthorized"_s;
    QTest::addRow("bad token, strategy")
            << QByteArray("PUT") << u"/v1/strategy"_s << garbage << 401 << u"unauthorized"_s;
    QTest::addRow("viewer, drain") << QByteArray("POST") << u"/v1/regions/eu-west/drain"_s
                                   << QByteArray("viewer") << 403 << u"forbidden"_s;
    QTest::addRow("viewer, dial") << QByteArray("PUT") << u"/v1/regions/eu-west/dial"_s
                                  << QByteArray("viewer") << 403 << u"forbidden"_s;
    QTest::addRow("viewer, revert") << QByteArray("POST") << u"/v1/actions/act-000001/revert"_s
                                    << QByteArray("viewer") << 403 << u"forbidden"_s;
    QTest::addRow("viewer, read") << QByteArray("GET") << u"/v1/regions"_s << QByteArray("viewer")
                                  << 200 << QString();
    QTest::addRow("admin, read") << QByteArray("GET") << u"/v1/audit"_s << QByteArray("admin")
                                 << 200 << QString();
}

void tst_NodeCluster::authRules()
{
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(QByteArray, authorization);
    QFETCH(int, status);
    QFETCH(QString, code);
    QByteArray token = authorization;
    if (token == "viewer")
        token = viewer();
    else if (token == "admin")
        token = admin();
    const QByteArray body = method == "PUT" && path.endsWith(u"dial"_s) ? "{\"percent\":10}" : "{}";
    const QJsonObject before
            = call("GET", at(control(u"us-east"_s), u"/v1/regions/eu-west"_s), viewer()).json();
    const Answer answer = call(method,
                               at(control(u"eu-west"_s), path),
                               token,
                               method == "GET" ? QByteArray() : body);
    QCOMPARE(answer.status, status);
    if (!code.isEmpty()) {
        QCOMPARE(answer.errorCode(), code);
        QVERIFY(!answer.json().value(u"error"_s).toObject().value(u"message"_s).toString().isEmpty());
        const QJsonObject after
                = call("GET", at(control(u"us-east"_s), u"/v1/regions/eu-west"_s), viewer()).json();
        QCOMPARE(after.value(u"state"_s), before.value(u"state"_s));
        QCOMPARE(after.value(u"dial"_s), before.value(u"dial"_s));
    }
}

void tst_NodeCluster::writesConverge()
{
    // Writes in every region, including to the same key, then every region agrees.
    for (int round = 0; round < 3; ++round) {
        for (const QString &region : m_regions) {
            const Answer put = call("PUT",
                                    at(data(region), u"/api/kv/k-%1-%2"_s.arg(region).arg(round)),
                                    {},
                                    QByteArray("value from ") + region.toUtf8());
            QVERIFY2(put.status == 201, put.body.constData());
            QCOMPARE(put.header("X-Meridian-Region"), region.toUtf8());
            const Answer shared
                    = call("PUT", at(data(region), u"/api/kv/shared"_s), {}, region.toUtf8());
            QVERIFY(shared.status == 200 || shared.status == 201);
        }
    }
    QVERIFY(waitDigestsAgree(10000));
    const QJsonObject digest
            = call("GET", at(control(u"us-east"_s), u"/v1/digest"_s), viewer()).json();
    QCOMPARE(digest.value(u"regions"_s).toObject().size(), 3);
    for (const QString &reader : m_regions) {
        for (const QString &writer : m_regions) {
            const Answer get = call("GET", at(data(reader), u"/api/kv/k-%1-2"_s.arg(writer)), {});
            QCOMPARE(get.status, 200);
            QCOMPARE(get.body, QByteArray("value from ") + writer.toUtf8());
        }
        QCOMPARE(call("GET", at(data(reader), u"/api/kv/shared"_s), {}).body,
                 call("GET", at(data(u"us-east"_s), u"/api/kv/shared"_s), {}).body);
    }
    const QJsonObject list
            = call("GET", at(data(u"ap-southeast"_s), u"/api/kv?prefix=k-eu-west&limit=2"_s), {})
                      .json();
    QVERIFY2(list.value(u"items"_s).toArray().size() == 2, QJsonDocument(list).toJson().constData());
    QVERIFY(list.value(u"truncated"_s).toBool());
    // Pages follow each other with `after`; a prefix ends where its keys do, also past ASCII.
    const auto listAll = [this](const QString &query) {
        QStringList keys;
        QString after;
        for (int page = 0; page < 10; ++page) {
            QString path = u"/api/kv?%1&limit=2"_s.arg(query);
            if (!after.isEmpty())
                path += u"&after="_s + QString::fromLatin1(QUrl::toPercentEncoding(after));
            const QJsonObject answer = call("GET", at(data(u"ap-southeast"_s), path), {}).json();
            for (const QJsonValue &item : answer.value(u"items"_s).toArray())
                keys.append(item.toObject().value(u"key"_s).toString());
            if (!answer.value(u"truncated"_s).toBool())
                return keys;
            after = answer.value(u"next_after"_s).toString();
        }
        return keys << u"(more than 10 pages)"_s;
    };
    QCOMPARE(listAll(u"prefix=k-eu-west"_s),
             (QStringList{u"k-eu-west-0"_s, u"k-eu-west-1"_s, u"k-eu-west-2"_s}));
    for (const QString &key : {u"é1"_s, u"éa/b"_s, u"é\U0001F600"_s, u"f"_s, u"e"_s})
        QCOMPARE(call("PUT", at(data(u"ap-southeast"_s), u"/api/kv/"_s + key), {}, "x").status, 201);
    QCOMPARE(listAll(u"prefix=%C3%A9"_s), (QStringList{u"é1"_s, u"éa/b"_s, u"é\U0001F600"_s}));
    QCOMPARE(call("GET", at(data(u"ap-southeast"_s), u"/api/kv?after="_s), {}).status, 400);
    // Over 1 MiB is refused; delete works.
    QCOMPARE(call("PUT",
                  at(data(u"us-east"_s), u"/api/kv/big"_s),
                  {},
                  QByteArray(1024 * 1024 + 1, 'x'))
                     .status,
             413);
    QCOMPARE(call("DELETE", at(data(u"us-east"_s), u"/api/kv/k-us-east-0"_s), {}).status, 204);
    QCOMPARE(call("DELETE", at(data(u"us-east"_s), u"/api/kv/k-us-east-0"_s), {}).status, 404);
}

void tst_NodeCluster::controlChangesReachEveryNode()
{
    // Through a node that is not the leader: the call is forwarded and applied once.
    Answer answer = call("POST",
                         at(control(u"ap-southeast"_s), u"/v1/regions/eu-west/drain"_s),
                         admin(),
                         "{\"deadline_s\":5}");
    QVERIFY2(answer.status == 202, answer.body.constData());
    QCOMPARE(answer.header("X-Meridian-Leader"), QByteArray("us-east"));
    QCOMPARE(answer.json().value(u"action"_s).toObject().value(u"kind"_s).toString(), u"drain"_s);
    for (const QString &node : m_nodes) {
        const qint64 ms = waitRegionField(node, u"eu-west"_s, u"state"_s, u"drained"_s, 1000);
        QVERIFY2(ms >= 0, qPrintable(node));
    }
    answer = call("POST",
                  at(control(u"edge-1"_s), u"/v1/regions/eu-west/activate"_s),
                  admin(),
                  "{}");
    QCOMPARE(answer.status, 200);
    for (const QString &node : m_nodes)
        QVERIFY2(waitRegionField(node, u"eu-west"_s, u"state"_s, u"active"_s, 1000) >= 0,
                 qPrintable(node));

    answer = call("PUT",
                  at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/dial"_s),
                  admin(),
                  "{\"percent\":30}");
    QCOMPARE(answer.status, 200);
    QCOMPARE(answer.json().value(u"region"_s).toObject().value(u"dial"_s).toInt(), 30);
    for (const QString &node : m_nodes)
        QVERIFY2(waitRegionField(node, u"ap-southeast"_s, u"dial"_s, 30, 1000) >= 0,
                 qPrintable(node));

    answer = call("PUT",
                  at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/weight"_s),
                  admin(),
                  "{\"weight\":250}");
    QCOMPARE(answer.status, 200);
    for (const QString &node : m_nodes)
        QVERIFY2(waitRegionField(node, u"ap-southeast"_s, u"weight"_s, 250, 1000) >= 0,
                 qPrintable(node));

    answer = call("PUT",
                  at(control(u"ap-southeast"_s), u"/v1/strategy"_s),
                  admin(),
                  "{\"name\":\"latency_ewma\",\"params\":{}}");
    QVERIFY2(answer.status == 200, answer.body.constData());
    for (const QString &node : m_nodes) {
        QTRY_COMPARE_WITH_TIMEOUT(call("GET", at(control(node), u"/v1/strategy"_s), viewer())
                                          .json()
                                          .value(u"name"_s)
                                          .toString(),
                                  u"latency_ewma"_s,
                                  1000);
    }

    answer = call("POST",
                  at(control(u"us-east"_s), u"/v1/regions/eu-west/promote"_s),
                  admin(),
                  "{}");
    QVERIFY2(answer.status == 200, answer.body.constData());
    for (const QString &node : m_nodes) {
        QVERIFY2(waitRegionField(node, u"eu-west"_s, u"primary"_s, true, 1000) >= 0,
                 qPrintable(node));
        QCOMPARE(call("GET", at(control(node), u"/v1/regions/eu-west"_s), viewer())
                         .json()
                         .value(u"priority"_s)
                         .toInt(),
                 1);
    }
    // The leader follows the primary.
    QTRY_COMPARE_WITH_TIMEOUT(call("GET", at(control(u"ap-southeast"_s), u"/v1/status"_s), viewer())
                                      .json()
                                      .value(u"leader"_s)
                                      .toString(),
                              u"eu-west"_s,
                              1000);
    answer = call("POST",
                  at(control(u"ap-southeast"_s), u"/v1/regions/us-east/promote"_s),
                  admin(),
                  "{}");
    QVERIFY2(answer.status == 200, answer.body.constData());
    QCOMPARE(answer.header("X-Meridian-Leader"), QByteArray("eu-west"));
    for (const QString &node : m_nodes)
        QVERIFY2(waitRegionField(node, u"us-east"_s, u"primary"_s, true, 1000) >= 0,
                 qPrintable(node));

    // Preview: draining us-east moves its share to the others.
    const QJsonObject preview = call("POST",
                                     at(control(u"eu-west"_s), u"/v1/preview"_s),
                                     viewer(),
                                     "{\"drain\":\"us-east\"}")
                                        .json();
    QVERIFY(preview.value(u"before"_s).toObject().value(u"us-east"_s).toDouble() > 0);
    QCOMPARE(preview.value(u"after"_s).toObject().value(u"us-east"_s).toDouble(), 0.0);
    call("PUT",
         at(control(u"us-east"_s), u"/v1/regions/ap-southeast/dial"_s),
         admin(),
         "{\"percent\":100}");
}

void tst_NodeCluster::minActiveRegions()
{
    // 3 regions, min_active_regions = 2: one drain is fine, the second is refused.
    Answer answer = call("POST",
                         at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/drain"_s),
                         admin(),
                         "{}");
    QCOMPARE(answer.status, 202);
    answer = call("POST", at(control(u"eu-west"_s), u"/v1/regions/eu-west/drain"_s), admin(), "{}");
    QCOMPARE(answer.status, 409);
    QCOMPARE(answer.errorCode(), u"min_active_regions"_s);
    QVERIFY(answer.json()
                    .value(u"error"_s)
                    .toObject()
                    .value(u"message"_s)
                    .toString()
                    .contains(u"min_active_regions = 2"_s));
    QCOMPARE(call("GET", at(control(u"eu-west"_s), u"/v1/regions/eu-west"_s), viewer())
                     .json()
                     .value(u"state"_s)
                     .toString(),
             u"active"_s);
    // Forced, it goes through.
    answer = call("POST",
                  at(control(u"eu-west"_s), u"/v1/regions/eu-west/drain"_s),
                  admin(),
                  "{\"force\":true}");
    QCOMPARE(answer.status, 202);
    restoreBaseline();
    for (const QString &region : m_regions)
        QVERIFY(waitRegionField(u"edge-1"_s, region, u"state"_s, u"active"_s, 2000) >= 0);
}

void tst_NodeCluster::concurrentOperators()
{
    // Two operators, each through a different node, each draining a different region at the same
    // moment: each alone is allowed, together they would leave 1 active region (< 2).
    for (int round = 0; round < 3; ++round) {
        QNetworkAccessManager manager;
        auto post = [&](const QString &node, const QString &region) {
            QNetworkRequest request(at(control(node), u"/v1/regions/%1/drain"_s.arg(region)));
            request.setRawHeader("Authorization", "Bearer " + admin());
            request.setRawHeader("Content-Type", "application/json");
            return manager.post(request, QByteArray("{}"));
        };
        std::unique_ptr<QNetworkReply> a(post(u"eu-west"_s, u"eu-west"_s));
        std::unique_ptr<QNetworkReply> b(post(u"ap-southeast"_s, u"ap-southeast"_s));
        QTRY_VERIFY_WITH_TIMEOUT(a->isFinished() && b->isFinished(), 10000);
        const int sa = a->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const int sb = b->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        QVERIFY2((sa == 202 && sb == 409) || (sa == 409 && sb == 202),
                 qPrintable(u"%1 %2 %3 %4"_s.arg(sa).arg(sb).arg(QString::fromUtf8(a->readAll()),
                                                                 QString::fromUtf8(b->readAll()))));
        int active = 0;
        for (const QString &region : m_regions) {
            active += call("GET", at(control(u"us-east"_s), u"/v1/regions/"_s + region), viewer())
                              .json()
                              .value(u"state"_s)
                              .toString()
                      == u"active"_s;
        }
        QCOMPARE(active, 2);
        restoreBaseline();
    }
}

void tst_NodeCluster::revert()
{
    Answer answer = call("PUT",
                         at(control(u"ap-southeast"_s), u"/v1/regions/eu-west/dial"_s),
                         admin(),
                         "{\"percent\":40}");
    QCOMPARE(answer.status, 200);
    const QJsonObject action = answer.json().value(u"action"_s).toObject();
    QCOMPARE(action.value(u"previous"_s)
                     .toObject()
                     .value(u"regions"_s)
                     .toObject()
                     .value(u"eu-west"_s)
                     .toObject()
                     .value(u"dial"_s)
                     .toInt(),
             100);
    const QString id = action.value(u"id"_s).toString();
    answer = call("POST",
                  at(control(u"eu-west"_s), u"/v1/actions/%1/revert"_s.arg(id)),
                  admin(),
                  {});
    QVERIFY2(answer.status == 200, answer.body.constData());
    QCOMPARE(answer.json().value(u"action"_s).toObject().value(u"kind"_s).toString(), u"revert"_s);
    for (const QString &node : m_nodes)
        QVERIFY(waitRegionField(node, u"eu-west"_s, u"dial"_s, 100, 1000) >= 0);
    // The reverted action says so, and cannot be reverted twice.
    const QJsonArray actions = call("GET", at(control(u"edge-1"_s), u"/v1/actions"_s), viewer())
                                       .json()
                                       .value(u"actions"_s)
                                       .toArray();
    bool found = false;
    for (const QJsonValue &value : actions) {
        if (value.toObject().value(u"id"_s).toString() == id) {
            found = true;
            QCOMPARE(value.toObject().value(u"status"_s).toString(), u"reverted"_s);
        }
    }
    QVERIFY(found);
    answer = call("POST",
                  at(control(u"eu-west"_s), u"/v1/actions/%1/revert"_s.arg(id)),
                  admin(),
                  {});
    QCOMPARE(answer.status, 409);
    QCOMPARE(call("POST", at(control(u"eu-west"_s), u"/v1/actions/act-999999/revert"_s), admin(), {})
                     .status,
             404);
}

void tst_NodeCluster::malformedRequestsChangeNothing_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("code");
    QTest::addRow("invalid json") << QByteArray("PUT") << u"/v1/regions/eu-west/dial"_s
                                  << QByteArray("{\"percent\":") << 400 << u"invalid_json"_s;
    QTest::addRow("not an object") << QByteArray("PUT") << u"/v1/strategy"_s
                                   << QByteArray("[\"random\"]") << 400 << u"invalid_json"_s;
    QTest::addRow("unknown region") << QByteArray("POST") << u"/v1/regions/mars-1/drain"_s
                                    << QByteArray("{}") << 404 << u"unknown_region"_s;
    QTest::addRow("unknown strategy")
            << QByteArray("PUT") << u"/v1/strategy"_s << QByteArray("{\"name\":\"fastest\"}") << 400
            << u"unknown_strategy"_s;
    QTest::addRow("bad strategy params")
            << QByteArray("PUT") << u"/v1/strategy"_s
            << QByteArray("{\"name\":\"latency_ewma\",\"params\":{\"decay_s\":-3}}") << 400
            << u"invalid_parameter"_s;
    QTest::addRow("dial out of range")
            << QByteArray("PUT") << u"/v1/regions/eu-west/dial"_s << QByteArray("{\"percent\":250}")
            << 400 << u"invalid_parameter"_s;
    QTest::addRow("unknown field")
            << QByteArray("POST") << u"/v1/regions/eu-west/drain"_s
            << QByteArray("{\"dedline_s\":3}") << 400 << u"invalid_parameter"_s;
    QTest::addRow("unknown route")
            << QByteArray("GET") << u"/v1/nothing"_s << QByteArray() << 404 << u"not_found"_s;
}

void tst_NodeCluster::malformedRequestsChangeNothing()
{
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QString, code);
    auto snapshot = [&]() {
        QJsonObject cluster
                = call("GET", at(control(u"us-east"_s), u"/v1/cluster"_s), viewer()).json();
        QJsonArray regions;
        for (const QJsonValue &value : cluster.value(u"regions"_s).toArray()) {
            const QJsonObject region = value.toObject();
            regions.append(QJsonObject{{u"state"_s, region.value(u"state"_s)},
                                       {u"dial"_s, region.value(u"dial"_s)},
                                       {u"weight"_s, region.value(u"weight"_s)},
                                       {u"priority"_s, region.value(u"priority"_s)}});
        }
        return QJsonObject{{u"regions"_s, regions},
                           {u"strategy"_s, cluster.value(u"strategy"_s)},
                           {u"primary"_s, cluster.value(u"primary"_s)},
                           {u"actions"_s,
                            call("GET", at(control(u"us-east"_s), u"/v1/actions?limit=1"_s), viewer())
                                    .json()}};
    };
    const QJsonObject before = snapshot();
    const Answer answer = call(method, at(control(u"eu-west"_s), path), admin(), body);
    QCOMPARE(answer.status, status);
    QCOMPARE(answer.errorCode(), code);
    QCOMPARE(snapshot(), before);
}

void tst_NodeCluster::auditRecordsAcceptedAndRefused()
{
    const Answer accepted = call("PUT",
                                 at(control(u"us-east"_s), u"/v1/regions/eu-west/weight"_s),
                                 admin(),
                                 "{\"weight\":120}");
    QCOMPARE(accepted.status, 200);
    const Answer refused = call("PUT",
                                at(control(u"us-east"_s), u"/v1/regions/eu-west/weight"_s),
                                viewer(),
                                "{\"weight\":5}");
    QCOMPARE(refused.status, 403);
    const Answer noToken = call("PUT",
                                at(control(u"us-east"_s), u"/v1/regions/eu-west/weight"_s),
                                {},
                                "{\"weight\":6}");
    QCOMPARE(noToken.status, 401);
    const QJsonArray entries
            = call("GET", at(control(u"us-east"_s), u"/v1/audit?limit=3"_s), viewer())
                      .json()
                      .value(u"entries"_s)
                      .toArray();
    QCOMPARE(entries.size(), 3);
    // Newest first.
    QCOMPARE(entries.at(0).toObject().value(u"status"_s).toInt(), 401);
    QCOMPARE(entries.at(0).toObject().value(u"token"_s).toString(), QString());
    QCOMPARE(entries.at(1).toObject().value(u"status"_s).toInt(), 403);
    QCOMPARE(entries.at(1).toObject().value(u"token"_s).toString(), u"viewer"_s);
    QCOMPARE(entries.at(1).toObject().value(u"args"_s).toObject().value(u"weight"_s).toInt(), 5);
    const QJsonObject ok = entries.at(2).toObject();
    QCOMPARE(ok.value(u"status"_s).toInt(), 200);
    QCOMPARE(ok.value(u"token"_s).toString(), u"admin"_s);
    QCOMPARE(ok.value(u"action"_s).toString(), u"weight"_s);
    QCOMPARE(ok.value(u"client"_s).toString(), u"127.0.0.1"_s);
    QCOMPARE(ok.value(u"args"_s).toObject().value(u"region"_s).toString(), u"eu-west"_s);
    QVERIFY(!ok.value(u"time"_s).toString().isEmpty());
    // Durable: the file on disk holds the same entries.
    QFile file(QFileInfo(m_cluster->node(u"us-east"_s)->configPath).absolutePath()
               + u"/data/audit.jsonl"_s);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = file.readAll().trimmed().split('\n');
    QVERIFY(lines.size() >= 3);
    QVERIFY(lines.last().contains("\"status\":401"));
    call("PUT",
         at(control(u"us-east"_s), u"/v1/regions/eu-west/weight"_s),
         admin(),
         "{\"weight\":100}");
}

void tst_NodeCluster::eventStream()
{
    QNetworkAccessManager manager;
    QNetworkRequest request(at(control(u"edge-1"_s), u"/v1/events"_s));
    request.setRawHeader("Authorization", "Bearer " + viewer());
    std::unique_ptr<QNetworkReply> reply(manager.get(request));
    QByteArray received;
    connect(reply.get(), &QNetworkReply::readyRead, this, [&]() { received += reply->readAll(); });
    QTRY_VERIFY_WITH_TIMEOUT(received.contains("event: state"), 5000);
    received.clear();
    QCOMPARE(call("PUT",
                  at(control(u"eu-west"_s), u"/v1/regions/eu-west/dial"_s),
                  admin(),
                  "{\"percent\":90}")
                     .status,
             200);
    QTRY_VERIFY_WITH_TIMEOUT(received.contains("event: action")
                                     && received.contains("\"percent\":90"),
                             2000);
    QTRY_VERIFY_WITH_TIMEOUT(received.contains("event: state") && received.contains("\"dial\":90"),
                             2000);
    QTRY_VERIFY_WITH_TIMEOUT(received.contains("event: lag") && received.contains("event: traffic"),
                             3000);
    reply->abort();
    call("PUT",
         at(control(u"eu-west"_s), u"/v1/regions/eu-west/dial"_s),
         admin(),
         "{\"percent\":100}");
}

void tst_NodeCluster::promoteRefusedWhileLinkIsDown()
{
    QString error;
    QVERIFY2(m_cluster->kill(u"ap-southeast"_s, &error), qPrintable(error));
    // eu-west's link from ap-southeast goes down...
    QTRY_VERIFY_WITH_TIMEOUT(
            [&]() {
                for (const QJsonValue &value :
                     call("GET", at(control(u"eu-west"_s), u"/v1/links"_s), viewer())
                             .json()
                             .value(u"links"_s)
                             .toArray()) {
                    const QJsonObject link = value.toObject();
                    if (link.value(u"origin"_s).toString() == u"ap-southeast"_s
                        && link.value(u"replica"_s).toString() == u"eu-west"_s)
                        return link.value(u"state"_s).toString() == u"disconnected"_s;
                }
                return false;
            }(),
            10000);
    // ... so promoting eu-west is refused (the leader asks eu-west for its links first).
    const Answer refused = call("POST",
                                at(control(u"eu-west"_s), u"/v1/regions/eu-west/promote"_s),
                                admin(),
                                "{}");
    QCOMPARE(refused.status, 409);
    QCOMPARE(refused.errorCode(), u"promote_lag"_s);
    QVERIFY(refused.json()
                    .value(u"error"_s)
                    .toObject()
                    .value(u"message"_s)
                    .toString()
                    .contains(u"ap-southeast"_s));
    QCOMPARE(call("GET", at(control(u"eu-west"_s), u"/v1/status"_s), viewer())
                     .json()
                     .value(u"primary"_s)
                     .toString(),
             u"us-east"_s);
    // An unreachable region cannot be promoted without force either.
    const Answer unreachable = call("POST",
                                    at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/promote"_s),
                                    admin(),
                                    "{}");
    QCOMPARE(unreachable.status, 409);
    QCOMPARE(unreachable.errorCode(), u"promote_lag"_s);
}

void tst_NodeCluster::killedNodeCatchesUp()
{
    // ap-southeast is down (previous test). Writes go on elsewhere.
    for (int i = 0; i < 20; ++i)
        QCOMPARE(call("PUT", at(data(u"us-east"_s), u"/api/kv/while-down-%1"_s.arg(i)), {}, "x")
                         .status,
                 201);
    QCOMPARE(call("PUT",
                  at(control(u"us-east"_s), u"/v1/regions/eu-west/dial"_s),
                  admin(),
                  "{\"percent\":70}")
                     .status,
             200);
    QString error;
    QVERIFY2(m_cluster->start(u"ap-southeast"_s, &error), qPrintable(error));
    QVERIFY(waitDigestsAgree(10000));
    QCOMPARE(call("GET", at(data(u"ap-southeast"_s), u"/api/kv/while-down-19"_s), {}).status, 200);
    QVERIFY(waitRegionField(u"ap-southeast"_s, u"eu-west"_s, u"dial"_s, 70, 2000) >= 0);
    // The state survived the restart of the node (it restarts with its store, not its config).
    QCOMPARE(call("GET", at(control(u"ap-southeast"_s), u"/v1/strategy"_s), viewer())
                     .json()
                     .value(u"name"_s)
                     .toString(),
             u"latency_ewma"_s);
    QCOMPARE(call("PUT",
                  at(control(u"us-east"_s), u"/v1/regions/eu-west/dial"_s),
                  admin(),
                  "{\"percent\":100}")
                     .status,
             200);
}

void tst_NodeCluster::leaderFailover()
{
    // us-east serves traffic, as ap-southeast sees in its probes...
    const auto usEast = [this]() {
        return call("GET", at(control(u"ap-southeast"_s), u"/v1/regions/us-east"_s), viewer()).json();
    };
    QTRY_VERIFY_WITH_TIMEOUT(
            [&]() {
                call("GET", at(data(u"us-east"_s), u"/api/kv/while-down-1"_s), {});
                return usEast().value(u"rps"_s).toDouble() > 0;
            }(),
            10000);
    QString error;
    QVERIFY2(m_cluster->kill(u"us-east"_s, &error), qPrintable(error));
    // ... until it dies: then its last probe's figures are not shown as current.
    QTRY_VERIFY_WITH_TIMEOUT(!usEast().value(u"reachable"_s).toBool(), 5000);
    QCOMPARE(usEast().value(u"rps"_s).toDouble(), 0.0);
    // The next region in failover order takes the leader role.
    QTRY_VERIFY_WITH_TIMEOUT(call("GET", at(control(u"ap-southeast"_s), u"/v1/status"_s), viewer())
                                             .json()
                                             .value(u"leader"_s)
                                             .toString()
                                     != u"us-east"_s,
                             5000);
    // Three of the four nodes (regions and the edge) are a majority: the quorum holds.
    const QJsonObject quorum = call("GET", at(control(u"ap-southeast"_s), u"/v1/status"_s), viewer())
                                       .json()
                                       .value(u"quorum"_s)
                                       .toObject();
    QCOMPARE(quorum.value(u"voters"_s).toInt(), 4);
    QCOMPARE(quorum.value(u"reachable"_s).toInt(), 3);
    QVERIFY(quorum.value(u"has_quorum"_s).toBool());
    const Answer answer = call("PUT",
                               at(control(u"ap-southeast"_s), u"/v1/regions/ap-southeast/dial"_s),
                               admin(),
                               "{\"percent\":55}");
    QVERIFY2(answer.status == 200, answer.body.constData());
    QVERIFY(waitRegionField(u"eu-west"_s, u"ap-southeast"_s, u"dial"_s, 55, 1000) >= 0);
    QVERIFY2(m_cluster->start(u"us-east"_s, &error), qPrintable(error));
    QVERIFY(waitRegionField(u"us-east"_s, u"ap-southeast"_s, u"dial"_s, 55, 5000) >= 0);
    QTRY_COMPARE_WITH_TIMEOUT(call("GET", at(control(u"ap-southeast"_s), u"/v1/status"_s), viewer())
                                      .json()
                                      .value(u"leader"_s)
                                      .toString(),
                              u"us-east"_s,
                              5000);
}

void tst_NodeCluster::noQuorumRefusesUnforcedCalls()
{
    // us-east and ap-southeast down: eu-west reaches itself and the edge, 2 of 4 nodes, no
    // majority. The other side of such a partition could have a leader of its own.
    QString error;
    QVERIFY2(m_cluster->kill(u"us-east"_s, &error), qPrintable(error));
    QVERIFY2(m_cluster->kill(u"ap-southeast"_s, &error), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(!call("GET", at(control(u"eu-west"_s), u"/v1/status"_s), viewer())
                                      .json()
                                      .value(u"quorum"_s)
                                      .toObject()
                                      .value(u"has_quorum"_s)
                                      .toBool(true),
                             10000);
    const QJsonObject status
            = call("GET", at(control(u"eu-west"_s), u"/v1/status"_s), viewer()).json();
    QCOMPARE(status.value(u"leader"_s).toString(), QString());
    QCOMPARE(status.value(u"quorum"_s).toObject().value(u"reachable"_s).toInt(), 2);
    QCOMPARE(status.value(u"quorum"_s).toObject().value(u"voters"_s).toInt(), 4);

    const QString before
            = call("GET", at(control(u"eu-west"_s), u"/v1/regions/ap-southeast"_s), viewer())
                      .json()
                      .value(u"state"_s)
                      .toString();
    QCOMPARE(before, u"active"_s);
    const Answer refused = call("POST",
                                at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/drain"_s),
                                admin(),
                                "{}");
    QCOMPARE(refused.status, 503);
    QCOMPARE(refused.errorCode(), u"no_quorum"_s);
    const QString message
            = refused.json().value(u"error"_s).toObject().value(u"message"_s).toString();
    QVERIFY2(message.contains(u"2 of the 4"_s) && message.contains(u"partition"_s)
                     && message.contains(u"force"_s),
             qPrintable(message));
    // The edge, on the same side, refuses too.
    const Answer viaEdge = call("POST",
                                at(control(u"edge-1"_s), u"/v1/regions/ap-southeast/drain"_s),
                                admin(),
                                "{}");
    QCOMPARE(viaEdge.status, 503);
    QCOMPARE(viaEdge.errorCode(), u"no_quorum"_s);
    // A call forwarded to eu-west as if it were the leader: it checks its own quorum first.
    const Answer asLeader = call("POST",
                                 at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/drain"_s),
                                 admin(),
                                 "{}",
                                 10000,
                                 {{"X-Meridian-Forwarded-For", "127.0.0.1 via edge-1"}});
    QCOMPARE(asLeader.status, 503);
    QCOMPARE(asLeader.errorCode(), u"no_quorum"_s);
    QCOMPARE(call("GET", at(control(u"eu-west"_s), u"/v1/regions/ap-southeast"_s), viewer())
                     .json()
                     .value(u"state"_s)
                     .toString(),
             u"active"_s);

    // Forced: applied here, without the cluster-wide checks.
    const Answer forced = call("POST",
                               at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/drain"_s),
                               admin(),
                               "{\"force\":true}");
    QVERIFY2(forced.status == 202, forced.body.constData());
    QVERIFY(call("GET", at(control(u"eu-west"_s), u"/v1/regions/ap-southeast"_s), viewer())
                    .json()
                    .value(u"state"_s)
                    .toString()
            != u"active"_s);

    // The nodes back: the leader is back and unforced calls work again.
    QVERIFY2(m_cluster->start(u"us-east"_s, &error), qPrintable(error));
    QVERIFY2(m_cluster->start(u"ap-southeast"_s, &error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(call("GET", at(control(u"eu-west"_s), u"/v1/status"_s), viewer())
                                      .json()
                                      .value(u"leader"_s)
                                      .toString(),
                              u"us-east"_s,
                              10000);
    QVERIFY(waitDigestsAgree(10000));
    const Answer activated = call("POST",
                                  at(control(u"eu-west"_s), u"/v1/regions/ap-southeast/activate"_s),
                                  admin(),
                                  "{}");
    QVERIFY2(activated.status == 200, activated.body.constData());
    QCOMPARE(activated.header("X-Meridian-Leader"), QByteArray("us-east"));
    QVERIFY(waitRegionField(u"ap-southeast"_s, u"ap-southeast"_s, u"state"_s, u"active"_s, 5000)
            >= 0);
}

void tst_NodeCluster::sigtermShutsDownGracefully()
{
    const LocalNode *node = m_cluster->node(u"eu-west"_s);
    QVERIFY(LocalCluster::processAlive(node->pid));
    QCOMPARE(call("PUT", at(data(u"eu-west"_s), u"/api/kv/before-sigterm"_s), {}, "kept").status,
             201);
    QVERIFY(::kill(pid_t(node->pid), SIGTERM) == 0);
    QTRY_VERIFY_WITH_TIMEOUT(!LocalCluster::processAlive(node->pid), 5000);
    QFile log(node->logPath);
    QVERIFY(log.open(QIODevice::ReadOnly));
    const QByteArray text = log.readAll();
    QVERIFY2(text.contains("shutting down"), text.right(2000).constData());
    QVERIFY2(text.contains("store flushed and closed"), text.right(2000).constData());
    QString error;
    QVERIFY2(m_cluster->start(u"eu-west"_s, &error), qPrintable(error));
    QCOMPARE(call("GET", at(data(u"eu-west"_s), u"/api/kv/before-sigterm"_s), {}).body,
             QByteArray("kept"));
}

QTEST_GUILESS_MAIN(tst_NodeCluster)
#include "tst_nodecluster.moc"
