// The real meridianctl binary: usage errors (exit 2), --help for every command, and its output
// and exit codes (3 refused, 4 unreachable, 1 failed) against a scripted HTTP server on 127.0.0.1.
#include "httptestserver.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

using namespace Qt::StringLiterals;

namespace {

struct Run
{
    int exitCode = -1;
    QString out;
    QString err;
};

const QString kProgram = QStringLiteral(MERIDIAN_BIN_DIR "meridianctl");

const QStringList kCommands
        = {u"status"_s,       u"regions"_s,      u"drain"_s,      u"activate"_s,   u"promote"_s,
           u"strategy get"_s, u"strategy set"_s, u"dial"_s,       u"revert"_s,     u"approve"_s,
           u"actions"_s,      u"resync"_s,       u"lag"_s,        u"digest"_s,     u"events"_s,
           u"audit"_s,        u"local up"_s,     u"local down"_s, u"local kill"_s, u"local start"_s,
           u"cache purge"_s,  u"cache status"_s, u"cache stats"_s};

QByteArray region(const char *state, int inFlight)
{
    return QByteArray(R"({"id": "eu-west", "name": "Dublin", "state": ")") + state
           + R"(", "health": "healthy", "in_flight": )" + QByteArray::number(inFlight) + "}";
}

const QByteArray kAction = R"({"id": "act-000042", "kind": "drain", "region": "eu-west",
    "args": {}, "time": "2026-11-25T01:40:19.123Z", "actor": "alice", "status": "applied"})";

} // namespace

class tst_Meridianctl final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void usageErrors_data();
    void usageErrors();
    void helpForEveryCommand_data();
    void helpForEveryCommand();
    void mainHelpListsEveryCommand();
    void statusTableAndJson();
    void regionsTableIsAligned();
    void refusalExitsThree_data();
    void refusalExitsThree();
    void wrongPortIsNamed_data();
    void wrongPortIsNamed();
    void unreachableExitsFour();
    void invalidAnswerExitsOne();
    void drainWaitFollowsInFlight();
    void strategySetSendsParams();
    void strategySetWithoutParams();
    void resyncWaitPlainLines();
    void resyncFailureExitsOne();
    void cachePurgeWaitFollowsTheEdges();
    void cachePurgeWaitGivesUp();
    void cacheStatsTable();
    void cachePurgeTakesUrls();
    void eventsFollowUntilInterrupted();
    void localCommandsNeedACluster();

private:
    Run run(const QStringList &args, bool withEndpoint = true);
    QProcess *startProcess(const QStringList &args);

    std::unique_ptr<HttpTestServer> m_server;
};

void tst_Meridianctl::init()
{
    m_server = std::make_unique<HttpTestServer>();
    QVERIFY(m_server->listen());
}

void tst_Meridianctl::cleanup()
{
    m_server.reset();
}

QProcess *tst_Meridianctl::startProcess(const QStringList &args)
{
    auto *process = new QProcess(this);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(u"MERIDIAN_ENDPOINT"_s);
    env.insert(u"MERIDIAN_TOKEN"_s, u"tok"_s);
    process->setProcessEnvironment(env);
    process->start(kProgram, args);
    return process;
}

// Runs meridianctl to completion while this event loop keeps serving the test server.
Run tst_Meridianctl::run(const QStringList &args, bool withEndpoint)
{
    QStringList all = args;
    if (withEndpoint)
        all << u"--endpoint"_s << m_server->url();
    QProcess *process = startProcess(all);
    Run result;
    if (!QTest::qWaitFor([process] { return process->state() == QProcess::NotRunning; }, 30000)) {
        process->kill();
        process->waitForFinished();
        result.err = u"meridianctl did not finish"_s;
        return result;
    }
    result.exitCode = process->exitStatus() == QProcess::NormalExit ? process->exitCode() : -2;
    result.out = QString::fromUtf8(process->readAllStandardOutput());
    result.err = QString::fromUtf8(process->readAllStandardError());
    process->deleteLater();
    return result;
}

void tst_Meridianctl::usageErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");

    QTest::addRow("nothing") << QStringList() << u"no command given"_s;
    QTest::addRow("unknown command")
            << QStringList{u"frobnicate"_s} << u"unknown command \"frobnicate\""_s;
    QTest::addRow("unknown subcommand")
            << QStringList{u"strategy"_s, u"delete"_s} << u"unknown command \"strategy delete\""_s;
    QTest::addRow("group alone") << QStringList{u"local"_s} << u"\"local\" needs a subcommand"_s;
    QTest::addRow("missing region") << QStringList{u"drain"_s} << u"drain needs REGION"_s;
    QTest::addRow("purge without a path")
            << QStringList{u"cache"_s, u"purge"_s} << u"cache purge needs PATH..."_s;
    QTest::addRow("bad wait timeout")
            << QStringList{u"cache"_s, u"purge"_s, u"/x"_s, u"--wait-timeout=later"_s}
            << u"--wait-timeout must be a duration"_s;
    QTest::addRow("missing percent") << QStringList{u"dial"_s, u"a"_s} << u"dial needs PERCENT"_s;
    QTest::addRow("extra argument")
            << QStringList{u"status"_s, u"x"_s} << u"status: unexpected argument \"x\""_s;
    QTest::addRow("unknown option")
            << QStringList{u"status"_s, u"--frob"_s} << u"unknown option --frob"_s;
    QTest::addRow("option of another command") << QStringList{u"activate"_s, u"a"_s, u"--wait"_s}
                                               << u"activate has no option --wait"_s;
    QTest::addRow("missing value") << QStringList{u"drain"_s, u"a"_s, u"--timeout"_s}
                                   << u"option --timeout needs a value"_s;
    QTest::addRow("option for a value")
            << QStringList{u"drain"_s, u"a"_s, u"--timeout"_s, u"--wait"_s}
            << u"option --timeout needs a value"_s;
    QTest::addRow("bad duration") << QStringList{u"drain"_s, u"a"_s, u"--timeout=soon"_s}
                                  << u"--timeout must be a duration"_s;
    QTest::addRow("bad output") << QStringList{u"status"_s, u"-o"_s, u"yaml"_s}
                                << u"-o must be table or json"_s;
    QTest::addRow("bad percent") << QStringList{u"dial"_s, u"a"_s, u"150"_s}
                                 << u"PERCENT must be a whole number from 0 to 100"_s;
    QTest::addRow("bad param") << QStringList{u"strategy"_s,
                                              u"set"_s,
                                              u"random"_s,
                                              u"--param"_s,
                                              u"x"_s}
                               << u"--param needs KEY=VALUE"_s;
    QTest::addRow("bad endpoint") << QStringList{u"status"_s, u"--endpoint"_s, u"ftp://x"_s}
                                  << u"invalid endpoint"_s;
    QTest::addRow("bad regions") << QStringList{u"local"_s, u"up"_s, u"--regions"_s, u"99"_s}
                                 << u"--regions must be a whole number from 1 to"_s;
    QTest::addRow("flag with value") << QStringList{u"drain"_s, u"a"_s, u"--wait=yes"_s}
                                     << u"option --wait takes no value"_s;
}

void tst_Meridianctl::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const bool hasEndpoint = args.contains(u"--endpoint"_s);
    const Run r = run(args, !hasEndpoint && !args.isEmpty() && args.first() != u"local"_s);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
    QVERIFY2(r.err.contains(u"--help"_s), qPrintable(r.err));
    QVERIFY(r.out.isEmpty());
    QVERIFY(m_server->requests().isEmpty()); // nothing was sent
}

void tst_Meridianctl::helpForEveryCommand_data()
{
    QTest::addColumn<QString>("command");
    for (const QString &command : kCommands)
        QTest::addRow("%s", qPrintable(command)) << command;
}

void tst_Meridianctl::helpForEveryCommand()
{
    QFETCH(QString, command);
    const Run r = run(command.split(u' ') << u"--help"_s, false);
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith(u"Usage: meridianctl "_s + command), qPrintable(r.out));
    QVERIFY(r.out.contains(u"--endpoint URL"_s));
}

void tst_Meridianctl::mainHelpListsEveryCommand()
{
    const Run r = run({u"--help"_s}, false);
    QCOMPARE(r.exitCode, 0);
    for (const QString &command : kCommands)
        QVERIFY2(r.out.contains(u"\n  "_s + command + u' '), qPrintable(command));
    QVERIFY(r.out.contains(u"Exit codes: 0 ok, 1 operation failed, 2 usage error"_s));
}

void tst_Meridianctl::statusTableAndJson()
{
    const QByteArray body = R"({"region": "eu-west", "role": "region", "state": "active",
        "health": "healthy", "version": "0.1.0", "uptime_s": 3725, "node_id": "n-1",
        "leader": "us-east", "quorum": {"reachable": 2, "voters": 4, "has_quorum": false},
        "primary": "us-east"})";
    m_server->setHandler([&](const RecordedRequest &) { return ScriptedResponse{200, body}; });
    const Run table = run({u"status"_s});
    QCOMPARE(table.exitCode, 0);
    QVERIFY2(table.out.contains(u"region    eu-west\n"_s), qPrintable(table.out));
    QVERIFY(table.out.contains(u"leader    us-east\n"_s));
    QVERIFY2(table.out.contains(u"quorum    2 of 4 nodes (no quorum)\n"_s), qPrintable(table.out));
    QVERIFY(table.out.contains(u"uptime    1h 02m\n"_s));
    QCOMPARE(m_server->requests().first().headers.value("authorization"), "Bearer tok");

    const Run json = run({u"-o"_s, u"json"_s, u"status"_s, u"--token"_s, u"other"_s});
    QCOMPARE(json.exitCode, 0);
    QCOMPARE(json.out.toUtf8(), body + '\n'); // exactly the API's answer
    QCOMPARE(m_server->requests().last().headers.value("authorization"), "Bearer other");

    // A token may start with '-' (base64url): in a value's place it is the value.
    const Run dash = run({u"status"_s, u"--token"_s, u"-Xq9_tok"_s});
    QCOMPARE(dash.exitCode, 0);
    QCOMPARE(m_server->requests().last().headers.value("authorization"), "Bearer -Xq9_tok");
}

void tst_Meridianctl::regionsTableIsAligned()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{200, R"({"regions": [
            {"id": "eu-west", "name": "Dublin", "state": "active", "health": "healthy",
             "weight": 100, "dial": 100, "traffic_share": 0.25, "rps": 12.5, "in_flight": 2},
            {"id": "ap-southeast", "name": "Singapore\u001b[31m", "state": "drained",
             "health": "unhealthy", "reachable": false, "weight": 5, "dial": 30,
             "traffic_share": 0, "rps": 1234.5, "in_flight": 120, "primary": true}]})"};
    });
    const Run r = run({u"regions"_s});
    QCOMPARE(r.exitCode, 0);
    const QStringList lines = r.out.split(u'\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);
    QVERIFY(lines.at(0).startsWith(u"REGION        NAME"_s));
    QVERIFY(lines.at(1).startsWith(u"eu-west       Dublin"_s));
    QVERIFY(!r.out.contains(QChar(0x1b))); // control characters from the node are not printed
    // Right-aligned numbers: the RPS column ends at the same place on every line.
    const qsizetype end = lines.at(0).indexOf(u"RPS"_s) + 3;
    QCOMPARE(lines.at(1).mid(end - 4, 4), u"12.5"_s);
    QCOMPARE(lines.at(2).mid(end - 6, 6), u"1234.5"_s);
    QVERIFY(lines.at(2).contains(u"unhealthy (unreachable)"_s));
}

void tst_Meridianctl::refusalExitsThree_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("code");
    QTest::addColumn<QString>("expected");
    QTest::addRow("409") << 409 << QByteArray("min_active_regions")
                         << u"would leave 0 active regions (HTTP 409 min_active_regions)"_s;
    // The hint is a line of its own (the server's text is cleaned of control characters, the
    // hint's line break is not).
    QTest::addRow("401") << 401 << QByteArray("unauthorized")
                         << u"(HTTP 401 unauthorized)\nhint: pass a valid token with --token or "
                            "MERIDIAN_TOKEN"_s;
    QTest::addRow("403") << 403 << QByteArray("forbidden")
                         << u"(HTTP 403 forbidden)\nhint: this command needs an admin token"_s;
    QTest::addRow("404") << 404 << QByteArray("unknown_region") << u"(HTTP 404 unknown_region)"_s;
}

void tst_Meridianctl::refusalExitsThree()
{
    QFETCH(int, status);
    QFETCH(QByteArray, code);
    QFETCH(QString, expected);
    m_server->setHandler([&](const RecordedRequest &) {
        return ScriptedResponse{
                status,
                R"({"error": {"code": ")" + code
                        + R"(", "message": "draining eu-west would leave 0 active regions"}})"};
    });
    const Run r = run({u"drain"_s, u"eu-west"_s, u"--force"_s, u"--timeout"_s, u"1m"_s});
    QCOMPARE(r.exitCode, 3);
    QVERIFY2(r.err.contains(expected), qPrintable(r.err));
    QVERIFY(r.out.isEmpty());
    const RecordedRequest &request = m_server->requests().first();
    QCOMPARE(request.target, "/v1/regions/eu-west/drain");
    QCOMPARE(QJsonDocument::fromJson(request.body).object(),
             (QJsonObject{{u"deadline_s"_s, 60}, {u"force"_s, true}}));
}

void tst_Meridianctl::wrongPortIsNamed_data()
{
    // A region's website answers /v1/... with its own 404; the control API's 404s say what
    // they did not find, and get no hint.
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("hinted");
    QTest::addRow("website") << QByteArray(R"({"error":{"code":"not_found","message":"not found"}})")
                             << true;
    QTest::addRow("not meridiand") << QByteArray("<html>404</html>") << true;
    QTest::addRow("control API") << QByteArray(
            R"({"error":{"code":"not_found","message":"no resync of eu-west has run"}})")
                                 << false;
}

void tst_Meridianctl::wrongPortIsNamed()
{
    QFETCH(QByteArray, body);
    QFETCH(bool, hinted);
    m_server->setHandler([&](const RecordedRequest &) { return ScriptedResponse{404, body}; });
    const Run r = run({u"status"_s});
    QCOMPARE(r.exitCode, 3);
    QCOMPARE(r.err.contains(u"\nhint: "_s), hinted);
    if (hinted)
        QVERIFY2(r.err.contains(u"does not serve the control API"_s), qPrintable(r.err));
}

void tst_Meridianctl::unreachableExitsFour()
{
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close();
    const Run r = run({u"regions"_s, u"--endpoint"_s, u"http://127.0.0.1:%1"_s.arg(port)}, false);
    QCOMPARE(r.exitCode, 4);
    QVERIFY2(r.err.contains(
                     u"connection refused by http://127.0.0.1:%1: is meridiand running"_s.arg(port)),
             qPrintable(r.err));

    m_server->setHandler([](const RecordedRequest &) { return ScriptedResponse::hanging(); });
    const Run slow = run({u"status"_s, u"--request-timeout"_s, u"300ms"_s});
    QCOMPARE(slow.exitCode, 4);
    QVERIFY2(slow.err.contains(u"no answer from"_s), qPrintable(slow.err));
}

void tst_Meridianctl::invalidAnswerExitsOne()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{200, R"({"regions": [{"id": "a", "state": 3}]})"};
    });
    const Run r = run({u"regions"_s});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(u"answer.regions[0].state should be a string, not a number"_s),
             qPrintable(r.err));
}

void tst_Meridianctl::drainWaitFollowsInFlight()
{
    int polls = 0;
    m_server->setHandler([&](const RecordedRequest &request) {
        if (request.method == "POST")
            return ScriptedResponse{202,
                                    "{\"action\": " + kAction
                                            + ", \"region\": " + region("draining", 3) + "}"};
        ++polls;
        if (polls < 3)
            return ScriptedResponse{200, region("draining", 3 - polls)};
        return ScriptedResponse{200, region("drained", 0)};
    });
    const Run r = run({u"drain"_s, u"eu-west"_s, u"--wait"_s});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(
                     u"drain eu-west: done (action act-000042; undo with `meridianctl revert act-000042`)"_s),
             qPrintable(r.out));
    QVERIFY(r.out.contains(u"eu-west: draining, 2 in flight"_s));
    QVERIFY(r.out.contains(u"eu-west: draining, 1 in flight"_s));
    QVERIFY(r.out.contains(u"eu-west is drained"_s));
    QCOMPARE(polls, 3);
    QCOMPARE(m_server->requests().last().target, "/v1/regions/eu-west");
}

void tst_Meridianctl::strategySetSendsParams()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{
                200,
                "{\"action\": " + kAction
                        + R"(, "strategy": {"name": "latency_ewma", "params": {"decay_s": 10}}})"};
    });
    const Run r = run({u"strategy"_s,
                       u"set"_s,
                       u"latency_ewma"_s,
                       u"--param"_s,
                       u"decay_s=10"_s,
                       u"--param=label=eu"_s,
                       u"--param"_s,
                       u"sticky=true"_s});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(u"strategy is now latency_ewma {\"decay_s\":10}"_s), qPrintable(r.out));
    const RecordedRequest &request = m_server->requests().first();
    QCOMPARE(request.method, "PUT");
    QCOMPARE(request.target, "/v1/strategy");
    QCOMPARE(QJsonDocument::fromJson(request.body).object(),
             QJsonDocument::fromJson(R"({"name": "latency_ewma", "params": {"decay_s": 10,
                 "label": "eu", "sticky": true}})")
                     .object());
}

void tst_Meridianctl::strategySetWithoutParams()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{
                200,
                "{\"action\": " + kAction
                        + R"(, "strategy": {"name": "consistent_hash", "params": {}}})"};
    });
    const Run r = run({u"strategy"_s, u"set"_s, u"consistent_hash"_s});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(u"strategy is now consistent_hash\n"_s), qPrintable(r.out));
}

void tst_Meridianctl::resyncWaitPlainLines()
{
    int polls = 0;
    m_server->setHandler([&](const RecordedRequest &request) {
        const char *phases[] = {"snapshot", "transfer", "verify"};
        if (request.method == "POST")
            return ScriptedResponse{202, R"({"id": "rs-3", "region": "eu-west", "from": "us-east",
                "phase": "snapshot", "state": "running", "bytes_total": 4194304})"};
        if (polls < 3) {
            const QByteArray phase = phases[polls++];
            const QByteArray rows = phase == "snapshot" ? "0" : "500"; // counted once verified
            return ScriptedResponse{200,
                                    R"({"id": "rs-3", "region": "eu-west", "phase": ")" + phase
                                            + R"(", "state": "running", "bytes_done": 2097152,
                "bytes_total": 4194304, "rows": )"
                                            + rows + R"(, "eta_s": 2})"};
        }
        return ScriptedResponse{200, R"({"id": "rs-3", "region": "eu-west", "phase": "done",
            "state": "done", "bytes_done": 4194304, "bytes_total": 4194304, "rows": 1000})"};
    });
    const Run r = run({u"resync"_s, u"eu-west"_s, u"--from"_s, u"us-east"_s, u"--wait"_s});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(!r.out.contains(u'\r'), qPrintable(r.out)); // not a terminal: no bar
    QVERIFY2(r.out.contains(
                     u"resync rs-3 (running): transfer  2.0 MiB / 4.0 MiB, 500 rows, ETA 2.0 s 50%"_s),
             qPrintable(r.out));
    QVERIFY(r.out.contains(u"verify"_s));
    // The first answer, in the snapshot phase, has no rows yet: none are shown.
    QVERIFY2(r.out.contains(u"resync rs-3 (running): snapshot  2.0 MiB / 4.0 MiB, ETA 2.0 s 50%"_s),
             qPrintable(r.out));
    QVERIFY(r.out.contains(u"resync rs-3 (done): done      4.0 MiB / 4.0 MiB, 1000 rows 100%"_s));
    QCOMPARE(QJsonDocument::fromJson(m_server->requests().first().body).object(),
             (QJsonObject{{u"from"_s, u"us-east"_s}}));
}

void tst_Meridianctl::resyncFailureExitsOne()
{
    m_server->setHandler([](const RecordedRequest &request) {
        if (request.method == "POST")
            return ScriptedResponse{202,
                                    R"({"id": "rs-4", "phase": "snapshot", "state": "running"})"};
        return ScriptedResponse{200, R"({"id": "rs-4", "phase": "transfer", "state": "failed",
            "error": "peer us-east went away"})"};
    });
    const Run r = run({u"resync"_s, u"eu-west"_s, u"--wait"_s});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(u"resync rs-4 of eu-west failed: peer us-east went away"_s),
             qPrintable(r.err));
}

namespace {

const QByteArray kPurge = R"({"id": "act-000043", "kind": "purge", "region": null,
    "args": {"paths": ["/index.html", "/assets/*"], "host": "www.example.com"},
    "time": "2026-11-25T01:40:19.123Z", "actor": "alice", "status": "applied"})";

QByteArray purgeStatus(const char *edge2, bool done)
{
    return "{\"action\": " + kPurge + R"(, "edges": [{"id": "edge-1", "state": "applied",
        "removed": 7}, {"id": "edge-2", "state": ")"
           + edge2 + R"("}], "applied": )" + (done ? "2" : "1") + R"(, "total": 2, "done": )"
           + (done ? "true" : "false") + "}";
}

} // namespace

void tst_Meridianctl::cachePurgeWaitFollowsTheEdges()
{
    int polls = 0;
    m_server->setHandler([&](const RecordedRequest &request) {
        if (request.method == "POST")
            return ScriptedResponse{202, "{\"action\": " + kPurge + "}"};
        ++polls;
        if (polls == 1) // the answering node has not got the leader's record yet
            return ScriptedResponse{404,
                                    R"({"error": {"code": "not_found", "message": "no action"}})"};
        return ScriptedResponse{200, purgeStatus(polls < 3 ? "pending" : "applied", polls >= 3)};
    });
    const Run r = run({u"cache"_s,
                       u"purge"_s,
                       u"/index.html"_s,
                       u"/assets/*"_s,
                       u"--host"_s,
                       u"www.example.com"_s,
                       u"--wait"_s});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(u"cache purge /index.html /assets/*: accepted (action act-000043)"_s),
             qPrintable(r.out));
    QVERIFY2(!r.out.contains(u"revert"_s), qPrintable(r.out));
    QVERIFY(r.out.contains(u"purged at every edge"_s));
    QCOMPARE(polls, 3);
    const RecordedRequest &post = m_server->requests().first();
    QCOMPARE(post.method, "POST");
    QCOMPARE(post.target, "/v1/cache/purge");
    QCOMPARE(QJsonDocument::fromJson(post.body).object(),
             QJsonDocument::fromJson(
                     R"({"paths": ["/index.html", "/assets/*"], "host": "www.example.com"})")
                     .object());
    QCOMPARE(m_server->requests().last().target, "/v1/cache/purge/act-000043");

    // With -o json, stdout is one JSON document (the accepted action), --wait or not.
    const Run json = run({u"cache"_s, u"purge"_s, u"/x"_s, u"--wait"_s, u"-o"_s, u"json"_s});
    QCOMPARE(json.exitCode, 0);
    QJsonParseError parseError;
    QJsonDocument::fromJson(json.out.toUtf8(), &parseError);
    QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(json.out));

    // `cache status` shows each edge.
    const Run status = run({u"cache"_s, u"status"_s, u"act-000043"_s});
    QCOMPARE(status.exitCode, 0);
    QVERIFY2(status.out.contains(u"applied at 2 of 2 edge(s)"_s), qPrintable(status.out));
    QVERIFY(status.out.contains(u"on www.example.com"_s));
    QVERIFY(status.out.contains(u"7 cached response(s) removed"_s));
}

void tst_Meridianctl::cachePurgeWaitGivesUp()
{
    m_server->setHandler([&](const RecordedRequest &request) {
        if (request.method == "POST")
            return ScriptedResponse{202, "{\"action\": " + kPurge + "}"};
        return ScriptedResponse{200, purgeStatus("unreachable", false)};
    });
    const Run r = run({u"cache"_s, u"purge"_s, u"/*"_s, u"--wait"_s, u"--wait-timeout"_s, u"1s"_s});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.out.contains(u"edge-2"_s) && r.out.contains(u"unreachable"_s), qPrintable(r.out));
    QVERIFY2(r.err.contains(u"act-000043 was not applied at every edge within 1.0 s"_s),
             qPrintable(r.err));
}

void tst_Meridianctl::cachePurgeTakesUrls()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{202, "{\"action\": " + kPurge + "}"};
    });
    const Run r = run({u"cache"_s,
                       u"purge"_s,
                       u"https://WWW.Example.com/assets/*"_s,
                       u"https://www.example.com/index.html?v=2"_s});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(QJsonDocument::fromJson(m_server->requests().first().body).object(),
             QJsonDocument::fromJson(R"({"paths": ["/assets/*", "/index.html?v=2"],
                 "host": "www.example.com"})")
                     .object());
    // One purge is for one host; nothing is sent.
    const Run two = run(
            {u"cache"_s, u"purge"_s, u"https://a.example/x"_s, u"http://b.example:8080/y"_s});
    QCOMPARE(two.exitCode, 2);
    QVERIFY2(two.err.contains(u"a.example and b.example:8080 differ"_s), qPrintable(two.err));
    QCOMPARE(m_server->requests().size(), 1);
}

void tst_Meridianctl::cacheStatsTable()
{
    m_server->setHandler([](const RecordedRequest &) {
        return ScriptedResponse{200, R"({"edges": [{"id": "edge-1", "reachable": true, "cache":
            {"entries": 12, "bytes": 1572864, "max_bytes": 67108864, "hits": 300, "misses": 100,
             "updating": 25, "stale": 4, "evictions": 0, "purged": 7}},
            {"id": "edge-2", "reachable": false, "cache": null}]})"};
    });
    const Run r = run({u"cache"_s, u"stats"_s});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(m_server->requests().first().target, "/v1/cache");
    const QStringList lines = r.out.split(u'\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);
    QVERIFY2(lines.at(1).contains(u"1.5 MiB of 64 MiB"_s) && lines.at(1).contains(u"75.0 %"_s),
             qPrintable(r.out));
    QVERIFY2(lines.at(1).simplified().endsWith(u"300 100 25 4 0 7"_s), qPrintable(r.out));
    QVERIFY2(lines.at(2).contains(u"unreachable"_s), qPrintable(r.out));
}

void tst_Meridianctl::eventsFollowUntilInterrupted()
{
    m_server->setHandler([](const RecordedRequest &) { return ScriptedResponse::eventStream(); });
    QProcess *process = startProcess(
            {u"events"_s, u"-o"_s, u"json"_s, u"--endpoint"_s, m_server->url()});
    QTRY_COMPARE_WITH_TIMEOUT(m_server->openStreams(), 1, 30000);
    m_server->sendToStreams("event: state\nid: 1\ndata: {\"regions\": []}\n\n"
                            ": heartbeat\n\nevent: action\ndata: "
                            + kAction.simplified() + "\n\n");
    QTRY_VERIFY_WITH_TIMEOUT(process->bytesAvailable() > 0
                                     && QByteArray(process->peek(4096)).count('\n') >= 2,
                             30000);
    process->terminate(); // SIGTERM, like Ctrl-C's SIGINT: ends the follow normally
    QTRY_COMPARE_WITH_TIMEOUT(process->state(), QProcess::NotRunning, 30000);
    QCOMPARE(process->exitStatus(), QProcess::NormalExit);
    QCOMPARE(process->exitCode(), 0);
    const QList<QByteArray> lines = process->readAllStandardOutput().trimmed().split('\n');
    QCOMPARE(lines.size(), 2);
    const QJsonObject first = QJsonDocument::fromJson(lines.at(0)).object();
    QCOMPARE(first.value(u"event"_s).toString(), u"state"_s);
    QCOMPARE(first.value(u"id"_s).toString(), u"1"_s);
    QCOMPARE(QJsonDocument::fromJson(lines.at(1)).object().value(u"data"_s)[u"id"_s].toString(),
             u"act-000042"_s);
}

void tst_Meridianctl::localCommandsNeedACluster()
{
    const QString dir = QDir::temp().filePath(
            u"meridianctl-test-%1"_s.arg(QCoreApplication::applicationPid()));
    const Run r = run({u"local"_s, u"down"_s, u"--dir"_s, dir}, false);
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(u"holds no local cluster"_s), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(dir)); // nothing created
}

QTEST_GUILESS_MAIN(tst_Meridianctl)
#include "tst_meridianctl.moc"
