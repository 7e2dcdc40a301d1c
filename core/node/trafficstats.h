#pragma once

#include "core/util/clock.h"

#include <QJsonObject>

#include <array>

namespace Meridian {

// Recent data-plane requests of one node: rate over the last 5 s and latency percentiles over
// the last 10 s, for the cluster view and the event stream (cumulative counts and histograms are
// in the node's MetricsRegistry). Fed by the data server's request observer; used on one thread.
//
// Fixed size whatever the rate: requests are counted in 100 ms slots (the rate) and their
// latencies in one-second log-linear histograms (32 buckets per doubling, so a percentile is
// within about 3 % of the exact one: it reports the largest latency seen in its bucket).
class TrafficStats
{
public:
    explicit TrafficStats(const Clock &clock = Clock::steady());

    void record(double latencyMs);
    void setInFlight(qint64 inFlight) { m_inFlight = inFlight; }

    double rps() const;
    // The latency below which a share `p` of the requests of the last 10 s (the current second
    // and the nine before it) fell; 0 without requests.
    double percentileMs(double p) const;
    // {"rps", "p50_ms", "p99_ms", "in_flight"}
    QJsonObject toJson() const;

    static constexpr int kSubBuckets = 32;                    // per doubling of the latency
    static constexpr int kBuckets = 1 + 28 * kSubBuckets + 1; // < 1 us, 1 us .. 268 s, beyond

private:
    static int bucketOf(double latencyMs);
    qint64 elapsedMs() const;

    static constexpr int kTenths = 51; // 100 ms slots: the 5 s rate window and the current one
    static constexpr int kSeconds = 10;
    struct Tenth
    {
        qint64 index = -1; // elapsed ms / 100 of the slot's requests
        quint32 count = 0;
    };
    struct Second
    {
        qint64 index = -1; // elapsed ms / 1000
        quint32 total = 0;
        std::array<quint32, kBuckets> counts{};
        std::array<float, kBuckets> largestMs{};
    };

    const Clock &m_clock;
    const Clock::Duration m_start;
    std::array<Tenth, kTenths> m_tenths;
    std::array<Second, kSeconds> m_seconds;
    qint64 m_inFlight = 0;
};

} // namespace Meridian
