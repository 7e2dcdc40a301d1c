// The control API's decision logic: validation, the safety rules and revert.
#include "core/control/actionplanner.h"

#include <QJsonArray>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

ControlState threeRegions()
{
    ControlState state;
    state.regions.insert(u"us-east"_s, RegionControl{u"active"_s, 100, 1, 100, {}});
    state.regions.insert(u"eu-west"_s, RegionControl{u"active"_s, 100, 2, 100, {}});
    state.regions.insert(u"ap-southeast"_s, RegionControl{u"active"_s, 100, 3, 100, {}});
    state.strategy = {u"weighted_round_robin"_s, {}};
    state.primary = u"us-east"_s;
    return state;
}

const QDateTime kNow = QDateTime::fromString(u"2026-11-25T01:00:00.000Z"_s, Qt::ISODateWithMs);

} // namespace

class tst_ActionPlanner final : public QObject
{
    Q_OBJECT

private slots:
    void parseRejectsBadInput_data();
    void parseRejectsBadInput();
    void drainRespectsMinActive();
    void drainTwiceIsAConflict();
    void unknownRegion();
    void promoteChecksLag_data();
    void promoteChecksLag();
    void promoteReordersPriorities();
    void strategyValidation();
    void revertRestoresPrevious();
    void revertChecksSafety();
    void drainSettles();
    void purgeChangesNoStateAndCannotBeReverted();

private:
    ActionPlanner planner(std::optional<QList<InboundLink>> links = QList<InboundLink>{}) const
    {
        SafetyPolicy policy;
        policy.minActiveRegions = 2;
        return ActionPlanner(
                policy,
                [](const StrategyChoice &choice) -> std::optional<QString> {
                    if (choice.params.contains(u"bogus"_s))
                        return u"unknown parameter 'bogus'"_s;
                    return std::nullopt;
                },
                [links](const QString &) { return links; });
    }
};

void tst_ActionPlanner::parseRejectsBadInput_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("code");
    QTest::addRow("malformed json")
            << u"drain"_s << QByteArray("{\"deadline_s\":") << u"invalid_json"_s;
    QTest::addRow("array body") << u"drain"_s << QByteArray("[1]") << u"invalid_json"_s;
    QTest::addRow("negative deadline")
            << u"drain"_s << QByteArray("{\"deadline_s\":-1}") << u"invalid_parameter"_s;
    QTest::addRow("string force") << u"drain"_s << QByteArray("{\"force\":\"yes\"}")
                                  << u"invalid_parameter"_s;
    QTest::addRow("unknown field")
            << u"drain"_s << QByteArray("{\"deadline\":3}") << u"invalid_parameter"_s;
    QTest::addRow("dial missing") << u"dial"_s << QByteArray("{}") << u"invalid_parameter"_s;
    QTest::addRow("dial 101") << u"dial"_s << QByteArray("{\"percent\":101}")
                              << u"invalid_parameter"_s;
    QTest::addRow("dial fraction")
            << u"dial"_s << QByteArray("{\"percent\":3.5}") << u"invalid_parameter"_s;
    QTest::addRow("dial string") << u"dial"_s << QByteArray("{\"percent\":\"30\"}")
                                 << u"invalid_parameter"_s;
    QTest::addRow("weight negative")
            << u"weight"_s << QByteArray("{\"weight\":-5}") << u"invalid_parameter"_s;
    QTest::addRow("unknown strategy")
            << u"strategy"_s << QByteArray("{\"name\":\"fastest\"}") << u"unknown_strategy"_s;
    QTest::addRow("strategy params not object")
            << u"strategy"_s << QByteArray("{\"name\":\"random\",\"params\":3}")
            << u"invalid_parameter"_s;
    QTest::addRow("unknown kind") << u"explode"_s << QByteArray("{}") << u"bad_request"_s;
    QTest::addRow("purge without paths")
            << u"purge"_s << QByteArray("{}") << u"invalid_parameter"_s;
    QTest::addRow("purge, empty paths")
            << u"purge"_s << QByteArray("{\"paths\":[]}") << u"invalid_parameter"_s;
    QTest::addRow("purge, path a string")
            << u"purge"_s << QByteArray("{\"paths\":\"/x\"}") << u"invalid_parameter"_s;
    QTest::addRow("purge, relative path")
            << u"purge"_s << QByteArray("{\"paths\":[\"x.css\"]}") << u"invalid_parameter"_s;
    QTest::addRow("purge, star inside")
            << u"purge"_s << QByteArray("{\"paths\":[\"/a*/b\"]}") << u"invalid_parameter"_s;
    QTest::addRow("purge, number path")
            << u"purge"_s << QByteArray("{\"paths\":[3]}") << u"invalid_parameter"_s;
    QTest::addRow("purge, bad host")
            << u"purge"_s << QByteArray("{\"paths\":[\"/*\"],\"host\":\"a b\"}")
            << u"invalid_parameter"_s;
    QTest::addRow("purge, host with path")
            << u"purge"_s << QByteArray("{\"paths\":[\"/*\"],\"host\":\"a.com/x\"}")
            << u"invalid_parameter"_s;
    QTest::addRow("purge, unknown field")
            << u"purge"_s << QByteArray("{\"paths\":[\"/*\"],\"prefix\":\"/\"}")
            << u"invalid_parameter"_s;
    QByteArray many = "{\"paths\":[";
    for (int i = 0; i < 1001; ++i)
        many += (i ? ",\"/" : "\"/") + QByteArray::number(i) + "\"";
    QTest::addRow("purge, 1001 paths") << u"purge"_s << many + "]}" << u"invalid_parameter"_s;
}

void tst_ActionPlanner::parseRejectsBadInput()
{
    QFETCH(QString, kind);
    QFETCH(QByteArray, body);
    QFETCH(QString, code);
    const auto result = ActionRequest::parse(kind, u"us-east"_s, body, SafetyPolicy{});
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, code);
    QCOMPARE(result.error().status, 400);
    QVERIFY(!result.error().message.isEmpty());
}

void tst_ActionPlanner::drainRespectsMinActive()
{
    ControlState state = threeRegions();
    const auto p = planner();
    auto request = ActionRequest::parse(u"drain"_s, u"eu-west"_s, "{\"deadline_s\":10}", {});
    QVERIFY(request.ok());
    auto plan = p.plan(state, request.value(), kNow);
    QVERIFY2(plan.ok(), qPrintable(plan.error().message));
    QCOMPARE(plan.value().next.regions.value(u"eu-west"_s).state, u"draining"_s);
    QCOMPARE(plan.value().next.regions.value(u"eu-west"_s).drainDeadline, kNow.addSecs(10));
    QCOMPARE(plan.value().touchedRows, QStringList{u"region/eu-west"_s});
    QCOMPARE(plan.value().previous.value(u"regions"_s)[u"eu-west"_s][u"state"_s].toString(),
             u"active"_s);
    state = plan.value().next;

    // A second drain would leave 1 active region, below min_active_regions = 2.
    request = ActionRequest::parse(u"drain"_s, u"us-east"_s, "{}", {});
    plan = p.plan(state, request.value(), kNow);
    QVERIFY(!plan.ok());
    QCOMPARE(plan.error().status, 409);
    QCOMPARE(plan.error().code, u"min_active_regions"_s);
    QVERIFY(plan.error().message.contains(u"min_active_regions = 2"_s));

    // Unless forced.
    request = ActionRequest::parse(u"drain"_s, u"us-east"_s, "{\"force\":true}", {});
    plan = p.plan(state, request.value(), kNow);
    QVERIFY(plan.ok());
    QCOMPARE(plan.value().next.activeCount(), 1);

    // Draining a standby region never reduces the active count.
    state.regions[u"us-east"_s].state = u"standby"_s;
    state.regions[u"eu-west"_s].state = u"active"_s;
    request = ActionRequest::parse(u"drain"_s, u"us-east"_s, "{}", {});
    plan = p.plan(state, request.value(), kNow);
    QVERIFY(plan.ok());
}

void tst_ActionPlanner::drainTwiceIsAConflict()
{
    ControlState state = threeRegions();
    state.regions[u"eu-west"_s].state = u"drained"_s;
    const auto request = ActionRequest::parse(u"drain"_s, u"eu-west"_s, "{}", {});
    const auto plan = planner().plan(state, request.value(), kNow);
    QVERIFY(!plan.ok());
    QCOMPARE(plan.error().code, u"conflict"_s);
    const auto activate = ActionRequest::parse(u"activate"_s, u"us-east"_s, "{}", {});
    QCOMPARE(planner().plan(state, activate.value(), kNow).error().code, u"conflict"_s);
}

void tst_ActionPlanner::unknownRegion()
{
    const auto request = ActionRequest::parse(u"dial"_s, u"mars-1"_s, "{\"percent\":5}", {});
    const auto plan = planner().plan(threeRegions(), request.value(), kNow);
    QVERIFY(!plan.ok());
    QCOMPARE(plan.error().status, 404);
    QCOMPARE(plan.error().code, u"unknown_region"_s);
}

void tst_ActionPlanner::promoteChecksLag_data()
{
    QTest::addColumn<QString>("state");
    QTest::addColumn<double>("behind");
    QTest::addColumn<bool>("force");
    QTest::addColumn<bool>("accepted");
    QTest::addRow("caught up") << u"caught_up"_s << 0.0 << false << true;
    QTest::addRow("lagging within limit") << u"lagging"_s << 4.9 << false << true;
    QTest::addRow("lagging beyond limit") << u"lagging"_s << 5.1 << false << false;
    QTest::addRow("stalled") << u"stalled"_s << 0.0 << false << false;
    QTest::addRow("disconnected") << u"disconnected"_s << 0.0 << false << false;
    QTest::addRow("needs resync") << u"needs_resync"_s << 0.0 << false << false;
    QTest::addRow("disconnected, forced") << u"disconnected"_s << 60.0 << true << true;
}

void tst_ActionPlanner::promoteChecksLag()
{
    QFETCH(QString, state);
    QFETCH(double, behind);
    QFETCH(bool, force);
    QFETCH(bool, accepted);
    const auto p = planner(QList<InboundLink>{{u"us-east"_s, u"caught_up"_s, 0.0},
                                              {u"ap-southeast"_s, state, behind}});
    const auto request = ActionRequest::parse(u"promote"_s,
                                              u"eu-west"_s,
                                              force ? "{\"force\":true}" : "{}",
                                              {});
    const auto plan = p.plan(threeRegions(), request.value(), kNow);
    QCOMPARE(plan.ok(), accepted);
    if (!accepted) {
        QCOMPARE(plan.error().status, 409);
        QCOMPARE(plan.error().code, u"promote_lag"_s);
    }
}

void tst_ActionPlanner::promoteReordersPriorities()
{
    ControlState state = threeRegions();
    state.regions[u"ap-southeast"_s].state = u"drained"_s;
    const auto request = ActionRequest::parse(u"promote"_s, u"ap-southeast"_s, "{}", {});
    auto plan = planner().plan(state, request.value(), kNow);
    QVERIFY(plan.ok());
    const ControlState &next = plan.value().next;
    QCOMPARE(next.primary, u"ap-southeast"_s);
    QCOMPARE(next.regions.value(u"ap-southeast"_s).state, u"active"_s);
    QCOMPARE(next.regions.value(u"ap-southeast"_s).priority, 1);
    QCOMPARE(next.regions.value(u"us-east"_s).priority, 2);
    QCOMPARE(next.regions.value(u"eu-west"_s).priority, 3);
    QCOMPARE(plan.value().previous.value(u"primary"_s).toString(), u"us-east"_s);

    // Unknown replication state (the region's node is unreachable) refuses unless forced.
    const auto blind = planner(std::nullopt);
    plan = blind.plan(state, request.value(), kNow);
    QVERIFY(!plan.ok());
    QCOMPARE(plan.error().code, u"promote_lag"_s);
}

void tst_ActionPlanner::strategyValidation()
{
    auto request = ActionRequest::parse(u"strategy"_s,
                                        {},
                                        "{\"name\":\"latency_ewma\",\"params\":{\"bogus\":1}}",
                                        {});
    QVERIFY(request.ok());
    auto plan = planner().plan(threeRegions(), request.value(), kNow);
    QVERIFY(!plan.ok());
    QCOMPARE(plan.error().code, u"invalid_parameter"_s);
    request = ActionRequest::parse(u"strategy"_s,
                                   {},
                                   "{\"name\":\"latency_ewma\",\"params\":{\"decay_s\":10}}",
                                   {});
    plan = planner().plan(threeRegions(), request.value(), kNow);
    QVERIFY(plan.ok());
    QCOMPARE(plan.value().next.strategy.name, u"latency_ewma"_s);
    QCOMPARE(plan.value().touchedRows, QStringList{u"strategy"_s});
}

void tst_ActionPlanner::revertRestoresPrevious()
{
    const ControlState original = threeRegions();
    const auto p = planner();
    const auto request = ActionRequest::parse(u"dial"_s, u"eu-west"_s, "{\"percent\":30}", {});
    const auto plan = p.plan(original, request.value(), kNow);
    QVERIFY(plan.ok());
    Action action;
    action.id = u"act-000001"_s;
    action.kind = u"dial"_s;
    action.previous = plan.value().previous;
    // Another region changes in between; the revert must not undo that.
    ControlState current = plan.value().next;
    current.regions[u"us-east"_s].weight = 7;
    const auto revert = p.planRevert(current, action, false);
    QVERIFY(revert.ok());
    QCOMPARE(revert.value().next.regions.value(u"eu-west"_s).dial, 100);
    QCOMPARE(revert.value().next.regions.value(u"us-east"_s).weight, 7);
    QCOMPARE(revert.value().previous.value(u"regions"_s)[u"eu-west"_s][u"dial"_s].toInt(), 30);

    action.status = u"reverted"_s;
    action.revertedBy = u"act-000002"_s;
    QCOMPARE(p.planRevert(current, action, false).error().code, u"conflict"_s);
}

void tst_ActionPlanner::revertChecksSafety()
{
    ControlState state = threeRegions();
    state.regions[u"eu-west"_s].state = u"drained"_s;
    const auto p = planner();
    const auto request = ActionRequest::parse(u"activate"_s, u"eu-west"_s, "{}", {});
    const auto plan = p.plan(state, request.value(), kNow);
    QVERIFY(plan.ok());
    Action activate;
    activate.id = u"act-000001"_s;
    activate.kind = u"activate"_s;
    activate.previous = plan.value().previous;
    ControlState current = plan.value().next;
    current.regions[u"us-east"_s].state = u"drained"_s; // now 2 active: eu-west, ap-southeast
    const auto revert = p.planRevert(current, activate, false);
    QVERIFY(!revert.ok());
    QCOMPARE(revert.error().code, u"min_active_regions"_s);
    QVERIFY(p.planRevert(current, activate, true).ok());
}

void tst_ActionPlanner::drainSettles()
{
    RegionControl region{u"draining"_s, 100, 1, 100, kNow.addSecs(30)};
    QVERIFY(!ActionPlanner::drainSettled(region, 3, kNow));
    QVERIFY(ActionPlanner::drainSettled(region, 0, kNow));
    QVERIFY(ActionPlanner::drainSettled(region, 3, kNow.addSecs(30)));
    // Sticky sessions (consistent_hash) keep a draining region until its deadline.
    QVERIFY(!ActionPlanner::drainSettled(region, 0, kNow, true));
    QVERIFY(ActionPlanner::drainSettled(region, 0, kNow.addSecs(30), true));
    region.state = u"active"_s;
    QVERIFY(!ActionPlanner::drainSettled(region, 0, kNow));
}

void tst_ActionPlanner::purgeChangesNoStateAndCannotBeReverted()
{
    const ControlState state = threeRegions();
    const auto p = planner();
    const auto request = ActionRequest::parse(
            u"purge"_s,
            {},
            R"({"paths": ["/index.html", "/assets/*", "/index.html"], "host": "WWW.Example.com:8080"})",
            {});
    QVERIFY2(request.ok(), qPrintable(request.error().message));
    // Duplicates dropped, the host in lower case: what every edge applies.
    QCOMPARE(request.value().args.value(u"paths"_s).toArray(),
             QJsonArray({u"/index.html"_s, u"/assets/*"_s}));
    QCOMPARE(request.value().args.value(u"host"_s).toString(), u"www.example.com:8080"_s);
    const auto plan = p.plan(state, request.value(), kNow);
    QVERIFY(plan.ok());
    QVERIFY(plan.value().touchedRows.isEmpty());
    QCOMPARE(plan.value().next, state);

    Action action;
    action.id = u"act-000009"_s;
    action.kind = u"purge"_s;
    action.args = request.value().args;
    const auto revert = p.planRevert(state, action, true);
    QVERIFY(!revert.ok());
    QCOMPARE(revert.error().code, u"conflict"_s);
    QVERIFY(revert.error().message.contains(u"cannot be reverted"_s));
}

QTEST_GUILESS_MAIN(tst_ActionPlanner)
#include "tst_actionplanner.moc"
