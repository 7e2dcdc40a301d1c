// The control room end to end: a MainWindow connected to a real local cluster shows it in the
// map, the table and the status bar, shares the selection between them, and drains a region
// through the GUI's action (confirmation accepted) until the node reports `drained`.
#include "core/cluster/localcluster.h"
#include "core/control/controlclient.h"
#include "ui/actioncontroller.h"
#include "ui/democluster.h"
#include "ui/eventlogdock.h"
#include "ui/mainwindow.h"
#include "ui/mapwidget.h"
#include "ui/profilestore.h"
#include "ui/regionsmodel.h"

#include <QAction>
#include <QDeadlineTimer>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLineEdit>
#include <QScopeGuard>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace Meridian;

class tst_MainWindow final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void showsTheCluster();
    void sharesSelection();
    void filters();
    void drainsThroughTheGui();
    void declinedConfirmationDoesNothing();
    void connectsThroughAProfile();
    void demoOutageAndRestart();

private:
    QString regionState(const QString &id);

    QTemporaryDir m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    std::unique_ptr<MainWindow> m_window;
};

void tst_MainWindow::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_cluster = std::make_unique<LocalCluster>(m_dir.filePath(QStringLiteral("c")));
    LocalClusterOptions options;
    options.regions = 3;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR "meridiand");
    options.controlOverrides = {{QStringLiteral("probe_interval_ms"), 300}};
    QString error;
    QVERIFY2(m_cluster->up(options, &error), qPrintable(error));

    m_window = std::make_unique<MainWindow>(nullptr,
                                            m_dir.filePath(QStringLiteral("history.sqlite")));
    m_window->setInteractive(false);
    m_window->actions()->setShowProgressDialogs(false);
    QStringList endpoints;
    for (const LocalNode &node : m_cluster->nodes())
        endpoints.append(node.controlUrl.toString());
    QVERIFY2(m_window->connectToCluster(endpoints,
                                        QString::fromLatin1(m_cluster->adminToken()),
                                        QStringLiteral("test"),
                                        &error),
             qPrintable(error));
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QTRY_VERIFY_WITH_TIMEOUT(m_window->hasClusterData(), 30000);
}

void tst_MainWindow::cleanupTestCase()
{
    m_window.reset();
    if (m_cluster) {
        QString ignored;
        m_cluster->down(3000, &ignored);
    }
}

QString tst_MainWindow::regionState(const QString &id)
{
    ControlClient client;
    client.setEndpoint(m_cluster->nodes().at(0).controlUrl.toString());
    client.setToken(QString::fromLatin1(m_cluster->viewerToken()));
    QString state;
    bool done = false;
    client.region(id, this, [&](const Api::ApiResult<Api::RegionStatus> &result) {
        state = result ? result.value().state
                       : QStringLiteral("error: ") + result.error().toString();
        done = true;
    });
    QDeadlineTimer deadline(15000);
    while (!done && !deadline.hasExpired())
        QTest::qWait(20);
    return done ? state : QStringLiteral("no answer from the node");
}

void tst_MainWindow::showsTheCluster()
{
    QCOMPARE(m_window->regionsModel()->rowCount(), 3);
    QCOMPARE(m_window->map()->cluster().regions.size(), 3);
    QCOMPARE(m_window->map()->hitTester().markers().size(), 3);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->healthText().contains(QStringLiteral("3/3 regions active")),
                             15000);
    QVERIFY(m_window->connectionText().contains(QStringLiteral("connected to")));
    QTRY_VERIFY_WITH_TIMEOUT(m_window->stalenessText().contains(QStringLiteral("updated")), 15000);
    // The digest comparison arrives too.
    QTRY_VERIFY_WITH_TIMEOUT(m_window->healthText().contains(QStringLiteral("data agrees"))
                                     || m_window->healthText().contains(QStringLiteral("differs")),
                             20000);
}

void tst_MainWindow::sharesSelection()
{
    const QString id = m_cluster->nodes().at(1).id;
    QSignalSpy changed(m_window.get(), &MainWindow::selectedRegionChanged);
    // Map → table.
    MapWidget *map = m_window->map();
    QTest::mouseClick(map, Qt::LeftButton, {}, map->markerPosition(id).toPoint());
    QCOMPARE(m_window->selectedRegion(), id);
    QVERIFY(changed.size() >= 1);
    const QModelIndex current = m_window->regionsView()->selectionModel()->currentIndex();
    QVERIFY(current.isValid());
    QCOMPARE(current.data(RegionsModel::RegionIdRole).toString(), id);

    // Table → map.
    const QString other = m_cluster->nodes().at(2).id;
    QSortFilterProxyModel *proxy = m_window->regionsProxy();
    QModelIndex row;
    for (int r = 0; r < proxy->rowCount(); ++r) {
        if (proxy->index(r, 0).data(RegionsModel::RegionIdRole).toString() == other)
            row = proxy->index(r, 0);
    }
    QVERIFY(row.isValid());
    m_window->regionsView()->selectionModel()->setCurrentIndex(row,
                                                               QItemSelectionModel::ClearAndSelect
                                                                       | QItemSelectionModel::Rows);
    QCOMPARE(m_window->selectedRegion(), other);
    QCOMPARE(map->selectedRegion(), other);

    // The selection survives the once-a-second refresh.
    QSignalSpy updated(m_window->watcher(), &ClusterWatcher::clusterUpdated);
    QVERIFY(updated.wait(10000));
    QCOMPARE(m_window->regionsView()->selectionModel()->currentIndex().data(
                     RegionsModel::RegionIdRole),
             QVariant(other));
}

void tst_MainWindow::filters()
{
    const QString id = m_cluster->nodes().at(0).id;
    m_window->regionsFilter()->setText(id);
    QCOMPARE(m_window->regionsProxy()->rowCount(), 1);
    m_window->regionsFilter()->clear();
    QCOMPARE(m_window->regionsProxy()->rowCount(), 3);
}

void tst_MainWindow::drainsThroughTheGui()
{
    // The toolbar's drain action, as an operator would: the ActionController asks for
    // confirmation (accepted here) with the impact, calls the API and follows the drain.
    const QString id = m_cluster->nodes().at(2).id;
    QList<ConfirmationRequest> asked;
    m_window->actions()->setConfirmationPolicy(
            [&asked](const ConfirmationRequest &request, std::function<void(bool)> decide) {
                asked.append(request);
                decide(request.kind != ConfirmationRequest::Kind::ForceAfterRefusal);
            });
    m_window->selectRegion(id);
    QCOMPARE(m_window->actions()->selectedRegion(), id);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->drainAction()->isEnabled(), 10000);
    QSignalSpy finished(m_window->actions(), &ActionController::actionFinished);
    QSignalSpy refused(m_window->actions(), &ActionController::actionRefused);
    m_window->drainAction()->trigger();
    // First the deadline for requests in flight (default 30 s): the operator presses OK.
    QInputDialog *deadline = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((deadline = m_window->findChild<QInputDialog *>()) != nullptr
                                     && deadline->isVisible(),
                             10000);
    QVERIFY(deadline->windowTitle().contains(id));
    deadline->accept();
    QTRY_VERIFY_WITH_TIMEOUT(finished.size() + refused.size() >= 1, 30000);
    QVERIFY2(refused.isEmpty(),
             qPrintable(refused.value(0).value(2).value<Api::ApiError>().toString()));
    QCOMPARE(finished.first().at(0).toString(), QStringLiteral("drain"));
    QCOMPARE(finished.first().at(1).toString(), id);
    QVERIFY(!asked.isEmpty());
    QCOMPARE(asked.first().kind, ConfirmationRequest::Kind::Confirm);
    QCOMPARE(asked.first().region, id);

    // The node itself reports the region drained (no requests were in flight there)...
    QTRY_COMPARE_WITH_TIMEOUT(regionState(id), QStringLiteral("drained"), 30000);
    // ...and the window shows it.
    QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const int row = m_window->regionsModel()->rowOf(id);
                return row >= 0
                       && m_window->regionsModel()
                                          ->index(row, RegionsModel::StateColumn)
                                          .data()
                                          .toString()
                                  == u"drained";
            }(),
            15000);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->activateAction()->isEnabled(), 10000);
    // The action reached the event log dock through the watcher's event stream.
    QTRY_VERIFY_WITH_TIMEOUT(m_window->eventLog()->model()->rowCount() > 0, 20000);
}

void tst_MainWindow::declinedConfirmationDoesNothing()
{
    const QString id = m_cluster->nodes().at(2).id;
    m_window->actions()->setConfirmationPolicy(
            [](const ConfirmationRequest &, std::function<void(bool)> decide) { decide(false); });
    m_window->selectRegion(id);
    QTRY_VERIFY_WITH_TIMEOUT(m_window->activateAction()->isEnabled(), 10000);
    QSignalSpy declined(m_window->actions(), &ActionController::actionDeclined);
    QSignalSpy finished(m_window->actions(), &ActionController::actionFinished);
    m_window->activateAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(declined.size() == 1, 20000);
    QCOMPARE(finished.size(), 0);
    QCOMPARE(regionState(id), QStringLiteral("drained"));
}

void tst_MainWindow::connectsThroughAProfile()
{
    // A saved profile (session-only token, no keychain) whose first endpoint is dead: the window
    // connects through it and fails over to the live node.
    ProfileStore profiles(
            new QSettings(m_dir.filePath(QStringLiteral("profiles.ini")), QSettings::IniFormat));
    profiles.setKeychainEnabled(false);
    const QString live = m_cluster->nodes().at(1).controlUrl.toString();
    QVERIFY(profiles.saveProfile({QStringLiteral("local"),
                                  {QStringLiteral("http://127.0.0.1:1"), live},
                                  QString::fromLatin1(m_cluster->viewerToken()),
                                  {}})
                    .isEmpty());
    m_window->setProfileStore(&profiles);
    QVERIFY(m_window->connectAction()->isEnabled());
    QSignalSpy updated(m_window->watcher(), &ClusterWatcher::clusterUpdated);
    m_window->connectToProfile(QStringLiteral("local"));
    QTRY_VERIFY_WITH_TIMEOUT(updated.size() >= 1, 30000);
    QCOMPARE(m_window->watcher()->endpoints().size(), 2);
    QCOMPARE(m_window->watcher()->currentEndpoint(), QUrl(live).toString());
    QVERIFY(m_window->windowTitle().contains(QStringLiteral("local")));
    QCOMPARE(m_window->regionsModel()->rowCount(), 3);
    m_window->setProfileStore(nullptr);
}

void tst_MainWindow::demoOutageAndRestart()
{
    // Demo mode end to end: the window connects when the demo cluster is up; "Simulate outage"
    // kills the selected region, which then shows as unreachable (never as healthy); "Restart
    // region" brings it back.
    DemoCluster demo;
    DemoOptions options;
    options.regions = 2;
    options.edges = 0;
    options.simulateWan = false;
    options.trafficRatePerS = 0;
    options.baseDir = m_dir.path();
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR "meridiand");
    MainWindow window(nullptr, m_dir.filePath(QStringLiteral("demo-history.sqlite")));
    window.setInteractive(false);
    window.setDemo(&demo);
    connect(&demo, &DemoCluster::ready, &window, [&window](const QStringList &e, const QString &t) {
        window.connectToCluster(e, t, QStringLiteral("demo"));
    });
    demo.start(options);
    QTRY_VERIFY_WITH_TIMEOUT(window.hasClusterData(), 60000);
    QCOMPARE(window.regionsModel()->rowCount(), 2);

    const QString victim = demo.regionIds().at(1);
    window.selectRegion(victim);
    QVERIFY(window.outageAction()->isEnabled());
    QVERIFY(!window.restartAction()->isEnabled());
    window.outageAction()->trigger();
    const auto reachable = [&window, &victim] {
        const int row = window.regionsModel()->rowOf(victim);
        return window.regionsModel()
                ->index(row, RegionsModel::IdColumn)
                .data(RegionsModel::ReachableRole)
                .toBool();
    };
    QTRY_VERIFY_WITH_TIMEOUT(!reachable(), 30000);
    QCOMPARE(window.regionsModel()
                     ->index(window.regionsModel()->rowOf(victim), RegionsModel::HealthColumn)
                     .data()
                     .toString(),
             QStringLiteral("unreachable"));
    QTRY_VERIFY_WITH_TIMEOUT(window.restartAction()->isEnabled(), 10000);
    window.restartAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(reachable(), 60000);
    QTRY_VERIFY_WITH_TIMEOUT(window.outageAction()->isEnabled(), 10000);
    demo.shutdown();
}

QTEST_MAIN(tst_MainWindow)
#include "tst_mainwindow.moc"
