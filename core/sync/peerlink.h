#pragma once

#include "core/sync/logentry.h"
#include "core/sync/syncconfig.h"
#include "core/sync/transporthost.h"

#include <QObject>
#include <QSet>
#include <QTimer>

#include <functional>

namespace Meridian::Internal {

class PeerConnection;

// The built-in transport's state for one peer region: at most one established connection
// (arbitrated when both sides dial: the one dialed by the smaller region id wins), what was sent
// and acknowledged per origin, in-flight batches (backpressure), heartbeats and jittered
// exponential back-off reconnects.
class PeerLink final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerLink)

public:
    PeerLink(QString peerId,
             TransportHost *host,
             const SyncConfig &config,
             std::function<PeerAnnouncement()> announce,
             QObject *parent);
    ~PeerLink() override;

    QString peerId() const { return m_peerId; }
    void setAddress(const QString &host, quint16 port);
    void clearAddress();
    bool hasAddress() const { return m_port != 0; }
    bool isEstablished() const { return m_conn != nullptr; }
    void start();
    void stop();
    // A connection whose hello named this peer: adopt it unless the established one wins.
    void offer(PeerConnection *connection, const PeerAnnouncement &hello);
    void pump();

signals:
    void establishedChanged(bool established);

private:
    bool preferred(const PeerConnection *c) const;
    void dial();
    void scheduleReconnect();
    void onTick();
    void onFrame(PeerConnection *c, quint8 type, const QByteArray &body);
    void onClosed(PeerConnection *c, const QString &reason);
    void sendHeartbeat();

    QString m_peerId;
    TransportHost *m_host;
    SyncConfig m_config;
    std::function<PeerAnnouncement()> m_announce;
    QString m_address;
    quint16 m_port = 0;
    bool m_running = false;
    PeerConnection *m_conn = nullptr;
    PeerConnection *m_dialing = nullptr;
    QString m_lastDialError; // why the last dial failed, to log each new reason once
    PeerAnnouncement m_remote;
    bool m_schemaOk = false;
    CursorVector m_sent;
    CursorVector m_acked;
    QSet<quint64> m_inFlight;
    quint64 m_nextBatchId = 0;
    bool m_resendDue = false;
    int m_attempt = 0;
    QTimer m_reconnectTimer;
    QTimer m_tickTimer;
};

} // namespace Meridian::Internal
