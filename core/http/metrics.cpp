#include "core/http/metrics.h"

#include <algorithm>

namespace Meridian {

namespace {

void atomicAdd(std::atomic<double> &target, double amount)
{
    double current = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
    }
}

} // namespace

void MetricCounter::inc(double amount)
{
    if (amount < 0)
        return; // counters never go down; a negative increment is a caller bug
    atomicAdd(m_value, amount);
}

void MetricCounter::advanceTo(double total)
{
    const double had = value();
    if (total > had)
        atomicAdd(m_value, total - had);
}

void MetricGauge::inc(double amount)
{
    atomicAdd(m_value, amount);
}

MetricHistogram::MetricHistogram(QList<double> upperBounds)
    : m_bounds(std::move(upperBounds))
    , m_buckets(std::make_unique<std::atomic<quint64>[]>(size_t(m_bounds.size() + 1)))
{
    std::sort(m_bounds.begin(), m_bounds.end());
    for (qsizetype i = 0; i <= m_bounds.size(); ++i)
        m_buckets[size_t(i)].store(0, std::memory_order_relaxed);
}

void MetricHistogram::observe(double value)
{
    const auto it = std::lower_bound(m_bounds.cbegin(), m_bounds.cend(), value);
    m_buckets[size_t(it - m_bounds.cbegin())].fetch_add(1, std::memory_order_relaxed);
    m_count.fetch_add(1, std::memory_order_relaxed);
    atomicAdd(m_sum, value);
}

void MetricHistogram::advanceTo(const QList<quint64> &counts, double sum)
{
    const qsizetype n = std::min(counts.size(), m_bounds.size() + 1);
    for (qsizetype i = 0; i < n; ++i) {
        const quint64 have = m_buckets[size_t(i)].load(std::memory_order_relaxed);
        if (counts[i] > have) {
            m_buckets[size_t(i)].fetch_add(counts[i] - have, std::memory_order_relaxed);
            m_count.fetch_add(counts[i] - have, std::memory_order_relaxed);
        }
    }
    const double had = m_sum.load(std::memory_order_relaxed);
    if (sum > had)
        atomicAdd(m_sum, sum - had);
}

quint64 MetricHistogram::bucketCount(qsizetype i) const
{
    if (i < 0 || i > m_bounds.size())
        return 0;
    return m_buckets[size_t(i)].load(std::memory_order_relaxed);
}

} // namespace Meridian
