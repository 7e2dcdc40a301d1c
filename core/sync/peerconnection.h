#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QObject>
#include <QString>

class QTcpSocket;

namespace Meridian::Internal {

// One replication TCP connection: frames in, frames out, and when it last heard anything.
// Owns its socket; closes at most once and then deletes itself later.
class PeerConnection final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerConnection)

public:
    PeerConnection(QTcpSocket *socket, bool outbound, QObject *parent);
    ~PeerConnection() override;

    bool outbound() const { return m_outbound; }
    bool isOpen() const { return !m_closed; }
    QString peerId() const { return m_peerId; }
    void setPeerId(const QString &id) { m_peerId = id; }
    QString address() const;
    void send(quint8 type, const QByteArray &body);
    qint64 bytesToWrite() const;
    qint64 msSinceLastFrame() const { return m_lastFrame.elapsed(); }
    void close(const QString &reason);

signals:
    void connected();
    void frameReceived(quint8 type, const QByteArray &body);
    void drained();
    void closed(const QString &reason);

private:
    void onReadyRead();

    QTcpSocket *m_socket;
    bool m_outbound;
    bool m_closed = false;
    QString m_peerId;
    // Length (type byte + body) and type of the frame whose body is still arriving; 0: none.
    quint32 m_pendingLength = 0;
    quint8 m_pendingType = 0;
    QElapsedTimer m_lastFrame;
};

} // namespace Meridian::Internal
