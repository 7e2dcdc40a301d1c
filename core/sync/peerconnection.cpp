#include "core/sync/peerconnection.h"

#include "core/sync/wireprotocol.h"
#include "core/util/constanttime.h"
#include "core/util/tlsfiles.h"

#include <QMessageAuthenticationCode>
#include <QRandomGenerator>
#include <QSslSocket>
#include <QtEndian>

#include <array>

#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

namespace {
constexpr quint32 kMaxHandshakeFrame = 64; // type byte + an HMAC-SHA256 or a 16-byte challenge
constexpr QStringView kNotAuthenticated
        = u"%1 did not authenticate (is the same sync secret configured on both sides?)";
} // namespace

PeerConnection::PeerConnection(bool outbound, const TlsFiles &tls, QObject *parent)
    : QObject(parent)
    , m_outbound(outbound)
{
    m_lastFrame.start();
    // Ready for frames: on a plain socket once connected, with TLS once the handshake verified
    // the peer.
    const auto ready = [this] {
        m_lastFrame.restart();
        if (!m_outbound)
            return;
        if (!m_secret.isEmpty())
            sendChallenge();
        emit connected();
    };
    if (tls.isEnabled()) {
        auto *ssl = new QSslSocket(this);
        // Read anew for each connection, so renewed certificates take effect without a restart.
        if (const TlsFiles::Loaded loaded = tls.load(); loaded.ok())
            ssl->setSslConfiguration(loaded.configuration);
        else // counted as refused on the accepting side, so its listener logs it
            closeSoon(u"cannot use sync.tls: %1"_s.arg(loaded.errorText()), !m_outbound);
        connect(ssl, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
            QStringList texts;
            for (const QSslError &e : errors)
                texts.append(e.errorString());
            m_tlsErrors = texts.join(u"; "_s);
        });
        connect(ssl, &QSslSocket::encrypted, this, ready);
        // Encrypted bytes wait in the plain socket below: drained only once those left too.
        connect(ssl, &QSslSocket::encryptedBytesWritten, this, [this] {
            if (bytesToWrite() == 0)
                emit drained();
        });
        m_socket = m_ssl = ssl;
    } else {
        m_socket = new QTcpSocket(this);
        connect(m_socket, &QTcpSocket::connected, this, ready);
    }
    connect(m_socket, &QTcpSocket::connected, this, [this] {
        m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_socket->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    });
    connect(m_socket, &QTcpSocket::readyRead, this, &PeerConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::bytesWritten, this, [this] {
        if (bytesToWrite() == 0)
            emit drained();
    });
    connect(m_socket, &QTcpSocket::disconnected, this, [this] {
        if (m_ssl && !m_ssl->isEncrypted())
            onSocketError();
        else
            closeByPeer();
    });
    connect(m_socket, &QTcpSocket::errorOccurred, this, &PeerConnection::onSocketError);
}

PeerConnection::PeerConnection(const TlsFiles &tls, QObject *parent)
    : PeerConnection(true, tls, parent)
{}

PeerConnection::PeerConnection(qintptr descriptor, const TlsFiles &tls, QObject *parent)
    : PeerConnection(false, tls, parent)
{
    if (!m_socket->setSocketDescriptor(descriptor)) {
        ::close(int(descriptor));
        closeSoon(u"cannot adopt an accepted connection: %1"_s.arg(m_socket->errorString()), false);
        return;
    }
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    if (m_ssl && m_startProblem.isEmpty())
        m_ssl->startServerEncryption();
}

void PeerConnection::connectToHost(const QString &host, quint16 port)
{
    if (m_closed || !m_startProblem.isEmpty())
        return;
    if (m_ssl) // verifies that the certificate names `host`
        m_ssl->connectToHostEncrypted(host, port);
    else
        m_socket->connectToHost(host, port);
}

void PeerConnection::closeSoon(const QString &reason, bool authentication)
{
    m_startProblem = reason;
    QMetaObject::invokeMethod(
            this,
            [this, reason, authentication] {
                if (authentication)
                    m_authFailed = true;
                close(reason);
            },
            Qt::QueuedConnection);
}

void PeerConnection::closeByPeer()
{
    if (!m_ssl && m_outbound && !m_heardAnything) {
        // What a region with TLS does to a plain hello: it cannot even answer.
        close(u"%1 closed the connection before saying anything (if it has sync.tls, configure "
              "sync.tls here too)"_s.arg(address()));
        return;
    }
    close(u"connection closed by peer"_s);
}

void PeerConnection::onSocketError()
{
    if (m_closed)
        return;
    const auto error = m_socket->error();
    const bool inHandshake = m_ssl && !m_ssl->isEncrypted()
                             && error != QAbstractSocket::ConnectionRefusedError
                             && error != QAbstractSocket::HostNotFoundError
                             && error != QAbstractSocket::SocketTimeoutError
                             && error != QAbstractSocket::NetworkError;
    if (!inHandshake) {
        if (error == QAbstractSocket::RemoteHostClosedError)
            closeByPeer();
        else
            close(m_socket->errorString());
        return;
    }
    // A refused certificate, a peer without TLS, or a peer that refused ours (it then just
    // closes): counted as an authentication failure, so the listener logs it once a minute.
    const QString why = !m_tlsErrors.isEmpty() ? m_tlsErrors
                        : error == QAbstractSocket::RemoteHostClosedError
                                ? u"the peer closed the connection (does it have sync.tls, "
                                  "and trust this node's certificate?)"_s
                                : m_socket->errorString();
    m_authFailed = true;
    close(u"TLS handshake with %1 failed: %2; every region needs sync.tls with a certificate "
          "from the same CA"_s.arg(address(), why));
}

PeerConnection::~PeerConnection() = default;

QString PeerConnection::address() const
{
    return u"%1:%2"_s.arg(m_socket->peerAddress().toString()).arg(m_socket->peerPort());
}

QString PeerConnection::peerHost() const
{
    return m_socket->peerAddress().toString();
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
    if (m_ssl) // plaintext not yet encrypted + encrypted bytes not yet sent
        return m_ssl->bytesToWrite() + m_ssl->encryptedBytesToWrite();
    return m_socket->bytesToWrite();
}

void PeerConnection::close(const QString &reason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_socket->disconnect(this);
    // A frame sent just before (an Error saying why) waits in the socket's buffer, which
    // abort() would drop: hand it to the kernel first (over TLS: encrypt it too).
    if (m_socket->state() == QAbstractSocket::ConnectedState)
        m_socket->flush();
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
            m_heardAnything = true;
            char head[5];
            if (m_socket->read(head, 5) != 5) {
                close(u"cannot read from the socket"_s);
                return;
            }
            if (!m_ssl && head[1] == 0x03 && (head[0] == 0x16 || head[0] == 0x15)) {
                // A TLS record (handshake or alert), not a frame: no valid frame is that long.
                failAuthentication(u"%1 speaks TLS: configure sync.tls on this node too, with a "
                                   "certificate from the same CA"_s);
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
