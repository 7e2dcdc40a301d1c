#pragma once

#include "core/edge/edgeconfig.h"
#include "core/edge/httpwire.h"

#include <QList>
#include <QString>
#include <QUrl>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace Meridian {

// One upstream endpoint as the data plane sees it: a resolved socket address and its region.
// Entries are never removed or moved, so workers hold indices and pointers without a lock.
struct EdgeEndpoint
{
    sockaddr_storage address = {};
    socklen_t addressLength = 0;
    int region = -1;
    std::string regionId; // for the X-Meridian-Region response header
    QString url;
};

// The outcome of one pick: which region and endpoint serve an attempt.
struct EdgePick
{
    int region = -1;
    int endpoint = -1;
};

// Turns an HTTP request into a region and endpoint for one attempt. Thread-safe and lock-free;
// workers call it for each attempt. Today it rotates over the configured regions (skipping the
// ones a retry excludes); handing the decision to the balancing core's Balancer (strategies,
// drain, dials, hash key and client location from ClientLocator) is the next step, see
// docs/architecture.md.
class EdgeRouter
{
public:
    struct Region
    {
        QString id;
        QList<QUrl> endpoints;
    };

    EdgeRouter(const EdgeConfig &config, const QList<Region> &regions);
    ~EdgeRouter();

    // Picks a region that is not in `excludedRegions` (bit i = region index i, for retries).
    // False when no region is eligible.
    bool pick(const HttpWire::RequestHead &head,
              std::string_view clientAddress,
              uint64_t excludedRegions,
              EdgePick &out);
    // Reports the outcome of an attempt: feeds in-flight accounting, latency and outlier
    // detection. `ok` is false for connect failures, resets, timeouts and 5xx.
    void release(const EdgePick &pick, bool ok, uint64_t latencyUs);

    const EdgeEndpoint &endpoint(int index) const { return m_endpoints[size_t(index)]; }
    int endpointCount() const { return m_endpointCount.load(std::memory_order_acquire); }
    int regionCount() const { return int(m_regions.size()); }
    QString regionId(int region) const { return m_regions[size_t(region)].id; }

private:
    EdgeConfig m_config;
    QList<Region> m_regions;
    std::unique_ptr<EdgeEndpoint[]> m_endpoints;
    std::atomic<int> m_endpointCount{0};
    std::vector<std::vector<int>> m_regionEndpoints;
    std::atomic<uint64_t> m_next{0};
};

} // namespace Meridian
