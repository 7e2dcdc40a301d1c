#include "core/sync/peerconnection.h"

#include "core/sync/wireprotocol.h"

#include <QTcpSocket>
#include <QtEndian>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

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

void PeerConnection::send(quint8 type, const QByteArray &body)
{
    if (m_closed)
        return;
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
        emit frameReceived(type, body);
    }
}

} // namespace Meridian::Internal
