#pragma once

#include "core/util/clock.h"

#include <QJsonObject>
#include <QMap>

#include <deque>

namespace Meridian {

// Recent data-plane requests of one node: rate over the last 5 s and latency percentiles over
// the last 10 s, for the cluster view and the event stream (cumulative counts and histograms are
// in the node's MetricsRegistry). Fed by the data server's request observer; used on one thread.
class TrafficStats
{
public:
    explicit TrafficStats(const Clock &clock = Clock::steady());

    void record(double latencyMs);
    void setInFlight(qint64 inFlight) { m_inFlight = inFlight; }

    double rps() const;
    double percentileMs(double p) const;
    // {"rps", "p50_ms", "p99_ms", "in_flight"}
    QJsonObject toJson() const;

private:
    qint64 elapsedMs() const;
    void expire(qint64 now) const;

    const Clock &m_clock;
    const Clock::Duration m_start;
    mutable std::deque<std::pair<qint64, double>> m_recent; // (ms, latency)
    qint64 m_inFlight = 0;
};

} // namespace Meridian
