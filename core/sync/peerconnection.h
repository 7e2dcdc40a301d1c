#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QString>

class QSslSocket;
class QTcpSocket;

namespace Meridian {
struct TlsFiles;
}

namespace Meridian::Internal {

// One replication TCP connection, over mutual TLS when the cluster has certificates: frames in,
// frames out, and when it last heard anything. Owns its socket; closes at most once and then
// deletes itself later.
class PeerConnection final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerConnection)

public:
    // Outbound: connect the signals, then connectToHost(). With `tls` enabled connected() comes
    // after the TLS handshake, which verifies the peer's certificate and host name.
    PeerConnection(const TlsFiles &tls, QObject *parent);
    // Inbound, on an accepted descriptor; with `tls` enabled the server side of the handshake
    // starts at once and frames sent meanwhile wait for it.
    PeerConnection(qintptr descriptor, const TlsFiles &tls, QObject *parent);
    ~PeerConnection() override;

    void connectToHost(const QString &host, quint16 port);

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
    QString address() const; // "host:port" of the peer
    QString peerHost() const;
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
    PeerConnection(bool outbound, const TlsFiles &tls, QObject *parent);
    void onReadyRead();
    void onSocketError();
    void closeByPeer();
    // Closes with `reason` on the next event-loop turn, after the owner connected its signals.
    void closeSoon(const QString &reason, bool authentication);
    // Handles the frames of the handshake; false when the connection was closed.
    bool handleAuthFrame(quint8 type, const QByteArray &body);
    void sendChallenge();
    // Closes with `reasonFormat` (its %1 is the peer's address); authenticationFailed() is true.
    void failAuthentication(QStringView reasonFormat);
    QByteArray proof(bool proverOutbound,
                     const QByteArray &verifierNonce,
                     const QByteArray &proverNonce) const;

    QTcpSocket *m_socket = nullptr; // a QSslSocket with TLS
    bool m_outbound;
    QSslSocket *m_ssl = nullptr;  // m_socket when the connection uses TLS
    bool m_heardAnything = false; // a frame header arrived
    QString m_tlsErrors;          // certificate problems the handshake reported
    QString m_startProblem;       // why the connection could not even start (closing soon)
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
