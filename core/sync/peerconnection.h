#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
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

    // Call right after construction when the cluster has a secret: both ends then prove they
    // know it (challenge, HMAC proof) before any other frame is delivered or sent; frames sent
    // meanwhile wait. A peer that sends anything else first, or a wrong proof, is closed.
    void requireAuthentication(const QByteArray &secret);
    bool authenticated() const { return m_secret.isEmpty() || m_peerVerified; }
    // Closed because the peer did not prove the secret, or has one where this side has none.
    bool authenticationFailed() const { return m_authFailed; }

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
    // Handles the frames of the handshake; false when the connection was closed.
    bool handleAuthFrame(quint8 type, const QByteArray &body);
    void sendChallenge();
    // Closes with `reasonFormat` (its %1 is the peer's address); authenticationFailed() is true.
    void failAuthentication(QStringView reasonFormat);
    QByteArray proof(bool proverOutbound,
                     const QByteArray &verifierNonce,
                     const QByteArray &proverNonce) const;

    QTcpSocket *m_socket;
    bool m_outbound;
    bool m_closed = false;
    QString m_peerId;
    // Length (type byte + body) and type of the frame whose body is still arriving; 0: none.
    quint32 m_pendingLength = 0;
    quint8 m_pendingType = 0;
    QElapsedTimer m_lastFrame;
    QByteArray m_secret;
    QByteArray m_nonce;     // our challenge
    QByteArray m_peerNonce; // theirs
    bool m_challengeSent = false;
    bool m_peerVerified = false;
    bool m_authFailed = false;
    QList<QByteArray> m_held; // frames sent before the peer was verified
};

} // namespace Meridian::Internal
