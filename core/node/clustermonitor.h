#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QTimer>
#include <QUrl>

namespace Meridian {

class PeerClient;

// Another node as this one reaches it (through a DelayRelay when WAN latency is simulated).
struct PeerNode
{
    QString id;
    bool isRegion = true;
    QUrl controlUrl;
    QUrl dataUrl; // regions only: health-checked with GET /healthz
};

// What this node last learnt about a peer.
struct PeerSnapshot
{
    bool reachable = false;
    double rttMs = -1.0; // last probe round trip, -1 before the first answer
    QDateTime lastOk;
    QString error;
    QJsonObject probe;                              // the peer's last GET /v1/probe answer
    QString dataHealth = QStringLiteral("unknown"); // healthy | unhealthy | unknown
    int dataFailures = 0;
    int probeFailures = 0; // consecutive failed probes
};

// Probes every other node of the cluster every `intervalMs`: GET /v1/probe on its control API
// (reachability, RTT, and the peer's own view: its links, RTTs, health and load, which is how the
// answering node of GET /v1/cluster gathers the whole cluster without extra calls) and, for
// regions, GET /healthz on the data URL (endpoint health, down after 2 failures, up after 1
// success). A peer is unreachable after a refused connection or an error status at once, after
// two probes in a row without an answer otherwise (a slow host is not a dead one). One probe per
// peer in flight at a time; everything runs on the owner's thread.
class ClusterMonitor final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ClusterMonitor)

public:
    ClusterMonitor(QString selfId,
                   QList<PeerNode> peers,
                   PeerClient *client,
                   int intervalMs,
                   QObject *parent = nullptr);

    void start();
    void stop();

    const QList<PeerNode> &peers() const { return m_peers; }
    const PeerNode *peer(const QString &id) const;
    PeerSnapshot snapshot(const QString &id) const { return m_snapshots.value(id); }
    bool isReachable(const QString &id) const;
    // This node's measured RTT to each reachable peer, by node id.
    QMap<QString, double> rttRow() const;

signals:
    void peerUpdated(const QString &id);
    void reachabilityChanged(const QString &id, bool reachable);
    void healthChanged(const QString &id, const QString &health);

private:
    void probeAll();
    void probe(const PeerNode &peer);
    void checkData(const PeerNode &peer);

    QString m_selfId;
    QList<PeerNode> m_peers;
    PeerClient *m_client;
    int m_intervalMs;
    QTimer m_timer;
    QMap<QString, PeerSnapshot> m_snapshots;
    QMap<QString, bool> m_probeInFlight;
    QMap<QString, bool> m_dataInFlight;
};

} // namespace Meridian
