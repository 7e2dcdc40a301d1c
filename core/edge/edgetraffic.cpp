#include "core/edge/edgetraffic.h"

#include <bit>
#include <cmath>

namespace Meridian {

namespace {

template<typename T>
inline void bump(std::atomic<T> &counter, T by = 1)
{
    // Only the owning worker writes: a relaxed load and store is enough, and cheaper than a
    // locked read-modify-write.
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

} // namespace

EdgeTraffic::EdgeTraffic(int workers)
{
    for (int i = 0; i < workers; ++i)
        m_workers.push_back(std::make_unique<WorkerSlab>());
}

EdgeTraffic::~EdgeTraffic() = default;

void EdgeTraffic::begin(int worker, int region)
{
    if (region < 0 || region >= kMaxRegions)
        return;
    RegionSlab &s = m_workers[size_t(worker)]->regions[region];
    bump<quint64>(s.requests);
    bump<qint64>(s.inFlight);
}

void EdgeTraffic::finish(int worker, int region, int status, uint64_t latencyUs)
{
    if (region < 0 || region >= kMaxRegions)
        return;
    RegionSlab &s = m_workers[size_t(worker)]->regions[region];
    const int cls = (status >= 100 && status < 600) ? status / 100 : 0;
    bump<quint64>(s.byClass[cls]);
    bump<quint64>(s.latency[bucketOf(latencyUs)]);
    bump<quint64>(s.latencySumUs, latencyUs);
    bump<qint64>(s.inFlight, -1);
}

void EdgeTraffic::failure(int worker, int region)
{
    if (region < 0 || region >= kMaxRegions)
        return;
    bump<quint64>(m_workers[size_t(worker)]->regions[region].failures);
}

void EdgeTraffic::retried(int worker, int region)
{
    if (region < 0 || region >= kMaxRegions)
        return;
    bump<quint64>(m_workers[size_t(worker)]->regions[region].retries);
}

EdgeTraffic::Totals EdgeTraffic::totals(int region) const
{
    Totals t;
    if (region < 0 || region >= kMaxRegions)
        return t;
    for (const auto &w : m_workers) {
        const RegionSlab &s = w->regions[region];
        t.requests += s.requests.load(std::memory_order_relaxed);
        for (int i = 0; i < 6; ++i)
            t.byClass[size_t(i)] += s.byClass[i].load(std::memory_order_relaxed);
        t.failures += s.failures.load(std::memory_order_relaxed);
        t.retries += s.retries.load(std::memory_order_relaxed);
        t.inFlight += s.inFlight.load(std::memory_order_relaxed);
        for (int b = 0; b < kBuckets; ++b)
            t.latency[size_t(b)] += s.latency[b].load(std::memory_order_relaxed);
        t.latencySumUs += s.latencySumUs.load(std::memory_order_relaxed);
    }
    return t;
}

int EdgeTraffic::bucketOf(uint64_t latencyUs)
{
    if (latencyUs < 1)
        return 0;
    // Two buckets per power of two, split at 1.5 * 2^k: the leading bit and the one after it.
    const int k = 63 - std::countl_zero(latencyUs);
    const bool upper = k > 0 && ((latencyUs >> (k - 1)) & 1);
    const int b = 2 * k + (upper ? 1 : 0);
    return b < kBuckets ? b : kBuckets - 1;
}

double EdgeTraffic::bucketUpperMs(int bucket)
{
    const int k = bucket / 2;
    const double base = std::ldexp(1.0, k);
    const double upper = (bucket % 2) ? 2 * base : 1.5 * base;
    return upper / 1000.0;
}

double EdgeTraffic::percentileMs(const std::array<quint64, kBuckets> &histogram, double q)
{
    quint64 total = 0;
    for (quint64 n : histogram)
        total += n;
    if (total == 0)
        return 0;
    const double rank = q * double(total);
    quint64 seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
        seen += histogram[size_t(b)];
        if (double(seen) >= rank)
            return bucketUpperMs(b);
    }
    return bucketUpperMs(kBuckets - 1);
}

} // namespace Meridian
