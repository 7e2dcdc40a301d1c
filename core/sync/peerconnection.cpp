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
    m_buffer.append(m_socket->readAll());
    qsizetype pos = 0;
    while (!m_closed && m_buffer.size() - pos >= 5) {
        const quint32 len = qFromBigEndian<quint32>(m_buffer.constData() + pos);
        if (len == 0 || len > Wire::kMaxFrame) {
            close(u"invalid frame length %1"_s.arg(len));
            return;
        }
        if (m_buffer.size() - pos < 4 + qsizetype(len))
            break;
        const quint8 type = quint8(m_buffer.at(pos + 4));
        const QByteArray body = m_buffer.mid(pos + 5, len - 1);
        pos += 4 + qsizetype(len);
        m_lastFrame.restart();
        emit frameReceived(type, body);
    }
    if (!m_closed)
        m_buffer.remove(0, pos);
}

} // namespace Meridian::Internal
