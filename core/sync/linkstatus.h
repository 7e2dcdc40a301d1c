#pragma once

#include <QJsonObject>
#include <QString>

#include <optional>

namespace Meridian {

// State of one replication link origin -> replica, as seen by the replica.
enum class LinkState {
    CaughtUp,       // in contact and nothing to apply
    Lagging,        // backlog, and it is shrinking
    Stalled,        // backlog and no progress for stallTimeoutMs
    Disconnected,   // no live connection to the origin
    SchemaMismatch, // the origin runs another schema version: nothing is applied
    NeedsResync,    // the origin pruned entries this replica still needs: resync from a peer
};

QString linkStateName(LinkState state); // caught_up, lagging, stalled, ...
std::optional<LinkState> parseLinkState(const QString &name);

// Lag and health of one link, for the control API, metrics and the control room.
struct LinkStatus
{
    QString origin;
    QString replica;
    LinkState state = LinkState::Disconnected;
    quint64 appliedSeq = 0;    // highest origin sequence applied here
    quint64 headSeq = 0;       // highest origin sequence known to exist
    quint64 entriesBehind = 0; // headSeq - appliedSeq
    double secondsBehind = 0;  // age of the oldest unapplied change; 0 when caught up
    double applyRate = 0;      // entries applied per second, last 10 s
    qint64 lastContactMs = 0;  // epoch ms of the last frame from the origin; 0: never
    qint64 clockSkewMs = 0;    // origin wall clock minus ours, estimated at last contact
    QString detail;            // why, for schema_mismatch / needs_resync / disconnected

    QJsonObject toJson() const;
    friend bool operator==(const LinkStatus &, const LinkStatus &) = default;
};

} // namespace Meridian
