// ActionController against a real two-region LocalCluster: confirmations carry the server's
// preview shares, refusals carry the server's reason and change nothing, force needs two
// confirmations, drains and resyncs are followed to the end; and the resync progress text.
#include "core/cluster/localcluster.h"
#include "core/control/controlclient.h"
#include "ui/actioncontroller.h"

#include <QAction>
#include <QFile>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

QString percent(double share)
{
    return QLocale::c().toString(share * 100.0, 'f', 1) + u" %"_s;
}

} // namespace

class tst_ActionController final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void init();
    void describeResync_data();
    void describeResync();
    void actionStatesFollowSelection();
    void confirmationShowsPreviewShares();
    void declineChangesNothing();
    void refusalShowsServerReason();
    void forceNeedsTwoConfirmationsAndDrainIsFollowed();
    void promoteShowsInboundLag();
    void resyncIsFollowedToTheEnd();
    void revertRestoresAndRefusesTwice();
    void pendingApprovalIsExplained();
    void qactionsAskForTheirParameters();
    void purgeIsConfirmedAndFollowed();

private:
    Api::ClusterView fetchCluster();
    Api::RegionStatus fetchRegion(const QString &id);
    Api::Preview fetchPreview(const Api::PreviewRequest &request);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    std::unique_ptr<ControlClient> m_client;
    std::unique_ptr<ActionController> m_controller;
    QList<ConfirmationRequest> m_asked;
    // Answers each question by kind; unanswered kinds are declined.
    QHash<ConfirmationRequest::Kind, bool> m_answers;
};

void tst_ActionController::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_cluster = std::make_unique<LocalCluster>(m_dir->filePath(u"cluster"_s));
    LocalClusterOptions options;
    options.regions = 2;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    // Weight changes need a second admin: the controller must say so, not claim success.
    options.controlOverrides = {{u"min_active_regions"_s, 2},
                                {u"probe_interval_ms"_s, 200},
                                {u"approval_required"_s, QJsonArray{u"weight"_s}}};
    options.configOverrides = {{u"shutdown_timeout_ms"_s, 3000}};
    QString error;
    QVERIFY2(m_cluster->up(options, &error), qPrintable(error));

    m_client = std::make_unique<ControlClient>();
    QVERIFY(m_client->setEndpoint(m_cluster->node(u"us-east"_s)->controlUrl.toString()));
    m_client->setToken(QString::fromLatin1(m_cluster->adminToken()));
    // Both regions reachable and healthy as the first node sees them.
    QTRY_VERIFY_WITH_TIMEOUT(
            [this] {
                const Api::ClusterView view = fetchCluster();
                return view.regions.size() == 2
                       && std::all_of(view.regions.cbegin(),
                                      view.regions.cend(),
                                      [](const Api::RegionStatus &r) {
                                          return r.reachable && r.health == u"healthy";
                                      });
            }(),
            20000);
}

void tst_ActionController::cleanupTestCase()
{
    m_controller.reset();
    m_client.reset();
    if (m_cluster) {
        QString error;
        QVERIFY2(m_cluster->down(5000, &error), qPrintable(error));
    }
}

void tst_ActionController::init()
{
    m_asked.clear();
    m_answers.clear();
    m_controller = std::make_unique<ActionController>(m_client.get(), nullptr);
    m_controller->setShowProgressDialogs(false);
    m_controller->setPollInterval(100);
    m_controller->setConfirmationPolicy(
            [this](const ConfirmationRequest &request, std::function<void(bool)> decide) {
                m_asked.append(request);
                decide(m_answers.value(request.kind, false));
            });
    m_controller->setCluster(fetchCluster());
}

Api::ClusterView tst_ActionController::fetchCluster()
{
    std::optional<Api::ApiResult<Api::ClusterView>> answer;
    m_client->cluster(this, [&answer](const auto &result) { answer = result; });
    if (!QTest::qWaitFor([&answer] { return answer.has_value(); }, 15000) || !answer->ok())
        return {};
    return answer->value();
}

Api::RegionStatus tst_ActionController::fetchRegion(const QString &id)
{
    std::optional<Api::ApiResult<Api::RegionStatus>> answer;
    m_client->region(id, this, [&answer](const auto &result) { answer = result; });
    if (!QTest::qWaitFor([&answer] { return answer.has_value(); }, 15000) || !answer->ok())
        return {};
    return answer->value();
}

Api::Preview tst_ActionController::fetchPreview(const Api::PreviewRequest &request)
{
    std::optional<Api::ApiResult<Api::Preview>> answer;
    m_client->preview(request, this, [&answer](const auto &result) { answer = result; });
    if (!QTest::qWaitFor([&answer] { return answer.has_value(); }, 15000) || !answer->ok())
        return {};
    return answer->value();
}

void tst_ActionController::describeResync_data()
{
    QTest::addColumn<QString>("phase");
    QTest::addColumn<QString>("state");
    QTest::addColumn<qint64>("done");
    QTest::addColumn<qint64>("total");
    QTest::addColumn<double>("eta");
    QTest::addColumn<int>("percent");
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("finished");

    QTest::addRow("transfer") << u"transfer"_s << u"running"_s << qint64(1048576) << qint64(4194304)
                              << 3.5 << 25
                              << u"transfer 25 % · 1.0 MiB of 4.0 MiB · 10,000 rows · ETA 4 s"_s
                              << false;
    QTest::addRow("snapshot, size unknown")
            << u"snapshot"_s << u"running"_s << qint64(0) << qint64(0) << -1.0 << -1
            << u"snapshot · 0 B · 10,000 rows"_s << false;
    QTest::addRow("catch-up, long eta")
            << u"catch_up"_s << u"running"_s << qint64(4194304) << qint64(4194304) << 125.0 << 100
            << u"catch-up 100 % · 4.0 MiB of 4.0 MiB · 10,000 rows · ETA 2 min 5 s"_s << false;
    QTest::addRow("done") << u"done"_s << u"done"_s << qint64(2048) << qint64(2048) << 0.0 << 100
                          << u"done · 2.0 KiB of 2.0 KiB · 10,000 rows"_s << true;
    QTest::addRow("failed") << u"transfer"_s << u"failed"_s << qint64(10) << qint64(0) << 1.0 << -1
                            << u"failed in transfer: peer went away · 10 B · 10,000 rows"_s << true;
    // Rows are counted once the snapshot is verified: before, 0 is "not yet", not "empty".
    QTest::addRow("transfer, rows not counted yet")
            << u"transfer"_s << u"running"_s << qint64(1048576) << qint64(4194304) << 3.5 << 25
            << u"transfer 25 % · 1.0 MiB of 4.0 MiB · ETA 4 s"_s << false;
    QTest::addRow("done, empty database")
            << u"done"_s << u"done"_s << qint64(2048) << qint64(2048) << 0.0 << 100
            << u"done · 2.0 KiB of 2.0 KiB · 0 rows"_s << true;
}

void tst_ActionController::describeResync()
{
    QFETCH(QString, phase);
    QFETCH(QString, state);
    QFETCH(qint64, done);
    QFETCH(qint64, total);
    QFETCH(double, eta);
    QFETCH(int, percent);
    QFETCH(QString, text);
    QFETCH(bool, finished);

    // Parsed from the API's JSON, as the controller receives it.
    QJsonObject json{{u"id"_s, u"rs-1"_s},
                     {u"region"_s, u"eu-west"_s},
                     {u"from"_s, u"us-east"_s},
                     {u"phase"_s, phase},
                     {u"state"_s, state},
                     {u"bytes_done"_s, done},
                     {u"bytes_total"_s, total},
                     {u"rows"_s, text.contains(u"10,000 rows"_s) ? 10000 : 0}};
    if (eta >= 0)
        json.insert(u"eta_s"_s, eta);
    if (state == u"failed")
        json.insert(u"error"_s, u"peer went away"_s);
    const Api::ApiResult<Api::ResyncProgress> progress = Api::ResyncProgress::fromJson(json);
    QVERIFY2(progress.ok(), qPrintable(progress.error().message));
    const ResyncDescription d = ActionController::describeResync(progress.value());
    QCOMPARE(d.percent, percent);
    QCOMPARE(d.text, text);
    QCOMPARE(d.finished, finished);
    QCOMPARE(d.failed, state == u"failed");
}

void tst_ActionController::actionStatesFollowSelection()
{
    ActionController &c = *m_controller;
    QCOMPARE(c.regionActions().size(), 6);
    for (QAction *action : c.regionActions())
        QVERIFY2(!action->shortcut().isEmpty(), qPrintable(action->text()));

    c.setSelectedRegion({});
    QVERIFY(!c.drainAction()->isEnabled());
    QVERIFY(!c.promoteAction()->isEnabled());
    QVERIFY(c.revertAction()->isEnabled());

    // us-east is the primary and active: drain yes, activate and promote no.
    c.setSelectedRegion(u"us-east"_s);
    QVERIFY(c.drainAction()->isEnabled());
    QVERIFY(!c.activateAction()->isEnabled());
    QVERIFY(!c.promoteAction()->isEnabled());
    QVERIFY(c.dialAction()->isEnabled());
    QVERIFY(c.resyncAction()->isEnabled());
    QVERIFY(c.drainAction()->text().contains(u"us-east"_s));

    c.setSelectedRegion(u"eu-west"_s);
    QVERIFY(c.promoteAction()->isEnabled());

    // A drained region can be activated, not drained again.
    Api::ClusterView view = c.cluster();
    for (Api::RegionStatus &region : view.regions) {
        if (region.id == u"eu-west")
            region.state = u"drained"_s;
    }
    c.setCluster(view);
    QVERIFY(!c.drainAction()->isEnabled());
    QVERIFY(c.activateAction()->isEnabled());
}

void tst_ActionController::confirmationShowsPreviewShares()
{
    const Api::Preview expected = fetchPreview(Api::PreviewRequest::dial(u"eu-west"_s, 20));
    QCOMPARE(expected.after.size(), 2);
    QVERIFY(expected.after.value(u"eu-west"_s) < expected.before.value(u"eu-west"_s));

    QSignalSpy declined(m_controller.get(), &ActionController::actionDeclined);
    m_controller->dial(u"eu-west"_s, 20);
    QVERIFY(declined.wait(15000));
    QCOMPARE(m_asked.size(), 1);
    const ConfirmationRequest &asked = m_asked.first();
    QCOMPARE(asked.kind, ConfirmationRequest::Kind::Confirm);
    QCOMPARE(asked.action, u"dial"_s);
    QCOMPARE(asked.region, u"eu-west"_s);
    for (const QString &id : {u"us-east"_s, u"eu-west"_s}) {
        const QString line = u"%1 → %2"_s.arg(percent(expected.before.value(id)),
                                              percent(expected.after.value(id)));
        QVERIFY2(asked.text.contains(id) && asked.text.contains(line),
                 qPrintable(asked.text + u"\n-- expected: "_s + line));
    }
}

void tst_ActionController::declineChangesNothing()
{
    QSignalSpy declined(m_controller.get(), &ActionController::actionDeclined);
    QSignalSpy finished(m_controller.get(), &ActionController::actionFinished);
    m_controller->drain(u"eu-west"_s, 5);
    QVERIFY(declined.wait(15000));
    QCOMPARE(finished.size(), 0);
    QCOMPARE(fetchRegion(u"eu-west"_s).state, u"active"_s);
}

void tst_ActionController::refusalShowsServerReason()
{
    // min_active_regions = 2 with two regions: the server refuses any drain with 409.
    m_answers[ConfirmationRequest::Kind::Confirm] = true;
    m_answers[ConfirmationRequest::Kind::ForceAfterRefusal] = false;
    QSignalSpy refused(m_controller.get(), &ActionController::actionRefused);
    m_controller->drain(u"eu-west"_s, 5);
    QVERIFY(refused.wait(15000));
    const Api::ApiError error = refused.first().at(2).value<Api::ApiError>();
    QCOMPARE(error.httpStatus, 409);
    QCOMPARE(error.code, u"min_active_regions"_s);
    QVERIFY(!error.message.isEmpty());

    QCOMPARE(m_asked.size(), 2);
    const ConfirmationRequest &offer = m_asked.at(1);
    QCOMPARE(offer.kind, ConfirmationRequest::Kind::ForceAfterRefusal);
    QVERIFY2(offer.text.contains(error.message), qPrintable(offer.text));
    QVERIFY2(offer.text.contains(u"409 min_active_regions"_s), qPrintable(offer.text));
    QCOMPARE(fetchRegion(u"eu-west"_s).state, u"active"_s);
    QVERIFY(!m_controller->isRunning(u"drain:eu-west"_s));
}

void tst_ActionController::forceNeedsTwoConfirmationsAndDrainIsFollowed()
{
    m_answers[ConfirmationRequest::Kind::Confirm] = true;
    m_answers[ConfirmationRequest::Kind::ForceAfterRefusal] = true;
    m_answers[ConfirmationRequest::Kind::ConfirmForce] = true;
    auto restore = qScopeGuard([this] {
        // Back to active for the other tests, through the same controller.
        QSignalSpy done(m_controller.get(), &ActionController::actionFinished);
        m_controller->activate(u"eu-west"_s);
        QVERIFY(done.wait(15000));
        QTRY_COMPARE_WITH_TIMEOUT(fetchRegion(u"eu-west"_s).state, u"active"_s, 15000);
    });
    QList<OperationProgress> progress;
    connect(m_controller.get(),
            &ActionController::operationProgress,
            this,
            [&progress](const OperationProgress &p) { progress.append(p); });
    QSignalSpy finished(m_controller.get(), &ActionController::actionFinished);
    m_controller->drain(u"eu-west"_s, 5);
    QVERIFY(finished.wait(15000));
    QCOMPARE(m_asked.size(), 3);
    QCOMPARE(m_asked.at(2).kind, ConfirmationRequest::Kind::ConfirmForce);
    QCOMPARE(finished.first().at(0).toString(), u"drain"_s);

    // No request is in flight: the node reports drained, and the controller follows it there.
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().finished, 20000);
    QCOMPARE(progress.last().id, u"drain:eu-west"_s);
    QVERIFY2(progress.last().text.contains(u"drained"_s), qPrintable(progress.last().text));
    QVERIFY(!progress.last().failed);
    QCOMPARE(fetchRegion(u"eu-west"_s).state, u"drained"_s);
}

void tst_ActionController::promoteShowsInboundLag()
{
    QSignalSpy declined(m_controller.get(), &ActionController::actionDeclined);
    m_controller->promote(u"eu-west"_s);
    QVERIFY(declined.wait(15000));
    QCOMPARE(m_asked.size(), 1);
    const QString text = m_asked.first().text;
    QVERIFY2(text.contains(u"Worst inbound lag"_s), qPrintable(text));
    QVERIFY2(text.contains(u"from us-east"_s), qPrintable(text));
    QVERIFY2(text.contains(u"before → after"_s), qPrintable(text));
    QVERIFY(fetchRegion(u"eu-west"_s).primary == false);
}

void tst_ActionController::resyncIsFollowedToTheEnd()
{
    m_answers[ConfirmationRequest::Kind::Confirm] = true;
    QList<OperationProgress> progress;
    connect(m_controller.get(),
            &ActionController::operationProgress,
            this,
            [&progress](const OperationProgress &p) { progress.append(p); });
    m_controller->resync(u"eu-west"_s, u"us-east"_s);
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().finished, 60000);
    QCOMPARE(m_asked.size(), 1);
    QVERIFY2(m_asked.first().text.contains(u"from us-east"_s), qPrintable(m_asked.first().text));
    const OperationProgress &last = progress.last();
    QCOMPARE(last.id, u"resync:eu-west"_s);
    QVERIFY2(!last.failed && last.text.contains(u"done"_s), qPrintable(last.text));
    QCOMPARE(last.value, 100);
    QVERIFY(!m_controller->isRunning(u"resync:eu-west"_s));
}

void tst_ActionController::revertRestoresAndRefusesTwice()
{
    m_answers[ConfirmationRequest::Kind::Confirm] = true;
    QSignalSpy finished(m_controller.get(), &ActionController::actionFinished);
    m_controller->dial(u"eu-west"_s, 40);
    QVERIFY(finished.wait(15000));
    const Api::ActionResult dialed = finished.first().at(2).value<Api::ActionResult>();
    QCOMPARE(dialed.action.kind, u"dial"_s);
    QCOMPARE(fetchRegion(u"eu-west"_s).dial, 40);

    m_asked.clear();
    m_controller->revert(dialed.action.id);
    QVERIFY(finished.wait(15000));
    QCOMPARE(finished.last().at(0).toString(), u"revert"_s);
    QCOMPARE(m_asked.size(), 1);
    // The confirmation says what is undone.
    QVERIFY2(m_asked.first().text.contains(dialed.action.id)
                     && m_asked.first().text.contains(u"dial of eu-west"_s),
             qPrintable(m_asked.first().text));
    QTRY_COMPARE_WITH_TIMEOUT(fetchRegion(u"eu-west"_s).dial, 100, 10000);

    // Reverting it again is a conflict: not forceable, shown with the server's reason.
    m_asked.clear();
    QSignalSpy refused(m_controller.get(), &ActionController::actionRefused);
    m_controller->revert(dialed.action.id);
    QVERIFY(refused.wait(15000));
    const Api::ApiError error = refused.first().at(2).value<Api::ApiError>();
    QCOMPARE(error.httpStatus, 409);
    QCOMPARE(m_asked.size(), 2);
    QCOMPARE(m_asked.last().kind, ConfirmationRequest::Kind::Notice);
    QVERIFY2(m_asked.last().text.contains(error.message), qPrintable(m_asked.last().text));
    QCOMPARE(fetchRegion(u"eu-west"_s).dial, 100);
}

void tst_ActionController::pendingApprovalIsExplained()
{
    m_answers[ConfirmationRequest::Kind::Confirm] = true;
    QSignalSpy finished(m_controller.get(), &ActionController::actionFinished);
    m_controller->setWeight(u"eu-west"_s, 250);
    QVERIFY(finished.wait(15000));
    const Api::ActionResult result = finished.first().at(2).value<Api::ActionResult>();
    QCOMPARE(result.action.status, u"pending_approval"_s);
    QCOMPARE(m_asked.size(), 2);
    QCOMPARE(m_asked.last().kind, ConfirmationRequest::Kind::Notice);
    QVERIFY2(m_asked.last().text.contains(result.action.id)
                     && m_asked.last().text.contains(u"second admin"_s),
             qPrintable(m_asked.last().text));
    QCOMPARE(fetchRegion(u"eu-west"_s).weight, 100); // not applied yet

    // The requester cannot approve its own action: refused with the server's reason.
    m_asked.clear();
    QSignalSpy refused(m_controller.get(), &ActionController::actionRefused);
    m_controller->approve(result.action.id);
    QVERIFY(refused.wait(15000));
    QCOMPARE(refused.first().at(2).value<Api::ApiError>().httpStatus, 409);
    QCOMPARE(m_asked.size(), 2);
    QVERIFY2(m_asked.first().text.contains(u"weight of eu-west"_s),
             qPrintable(m_asked.first().text));
    QCOMPARE(m_asked.last().kind, ConfirmationRequest::Kind::Notice);
    QCOMPARE(fetchRegion(u"eu-west"_s).weight, 100);

    // A second admin (the cluster's own token) approves it through its own controller.
    QFile file(m_cluster->clusterFile());
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString second
            = QJsonDocument::fromJson(file.readAll()).object().value(u"cluster_token"_s).toString();
    QVERIFY(!second.isEmpty());
    ControlClient otherClient;
    QVERIFY(otherClient.setEndpoint(m_client->endpoint().toString()));
    otherClient.setToken(second);
    ActionController other(&otherClient, nullptr);
    other.setShowProgressDialogs(false);
    other.setConfirmationPolicy([](const ConfirmationRequest &r, std::function<void(bool)> d) {
        d(r.kind == ConfirmationRequest::Kind::Confirm);
    });
    QSignalSpy approved(&other, &ActionController::actionFinished);
    other.approve(result.action.id);
    QVERIFY(approved.wait(15000));
    QCOMPARE(approved.first().at(0).toString(), u"approve"_s);
    QTRY_COMPARE_WITH_TIMEOUT(fetchRegion(u"eu-west"_s).weight, 250, 10000);
}

void tst_ActionController::qactionsAskForTheirParameters()
{
    // Triggered from a toolbar or menu, an action first asks for its parameter in a dialog.
    QWidget window;
    window.show();
    ActionController controller(m_client.get(), &window);
    controller.setShowProgressDialogs(false);
    QList<ConfirmationRequest> asked;
    controller.setConfirmationPolicy(
            [&asked](const ConfirmationRequest &request, std::function<void(bool)> decide) {
                asked.append(request);
                decide(false);
            });
    controller.setCluster(fetchCluster());
    controller.setSelectedRegion(u"eu-west"_s);
    QSignalSpy declined(&controller, &ActionController::actionDeclined);

    controller.dialAction()->trigger();
    QInputDialog *input = nullptr;
    QTRY_VERIFY((input = window.findChild<QInputDialog *>()) && input->isVisible());
    QCOMPARE(input->intValue(), 100); // the region's current dial
    input->setIntValue(30);
    input->accept();
    QTRY_COMPARE_WITH_TIMEOUT(declined.size(), 1, 15000);
    QCOMPARE(asked.last().action, u"dial"_s);
    QVERIFY2(asked.last().text.contains(u"from 100 % to 30 %"_s), qPrintable(asked.last().text));

    QTRY_VERIFY(!window.findChild<QInputDialog *>());
    controller.resyncAction()->trigger();
    QTRY_VERIFY((input = window.findChild<QInputDialog *>()) && input->isVisible());
    QVERIFY(input->comboBoxItems().contains(u"us-east"_s));
    QVERIFY(!input->comboBoxItems().contains(u"eu-west"_s));
    input->setTextValue(u"us-east"_s);
    input->accept();
    QTRY_COMPARE_WITH_TIMEOUT(declined.size(), 2, 15000);
    QCOMPARE(asked.last().action, u"resync"_s);
    QVERIFY2(asked.last().text.contains(u"from us-east"_s), qPrintable(asked.last().text));

    // Revert offers the recent applied actions, newest first.
    QTRY_VERIFY(!window.findChild<QInputDialog *>());
    controller.revertAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT((input = window.findChild<QInputDialog *>()) && input->isVisible(),
                             15000);
    QVERIFY(!input->comboBoxItems().isEmpty());
    const QString first = input->comboBoxItems().first();
    QVERIFY2(first.startsWith(u"act-"_s), qPrintable(first));
    input->accept();
    QTRY_COMPARE_WITH_TIMEOUT(declined.size(), 3, 15000);
    QCOMPARE(asked.last().action, u"revert"_s);
    QVERIFY2(asked.last().text.contains(first.section(u' ', 0, 0)), qPrintable(asked.last().text));
}

void tst_ActionController::purgeIsConfirmedAndFollowed()
{
    // This cluster has no edge gateway: the purge is recorded, and done at once (0 of 0).
    // tst_edgecluster follows one to a real edge.
    m_answers[ConfirmationRequest::Kind::Confirm] = true;
    QList<OperationProgress> progress;
    connect(m_controller.get(),
            &ActionController::operationProgress,
            this,
            [&progress](const OperationProgress &p) { progress.append(p); });
    QSignalSpy finished(m_controller.get(), &ActionController::actionFinished);
    m_controller->purgeCache({u"/index.html"_s, u"/assets/*"_s});
    QVERIFY(finished.wait(15000));
    QCOMPARE(m_asked.size(), 1);
    QCOMPARE(m_asked.first().action, u"purge"_s);
    QVERIFY2(m_asked.first().text.contains(u"/index.html, /assets/*"_s)
                     && m_asked.first().text.contains(u"cannot be reverted"_s),
             qPrintable(m_asked.first().text));
    const Api::ActionResult result = finished.first().at(2).value<Api::ActionResult>();
    QCOMPARE(result.action.kind, u"purge"_s);
    QCOMPARE(result.action.args.value(u"paths"_s).toArray().size(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().finished, 15000);
    QCOMPARE(progress.last().id, u"purge:"_s + result.action.id);
    QVERIFY2(progress.last().text.contains(u"applied at 0 of 0 edge(s)"_s),
             qPrintable(progress.last().text));
    QVERIFY(!progress.last().failed);

    // A path that is none is refused with the server's reason, and nothing is recorded.
    m_asked.clear();
    QSignalSpy refused(m_controller.get(), &ActionController::actionRefused);
    m_controller->purgeCache({u"assets/*"_s});
    QVERIFY(refused.wait(15000));
    QCOMPARE(refused.first().at(2).value<Api::ApiError>().code, u"invalid_parameter"_s);
    QVERIFY2(m_asked.last().text.contains(u"must start with '/'"_s),
             qPrintable(m_asked.last().text));
}

QTEST_MAIN(tst_ActionController)
#include "tst_actioncontroller.moc"
