#include "edgetestclient.h"

#include <QDeadlineTimer>
#include <QHostAddress>
#include <QSslConfiguration>

EdgeTestClient::EdgeTestClient(quint16 port)
{
    m_socket.connectToHost(QHostAddress::LocalHost, port);
    m_socket.waitForConnected(5000);
}

EdgeTestClient::EdgeTestClient(quint16 port, const QString &caFile, const QList<QByteArray> &alpn)
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates(QSslCertificate::fromPath(caFile));
    if (!alpn.isEmpty())
        tls.setAllowedNextProtocols(alpn);
    m_socket.setSslConfiguration(tls);
    m_socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port, QStringLiteral("localhost"));
    m_socket.waitForEncrypted(10000);
}

void EdgeTestClient::send(const QByteArray &bytes)
{
    m_socket.write(bytes);
    m_socket.waitForBytesWritten(5000);
    while (m_socket.bytesToWrite() > 0 && m_socket.waitForBytesWritten(5000)) {
    }
}

bool EdgeTestClient::fill(int timeoutMs)
{
    if (m_socket.bytesAvailable() == 0 && !m_socket.waitForReadyRead(timeoutMs))
        return false;
    m_buffer += m_socket.readAll();
    return true;
}

EdgeTestClient::Response EdgeTestClient::readHead(int timeoutMs)
{
    Response r;
    QDeadlineTimer deadline(timeoutMs);
    qsizetype headEnd;
    while ((headEnd = m_buffer.indexOf("\r\n\r\n")) < 0) {
        if (!fill(int(deadline.remainingTime())))
            return r;
    }
    r.rawHead = m_buffer.left(headEnd + 4);
    const QList<QByteArray> lines = m_buffer.left(headEnd).split('\n');
    m_buffer.remove(0, headEnd + 4);
    r.status = lines.value(0).split(' ').value(1).toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        const qsizetype colon = line.indexOf(':');
        r.headers.insert(line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed());
    }
    r.ok = true; // a whole head; its status may still be anything
    return r;
}

EdgeTestClient::Response EdgeTestClient::read(bool headRequest, int timeoutMs, bool keepBody)
{
    QDeadlineTimer deadline(timeoutMs);
    Response r;
    do { // interim responses (1xx) are skipped
        r = readHead(int(deadline.remainingTime()));
        if (!r.ok)
            return r;
    } while (r.status >= 100 && r.status < 200);
    r.ok = false;
    if (headRequest || r.status == 204 || r.status == 304) {
        r.ok = true;
        return r;
    }
    auto take = [&](qint64 n) {
        r.bodyBytes += n;
        if (keepBody)
            r.body += m_buffer.left(n);
        m_buffer.remove(0, n);
    };
    if (r.headers.value("transfer-encoding").toLower() == "chunked") {
        for (;;) {
            qsizetype eol;
            while ((eol = m_buffer.indexOf("\r\n")) < 0) {
                if (!fill(int(deadline.remainingTime())))
                    return r;
            }
            const qint64 size = m_buffer.left(eol).split(';').value(0).toLongLong(nullptr, 16);
            m_buffer.remove(0, eol + 2);
            if (size == 0) {
                // trailers until an empty line
                for (;;) {
                    while ((eol = m_buffer.indexOf("\r\n")) < 0) {
                        if (!fill(int(deadline.remainingTime())))
                            return r;
                    }
                    const bool empty = eol == 0;
                    m_buffer.remove(0, eol + 2);
                    if (empty)
                        break;
                }
                break;
            }
            while (m_buffer.size() < size + 2) {
                if (!fill(int(deadline.remainingTime())))
                    return r;
            }
            take(size);
            m_buffer.remove(0, 2);
        }
    } else if (r.headers.contains("content-length")) {
        qint64 left = r.headers.value("content-length").toLongLong();
        while (left > 0) {
            if (m_buffer.isEmpty() && !fill(int(deadline.remainingTime())))
                return r;
            const qint64 n = qMin<qint64>(left, m_buffer.size());
            take(n);
            left -= n;
        }
    } else {
        while (fill(int(deadline.remainingTime()))) {
        }
        take(m_buffer.size());
    }
    r.ok = true;
    return r;
}

EdgeTestClient::Response EdgeTestClient::get(const QByteArray &path, const QByteArray &extraHeaders)
{
    send("GET " + path + " HTTP/1.1\r\nHost: edge.test\r\n" + extraHeaders + "\r\n");
    return read();
}

bool EdgeTestClient::waitClosed(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        if (m_socket.state() != QAbstractSocket::ConnectedState)
            return true;
        if (m_socket.waitForReadyRead(int(deadline.remainingTime())))
            m_buffer += m_socket.readAll();
        else if (m_socket.state() != QAbstractSocket::ConnectedState
                 || m_socket.error() == QAbstractSocket::RemoteHostClosedError)
            return true;
    }
    return m_socket.state() != QAbstractSocket::ConnectedState;
}
