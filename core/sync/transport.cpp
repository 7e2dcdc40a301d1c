#include "core/sync/transport.h"

#include "core/sync/transporthost.h"

namespace Meridian {

Transport::Transport(TransportHost *host, QObject *parent)
    : QObject(parent)
    , m_host(host)
{}

Transport::~Transport() = default;

quint16 Transport::listenPort() const
{
    return 0;
}

PeerAnnouncement Transport::announcement() const
{
    PeerAnnouncement a;
    a.regionId = m_host->regionId();
    a.schemaVersion = m_host->schemaVersion();
    a.hlcWatermark = m_host->hlcWatermark();
    a.heads = m_host->logHeads(); // applied cursors: what peers may prune (peerAcknowledged)
    a.lowWater = m_host->logLowWater();
    a.direct = connectedPeers();
    a.wallClockMs = m_host->wallClockMs();
    return a;
}

} // namespace Meridian
