#pragma once

#include "core/sync/logentry.h"
#include "core/sync/syncresult.h"

#include <QStringList>

#include <optional>

namespace Meridian {

// What a region tells a peer about itself on connect (hello) and then every heartbeat.
struct PeerAnnouncement
{
    QString regionId;
    int schemaVersion = 0;
    qint64 wallClockMs = 0;   // the sender's clock when sent (clock-skew estimate)
    quint64 hlcWatermark = 0; // the sender writes nothing at or below this HLC from now on
    CursorVector heads;       // origin -> highest seq in the sender's log (applied there)
    CursorVector lowWater;    // origin -> first seq still retained by the sender
    QStringList direct;       // origins the sender has a live connection to
    CursorVector pendingSeq;  // origin -> first seq the receiver has not acknowledged...
    CursorVector pendingHlc;  // ...and its HLC (age of the oldest unapplied change)
};

// The replica as a transport sees it: where entries come from and go to. A transport (built-in
// TCP links, NATS JetStream) moves entries; the host owns ordering, idempotence and state.
class TransportHost
{
public:
    virtual ~TransportHost() = default;

    virtual QString regionId() const = 0;
    virtual int schemaVersion() const = 0;
    virtual CursorVector logHeads() const = 0;
    virtual CursorVector logLowWater() const = 0;
    virtual quint64 hlcWatermark() const = 0;
    virtual qint64 wallClockMs() const = 0;
    virtual std::optional<quint64> entryHlc(const QString &origin, quint64 seq) = 0;
    virtual SyncResult<QList<LogEntry>> readLog(const QString &origin,
                                                quint64 afterSeq,
                                                int maxEntries,
                                                qint64 maxBytes)
            = 0;
    // Applies entries durably (idempotent: duplicates and gaps are skipped) and returns the
    // cursors after the commit, which the transport acknowledges to the sender.
    virtual SyncResult<CursorVector> applyEntries(const QString &fromPeer,
                                                  const QList<LogEntry> &entries)
            = 0;
    virtual void peerAnnounced(const PeerAnnouncement &announcement) = 0;
    virtual void peerAcknowledged(const QString &peer, const CursorVector &applied) = 0;
    virtual void peerConnectionChanged(const QString &peer, bool connected, const QString &reason)
            = 0;
};

} // namespace Meridian
