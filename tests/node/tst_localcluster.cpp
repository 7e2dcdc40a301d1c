// LocalCluster: cluster.json, simulated WAN latency between regions, kill/start/down; and the
// optional second-admin approval of configured action kinds.
#include "core/cluster/localcluster.h"
#include "testhttp.h"

#include <QFile>
#include <QJsonArray>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian;
using MeridianTest::Answer;
using MeridianTest::at;
using MeridianTest::call;

class tst_LocalCluster final : public QObject
{
    Q_OBJECT

private slots:
    void distance();
    void wanLatencyAndApproval();
};

void tst_LocalCluster::distance()
{
    // Ashburn - Dublin is about 5,450 km; the same point is 0.
    const double km = LocalCluster::distanceKm(39.04, -77.49, 53.35, -6.26);
    QVERIFY2(km > 5300 && km < 5600, qPrintable(QString::number(km)));
    QCOMPARE(LocalCluster::distanceKm(1.35, 103.82, 1.35, 103.82), 0.0);
}

void tst_LocalCluster::wanLatencyAndApproval()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    LocalCluster cluster(dir.filePath(u"c"_s));
    LocalClusterOptions options;
    options.regions = 2;
    options.edges = 0;
    options.simulateWan = true;
    options.wanMsPer1000Km = 10.0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.controlOverrides = {{u"probe_interval_ms"_s, 200},
                                {u"approval_required"_s, QJsonArray{u"promote"_s}}};
    QString error;
    QVERIFY2(cluster.up(options, &error), qPrintable(error));
    auto cleanup = qScopeGuard([&cluster]() {
        QString ignored;
        cluster.down(5000, &ignored);
    });

    // cluster.json has every node and the tokens; a second `up` in the same folder is refused.
    QFile file(cluster.clusterFile());
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
    QCOMPARE(json.value(u"nodes"_s).toArray().size(), 2);
    QVERIFY(!json.value(u"admin_token"_s).toString().isEmpty());
    QVERIFY(!json.value(u"viewer_token"_s).toString().isEmpty());
    const QJsonObject first = json.value(u"nodes"_s).toArray().at(0).toObject();
    QCOMPARE(first.value(u"id"_s).toString(), u"us-east"_s);
    QVERIFY(first.value(u"pid"_s).toInteger() > 0);
    LocalCluster again(dir.filePath(u"c"_s));
    QVERIFY(!again.up(options, &error));
    QVERIFY2(error.contains(u"already runs"_s), qPrintable(error));

    // ~5,450 km at 10 ms per 1000 km each way: the probed RTT is about 109 ms.
    const QUrl control = cluster.node(u"eu-west"_s)->controlUrl;
    QTRY_VERIFY_WITH_TIMEOUT(call("GET", at(control, u"/v1/links"_s), cluster.viewerToken())
                                     .json()
                                     .value(u"links"_s)
                                     .toArray()
                                     .at(0)
                                     .toObject()
                                     .value(u"rtt_ms"_s)
                                     .isDouble(),
                             10000);
    const double rtt = call("GET", at(control, u"/v1/links"_s), cluster.viewerToken())
                               .json()
                               .value(u"links"_s)
                               .toArray()
                               .at(0)
                               .toObject()
                               .value(u"rtt_ms"_s)
                               .toDouble();
    QVERIFY2(rtt >= 100.0, qPrintable(QString::number(rtt)));
    // Replication crosses the relay too and still converges.
    QCOMPARE(call("PUT", at(cluster.node(u"us-east"_s)->dataUrl, u"/api/kv/far"_s), {}, "away")
                     .status,
             201);
    QTRY_COMPARE_WITH_TIMEOUT(call("GET",
                                   at(cluster.node(u"eu-west"_s)->dataUrl, u"/api/kv/far"_s),
                                   {})
                                      .body,
                              QByteArray("away"),
                              5000);

    // Promote needs a second admin: the requester cannot approve its own action.
    Answer answer = call("POST",
                         at(control, u"/v1/regions/eu-west/promote"_s),
                         cluster.adminToken(),
                         "{}");
    QCOMPARE(answer.status, 202);
    QVERIFY(answer.json().value(u"approval_required"_s).toBool());
    const QJsonObject pending = answer.json().value(u"action"_s).toObject();
    QCOMPARE(pending.value(u"status"_s).toString(), u"pending_approval"_s);
    QCOMPARE(call("GET", at(control, u"/v1/status"_s), cluster.viewerToken())
                     .json()
                     .value(u"primary"_s)
                     .toString(),
             u"us-east"_s);
    const QString approvePath = u"/v1/actions/%1/approve"_s.arg(pending.value(u"id"_s).toString());
    answer = call("POST", at(control, approvePath), cluster.adminToken(), "{}");
    QCOMPARE(answer.status, 409);
    QCOMPARE(answer.errorCode(), u"conflict"_s);
    const QByteArray second = json.value(u"cluster_token"_s).toString().toLatin1();
    answer = call("POST", at(control, approvePath), second, "{}");
    QVERIFY2(answer.status == 200, answer.body.constData());
    QCOMPARE(answer.json().value(u"action"_s).toObject().value(u"approved_by"_s).toString(),
             u"cluster"_s);
    QTRY_COMPARE_WITH_TIMEOUT(call("GET",
                                   at(cluster.node(u"us-east"_s)->controlUrl, u"/v1/status"_s),
                                   cluster.viewerToken())
                                      .json()
                                      .value(u"primary"_s)
                                      .toString(),
                              u"eu-west"_s,
                              2000);

    // kill, start, down.
    QVERIFY2(cluster.kill(u"us-east"_s, &error), qPrintable(error));
    QVERIFY(!LocalCluster::processAlive(
            json.value(u"nodes"_s).toArray().at(0).toObject().value(u"pid"_s).toInteger()));
    QVERIFY(!cluster.kill(u"us-east"_s, &error));
    QVERIFY2(cluster.start(u"us-east"_s, &error), qPrintable(error));
    QCOMPARE(call("GET",
                  at(cluster.node(u"us-east"_s)->controlUrl, u"/v1/status"_s),
                  cluster.viewerToken())
                     .status,
             200);
    QVERIFY2(cluster.down(5000, &error), qPrintable(error));
    for (const LocalNode &node : cluster.nodes())
        QCOMPARE(node.pid, 0);
    cleanup.dismiss();
}

QTEST_GUILESS_MAIN(tst_LocalCluster)
#include "tst_localcluster.moc"
