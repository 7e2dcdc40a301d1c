#pragma once

#include "core/balancing/aliastable.h"
#include "core/balancing/balancerconfig.h"
#include "core/balancing/geogrid.h"
#include "core/balancing/maglevtable.h"
#include "core/balancing/pickrequest.h"

#include <atomic>
#include <memory>
#include <vector>

namespace Meridian::Internal {

struct EndpointStats;
struct RegionStats;

// One region as a strategy sees it inside a snapshot.
struct SnapshotRegion
{
    RegionStats *stats = nullptr;
    std::vector<EndpointStats *> endpoints; // the ones that may take requests
    double weight = 1.0;                    // the strategy's effective weight (> 0)
    double inverseWeight = 1.0;
    quint32 dialThreshold = 0; // dial as a 32-bit probability; 0 means 100 %
    int homeIndex = -1;        // index in the configuration's region list
    GeoPoint location;
};

// The regions one pick chooses among (the eligible ones, or the panic set) with what each
// strategy precomputes over them.
struct SnapshotView
{
    std::vector<SnapshotRegion> regions;
    std::vector<quint16> sequence;    // smooth weighted round-robin order of one full cycle
    AliasTable alias;                 // weighted random over `regions`
    MaglevTable maglev;               // consistent_hash: where keys of a non-eligible region go
    std::vector<quint16> order;       // failover: by priority, then id
    std::vector<int> viewIndexOfHome; // config index → index in `regions`, or -1
    // Compact copies for the full scans (least_connections, geo_proximity), so a scan over
    // 128 regions reads a few contiguous cache lines instead of one per region.
    std::vector<std::atomic<int> *> inFlight;
    std::vector<double> inverseWeight;
    // least_connections, when the regions' counter slots lie close together in one chunk: the
    // counters of slots [first, first + span) read contiguously from `counters`, with the
    // inverse weight per slot (+infinity for a slot not in this view, padded to a multiple of
    // 16) and the mapping between view indices and slot positions.
    const std::atomic<int> *counters = nullptr;
    quint64 rotationMagic = 0; // Lemire's fastmod constant for regions.size(): no division
    std::vector<double> slotInverseWeight;
    std::vector<quint32> viewOfSlot;
    std::vector<quint32> slotOfView;
    std::vector<double> x, y, z;
    GeoGrid geo;          // geo_proximity over more than a few regions: nearest candidates per cell
    bool anyDial = false; // some region has a dial below 100 %
};

// An immutable, compiled BalancerConfig: everything a pick reads, built once per change and
// swapped in atomically.
struct BalancerSnapshot
{
    BalancerConfig config;
    StrategyKind kind = StrategyKind::RoundRobin;
    StrategyParams params;
    SnapshotView eligible;
    SnapshotView panic;
    std::shared_ptr<const MaglevTable> home; // consistent_hash over every configured region
    // consistent_hash: draining regions (dial above 0, a usable endpoint) by configuration
    // index, which keep the keys whose home they are until they are drained; null elsewhere.
    std::vector<std::unique_ptr<SnapshotRegion>> sticky;
    quint64 version = 0;
};

// Effective weights of a strategy (dial, weight × dial, …) for the regions of `config` at
// `indices`: shared by the balancer and the preview so both agree.
QList<double> strategyWeights(const BalancerConfig &config,
                              StrategyKind kind,
                              const QList<int> &indices);
// The smooth weighted round-robin (nginx) order of one full cycle over `weights`, scaled so that
// the cycle has at most `maxLength` entries.
std::vector<quint16> smoothWeightedSequence(const QList<double> &weights, int maxLength = 65'536);
// Indices of `config.regions` in failover order: priority ascending, then id.
QList<int> failoverOrder(const BalancerConfig &config, const QList<int> &indices);
// The home Maglev table over every configured region (weights = region weight).
MaglevTable buildHomeTable(const BalancerConfig &config, quint32 size);
// The fallback Maglev table over the regions at `indices` with strategy weights.
MaglevTable buildViewTable(const BalancerConfig &config,
                           const QList<int> &indices,
                           const QList<double> &weights,
                           quint32 size);

} // namespace Meridian::Internal
