// The figures a region shows for its users' traffic in the cluster view, on a manual clock.
#include "core/node/trafficstats.h"
#include "core/util/manualclock.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace Meridian;
using namespace std::chrono_literals;

class tst_TrafficStats final : public QObject
{
    Q_OBJECT

private slots:
    void rateRightAfterStart();
    void rateOverTheLastFiveSeconds();
    void latencyPercentilesOverTheLastTenSeconds();
    void percentilesStayWithinTheHistogramsPrecision();
};

// Three requests in the first 200 ms are three per second, not fifteen.
void tst_TrafficStats::rateRightAfterStart()
{
    ManualClock clock;
    TrafficStats stats(clock);
    QCOMPARE(stats.rps(), 0.0);
    clock.advance(200ms);
    for (int i = 0; i < 3; ++i)
        stats.record(1.0);
    QCOMPARE(stats.rps(), 3.0);
    clock.advance(1800ms); // 2 s after start: three requests in two seconds
    QCOMPARE(stats.rps(), 1.5);
}

void tst_TrafficStats::rateOverTheLastFiveSeconds()
{
    ManualClock clock;
    TrafficStats stats(clock);
    for (int second = 0; second < 20; ++second) {
        for (int i = 0; i < 10; ++i) {
            stats.record(1.0);
            clock.advance(100ms);
        }
    }
    QCOMPARE(stats.rps(), 10.0);
    clock.advance(2500ms); // half the window without requests
    QCOMPARE(stats.rps(), 5.0);
    clock.advance(2500ms);
    QCOMPARE(stats.rps(), 0.0);
}

void tst_TrafficStats::latencyPercentilesOverTheLastTenSeconds()
{
    ManualClock clock;
    TrafficStats stats(clock);
    QCOMPARE(stats.percentileMs(0.5), 0.0);
    for (int i = 1; i <= 100; ++i)
        stats.record(double(i));
    QCOMPARE(stats.percentileMs(0.5), 50.0);
    // 99 shares its histogram bucket with 100: the bucket's largest is reported.
    QCOMPARE(stats.percentileMs(0.99), 100.0);
    clock.advance(5s);
    stats.record(1000.0);
    QCOMPARE(stats.percentileMs(0.99), 100.0);
    clock.advance(5001ms); // the first hundred are older than ten seconds
    QCOMPARE(stats.percentileMs(0.5), 1000.0);
    stats.setInFlight(3);
    const QJsonObject json = stats.toJson();
    QCOMPARE(json.value(u"p99_ms").toDouble(), 1000.0);
    QCOMPARE(json.value(u"in_flight").toInt(), 3);
    QCOMPARE(json.value(u"rps").toDouble(), 0.0); // the last one is 5.001 s old
}

// A million requests of latencies spread over six orders of magnitude (no sample is kept, only
// histograms): every percentile is at most 1/32 above the exact one, never below.
void tst_TrafficStats::percentilesStayWithinTheHistogramsPrecision()
{
    ManualClock clock;
    TrafficStats stats(clock);
    std::vector<double> all;
    quint32 state = 12345;
    for (int i = 0; i < 1'000'000; ++i) {
        state = state * 1664525u + 1013904223u; // a fixed sequence: the same run every time
        const double ms = 0.005 * std::pow(10.0, 6.0 * double(state >> 8) / double(1 << 24));
        stats.record(ms);
        all.push_back(ms);
        if (i % 100'000 == 0)
            clock.advance(900ms); // spread over several of the one-second histograms
    }
    std::sort(all.begin(), all.end());
    for (const double p : {0.01, 0.25, 0.5, 0.9, 0.99, 0.999}) {
        const double exact = all[size_t(std::ceil(p * double(all.size()))) - 1];
        const double reported = stats.percentileMs(p);
        QVERIFY2(reported >= exact * 0.9999 && reported <= exact * (1.0 + 1.0 / 32) + 1e-6,
                 qPrintable(
                         QStringLiteral("p%1: %2 ms, exactly %3 ms").arg(p).arg(reported).arg(exact)));
    }
}

QTEST_GUILESS_MAIN(tst_TrafficStats)
#include "tst_trafficstats.moc"
