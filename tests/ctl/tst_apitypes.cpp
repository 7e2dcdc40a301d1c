// Parsing of the control API's value shapes: valid answers, missing fields, wrong types, unknown
// fields and nulls.
#include "core/control/apitypes.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian::Api;

namespace {

QJsonObject parse(const char *json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray(json), &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s", qPrintable(error.errorString()));
    return document.object();
}

// The example Region of docs/control-api.md, plus a field a newer server might add.
QJsonObject regionJson()
{
    QFile file(QStringLiteral(SRCDIR "data/region.json"));
    if (!file.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", qPrintable(file.fileName()));
    return QJsonDocument::fromJson(file.readAll()).object();
}

} // namespace

class tst_ApiTypes final : public QObject
{
    Q_OBJECT

private slots:
    void regionValid();
    void regionWithResync();
    void regionErrors_data();
    void regionErrors();
    void cluster();
    void clusterNestedErrorNamesPath();
    void link();
    void status();
    void actionResult();
    void actionResultRequiresAction();
    void purgeStatus();
    void edgeCacheStats();
    void strategyRoundTrip();
    void previewRequestBodies();
    void preview();
    void digest();
    void digestWrongCount();
    void audit();
    void overwritten();
    void lists();
    void apiErrorFromHttp_data();
    void apiErrorFromHttp();
    void events();
};

void tst_ApiTypes::regionValid()
{
    const ApiResult<RegionStatus> result = RegionStatus::fromJson(regionJson());
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    const RegionStatus &region = result.value();
    QCOMPARE(region.id, u"eu-west"_s);
    QCOMPARE(region.name, u"Dublin"_s);
    QCOMPARE(region.lat, 53.35);
    QCOMPARE(region.lon, -6.26);
    QCOMPARE(region.state, u"active"_s);
    QCOMPARE(region.health, u"healthy"_s);
    QVERIFY(region.reachable);
    QVERIFY(!region.primary);
    QCOMPARE(region.weight, 100);
    QCOMPARE(region.priority, 1);
    QCOMPARE(region.dial, 100);
    QCOMPARE(region.trafficShare, 0.2);
    QCOMPARE(region.rps, 12.5);
    QCOMPARE(region.p50Ms, 3.1);
    QCOMPARE(region.p99Ms, 12.0);
    QCOMPARE(region.inFlight, 2);
    QCOMPARE(region.worstLagS, 0.05);
    QCOMPARE(region.worstLinkState, u"caught_up"_s);
    QVERIFY(!region.resync.has_value());
    QCOMPARE(region.dataUrl, u"http://127.0.0.1:41001"_s);
    QCOMPARE(region.controlUrl, u"http://127.0.0.1:42001"_s);
    QCOMPARE(region.endpoints.size(), 1);
    QCOMPARE(region.endpoints.first().health, u"healthy"_s);
}

void tst_ApiTypes::regionWithResync()
{
    QJsonObject object = regionJson();
    object.insert(u"resync"_s, parse(R"({"id": "rs-3", "region": "eu-west", "from": "us-east",
        "phase": "transfer", "state": "running", "bytes_done": 1048576, "bytes_total": 4194304,
        "rows": 10000, "eta_s": 3.5, "error": null})"));
    const ApiResult<RegionStatus> result = RegionStatus::fromJson(object);
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QVERIFY(result.value().resync.has_value());
    const ResyncProgress &resync = *result.value().resync;
    QCOMPARE(resync.id, u"rs-3"_s);
    QCOMPARE(resync.from, u"us-east"_s);
    QCOMPARE(resync.phase, u"transfer"_s);
    QCOMPARE(resync.bytesDone, 1048576);
    QCOMPARE(resync.bytesTotal, 4194304);
    QCOMPARE(resync.rows, 10000);
    QCOMPARE(resync.etaS, std::optional<double>(3.5));
    QVERIFY(resync.error.isEmpty());
    QVERIFY(!resync.finished());
}

void tst_ApiTypes::regionErrors_data()
{
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value"); // undefined: remove the field
    QTest::addColumn<QString>("expected");

    QTest::addRow("missing id") << u"id"_s << QJsonValue(QJsonValue::Undefined)
                                << u"region.id is missing"_s;
    QTest::addRow("null state") << u"state"_s << QJsonValue(QJsonValue::Null)
                                << u"region.state is missing"_s;
    QTest::addRow("lat as string") << u"lat"_s << QJsonValue(u"53.35"_s)
                                   << u"region.lat should be a number, not a string"_s;
    QTest::addRow("reachable as number") << u"reachable"_s << QJsonValue(1)
                                         << u"region.reachable should be a boolean, not a number"_s;
    QTest::addRow("weight fractional")
            << u"weight"_s << QJsonValue(2.5) << u"region.weight should be an integer, not 2.5"_s;
    QTest::addRow("weight as string") << u"weight"_s << QJsonValue(u"100"_s)
                                      << u"region.weight should be an integer, not a string"_s;
    QTest::addRow("endpoints as object") << u"endpoints"_s << QJsonValue(QJsonObject())
                                         << u"region.endpoints should be an array, not an object"_s;
    QTest::addRow("endpoint without url")
            << u"endpoints"_s << QJsonValue(QJsonArray{QJsonObject{{u"health"_s, u"healthy"_s}}})
            << u"region.endpoints[0].url is missing"_s;
    QTest::addRow("endpoint not object")
            << u"endpoints"_s << QJsonValue(QJsonArray{3})
            << u"region.endpoints[0] should be an object, not a number"_s;
    QTest::addRow("resync as string") << u"resync"_s << QJsonValue(u"rs-1"_s)
                                      << u"region.resync should be an object, not a string"_s;
    QTest::addRow("resync without state")
            << u"resync"_s << QJsonValue(QJsonObject{{u"id"_s, u"rs-1"_s}})
            << u"region.resync.state is missing"_s;
}

void tst_ApiTypes::regionErrors()
{
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QFETCH(QString, expected);
    QJsonObject object = regionJson();
    if (value.isUndefined())
        object.remove(field);
    else
        object.insert(field, value);
    const ApiResult<RegionStatus> result = RegionStatus::fromJson(object);
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, u"invalid_response"_s);
    QCOMPARE(result.error().httpStatus, 0);
    QVERIFY(!result.error().isNetworkError());
    QVERIFY2(result.error().message.contains(expected), qPrintable(result.error().message));
}

void tst_ApiTypes::cluster()
{
    QJsonObject object = parse(R"({"links": [{"origin": "us-east", "replica": "eu-west",
        "rtt_ms": 71.2, "state": "caught_up", "entries_behind": 0, "seconds_behind": 0.0,
        "apply_rate": 120.0, "last_contact": "2026-11-25T01:40:19.123Z"}],
        "strategy": {"name": "latency_ewma", "params": {"decay_s": 10}},
        "primary": "eu-west", "generated_at": "2026-11-25T01:40:20.000Z"})");
    object.insert(u"regions"_s, QJsonArray{regionJson()});
    const ApiResult<ClusterView> result = ClusterView::fromJson(object);
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QCOMPARE(result.value().regions.size(), 1);
    QCOMPARE(result.value().links.size(), 1);
    QCOMPARE(result.value().links.first().rttMs, 71.2);
    QCOMPARE(result.value().strategy.name, u"latency_ewma"_s);
    QCOMPARE(result.value().strategy.params.value(u"decay_s"_s).toInt(), 10);
    QCOMPARE(result.value().primary, u"eu-west"_s);
    QCOMPARE(result.value().generatedAt, QDateTime(QDate(2026, 11, 25), QTime(1, 40, 20), Qt::UTC));
    QVERIFY(!result.value().quorum); // nodes older than the quorum rule send none

    object.insert(u"quorum"_s,
                  QJsonObject{{u"reachable"_s, 2}, {u"voters"_s, 6}, {u"has_quorum"_s, false}});
    const ApiResult<ClusterView> withQuorum = ClusterView::fromJson(object);
    QVERIFY2(withQuorum.ok(), qPrintable(withQuorum.error().message));
    QVERIFY(withQuorum.value().quorum);
    QCOMPARE(withQuorum.value().quorum->reachable, 2);
    QCOMPARE(withQuorum.value().quorum->voters, 6);
    QVERIFY(!withQuorum.value().quorum->hasQuorum);
    object.insert(u"quorum"_s, QJsonObject{{u"reachable"_s, 2}, {u"voters"_s, 6}});
    QCOMPARE(ClusterView::fromJson(object).error().message,
             u"invalid answer: cluster.quorum.has_quorum is missing"_s);
    object.remove(u"quorum"_s);

    object.remove(u"regions"_s);
    QCOMPARE(ClusterView::fromJson(object).error().message,
             u"invalid answer: cluster.regions is missing"_s);
}

void tst_ApiTypes::clusterNestedErrorNamesPath()
{
    QJsonObject second = regionJson();
    second.insert(u"lon"_s, true);
    const QJsonObject object{{u"regions"_s, QJsonArray{regionJson(), second}}};
    const ApiResult<ClusterView> result = ClusterView::fromJson(object);
    QVERIFY(!result.ok());
    QCOMPARE(result.error().message,
             u"invalid answer: cluster.regions[1].lon should be a number, not a boolean"_s);
}

void tst_ApiTypes::link()
{
    const ApiResult<LinkStatus> good = LinkStatus::fromJson(parse(
            R"({"origin": "a", "replica": "b", "last_contact": "2026-11-25T01:40:19.123Z"})"));
    QVERIFY2(good.ok(), qPrintable(good.error().message));
    QCOMPARE(good.value().lastContact.time().msec(), 123);
    QCOMPARE(good.value().lastContact.timeSpec(), Qt::UTC);

    const ApiResult<LinkStatus> badTime = LinkStatus::fromJson(
            parse(R"({"origin": "a", "replica": "b", "last_contact": "yesterday"})"));
    QVERIFY(!badTime.ok());
    QVERIFY(badTime.error().message.contains(u"link.last_contact should be an RFC 3339 time"_s));

    const ApiResult<LinkStatus> down = LinkStatus::fromJson(
            parse(R"({"origin": "a", "replica": "b", "state": "disconnected",
                      "detail": "127.0.0.1:43001 did not authenticate"})"));
    QVERIFY2(down.ok(), qPrintable(down.error().message));
    QCOMPARE(down.value().detail, u"127.0.0.1:43001 did not authenticate"_s);
    QVERIFY(good.value().detail.isEmpty());

    QVERIFY(!LinkStatus::fromJson(parse(R"({"origin": "a"})")).ok());
    const ApiResult<LinkStatus> negative = LinkStatus::fromJson(
            parse(R"({"origin": "a", "replica": "b", "entries_behind": "3"})"));
    QVERIFY(negative.error().message.contains(u"entries_behind should be an integer"_s));
}

void tst_ApiTypes::status()
{
    const ApiResult<NodeStatus> result = NodeStatus::fromJson(
            parse(R"({"region": "eu-west", "role": "region", "state": "active",
                "health": "healthy", "version": "0.1.0", "uptime_s": 12.5, "node_id": "n1"})"));
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QCOMPARE(result.value().uptimeS, 12.5);
    QCOMPARE(result.value().nodeId, u"n1"_s);
    QVERIFY(!NodeStatus::fromJson(parse(R"({"role": "region"})")).ok());
    QVERIFY(!NodeStatus::fromJson(parse(R"({"role": 1, "version": "0.1.0"})")).ok());
}

void tst_ApiTypes::actionResult()
{
    QJsonObject object = parse(R"({"action": {"id": "act-000042", "kind": "drain",
        "region": "eu-west", "args": {"deadline_s": 30}, "time": "2026-11-25T01:40:19.123Z",
        "actor": "alice", "status": "applied", "previous": {"state": "active"}}})");
    object.insert(u"region"_s, regionJson());
    const ApiResult<ActionResult> result = ActionResult::fromJson(object);
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QCOMPARE(result.value().action.id, u"act-000042"_s);
    QCOMPARE(result.value().action.args.value(u"deadline_s"_s).toInt(), 30);
    QCOMPARE(result.value().action.previous.value(u"state"_s).toString(), u"active"_s);
    QVERIFY(result.value().region.has_value());
    QVERIFY(!result.value().strategy.has_value());
}

void tst_ApiTypes::actionResultRequiresAction()
{
    QVERIFY(!ActionResult::fromJson(parse(R"({"region": null})")).ok());
    const ApiResult<ActionResult> noKind = ActionResult::fromJson(
            parse(R"({"action": {"id": "act-1"}})"));
    QCOMPARE(noKind.error().message, u"invalid answer: answer.action.kind is missing"_s);
}

void tst_ApiTypes::purgeStatus()
{
    const ApiResult<PurgeStatus> status = PurgeStatus::fromJson(parse(
            R"({"action": {"id": "act-000043", "kind": "purge", "region": null,
                "args": {"paths": ["/*"]}, "time": "2026-11-25T01:40:19.123Z", "status": "applied"},
                "edges": [{"id": "edge-1", "state": "applied", "removed": 12},
                          {"id": "edge-2", "state": "applied"},
                          {"id": "edge-3", "state": "unreachable"}],
                "applied": 2, "total": 3, "done": false})"));
    QVERIFY2(status.ok(), qPrintable(status.error().message));
    QCOMPARE(status.value().action.kind, u"purge"_s);
    QCOMPARE(status.value().edges.size(), 3);
    QCOMPARE(status.value().edges.at(0).removed, 12);
    QCOMPARE(status.value().edges.at(1).removed, -1); // its cache started after the purge
    QCOMPARE(status.value().edges.at(2).state, u"unreachable"_s);
    QCOMPARE(status.value().applied, 2);
    QCOMPARE(status.value().total, 3);
    QVERIFY(!status.value().done);
    const ApiResult<PurgeStatus> noDone = PurgeStatus::fromJson(parse(
            R"({"action": {"id": "a", "kind": "purge"}, "edges": [{"id": "e", "state": 3}]})"));
    QCOMPARE(noDone.error().message,
             u"invalid answer: purge.edges[0].state should be a string, not a number"_s);
}

void tst_ApiTypes::edgeCacheStats()
{
    const auto stats = EdgeCacheStats::listFromJson(parse(
            R"({"edges": [{"id": "edge-1", "reachable": true, "cache": {"entries": 3,
                "bytes": 2048, "max_bytes": 67108864, "hits": 9, "misses": 3, "stale": 1,
                "updating": 5, "evictions": 0, "purged": 2}},
                {"id": "edge-2", "reachable": true, "cache": null},
                {"id": "edge-3", "reachable": false}]})"));
    QVERIFY2(stats.ok(), qPrintable(stats.error().message));
    QCOMPARE(stats.value().size(), 3);
    const EdgeCacheStats &first = stats.value().first();
    QVERIFY(first.enabled);
    QCOMPARE(first.entries, 3);
    QCOMPARE(first.maxBytes, 67108864);
    QCOMPARE(first.hitRatio(), 0.75);
    QCOMPARE(first.stale, 1);
    QCOMPARE(first.updating, 5);
    QCOMPARE(first.purged, 2);
    QVERIFY(!stats.value().at(1).enabled);
    QCOMPARE(stats.value().at(1).hitRatio(), -1.0);
    QVERIFY(!stats.value().at(2).reachable);
    const auto bad = EdgeCacheStats::listFromJson(
            parse(R"({"edges": [{"id": "e", "cache": {"hits": "many"}}]})"));
    QCOMPARE(bad.error().message,
             u"invalid answer: answer.edges[0].cache.hits should be an integer, not a string"_s);
}

void tst_ApiTypes::strategyRoundTrip()
{
    const StrategyInfo strategy{u"consistent_hash"_s, QJsonObject{{u"key"_s, u"cookie"_s}}};
    const ApiResult<StrategyInfo> parsed = StrategyInfo::fromJson(strategy.toJson());
    QVERIFY(parsed.ok());
    QCOMPARE(parsed.value().name, strategy.name);
    QCOMPARE(parsed.value().params, strategy.params);
    QVERIFY(!StrategyInfo::fromJson(parse(R"({"name": "x", "params": []})")).ok());
}

void tst_ApiTypes::previewRequestBodies()
{
    QCOMPARE(PreviewRequest::drain(u"a"_s).toJson(), parse(R"({"drain": "a"})"));
    QCOMPARE(PreviewRequest::activate(u"a"_s).toJson(), parse(R"({"activate": "a"})"));
    QCOMPARE(PreviewRequest::promote(u"a"_s).toJson(), parse(R"({"promote": "a"})"));
    QCOMPARE(PreviewRequest::dial(u"a"_s, 30).toJson(),
             parse(R"({"dial": {"region": "a", "percent": 30}})"));
    QCOMPARE(PreviewRequest::setWeight(u"a"_s, 50).toJson(),
             parse(R"({"weight": {"region": "a", "weight": 50}})"));
    QCOMPARE(PreviewRequest::changeStrategy(StrategyInfo{u"random"_s, {}}).toJson(),
             parse(R"({"strategy": {"name": "random", "params": {}}})"));
}

void tst_ApiTypes::preview()
{
    const ApiResult<Preview> result = Preview::fromJson(
            parse(R"({"before": {"a": 0.5, "b": 0.5}, "after": {"a": 0, "b": 1}})"));
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QCOMPARE(result.value().after.value(u"b"_s), 1.0);
    const ApiResult<Preview> bad = Preview::fromJson(
            parse(R"({"before": {"a": "half"}, "after": {}})"));
    QCOMPARE(bad.error().message,
             u"invalid answer: preview.before.a should be a number, not a string"_s);
}

void tst_ApiTypes::digest()
{
    const ApiResult<DigestReport> result = DigestReport::fromJson(
            parse(R"({"agree": false, "regions": {
                "us-east": {"digest": "ab12", "reachable": true, "overwritten": {"kv": {"eu-west": 3, "ap-south": 2}}},
                "eu-west": {"digest": "cd34", "reachable": false}}})"));
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QVERIFY(!result.value().agree);
    QCOMPARE(result.value().regions.size(), 2);
    QCOMPARE(result.value().regions.at(0).region, u"eu-west"_s); // sorted by id
    QVERIFY(!result.value().regions.at(0).reachable);
    QCOMPARE(result.value().regions.at(1).overwritten[u"kv"_s][u"eu-west"_s], 3);
    QCOMPARE(result.value().regions.at(1).overwrittenTotal(), 5);
}

void tst_ApiTypes::digestWrongCount()
{
    const ApiResult<DigestReport> result = DigestReport::fromJson(
            parse(R"({"agree": true, "regions": {"a": {"overwritten": {"kv": {"b": "3"}}}}})"));
    QVERIFY(!result.ok());
    QCOMPARE(result.error().message,
             u"invalid answer: digest.regions.a.overwritten.kv.b should be an integer, not a string"_s);
    QVERIFY(!DigestReport::fromJson(parse(R"({"agree": "yes", "regions": {}})")).ok());
    QVERIFY(!DigestReport::fromJson(parse(R"({"agree": true, "regions": {"a": 1}})")).ok());
}

void tst_ApiTypes::overwritten()
{
    const auto result = overwrittenFromJson(parse(R"({"region": "us-east", "entries": [
        {"id": 7, "at": "2026-11-25T10:45:55.334Z", "table": "kv",
         "primary_key": {"key": "k"},
         "loser": {"origin": "us-east", "hlc": "117676674601451520",
                   "time": "2026-11-25T10:45:55.320Z", "deleted": false, "row": {"key": "k"}},
         "winner": {"origin": "eu-west", "hlc": "117676674602106880",
                    "time": "2026-11-25T10:45:55.330Z"}}]})"));
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QCOMPARE(result.value().size(), 1);
    const OverwrittenEntry &e = result.value().first();
    QCOMPARE(e.id, 7);
    QCOMPARE(e.primaryKey.value(u"key"_s).toString(), u"k"_s);
    QCOMPARE(e.loser.hlc, u"117676674601451520"_s); // 64 bits, kept exact as a string
    QCOMPARE(e.winner.origin, u"eu-west"_s);
    QCOMPARE(e.loser.time.time().msec(), 320);
    QVERIFY(!e.loser.deleted);
    const auto missingWinner = overwrittenFromJson(parse(R"({"entries": [
        {"at": "2026-11-25T10:45:55.334Z", "table": "kv", "primary_key": {},
         "loser": {"origin": "a", "hlc": "1"}}]})"));
    QVERIFY(!missingWinner.ok());
    QVERIFY2(missingWinner.error().message.contains(u"winner"_s),
             qPrintable(missingWinner.error().message));
}

void tst_ApiTypes::audit()
{
    const ApiResult<QList<AuditEntry>> result = auditFromJson(parse(R"({"entries": [
        {"time": "2026-11-25T01:40:19.123Z", "token": "ops", "client": "127.0.0.1",
         "action": "drain", "args": {"region": "a"}, "result": "409 min_active_regions",
         "status": 409},
        {"time": "2026-11-25T01:40:20.000Z", "action": "activate", "result": 200}]})"));
    QVERIFY2(result.ok(), qPrintable(result.error().message));
    QCOMPARE(result.value().size(), 2);
    QCOMPARE(result.value().at(0).status, 409);
    QCOMPARE(result.value().at(0).result, u"409 min_active_regions"_s);
    QCOMPARE(result.value().at(1).result, u"200"_s);
    QVERIFY(!auditFromJson(parse(R"({"entries": [{"action": "drain"}]})")).ok());
}

void tst_ApiTypes::lists()
{
    QVERIFY(regionsFromJson(parse(R"({"regions": []})")).ok());
    QCOMPARE(regionsFromJson(parse(R"({})")).error().message,
             u"invalid answer: answer.regions is missing"_s);
    QCOMPARE(linksFromJson(parse(R"({"links": {}})")).error().message,
             u"invalid answer: answer.links should be an array, not an object"_s);
    const ApiResult<QList<ActionInfo>> actions = actionsFromJson(
            parse(R"({"actions": [{"id": "act-1", "kind": "dial", "future": [1, 2]}]})"));
    QVERIFY(actions.ok());
    QCOMPARE(actions.value().first().kind, u"dial"_s);
}

void tst_ApiTypes::apiErrorFromHttp_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("message");

    QTest::addRow("api body")
            << 409
            << QByteArray(R"({"error": {"code": "min_active_regions", "message": "would leave 0"}})")
            << u"min_active_regions"_s << u"would leave 0"_s;
    QTest::addRow("401 no body") << 401 << QByteArray() << u"unauthorized"_s
                                 << u"HTTP 401 from http://h/v1/x with no error body"_s;
    QTest::addRow("403 html") << 403 << QByteArray("<h1>no</h1>") << u"forbidden"_s
                              << u"HTTP 403 from http://h/v1/x: <h1>no</h1>"_s;
    QTest::addRow("502") << 502 << QByteArray() << u"internal"_s
                         << u"HTTP 502 from http://h/v1/x with no error body"_s;
    QTest::addRow("418") << 418 << QByteArray("{}") << u"http_418"_s
                         << u"HTTP 418 from http://h/v1/x: {}"_s;
}

void tst_ApiTypes::apiErrorFromHttp()
{
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(QString, code);
    QFETCH(QString, message);
    const ApiError error = ApiError::fromHttp(status, body, u"http://h/v1/x"_s);
    QCOMPARE(error.httpStatus, status);
    QCOMPARE(error.code, code);
    QCOMPARE(error.message, message);
    QCOMPARE(error.toString(), u"%1 %2: %3"_s.arg(status).arg(code, message));
    QCOMPARE(error.isAuthError(), status == 401 || status == 403);
    QVERIFY(!error.isNetworkError());
}

void tst_ApiTypes::events()
{
    const ApiResult<ApiEvent> state
            = ApiEvent::fromSse(u"state"_s,
                                u"7"_s,
                                u"{\"region\": \"a\", \"state\": \"drained\"}"_s);
    QVERIFY(state.ok());
    QCOMPARE(state.value().type, u"state"_s);
    QCOMPARE(state.value().id, u"7"_s);
    QCOMPARE(state.value().dataObject().value(u"state"_s).toString(), u"drained"_s);

    QCOMPARE(ApiEvent::fromSse(QString(), QString(), u"1"_s).value().type, u"message"_s);
    QVERIFY(!ApiEvent::fromSse(u"lag"_s, QString(), u"{not json"_s).ok());
    QVERIFY(!ApiEvent::fromSse(u"lag"_s, QString(), u"1, 2"_s).ok());

    const ApiResult<ApiEvent> action
            = ApiEvent::fromSse(u"action"_s,
                                QString(),
                                u"{\"action\": {\"id\": \"act-2\", \"kind\": \"drain\"}}"_s);
    QVERIFY(action.ok());
    QCOMPARE(action.value().action().value().id, u"act-2"_s);
    const ApiResult<ApiEvent> bare = ApiEvent::fromSse(u"action"_s,
                                                       QString(),
                                                       u"{\"id\": \"act-3\", \"kind\": \"dial\"}"_s);
    QCOMPARE(bare.value().action().value().kind, u"dial"_s);
    QVERIFY(!state.value().action().ok());
}

QTEST_GUILESS_MAIN(tst_ApiTypes)
#include "tst_apitypes.moc"
