// ClusterWatcher against real meridiand nodes: fails over from a dead endpoint, delivers cluster
// views and events, and reports staleness and failure when its nodes go away.
#include "core/cluster/localcluster.h"
#include "ui/clusterwatcher.h"

#include <QScopeGuard>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace Meridian;

class tst_ClusterWatcher final : public QObject
{
    Q_OBJECT

private slots:
    void refusesBadEndpoints();
    void failsOverAndGoesStale();
};

void tst_ClusterWatcher::refusesBadEndpoints()
{
    ClusterWatcher watcher;
    QString error;
    QVERIFY(!watcher.setEndpoints({QStringLiteral("ftp://x:1")}, {}, &error));
    QVERIFY(!error.isEmpty());
    QCOMPARE(watcher.connectionState(), ClusterWatcher::ConnectionState::Idle);
    QVERIFY(watcher.stalenessSeconds() < 0);
}

void tst_ClusterWatcher::failsOverAndGoesStale()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    LocalCluster cluster(dir.filePath(QStringLiteral("c")));
    LocalClusterOptions options;
    options.regions = 2;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR "meridiand");
    options.controlOverrides = {{QStringLiteral("probe_interval_ms"), 300}};
    QString error;
    QVERIFY2(cluster.up(options, &error), qPrintable(error));
    auto cleanup = qScopeGuard([&cluster] {
        QString ignored;
        cluster.down(3000, &ignored);
    });

    // A port nobody listens on (bound, then released) comes first.
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost));
    const QString dead = QStringLiteral("http://127.0.0.1:%1").arg(probe.serverPort());
    probe.close();

    ClusterWatcher watcher;
    watcher.setPollInterval(std::chrono::milliseconds(300));
    const QStringList endpoints = {dead,
                                   cluster.nodes().at(0).controlUrl.toString(),
                                   cluster.nodes().at(1).controlUrl.toString()};
    QVERIFY(watcher.setEndpoints(endpoints, QString::fromLatin1(cluster.viewerToken())));
    QSignalSpy updated(&watcher, &ClusterWatcher::clusterUpdated);
    QSignalSpy events(&watcher, &ClusterWatcher::eventReceived);
    watcher.start();

    QTRY_VERIFY_WITH_TIMEOUT(updated.size() >= 1, 20000);
    QVERIFY(watcher.failoverCount() >= 1);
    QCOMPARE(watcher.currentEndpoint(), QUrl(endpoints.at(1)).toString());
    QCOMPARE(watcher.connectionState(), ClusterWatcher::ConnectionState::Connected);
    const auto view = updated.last().at(0).value<Api::ClusterView>();
    QCOMPARE(view.regions.size(), 2);
    QVERIFY(watcher.stalenessSeconds() >= 0 && watcher.stalenessSeconds() < 10);
    // The event stream of the node in use delivers (heartbeats are not events; traffic and
    // state events come at least every few seconds).
    QTRY_VERIFY_WITH_TIMEOUT(events.size() >= 1, 30000);

    // The node in use dies: the watcher moves to the other one and keeps getting answers,
    // which show the dead region as unreachable.
    QVERIFY2(cluster.kill(cluster.nodes().at(0).id, &error), qPrintable(error));
    const QString survivor = QUrl(endpoints.at(2)).toString();
    QTRY_COMPARE_WITH_TIMEOUT(watcher.currentEndpoint(), survivor, 20000);
    QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const auto &r : watcher.lastView().regions) {
                    if (r.id == cluster.nodes().at(0).id)
                        return !r.reachable;
                }
                return false;
            }(),
            30000);

    // Every node gone: failing, and the data grows stale.
    QVERIFY2(cluster.kill(cluster.nodes().at(1).id, &error), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(watcher.connectionState(),
                              ClusterWatcher::ConnectionState::Failing,
                              20000);
    QTRY_VERIFY_WITH_TIMEOUT(watcher.stalenessSeconds() > 2.0, 20000);
    QVERIFY(watcher.connectionText().contains(QStringLiteral("no answer")));
}

QTEST_MAIN(tst_ClusterWatcher)
#include "tst_clusterwatcher.moc"
