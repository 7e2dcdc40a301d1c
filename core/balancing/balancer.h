#pragma once

#include "core/balancing/balancerconfig.h"
#include "core/balancing/configchange.h"
#include "core/balancing/pickrequest.h"
#include "core/balancing/pickresult.h"
#include "core/util/clock.h"

#include <QHash>
#include <QMap>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace Meridian {

class MaglevTable;

namespace Internal {
struct BalancerSnapshot;
struct EndpointStats;
class InFlightCounters;
struct RegionStats;
} // namespace Internal

// Decides, for each request, which region and endpoint serve it (docs/balancing.md).
//
// Thread-safe. pick() takes no lock: it reads an immutable snapshot of the configuration that
// setConfig()/apply() compile and swap in atomically, protected by a hazard pointer, so a
// writer never blocks pickers and a picker never sees half a change. In-flight counts and
// latency estimates live per region id and endpoint outside the snapshots, so they stay right
// across every change. Writers are serialised among themselves.
class Balancer
{
public:
    // `seed` makes the random strategies reproducible; 0 draws one from the system.
    explicit Balancer(const Clock &clock = Clock::steady(), quint64 seed = 0);
    ~Balancer();
    Balancer(const Balancer &) = delete;
    Balancer &operator=(const Balancer &) = delete;

    // Validates and installs `config`; on error nothing changes.
    BalancingResult<> setConfig(const BalancerConfig &config);
    // Applies one change to the current configuration (atomically with respect to other
    // writers); on error nothing changes.
    BalancingResult<> apply(const ConfigChange &change);
    // Shorthand for apply(ConfigChange::setEndpointHealth(...)), for health checkers.
    BalancingResult<> setEndpointHealth(const QString &regionId,
                                        const QString &url,
                                        HealthState health);
    // Shorthand for apply(ConfigChange::setEndpointEjected(...)), for outlier detection.
    BalancingResult<> setEndpointEjected(const QString &regionId, const QString &url, bool ejected);
    // Attaches an integer to an endpoint (created if not yet configured) that every PickResult
    // for it returns from endpointTag(): a data plane keeps its own connection tables by index
    // this way, without looking strings up on each pick.
    void setEndpointTag(const QString &regionId, const QString &url, int tag);
    BalancerConfig config() const;
    // Increases with every installed configuration.
    quint64 version() const;

    PickResult pick(const PickRequest &request = {}) const;

    // Requests picked and not yet finished, per region id (every region ever configured).
    QMap<QString, int> inFlight() const;
    int inFlight(const QString &regionId) const;
    int inFlight(const QString &regionId, const QString &endpointUrl) const;
    // The current decayed peak-EWMA latency estimate of a region (latency_ewma), or nullopt
    // before any observation.
    std::optional<std::chrono::microseconds> latencyEstimate(const QString &regionId) const;

private:
    friend class PickResult;
    void observeLatency(Internal::RegionStats *region, std::chrono::nanoseconds latency) const;
    BalancingResult<> install(const BalancerConfig &config, const StrategyParams &params);
    Internal::RegionStats *regionStats(const QString &id);
    Internal::EndpointStats *endpointStats(Internal::RegionStats *region, const QString &url);
    PickResult pickFrom(const Internal::BalancerSnapshot &snapshot,
                        const PickRequest &request) const;
    quint64 nextRandom() const;
    quint32 nowStamp() const;
    double decayedCostUs(const Internal::RegionStats &region,
                         quint32 now,
                         double decayMs,
                         double defaultRttUs) const;
    void reclaim();

    const Clock &m_clock;
    const Clock::Duration m_epoch;
    std::atomic<const Internal::BalancerSnapshot *> m_current{nullptr};
    mutable std::atomic<quint64> m_random;
    mutable std::atomic<quint64> m_cursor{0};
    std::atomic<double> m_decayMs{10'000.0};

    mutable std::mutex m_writeMutex; // writers, the stats registry, and pickers without a slot
    std::vector<std::unique_ptr<const Internal::BalancerSnapshot>> m_retired;
    std::unique_ptr<const Internal::BalancerSnapshot> m_owned;
    std::unique_ptr<Internal::InFlightCounters> m_counters; // of m_regionStats, by slot
    std::deque<Internal::RegionStats> m_regionStats;
    std::deque<Internal::EndpointStats> m_endpointStats;
    QHash<QString, Internal::RegionStats *> m_regionsById;
    QHash<QString, Internal::EndpointStats *> m_endpointsByKey;
    quint64 m_version = 0;
    QByteArray m_homeSignature; // what m_homeTable was built from
    std::shared_ptr<const MaglevTable> m_homeTable;
};

} // namespace Meridian
