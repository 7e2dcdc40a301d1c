#pragma once

#include <QString>

#include <atomic>

namespace Meridian::Internal {

// Per-region counters of a Balancer. They live outside the snapshots, keyed by region id, so
// that in-flight accounting and latency estimates survive every configuration change; a
// Balancer never frees them while it lives, so a PickResult may point at them.
struct alignas(64) RegionStats
{
    explicit RegionStats(QString regionId)
        : id(std::move(regionId))
    {}

    const QString id;
    std::atomic<int> inFlight{0};
    std::atomic<quint32> endpointCursor{0};
    // Peak EWMA of latency: high 32 bits a float in microseconds, low 32 bits the time of the
    // last update in milliseconds since the balancer started, plus one (0 = no observation).
    std::atomic<quint64> latency{0};
};

// Per-endpoint counters, likewise outside the snapshots.
struct alignas(64) EndpointStats
{
    EndpointStats(RegionStats *owner, QString endpointUrl)
        : region(owner)
        , url(std::move(endpointUrl))
    {}

    RegionStats *const region;
    const QString url;
    std::atomic<int> inFlight{0};
    std::atomic<int> tag{-1}; // Balancer::setEndpointTag
};

} // namespace Meridian::Internal
