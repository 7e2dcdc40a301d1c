// StrategyPanel against a real two-region cluster: it shows the current strategy, previews a
// change (bars from the server's preview) before applying, refuses invalid parameters locally,
// applies through the ActionController's confirmation, and edits weights.
#include "core/balancing/strategy.h"
#include "core/cluster/localcluster.h"
#include "core/control/controlclient.h"
#include "ui/actioncontroller.h"
#include "ui/sharebars.h"
#include "ui/strategypanel.h"

#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace Meridian;

class tst_StrategyPanel final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void showsCurrentStrategy();
    void previewBeforeApply();
    void invalidParameterNotApplied();
    void applyThroughConfirmation();
    void parameterSpecsMatchTheCore();

private:
    Api::ClusterView fetchCluster();

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
    std::unique_ptr<ControlClient> m_client;
};

void tst_StrategyPanel::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_cluster = std::make_unique<LocalCluster>(m_dir->filePath(u"cluster"_s));
    LocalClusterOptions options;
    options.regions = 2;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.controlOverrides = {{u"probe_interval_ms"_s, 200}};
    options.configOverrides = {{u"shutdown_timeout_ms"_s, 3000}};
    QString error;
    QVERIFY2(m_cluster->up(options, &error), qPrintable(error));
    m_client = std::make_unique<ControlClient>();
    QVERIFY(m_client->setEndpoint(m_cluster->node(u"us-east"_s)->controlUrl.toString()));
    m_client->setToken(QString::fromLatin1(m_cluster->adminToken()));
    QTRY_VERIFY_WITH_TIMEOUT(
            [this] {
                const Api::ClusterView v = fetchCluster();
                return v.regions.size() == 2 && v.regions.at(0).health == u"healthy"
                       && v.regions.at(1).health == u"healthy";
            }(),
            20000);
}

void tst_StrategyPanel::cleanupTestCase()
{
    m_client.reset();
    if (m_cluster) {
        QString error;
        QVERIFY2(m_cluster->down(5000, &error), qPrintable(error));
    }
}

Api::ClusterView tst_StrategyPanel::fetchCluster()
{
    std::optional<Api::ApiResult<Api::ClusterView>> answer;
    m_client->cluster(this, [&answer](const auto &result) { answer = result; });
    if (!QTest::qWaitFor([&answer] { return answer.has_value(); }, 15000) || !answer->ok())
        return {};
    return answer->value();
}

void tst_StrategyPanel::showsCurrentStrategy()
{
    StrategyPanel panel(m_client.get(), nullptr);
    const Api::ClusterView view = fetchCluster();
    QVERIFY(!view.strategy.name.isEmpty());
    panel.setCluster(view);
    QVERIFY2(panel.currentLabel()->text().contains(view.strategy.name),
             qPrintable(panel.currentLabel()->text()));
    QCOMPARE(panel.editedStrategy().name, view.strategy.name);
    QVERIFY(!panel.isModified());
    QVERIFY(!panel.applyButton()->isEnabled());
    // The current shares are shown, one bar pair per region.
    QCOMPARE(panel.bars()->rows().size(), 2);
    QCOMPARE(panel.regionsTable()->rowCount(), 2);
}

void tst_StrategyPanel::previewBeforeApply()
{
    StrategyPanel panel(m_client.get(), nullptr);
    const Api::ClusterView view = fetchCluster();
    panel.setCluster(view);
    QSignalSpy previewed(&panel, &StrategyPanel::previewUpdated);
    // failover: everything to the first region in priority order.
    panel.setEditedStrategy({u"failover"_s, {}});
    QVERIFY(panel.isModified());
    QVERIFY(panel.applyButton()->isEnabled());
    QVERIFY(previewed.wait(15000));
    const Api::Preview preview = previewed.last().at(0).value<Api::Preview>();
    double total = 0;
    double largest = 0;
    for (double share : preview.after) {
        total += share;
        largest = std::max(largest, share);
    }
    QVERIFY(std::abs(total - 1.0) < 1e-6);
    QCOMPARE(largest, 1.0);
    QCOMPARE(panel.bars()->rows().size(), 2);
    for (const ShareBars::Row &row : panel.bars()->rows())
        QCOMPARE(row.after, preview.after.value(row.id));
    // Nothing was applied by previewing.
    QCOMPARE(fetchCluster().strategy.name, view.strategy.name);
}

void tst_StrategyPanel::invalidParameterNotApplied()
{
    StrategyPanel panel(m_client.get(), nullptr);
    panel.setCluster(fetchCluster());
    // 65,536 is not a prime: refused locally with the core's reason, Apply disabled.
    panel.setEditedStrategy({u"consistent_hash"_s, {{u"table_size"_s, 65536}}});
    QVERIFY(!panel.applyButton()->isEnabled());
    const QList<QLabel *> labels = panel.findChildren<QLabel *>();
    const bool explained = std::any_of(labels.cbegin(), labels.cend(), [](QLabel *label) {
        return label->isVisibleTo(label->parentWidget()) && label->text().contains(u"prime"_s);
    });
    QVERIFY(explained);
    panel.setEditedStrategy({u"consistent_hash"_s, {{u"table_size"_s, 65537}}});
    QVERIFY(panel.applyButton()->isEnabled());
}

void tst_StrategyPanel::applyThroughConfirmation()
{
    ActionController actions(m_client.get(), nullptr);
    QList<ConfirmationRequest> asked;
    actions.setConfirmationPolicy(
            [&asked](const ConfirmationRequest &request, std::function<void(bool)> decide) {
                asked.append(request);
                decide(request.kind == ConfirmationRequest::Kind::Confirm);
            });
    StrategyPanel panel(m_client.get(), &actions);
    const Api::ClusterView view = fetchCluster();
    panel.setCluster(view);
    const QString target = view.strategy.name == u"least_request" ? u"weighted_random"_s
                                                                  : u"least_request"_s;
    Api::StrategyInfo wanted{target, {}};
    if (target == u"least_request")
        wanted.params.insert(u"choice_count"_s, 3);
    panel.setEditedStrategy(wanted);
    QSignalSpy finished(&actions, &ActionController::actionFinished);
    panel.apply();
    QVERIFY(finished.wait(15000));
    QCOMPARE(asked.size(), 1);
    QVERIFY2(asked.first().text.contains(u"before → after"_s), qPrintable(asked.first().text));
    const Api::ClusterView after = fetchCluster();
    QCOMPARE(after.strategy.name, target);
    if (target == u"least_request")
        QCOMPARE(after.strategy.params.value(u"choice_count"_s).toInt(), 3);
    QVERIFY2(panel.currentLabel()->text().contains(target),
             qPrintable(panel.currentLabel()->text()));
    QVERIFY(!panel.isModified());

    // A weight edited in the table goes through the same confirmation.
    panel.setCluster(after);
    auto *weight = qobject_cast<QSpinBox *>(panel.regionsTable()->cellWidget(1, 1));
    QVERIFY(weight);
    const QString region = panel.regionsTable()->item(1, 0)->text();
    weight->setValue(weight->value() + 50);
    emit weight->editingFinished();
    QVERIFY(finished.wait(15000));
    QCOMPARE(asked.size(), 2);
    QCOMPARE(asked.last().action, u"weight"_s);
    QCOMPARE(asked.last().region, region);
    QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const Api::RegionStatus &r : fetchCluster().regions) {
                    if (r.id == region)
                        return r.weight == weight->value();
                }
                return false;
            }(),
            10000);
}

void tst_StrategyPanel::parameterSpecsMatchTheCore()
{
    // Every default the panel offers is accepted by the core's own parser.
    for (const QString &name : {u"least_request"_s, u"latency_ewma"_s, u"consistent_hash"_s}) {
        const QList<StrategyPanel::ParameterSpec> specs = StrategyPanel::parameterSpecs(name);
        QVERIFY(!specs.isEmpty());
        QVERIFY(!StrategyPanel::describeStrategy(name).isEmpty());
        QJsonObject defaults;
        QJsonObject atMaximum;
        for (const StrategyPanel::ParameterSpec &spec : specs) {
            defaults.insert(spec.key, spec.defaultValue);
            if (spec.key != u"table_size") // the largest prime is not the range's end
                atMaximum.insert(spec.key, spec.maximum);
        }
        const auto parsed = parseStrategyParams(name, defaults);
        QVERIFY2(parsed.ok(), qPrintable(parsed.error()));
        const auto parsedMax = parseStrategyParams(name, atMaximum);
        QVERIFY2(parsedMax.ok(), qPrintable(parsedMax.error()));
        QCOMPARE(specs.size(), strategyParameterNames(*strategyFromName(name)).size());
    }
    QVERIFY(StrategyPanel::parameterSpecs(u"failover"_s).isEmpty());
}

QTEST_MAIN(tst_StrategyPanel)
#include "tst_strategypanel.moc"
