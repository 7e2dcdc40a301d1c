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

TrafficStats::TrafficStats()
{
    m_clock.start();
}

void TrafficStats::record(double latencyMs)
{
    const qint64 now = m_clock.elapsed();
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
    const qint64 now = m_clock.elapsed();
    expire(now);
    const qint64 since = now - kRateWindowMs;
    const auto count = std::count_if(m_recent.cbegin(), m_recent.cend(), [since](const auto &e) {
        return e.first >= since;
    });
    const double window = double(std::min<qint64>(now, kRateWindowMs)) / 1000.0;
    return window > 0 ? double(count) / window : 0.0;
}

double TrafficStats::percentileMs(double p) const
{
    expire(m_clock.elapsed());
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
