#pragma once

#include "core/sync/syncconfig.h"
#include "core/sync/tcptransport.h"
#include "core/sync/transport.h"
#include "core/sync/transporthost.h"

#include <QHash>
#include <QTimer>

#include <deque>
#include <memory>

namespace Meridian {

namespace Internal {
struct NatsSession;
struct NatsBatch;
} // namespace Internal

// Replication over NATS JetStream instead of direct peer links (docs/sync.md, "NATS
// transport"). Each origin region owns one stream, `MERIDIAN_<cluster>_<origin>` on subject
// `<prefix>.log.<origin>`, and publishes its own log entries to it in sequence order with
// `Nats-Msg-Id: <origin>:<seq>` and the expected last sequence, so the stream sequence is the
// origin's sequence. Every replica reads every other origin's stream through an ephemeral pull
// consumer starting after its own durable cursor, so nothing on the server outlives a replica
// or a restored database. Heartbeats on `<prefix>.hb.<origin>` (plain NATS) carry the
// announcement; its heads are the sender's applied cursors, which feed peerAcknowledged and so
// keep log pruning safe. A stream whose limits dropped entries a replica has not applied is
// reported as the origin's low-water mark: the link becomes `needs_resync`.
//
// Threading: calls that wait on the network run on threads of this transport (one for setup
// and publishing, one per consumed origin); libnats callbacks run on its threads. Everything
// reaches the host in the owner's thread through queued invocations; at most one fetched batch
// per origin waits to be applied (backpressure). The owner's thread never waits on the network.
// A TCP listener that only serves snapshots keeps resync working (setSnapshotHandler).
class NatsTransport final : public Transport
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(NatsTransport)

public:
    NatsTransport(TransportHost *host, const SyncConfig &config, QObject *parent);
    ~NatsTransport() override;

    SyncResult<void> start() override;
    void stop() override;
    void setPeers(const QList<PeerConfig> &peers) override;
    void entriesAvailable() override;
    QStringList connectedPeers() const override;
    quint16 listenPort() const override; // the snapshot listener's port
    void setSnapshotHandler(TcpTransport::SnapshotHandler handler);

    bool isReady() const { return m_ready; }             // connected, own stream set up
    quint64 publishedSeq() const { return m_published; } // own entries the stream holds

private:
    friend struct Internal::NatsSession;

    // Posted to this object's thread by the session's threads and libnats callbacks.
    void onConnectionChanged(bool up, const QString &reason);
    void onOwnStream(quint64 lastSeq);
    void onPublished(quint64 lastSeq);
    void onPublishFailed(quint64 streamLastSeq, const QString &error);
    void onStreamState(const QString &origin, quint64 firstSeq, quint64 lastSeq);
    void onHeartbeat(const PeerAnnouncement &announcement);
    void onBatch(const std::shared_ptr<Internal::NatsBatch> &batch);

    void pump();
    void sendHeartbeat();
    void updateLinks();
    void announce(const QString &origin);
    void syncFetchers();

    struct Origin
    {
        bool streamKnown = false;
        quint64 streamFirst = 0;
        quint64 streamLast = 0;
        bool heard = false;
        qint64 heardAtMs = 0;
        PeerAnnouncement last;
    };

    SyncConfig m_config;
    std::shared_ptr<Internal::NatsSession> m_session;
    TcpTransport *m_snapshots = nullptr;
    TcpTransport::SnapshotHandler m_snapshotHandler;
    bool m_running = false;
    bool m_natsUp = false;
    bool m_ready = false;
    QString m_downReason;
    quint64 m_published = 0;  // the own stream holds entries up to here
    quint64 m_queued = 0;     // own entries up to here were handed to the publisher
    quint64 m_generation = 0; // bumped when publishing restarts from the stream's last entry
    std::deque<std::pair<quint64, qint64>> m_inFlight; // (seq, bytes) queued, not confirmed
    qint64 m_inFlightBytes = 0;
    QHash<QString, Origin> m_origins;
    QHash<QString, bool> m_reported; // origin -> connected, as last told to the host
    QHash<QString, QString> m_reportedReason;
    QTimer m_heartbeatTimer;
    QTimer m_retryTimer;
    QTimer m_pumpTimer; // zero-interval: one publish pass per event-loop turn
};

} // namespace Meridian
