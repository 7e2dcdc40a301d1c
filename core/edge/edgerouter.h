#pragma once

#include "core/balancing/balancer.h"
#include "core/balancing/balancerconfig.h"
#include "core/balancing/pickresult.h"
#include "core/edge/edgeconfig.h"
#include "core/edge/httpwire.h"

#include <QList>
#include <QMutex>
#include <QSet>
#include <QString>
#include <QUrl>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace Meridian {

class ClientLocator;
class OutlierDetector;

// One upstream endpoint as the data plane sees it: a resolved socket address and its region.
// Entries are never removed or moved, so workers hold indices and pointers without a lock.
struct EdgeEndpoint
{
    sockaddr_storage address = {};
    socklen_t addressLength = 0;
    int region = -1;
    std::string regionId; // for the X-Meridian-Region response header
    QString url;
    bool tls = false; // an https:// URL: the edge speaks TLS to it (EdgeConfig::upstreamCaFile)
    std::string serverName; // the URL's host: SNI and the name its certificate must carry
    // Failed attempts since the last success, so that a success is reported to the outlier
    // detector (which takes a lock) only after failures.
    std::atomic<int> failures{0};
};

// The outcome of one pick: which region and endpoint serve an attempt, and the balancer's
// in-flight slot for it (released by EdgeRouter::release or when the pick is destroyed).
struct EdgePick
{
    int region = -1;
    int endpoint = -1;
    PickResult result;
};

// Turns an HTTP request into a region and endpoint for one attempt, through the balancing core's
// Balancer: the strategy, drain, dials, weights, health, ejections and panic mode of the current
// BalancerConfig, with the consistent_hash key (client address, a header or a cookie, per
// EdgeConfig::hashKey) and the client's location (ClientLocator) for geo_proximity.
//
// Thread-safe: workers call pick()/release() on every attempt without a lock (the Balancer's
// snapshot pick); setConfig() swaps a new configuration in atomically while requests run, so no
// connection is dropped. Regions and endpoints are numbered in the order they first appear and
// keep their numbers (at most EdgeTraffic::kMaxRegions regions, kMaxEndpoints endpoints).
class EdgeRouter
{
public:
    static constexpr int kMaxRegions = 64;
    static constexpr int kMaxEndpoints = 1024;

    struct Region
    {
        QString id;
        QList<QUrl> endpoints;
    };

    // An empty router: every pick fails until setConfig().
    explicit EdgeRouter(const EdgeConfig &config);
    // Fixed regions under round_robin, every endpoint usable (tests and benchmarks).
    EdgeRouter(const EdgeConfig &config, const QList<Region> &regions);
    ~EdgeRouter();
    EdgeRouter(const EdgeRouter &) = delete;
    EdgeRouter &operator=(const EdgeRouter &) = delete;

    // Installs `config` (endpoints that cannot be resolved are left out, with a message in
    // `error`); ejections by the outlier detector are kept across configurations. Returns false
    // and changes nothing when the balancing core rejects the configuration.
    bool setConfig(const BalancerConfig &config, QString *error = nullptr);
    BalancerConfig config() const;
    // Outlier detection: failures and successes of attempts go to `detector`; its ejections are
    // applied through setEjected (connect its signals to it). Not owned; set before serving.
    void setOutlierDetector(OutlierDetector *detector) { m_outliers = detector; }
    void setEjected(const QString &regionId, const QString &url, bool ejected);

    // Picks a region that is not in `excludedRegions` (bit i = region index i, for retries).
    // False when no region is eligible.
    bool pick(const HttpWire::RequestHead &head,
              std::string_view clientAddress,
              uint64_t excludedRegions,
              EdgePick &out);
    // Reports the outcome of an attempt: releases the in-flight slot, feeds the latency estimate
    // (successes only) and outlier detection. `ok` is false for connect failures, resets,
    // timeouts and 5xx.
    void release(EdgePick &pick, bool ok, uint64_t latencyUs);

    const EdgeEndpoint &endpoint(int index) const { return m_endpoints[size_t(index)]; }
    int endpointCount() const { return m_endpointCount.load(std::memory_order_acquire); }
    int regionCount() const { return m_regionCount.load(std::memory_order_acquire); }
    QString regionId(int region) const { return m_regionIds[size_t(region)]; }
    // -1 when unknown.
    int regionIndex(const QString &id) const;
    const Balancer &balancer() const { return *m_balancer; }
    // Why the client locator could not be set up (a MaxMind database that does not open), or
    // empty; geo_proximity then falls back to weighted random.
    const QString &locatorError() const { return m_locatorError; }

private:
    enum class HashSource { ClientAddress, Header, Cookie };

    int registerRegion(const QString &id);
    int registerEndpoint(int region, const QString &url, QString *error);
    std::string_view hashKey(const HttpWire::RequestHead &head,
                             std::string_view clientAddress) const;

    EdgeConfig m_config;
    std::unique_ptr<Balancer> m_balancer;
    std::unique_ptr<ClientLocator> m_locator;
    QString m_locatorError;
    OutlierDetector *m_outliers = nullptr;
    HashSource m_hashSource = HashSource::ClientAddress;
    std::atomic<int> m_strategy{0}; // StrategyKind of the installed configuration
    std::string m_hashName;

    // Append-only tables, published by their counts; written under m_writeMutex.
    std::unique_ptr<EdgeEndpoint[]> m_endpoints;
    std::atomic<int> m_endpointCount{0};
    std::array<QString, kMaxRegions> m_regionIds;
    std::atomic<int> m_regionCount{0};

    mutable QMutex m_writeMutex;
    QSet<QString> m_ejected; // "region\nurl"
};

} // namespace Meridian
