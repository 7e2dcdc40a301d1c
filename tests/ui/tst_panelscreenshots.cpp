// Every panel with real data from a three-region LocalCluster, grabbed to PNG: the strategy
// panel with a preview, the replication dashboard after writes, the event log with live events
// and the audit log, the connect dialog, a confirmation and a refusal as an operator sees them.
// The images go to $MERIDIAN_SCREENSHOT_DIR when set (to look at them), else to a temporary
// folder; each must be a real picture (not blank).
#include "core/cluster/localcluster.h"
#include "core/control/controlclient.h"
#include "ui/actioncontroller.h"
#include "ui/connectdialog.h"
#include "ui/eventlogdock.h"
#include "ui/replicationdashboard.h"
#include "ui/strategypanel.h"

#include <QAbstractButton>
#include <QApplication>
#include <QDir>
#include <QImage>
#include <QJsonArray>
#include <QMessageBox>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProgressDialog>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace Meridian;

class tst_PanelScreenshots final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void strategyPanel();
    void replicationDashboard();
    void eventLog();
    void connectDialog();
    void confirmationAndRefusal();

private:
    Api::ClusterView fetchCluster();
    void save(QWidget *widget, const QString &name);
    void writeSome(int count);

    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_out;
    std::unique_ptr<LocalCluster> m_cluster;
    std::unique_ptr<ControlClient> m_client;
};

void tst_PanelScreenshots::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_out = qEnvironmentVariable("MERIDIAN_SCREENSHOT_DIR", m_dir->filePath(u"shots"_s));
    // MERIDIAN_SCREENSHOT_DARK=1: the same panels on a dark palette (Fusion), to check contrast.
    if (qEnvironmentVariableIsSet("MERIDIAN_SCREENSHOT_DARK")) {
        QApplication::setStyle(u"Fusion"_s);
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
        dark.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
        dark.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
        dark.setColor(QPalette::AlternateBase, QColor(0x33, 0x33, 0x33));
        dark.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
        dark.setColor(QPalette::Button, QColor(0x3a, 0x3a, 0x3a));
        dark.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
        dark.setColor(QPalette::Mid, QColor(0x70, 0x70, 0x70));
        dark.setColor(QPalette::Highlight, QColor(0x3d, 0x8e, 0xd6));
        dark.setColor(QPalette::PlaceholderText, QColor(0x90, 0x90, 0x90));
        QApplication::setPalette(dark);
    }
    QVERIFY(QDir().mkpath(m_out));
    m_cluster = std::make_unique<LocalCluster>(m_dir->filePath(u"cluster"_s));
    LocalClusterOptions options;
    options.regions = 3;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.controlOverrides = {{u"probe_interval_ms"_s, 200}, {u"min_active_regions"_s, 3}};
    options.configOverrides = {{u"shutdown_timeout_ms"_s, 3000}};
    QString error;
    QVERIFY2(m_cluster->up(options, &error), qPrintable(error));
    m_client = std::make_unique<ControlClient>();
    QVERIFY(m_client->setEndpoint(m_cluster->node(u"us-east"_s)->controlUrl.toString()));
    m_client->setToken(QString::fromLatin1(m_cluster->adminToken()));
    QTRY_VERIFY_WITH_TIMEOUT(
            [this] {
                const Api::ClusterView v = fetchCluster();
                return v.regions.size() == 3
                       && std::all_of(v.regions.cbegin(), v.regions.cend(), [](const auto &r) {
                              return r.health == u"healthy" && r.reachable;
                          });
            }(),
            20000);
}

void tst_PanelScreenshots::cleanupTestCase()
{
    m_client.reset();
    if (m_cluster) {
        QString error;
        QVERIFY2(m_cluster->down(5000, &error), qPrintable(error));
    }
    qInfo("screenshots in %s", qPrintable(m_out));
}

Api::ClusterView tst_PanelScreenshots::fetchCluster()
{
    std::optional<Api::ApiResult<Api::ClusterView>> answer;
    m_client->cluster(this, [&answer](const auto &result) { answer = result; });
    if (!QTest::qWaitFor([&answer] { return answer.has_value(); }, 15000) || !answer->ok())
        return {};
    return answer->value();
}

void tst_PanelScreenshots::save(QWidget *widget, const QString &name)
{
    const QImage image = widget->grab().toImage();
    QVERIFY(!image.isNull());
    // Not blank: more than a handful of distinct colours.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height() && colours.size() < 50; y += 3) {
        for (int x = 0; x < image.width() && colours.size() < 50; x += 3)
            colours.insert(image.pixel(x, y));
    }
    QVERIFY2(colours.size() >= 10, qPrintable(name));
    QVERIFY(image.save(m_out + u'/' + name + u".png"_s));
}

void tst_PanelScreenshots::writeSome(int count)
{
    QNetworkAccessManager network;
    int done = 0;
    const QStringList regions{u"us-east"_s, u"eu-west"_s, u"ap-southeast"_s};
    for (int i = 0; i < count; ++i) {
        QUrl url = m_cluster->node(regions.at(i % 3))->dataUrl;
        url.setPath(u"/api/kv/shot-%1"_s.arg(i % 40));
        QNetworkRequest request(url);
        request.setHeader(QNetworkRequest::ContentTypeHeader, u"text/plain"_s);
        QNetworkReply *reply = network.put(request, QByteArray("value-") + QByteArray::number(i));
        connect(reply, &QNetworkReply::finished, reply, [reply, &done] {
            ++done;
            reply->deleteLater();
        });
    }
    QTRY_COMPARE_WITH_TIMEOUT(done, count, 30000);
}

void tst_PanelScreenshots::strategyPanel()
{
    StrategyPanel panel(m_client.get(), nullptr);
    panel.resize(560, 620);
    panel.show();
    panel.setCluster(fetchCluster());
    QSignalSpy previewed(&panel, &StrategyPanel::previewUpdated);
    panel.setEditedStrategy({u"failover"_s, {}});
    QVERIFY(previewed.wait(15000));
    save(&panel, u"strategy-panel"_s);
    panel.setEditedStrategy({u"latency_ewma"_s, {{u"choice_count"_s, 3}}});
    QVERIFY(previewed.wait(15000));
    save(&panel, u"strategy-panel-ewma"_s);
}

void tst_PanelScreenshots::replicationDashboard()
{
    ReplicationDashboard dashboard(m_client.get());
    dashboard.setRangeMinutes(1);
    dashboard.resize(1000, 720);
    dashboard.show();
    QSignalSpy digest(&dashboard, &ReplicationDashboard::digestUpdated);
    // Samples of the real cluster while writes replicate.
    for (int round = 0; round < 12; ++round) {
        writeSome(30);
        dashboard.setCluster(fetchCluster());
        QTest::qWait(250);
    }
    // Once the writes stopped, every region converges to the same digest (a digest read
    // before the writes, of empty databases, does not count).
    digest.clear();
    dashboard.setDigestInterval(300);
    QTRY_VERIFY_WITH_TIMEOUT(!digest.isEmpty()
                                     && digest.last().at(0).value<Api::DigestReport>().agree,
                             20000);
    dashboard.setCluster(fetchCluster());
    for (const Api::RegionDigest &region : digest.last().at(0).value<Api::DigestReport>().regions)
        qInfo("digest of %s: %s", qPrintable(region.region), qPrintable(region.digest));
    QVERIFY(dashboard.history().sampleCount() >= 6 * 6);
    save(&dashboard, u"replication-dashboard"_s);
}

void tst_PanelScreenshots::eventLog()
{
    // Actions recorded by the cluster (audit) and live events.
    ActionController actions(m_client.get(), nullptr);
    actions.setCluster(fetchCluster());
    actions.setConfirmationPolicy([](const ConfirmationRequest &r, std::function<void(bool)> d) {
        d(r.kind == ConfirmationRequest::Kind::Confirm);
    });
    QSignalSpy finished(&actions, &ActionController::actionFinished);
    QSignalSpy refused(&actions, &ActionController::actionRefused);
    actions.dial(u"eu-west"_s, 80);
    QVERIFY(finished.wait(15000));
    actions.drain(u"ap-southeast"_s, 5); // refused: min_active_regions = 3
    QVERIFY(refused.wait(15000));

    EventLogDock dock(m_client.get(), nullptr, m_dir->filePath(u"history.sqlite"_s));
    dock.resize(980, 460);
    QSignalSpy audited(&dock, &EventLogDock::auditRefreshed);
    dock.show();
    QVERIFY(audited.wait(15000));
    const QString json
            = u"{\"region\":\"ap-southeast\",\"health\":\"unhealthy\",\"reachable\":false}"_s;
    dock.addEvent(Api::ApiEvent::fromSse(u"health"_s, {}, json).value());
    dock.addEvent(
            Api::ApiEvent::fromSse(u"state"_s,
                                   {},
                                   u"{\"regions\":[{\"id\":\"eu-west\",\"state\":\"active\"}]}"_s)
                    .value());
    QVERIFY(dock.model()->rowCount() >= 4);
    dock.view()->setCurrentIndex(dock.model()->index(2, 0)); // the refused drain, in full
    save(&dock, u"event-log"_s);
    actions.dial(u"eu-west"_s, 100);
    QVERIFY(finished.wait(15000));
}

void tst_PanelScreenshots::connectDialog()
{
    ProfileStore store(new QSettings(m_dir->filePath(u"p.ini"_s), QSettings::IniFormat));
    store.saveProfile({u"staging"_s, {u"https://staging.example.net:9443"_s}, {}, {}});
    ConnectDialog dialog(&store);
    dialog.setProfile({u"local demo"_s,
                       {m_cluster->node(u"us-east"_s)->controlUrl.toString(),
                        m_cluster->node(u"eu-west"_s)->controlUrl.toString()},
                       QString::fromLatin1(m_cluster->viewerToken()),
                       {}});
    dialog.show();
    QSignalSpy tested(&dialog, &ConnectDialog::connectionTested);
    dialog.testConnection();
    QVERIFY(tested.wait(15000));
    QVERIFY(tested.first().at(0).toBool());
    save(&dialog, u"connect-dialog"_s);
}

void tst_PanelScreenshots::confirmationAndRefusal()
{
    QWidget window;
    window.resize(800, 600);
    window.show();
    ActionController actions(m_client.get(), &window);
    actions.setCluster(fetchCluster());
    // The real message box (no policy): grab it, then answer it as an operator would.
    actions.promote(u"eu-west"_s);
    QMessageBox *box = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((box = window.findChild<QMessageBox *>()) && box->isVisible(), 15000);
    QVERIFY(box->informativeText().contains(u"before → after"_s));
    save(box, u"confirm-promote"_s);
    QSignalSpy declined(&actions, &ActionController::actionDeclined);
    box->reject();
    QVERIFY(declined.wait(5000) || !declined.isEmpty());
    QTRY_VERIFY(!window.findChild<QMessageBox *>());

    actions.drain(u"eu-west"_s, 10);
    QTRY_VERIFY_WITH_TIMEOUT((box = window.findChild<QMessageBox *>()) && box->isVisible(), 15000);
    save(box, u"confirm-drain"_s);
    // Accept: the server refuses (min_active_regions = 3) and force is offered.
    const QList<QAbstractButton *> buttons = box->buttons();
    for (QAbstractButton *button : buttons) {
        if (box->buttonRole(button) == QMessageBox::AcceptRole)
            button->click();
    }
    QTRY_VERIFY_WITH_TIMEOUT((box = window.findChild<QMessageBox *>())
                                     && box->text().contains(u"min_active_regions"_s),
                             15000);
    save(box, u"refusal-force-offer"_s);
    // Force it: a second, explicit confirmation, then the drain is followed in a progress dialog.
    auto acceptBox = [](QMessageBox *b) {
        const QList<QAbstractButton *> all = b->buttons();
        for (QAbstractButton *button : all) {
            if (b->buttonRole(button) == QMessageBox::AcceptRole)
                button->click();
        }
    };
    acceptBox(box);
    QTRY_VERIFY_WITH_TIMEOUT((box = window.findChild<QMessageBox *>())
                                     && box->windowTitle().startsWith(u"Force"_s),
                             15000);
    save(box, u"confirm-force"_s);
    QSignalSpy finished(&actions, &ActionController::actionFinished);
    acceptBox(box);
    QVERIFY(finished.wait(15000));
    QProgressDialog *progress = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((progress = window.findChild<QProgressDialog *>())
                                     && progress->labelText().contains(u"drained"_s),
                             20000);
    save(progress, u"drain-progress"_s);
    actions.setConfirmationPolicy(
            [](const ConfirmationRequest &, std::function<void(bool)> d) { d(true); });
    actions.activate(u"eu-west"_s);
    QVERIFY(finished.wait(15000));
}

QTEST_MAIN(tst_PanelScreenshots)
#include "tst_panelscreenshots.moc"
