#pragma once

#include <QByteArray>
#include <QList>

#include <atomic>
#include <memory>

namespace Meridian {

// The value cells of a metric family (one per label set). Lock-free: updates are atomic
// operations, so the request path of every worker thread can update them without a lock.
// Cells live as long as their registry; callers may keep pointers to them.

// Monotonic counter (Prometheus "counter").
class MetricCounter
{
public:
    void inc(double amount = 1.0);
    // Raises the counter to a total kept elsewhere; never lowers it. For one updater at a time
    // (a collect hook).
    void advanceTo(double total);
    double value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value{0.0};
};

// A value that goes up and down (Prometheus "gauge").
class MetricGauge
{
public:
    void set(double value) { m_value.store(value, std::memory_order_relaxed); }
    void inc(double amount = 1.0);
    void dec(double amount = 1.0) { inc(-amount); }
    double value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value{0.0};
};

// Distribution over fixed upper bounds (Prometheus "histogram"); the +Inf bucket is implicit.
class MetricHistogram
{
public:
    explicit MetricHistogram(QList<double> upperBounds);

    void observe(double value);
    // Raises the histogram to totals kept elsewhere, already sorted into these buckets:
    // bucket i to counts[i] (not cumulative; the last is +Inf) and the sum to `sum`. Never
    // lowers a value. For one updater at a time (a collect hook).
    void advanceTo(const QList<quint64> &counts, double sum);

    const QList<double> &upperBounds() const { return m_bounds; }
    // Non-cumulative count of bucket i (i == upperBounds().size() is the +Inf bucket).
    quint64 bucketCount(qsizetype i) const;
    quint64 count() const { return m_count.load(std::memory_order_relaxed); }
    double sum() const { return m_sum.load(std::memory_order_relaxed); }

private:
    QList<double> m_bounds;
    std::unique_ptr<std::atomic<quint64>[]> m_buckets;
    std::atomic<quint64> m_count{0};
    std::atomic<double> m_sum{0.0};
};

} // namespace Meridian
