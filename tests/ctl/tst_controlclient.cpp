// ControlClient and EventStream against a real HTTP server on 127.0.0.1 (in-process QTcpServer):
// request shapes, error bodies, 401/403/409 mapping, invalid answers, connection refused,
// timeouts, aborted calls, and the event stream's reconnects.
#include "core/control/controlclient.h"
#include "core/control/eventstream.h"

#include "httptestserver.h"

#include <QJsonDocument>
#include <QSignalSpy>
#include <QTest>

#include <memory>
#include <optional>

using namespace Qt::StringLiterals;
using namespace std::chrono_literals;
using namespace Meridian;
using namespace Meridian::Api;

namespace {

const QByteArray regionJson
        = R"({"id": "eu-west", "name": "Dublin", "lat": 53.35, "lon": -6.26, "state": "draining",
             "health": "healthy", "in_flight": 4})";
const QByteArray actionJson = R"({"id": "act-000042", "kind": "drain", "region": "eu-west",
             "args": {"deadline_s": 30}, "time": "2026-11-25T01:40:19.123Z", "actor": "alice",
             "status": "applied", "previous": {"state": "active"}})";

// Runs one call and waits for its callback.
template<typename T, typename Start>
std::optional<ApiResult<T>> run(Start start)
{
    std::optional<ApiResult<T>> result;
    QObject context;
    start(&context, [&result](const ApiResult<T> &r) { result = r; });
    if (!QTest::qWaitFor([&result] { return result.has_value(); }, 10000))
        return std::nullopt;
    return result;
}

} // namespace

class tst_ControlClient final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void parseEndpoint_data();
    void parseEndpoint();
    void statusRequestShape();
    void mutatingBodies();
    void errorMapping_data();
    void errorMapping();
    void invalidAnswers_data();
    void invalidAnswers();
    void connectionRefused();
    void timeout();
    void destroyedContextCancels();
    void auditQuery();
    void eventStreamReceivesAndReconnects();
    void eventStreamStopsOnAuthError();
    void eventStreamIdleTimeout();

private:
    std::unique_ptr<HttpTestServer> m_server;
    std::unique_ptr<ControlClient> m_client;
};

void tst_ControlClient::init()
{
    m_server = std::make_unique<HttpTestServer>();
    QVERIFY(m_server->listen());
    m_client = std::make_unique<ControlClient>();
    QVERIFY(m_client->setEndpoint(m_server->url()).ok());
    m_client->setToken(u"s3cret"_s);
}

void tst_ControlClient::cleanup()
{
    m_client.reset();
    m_server.reset();
}

void tst_ControlClient::parseEndpoint_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected"); // empty: invalid

    QTest::addRow("plain") << u"http://127.0.0.1:42001"_s << u"http://127.0.0.1:42001"_s;
    QTest::addRow("no scheme") << u"127.0.0.1:42001"_s << u"http://127.0.0.1:42001"_s;
    QTest::addRow("trailing slash") << u"http://h:1/"_s << u"http://h:1"_s;
    QTest::addRow("prefix") << u"https://h/meridian/"_s << u"https://h/meridian"_s;
    QTest::addRow("ipv6") << u"http://[::1]:8080"_s << u"http://[::1]:8080"_s;
    QTest::addRow("empty") << u"  "_s << QString();
    QTest::addRow("ftp") << u"ftp://h:1"_s << QString();
    QTest::addRow("query") << u"http://h:1/?x=1"_s << QString();
    QTest::addRow("no host") << u"http://:80"_s << QString();
}

void tst_ControlClient::parseEndpoint()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    const ApiResult<QUrl> result = ControlClient::parseEndpoint(input);
    if (expected.isEmpty()) {
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, u"invalid_endpoint"_s);
        const QUrl before = m_client->endpoint();
        QVERIFY(!m_client->setEndpoint(input).ok());
        QCOMPARE(m_client->endpoint(), before);
    } else {
        QVERIFY2(result.ok(), qPrintable(result.error().message));
        QCOMPARE(result.value().toString(), expected);
    }
}

void tst_ControlClient::statusRequestShape()
{
    const QByteArray body = R"({"region": "eu-west", "role": "region", "state": "active",
        "health": "healthy", "version": "0.1.0", "uptime_s": 3.5, "node_id": "n-1"})";
    m_server->setHandler([&](const RecordedRequest &) { return ScriptedResponse{200, body}; });
    const auto result = run<NodeStatus>(
            [&](QObject *context, auto done) { m_client->status(context, done); });
    QVERIFY(result);
    QVERIFY2(result->ok(), qPrintable(result->error().message));
    QCOMPARE(result->value().region, u"eu-west"_s);
    QCOMPARE(result->value().uptimeS, 3.5);
    QCOMPARE(result->body(), body); // exactly what the API said, for -o json

    QCOMPARE(m_server->requests().size(), 1);
    const RecordedRequest &request = m_server->requests().first();
    QCOMPARE(request.method, "GET");
    QCOMPARE(request.target, "/v1/status");
    QCOMPARE(request.headers.value("authorization"), "Bearer s3cret");
    QCOMPARE(request.headers.value("accept"), "application/json");
}

void tst_ControlClient::mutatingBodies()
{
    m_server->setHandler([&](const RecordedRequest &request) {
        if (request.target.endsWith("/resync"))
            return ScriptedResponse{202,
                                    R"({"id": "rs-1", "state": "running", "phase": "snapshot"})"};
        if (request.target == "/v1/strategy")
            return ScriptedResponse{200,
                                    "{\"action\": " + actionJson
                                            + R"(, "strategy": {"name": "random"}})"};
        return ScriptedResponse{202,
                                "{\"action\": " + actionJson + ", \"region\": " + regionJson + "}"};
    });

    const auto drained = run<ActionResult>([&](QObject *context, auto done) {
        m_client->drain(u"eu west"_s, 30, true, context, done);
    });
    QVERIFY(drained && drained->ok());
    QCOMPARE(drained->value().action.id, u"act-000042"_s);
    QCOMPARE(drained->value().region->inFlight, 4);

    QVERIFY(run<ActionResult>([&](QObject *c, auto d) { m_client->promote(u"a"_s, false, c, d); }));
    QVERIFY(run<ActionResult>(
            [&](QObject *c, auto d) { m_client->setDial(u"a"_s, 30, true, c, d); }));
    QVERIFY(run<ActionResult>([&](QObject *c, auto d) { m_client->activate(u"a"_s, c, d); }));
    QVERIFY(run<ActionResult>([&](QObject *c, auto d) { m_client->revert(u"act-7"_s, c, d); }));
    const auto strategy = run<ActionResult>([&](QObject *c, auto d) {
        m_client->setStrategy({u"random"_s, QJsonObject{{u"seed"_s, 3}}}, c, d);
    });
    QVERIFY(strategy && strategy->ok());
    QCOMPARE(strategy->value().strategy->name, u"random"_s);
    const auto resync = run<ResyncProgress>(
            [&](QObject *c, auto d) { m_client->startResync(u"a"_s, u"us-east"_s, c, d); });
    QVERIFY(resync && resync->ok());
    QCOMPARE(resync->value().phase, u"snapshot"_s);

    const QList<RecordedRequest> &requests = m_server->requests();
    QVERIFY(run<ActionResult>([&](QObject *c, auto d) { m_client->approve(u"act-8"_s, c, d); }));
    QCOMPARE(requests.size(), 8);
    const auto json = [](const QByteArray &body) { return QJsonDocument::fromJson(body).object(); };
    QCOMPARE(requests[0].method, "POST");
    QCOMPARE(requests[0].target, "/v1/regions/eu%20west/drain");
    QCOMPARE(requests[0].headers.value("content-type"), "application/json");
    QCOMPARE(json(requests[0].body), (QJsonObject{{u"deadline_s"_s, 30}, {u"force"_s, true}}));
    QCOMPARE(requests[1].target, "/v1/regions/a/promote");
    QCOMPARE(json(requests[1].body), (QJsonObject{{u"force"_s, false}}));
    QCOMPARE(requests[2].method, "PUT");
    QCOMPARE(requests[2].target, "/v1/regions/a/dial");
    QCOMPARE(json(requests[2].body), (QJsonObject{{u"percent"_s, 30}, {u"force"_s, true}}));
    QCOMPARE(requests[3].target, "/v1/regions/a/activate");
    QCOMPARE(requests[3].body, "{}");
    QCOMPARE(requests[4].target, "/v1/actions/act-7/revert");
    QCOMPARE(requests[5].method, "PUT");
    QCOMPARE(json(requests[5].body),
             (QJsonObject{{u"name"_s, u"random"_s}, {u"params"_s, QJsonObject{{u"seed"_s, 3}}}}));
    QCOMPARE(requests[6].target, "/v1/regions/a/resync");
    QCOMPARE(json(requests[6].body), (QJsonObject{{u"from"_s, u"us-east"_s}}));
    QCOMPARE(requests[7].target, "/v1/actions/act-8/approve");
    QCOMPARE(requests[7].body, "{}");
}

void tst_ControlClient::errorMapping_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("message");

    QTest::addRow("401")
            << 401
            << QByteArray(
                       R"({"error": {"code": "unauthorized", "message": "missing bearer token"}})")
            << u"unauthorized"_s << u"missing bearer token"_s;
    QTest::addRow("403")
            << 403
            << QByteArray(
                       R"({"error": {"code": "forbidden", "message": "the viewer role cannot drain"}})")
            << u"forbidden"_s << u"the viewer role cannot drain"_s;
    QTest::addRow("409")
            << 409
            << QByteArray(
                       R"({"error": {"code": "min_active_regions", "message": "draining eu-west would leave 0 active regions"}})")
            << u"min_active_regions"_s << u"draining eu-west would leave 0 active regions"_s;
    QTest::addRow("404 unknown region")
            << 404
            << QByteArray(R"({"error": {"code": "unknown_region", "message": "no region \"x\""}})")
            << u"unknown_region"_s << u"no region \"x\""_s;
    QTest::addRow("500 plain text") << 500 << QByteArray("boom") << u"internal"_s
                                    << u"HTTP 500 from %1/v1/regions/a/drain: boom"_s;
}

void tst_ControlClient::errorMapping()
{
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(QString, code);
    QFETCH(QString, message);
    m_server->setHandler([&](const RecordedRequest &) { return ScriptedResponse{status, body}; });
    const auto result = run<ActionResult>(
            [&](QObject *c, auto d) { m_client->drain(u"a"_s, 0, false, c, d); });
    QVERIFY(result);
    QVERIFY(!result->ok());
    QCOMPARE(result->error().httpStatus, status);
    QCOMPARE(result->error().code, code);
    QCOMPARE(result->error().message, message.arg(m_server->url()));
    QCOMPARE(result->error().isAuthError(), status == 401 || status == 403);
    QVERIFY(!result->error().isNetworkError());
    QCOMPARE(QJsonDocument::fromJson(m_server->requests().first().body).object(),
             (QJsonObject{{u"force"_s, false}})); // no deadline: the server's default
}

void tst_ControlClient::invalidAnswers_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("expected");

    QTest::addRow("not json") << QByteArray("<html>") << u"invalid answer: "_s;
    QTest::addRow("array") << QByteArray("[]") << u"not a JSON object"_s;
    QTest::addRow("wrong type") << QByteArray(R"({"regions": [{"id": 5, "state": "active"}]})")
                                << u"answer.regions[0].id should be a string, not a number"_s;
    QTest::addRow("missing") << QByteArray(R"({"region": []})") << u"answer.regions is missing"_s;
}

void tst_ControlClient::invalidAnswers()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, expected);
    m_server->setHandler([&](const RecordedRequest &) { return ScriptedResponse{200, body}; });
    const auto result = run<QList<RegionStatus>>(
            [&](QObject *c, auto d) { m_client->regions(c, d); });
    QVERIFY(result);
    QVERIFY(!result->ok());
    QCOMPARE(result->error().code, u"invalid_response"_s);
    QVERIFY2(result->error().message.contains(expected), qPrintable(result->error().message));
    QVERIFY(result->error().message.contains(m_server->url() + u"/v1/regions"_s));
    QCOMPARE(result->body(), body);
}

void tst_ControlClient::connectionRefused()
{
    // A port that was just ours and is closed now: nothing listens there.
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();
    QVERIFY(m_client->setEndpoint(u"127.0.0.1:%1"_s.arg(port)).ok());
    const auto result = run<NodeStatus>([&](QObject *c, auto d) { m_client->status(c, d); });
    QVERIFY(result);
    QVERIFY(!result->ok());
    QCOMPARE(result->error().code, u"connection_refused"_s);
    QCOMPARE(result->error().httpStatus, 0);
    QVERIFY(result->error().isNetworkError());
    QCOMPARE(result->error().message,
             u"connection refused by http://127.0.0.1:%1: is meridiand running there?"_s.arg(port));
}

void tst_ControlClient::timeout()
{
    m_server->setHandler([](const RecordedRequest &) { return ScriptedResponse::hanging(); });
    m_client->setTimeout(300ms);
    const auto result = run<NodeStatus>([&](QObject *c, auto d) { m_client->status(c, d); });
    QVERIFY(result);
    QCOMPARE(result->error().code, u"timeout"_s);
    QVERIFY2(result->error().message.contains(u"within 0.3 s"_s),
             qPrintable(result->error().message));
}

void tst_ControlClient::destroyedContextCancels()
{
    m_server->setHandler([](const RecordedRequest &) { return ScriptedResponse::hanging(); });
    bool called = false;
    auto context = std::make_unique<QObject>();
    QPointer<ControlCall> call = m_client->status(context.get(),
                                                  [&called](const auto &) { called = true; });
    QSignalSpy received(m_server.get(), &HttpTestServer::requestReceived);
    QVERIFY(received.wait(10000));
    context.reset();
    QTRY_VERIFY_WITH_TIMEOUT(call.isNull(), 10000);
    QVERIFY(!called);

    // abort() likewise: the callback never runs and the call goes away.
    QObject other;
    call = m_client->status(&other, [&called](const auto &) { called = true; });
    QVERIFY(received.wait(10000));
    call->abort();
    QTRY_VERIFY_WITH_TIMEOUT(call.isNull(), 10000);
    QVERIFY(!called);
}

void tst_ControlClient::auditQuery()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{200, R"({"entries": []})"};
    });
    const auto result = run<QList<AuditEntry>>(
            [&](QObject *c, auto d) { m_client->audit(25, c, d); });
    QVERIFY(result && result->ok());
    QCOMPARE(m_server->requests().first().target, "/v1/audit?limit=25");
}

void tst_ControlClient::eventStreamReceivesAndReconnects()
{
    m_server->setHandler([](const RecordedRequest &request) {
        ScriptedResponse response;
        response.stream = request.target == "/v1/events";
        return response;
    });
    EventStream stream(m_client.get());
    stream.setReconnectDelays(50ms, 200ms);
    QSignalSpy events(&stream, &EventStream::eventReceived);
    QSignalSpy states(&stream, &EventStream::stateEvent);
    QSignalSpy actions(&stream, &EventStream::actionEvent);
    QSignalSpy errors(&stream, &EventStream::errorOccurred);
    stream.start();
    QTRY_COMPARE_WITH_TIMEOUT(stream.state(), EventStream::State::Connected, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(m_server->openStreams(), 1, 10000);
    QCOMPARE(m_server->requests().first().headers.value("accept"), "text/event-stream");
    QCOMPARE(m_server->requests().first().headers.value("authorization"), "Bearer s3cret");

    m_server->sendToStreams(": heartbeat\n\nid: 5\nevent: state\ndata: {\"region\": \"a\",");
    m_server->sendToStreams(" \"state\": \"drained\"}\n\nevent: action\ndata: "
                            + actionJson.simplified() + "\n\nevent: lag\ndata: not json\n\n");
    QTRY_COMPARE_WITH_TIMEOUT(events.size(), 2, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(errors.size(), 1, 10000); // the bad event, reported and skipped
    QCOMPARE(states.size(), 1);
    QCOMPARE(states.first().first().toJsonObject().value(u"state"_s).toString(), u"drained"_s);
    QCOMPARE(actions.size(), 1);
    QCOMPARE(actions.first().first().value<ActionInfo>().id, u"act-000042"_s);
    QCOMPARE(stream.state(), EventStream::State::Connected);

    // The server goes away: the stream reconnects by itself and says where it left off.
    m_server->closeStreams();
    QTRY_COMPARE_WITH_TIMEOUT(stream.connectionCount(), 2, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(stream.state(), EventStream::State::Connected, 10000);
    QCOMPARE(m_server->requests().size(), 2);
    QCOMPARE(m_server->requests().last().headers.value("last-event-id"), "5");

    stream.stop();
    QCOMPARE(stream.state(), EventStream::State::Stopped);
}

void tst_ControlClient::eventStreamStopsOnAuthError()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{401,
                                R"({"error": {"code": "unauthorized", "message": "invalid token"}})"};
    });
    EventStream stream(m_client.get());
    stream.setReconnectDelays(10ms, 10ms);
    QSignalSpy errors(&stream, &EventStream::errorOccurred);
    QSignalSpy stateChanges(&stream, &EventStream::stateChanged);
    stream.start();
    QTRY_COMPARE_WITH_TIMEOUT(errors.size(), 1, 10000);
    QCOMPARE(stream.state(), EventStream::State::Stopped);
    QCOMPARE(stream.lastError().httpStatus, 401);
    QCOMPARE(stream.lastError().message, u"invalid token"_s);
    QCOMPARE(stateChanges.last().first().value<EventStream::State>(), EventStream::State::Stopped);
    // Stopped for good: no retry is scheduled, so after another full round trip the server has
    // still seen the one stream request only.
    QObject context;
    bool done = false;
    m_client->status(&context, [&done](const auto &) { done = true; });
    QTRY_VERIFY_WITH_TIMEOUT(done, 10000);
    QCOMPARE(m_server->requests().size(), 2);
    QCOMPARE(m_server->requests().first().target, "/v1/events");
    QCOMPARE(m_server->requests().last().target, "/v1/status");
}

void tst_ControlClient::eventStreamIdleTimeout()
{
    m_server->setHandler([](const RecordedRequest &) { return ScriptedResponse::eventStream(); });
    EventStream stream(m_client.get());
    stream.setReconnectDelays(20ms, 20ms);
    stream.setIdleTimeout(300ms);
    QSignalSpy errors(&stream, &EventStream::errorOccurred);
    stream.start();
    QTRY_COMPARE_WITH_TIMEOUT(stream.connectionCount(), 1, 10000);
    // No heartbeat comes: the stream gives the connection up and opens a new one.
    QTRY_VERIFY_WITH_TIMEOUT(stream.connectionCount() >= 2, 10000);
    QVERIFY(!errors.isEmpty());
    QCOMPARE(errors.first().first().value<ApiError>().code, u"timeout"_s);
    stream.stop();
}

QTEST_GUILESS_MAIN(tst_ControlClient)
#include "tst_controlclient.moc"
