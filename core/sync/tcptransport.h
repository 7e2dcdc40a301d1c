#pragma once

#include "core/sync/syncconfig.h"
#include "core/sync/transport.h"
#include "core/sync/transporthost.h"

#include <QElapsedTimer>
#include <QHash>
#include <QList>

#include <functional>

namespace Meridian {

class AcceptGuard;
class DescriptorListener;

namespace Internal {
class PeerConnection;
class PeerLink;
} // namespace Internal

// The built-in transport: a listener plus one persistent TCP connection per peer region (see
// PeerLink), over mutual TLS when the config has certificates,, all in the owning thread's event
// loop. Inbound connections that ask for a snapshot instead of a hello are handed to the snapshot
// handler (resync).
class TcpTransport final : public Transport
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TcpTransport)

public:
    // Called with a fresh inbound connection whose first frame was a snapshot request.
    using SnapshotHandler = std::function<void(Internal::PeerConnection *, const QByteArray &)>;

    TcpTransport(TransportHost *host, const SyncConfig &config, QObject *parent);
    ~TcpTransport() override;

    SyncResult<void> start() override;
    void stop() override;
    void setPeers(const QList<PeerConfig> &peers) override;
    void entriesAvailable() override;
    QStringList connectedPeers() const override;
    quint16 listenPort() const override;
    void setSnapshotHandler(SnapshotHandler handler) { m_snapshotHandler = std::move(handler); }
    // Serve snapshot requests only: no peer links, hellos are refused (another transport
    // replicates; see NatsTransport). Call before start().
    void setSnapshotsOnly(bool only) { m_snapshotsOnly = only; }

private:
    Internal::PeerLink *ensureLink(const QString &peerId);
    void onNewConnection(qintptr descriptor);
    void onPendingFrame(Internal::PeerConnection *c, quint8 type, const QByteArray &body);
    void noteRefused(const QString &host, const QString &reason);

    SyncConfig m_config;
    DescriptorListener *m_server = nullptr;
    AcceptGuard *m_acceptGuard = nullptr; // child of m_server
    QHash<QString, Internal::PeerLink *> m_links;
    QList<PeerConfig> m_peers;
    bool m_running = false;
    bool m_snapshotsOnly = false;
    SnapshotHandler m_snapshotHandler;
    QElapsedTimer m_refusalClock;
    QHash<QString, qint64> m_refusalLogged; // peer host -> when a refusal was last logged
};

} // namespace Meridian
