#pragma once

#include <QString>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace Meridian {

// Latency buckets of the edge's counters: bucket 2k is [2^k, 1.5*2^k) us, 2k+1 [1.5*2^k, 2^(k+1));
// the last one also holds everything slower.
inline constexpr int kEdgeLatencyBuckets = 40;

// What the edge served per region over the last sampling window, for /metrics, the control
// API's region view and its `traffic` events.
struct EdgeRegionTraffic
{
    QString region;
    quint64 requests = 0;                // since start
    std::array<quint64, 6> byClass = {}; // responses 1xx..5xx since start; [0] = no response
    quint64 failures = 0;                // connect failures, timeouts, resets (since start)
    quint64 retries = 0;                 // attempts retried away from this region
    qint64 inFlight = 0;
    double rps = 0;   // over the last window
    double share = 0; // of all requests over the last window
    double p50Ms = 0; // over the last window
    double p99Ms = 0;
    std::array<quint64, kEdgeLatencyBuckets> latency = {}; // answered requests, since start
    quint64 latencySumUs = 0;                              // their summed latency
};

// Per-region request counters of the edge's worker threads. Each worker writes only its own
// slab (relaxed atomics, no lock, no shared cache line between workers); readers sum the slabs.
class EdgeTraffic
{
public:
    static constexpr int kMaxRegions = 64;
    static constexpr int kBuckets = kEdgeLatencyBuckets;

    explicit EdgeTraffic(int workers);
    ~EdgeTraffic();

    // Called by worker `worker` only.
    void begin(int worker, int region);
    void finish(int worker, int region, int status, uint64_t latencyUs);
    void failure(int worker, int region);
    void retried(int worker, int region);

    struct Totals
    {
        quint64 requests = 0;
        std::array<quint64, 6> byClass = {};
        quint64 failures = 0;
        quint64 retries = 0;
        qint64 inFlight = 0;
        std::array<quint64, kBuckets> latency = {};
        quint64 latencySumUs = 0;
    };
    Totals totals(int region) const;

    static int bucketOf(uint64_t latencyUs);
    static double bucketUpperMs(int bucket);
    // Percentile (0..1) of a histogram, in milliseconds (upper bound of the bucket).
    static double percentileMs(const std::array<quint64, kBuckets> &histogram, double q);

private:
    struct alignas(64) RegionSlab
    {
        std::atomic<quint64> requests{0};
        std::atomic<quint64> byClass[6] = {};
        std::atomic<quint64> failures{0};
        std::atomic<quint64> retries{0};
        std::atomic<qint64> inFlight{0};
        std::atomic<quint64> latency[kBuckets] = {};
        std::atomic<quint64> latencySumUs{0};
    };
    struct WorkerSlab
    {
        RegionSlab regions[kMaxRegions];
    };
    std::vector<std::unique_ptr<WorkerSlab>> m_workers;
};

} // namespace Meridian
