#include "core/sync/peerlink.h"

#include "core/sync/peerconnection.h"
#include "core/sync/wireprotocol.h"

#include <QLoggingCategory>
#include <QRandomGenerator>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

Q_LOGGING_CATEGORY(lcLink, "meridian.sync.link")

PeerLink::PeerLink(QString peerId,
                   TransportHost *host,
                   const SyncConfig &config,
                   std::function<PeerAnnouncement()> announce,
                   QObject *parent)
    : QObject(parent)
    , m_peerId(std::move(peerId))
    , m_host(host)
    , m_config(config)
    , m_announce(std::move(announce))
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &PeerLink::dial);
    m_tickTimer.setInterval(m_config.heartbeatIntervalMs);
    connect(&m_tickTimer, &QTimer::timeout, this, &PeerLink::onTick);
}

PeerLink::~PeerLink()
{
    stop();
}

void PeerLink::setAddress(const QString &host, quint16 port)
{
    if (host == m_address && port == m_port)
        return;
    m_address = host;
    m_port = port;
    m_attempt = 0;
    if (m_running && !m_conn && !m_dialing)
        dial();
}

void PeerLink::clearAddress()
{
    m_address.clear();
    m_port = 0;
    m_reconnectTimer.stop();
}

void PeerLink::start()
{
    m_running = true;
    m_tickTimer.start();
    if (hasAddress() && !m_conn && !m_dialing)
        dial();
}

void PeerLink::stop()
{
    m_running = false;
    m_reconnectTimer.stop();
    m_tickTimer.stop();
    if (m_dialing) {
        PeerConnection *d = m_dialing;
        m_dialing = nullptr;
        d->close(u"stopped"_s);
    }
    if (m_conn)
        m_conn->close(u"stopped"_s);
}

bool PeerLink::preferred(const PeerConnection *c) const
{
    // Both sides may dial; both keep the connection dialed by the smaller region id.
    return c->outbound() == (m_host->regionId() < m_peerId);
}

void PeerLink::dial()
{
    if (!m_running || !hasAddress() || m_conn || m_dialing)
        return;
    auto *c = new PeerConnection(m_config.tls, this);
    c->requireAuthentication(m_config.secret);
    c->setPeerId(m_peerId);
    m_dialing = c;
    connect(c, &PeerConnection::connected, this, [this, c] {
        c->send(quint8(Wire::Type::Hello), Wire::hello(m_announce()));
    });
    connect(c, &PeerConnection::frameReceived, this, [this, c](quint8 type, const QByteArray &body) {
        onFrame(c, type, body);
    });
    connect(c, &PeerConnection::closed, this, [this, c](const QString &reason) {
        onClosed(c, reason);
    });
    connect(c, &PeerConnection::drained, this, [this, c] {
        if (c == m_conn)
            pump();
    });
    c->connectToHost(m_address, m_port);
}

void PeerLink::scheduleReconnect()
{
    if (!m_running || !hasAddress() || m_conn || m_dialing || m_reconnectTimer.isActive())
        return;
    const int shift = std::min(m_attempt, 16);
    const qint64 ceiling = std::min<qint64>(m_config.reconnectMaxMs,
                                            qint64(m_config.reconnectMinMs) << shift);
    // "Equal jitter": half fixed, half random, so peers that failed together spread out.
    const qint64 delay = ceiling / 2 + QRandomGenerator::global()->bounded(ceiling / 2 + 1);
    ++m_attempt;
    m_reconnectTimer.start(int(delay));
}

void PeerLink::offer(PeerConnection *c, const PeerAnnouncement &hello)
{
    if (c == m_dialing)
        m_dialing = nullptr;
    if (m_conn && m_conn != c) {
        if (preferred(m_conn) && !preferred(c)) {
            c->send(quint8(Wire::Type::Error), Wire::error(u"duplicate connection"_s));
            c->close(u"duplicate connection; keeping the established one"_s);
            return;
        }
        PeerConnection *old = m_conn;
        m_conn = nullptr;
        old->close(u"replaced by a newer connection"_s);
    }
    if (!c->outbound()) {
        c->disconnect(this);
        connect(c,
                &PeerConnection::frameReceived,
                this,
                [this, c](quint8 type, const QByteArray &body) { onFrame(c, type, body); });
        connect(c, &PeerConnection::closed, this, [this, c](const QString &reason) {
            onClosed(c, reason);
        });
        connect(c, &PeerConnection::drained, this, [this, c] {
            if (c == m_conn)
                pump();
        });
    }
    c->setPeerId(m_peerId);
    m_conn = c;
    m_reconnectTimer.stop();
    m_attempt = 0;
    m_lastDialError.clear();
    m_remote = hello;
    m_schemaOk = hello.schemaVersion == m_host->schemaVersion();
    m_sent = hello.heads;
    m_acked = hello.heads;
    m_inFlight.clear();
    m_resendDue = false;
    qCInfo(lcLink) << m_host->regionId() << "linked with" << m_peerId << "via" << c->address()
                   << (c->outbound() ? "(outbound)" : "(inbound)");
    m_host->peerConnectionChanged(m_peerId, true, {});
    m_host->peerAnnounced(hello);
    emit establishedChanged(true);
    pump();
}

void PeerLink::onClosed(PeerConnection *c, const QString &reason)
{
    if (c == m_dialing) {
        m_dialing = nullptr;
        if (!m_conn) {
            // Say why the link cannot come up (refused, unreachable, not authenticated), once
            // per new reason: the link's detail shows it to operators.
            if (reason != m_lastDialError)
                qCInfo(lcLink) << m_host->regionId() << "cannot link with" << m_peerId << ":"
                               << reason;
            m_lastDialError = reason;
            m_host->peerConnectionChanged(m_peerId, false, reason);
        }
        scheduleReconnect();
        return;
    }
    if (c != m_conn)
        return;
    m_conn = nullptr;
    m_inFlight.clear();
    qCInfo(lcLink) << m_host->regionId() << "lost link with" << m_peerId << ":" << reason;
    m_host->peerConnectionChanged(m_peerId, false, reason);
    emit establishedChanged(false);
    scheduleReconnect();
}

void PeerLink::onFrame(PeerConnection *c, quint8 type, const QByteArray &body)
{
    if (c != m_conn) {
        // Only an outbound connection still in its handshake reaches here.
        if (Wire::Type(type) == Wire::Type::Error) {
            c->close(u"peer refused: "_s + Wire::parseError(body));
            return;
        }
        if (Wire::Type(type) != Wire::Type::Hello) {
            c->close(u"expected hello"_s);
            return;
        }
        QString error;
        const auto hello = Wire::parseHello(body, &error);
        if (!hello) {
            c->close(error);
            return;
        }
        if (hello->regionId != m_peerId) {
            c->close(u"dialed region %1 but %2 answered; fix the peer address"_s
                             .arg(m_peerId, hello->regionId));
            return;
        }
        offer(c, *hello);
        return;
    }
    switch (Wire::Type(type)) {
    case Wire::Type::Batch: {
        quint64 id = 0;
        QList<LogEntry> entries;
        if (!Wire::parseBatch(body, &id, &entries)) {
            c->close(u"malformed batch"_s);
            return;
        }
        auto applied = m_host->applyEntries(m_peerId, entries);
        if (!applied) {
            qCWarning(lcLink) << "refusing batch from" << m_peerId << ":"
                              << applied.error().message;
            c->send(quint8(Wire::Type::Error), Wire::error(applied.error().message));
            c->close(applied.error().message);
            return;
        }
        c->send(quint8(Wire::Type::Ack), Wire::ack(id, *applied));
        break;
    }
    case Wire::Type::Ack: {
        quint64 id = 0;
        CursorVector applied;
        if (!Wire::parseAck(body, &id, &applied)) {
            c->close(u"malformed ack"_s);
            return;
        }
        m_inFlight.remove(id);
        for (auto it = applied.cbegin(); it != applied.cend(); ++it)
            m_acked[it.key()] = std::max(m_acked.value(it.key()), it.value());
        m_host->peerAcknowledged(m_peerId, applied);
        if (m_inFlight.isEmpty()) {
            for (auto it = m_sent.cbegin(); it != m_sent.cend(); ++it) {
                if (m_acked.value(it.key()) < it.value())
                    m_resendDue = true; // skipped by the peer: resend on the next tick
            }
        }
        pump();
        break;
    }
    case Wire::Type::Heartbeat: {
        const auto a = Wire::parseHeartbeat(body);
        if (!a || a->regionId != m_peerId) {
            c->close(u"malformed heartbeat"_s);
            return;
        }
        m_remote = *a;
        m_schemaOk = a->schemaVersion == m_host->schemaVersion();
        m_host->peerAnnounced(*a);
        pump();
        break;
    }
    case Wire::Type::Error:
        c->close(u"peer reported: "_s + Wire::parseError(body));
        break;
    default:
        c->close(u"unexpected frame type %1"_s.arg(type));
        break;
    }
}

void PeerLink::pump()
{
    if (!m_conn || !m_schemaOk)
        return;
    const CursorVector heads = m_host->logHeads();
    const QString self = m_host->regionId();
    for (auto it = heads.cbegin(); it != heads.cend(); ++it) {
        const QString &origin = it.key();
        if (origin == m_peerId || (origin != self && m_remote.direct.contains(origin)))
            continue;
        while (m_inFlight.size() < m_config.maxInFlightBatches
               && m_conn->bytesToWrite() < 4 * m_config.batchMaxBytes) {
            const quint64 sent = m_sent.value(origin);
            if (it.value() <= sent)
                break;
            auto entries = m_host->readLog(origin,
                                           sent,
                                           m_config.batchMaxEntries,
                                           m_config.batchMaxBytes);
            if (!entries) {
                qCWarning(lcLink) << "cannot read log for" << m_peerId << ":"
                                  << entries.error().message;
                break;
            }
            if (entries->isEmpty())
                break; // pruned here: the peer sees our low-water mark and asks for a resync
            const quint64 id = ++m_nextBatchId;
            m_conn->send(quint8(Wire::Type::Batch), Wire::batch(id, *entries));
            m_sent[origin] = entries->last().seq;
            m_inFlight.insert(id);
        }
    }
}

void PeerLink::sendHeartbeat()
{
    PeerAnnouncement a = m_announce();
    for (auto it = a.heads.cbegin(); it != a.heads.cend(); ++it) {
        const quint64 acked = m_acked.value(it.key());
        if (it.key() == m_peerId || it.value() <= acked)
            continue;
        if (const auto hlc = m_host->entryHlc(it.key(), acked + 1)) {
            a.pendingSeq.insert(it.key(), acked + 1);
            a.pendingHlc.insert(it.key(), *hlc);
        }
    }
    m_conn->send(quint8(Wire::Type::Heartbeat), Wire::heartbeat(a));
}

void PeerLink::onTick()
{
    if (m_dialing && m_dialing->msSinceLastFrame() > m_config.connectionTimeoutMs)
        m_dialing->close(u"handshake timed out"_s);
    if (!m_conn) {
        scheduleReconnect();
        return;
    }
    if (m_conn->msSinceLastFrame() > m_config.connectionTimeoutMs) {
        m_conn->close(u"peer silent for %1 ms"_s.arg(m_conn->msSinceLastFrame()));
        return;
    }
    sendHeartbeat();
    if (m_resendDue && m_inFlight.isEmpty()) {
        m_resendDue = false;
        for (auto it = m_sent.begin(); it != m_sent.end(); ++it)
            it.value() = std::min(it.value(), m_acked.value(it.key()));
    }
    pump();
}

} // namespace Meridian::Internal
