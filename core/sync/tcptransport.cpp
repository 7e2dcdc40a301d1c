#include "core/sync/tcptransport.h"

#include "core/sync/peerconnection.h"
#include "core/sync/peerlink.h"
#include "core/sync/wireprotocol.h"
#include "core/util/acceptguard.h"
#include "core/util/descriptorlistener.h"

#include <QHostAddress>
#include <QLoggingCategory>
#include <QTimer>

using namespace Qt::StringLiterals;

namespace Meridian {

using namespace Internal;

Q_LOGGING_CATEGORY(lcTcp, "meridian.sync.tcp")

TcpTransport::TcpTransport(TransportHost *host, const SyncConfig &config, QObject *parent)
    : Transport(host, parent)
    , m_config(config)
{
    m_peers = config.peers;
}

TcpTransport::~TcpTransport()
{
    stop();
}

SyncResult<void> TcpTransport::start()
{
    if (m_running)
        return {};
    if (m_config.listen) {
        m_server = new DescriptorListener(this);
        QHostAddress address;
        if (!address.setAddress(m_config.listenHost)) {
            if (m_config.listenHost == "localhost"_L1)
                address = QHostAddress::LocalHost;
            else
                return syncError(SyncError::Code::InvalidArgument,
                                 u"listen host \"%1\" is not an IP address"_s.arg(
                                         m_config.listenHost));
        }
        if (!m_server->listen(address, m_config.listenPort)) {
            const QString err = m_server->errorString();
            delete m_server;
            m_server = nullptr;
            return syncError(SyncError::Code::Unavailable,
                             u"cannot listen for replication on %1:%2: %3"_s
                                     .arg(m_config.listenHost)
                                     .arg(m_config.listenPort)
                                     .arg(err));
        }
        connect(m_server, &DescriptorListener::accepted, this, &TcpTransport::onNewConnection);
        m_acceptGuard = new AcceptGuard(m_server, u"the replication port"_s);
    }
    m_running = true;
    setPeers(m_peers);
    for (PeerLink *l : std::as_const(m_links))
        l->start();
    return {};
}

void TcpTransport::stop()
{
    m_running = false;
    for (PeerLink *l : std::as_const(m_links))
        l->stop();
    qDeleteAll(m_links);
    m_links.clear();
    if (m_server) {
        m_server->close();
        delete m_server; // and its accept guard
        m_server = nullptr;
        m_acceptGuard = nullptr;
    }
}

quint16 TcpTransport::listenPort() const
{
    return m_server ? m_server->serverPort() : 0;
}

PeerLink *TcpTransport::ensureLink(const QString &peerId)
{
    if (PeerLink *l = m_links.value(peerId))
        return l;
    auto *l = new PeerLink(
            peerId, host(), m_config, [this] { return announcement(); }, this);
    connect(l, &PeerLink::establishedChanged, this, [this] {
        // The set of direct origins changed: tell every peer at once so relaying adapts.
        for (PeerLink *other : std::as_const(m_links))
            other->pump();
    });
    m_links.insert(peerId, l);
    if (m_running)
        l->start();
    return l;
}

void TcpTransport::setPeers(const QList<PeerConfig> &peers)
{
    m_peers = peers;
    if (!m_running || m_snapshotsOnly)
        return;
    QSet<QString> wanted;
    for (const PeerConfig &p : peers) {
        wanted.insert(p.regionId);
        ensureLink(p.regionId)->setAddress(p.host, p.port);
    }
    for (PeerLink *l : std::as_const(m_links)) {
        if (!wanted.contains(l->peerId()))
            l->clearAddress(); // no longer dialed; an inbound connection from it still works
    }
}

void TcpTransport::entriesAvailable()
{
    for (PeerLink *l : std::as_const(m_links))
        l->pump();
}

QStringList TcpTransport::connectedPeers() const
{
    QStringList out;
    for (PeerLink *l : std::as_const(m_links)) {
        if (l->isEstablished())
            out.append(l->peerId());
    }
    out.sort();
    return out;
}

void TcpTransport::onNewConnection(qintptr descriptor)
{
    auto *c = new PeerConnection(descriptor, m_config.tls, this);
    c->requireAuthentication(m_config.secret);
    if (!m_snapshotsOnly)
        c->send(quint8(Wire::Type::Hello), Wire::hello(announcement()));
    connect(c, &PeerConnection::frameReceived, this, [this, c](quint8 type, const QByteArray &body) {
        onPendingFrame(c, type, body);
    });
    const QString from = c->peerHost();
    connect(c, &PeerConnection::closed, this, [this, c, from](const QString &reason) {
        if (c->authenticationFailed())
            noteRefused(from, reason);
    });
    // A connection that never says hello (or never finishes the TLS handshake) is dropped.
    QTimer::singleShot(m_config.connectionTimeoutMs, c, [c] {
        if (c->peerId().isEmpty())
            c->close(u"no hello"_s);
    });
    m_acceptGuard->accepted();
}

void TcpTransport::noteRefused(const QString &host, const QString &reason)
{
    // A refused peer redials with back-off; say so once a minute per host, not on every
    // attempt.
    if (!m_refusalClock.isValid())
        m_refusalClock.start();
    const qint64 now = m_refusalClock.elapsed();
    const auto it = m_refusalLogged.constFind(host);
    if (it != m_refusalLogged.cend() && now - *it < 60000)
        return;
    m_refusalLogged.insert(host, now);
    qCWarning(lcTcp).noquote() << "refused a replication connection from" << host << ":" << reason;
}

void TcpTransport::onPendingFrame(PeerConnection *c, quint8 type, const QByteArray &body)
{
    if (!c->peerId().isEmpty())
        return; // already handed to a link
    if (Wire::Type(type) == Wire::Type::SnapshotRequest) {
        c->setPeerId(u"snapshot"_s);
        c->disconnect(this);
        if (m_snapshotHandler)
            m_snapshotHandler(c, body);
        else
            c->close(u"this node does not serve snapshots"_s);
        return;
    }
    if (Wire::Type(type) != Wire::Type::Hello) {
        c->close(u"expected hello"_s);
        return;
    }
    if (m_snapshotsOnly) {
        const QString why = u"%1 replicates over NATS; this port only serves snapshots"_s.arg(
                host()->regionId());
        c->send(quint8(Wire::Type::Error), Wire::error(why));
        c->close(why);
        return;
    }
    QString error;
    const auto hello = Wire::parseHello(body, &error);
    if (!hello || !SyncConfig::isValidRegionId(hello->regionId)
        || hello->regionId == host()->regionId()) {
        const QString why = hello ? u"invalid or own region id \"%1\""_s.arg(hello->regionId)
                                  : error;
        qCWarning(lcTcp) << "refusing replication connection from" << c->address() << ":" << why;
        c->send(quint8(Wire::Type::Error), Wire::error(why));
        c->close(why);
        return;
    }
    c->setPeerId(hello->regionId);
    c->disconnect(this);
    ensureLink(hello->regionId)->offer(c, *hello);
}

} // namespace Meridian
