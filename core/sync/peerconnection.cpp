#include "core/sync/peerconnection.h"

#include "core/sync/wireprotocol.h"
#include "core/util/constanttime.h"

#include <QMessageAuthenticationCode>
#include <QRandomGenerator>
#include <QTcpSocket>
#include <QtEndian>

#include <array>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

namespace {
constexpr quint32 kMaxHandshakeFrame = 64; // type byte + an HMAC-SHA256 or a 16-byte challenge
constexpr QStringView kNotAuthenticated
        = u"%1 did not authenticate (is the same sync secret configured on both sides?)";
} // namespace

PeerConnection::PeerConnection(QTcpSocket *socket, bool outbound, QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_outbound(outbound)
{
    m_socket->setParent(this);
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    m_lastFrame.start();
    connect(m_socket, &QTcpSocket::readyRead, this, &PeerConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::connected, this, [this] {
        m_lastFrame.restart();
        if (!m_secret.isEmpty())
            sendChallenge();
        emit connected();
    });
    connect(m_socket, &QTcpSocket::bytesWritten, this, [this] {
        if (m_socket->bytesToWrite() == 0)
            emit drained();
    });
    connect(m_socket, &QTcpSocket::disconnected, this, [this] {
        close(u"connection closed by peer"_s);
    });
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        close(m_socket->errorString());
    });
}

PeerConnection::~PeerConnection() = default;

QString PeerConnection::address() const
{
    return u"%1:%2"_s.arg(m_socket->peerAddress().toString()).arg(m_socket->peerPort());
}

void PeerConnection::requireAuthentication(const QByteArray &secret)
{
    if (secret.isEmpty())
        return;
    m_secret = secret;
    std::array<quint32, 4> words;
    QRandomGenerator::system()->fillRange(words.data(), words.size());
    m_nonce = QByteArray(reinterpret_cast<const char *>(words.data()), sizeof words);
    if (m_socket->state() == QAbstractSocket::ConnectedState)
        sendChallenge();
}

void PeerConnection::sendChallenge()
{
    if (m_challengeSent || m_closed)
        return;
    m_challengeSent = true;
    m_socket->write(Wire::frame(Wire::Type::AuthChallenge, m_nonce));
}

QByteArray PeerConnection::proof(bool proverOutbound,
                                 const QByteArray &verifierNonce,
                                 const QByteArray &proverNonce) const
{
    // The prover's side is part of the proof, so a challenge reflected back at its sender
    // cannot be answered with the sender's own proof.
    QMessageAuthenticationCode mac(QCryptographicHash::Sha256, m_secret);
    mac.addData("meridian-sync-auth-1");
    mac.addData(proverOutbound ? "D" : "A");
    mac.addData(verifierNonce);
    mac.addData(proverNonce);
    return mac.result();
}

void PeerConnection::failAuthentication(QStringView reasonFormat)
{
    m_authFailed = true;
    close(reasonFormat.arg(address()));
}

bool PeerConnection::handleAuthFrame(quint8 type, const QByteArray &body)
{
    if (Wire::Type(type) == Wire::Type::AuthChallenge && m_peerNonce.isEmpty()
        && body.size() == m_nonce.size()) {
        m_peerNonce = body;
        sendChallenge();
        m_socket->write(Wire::frame(Wire::Type::AuthProof, proof(m_outbound, m_peerNonce, m_nonce)));
        return true;
    }
    if (Wire::Type(type) == Wire::Type::AuthProof && !m_peerNonce.isEmpty()) {
        if (!constantTimeEquals(body, proof(!m_outbound, m_nonce, m_peerNonce))) {
            failAuthentication(
                    u"authentication failed: %1 does not know this cluster's sync secret"_s);
            return false;
        }
        m_peerVerified = true;
        for (const QByteArray &frame : std::as_const(m_held))
            m_socket->write(frame);
        m_held.clear();
        return true;
    }
    failAuthentication(kNotAuthenticated);
    return false;
}

void PeerConnection::send(quint8 type, const QByteArray &body)
{
    if (m_closed)
        return;
    if (!authenticated()) {
        m_held.append(Wire::frame(Wire::Type(type), body));
        return;
    }
    m_socket->write(Wire::frame(Wire::Type(type), body));
}

qint64 PeerConnection::bytesToWrite() const
{
    return m_socket->bytesToWrite();
}

void PeerConnection::close(const QString &reason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_socket->disconnect(this);
    m_socket->abort();
    emit closed(reason);
    deleteLater();
}

void PeerConnection::onReadyRead()
{
    // Frames are read straight out of the socket's own (chunked) buffer, each body with one
    // copy: accumulating them in a QByteArray of our own cost a memmove per read for large
    // snapshot chunks.
    while (!m_closed) {
        if (m_pendingLength == 0) {
            if (m_socket->bytesAvailable() < 5)
                return;
            char head[5];
            if (m_socket->read(head, 5) != 5) {
                close(u"cannot read from the socket"_s);
                return;
            }
            const quint32 len = qFromBigEndian<quint32>(head);
            if (len == 0 || len > Wire::kMaxFrame) {
                close(u"invalid frame length %1"_s.arg(len));
                return;
            }
            // Before the peer has proved the secret only the small handshake frames may come;
            // nobody gets to make us buffer a large frame unauthenticated.
            if (!authenticated() && len > kMaxHandshakeFrame) {
                failAuthentication(kNotAuthenticated);
                return;
            }
            m_pendingLength = len;
            m_pendingType = quint8(head[4]);
        }
        const qint64 bodyLength = qint64(m_pendingLength) - 1;
        if (m_socket->bytesAvailable() < bodyLength)
            return;
        const QByteArray body = m_socket->read(bodyLength);
        if (body.size() != bodyLength) {
            close(u"cannot read from the socket"_s);
            return;
        }
        const quint8 type = m_pendingType;
        m_pendingLength = 0;
        m_lastFrame.restart();
        if (!authenticated()) {
            if (!handleAuthFrame(type, body))
                return;
            continue;
        }
        if (Wire::Type(type) == Wire::Type::AuthChallenge && m_secret.isEmpty()) {
            failAuthentication(
                    u"%1 requires authentication: configure the cluster's sync secret here too"_s);
            return;
        }
        emit frameReceived(type, body);
    }
}

} // namespace Meridian::Internal
