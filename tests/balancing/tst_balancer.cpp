#include "core/balancing/balancer.h"
#include "core/util/manualclock.h"

#include <QTest>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

using namespace Meridian;
using namespace Qt::StringLiterals;
using namespace std::chrono_literals;

namespace {

Region makeRegion(const QString &id,
                  int weight = 100,
                  int priority = 1,
                  double lat = 0.0,
                  double lon = 0.0,
                  int endpoints = 1)
{
    Region region;
    region.id = id;
    region.name = id;
    region.lat = lat;
    region.lon = lon;
    region.weight = weight;
    region.priority = priority;
    for (int i = 0; i < endpoints; ++i)
        region.endpoints.append(
                {u"http://%1-%2.example:8080"_s.arg(id).arg(i), HealthState::Healthy});
    return region;
}

BalancerConfig makeConfig(const QString &strategy, const QList<Region> &regions)
{
    BalancerConfig config;
    config.strategy = strategy;
    config.regions = regions;
    return config;
}

QList<Region> threeRegions()
{
    return {makeRegion(u"a"_s), makeRegion(u"b"_s), makeRegion(u"c"_s)};
}

QMap<QString, int> countPicks(const Balancer &balancer, int picks)
{
    QMap<QString, int> counts;
    for (int i = 0; i < picks; ++i) {
        const PickResult result = balancer.pick();
        if (!result)
            return {};
        ++counts[result.regionId()];
    }
    return counts;
}

// Pearson's chi-square statistic of observed counts against expected shares.
double chiSquare(const QMap<QString, int> &observed, const QMap<QString, double> &shares, int total)
{
    double sum = 0.0;
    for (auto it = shares.begin(); it != shares.end(); ++it) {
        const double expected = it.value() * total;
        const double diff = observed.value(it.key()) - expected;
        sum += diff * diff / expected;
    }
    return sum;
}

// Whether `picked` has the fewest in-flight requests per unit of weight among `weights` (region
// id → weight × dial), by exact integer comparison of count × weight.
bool isLeastLoaded(const QMap<QString, int> &inFlight,
                   const QMap<QString, qint64> &weights,
                   const QString &picked)
{
    if (!weights.contains(picked))
        return false;
    const qint64 mine = inFlight.value(picked);
    for (auto it = weights.begin(); it != weights.end(); ++it) {
        if (qint64(inFlight.value(it.key())) * weights.value(picked) < mine * it.value())
            return false;
    }
    return true;
}

} // namespace

class tst_Balancer final : public QObject
{
    Q_OBJECT

private slots:
    void refusesBeforeConfig();
    void invalidConfigChangesNothing();
    void roundRobinIsExact();
    void smoothWeightedIsExact();
    void roundRobinIsExactAcrossThreads();
    void dialScalesRoundRobinExactly();
    void randomFamiliesFitTheirShares_data();
    void randomFamiliesFitTheirShares();
    void leastConnectionsTakesTheLeastLoaded();
    void leastConnectionsSpreadsTies();
    void leastConnectionsFollowsEveryChange_data();
    void leastConnectionsFollowsEveryChange();
    void leastConnectionsPicksTheMinimumUnderConcurrentLoad();
    void leastRequestBeatsRandomOnMaximumLoad();
    void latencyEwmaPrefersTheFasterRegion();
    void geoPicksTheNearest();
    void geoDialSpillsToTheNextNearest();
    void geoPicksTheNearestOfMany();
    void consistentHashMovesOnlyTheLeavingRegionsKeys_data();
    void consistentHashMovesOnlyTheLeavingRegionsKeys();
    void consistentHashWithoutKeyStillPicks();
    void failoverFollowsPriority();
    void drainStopsNewRequestsAndKeepsInFlight();
    void stickyKeysKeepTheirDrainingRegion();
    void excludedRegionsAreNotPicked_data();
    void excludedRegionsAreNotPicked();
    void endpointTagsComeBackWithPicks();
    void unhealthyEndpointsAreSkipped();
    void unknownHealthFollowsTheOption();
    void panicSpreadIgnoresHealth();
    void panicRefuseSaysWhy();
    void nothingToSpreadWhenAllDrained();
    void endpointsRotateWithinARegion();
    void pickResultIsMoveOnlyAndFinishesOnce();
    void picksRaceWithStrategySwitches();
};

void tst_Balancer::refusesBeforeConfig()
{
    Balancer balancer;
    const PickResult result = balancer.pick();
    QVERIFY(!result);
    QCOMPARE(result.refusal(), Refusal::NothingToSpread);
    QVERIFY(!result.refusalMessage().isEmpty());
    QVERIFY(result.regionId().isEmpty());
}

void tst_Balancer::invalidConfigChangesNothing()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, threeRegions())));
    const quint64 version = balancer.version();

    auto result = balancer.setConfig(makeConfig(u"fastest"_s, threeRegions()));
    QVERIFY(!result);
    QVERIFY2(result.error().contains(u"unknown strategy 'fastest'"_s), qPrintable(result.error()));

    BalancerConfig badParam = makeConfig(u"least_request"_s, threeRegions());
    badParam.params.insert(u"choices"_s, 3);
    result = balancer.setConfig(badParam);
    QVERIFY(!result);
    QVERIFY2(result.error().contains(u"choice_count"_s), qPrintable(result.error()));

    badParam.params = {{u"choice_count"_s, 1}};
    QVERIFY(!balancer.setConfig(badParam));

    BalancerConfig badDial = makeConfig(u"round_robin"_s, threeRegions());
    badDial.regions[1].dial = 130;
    result = balancer.setConfig(badDial);
    QVERIFY(!result);
    QVERIFY2(result.error().contains(u"region 'b'"_s), qPrintable(result.error()));

    BalancerConfig duplicate = makeConfig(u"round_robin"_s, threeRegions());
    duplicate.regions[2].id = u"a"_s;
    QVERIFY(!balancer.setConfig(duplicate));

    QVERIFY(!balancer.apply(ConfigChange::drain(u"nowhere"_s)));
    QVERIFY(!balancer.apply(ConfigChange::setDial(u"a"_s, -1)));
    QVERIFY(!balancer.setEndpointHealth(u"a"_s, u"http://other:1"_s, HealthState::Unhealthy));

    QCOMPARE(balancer.version(), version);
    QCOMPARE(balancer.config(), makeConfig(u"round_robin"_s, threeRegions()));
}

void tst_Balancer::roundRobinIsExact()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, threeRegions())));
    QStringList order;
    for (int i = 0; i < 9; ++i)
        order.append(balancer.pick().regionId());
    QCOMPARE(order.join(QString()), u"abcabcabc"_s);
    const auto counts = countPicks(balancer, 3000);
    QCOMPARE(counts.value(u"a"_s), 1000);
    QCOMPARE(counts.value(u"b"_s), 1000);
    QCOMPARE(counts.value(u"c"_s), 1000);
}

void tst_Balancer::smoothWeightedIsExact()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(
            makeConfig(u"weighted_round_robin"_s,
                       {makeRegion(u"a"_s, 5), makeRegion(u"b"_s, 1), makeRegion(u"c"_s, 1)})));
    QStringList order;
    for (int i = 0; i < 14; ++i)
        order.append(balancer.pick().regionId());
    // nginx's smooth weighted round robin for 5:1:1.
    QCOMPARE(order.join(QString()), u"aabacaaaabacaa"_s);
    const auto counts = countPicks(balancer, 7000);
    QCOMPARE(counts.value(u"a"_s), 5000);
    QCOMPARE(counts.value(u"b"_s), 1000);
    QCOMPARE(counts.value(u"c"_s), 1000);
}

void tst_Balancer::roundRobinIsExactAcrossThreads()
{
    // Concurrent picks each take their own place in the cycle: the shares stay exact.
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, threeRegions())));
    constexpr int Threads = 4;
    constexpr int PicksPerThread = 30'000;
    std::vector<QMap<QString, int>> counts(Threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < PicksPerThread; ++i)
                ++counts[t][balancer.pick().regionId()];
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    QMap<QString, int> total;
    for (const auto &perThread : counts) {
        for (auto it = perThread.begin(); it != perThread.end(); ++it)
            total[it.key()] += it.value();
    }
    QCOMPARE(total.value(u"a"_s), Threads * PicksPerThread / 3);
    QCOMPARE(total.value(u"b"_s), Threads * PicksPerThread / 3);
    QCOMPARE(total.value(u"c"_s), Threads * PicksPerThread / 3);
}

void tst_Balancer::dialScalesRoundRobinExactly()
{
    Balancer balancer;
    BalancerConfig config = makeConfig(u"round_robin"_s, threeRegions());
    config.regions[1].dial = 50;
    config.regions[2].dial = 0;
    QVERIFY(balancer.setConfig(config));
    const auto counts = countPicks(balancer, 3000);
    QCOMPARE(counts.value(u"a"_s), 2000);
    QCOMPARE(counts.value(u"b"_s), 1000);
    QCOMPARE(counts.value(u"c"_s), 0);
}

void tst_Balancer::randomFamiliesFitTheirShares_data()
{
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<quint64>("seed");
    QTest::addColumn<QList<int>>("weights");
    QTest::addColumn<QList<int>>("dials");
    QTest::addColumn<QList<double>>("shares");
    QTest::addRow("random seed 1")
            << u"random"_s << quint64(1) << QList<int>{1, 2, 3} << QList<int>{100, 100, 100}
            << QList<double>{1.0 / 3, 1.0 / 3, 1.0 / 3};
    QTest::addRow("random seed 42") << u"random"_s << quint64(42) << QList<int>{1, 1, 1}
                                    << QList<int>{100, 50, 50} << QList<double>{0.5, 0.25, 0.25};
    QTest::addRow("weighted_random seed 7")
            << u"weighted_random"_s << quint64(7) << QList<int>{1, 2, 3}
            << QList<int>{100, 100, 100} << QList<double>{1.0 / 6, 2.0 / 6, 3.0 / 6};
    QTest::addRow("weighted_random seed 99 with dial")
            << u"weighted_random"_s << quint64(99) << QList<int>{1, 2, 3}
            << QList<int>{100, 100, 20} << QList<double>{100.0 / 360, 200.0 / 360, 60.0 / 360};
}

void tst_Balancer::randomFamiliesFitTheirShares()
{
    QFETCH(QString, strategy);
    QFETCH(quint64, seed);
    QFETCH(QList<int>, weights);
    QFETCH(QList<int>, dials);
    QFETCH(QList<double>, shares);
    QList<Region> regions = threeRegions();
    QMap<QString, double> expected;
    for (int i = 0; i < 3; ++i) {
        regions[i].weight = weights[i];
        regions[i].dial = dials[i];
        expected.insert(regions[i].id, shares[i]);
    }
    Balancer balancer(Clock::steady(), seed);
    QVERIFY(balancer.setConfig(makeConfig(strategy, regions)));
    constexpr int picks = 60'000;
    const auto counts = countPicks(balancer, picks);
    // Two degrees of freedom: 13.82 is the 0.999 quantile.
    const double chi = chiSquare(counts, expected, picks);
    QVERIFY2(chi < 13.82, qPrintable(u"chi-square %1"_s.arg(chi)));
}

void tst_Balancer::leastConnectionsTakesTheLeastLoaded()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"least_connections"_s,
                                          {makeRegion(u"a"_s, 100),
                                           makeRegion(u"b"_s, 100),
                                           makeRegion(u"c"_s, 200)})));
    std::vector<PickResult> held;
    for (int i = 0; i < 400; ++i)
        held.push_back(balancer.pick());
    // In-flight per unit of weight is balanced: 100 : 100 : 200.
    QCOMPARE(balancer.inFlight(u"a"_s), 100);
    QCOMPARE(balancer.inFlight(u"b"_s), 100);
    QCOMPARE(balancer.inFlight(u"c"_s), 200);
    // Finishing a's requests makes a the least loaded.
    for (PickResult &result : held) {
        if (result.regionId() == u"a"_s)
            result.finish();
    }
    QCOMPARE(balancer.inFlight(u"a"_s), 0);
    QCOMPARE(balancer.pick().regionId(), u"a"_s);
}

void tst_Balancer::leastConnectionsSpreadsTies()
{
    // Idle regions of equal weight tie: the rotating start takes them in turn.
    Balancer balancer;
    QList<Region> regions;
    for (int i = 0; i < 20; ++i)
        regions.append(makeRegion(u"t%1"_s.arg(i)));
    QVERIFY(balancer.setConfig(makeConfig(u"least_connections"_s, regions)));
    QStringList order;
    for (int i = 0; i < 40; ++i)
        order.append(balancer.pick().regionId()); // finished at once: every region stays idle
    for (int i = 0; i < 20; ++i) {
        QCOMPARE(order[i + 20], order[i]);
        QCOMPARE(order.count(order[i]), 2);
    }
}

void tst_Balancer::leastConnectionsFollowsEveryChange_data()
{
    QTest::addColumn<int>("before");
    // Counter slots follow the order in which region ids were first seen: 0 keeps them
    // together (the vector scan), 300 spreads them far apart (the scan through pointers).
    QTest::addRow("contiguous slots") << 0;
    QTest::addRow("scattered slots") << 300;
}

void tst_Balancer::leastConnectionsFollowsEveryChange()
{
    QFETCH(int, before);
    Balancer balancer(Clock::steady(), 9);
    if (before > 0) {
        QList<Region> many;
        for (int i = 0; i < before; ++i)
            many.append(makeRegion(u"r%1"_s.arg(i)));
        QVERIFY(balancer.setConfig(makeConfig(u"least_connections"_s, many)));
    }
    QList<Region> regions;
    for (int i = 0; i < 40; ++i)
        regions.append(makeRegion(u"n%1"_s.arg(i), 50 + (i * 37) % 200, 1, 0, 0, 1 + i % 2));
    regions.append(makeRegion(u"r0"_s, 100));
    regions.append(makeRegion(u"r%1"_s.arg(std::max(before - 1, 1)), 300));
    BalancerConfig config = makeConfig(u"least_connections"_s, regions);
    config.regions[3].state = AdminState::Draining; // a gap in the scanned range
    config.regions[7].dial = 50;
    QVERIFY(balancer.setConfig(config));
    QMap<QString, qint64> weights;
    for (const Region &region : config.regions) {
        if (region.state == AdminState::Active)
            weights.insert(region.id, qint64(region.weight) * region.dial);
    }
    std::mt19937 random(5);
    std::vector<PickResult> held;
    for (int i = 0; i < 3000; ++i) {
        const QMap<QString, int> inFlight = balancer.inFlight();
        PickResult result = balancer.pick();
        QVERIFY2(isLeastLoaded(inFlight, weights, result.regionId()), qPrintable(result.regionId()));
        held.push_back(std::move(result));
        // Finish a random held request now and then, so counts go down as well as up.
        if (random() % 3 == 0) {
            const size_t victim = random() % held.size();
            held[victim].finish();
            held.erase(held.begin() + qsizetype(victim));
        }
    }
    held.clear();
    QCOMPARE(balancer.inFlight(u"n0"_s), 0);
}

void tst_Balancer::leastConnectionsPicksTheMinimumUnderConcurrentLoad()
{
    // Threads pick and finish on 128 regions; each time they are paused, a pick must go to a
    // region with the fewest in-flight requests per unit of weight, whatever they left.
    QList<Region> regions;
    for (int i = 0; i < 128; ++i)
        regions.append(makeRegion(u"r%1"_s.arg(i), 50 + (i * 37) % 100, 1, 0, 0, 2));
    BalancerConfig config = makeConfig(u"least_connections"_s, regions);
    for (int i = 10; i < 20; ++i)
        config.regions[i].state = AdminState::Draining;
    Balancer balancer(Clock::steady(), 21);
    QVERIFY(balancer.setConfig(config));
    QMap<QString, qint64> weights;
    for (const Region &region : config.regions) {
        if (region.state == AdminState::Active)
            weights.insert(region.id, qint64(region.weight) * region.dial);
    }
    constexpr int Threads = 3;
    std::atomic<bool> stop{false};
    std::atomic<bool> pause{false};
    std::atomic<int> parked{0};
    std::atomic<long> picks{0};
    std::atomic<int> invalid{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 random(t + 1);
            std::vector<PickResult> held;
            while (!stop.load()) {
                if (pause.load()) {
                    parked.fetch_add(1);
                    while (pause.load() && !stop.load())
                        std::this_thread::yield();
                    parked.fetch_sub(1);
                    continue;
                }
                PickResult result = balancer.pick();
                if (!weights.contains(result.regionId()))
                    invalid.fetch_add(1);
                held.push_back(std::move(result));
                if (held.size() > 60 || random() % 2 == 0) {
                    const size_t victim = random() % held.size();
                    held[victim].finish();
                    held.erase(held.begin() + qsizetype(victim));
                }
                picks.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (int round = 0; round < 30; ++round) {
        const long target = picks.load() + 2000;
        QTRY_VERIFY_WITH_TIMEOUT(picks.load() >= target, 30'000);
        pause.store(true);
        QTRY_VERIFY_WITH_TIMEOUT(parked.load() == Threads, 30'000);
        for (int i = 0; i < 20; ++i) {
            const QMap<QString, int> inFlight = balancer.inFlight();
            PickResult result = balancer.pick();
            QVERIFY2(isLeastLoaded(inFlight, weights, result.regionId()),
                     qPrintable(result.regionId()));
        }
        pause.store(false);
    }
    stop.store(true);
    for (std::thread &thread : threads)
        thread.join();
    QCOMPARE(invalid.load(), 0);
    for (int count : balancer.inFlight())
        QCOMPARE(count, 0);
}

void tst_Balancer::leastRequestBeatsRandomOnMaximumLoad()
{
    // A deterministic discrete-time simulation: 8 requests arrive per tick over 8 regions; one
    // region serves 8 times slower. Random keeps feeding the slow region; P2C steers around it.
    auto simulate = [](const QString &strategy) {
        QList<Region> regions;
        for (int i = 0; i < 8; ++i)
            regions.append(makeRegion(u"r%1"_s.arg(i)));
        Balancer balancer(Clock::steady(), 12345);
        if (!balancer.setConfig(makeConfig(strategy, regions)))
            return -1;
        std::mt19937 jitter(2024);
        std::vector<std::vector<PickResult>> finishing(64);
        int maxLoad = 0;
        for (int tick = 0; tick < 3000; ++tick) {
            for (PickResult &result : finishing[tick % 64])
                result.finish();
            finishing[tick % 64].clear();
            for (int k = 0; k < 8; ++k) {
                PickResult result = balancer.pick();
                const bool slow = result.regionId() == u"r0"_s;
                const int service = slow ? 16 + int(jitter() % 8) : 1 + int(jitter() % 2);
                finishing[(tick + service) % 64].push_back(std::move(result));
            }
            const auto loads = balancer.inFlight();
            for (int load : loads)
                maxLoad = std::max(maxLoad, load);
        }
        return maxLoad;
    };
    const int random = simulate(u"random"_s);
    const int p2c = simulate(u"least_request"_s);
    QVERIFY(random > 0 && p2c > 0);
    QVERIFY2(p2c * 2 <= random,
             qPrintable(u"least_request max %1, random max %2"_s.arg(p2c).arg(random)));
}

void tst_Balancer::latencyEwmaPrefersTheFasterRegion()
{
    ManualClock clock;
    Balancer balancer(clock, 77);
    QVERIFY(balancer.setConfig(
            makeConfig(u"latency_ewma"_s, {makeRegion(u"slow"_s), makeRegion(u"fast"_s)})));
    QVERIFY(!balancer.latencyEstimate(u"slow"_s));
    auto latencyOf = [](const PickResult &result) {
        return result.regionId() == u"slow"_s ? 200ms : 10ms;
    };
    {
        // Both start at default_rtt_ms; the second concurrent pick avoids the busy first.
        PickResult one = balancer.pick();
        PickResult two = balancer.pick();
        QVERIFY(one.regionId() != two.regionId());
        one.finish(latencyOf(one));
        two.finish(latencyOf(two));
    }
    // Peak EWMA: the first observation is the estimate.
    QCOMPARE(balancer.latencyEstimate(u"slow"_s), std::chrono::microseconds(200ms));
    QCOMPARE(balancer.latencyEstimate(u"fast"_s), std::chrono::microseconds(10ms));
    QMap<QString, int> counts;
    for (int i = 0; i < 2000; ++i) {
        PickResult result = balancer.pick();
        ++counts[result.regionId()];
        clock.advance(5ms);
        result.finish(latencyOf(result));
    }
    QVERIFY2(counts.value(u"fast"_s) > 1800,
             qPrintable(u"fast got %1"_s.arg(counts.value(u"fast"_s))));
    // A slow observation takes over at once.
    PickResult late = balancer.pick();
    late.finish(500ms);
    QCOMPARE(balancer.latencyEstimate(late.regionId()), std::chrono::microseconds(500ms));
    // And the estimate decays while the region is idle (time constant 10 s).
    clock.advance(30s);
    QVERIFY(*balancer.latencyEstimate(u"slow"_s) < 30ms);
    QVERIFY(*balancer.latencyEstimate(late.regionId()) < 30ms);
}

void tst_Balancer::geoPicksTheNearest()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"geo_proximity"_s,
                                          {makeRegion(u"london"_s, 100, 1, 51.5, -0.13),
                                           makeRegion(u"new-york"_s, 100, 1, 40.71, -74.0),
                                           makeRegion(u"tokyo"_s, 100, 1, 35.68, 139.69),
                                           makeRegion(u"fiji"_s, 100, 1, -17.7, 178.0)})));
    auto nearest = [&](double lat, double lon) {
        PickRequest request;
        request.client = GeoPoint::fromDegrees(lat, lon);
        return balancer.pick(request).regionId();
    };
    QCOMPARE(nearest(48.86, 2.35), u"london"_s);     // Paris
    QCOMPARE(nearest(42.36, -71.06), u"new-york"_s); // Boston
    QCOMPARE(nearest(34.69, 135.5), u"tokyo"_s);     // Osaka
    QCOMPARE(nearest(-13.8, -172.0), u"fiji"_s);     // Samoa, across the antimeridian
    QCOMPARE(nearest(64.1, -21.9), u"london"_s);     // Reykjavik: 1,890 km vs 4,200 km
    // The nearest region drained: the next nearest.
    QVERIFY(balancer.apply(ConfigChange::drain(u"london"_s)));
    QCOMPARE(nearest(48.86, 2.35), u"new-york"_s);
    // Without a location: weighted random over the eligible ones, never a drained region.
    for (int i = 0; i < 100; ++i)
        QVERIFY(balancer.pick().regionId() != u"london"_s);
}

void tst_Balancer::geoDialSpillsToTheNextNearest()
{
    Balancer balancer(Clock::steady(), 5);
    BalancerConfig config = makeConfig(u"geo_proximity"_s,
                                       {makeRegion(u"london"_s, 100, 1, 51.5, -0.13),
                                        makeRegion(u"new-york"_s, 100, 1, 40.71, -74.0)});
    config.regions[0].dial = 30;
    QVERIFY(balancer.setConfig(config));
    PickRequest request;
    request.client = GeoPoint::fromDegrees(48.86, 2.35);
    QMap<QString, int> counts;
    constexpr int picks = 20'000;
    for (int i = 0; i < picks; ++i)
        ++counts[balancer.pick(request).regionId()];
    const double chi = chiSquare(counts, {{u"london"_s, 0.3}, {u"new-york"_s, 0.7}}, picks);
    QVERIFY2(chi < 10.83, qPrintable(u"chi-square %1"_s.arg(chi))); // 1 dof, 0.999
}

void tst_Balancer::geoPicksTheNearestOfMany()
{
    // 128 regions (the grid look-up): every pick is the nearest eligible region by great-circle
    // distance, before and after a third of them are drained.
    std::mt19937_64 random(99);
    std::uniform_real_distribution<double> lat(-80.0, 80.0);
    std::uniform_real_distribution<double> lon(-180.0, 180.0);
    QList<Region> regions;
    for (int i = 0; i < 128; ++i)
        regions.append(makeRegion(u"g%1"_s.arg(i), 100, 1, lat(random), lon(random)));
    BalancerConfig config = makeConfig(u"geo_proximity"_s, regions);
    Balancer balancer;
    for (int phase = 0; phase < 2; ++phase) {
        if (phase == 1) {
            for (int i = 0; i < 128; i += 3)
                config.regions[i].state = AdminState::Draining;
        }
        QVERIFY(balancer.setConfig(config));
        for (int i = 0; i < 5000; ++i) {
            PickRequest request;
            request.client = GeoPoint::fromDegrees(lat(random), lon(random));
            const QString picked = balancer.pick(request).regionId();
            double nearest = std::numeric_limits<double>::infinity();
            double pickedKm = -1.0;
            for (const Region &region : config.regions) {
                if (region.state != AdminState::Active)
                    continue;
                const double km = request.client->distanceKm(
                        GeoPoint::fromDegrees(region.lat, region.lon));
                nearest = std::min(nearest, km);
                if (region.id == picked)
                    pickedKm = km;
            }
            QVERIFY2(pickedKm >= 0.0, qPrintable(picked));
            QVERIFY2(pickedKm <= nearest + 1e-6,
                     qPrintable(u"%1 at %2 km, nearest %3 km"_s.arg(picked).arg(pickedKm).arg(
                             nearest)));
        }
    }
}

void tst_Balancer::consistentHashMovesOnlyTheLeavingRegionsKeys_data()
{
    QTest::addColumn<int>("regions");
    QTest::addRow("3") << 3;
    QTest::addRow("10") << 10;
    QTest::addRow("50") << 50;
}

void tst_Balancer::consistentHashMovesOnlyTheLeavingRegionsKeys()
{
    QFETCH(int, regions);
    QList<Region> list;
    for (int i = 0; i < regions; ++i)
        list.append(makeRegion(u"region-%1"_s.arg(i)));
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"consistent_hash"_s, list)));
    constexpr int keys = 30'000;
    auto mapKeys = [&] {
        QStringList mapping;
        mapping.reserve(keys);
        for (int k = 0; k < keys; ++k) {
            const QByteArray key = "session-" + QByteArray::number(k);
            PickRequest request;
            request.hashKey = key;
            mapping.append(balancer.pick(request).regionId());
        }
        return mapping;
    };
    const QStringList before = mapKeys();
    // Same key, same region, every time.
    QCOMPARE(mapKeys(), before);
    // Shares close to 1/N.
    QMap<QString, int> counts;
    for (const QString &region : before)
        ++counts[region];
    for (int count : counts)
        QVERIFY2(std::abs(count - keys / double(regions)) < 0.1 * keys / regions + 100,
                 qPrintable(QString::number(count)));

    const QString leaving = u"region-1"_s;
    QVERIFY(balancer.apply(ConfigChange::setState(leaving, AdminState::Drained)));
    const QStringList after = mapKeys();
    int moved = 0;
    for (int k = 0; k < keys; ++k) {
        if (before[k] != after[k]) {
            ++moved;
            // Only the leaving region's keys move.
            QCOMPARE(before[k], leaving);
        }
        QVERIFY(after[k] != leaving);
    }
    QVERIFY2(moved <= 1.2 * keys / regions, qPrintable(u"moved %1 of %2"_s.arg(moved).arg(keys)));
    // It comes back: its keys return to it.
    QVERIFY(balancer.apply(ConfigChange::activate(leaving)));
    QCOMPARE(mapKeys(), before);
}

void tst_Balancer::consistentHashWithoutKeyStillPicks()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"consistent_hash"_s, threeRegions())));
    const auto counts = countPicks(balancer, 300);
    QCOMPARE(counts.size(), 3);
}

void tst_Balancer::failoverFollowsPriority()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"failover"_s,
                                          {makeRegion(u"second"_s, 100, 2),
                                           makeRegion(u"first"_s, 100, 1),
                                           makeRegion(u"third"_s, 100, 3)})));
    QCOMPARE(countPicks(balancer, 50).value(u"first"_s), 50);
    QVERIFY(balancer.setEndpointHealth(u"first"_s,
                                       u"http://first-0.example:8080"_s,
                                       HealthState::Unhealthy));
    QCOMPARE(countPicks(balancer, 50).value(u"second"_s), 50);
    QVERIFY(balancer.apply(ConfigChange::drain(u"second"_s)));
    QCOMPARE(countPicks(balancer, 50).value(u"third"_s), 50);
    QVERIFY(balancer.apply(ConfigChange::activate(u"second"_s)));
    QVERIFY(balancer.apply(ConfigChange::promote(u"third"_s)));
    QCOMPARE(countPicks(balancer, 50).value(u"third"_s), 50);
    QVERIFY(balancer.config().region(u"third"_s)->priority < 1);
    // A standby region is never picked, even when first in order.
    QVERIFY(balancer.apply(ConfigChange::setState(u"third"_s, AdminState::Standby)));
    QCOMPARE(countPicks(balancer, 50).value(u"second"_s), 50);
}

void tst_Balancer::drainStopsNewRequestsAndKeepsInFlight()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, threeRegions())));
    std::vector<PickResult> held;
    for (int i = 0; i < 30; ++i)
        held.push_back(balancer.pick());
    QCOMPARE(balancer.inFlight(u"b"_s), 10);
    QVERIFY(balancer.apply(ConfigChange::drain(u"b"_s)));
    const auto counts = countPicks(balancer, 100);
    QCOMPARE(counts.value(u"b"_s), 0);
    QCOMPARE(counts.value(u"a"_s) + counts.value(u"c"_s), 100);
    // Its in-flight requests finish across the configuration change.
    QCOMPARE(balancer.inFlight(u"b"_s), 10);
    held.clear();
    QCOMPARE(balancer.inFlight(u"b"_s), 0);
    QCOMPARE(balancer.inFlight(u"a"_s), 0);
}

void tst_Balancer::stickyKeysKeepTheirDrainingRegion()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"consistent_hash"_s, threeRegions())));
    auto regionOf = [&balancer](const QByteArray &key) {
        PickRequest request;
        request.hashKey = key;
        return balancer.pick(request).regionId();
    };
    QList<QByteArray> keys;
    for (int i = 0; i < 300; ++i)
        keys.append("session-" + QByteArray::number(i));
    QMap<QByteArray, QString> home;
    for (const QByteArray &key : keys)
        home.insert(key, regionOf(key));
    QVERIFY(home.values().contains(u"b"_s));

    // Draining: b's keys stay with b, nothing else goes there (no key, or another home).
    QVERIFY(balancer.apply(ConfigChange::drain(u"b"_s)));
    for (const QByteArray &key : keys)
        QCOMPARE(regionOf(key), home.value(key));
    QCOMPARE(countPicks(balancer, 100).value(u"b"_s), 0);

    // Drained (the deadline passed): b's keys move, the others stay.
    QVERIFY(balancer.apply(ConfigChange::setState(u"b"_s, AdminState::Drained)));
    for (const QByteArray &key : keys) {
        const QString now = regionOf(key);
        if (home.value(key) == u"b"_s)
            QVERIFY(now != u"b"_s);
        else
            QCOMPARE(now, home.value(key));
    }
    // An unhealthy draining region keeps nobody either.
    QVERIFY(balancer.apply(ConfigChange::drain(u"b"_s)));
    QVERIFY(balancer.setEndpointHealth(u"b"_s,
                                       u"http://b-0.example:8080"_s,
                                       HealthState::Unhealthy));
    for (const QByteArray &key : keys)
        QVERIFY(regionOf(key) != u"b"_s);
}

void tst_Balancer::excludedRegionsAreNotPicked_data()
{
    QTest::addColumn<QString>("strategy");
    for (const QString &name : strategyNames())
        QTest::addRow("%s", qPrintable(name)) << name;
}

void tst_Balancer::excludedRegionsAreNotPicked()
{
    QFETCH(QString, strategy);
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(strategy,
                                          {makeRegion(u"a"_s, 100, 1, 10, 10),
                                           makeRegion(u"b"_s, 100, 2, 20, 20),
                                           makeRegion(u"c"_s, 100, 3, 30, 30)})));
    const QString excludedA[] = {u"a"_s};
    const QString excludedAb[] = {u"a"_s, u"b"_s};
    const QString excludedAll[] = {u"a"_s, u"b"_s, u"c"_s};
    QMap<QString, int> counts;
    for (int i = 0; i < 200; ++i) {
        PickRequest request;
        const QByteArray key = QByteArray::number(i);
        request.hashKey = key;
        request.client = GeoPoint::fromDegrees(10, 10); // a is the nearest
        request.excludedRegions = excludedA;
        const PickResult result = balancer.pick(request);
        QVERIFY(result);
        ++counts[result.regionId()];
        request.excludedRegions = excludedAb;
        QCOMPARE(balancer.pick(request).regionId(), u"c"_s);
        request.excludedRegions = excludedAll;
        const PickResult none = balancer.pick(request);
        QVERIFY(!none);
        QCOMPARE(none.refusal(), Refusal::AllExcluded);
    }
    QCOMPARE(counts.value(u"a"_s), 0);
    if (strategy == u"failover"_s || strategy == u"geo_proximity"_s)
        QCOMPARE(counts.value(u"b"_s), 200); // the next in order, the next nearest
    else
        QVERIFY(counts.value(u"b"_s) > 0 && counts.value(u"c"_s) > 0);
}

void tst_Balancer::endpointTagsComeBackWithPicks()
{
    Balancer balancer;
    balancer.setEndpointTag(u"a"_s, u"http://a-0.example:8080"_s, 7);
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, threeRegions())));
    balancer.setEndpointTag(u"b"_s, u"http://b-0.example:8080"_s, 8);
    QMap<QString, int> tags;
    for (int i = 0; i < 6; ++i) {
        const PickResult result = balancer.pick();
        tags.insert(result.regionId(), result.endpointTag());
    }
    QCOMPARE(tags.value(u"a"_s), 7);
    QCOMPARE(tags.value(u"b"_s), 8);
    QCOMPARE(tags.value(u"c"_s), -1);
}

void tst_Balancer::unhealthyEndpointsAreSkipped()
{
    Balancer balancer;
    QList<Region> regions{makeRegion(u"a"_s, 100, 1, 0, 0, 2), makeRegion(u"b"_s)};
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, regions)));
    QVERIFY(balancer.setEndpointHealth(u"a"_s,
                                       u"http://a-0.example:8080"_s,
                                       HealthState::Unhealthy));
    for (int i = 0; i < 20; ++i) {
        const PickResult result = balancer.pick();
        QVERIFY(!result.panic());
        if (result.regionId() == u"a"_s)
            QCOMPARE(result.endpointUrl(), u"http://a-1.example:8080"_s);
    }
    QVERIFY(balancer.setEndpointHealth(u"a"_s,
                                       u"http://a-1.example:8080"_s,
                                       HealthState::Unhealthy));
    QCOMPARE(countPicks(balancer, 20).value(u"b"_s), 20);
}

void tst_Balancer::unknownHealthFollowsTheOption()
{
    BalancerConfig config = makeConfig(u"round_robin"_s, threeRegions());
    config.panicMode = PanicMode::Refuse;
    for (Region &region : config.regions)
        region.endpoints[0].health = HealthState::Unknown;
    Balancer balancer;
    QVERIFY(balancer.setConfig(config));
    QCOMPARE(balancer.pick().refusal(), Refusal::NoEligibleRegion);
    config.unknownIsHealthy = true;
    QVERIFY(balancer.setConfig(config));
    QVERIFY(balancer.pick().ok());
}

void tst_Balancer::panicSpreadIgnoresHealth()
{
    BalancerConfig config = makeConfig(u"round_robin"_s, threeRegions());
    for (Region &region : config.regions)
        region.endpoints[0].health = HealthState::Unhealthy;
    config.regions[2].state = AdminState::Draining;
    Balancer balancer;
    QVERIFY(balancer.setConfig(config));
    QMap<QString, int> counts;
    for (int i = 0; i < 100; ++i) {
        const PickResult result = balancer.pick();
        QVERIFY(result.ok());
        QVERIFY(result.panic());
        ++counts[result.regionId()];
    }
    // Panic overrides health, never the operator's state.
    QCOMPARE(counts.value(u"a"_s), 50);
    QCOMPARE(counts.value(u"b"_s), 50);
    QCOMPARE(counts.value(u"c"_s), 0);
    // One healthy endpoint ends the panic.
    QVERIFY(balancer.setEndpointHealth(u"b"_s, u"http://b-0.example:8080"_s, HealthState::Healthy));
    const PickResult result = balancer.pick();
    QVERIFY(!result.panic());
    QCOMPARE(result.regionId(), u"b"_s);
}

void tst_Balancer::panicRefuseSaysWhy()
{
    BalancerConfig config = makeConfig(u"weighted_random"_s, threeRegions());
    config.panicMode = PanicMode::Refuse;
    for (Region &region : config.regions)
        region.endpoints[0].health = HealthState::Unhealthy;
    Balancer balancer;
    QVERIFY(balancer.setConfig(config));
    const PickResult result = balancer.pick();
    QVERIFY(!result.ok());
    QCOMPARE(result.refusal(), Refusal::NoEligibleRegion);
    QVERIFY(result.refusalMessage().contains(u"panic mode is 'refuse'"_s));
    QCOMPARE(balancer.inFlight(u"a"_s), 0);
}

void tst_Balancer::nothingToSpreadWhenAllDrained()
{
    BalancerConfig config = makeConfig(u"least_request"_s, threeRegions());
    for (Region &region : config.regions)
        region.state = AdminState::Drained;
    Balancer balancer;
    QVERIFY(balancer.setConfig(config));
    QCOMPARE(balancer.pick().refusal(), Refusal::NothingToSpread);
    // A dial of 0 counts as "no traffic" for panic too.
    config.regions[0].state = AdminState::Active;
    config.regions[0].dial = 0;
    QVERIFY(balancer.setConfig(config));
    QCOMPARE(balancer.pick().refusal(), Refusal::NothingToSpread);
}

void tst_Balancer::endpointsRotateWithinARegion()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, {makeRegion(u"a"_s, 100, 1, 0, 0, 3)})));
    QMap<QString, int> counts;
    for (int i = 0; i < 30; ++i)
        ++counts[balancer.pick().endpointUrl()];
    QCOMPARE(counts.size(), 3);
    for (int count : counts)
        QCOMPARE(count, 10);
}

void tst_Balancer::pickResultIsMoveOnlyAndFinishesOnce()
{
    Balancer balancer;
    QVERIFY(balancer.setConfig(makeConfig(u"round_robin"_s, {makeRegion(u"a"_s)})));
    PickResult first = balancer.pick();
    QCOMPARE(balancer.inFlight(u"a"_s), 1);
    PickResult second = std::move(first);
    QCOMPARE(balancer.inFlight(u"a"_s), 1);
    QVERIFY(first.finished());
    QVERIFY(!second.finished());
    QCOMPARE(second.regionId(), u"a"_s);
    second.finish();
    second.finish();
    QCOMPARE(balancer.inFlight(u"a"_s), 0);
    QCOMPARE(balancer.inFlight(u"a"_s, u"http://a-0.example:8080"_s), 0);
    PickResult third = balancer.pick();
    third = balancer.pick();
    QCOMPARE(balancer.inFlight(u"a"_s), 1);
}

void tst_Balancer::picksRaceWithStrategySwitches()
{
    // Pickers on several threads while the main thread switches strategies, drains and dials.
    // Every pick must be valid for some installed configuration, and in-flight counts must
    // return to zero.
    QList<BalancerConfig> configs;
    QList<Region> regions;
    for (int i = 0; i < 12; ++i)
        regions.append(makeRegion(u"r%1"_s.arg(i), 10 + i, i % 3, -60 + 10 * i, -170 + 30 * i, 2));
    for (const QString &strategy : strategyNames()) {
        BalancerConfig config = makeConfig(strategy, regions);
        configs.append(config);
        config.regions[3].state = AdminState::Draining;
        config.regions[5].dial = 40;
        config.regions[7].endpoints[0].health = HealthState::Unhealthy;
        configs.append(config);
    }
    // Only these may ever be picked: r3 is drained in half of the configs but active in the
    // other half, so nothing narrower holds for all of them. Region 11 never exists.
    QSet<QString> valid;
    for (int i = 0; i < 11; ++i)
        valid.insert(u"r%1"_s.arg(i));
    for (BalancerConfig &config : configs)
        config.regions.removeLast();

    Balancer balancer(Clock::steady(), 3);
    QVERIFY(balancer.setConfig(configs.front()));
    std::atomic<bool> stop{false};
    std::atomic<int> invalid{0};
    std::atomic<long> picks{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::vector<PickResult> held;
            PickRequest request;
            request.client = GeoPoint::fromDegrees(10.0 * t, 20.0 * t);
            for (int i = 0; i < 200'000 && !stop.load(); ++i) {
                const QByteArray key = QByteArray::number(i);
                request.hashKey = key;
                PickResult result = balancer.pick(request);
                if (!result.ok() || !valid.contains(result.regionId()))
                    invalid.fetch_add(1);
                held.push_back(std::move(result));
                if (held.size() > 16) {
                    held.front().finish(std::chrono::microseconds(100 + i % 50));
                    held.erase(held.begin());
                }
                picks.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    QTRY_VERIFY_WITH_TIMEOUT(picks.load() > 1000, 20'000);
    for (int round = 0; round < 400; ++round)
        QVERIFY(balancer.setConfig(configs[round % configs.size()]));
    stop.store(true);
    for (std::thread &thread : threads)
        thread.join();
    QCOMPARE(invalid.load(), 0);
    QVERIFY(picks.load() > 0);
    for (int count : balancer.inFlight())
        QCOMPARE(count, 0);
}

QTEST_GUILESS_MAIN(tst_Balancer)
#include "tst_balancer.moc"
