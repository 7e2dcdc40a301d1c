#pragma once

#include "core/http/metrics.h"

#include <QByteArray>
#include <QList>
#include <QMutex>

#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace Meridian {

// A set of Prometheus metric families rendered in the text exposition format (0.0.4) for
// /metrics. Thread-safe: families and cells may be created and updated from any thread; a cell
// reference stays valid for the registry's lifetime (unless its family is clear()ed), so hot
// paths look a cell up once and keep it. Invalid names or label counts are programming errors:
// they are logged and the caller gets a detached cell that is never rendered.
class MetricsRegistry
{
public:
    enum class Type { Counter, Gauge, Histogram };

    // One named metric with fixed label names; cells per label-value tuple.
    class Family
    {
    public:
        MetricCounter &counter(const QList<QByteArray> &labelValues = {});
        MetricGauge &gauge(const QList<QByteArray> &labelValues = {});
        MetricHistogram &histogram(const QList<QByteArray> &labelValues = {});
        // Drops every cell (for gauges rebuilt from current state at each scrape).
        void clear();

        const QByteArray &name() const { return m_name; }
        Type type() const { return m_type; }

    private:
        friend class MetricsRegistry;
        struct Cell
        {
            std::unique_ptr<MetricCounter> counter;
            std::unique_ptr<MetricGauge> gauge;
            std::unique_ptr<MetricHistogram> histogram;
        };

        Family(QByteArray name,
               QByteArray help,
               Type type,
               QList<QByteArray> labelNames,
               QList<double> buckets,
               bool detached);
        Cell &cell(const QList<QByteArray> &labelValues);
        Cell &strayCell(); // m_mutex held
        void render(QByteArray &out) const;

        QByteArray m_name;
        QByteArray m_help;
        Type m_type;
        QList<QByteArray> m_labelNames;
        QList<double> m_buckets;
        bool m_detached;
        mutable QMutex m_mutex;
        std::map<std::vector<QByteArray>, Cell> m_cells;
        std::vector<std::unique_ptr<Cell>> m_strays; // detached cells handed out on misuse
    };

    MetricsRegistry() = default;
    ~MetricsRegistry();
    MetricsRegistry(const MetricsRegistry &) = delete;
    MetricsRegistry &operator=(const MetricsRegistry &) = delete;

    // Returns the family called `name`, creating it on first use. Asking again with the same
    // type and labels returns the same family.
    Family &counter(const QByteArray &name,
                    const QByteArray &help,
                    const QList<QByteArray> &labelNames = {});
    Family &gauge(const QByteArray &name,
                  const QByteArray &help,
                  const QList<QByteArray> &labelNames = {});
    Family &histogram(const QByteArray &name,
                      const QByteArray &help,
                      const QList<QByteArray> &labelNames = {},
                      const QList<double> &buckets = defaultLatencyBuckets());

    // Runs before every render(), on the rendering thread: update gauges from live state there.
    void addCollectHook(std::function<void()> hook);

    // Every family, in registration order, in the Prometheus text format.
    QByteArray render() const;
    static QByteArrayView contentType() { return "text/plain; version=0.0.4; charset=utf-8"; }

    // Seconds: 1 ms … 10 s, like the Prometheus client libraries' defaults.
    static QList<double> defaultLatencyBuckets();
    static bool isValidMetricName(QByteArrayView name);
    static bool isValidLabelName(QByteArrayView name);
    static QByteArray formatValue(double value);

private:
    Family &family(const QByteArray &name,
                   const QByteArray &help,
                   Type type,
                   const QList<QByteArray> &labelNames,
                   const QList<double> &buckets);

    mutable QMutex m_mutex;
    std::vector<std::unique_ptr<Family>> m_families;
    std::vector<std::unique_ptr<Family>> m_detached;
    std::vector<std::function<void()>> m_hooks;
};

} // namespace Meridian
