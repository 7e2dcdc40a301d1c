#include "core/node/trafficstats.h"

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {
constexpr qint64 kRateWindowMs = 5000;
} // namespace

TrafficStats::TrafficStats(const Clock &clock)
    : m_clock(clock)
    , m_start(clock.now())
{}

qint64 TrafficStats::elapsedMs() const
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(m_clock.now() - m_start).count();
}

int TrafficStats::bucketOf(double latencyMs)
{
    const double us = latencyMs * 1000.0;
    if (!(us >= 1.0)) // below a microsecond, and NaN
        return 0;
    int exponent = 0;
    const double mantissa = std::frexp(us, &exponent); // us = mantissa * 2^exponent, [0.5, 1)
    const int octave = exponent - 1;                   // us in [2^octave, 2^(octave + 1))
    const int sub = std::min(int((mantissa * 2.0 - 1.0) * kSubBuckets), kSubBuckets - 1);
    return std::min(1 + octave * kSubBuckets + sub, kBuckets - 1);
}

void TrafficStats::record(double latencyMs)
{
    const qint64 now = elapsedMs();
    Tenth &tenth = m_tenths[size_t((now / 100) % kTenths)];
    if (tenth.index != now / 100)
        tenth = {now / 100, 0};
    ++tenth.count;
    Second &second = m_seconds[size_t((now / 1000) % kSeconds)];
    if (second.index != now / 1000)
        second = {now / 1000, 0, {}, {}};
    const int bucket = bucketOf(latencyMs);
    ++second.total;
    ++second.counts[size_t(bucket)];
    second.largestMs[size_t(bucket)] = std::max(second.largestMs[size_t(bucket)], float(latencyMs));
}

double TrafficStats::rps() const
{
    const qint64 now = elapsedMs();
    // Slots that began within the window (a request at exactly now - 5 s still counts).
    const qint64 first = (now - kRateWindowMs + 99) / 100;
    quint64 count = 0;
    for (const Tenth &t : m_tenths) {
        if (t.index >= first && t.index <= now / 100)
            count += t.count;
    }
    // Over the time since start while that is shorter than the window, but never less than a
    // second: right after start a handful of requests would otherwise read as a high rate.
    const double window = double(std::clamp<qint64>(now, 1000, kRateWindowMs)) / 1000.0;
    return double(count) / window;
}

double TrafficStats::percentileMs(double p) const
{
    const qint64 current = elapsedMs() / 1000;
    std::array<quint32, kBuckets> counts{};
    std::array<float, kBuckets> largest{};
    quint64 total = 0;
    for (const Second &s : m_seconds) {
        if (s.index < 0 || s.index <= current - kSeconds || s.index > current)
            continue;
        total += s.total;
        for (int b = 0; b < kBuckets; ++b) {
            counts[size_t(b)] += s.counts[size_t(b)];
            largest[size_t(b)] = std::max(largest[size_t(b)], s.largestMs[size_t(b)]);
        }
    }
    if (total == 0)
        return 0.0;
    // The k-th smallest latency (0-based), as for a sorted list of every request.
    const quint64 k = std::min<quint64>(total - 1,
                                        quint64(std::ceil(p * double(total))) - (p > 0 ? 1 : 0));
    quint64 seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
        seen += counts[size_t(b)];
        if (seen > k)
            return double(largest[size_t(b)]);
    }
    return double(largest[kBuckets - 1]);
}

QJsonObject TrafficStats::toJson() const
{
    auto round2 = [](double v) { return std::round(v * 100.0) / 100.0; };
    return {{u"rps"_s, round2(rps())},
            {u"p50_ms"_s, round2(percentileMs(0.5))},
            {u"p99_ms"_s, round2(percentileMs(0.99))},
            {u"in_flight"_s, m_inFlight}};
}

} // namespace Meridian
