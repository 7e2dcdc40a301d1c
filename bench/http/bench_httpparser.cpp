// Micro-benchmarks of the HTTP layer's per-request work: parsing a typical request head and
// updating/rendering metrics.
#include "core/http/httprequestparser.h"
#include "core/http/metricsregistry.h"

#include <benchmark/benchmark.h>

using namespace Meridian;

namespace {

const QByteArray kRequest = "GET /api/kv/user:1234?consistent=1 HTTP/1.1\r\n"
                            "Host: eu-west.example.com\r\n"
                            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\n"
                            "Accept: application/json\r\n"
                            "Accept-Encoding: gzip, deflate, br\r\n"
                            "Accept-Language: en-GB,en;q=0.5\r\n"
                            "Authorization: Bearer 0123456789abcdef0123456789abcdef\r\n"
                            "Cookie: session=abcdef0123456789; theme=dark\r\n"
                            "Connection: keep-alive\r\n"
                            "\r\n";

void parseRequestHead(benchmark::State &state)
{
    HttpRequestParser parser;
    for (auto _ : state) {
        parser.reset();
        const qsizetype n = parser.feed(kRequest.constData(), kRequest.size());
        benchmark::DoNotOptimize(n);
        HttpRequest r = parser.takeRequest();
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(state.iterations() * kRequest.size());
}
BENCHMARK(parseRequestHead);

void parseChunkedBody(benchmark::State &state)
{
    QByteArray wire = "POST /api/kv/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 64; ++i)
        wire += "400\r\n" + QByteArray(1024, 'x') + "\r\n";
    wire += "0\r\n\r\n";
    HttpRequestParser parser;
    for (auto _ : state) {
        parser.reset();
        benchmark::DoNotOptimize(parser.feed(wire.constData(), wire.size()));
    }
    state.SetBytesProcessed(state.iterations() * wire.size());
}
BENCHMARK(parseChunkedBody);

void metricsObserve(benchmark::State &state)
{
    MetricsRegistry registry;
    auto &requests = registry.counter("requests_total", "r", {"region", "status"})
                             .counter({"eu-west", "200"});
    auto &latency = registry.histogram("latency_seconds", "l").histogram();
    for (auto _ : state) {
        requests.inc();
        latency.observe(0.0042);
    }
}
BENCHMARK(metricsObserve)->Threads(1)->Threads(2);

void metricsRender(benchmark::State &state)
{
    MetricsRegistry registry;
    auto &family = registry.counter("requests_total", "r", {"region", "status"});
    auto &latency = registry.histogram("latency_seconds", "l", {"region"});
    for (const char *region : {"eu-west", "us-east", "ap-south", "sa-east", "af-south"}) {
        for (const char *status : {"200", "304", "404", "500"})
            family.counter({region, status}).inc(123);
        latency.histogram({region}).observe(0.01);
    }
    for (auto _ : state)
        benchmark::DoNotOptimize(registry.render());
}
BENCHMARK(metricsRender);

} // namespace

BENCHMARK_MAIN();
