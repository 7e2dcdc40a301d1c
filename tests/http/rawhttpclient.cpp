#include "rawhttpclient.h"

#include <QDeadlineTimer>
#include <QEventLoop>
#include <QTimer>

namespace Meridian::Test {

RawHttpClient::RawHttpClient(quint16 port)
{
    m_socket.connectToHost(QHostAddress::LocalHost, port);
    QDeadlineTimer deadline(10000);
    while (m_socket.state() != QAbstractSocket::ConnectedState && !deadline.hasExpired()
           && m_socket.state() != QAbstractSocket::UnconnectedState) {
        QEventLoop loop;
        QTimer timer;
        QObject::connect(&m_socket, &QTcpSocket::connected, &loop, &QEventLoop::quit);
        QObject::connect(&m_socket, &QTcpSocket::errorOccurred, &loop, &QEventLoop::quit);
        QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
        timer.start(100);
        loop.exec();
    }
}

bool RawHttpClient::isConnected() const
{
    return m_socket.state() == QAbstractSocket::ConnectedState && !m_eof;
}

void RawHttpClient::send(const QByteArray &bytes)
{
    m_socket.write(bytes);
    m_socket.flush();
}

bool RawHttpClient::waitForData(int timeoutMs)
{
    if (m_socket.bytesAvailable() == 0 && m_socket.state() == QAbstractSocket::ConnectedState) {
        QEventLoop loop;
        QTimer timer;
        timer.setSingleShot(true);
        QObject::connect(&m_socket, &QTcpSocket::readyRead, &loop, &QEventLoop::quit);
        QObject::connect(&m_socket, &QTcpSocket::disconnected, &loop, &QEventLoop::quit);
        QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
        timer.start(timeoutMs);
        loop.exec();
    }
    const QByteArray data = m_socket.readAll();
    m_buffer += data;
    if (m_socket.state() != QAbstractSocket::ConnectedState)
        m_eof = true;
    return !data.isEmpty();
}

std::optional<RawHttpClient::Response> RawHttpClient::tryParse(bool headRequest, bool eof)
{
    const qsizetype headEnd = m_buffer.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return std::nullopt;
    Response r;
    const QList<QByteArray> lines = m_buffer.first(headEnd).split('\n');
    const QList<QByteArray> statusLine = lines[0].trimmed().split(' ');
    if (statusLine.size() < 2)
        return std::nullopt;
    r.status = statusLine[1].toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            r.headers.add(line.first(colon), line.sliced(colon + 1).trimmed());
    }
    qsizetype pos = headEnd + 4;
    const bool noBody = headRequest || r.status == 204 || r.status == 304 || r.status < 200;
    if (noBody) {
        // nothing
    } else if (r.headers.containsToken("Transfer-Encoding", "chunked")) {
        while (true) {
            const qsizetype nl = m_buffer.indexOf("\r\n", pos);
            if (nl < 0)
                return std::nullopt;
            bool ok = false;
            const qint64 size = m_buffer.sliced(pos, nl - pos).split(';')[0].toLongLong(&ok, 16);
            if (!ok)
                return std::nullopt;
            if (size == 0) {
                const qsizetype end = m_buffer.indexOf("\r\n", nl + 2);
                if (end < 0)
                    return std::nullopt;
                pos = end + 2;
                break;
            }
            if (m_buffer.size() < nl + 2 + size + 2)
                return std::nullopt;
            r.body += m_buffer.sliced(nl + 2, size);
            pos = nl + 2 + size + 2;
        }
    } else if (r.headers.contains("Content-Length")) {
        const qint64 length = r.headers.value("Content-Length").toLongLong();
        if (m_buffer.size() < pos + length)
            return std::nullopt;
        r.body = m_buffer.sliced(pos, length);
        pos += length;
    } else {
        if (!eof)
            return std::nullopt;
        r.body = m_buffer.sliced(pos);
        pos = m_buffer.size();
    }
    m_buffer.remove(0, pos);
    return r;
}

std::optional<RawHttpClient::Response> RawHttpClient::read(bool headRequest, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (true) {
        if (auto r = tryParse(headRequest, m_eof))
            return r;
        if (m_eof || deadline.hasExpired())
            return std::nullopt;
        waitForData(int(qMax<qint64>(1, deadline.remainingTime())));
    }
}

bool RawHttpClient::readUntil(const QByteArray &marker, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!m_buffer.contains(marker)) {
        if (m_eof || deadline.hasExpired())
            return false;
        waitForData(int(qMax<qint64>(1, deadline.remainingTime())));
    }
    return true;
}

bool RawHttpClient::waitForDisconnect(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!m_eof && !deadline.hasExpired())
        waitForData(int(qMax<qint64>(1, deadline.remainingTime())));
    return m_eof;
}

void RawHttpClient::disconnect()
{
    m_socket.abort();
    m_eof = true;
}

std::optional<RawHttpClient::Response> fetch(quint16 port, const QByteArray &request)
{
    RawHttpClient client(port);
    client.send(request);
    return client.read(request.startsWith("HEAD "));
}

} // namespace Meridian::Test
