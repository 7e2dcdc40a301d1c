#include "core/node/clustermonitor.h"

#include "core/node/peerclient.h"

#include <QJsonDocument>
#include <QLoggingCategory>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {
constexpr int kProbeFall = 2; // failed probes without an answer before a peer is unreachable
} // namespace

Q_LOGGING_CATEGORY(lcMonitor, "meridian.cluster")

ClusterMonitor::ClusterMonitor(
        QString selfId, QList<PeerNode> peers, PeerClient *client, int intervalMs, QObject *parent)
    : QObject(parent)
    , m_selfId(std::move(selfId))
    , m_peers(std::move(peers))
    , m_client(client)
    , m_intervalMs(intervalMs)
{
    m_timer.setInterval(m_intervalMs);
    connect(&m_timer, &QTimer::timeout, this, &ClusterMonitor::probeAll);
}

void ClusterMonitor::start()
{
    m_timer.start();
    probeAll();
}

void ClusterMonitor::stop()
{
    m_timer.stop();
}

const PeerNode *ClusterMonitor::peer(const QString &id) const
{
    for (const PeerNode &peer : m_peers) {
        if (peer.id == id)
            return &peer;
    }
    return nullptr;
}

bool ClusterMonitor::isReachable(const QString &id) const
{
    return m_snapshots.value(id).reachable;
}

QMap<QString, double> ClusterMonitor::rttRow() const
{
    QMap<QString, double> row;
    for (auto it = m_snapshots.cbegin(); it != m_snapshots.cend(); ++it) {
        if (it.value().reachable && it.value().rttMs >= 0)
            row.insert(it.key(), it.value().rttMs);
    }
    return row;
}

void ClusterMonitor::probeAll()
{
    for (const PeerNode &peer : std::as_const(m_peers)) {
        probe(peer);
        if (peer.isRegion && peer.dataUrl.isValid())
            checkData(peer);
    }
}

void ClusterMonitor::probe(const PeerNode &peer)
{
    if (m_probeInFlight.value(peer.id))
        return;
    m_probeInFlight[peer.id] = true;
    const QString id = peer.id;
    const int timeout = std::max(2 * m_intervalMs, 1000);
    m_client->call(peer.controlUrl,
                   "GET",
                   u"/v1/probe?from="_s + m_selfId,
                   {},
                   timeout,
                   [this, id](const PeerReply &reply) {
                       m_probeInFlight[id] = false;
                       PeerSnapshot &snapshot = m_snapshots[id];
                       const bool was = snapshot.reachable;
                       const QJsonDocument document = QJsonDocument::fromJson(reply.body);
                       if (reply.status == 200 && document.isObject()) {
                           snapshot.reachable = true;
                           snapshot.rttMs = reply.elapsedMs;
                           snapshot.lastOk = QDateTime::currentDateTimeUtc();
                           snapshot.error.clear();
                           snapshot.probe = document.object();
                           snapshot.probeFailures = 0;
                       } else {
                           // A refused connection is a definite answer (nothing listens); one
                           // slow answer on a loaded host is not, so it takes two in a row.
                           ++snapshot.probeFailures;
                           if (reply.connectionRefused || reply.status != 0
                               || snapshot.probeFailures >= kProbeFall)
                               snapshot.reachable = false;
                           snapshot.error = reply.status == 0 ? reply.error
                                                              : u"HTTP %1"_s.arg(reply.status);
                       }
                       if (was != snapshot.reachable) {
                           qCInfo(lcMonitor).noquote()
                                   << id
                                   << (snapshot.reachable ? "is reachable" : "is unreachable:")
                                   << snapshot.error;
                           emit reachabilityChanged(id, snapshot.reachable);
                       }
                       emit peerUpdated(id);
                   });
}

void ClusterMonitor::checkData(const PeerNode &peer)
{
    if (m_dataInFlight.value(peer.id))
        return;
    m_dataInFlight[peer.id] = true;
    const QString id = peer.id;
    m_client->call(peer.dataUrl,
                   "GET",
                   u"/healthz"_s,
                   {},
                   std::max(2 * m_intervalMs, 1000),
                   [this, id](const PeerReply &reply) {
                       m_dataInFlight[id] = false;
                       PeerSnapshot &snapshot = m_snapshots[id];
                       const QString before = snapshot.dataHealth;
                       if (reply.status == 200) {
                           snapshot.dataFailures = 0;
                           snapshot.dataHealth = u"healthy"_s;
                       } else if (++snapshot.dataFailures >= 2) {
                           snapshot.dataHealth = u"unhealthy"_s;
                       }
                       if (before != snapshot.dataHealth)
                           emit healthChanged(id, snapshot.dataHealth);
                   });
}

} // namespace Meridian
