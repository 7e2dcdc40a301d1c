// LocalCluster: cluster.json, simulated WAN latency between regions, kill/start/down; and the
// optional second-admin approval of configured action kinds.
#include "core/cluster/localcluster.h"
#include "testhttp.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QScopeGuard>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

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
    void tlsCluster();
    void edgeRefusesAnUntrustedRegion();
};

namespace {

// `regions` regions and an edge of this build's meridiand, every hop on TLS with the test
// certificates (tests/sync/tls).
LocalClusterOptions tlsOptions(int regions)
{
    const QString certificates = QStringLiteral(SRCDIR "../sync/tls/");
    LocalClusterOptions options;
    options.regions = regions;
    options.edges = 1;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.tls = {certificates + u"node.pem"_s,
                   certificates + u"node.key"_s,
                   certificates + u"ca.pem"_s};
    return options;
}

QByteArray fileContent(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

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

// `local up --tls-cert/--tls-key/--tls-ca`: every control API on HTTPS (nodes probe and forward
// to each other over it, trusting the CA), replication over mutual TLS; the cluster works as
// without TLS, and the replication port speaks no plain protocol.
void tst_LocalCluster::tlsCluster()
{
    const QString certificates = QStringLiteral(SRCDIR "../sync/tls/");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    LocalCluster cluster(dir.filePath(u"c"_s));
    LocalClusterOptions options = tlsOptions(2);
    options.controlOverrides = {{u"probe_interval_ms"_s, 200}};
    QString error;
    QVERIFY2(cluster.up(options, &error), qPrintable(error));
    auto cleanup = qScopeGuard([&cluster]() {
        QString ignored;
        cluster.down(5000, &ignored);
    });
    QCOMPARE(cluster.caFile(), QFileInfo(certificates + u"ca.pem"_s).absoluteFilePath());
    // This test's own calls trust the cluster's CA, as meridianctl --cacert does.
    const QSslConfiguration system = QSslConfiguration::defaultConfiguration();
    auto restore = qScopeGuard([&system] { QSslConfiguration::setDefaultConfiguration(system); });
    QSslConfiguration trusting = system;
    trusting.addCaCertificates(QSslCertificate::fromPath(cluster.caFile()));
    QSslConfiguration::setDefaultConfiguration(trusting);

    for (const LocalNode &node : cluster.nodes())
        QCOMPARE(node.controlUrl.scheme(), u"https"_s);
    const QUrl edge = cluster.node(u"edge-1"_s)->controlUrl;
    // The edge reaches both regions over HTTPS (its probes), and both report their links to
    // each other caught up (replication over TLS).
    const auto regionField = [&](const QUrl &control, const QString &region, const QString &field) {
        const QJsonArray regions = call("GET", at(control, u"/v1/cluster"_s), cluster.viewerToken())
                                           .json()
                                           .value(u"regions"_s)
                                           .toArray();
        for (const QJsonValue &r : regions) {
            if (r.toObject().value(u"id"_s).toString() == region)
                return r.toObject().value(field);
        }
        return QJsonValue();
    };
    for (const QString &region : {u"us-east"_s, u"eu-west"_s})
        QTRY_VERIFY_WITH_TIMEOUT(regionField(edge, region, u"reachable"_s).toBool(), 10000);

    // A write in one region reaches the other.
    const QUrl usEast = cluster.node(u"us-east"_s)->dataUrl;
    const QUrl euWest = cluster.node(u"eu-west"_s)->dataUrl;
    QCOMPARE(call("PUT", at(usEast, u"/api/kv/over-tls"_s), {}, "sealed").status, 201);
    QTRY_COMPARE_WITH_TIMEOUT(call("GET", at(euWest, u"/api/kv/over-tls"_s), {}).body,
                              QByteArray("sealed"),
                              10000);

    // Users reach the regions through the edge over HTTPS (edge.tls), and the edge reaches the
    // regions' data ports over HTTPS too (http.tls): its health checks trust the cluster's CA
    // (edge.upstream_ca_file) and find both regions healthy (after, maybe, a region that was
    // not listening yet when the edge started).
    QCOMPARE(usEast.scheme(), u"https"_s);
    const auto edgeLog = [&cluster] { return fileContent(cluster.node(u"edge-1"_s)->logPath); };
    for (const QString &region : {u"us-east"_s, u"eu-west"_s}) {
        const QByteArray healthy = "endpoint " + cluster.node(region)->dataUrl.toString().toUtf8()
                                   + " of " + region.toUtf8() + " is now healthy";
        QTRY_VERIFY_WITH_TIMEOUT(edgeLog().contains(healthy), 10000);
    }
    const QUrl edgeHttps = cluster.node(u"edge-1"_s)->httpsUrl;
    QCOMPARE(edgeHttps.scheme(), u"https"_s);
    QVERIFY(edgeHttps.port() != cluster.node(u"edge-1"_s)->dataUrl.port());
    QTRY_COMPARE_WITH_TIMEOUT(call("GET", at(edgeHttps, u"/api/kv/over-tls"_s), {}).body,
                              QByteArray("sealed"),
                              10000);

    // A drain asked of the edge is forwarded to the control leader (HTTPS between nodes) and
    // reaches the other region.
    const Answer drained = call("POST",
                                at(edge, u"/v1/regions/eu-west/drain"_s),
                                cluster.adminToken(),
                                R"({"deadline_s": 1})");
    QVERIFY2(drained.status == 200 || drained.status == 202, drained.body.constData());
    const QUrl usEastControl = cluster.node(u"us-east"_s)->controlUrl;
    QTRY_COMPARE_WITH_TIMEOUT(regionField(usEastControl, u"eu-west"_s, u"state"_s).toString(),
                              u"drained"_s,
                              10000);

    // Plain HTTP on a control port gets no answer; the replication port says nothing in clear.
    const QUrl plain = QUrl(usEastControl.toString().replace(u"https:"_s, u"http:"_s));
    QCOMPARE(call("GET", at(plain, u"/v1/status"_s), cluster.viewerToken(), {}, 3000).status, 0);
    QTcpSocket replication;
    const QString syncAddress = cluster.node(u"us-east"_s)->syncAddress;
    replication.connectToHost(QHostAddress::LocalHost,
                              syncAddress.mid(syncAddress.lastIndexOf(u':') + 1).toUShort());
    QVERIFY(replication.waitForConnected(5000));
    replication.write(QByteArray("\x00\x00\x00\x02\x06\x00", 6));
    QTRY_COMPARE_WITH_TIMEOUT(replication.state(), QAbstractSocket::UnconnectedState, 10000);
    const QByteArray heard = replication.readAll();
    QVERIFY2(heard.size() < 5 || heard.at(4) != 10, heard.toHex().constData()); // no challenge
}

QTEST_GUILESS_MAIN(tst_LocalCluster)
// The edge verifies the regions' certificates: trusting another CA (edge.upstream_ca_file),
// it sends no request to a region it cannot trust, answers 502, and says why in its log. Once
// the file holds the right CA and the edge is sent SIGHUP, both its connections and its health
// checks trust the region.
void tst_LocalCluster::edgeRefusesAnUntrustedRegion()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString trusted = dir.filePath(u"trusted-ca.pem"_s);
    QVERIFY(QFile::copy(QStringLiteral(SRCDIR "../sync/tls/other-ca.pem"), trusted));
    LocalCluster cluster(dir.filePath(u"c"_s));
    LocalClusterOptions options = tlsOptions(1);
    options.edgeOverrides = {{u"upstream_ca_file"_s, trusted}};
    QString error;
    QVERIFY2(cluster.up(options, &error), qPrintable(error));
    auto cleanup = qScopeGuard([&cluster]() {
        QString ignored;
        cluster.down(5000, &ignored);
    });
    const QUrl plainEdge = cluster.node(u"edge-1"_s)->dataUrl;
    QCOMPARE(call("GET", at(plainEdge, u"/api/kv/anything"_s), {}).status, 502);
    const auto edgeLog = [&cluster] { return fileContent(cluster.node(u"edge-1"_s)->logPath); };
    QTRY_VERIFY_WITH_TIMEOUT(edgeLog().contains("unable to get local issuer certificate"), 10000);

    QVERIFY(QFile::remove(trusted));
    QVERIFY(QFile::copy(QStringLiteral(SRCDIR "../sync/tls/ca.pem"), trusted));
    ::kill(pid_t(cluster.node(u"edge-1"_s)->pid), SIGHUP);
    const QByteArray healthy = "endpoint " + cluster.node(u"us-east"_s)->dataUrl.toString().toUtf8()
                               + " of us-east is now healthy";
    QTRY_VERIFY_WITH_TIMEOUT(edgeLog().contains(healthy), 10000);
    QCOMPARE(call("GET", at(plainEdge, u"/api/kv/anything"_s), {}).status, 404);
}

#include "tst_localcluster.moc"
