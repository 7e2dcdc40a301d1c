#include "core/balancing/activehealthchecker.h"
#include "core/balancing/healthcounter.h"
#include "core/util/manualclock.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace Meridian;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

// A tiny HTTP server on 127.0.0.1: answers every request with `status`, or never answers when
// `silent`. Records the request lines it saw.
class TinyHttpServer final : public QObject
{
public:
    int status = 200;
    bool silent = false;
    QStringList requestLines;
    QByteArrayList userAgents;

    TinyHttpServer()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                connect(socket, &QTcpSocket::readyRead, socket, [this, socket] {
                    m_buffers[socket] += socket->readAll();
                    const QByteArray &buffer = m_buffers[socket];
                    if (!buffer.contains("\r\n\r\n"))
                        return;
                    requestLines.append(QString::fromLatin1(buffer.left(buffer.indexOf("\r\n"))));
                    const qsizetype agent = buffer.indexOf("\r\nUser-Agent: ");
                    if (agent >= 0) {
                        const qsizetype from = agent + 14;
                        userAgents.append(buffer.mid(from, buffer.indexOf("\r\n", from) - from));
                    }
                    if (silent)
                        return;
                    socket->write("HTTP/1.1 " + QByteArray::number(status)
                                  + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                    socket->disconnectFromHost();
                });
            }
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    QString url() const { return u"http://127.0.0.1:%1"_s.arg(m_server.serverPort()); }

private:
    QTcpServer m_server;
    QHash<QTcpSocket *, QByteArray> m_buffers;
};

} // namespace

class tst_ActiveHealthChecker final : public QObject
{
    Q_OBJECT

private slots:
    void counterRiseAndFall();
    void settingsAreValidated();
    void scheduleFollowsTheInjectedClock();
    void riseAndFallAgainstARealServer();
    void timeoutIsAFailure();
    void refusedConnectionIsAFailure();
    void runsByItselfWhenStarted();
};

void tst_ActiveHealthChecker::counterRiseAndFall()
{
    HealthCounter counter(2, 3);
    QCOMPARE(toString(counter.state()), toString(HealthState::Unknown));
    QCOMPARE(toString(counter.record(true)),
             toString(HealthState::Healthy)); // first result decides
    QCOMPARE(toString(counter.record(false)), toString(HealthState::Healthy));
    QCOMPARE(toString(counter.record(false)), toString(HealthState::Healthy));
    QCOMPARE(toString(counter.record(true)), toString(HealthState::Healthy)); // streak broken
    QCOMPARE(toString(counter.record(false)), toString(HealthState::Healthy));
    QCOMPARE(toString(counter.record(false)), toString(HealthState::Healthy));
    QCOMPARE(toString(counter.record(false)), toString(HealthState::Unhealthy)); // fall = 3
    QCOMPARE(toString(counter.record(true)), toString(HealthState::Unhealthy));
    QCOMPARE(toString(counter.record(true)), toString(HealthState::Healthy)); // rise = 2
    HealthCounter fresh(2, 3);
    QCOMPARE(toString(fresh.record(false)), toString(HealthState::Unhealthy));
}

void tst_ActiveHealthChecker::settingsAreValidated()
{
    ManualClock clock;
    ActiveHealthChecker checker(clock);
    HealthCheckSettings bad;
    bad.path = u"healthz"_s;
    QVERIFY(!checker.setSettings(bad));
    bad = {};
    bad.timeout = 5s;
    bad.interval = 1s;
    QVERIFY(!checker.setSettings(bad));
    bad = {};
    bad.rise = 0;
    QVERIFY(!checker.setSettings(bad));
    QCOMPARE(checker.settings(), HealthCheckSettings());
    const auto parsed = HealthCheckSettings::fromJson({{u"path"_s, u"/ready"_s},
                                                       {u"interval_ms"_s, 500},
                                                       {u"timeout_ms"_s, 200},
                                                       {u"rise"_s, 3}});
    QVERIFY(parsed);
    QCOMPARE(parsed.value().path, u"/ready"_s);
    QCOMPARE(parsed.value().interval, 500ms);
    QCOMPARE(HealthCheckSettings::fromJson(parsed.value().toJson()).value(), parsed.value());
    QVERIFY(!HealthCheckSettings::fromJson({{u"inter"_s, 500}}));
}

void tst_ActiveHealthChecker::scheduleFollowsTheInjectedClock()
{
    TinyHttpServer server;
    QVERIFY(server.listen());
    ManualClock clock;
    ActiveHealthChecker checker(clock);
    HealthCheckSettings settings;
    settings.interval = 10s;
    settings.timeout = 2s;
    QVERIFY(checker.setSettings(settings));
    const EndpointRef ref{u"eu"_s, server.url()};
    checker.setTargets({ref});
    QSignalSpy finished(&checker, &ActiveHealthChecker::probeFinished);

    QCOMPARE(checker.runDueChecks(), 1); // new targets are due at once
    QCOMPARE(checker.runDueChecks(), 0); // one probe at a time per endpoint
    QVERIFY(finished.wait(10'000));
    QCOMPARE(checker.runDueChecks(), 0); // next one is 10 s later on the injected clock
    clock.advance(9999ms);
    QCOMPARE(checker.runDueChecks(), 0);
    clock.advance(1ms);
    QCOMPARE(checker.runDueChecks(), 1);
    QVERIFY(finished.wait(10'000));
    QCOMPARE(server.requestLines.size(), 2);
    QCOMPARE(server.requestLines.first(), u"GET /healthz HTTP/1.1"_s);
    // Regions keep requests with this User-Agent out of their users' traffic figures.
    QCOMPARE(server.userAgents.size(), 2);
    QVERIFY2(ActiveHealthChecker::isProbeUserAgent(server.userAgents.first()),
             server.userAgents.first().constData());
    QVERIFY(!ActiveHealthChecker::isProbeUserAgent("curl/7.88.1"));
}

void tst_ActiveHealthChecker::riseAndFallAgainstARealServer()
{
    TinyHttpServer server;
    QVERIFY(server.listen());
    ManualClock clock;
    ActiveHealthChecker checker(clock);
    HealthCheckSettings settings;
    settings.interval = 1s;
    settings.timeout = 1s;
    settings.rise = 2;
    settings.fall = 3;
    settings.path = u"/status"_s;
    QVERIFY(checker.setSettings(settings));
    const EndpointRef ref{u"eu"_s, server.url() + u"/"_s};
    checker.setTargets({ref});
    QSignalSpy changed(&checker, &ActiveHealthChecker::healthChanged);
    QSignalSpy finished(&checker, &ActiveHealthChecker::probeFinished);
    auto checkOnce = [&] {
        const int before = finished.size();
        clock.advance(1s);
        if (checker.runDueChecks() != 1)
            return false;
        return QTest::qWaitFor([&] { return finished.size() > before; }, 10'000);
    };

    QVERIFY(checkOnce());
    QCOMPARE(toString(checker.health(ref)), toString(HealthState::Healthy));
    QCOMPARE(changed.size(), 1);
    QCOMPARE(server.requestLines.last(), u"GET /status HTTP/1.1"_s);

    server.status = 503;
    QVERIFY(checkOnce());
    QVERIFY(checkOnce());
    QCOMPARE(toString(checker.health(ref)), toString(HealthState::Healthy));
    QCOMPARE(finished.last().at(3).toString(), u"HTTP 503"_s);
    QVERIFY(checkOnce());
    QCOMPARE(toString(checker.health(ref)), toString(HealthState::Unhealthy));
    QCOMPARE(changed.size(), 2);
    QCOMPARE(toString(changed.last().at(2).value<HealthState>()), toString(HealthState::Unhealthy));

    server.status = 204;
    QVERIFY(checkOnce());
    QCOMPARE(toString(checker.health(ref)), toString(HealthState::Unhealthy));
    QVERIFY(checkOnce());
    QCOMPARE(toString(checker.health(ref)), toString(HealthState::Healthy));
    QCOMPARE(changed.size(), 3);
}

void tst_ActiveHealthChecker::timeoutIsAFailure()
{
    TinyHttpServer server;
    server.silent = true;
    QVERIFY(server.listen());
    ManualClock clock;
    ActiveHealthChecker checker(clock);
    HealthCheckSettings settings;
    settings.interval = 1s;
    settings.timeout = 200ms;
    QVERIFY(checker.setSettings(settings));
    const EndpointRef ref{u"eu"_s, server.url()};
    checker.setTargets({ref});
    QSignalSpy finished(&checker, &ActiveHealthChecker::probeFinished);
    QCOMPARE(checker.runDueChecks(), 1);
    QVERIFY(finished.wait(10'000));
    QCOMPARE(finished.first().at(2).toBool(), false);
    QCOMPARE(finished.first().at(3).toString(), u"timeout after 200 ms"_s);
    QCOMPARE(toString(checker.health(ref)), toString(HealthState::Unhealthy));
}

void tst_ActiveHealthChecker::refusedConnectionIsAFailure()
{
    quint16 port = 0;
    {
        QTcpServer reserve;
        QVERIFY(reserve.listen(QHostAddress::LocalHost, 0));
        port = reserve.serverPort();
    } // closed: connections to it are refused
    ManualClock clock;
    ActiveHealthChecker checker(clock);
    const EndpointRef ref{u"eu"_s, u"http://127.0.0.1:%1"_s.arg(port)};
    checker.setTargets({ref});
    QSignalSpy finished(&checker, &ActiveHealthChecker::probeFinished);
    QCOMPARE(checker.runDueChecks(), 1);
    QVERIFY(finished.wait(10'000));
    QCOMPARE(finished.first().at(2).toBool(), false);
    QCOMPARE(toString(checker.health(ref)), toString(HealthState::Unhealthy));
}

void tst_ActiveHealthChecker::runsByItselfWhenStarted()
{
    TinyHttpServer server;
    QVERIFY(server.listen());
    ActiveHealthChecker checker(Clock::steady());
    HealthCheckSettings settings;
    settings.interval = 50ms;
    settings.timeout = 50ms;
    QVERIFY(checker.setSettings(settings));
    checker.setTargets({{u"eu"_s, server.url()}});
    QSignalSpy finished(&checker, &ActiveHealthChecker::probeFinished);
    checker.start();
    QTRY_VERIFY_WITH_TIMEOUT(finished.size() >= 3, 10'000);
    checker.stop();
    QCOMPARE(toString(checker.health({u"eu"_s, server.url()})), toString(HealthState::Healthy));
}

QTEST_GUILESS_MAIN(tst_ActiveHealthChecker)
#include "tst_activehealthchecker.moc"
