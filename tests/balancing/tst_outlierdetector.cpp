#include "core/balancing/balancer.h"
#include "core/balancing/outlierdetector.h"
#include "core/util/manualclock.h"

#include <QSignalSpy>
#include <QTest>

using namespace Meridian;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

QList<EndpointRef> fleet(int count)
{
    QList<EndpointRef> refs;
    for (int i = 0; i < count; ++i)
        refs.append({u"r%1"_s.arg(i / 2), u"http://10.0.0.%1:80"_s.arg(i)});
    return refs;
}

OutlierSettings settings()
{
    OutlierSettings s;
    s.consecutiveFailures = 3;
    s.baseEjection = 10s;
    s.maxEjection = 35s;
    s.maxEjectionPercent = 50;
    s.holdDown = 60s;
    return s;
}

} // namespace

class tst_OutlierDetector final : public QObject
{
    Q_OBJECT

private slots:
    void settingsAreValidated();
    void consecutiveFailuresEject();
    void successResetsTheStreak();
    void ejectionTimeGrowsAndIsCapped();
    void holdDownDecaysTheMultiplier();
    void probationReejectsOnOneFailure();
    void maxEjectedPercentCaps();
    void feedsTheBalancer();
    void timerEndsEjections();
};

void tst_OutlierDetector::settingsAreValidated()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    OutlierSettings bad = settings();
    bad.maxEjection = 5s; // below base
    QVERIFY(!detector.setSettings(bad));
    bad = settings();
    bad.maxEjectionPercent = 120;
    QVERIFY(!detector.setSettings(bad));
    QVERIFY(detector.setSettings(settings()));
    QCOMPARE(detector.settings(), settings());
    const auto parsed = OutlierSettings::fromJson(settings().toJson());
    QVERIFY(parsed);
    QCOMPARE(parsed.value(), settings());
    const auto unknown = OutlierSettings::fromJson({{u"base_ejection"_s, 3}});
    QVERIFY(!unknown);
    QVERIFY(unknown.error().contains(u"base_ejection_ms"_s));
}

void tst_OutlierDetector::consecutiveFailuresEject()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    QVERIFY(detector.setSettings(settings()));
    const auto refs = fleet(4);
    detector.setTargets(refs);
    QSignalSpy ejected(&detector, &OutlierDetector::ejected);
    QSignalSpy returned(&detector, &OutlierDetector::returned);
    detector.recordFailure(refs[0]);
    detector.recordFailure(refs[0]);
    QVERIFY(!detector.isEjected(refs[0]));
    detector.recordFailure(refs[0]);
    QVERIFY(detector.isEjected(refs[0]));
    QCOMPARE(ejected.size(), 1);
    QCOMPARE(ejected.at(0).at(1).toString(), refs[0].url);
    QCOMPARE(ejected.at(0).at(2).value<std::chrono::milliseconds>(), 10s);
    // Late failures of requests sent before the ejection change nothing.
    detector.recordFailure(refs[0]);
    QCOMPARE(ejected.size(), 1);

    clock.advance(9999ms);
    QVERIFY(detector.process().isEmpty());
    QVERIFY(detector.isEjected(refs[0]));
    clock.advance(1ms);
    QCOMPARE(detector.process(), QList<EndpointRef>{refs[0]});
    QVERIFY(!detector.isEjected(refs[0]));
    QCOMPARE(returned.size(), 1);
}

void tst_OutlierDetector::successResetsTheStreak()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    QVERIFY(detector.setSettings(settings()));
    const auto refs = fleet(2);
    detector.setTargets(refs);
    for (int i = 0; i < 10; ++i) {
        detector.recordFailure(refs[1]);
        detector.recordFailure(refs[1]);
        detector.recordSuccess(refs[1]);
    }
    QVERIFY(!detector.isEjected(refs[1]));
    // Unknown endpoints are ignored.
    for (int i = 0; i < 5; ++i)
        detector.recordFailure({u"x"_s, u"http://nowhere:1"_s});
    QCOMPARE(detector.ejectedCount(), 0);
}

void tst_OutlierDetector::ejectionTimeGrowsAndIsCapped()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    QVERIFY(detector.setSettings(settings()));
    const auto refs = fleet(2);
    detector.setTargets(refs);
    QSignalSpy ejected(&detector, &OutlierDetector::ejected);
    const QList<std::chrono::milliseconds> expected{10s, 20s, 30s, 35s, 35s};
    for (const auto duration : expected) {
        // Failing again right after each return: probation ejects on the first failure.
        const int failures = ejected.isEmpty() ? 3 : 1;
        for (int i = 0; i < failures; ++i)
            detector.recordFailure(refs[0]);
        QVERIFY(detector.isEjected(refs[0]));
        QCOMPARE(ejected.last().at(2).value<std::chrono::milliseconds>(), duration);
        clock.advance(duration);
        QCOMPARE(detector.process().size(), 1);
        clock.advance(1s);
    }
    QCOMPARE(detector.ejectionCount(refs[0]), 5);
}

void tst_OutlierDetector::holdDownDecaysTheMultiplier()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    QVERIFY(detector.setSettings(settings()));
    const auto refs = fleet(2);
    detector.setTargets(refs);
    QSignalSpy ejected(&detector, &OutlierDetector::ejected);
    auto ejectNow = [&](int failures) {
        for (int i = 0; i < failures; ++i)
            detector.recordFailure(refs[0]);
    };
    ejectNow(3);
    clock.advance(10s);
    detector.process();
    ejectNow(1); // probation
    QCOMPARE(ejected.last().at(2).value<std::chrono::milliseconds>(), 20s);
    clock.advance(20s);
    detector.process();
    QCOMPARE(detector.ejectionCount(refs[0]), 2);
    // One full hold-down in service: one ejection forgiven.
    clock.advance(60s);
    QCOMPARE(detector.ejectionCount(refs[0]), 1);
    // Out of probation: one failure is not enough any more, three are; the multiplier is 2.
    ejectNow(1);
    QVERIFY(!detector.isEjected(refs[0]));
    ejectNow(2);
    QVERIFY(detector.isEjected(refs[0]));
    QCOMPARE(ejected.last().at(2).value<std::chrono::milliseconds>(), 20s);
    clock.advance(20s);
    detector.process();
    // Two more hold-downs in service: all forgiven, the next ejection is the base time again.
    clock.advance(120s);
    QCOMPARE(detector.ejectionCount(refs[0]), 0);
    ejectNow(3);
    QCOMPARE(ejected.last().at(2).value<std::chrono::milliseconds>(), 10s);
}

void tst_OutlierDetector::probationReejectsOnOneFailure()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    QVERIFY(detector.setSettings(settings()));
    const auto refs = fleet(2);
    detector.setTargets(refs);
    for (int i = 0; i < 3; ++i)
        detector.recordFailure(refs[0]);
    clock.advance(10s);
    detector.process();
    // A flapping endpoint: it serves a little, fails once, and is out again at once, for longer.
    detector.recordSuccess(refs[0]);
    clock.advance(59s);
    detector.recordFailure(refs[0]);
    QVERIFY(detector.isEjected(refs[0]));
    QCOMPARE(detector.ejectionCount(refs[0]), 2);
}

void tst_OutlierDetector::maxEjectedPercentCaps()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    OutlierSettings s = settings();
    s.maxEjectionPercent = 25;
    QVERIFY(detector.setSettings(s));
    const auto refs = fleet(8);
    detector.setTargets(refs);
    for (const EndpointRef &ref : refs) {
        for (int i = 0; i < 3; ++i)
            detector.recordFailure(ref);
    }
    QCOMPARE(detector.ejectedCount(), 2); // 25 % of 8
    // At least one may always be ejected, even at 0 %.
    s.maxEjectionPercent = 0;
    QVERIFY(detector.setSettings(s));
    OutlierDetector small(clock);
    QVERIFY(small.setSettings(s));
    small.setTargets(fleet(3));
    for (const EndpointRef &ref : fleet(3)) {
        for (int i = 0; i < 3; ++i)
            small.recordFailure(ref);
    }
    QCOMPARE(small.ejectedCount(), 1);
}

void tst_OutlierDetector::feedsTheBalancer()
{
    ManualClock clock;
    OutlierDetector detector(clock);
    QVERIFY(detector.setSettings(settings()));
    BalancerConfig config;
    config.strategy = u"round_robin"_s;
    Region region;
    region.id = u"r0"_s;
    region.endpoints = {{u"http://10.0.0.0:80"_s, HealthState::Healthy},
                        {u"http://10.0.0.1:80"_s, HealthState::Healthy}};
    config.regions = {region};
    Balancer balancer(clock);
    QVERIFY(balancer.setConfig(config));
    detector.setTargets(fleet(2));
    connect(&detector,
            &OutlierDetector::ejected,
            this,
            [&](const QString &regionId, const QString &url) {
                QVERIFY(balancer.setEndpointEjected(regionId, url, true));
            });
    connect(&detector,
            &OutlierDetector::returned,
            this,
            [&](const QString &regionId, const QString &url) {
                QVERIFY(balancer.setEndpointEjected(regionId, url, false));
            });
    for (int i = 0; i < 3; ++i)
        detector.recordFailure(fleet(2)[0]);
    for (int i = 0; i < 10; ++i)
        QCOMPARE(balancer.pick().endpointUrl(), u"http://10.0.0.1:80"_s);
    clock.advance(10s);
    detector.process();
    QSet<QString> seen;
    for (int i = 0; i < 10; ++i)
        seen.insert(balancer.pick().endpointUrl());
    QCOMPARE(seen.size(), 2);
}

void tst_OutlierDetector::timerEndsEjections()
{
    // The real clock and the detector's own timer: a 50 ms ejection ends by itself.
    OutlierDetector detector(Clock::steady());
    OutlierSettings s = settings();
    s.baseEjection = 50ms;
    s.maxEjection = 50ms;
    QVERIFY(detector.setSettings(s));
    const auto refs = fleet(2);
    detector.setTargets(refs);
    detector.start();
    QSignalSpy returned(&detector, &OutlierDetector::returned);
    for (int i = 0; i < 3; ++i)
        detector.recordFailure(refs[1]);
    QVERIFY(detector.isEjected(refs[1]));
    QVERIFY(returned.wait(5000));
    QVERIFY(!detector.isEjected(refs[1]));
    detector.stop();
}

QTEST_GUILESS_MAIN(tst_OutlierDetector)
#include "tst_outlierdetector.moc"
