#pragma once

#include <QElapsedTimer>
#include <QJsonObject>
#include <QMap>

#include <deque>

namespace Meridian {

// Recent data-plane requests of one node: rate over the last 5 s and latency percentiles over
// the last 10 s (for the cluster view and the event stream), plus cumulative counts by status
// and a latency histogram (for /metrics). Fed by the data server's request observer; used on
// one thread.
class TrafficStats
{
public:
    TrafficStats();

    void record(int status, double latencyMs);
    void setInFlight(qint64 inFlight) { m_inFlight = inFlight; }

    double rps() const;
    double percentileMs(double p) const;
    // {"rps", "p50_ms", "p99_ms", "in_flight"}
    QJsonObject toJson() const;

    const QMap<int, quint64> &countsByStatus() const { return m_byStatus; }
    static const QList<double> &bucketBoundsMs();
    const QList<quint64> &bucketCounts() const { return m_buckets; } // cumulative, + +Inf
    double latencySumMs() const { return m_sumMs; }
    quint64 total() const { return m_total; }

private:
    void expire(qint64 now) const;

    QElapsedTimer m_clock;
    mutable std::deque<std::pair<qint64, double>> m_recent; // (ms, latency)
    QMap<int, quint64> m_byStatus;
    QList<quint64> m_buckets;
    double m_sumMs = 0.0;
    quint64 m_total = 0;
    qint64 m_inFlight = 0;
};

} // namespace Meridian
