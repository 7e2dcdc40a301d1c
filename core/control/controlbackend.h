#pragma once

#include "core/control/controlerror.h"
#include "core/control/controlstate.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QMap>
#include <QString>

#include <optional>

namespace Meridian {

// What the control API needs from the node it runs in: its replication (sync core), balancing
// preview (balancing core) and data-plane traffic. Node implements it; ControlService stays free
// of those cores' types, and its tests can run it against a small in-process node.
class ControlBackend
{
public:
    virtual ~ControlBackend() = default;

    // This node's inbound replication links (origin -> this region) as Link JSON objects
    // (docs/control-api.md), without rtt_ms.
    virtual QJsonArray inboundLinks() const = 0;
    // {"digest": hex, "overwritten": {"table": {"origin": n}}} of this region's store.
    virtual ControlResult<QJsonObject> localDigest() = 0;
    // The newest `limit` entries of this region's overwritten journal (writes that lost a
    // last-writer-wins conflict here), newest first, as Overwritten JSON objects.
    virtual ControlResult<QJsonArray> overwrittenJournal(int limit) = 0;
    // Requests now in flight on the data port, and rps/p50/p99 over the last seconds.
    virtual QJsonObject localTraffic() const = 0;
    // Health of this node's own data endpoint: healthy | unhealthy | unknown.
    virtual QString localHealth() const = 0;
    // The expected traffic share of each region under `state` (balancing core preview).
    virtual QMap<QString, double> trafficShares(const ControlState &state) const = 0;
    // A problem with the strategy's parameters, or nothing when they are valid.
    virtual std::optional<QString> validateStrategy(const StrategyChoice &choice) const = 0;
    // Resync of this region: start (from `peer`, or the best peer when empty), progress, cancel.
    // Answers are Resync JSON objects (docs/control-api.md).
    virtual ControlResult<QJsonObject> startResync(const QString &peer) = 0;
    virtual std::optional<QJsonObject> resyncProgress() const = 0;
    virtual ControlResult<QJsonObject> cancelResync() = 0;
    // This node's edge cache: {"entries", "bytes", "purges": {"act-…": removed},
    // "through_seq"} (every purge action up to that sequence number is applied), or null when
    // the node runs no edge cache.
    virtual QJsonValue localCache() const = 0;
};

} // namespace Meridian
