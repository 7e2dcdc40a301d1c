#pragma once

#include <QString>

#include <atomic>
#include <memory>
#include <vector>

namespace Meridian::Internal {

// Per-region counters of a Balancer. They live outside the snapshots, keyed by region id, so
// that in-flight accounting and latency estimates survive every configuration change; a
// Balancer never frees them while it lives, so a PickResult may point at them.
struct alignas(64) RegionStats
{
    RegionStats(QString regionId, std::atomic<int> &inFlightCounter, quint32 counterSlot)
        : id(std::move(regionId))
        , inFlight(inFlightCounter)
        , slot(counterSlot)
    {}

    const QString id;
    // In the balancer's contiguous counter array (InFlightCounters), at `slot`, so that
    // least_connections scans the counters of neighbouring regions with vector loads.
    std::atomic<int> &inFlight;
    const quint32 slot;
    std::atomic<quint32> endpointCursor{0};
    // Peak EWMA of latency: high 32 bits a float in microseconds, low 32 bits the time of the
    // last update in milliseconds since the balancer started, plus one (0 = no observation).
    std::atomic<quint64> latency{0};
};

// The in-flight counters of every region a balancer has seen, by slot (order of first
// appearance), in chunks that never move or shrink: a chunk is contiguous, and readable a few
// counters past its end (the vector scan reads whole blocks of 16).
class InFlightCounters
{
public:
    static constexpr quint32 ChunkSize = 4096;
    static constexpr quint32 Padding = 16;

    std::atomic<int> &at(quint32 slot)
    {
        while (slot / ChunkSize >= m_chunks.size())
            m_chunks.push_back(std::make_unique<std::atomic<int>[]>(ChunkSize + Padding));
        return m_chunks[slot / ChunkSize][slot % ChunkSize];
    }

private:
    std::vector<std::unique_ptr<std::atomic<int>[]>> m_chunks;
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
