// DemoCluster: starts a local cluster on its worker thread, drives traffic at it, kills and
// restarts a region, and takes everything down (processes and directory) on shutdown.
#include "ui/democluster.h"

#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Meridian;

class tst_DemoCluster final : public QObject
{
    Q_OBJECT

private slots:
    void upTrafficOutageDown();
};

void tst_DemoCluster::upTrafficOutageDown()
{
    QTemporaryDir base;
    QVERIFY(base.isValid());
    DemoCluster demo;
    QSignalSpy ready(&demo, &DemoCluster::ready);
    QSignalSpy failed(&demo, &DemoCluster::failed);
    QSignalSpy traffic(&demo, &DemoCluster::trafficStatsChanged);
    QSignalSpy changed(&demo, &DemoCluster::regionChanged);
    DemoOptions options;
    options.regions = 2;
    options.edges = 1;
    options.simulateWan = true;
    options.trafficRatePerS = 20;
    options.baseDir = base.path();
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR "meridiand");
    demo.start(options);
    QTRY_VERIFY_WITH_TIMEOUT(ready.size() + failed.size() >= 1, 60000);
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    QVERIFY(demo.isReady());
    QCOMPARE(demo.regionIds().size(), 2);
    QCOMPARE(demo.nodes().size(), 3);
    QCOMPARE(demo.controlEndpoints().size(), 3);
    QVERIFY(!demo.adminToken().isEmpty());
    const QString dir = demo.dir();
    QVERIFY(QDir(dir).exists());

    // Traffic flows and regions answer it (through the edge, or straight when it cannot).
    QTRY_VERIFY_WITH_TIMEOUT(!traffic.isEmpty()
                                     && traffic.last().at(0).value<TrafficStats>().succeeded >= 10,
                             30000);

    // Outage and restart of one region.
    const QString victim = demo.regionIds().at(1);
    qint64 pid = 0;
    for (const LocalNode &node : demo.nodes()) {
        if (node.id == victim)
            pid = node.pid;
    }
    QVERIFY(pid > 0);
    demo.simulateOutage(victim);
    QTRY_VERIFY_WITH_TIMEOUT(changed.size() >= 1, 30000);
    QCOMPARE(changed.at(0).at(0).toString(), victim);
    QCOMPARE(changed.at(0).at(1).toBool(), false);
    QVERIFY(demo.downRegions().contains(victim));
    QTRY_VERIFY_WITH_TIMEOUT(!LocalCluster::processAlive(pid), 10000);
    demo.restartRegion(victim);
    QTRY_VERIFY_WITH_TIMEOUT(changed.size() >= 2, 60000);
    QCOMPARE(changed.at(1).at(1).toBool(), true);
    QVERIFY2(changed.at(1).at(2).toString().isEmpty(), qPrintable(changed.at(1).at(2).toString()));
    QVERIFY(!demo.downRegions().contains(victim));

    // Shutdown: every node stops and the directory goes.
    LocalCluster view(dir);
    QString error;
    QVERIFY2(view.load(&error), qPrintable(error));
    QList<qint64> pids;
    for (const LocalNode &node : view.nodes()) {
        if (node.pid > 0)
            pids.append(node.pid);
    }
    QCOMPARE(pids.size(), 3);
    demo.shutdown();
    for (qint64 p : pids)
        QTRY_VERIFY_WITH_TIMEOUT(!LocalCluster::processAlive(p), 10000);
    QVERIFY(!QDir(dir).exists());
}

QTEST_MAIN(tst_DemoCluster)
#include "tst_democluster.moc"
