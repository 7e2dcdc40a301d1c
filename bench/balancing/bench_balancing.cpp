// ns per pick for every strategy at 3, 16 and 128 regions, and Maglev table rebuilds.
// Run: build/bin/meridian-bench-balancing (docs/benchmarks.md has the figures and the command).

#include "core/balancing/balancer.h"
#include "core/balancing/maglevtable.h"

#include <benchmark/benchmark.h>

#include <QList>

#include <chrono>
#include <random>
#include <vector>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

BalancerConfig makeConfig(const QString &strategy, int regions)
{
    BalancerConfig config;
    config.strategy = strategy;
    std::mt19937 random(7);
    for (int i = 0; i < regions; ++i) {
        Region region;
        region.id = u"region-%1"_s.arg(i);
        region.lat = -60.0 + double(random() % 12000) / 100.0;
        region.lon = -180.0 + double(random() % 36000) / 100.0;
        region.weight = 50 + int(random() % 100);
        region.priority = 1 + i;
        region.endpoints = {{u"http://10.%1.0.1:8080"_s.arg(i), HealthState::Healthy},
                            {u"http://10.%1.0.2:8080"_s.arg(i), HealthState::Healthy}};
        config.regions.append(region);
    }
    return config;
}

// One pick and the release of its in-flight slot (latency_ewma also records a latency), as a
// gateway does per request.
void pick(benchmark::State &state, const QString &strategy)
{
    Balancer balancer(Clock::steady(), 1);
    if (!balancer.setConfig(makeConfig(strategy, int(state.range(0))))) {
        state.SkipWithError("invalid configuration");
        return;
    }
    std::vector<QByteArray> keys;
    std::vector<std::pair<double, double>> places;
    std::mt19937 random(11);
    for (int i = 0; i < 4096; ++i) {
        keys.push_back("session-" + QByteArray::number(quint64(random())));
        places.emplace_back(-60.0 + double(random() % 12000) / 100.0,
                            -180.0 + double(random() % 36000) / 100.0);
    }
    const bool geo = strategy == u"geo_proximity"_s;
    const bool ewma = strategy == u"latency_ewma"_s;
    std::size_t i = 0;
    for (auto _ : state) {
        PickRequest request;
        const std::size_t k = i++ & 4095;
        request.hashKey = keys[k];
        if (geo) // the client's location is converted per request, as a gateway would
            request.client = GeoPoint::fromDegrees(places[k].first, places[k].second);
        PickResult result = balancer.pick(request);
        benchmark::DoNotOptimize(result.regionId().constData());
        if (ewma)
            result.finish(std::chrono::microseconds(1000 + (k & 255)));
    }
    state.SetItemsProcessed(state.iterations());
}

void maglevBuild(benchmark::State &state)
{
    QList<QByteArray> names;
    QList<double> weights;
    for (int i = 0; i < state.range(0); ++i) {
        names.append("endpoint-" + QByteArray::number(i));
        weights.append(1.0);
    }
    for (auto _ : state) {
        MaglevTable table = MaglevTable::build(names, weights, 65'537);
        benchmark::DoNotOptimize(table.entries().data());
    }
}

void setConfig(benchmark::State &state)
{
    Balancer balancer(Clock::steady(), 1);
    BalancerConfig config = makeConfig(u"consistent_hash"_s, int(state.range(0)));
    int round = 0;
    for (auto _ : state) {
        // A different dial each time: a real recompile of both views (the home table is reused).
        config.regions[0].dial = 50 + (++round % 50);
        if (!balancer.setConfig(config))
            state.SkipWithError("invalid configuration");
    }
}

int registerAll()
{
    for (const QString &strategy : strategyNames()) {
        const std::string name = "pick/" + strategy.toStdString();
        benchmark::RegisterBenchmark(name.c_str(), pick, strategy)->Arg(3)->Arg(16)->Arg(128);
    }
    // Contention: two threads picking from one balancer (the machine has two cores).
    for (const QString &strategy : {u"round_robin"_s, u"least_request"_s, u"consistent_hash"_s}) {
        const std::string name = "pick_2threads/" + strategy.toStdString();
        benchmark::RegisterBenchmark(name.c_str(), pick, strategy)
                ->Arg(128)
                ->Threads(2)
                ->UseRealTime();
    }
    benchmark::RegisterBenchmark("maglev_build_65537", maglevBuild)
            ->Arg(128)
            ->Arg(1000)
            ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("set_config_consistent_hash", setConfig)
            ->Arg(128)
            ->Unit(benchmark::kMillisecond);
    return 0;
}

const int registered = registerAll();

} // namespace

BENCHMARK_MAIN();
