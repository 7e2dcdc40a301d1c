#include "core/balancing/balancer.h"

#include "core/balancing/balancersnapshot.h"
#include "core/balancing/balancerstats.h"
#include "core/balancing/hazardpointer.h"
#include "core/balancing/keyhash.h"
#include "core/balancing/leastloaded.h"

#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QVarLengthArray>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcBalancing, "meridian.balancing", QtInfoMsg)

using Internal::BalancerSnapshot;
using Internal::EndpointStats;
using Internal::RegionStats;
using Internal::SnapshotRegion;
using Internal::SnapshotView;

namespace {

constexpr quint64 Golden = 0x9e3779b97f4a7c15ULL;
// Below this many regions a full geo_proximity scan is as fast as a grid look-up.
constexpr size_t GeoGridMinRegions = 8;
// Above this the grid's build (cells × regions dot products) would slow every change down.
constexpr size_t GeoGridMaxRegions = 8192;

quint32 dialThreshold(int dial)
{
    if (dial >= 100)
        return 0;
    return static_cast<quint32>(std::ldexp(double(dial) / 100.0, 32));
}

// least_connections scans a range of counter slots with vector loads when the view's slots lie
// in one chunk and the range is not much wider than the view (regions added over time, or
// ineligible ones, leave gaps); otherwise it follows one pointer per region.
void compileLeastConnections(SnapshotView &view)
{
    using Internal::InFlightCounters;
    view.rotationMagic = ~quint64(0) / view.regions.size() + 1;
    quint32 first = std::numeric_limits<quint32>::max();
    quint32 last = 0;
    for (const SnapshotRegion &region : view.regions) {
        first = std::min(first, region.stats->slot);
        last = std::max(last, region.stats->slot);
    }
    const quint32 span = last - first + 1;
    if (first / InFlightCounters::ChunkSize != last / InFlightCounters::ChunkSize
        || span > 2 * view.regions.size() + 64) {
        return;
    }
    const quint32 padded = (span + 15) & ~15U;
    view.counters = &view.regions.front().stats->inFlight
                    - (view.regions.front().stats->slot - first);
    view.slotInverseWeight.assign(padded, std::numeric_limits<double>::infinity());
    view.viewOfSlot.assign(span, 0);
    view.slotOfView.resize(view.regions.size());
    for (size_t i = 0; i < view.regions.size(); ++i) {
        const quint32 position = view.regions[i].stats->slot - first;
        view.slotInverseWeight[position] = view.regions[i].inverseWeight;
        view.viewOfSlot[position] = quint32(i);
        view.slotOfView[i] = position;
    }
}

bool acceptsDial(const SnapshotRegion &region, quint32 coin)
{
    return region.dialThreshold == 0 || coin < region.dialThreshold;
}

quint64 packLatency(double costUs, quint32 stamp)
{
    const auto bits = std::bit_cast<quint32>(static_cast<float>(costUs));
    return (quint64(bits) << 32) | stamp;
}

} // namespace

Balancer::Balancer(const Clock &clock, quint64 seed)
    : m_clock(clock)
    , m_epoch(clock.coarseNow())
    , m_random(seed != 0 ? seed : QRandomGenerator::system()->generate64())
    , m_counters(std::make_unique<Internal::InFlightCounters>())
{
    // An empty configuration: every pick is refused until setConfig().
    auto empty = std::make_unique<BalancerSnapshot>();
    m_current.store(empty.get());
    m_owned = std::move(empty);
}

Balancer::~Balancer() = default;

BalancingResult<> Balancer::setConfig(const BalancerConfig &config)
{
    const auto params = config.validate();
    if (!params)
        return BalancingResult<>::failure(params.error());
    std::lock_guard lock(m_writeMutex);
    return install(config, params.value());
}

BalancingResult<> Balancer::apply(const ConfigChange &change)
{
    std::lock_guard lock(m_writeMutex);
    const auto changed = change.applyTo(m_owned->config);
    if (!changed)
        return BalancingResult<>::failure(changed.error());
    const auto params = changed.value().validate();
    if (!params)
        return BalancingResult<>::failure(params.error());
    return install(changed.value(), params.value());
}

BalancingResult<> Balancer::setEndpointHealth(const QString &regionId,
                                              const QString &url,
                                              HealthState health)
{
    return apply(ConfigChange::setEndpointHealth(regionId, url, health));
}

BalancingResult<> Balancer::setEndpointEjected(const QString &regionId,
                                               const QString &url,
                                               bool ejected)
{
    return apply(ConfigChange::setEndpointEjected(regionId, url, ejected));
}

void Balancer::setEndpointTag(const QString &regionId, const QString &url, int tag)
{
    std::lock_guard lock(m_writeMutex);
    endpointStats(regionStats(regionId), url)->tag.store(tag, std::memory_order_relaxed);
}

BalancerConfig Balancer::config() const
{
    std::lock_guard lock(m_writeMutex);
    return m_owned->config;
}

quint64 Balancer::version() const
{
    std::lock_guard lock(m_writeMutex);
    return m_owned->version;
}

RegionStats *Balancer::regionStats(const QString &id)
{
    auto it = m_regionsById.constFind(id);
    if (it != m_regionsById.constEnd())
        return it.value();
    const auto slot = static_cast<quint32>(m_regionStats.size());
    RegionStats *stats = &m_regionStats.emplace_back(id, m_counters->at(slot), slot);
    m_regionsById.insert(id, stats);
    return stats;
}

EndpointStats *Balancer::endpointStats(RegionStats *region, const QString &url)
{
    const QString key = region->id + QChar(u'\n') + url;
    auto it = m_endpointsByKey.constFind(key);
    if (it != m_endpointsByKey.constEnd())
        return it.value();
    EndpointStats *stats = &m_endpointStats.emplace_back(region, url);
    m_endpointsByKey.insert(key, stats);
    return stats;
}

BalancingResult<> Balancer::install(const BalancerConfig &config, const StrategyParams &params)
{
    auto snapshot = std::make_unique<BalancerSnapshot>();
    snapshot->config = config;
    snapshot->kind = *strategyFromName(config.strategy);
    snapshot->params = params;
    const StrategyKind kind = snapshot->kind;

    QList<int> eligible;
    QList<int> panic;
    for (int i = 0; i < config.regions.size(); ++i) {
        if (isRegionEligible(config.regions[i], config.unknownIsHealthy))
            eligible.append(i);
        if (isRegionInPanicSet(config.regions[i]))
            panic.append(i);
    }

    auto buildView = [&](SnapshotView &view, const QList<int> &candidates, bool anyHealth) {
        const QList<double> allWeights = Internal::strategyWeights(config, kind, candidates);
        QList<int> indices;
        QList<double> weights;
        for (int k = 0; k < candidates.size(); ++k) {
            if (allWeights[k] > 0.0) {
                indices.append(candidates[k]);
                weights.append(allWeights[k]);
            }
        }
        view.viewIndexOfHome.assign(config.regions.size(), -1);
        for (int k = 0; k < indices.size(); ++k) {
            const Region &region = config.regions[indices[k]];
            SnapshotRegion entry;
            entry.stats = regionStats(region.id);
            for (const Endpoint &endpoint : region.endpoints) {
                if (anyHealth || isEndpointUsable(endpoint, config.unknownIsHealthy))
                    entry.endpoints.push_back(endpointStats(entry.stats, endpoint.url));
            }
            entry.weight = weights[k];
            entry.inverseWeight = 1.0 / weights[k];
            entry.dialThreshold = dialThreshold(region.dial);
            entry.homeIndex = indices[k];
            entry.location = GeoPoint::fromDegrees(region.lat, region.lon);
            view.anyDial = view.anyDial || entry.dialThreshold != 0;
            view.viewIndexOfHome[indices[k]] = k;
            view.inFlight.push_back(&entry.stats->inFlight);
            view.inverseWeight.push_back(entry.inverseWeight);
            view.x.push_back(entry.location.x);
            view.y.push_back(entry.location.y);
            view.z.push_back(entry.location.z);
            view.regions.push_back(std::move(entry));
        }
        if (indices.isEmpty())
            return;
        view.alias = AliasTable::build(weights);
        switch (kind) {
        case StrategyKind::RoundRobin:
        case StrategyKind::WeightedRoundRobin:
            view.sequence = Internal::smoothWeightedSequence(weights);
            break;
        case StrategyKind::ConsistentHash:
            view.maglev = Internal::buildViewTable(config, indices, weights, params.tableSize);
            break;
        case StrategyKind::Failover:
            for (int index : Internal::failoverOrder(config, indices))
                view.order.push_back(static_cast<quint16>(view.viewIndexOfHome[index]));
            break;
        case StrategyKind::LeastConnections:
            compileLeastConnections(view);
            break;
        case StrategyKind::GeoProximity:
            if (view.regions.size() > GeoGridMinRegions
                && view.regions.size() <= GeoGridMaxRegions) {
                std::vector<GeoPoint> points;
                for (const SnapshotRegion &region : view.regions)
                    points.push_back(region.location);
                // About 3 candidates per cell at 128 regions with 16 × 16 cells per face.
                view.geo = GeoGrid::build(points, view.regions.size() <= 512 ? 16 : 32);
            }
            break;
        default:
            break;
        }
    };
    buildView(snapshot->eligible, eligible, false);
    if (config.panicMode == PanicMode::Spread)
        buildView(snapshot->panic, panic, true);

    if (kind == StrategyKind::ConsistentHash) {
        QByteArray signature = QByteArray::number(params.tableSize);
        for (const Region &region : config.regions)
            signature += '\n' + region.id.toUtf8() + ' ' + QByteArray::number(region.weight);
        if (!m_homeTable || signature != m_homeSignature) {
            m_homeTable = std::make_shared<const MaglevTable>(
                    Internal::buildHomeTable(config, params.tableSize));
            m_homeSignature = signature;
        }
        snapshot->home = m_homeTable;
        // Sticky drain: a draining region keeps the keys whose home it is until it is drained
        // (its drain deadline), so sessions are not cut mid-way; nothing else goes to it.
        snapshot->sticky.resize(size_t(config.regions.size()));
        for (int i = 0; i < config.regions.size(); ++i) {
            const Region &region = config.regions[i];
            if (region.state != AdminState::Draining || region.dial <= 0)
                continue;
            auto entry = std::make_unique<SnapshotRegion>();
            entry->stats = regionStats(region.id);
            for (const Endpoint &endpoint : region.endpoints) {
                if (isEndpointUsable(endpoint, config.unknownIsHealthy))
                    entry->endpoints.push_back(endpointStats(entry->stats, endpoint.url));
            }
            if (entry->endpoints.empty())
                continue;
            entry->dialThreshold = dialThreshold(region.dial);
            entry->homeIndex = i;
            snapshot->sticky[size_t(i)] = std::move(entry);
        }
    }

    snapshot->version = ++m_version;
    m_decayMs.store(params.decayMs, std::memory_order_relaxed);
    const BalancerSnapshot *next = snapshot.get();
    m_current.exchange(next, std::memory_order_seq_cst);
    m_retired.push_back(std::move(m_owned));
    m_owned = std::move(snapshot);
    reclaim();
    qCDebug(lcBalancing) << "installed configuration" << next->version << "strategy"
                         << config.strategy << "eligible" << eligible.size() << "of"
                         << config.regions.size();
    return {};
}

void Balancer::reclaim()
{
    if (!Internal::HazardPointer::retireFence())
        return; // keep them all until the next change
    std::erase_if(m_retired, [](const std::unique_ptr<const BalancerSnapshot> &old) {
        return !Internal::HazardPointer::isProtected(old.get());
    });
}

PickResult Balancer::pick(const PickRequest &request) const
{
    std::atomic<const void *> *slot = Internal::HazardPointer::threadSlot();
    if (!slot || slot->load(std::memory_order_relaxed) != nullptr) {
        // No slot left for this thread (or a re-entrant pick): read under the writers' lock.
        std::lock_guard lock(m_writeMutex);
        return pickFrom(*m_current.load(std::memory_order_acquire), request);
    }
    const BalancerSnapshot *snapshot = m_current.load(std::memory_order_acquire);
    for (;;) {
        Internal::HazardPointer::publish(slot, snapshot);
        const BalancerSnapshot *again = m_current.load(std::memory_order_seq_cst);
        if (again == snapshot)
            break;
        snapshot = again;
    }
    PickResult result = pickFrom(*snapshot, request);
    slot->store(nullptr, std::memory_order_release);
    return result;
}

quint64 Balancer::nextRandom() const
{
    return mix64(m_random.fetch_add(Golden, std::memory_order_relaxed));
}

quint32 Balancer::nowStamp() const
{
    // Millisecond stamps from the coarse clock: a clock-source read per pick and per finish
    // would cost more than the rest of a latency_ewma pick.
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(m_clock.coarseNow()
                                                                               - m_epoch);
    const auto stamp = static_cast<quint32>(elapsed.count()) + 1U;
    return stamp == 0 ? 1U : stamp;
}

double Balancer::decayedCostUs(const RegionStats &region,
                               quint32 now,
                               double decayMs,
                               double defaultRttUs) const
{
    const quint64 packed = region.latency.load(std::memory_order_relaxed);
    if (packed == 0)
        return defaultRttUs;
    const double cost = std::bit_cast<float>(static_cast<quint32>(packed >> 32));
    const auto elapsed = static_cast<quint32>(now - static_cast<quint32>(packed));
    if (elapsed == 0 || elapsed > 0x7fffffffU)
        return cost;
    return cost * std::exp(-double(elapsed) / decayMs);
}

void Balancer::observeLatency(RegionStats *region, std::chrono::nanoseconds latency) const
{
    const double rttUs = std::max(0.0, double(latency.count()) / 1000.0);
    const quint32 now = nowStamp();
    const double decayMs = m_decayMs.load(std::memory_order_relaxed);
    quint64 old = region->latency.load(std::memory_order_relaxed);
    for (;;) {
        double cost = rttUs;
        if (old != 0) {
            // Peak EWMA: a slower observation takes over at once, a faster one blends in
            // (Finagle's PeakEwma, Linkerd's peak-EWMA balancer).
            const double stored = std::bit_cast<float>(static_cast<quint32>(old >> 32));
            const quint32 elapsed = now - static_cast<quint32>(old);
            const double w = elapsed == 0 || elapsed > 0x7fffffffU
                                     ? 1.0
                                     : std::exp(-double(elapsed) / decayMs);
            if (rttUs <= stored)
                cost = stored * w + rttUs * (1.0 - w);
        }
        if (region->latency.compare_exchange_weak(old,
                                                  packLatency(cost, now),
                                                  std::memory_order_relaxed)) {
            return;
        }
    }
}

PickResult Balancer::pickFrom(const BalancerSnapshot &s, const PickRequest &request) const
{
    const auto excluded = [&request](const SnapshotRegion &region) {
        for (const QString &id : request.excludedRegions) {
            if (id == region.stats->id)
                return true;
        }
        return false;
    };
    const SnapshotRegion *stickyRegion = nullptr;
    if (s.kind == StrategyKind::ConsistentHash && !request.hashKey.isEmpty() && s.home
        && !s.sticky.empty()) {
        const quint64 hash = hashKey(request.hashKey);
        const SnapshotRegion *home = s.sticky[s.home->lookup(hash)].get();
        if (home && acceptsDial(*home, quint32(mix64(hash ^ Golden))) && !excluded(*home))
            stickyRegion = home;
    }
    const SnapshotView *view = &s.eligible;
    bool panic = false;
    if (view->regions.empty() && !stickyRegion) {
        if (s.config.panicMode == PanicMode::Refuse)
            return PickResult(s.config.regions.isEmpty() ? Refusal::NothingToSpread
                                                         : Refusal::NoEligibleRegion);
        view = &s.panic;
        panic = true;
        if (view->regions.empty())
            return PickResult(Refusal::NothingToSpread);
    }
    const auto &regions = view->regions;
    const auto n = static_cast<quint32>(regions.size());
    quint32 chosen = 0;
    quint64 keyHash = 0;
    std::optional<quint64> endpointRandom; // when the strategy has drawn one already
    bool keyed = false;

    // A sticky key skips the strategy (no case matches): it stays with its draining home.
    switch (stickyRegion ? StrategyKind(-1) : s.kind) {
    case StrategyKind::RoundRobin:
    case StrategyKind::WeightedRoundRobin: {
        // Atomic: concurrent picks must each take their own place in the cycle.
        const quint64 cursor = m_cursor.fetch_add(1, std::memory_order_relaxed);
        chosen = view->sequence[cursor % view->sequence.size()];
        break;
    }
    case StrategyKind::Random:
    case StrategyKind::WeightedRandom:
        chosen = view->alias.sample(nextRandom());
        break;
    case StrategyKind::LeastConnections: {
        // Full scan for the fewest in-flight requests per unit of weight; the scan starts at a
        // rotating position so that ties are spread instead of all going to the first region.
        // The start only spreads ties, so a plain load and store do (two threads may now and
        // then start at the same place): no locked instruction on this path.
        const quint64 cursor = m_cursor.load(std::memory_order_relaxed);
        m_cursor.store(cursor + 1, std::memory_order_relaxed);
        // quint32(cursor) % n, by multiplications (Lemire, Kaser and Kurz 2019).
        auto index = static_cast<quint32>(
                (static_cast<unsigned __int128>(view->rotationMagic * quint32(cursor)) * n) >> 64);
        // The endpoint draw below comes from the cursor too: one shared atomic per pick.
        endpointRandom = mix64(cursor * Golden ^ m_random.load(std::memory_order_relaxed));
        if (view->counters) {
            const qsizetype position = Internal::leastLoaded(view->counters,
                                                             view->slotInverseWeight.data(),
                                                             qsizetype(view->viewOfSlot.size()),
                                                             view->slotOfView[index]);
            if (position >= 0) {
                chosen = view->viewOfSlot[position];
                break;
            }
        }
        const auto *inFlight = view->inFlight.data();
        const double *inverseWeight = view->inverseWeight.data();
        double best = std::numeric_limits<double>::infinity();
        for (quint32 k = 0; k < n; ++k, ++index) {
            if (index == n)
                index = 0;
            const double score = double(inFlight[index]->load(std::memory_order_relaxed))
                                 * inverseWeight[index];
            if (score < best) {
                best = score;
                chosen = index;
            }
        }
        break;
    }
    case StrategyKind::LeastRequest:
    case StrategyKind::LatencyEwma: {
        // Power of d choices: sample candidates uniformly, keep the least loaded one. Load is
        // in-flight + 1 per unit of weight, times the decayed peak-EWMA latency for latency_ewma.
        const bool ewma = s.kind == StrategyKind::LatencyEwma;
        const quint32 now = ewma ? nowStamp() : 0;
        const double defaultRttUs = s.params.defaultRttMs * 1000.0;
        double best = std::numeric_limits<double>::infinity();
        // The first candidate is uniform; the others are uniform among the rest, so that two
        // choices always compare two different regions.
        quint64 random = nextRandom();
        endpointRandom = mix64(random ^ Golden); // the endpoint draw, without another atomic
        const quint32 first = fastRange(quint32(random), n);
        random >>= 32;
        for (int c = 0; c < s.params.choiceCount && (c == 0 || n > 1); ++c) {
            if (c > 0 && (c & 1) == 0)
                random = nextRandom();
            quint32 index = first;
            if (c > 0) {
                index += 1 + fastRange(quint32(random), n - 1);
                if (index >= n)
                    index -= n;
                random >>= 32;
            }
            const SnapshotRegion &r = regions[index];
            double score = double(r.stats->inFlight.load(std::memory_order_relaxed) + 1)
                           * r.inverseWeight;
            if (ewma)
                score *= decayedCostUs(*r.stats, now, s.params.decayMs, defaultRttUs);
            if (score < best) {
                best = score;
                chosen = index;
            }
        }
        break;
    }
    case StrategyKind::GeoProximity: {
        if (!request.client) {
            chosen = view->alias.sample(nextRandom());
            break;
        }
        const GeoPoint client = *request.client;
        const double *xs = view->x.data();
        const double *ys = view->y.data();
        const double *zs = view->z.data();
        auto nearest = [&](auto excluded) {
            double best = -2.0;
            qint64 found = -1;
            for (quint32 i = 0; i < n; ++i) {
                const double dot = xs[i] * client.x + ys[i] * client.y + zs[i] * client.z;
                if (dot > best && !excluded(i)) {
                    best = dot;
                    found = i;
                }
            }
            return found;
        };
        // The grid's candidates for the client's cell hold the nearest region (and every region
        // tied with it), in index order: the same answer as a full scan.
        const std::span<const quint16> candidates = view->geo.candidates(client);
        if (!candidates.empty()) {
            double best = -std::numeric_limits<double>::infinity();
            for (quint16 i : candidates) {
                // Without a branch: which of a few candidates wins is not predictable.
                const double dot = xs[i] * client.x + ys[i] * client.y + zs[i] * client.z;
                const quint32 better = 0U - quint32(dot > best);
                chosen = (quint32(i) & better) | (chosen & ~better);
                best = dot > best ? dot : best;
            }
        } else {
            chosen = quint32(nearest([](quint32) { return false; }));
        }
        if (!view->anyDial || acceptsDial(regions[chosen], quint32(nextRandom())))
            break;
        // Dials below 100 %: the rest of a region's share spills to the next nearest.
        QVarLengthArray<quint64, 16> excluded((n + 63) / 64, 0);
        excluded[chosen / 64] |= 1ULL << (chosen % 64);
        for (;;) {
            const qint64 next = nearest(
                    [&](quint32 i) { return (excluded[i / 64] >> (i % 64)) & 1ULL; });
            if (next < 0)
                break; // every region turned its share away: the nearest takes it
            if (acceptsDial(regions[next], quint32(nextRandom()))) {
                chosen = quint32(next);
                break;
            }
            excluded[next / 64] |= 1ULL << (next % 64);
        }
        break;
    }
    case StrategyKind::ConsistentHash: {
        if (request.hashKey.isEmpty() || !s.home) {
            chosen = view->alias.sample(nextRandom());
            break;
        }
        keyed = true;
        const quint64 hash = hashKey(request.hashKey);
        keyHash = mix64(hash ^ Golden);
        // The key's home region keeps it while eligible (and within its dial); otherwise the
        // view's own Maglev table places it, so keys never move between regions that stay.
        const int home = view->viewIndexOfHome[s.home->lookup(hash)];
        if (home >= 0 && acceptsDial(regions[home], quint32(keyHash)))
            chosen = quint32(home);
        else
            chosen = view->maglev.lookup(keyHash);
        break;
    }
    case StrategyKind::Failover: {
        chosen = view->order.front();
        if (!view->anyDial)
            break;
        for (quint16 index : view->order) {
            if (acceptsDial(regions[index], quint32(nextRandom()))) {
                chosen = index;
                break;
            }
        }
        break;
    }
    }

    if (stickyRegion) {
        keyed = true;
        keyHash = mix64(hashKey(request.hashKey) ^ Golden);
    }
    if (!request.excludedRegions.empty() && !stickyRegion && excluded(regions[chosen])) {
        // A retry: the strategy's next choice that was not tried yet. Failover keeps its
        // priority order, geo_proximity takes the next nearest; the others draw by weight among
        // the rest, then scan.
        bool found = false;
        if (s.kind == StrategyKind::GeoProximity && request.client) {
            const GeoPoint client = *request.client;
            double best = -2.0;
            for (quint32 i = 0; i < n; ++i) {
                const double dot = view->x[i] * client.x + view->y[i] * client.y
                                   + view->z[i] * client.z;
                if (dot > best && !excluded(regions[i])) {
                    best = dot;
                    chosen = i;
                    found = true;
                }
            }
        } else if (s.kind == StrategyKind::Failover) {
            for (quint16 index : view->order) {
                if (!excluded(regions[index])) {
                    chosen = index;
                    found = true;
                    break;
                }
            }
        } else {
            for (int attempt = 0; attempt < 8 && !found; ++attempt) {
                const quint32 candidate = view->alias.sample(nextRandom());
                if (!excluded(regions[candidate])) {
                    chosen = candidate;
                    found = true;
                }
            }
            const quint32 start = n > 1 ? quint32(nextRandom() % n) : 0;
            for (quint32 k = 0; k < n && !found; ++k) {
                const quint32 candidate = (start + k) % n;
                if (!excluded(regions[candidate])) {
                    chosen = candidate;
                    found = true;
                }
            }
        }
        if (!found)
            return PickResult(Refusal::AllExcluded);
        keyed = false;
    }

    const SnapshotRegion &region = stickyRegion ? *stickyRegion : regions[chosen];
    const auto &endpoints = region.endpoints;
    EndpointStats *endpoint = endpoints.front();
    const auto m = static_cast<quint32>(endpoints.size());
    if (m > 1) {
        switch (s.kind) {
        case StrategyKind::ConsistentHash:
            endpoint = keyed ? endpoints[fastRange(quint32(mix64(keyHash)), m)]
                             : endpoints[fastRange(quint32(nextRandom()), m)];
            break;
        case StrategyKind::LeastConnections:
        case StrategyKind::LeastRequest:
        case StrategyKind::LatencyEwma: {
            const quint64 random = endpointRandom ? *endpointRandom : nextRandom();
            EndpointStats *a = endpoints[fastRange(quint32(random), m)];
            EndpointStats *b = endpoints[fastRange(quint32(random >> 32), m)];
            endpoint = b->inFlight.load(std::memory_order_relaxed)
                                       < a->inFlight.load(std::memory_order_relaxed)
                               ? b
                               : a;
            break;
        }
        default:
            endpoint = endpoints[region.stats->endpointCursor.fetch_add(1, std::memory_order_relaxed)
                                 % m];
            break;
        }
    }
    region.stats->inFlight.fetch_add(1, std::memory_order_relaxed);
    endpoint->inFlight.fetch_add(1, std::memory_order_relaxed);
    return PickResult(this, endpoint, panic);
}

QMap<QString, int> Balancer::inFlight() const
{
    std::lock_guard lock(m_writeMutex);
    QMap<QString, int> counts;
    for (const RegionStats &stats : m_regionStats)
        counts.insert(stats.id, stats.inFlight.load(std::memory_order_relaxed));
    return counts;
}

int Balancer::inFlight(const QString &regionId) const
{
    std::lock_guard lock(m_writeMutex);
    const RegionStats *stats = m_regionsById.value(regionId);
    return stats ? stats->inFlight.load(std::memory_order_relaxed) : 0;
}

int Balancer::inFlight(const QString &regionId, const QString &endpointUrl) const
{
    std::lock_guard lock(m_writeMutex);
    const EndpointStats *stats = m_endpointsByKey.value(regionId + QChar(u'\n') + endpointUrl);
    return stats ? stats->inFlight.load(std::memory_order_relaxed) : 0;
}

std::optional<std::chrono::microseconds> Balancer::latencyEstimate(const QString &regionId) const
{
    std::lock_guard lock(m_writeMutex);
    const RegionStats *stats = m_regionsById.value(regionId);
    if (!stats || stats->latency.load(std::memory_order_relaxed) == 0)
        return std::nullopt;
    const double us
            = decayedCostUs(*stats, nowStamp(), m_decayMs.load(std::memory_order_relaxed), 0.0);
    return std::chrono::microseconds(std::llround(us));
}

} // namespace Meridian
