#include "core/node/trafficstats.h"

#include <QList>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {
constexpr qint64 kWindowMs = 10000;
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

void TrafficStats::record(double latencyMs)
{
    const qint64 now = elapsedMs();
    m_recent.emplace_back(now, latencyMs);
    expire(now);
}

void TrafficStats::expire(qint64 now) const
{
    while (!m_recent.empty() && m_recent.front().first < now - kWindowMs)
        m_recent.pop_front();
}

double TrafficStats::rps() const
{
    const qint64 now = elapsedMs();
    expire(now);
    const qint64 since = now - kRateWindowMs;
    const auto count = std::count_if(m_recent.cbegin(), m_recent.cend(), [since](const auto &e) {
        return e.first >= since;
    });
    // Over the time since start while that is shorter than the window, but never less than a
    // second: right after start a handful of requests would otherwise read as a high rate.
    const double window = double(std::clamp<qint64>(now, 1000, kRateWindowMs)) / 1000.0;
    return double(count) / window;
}

double TrafficStats::percentileMs(double p) const
{
    expire(elapsedMs());
    if (m_recent.empty())
        return 0.0;
    std::vector<double> values;
    values.reserve(m_recent.size());
    for (const auto &entry : m_recent)
        values.push_back(entry.second);
    const size_t index = std::min(values.size() - 1,
                                  size_t(std::ceil(p * double(values.size()))) - (p > 0 ? 1 : 0));
    std::nth_element(values.begin(), values.begin() + qsizetype(index), values.end());
    return values[index];
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
