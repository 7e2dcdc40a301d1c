#pragma once

#include "core/sync/syncconfig.h"
#include "core/sync/syncresult.h"

#include <QObject>
#include <QStringList>

namespace Meridian {

class TransportHost;
struct PeerAnnouncement;

// Moves log entries between this replica and its peers. The replica calls start/stop/setPeers
// and entriesAvailable(); the transport calls back into its TransportHost. Implementations: the
// built-in TcpTransport and NatsTransport (NATS JetStream).
class Transport : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Transport)

public:
    Transport(TransportHost *host, QObject *parent);
    ~Transport() override;

    virtual SyncResult<void> start() = 0;
    virtual void stop() = 0;
    virtual void setPeers(const QList<PeerConfig> &peers) = 0;
    virtual void entriesAvailable() = 0; // the log grew: push to peers
    virtual QStringList connectedPeers() const = 0;
    virtual quint16 listenPort() const;

protected:
    TransportHost *host() const { return m_host; }
    // This region as the host describes it, with connectedPeers() as the direct links.
    PeerAnnouncement announcement() const;

private:
    TransportHost *m_host;
};

} // namespace Meridian
