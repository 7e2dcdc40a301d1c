#include "testupstream.h"

#include <QMetaObject>
#include <QMutexLocker>
#include <QPointer>
#include <QSslConfiguration>
#include <QSslServer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrlQuery>

#include <algorithm>

using namespace Qt::StringLiterals;

TestUpstream::TestUpstream(const QByteArray &region)
    : m_region(region)
{
    serve(new QTcpServer(this));
}

TestUpstream::TestUpstream(const QByteArray &region, const QSslConfiguration &tls)
    : m_region(region)
    , m_tls(true)
{
    auto *server = new QSslServer(this);
    server->setSslConfiguration(tls);
    serve(server);
}

void TestUpstream::serve(QTcpServer *server)
{
    m_server = server;
    m_server->listen(QHostAddress::LocalHost, 0);
    m_port = m_server->serverPort();
    // Connections join the queue once usable: at once, or after the TLS handshake.
    connect(m_server, &QTcpServer::pendingConnectionAvailable, this, &TestUpstream::onNewConnection);
    moveToThread(&m_thread);
    m_thread.start();
}

TestUpstream::~TestUpstream()
{
    shutdown();
    m_thread.quit();
    m_thread.wait();
}

QByteArray TestUpstream::url() const
{
    return (m_tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + QByteArray::number(m_port);
}

int TestUpstream::requestsFor(const QByteArray &path) const
{
    QMutexLocker lock(&m_mutex);
    return m_perPath.value(path);
}

QByteArray TestUpstream::lastHeadersFor(const QByteArray &path) const
{
    QMutexLocker lock(&m_mutex);
    return m_lastHeaders.value(path);
}

void TestUpstream::shutdown()
{
    QMetaObject::invokeMethod(
            this,
            [this] {
                if (!m_server)
                    return;
                m_server->close();
                const QList<QTcpSocket *> sockets = m_buffers.keys();
                m_buffers.clear();
                m_continued.clear();
                m_open = 0;
                for (QTcpSocket *socket : sockets) {
                    socket->disconnect(this);
                    socket->abort();
                    delete socket;
                }
                delete m_server;
                m_server = nullptr;
            },
            Qt::BlockingQueuedConnection);
}

void TestUpstream::onNewConnection()
{
    while (QTcpSocket *s = m_server->nextPendingConnection()) {
        ++m_connections;
        ++m_open;
        s->setParent(nullptr);
        m_buffers.insert(s, {});
        connect(s, &QTcpSocket::readyRead, this, [this, s] { onReadyRead(s); });
        connect(s, &QTcpSocket::disconnected, this, [this, s] {
            m_buffers.remove(s);
            m_continued.remove(s);
            --m_open;
            s->deleteLater();
        });
    }
}

void TestUpstream::onReadyRead(QTcpSocket *socket)
{
    auto it = m_buffers.find(socket);
    if (it == m_buffers.end())
        return;
    it->append(socket->readAll());
    while (handleOne(socket, *it)) {
        it = m_buffers.find(socket);
        if (it == m_buffers.end())
            return;
    }
}

// Handles one complete request at the front of `buffer`; false while incomplete.
bool TestUpstream::handleOne(QTcpSocket *socket, QByteArray &buffer)
{
    const qsizetype headEnd = buffer.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return false;
    const QList<QByteArray> lines = buffer.left(headEnd).split('\n');
    const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
    QByteArray headers;
    qint64 length = 0;
    bool chunked = false;
    QByteArray ifNoneMatch;
    bool expectContinue = false;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        headers += line + '\n';
        const qsizetype colon = line.indexOf(':');
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed();
        if (name == "content-length")
            length = value.toLongLong();
        else if (name == "transfer-encoding")
            chunked = value.toLower() == "chunked";
        else if (name == "if-none-match")
            ifNoneMatch = value;
        else if (name == "expect")
            expectContinue = value.toLower() == "100-continue";
    }
    // Like a real server: tell a client that waits for it to send the body, once per request.
    if (expectContinue && !m_continued.contains(socket)) {
        m_continued.insert(socket);
        socket->write("HTTP/1.1 100 Continue\r\n\r\n");
        socket->flush();
    }
    qsizetype pos = headEnd + 4;
    QByteArray body;
    if (chunked) {
        for (;;) {
            const qsizetype eol = buffer.indexOf("\r\n", pos);
            if (eol < 0)
                return false;
            bool ok = false;
            const qint64 size = buffer.mid(pos, eol - pos).split(';').value(0).toLongLong(&ok, 16);
            if (!ok)
                return false;
            if (size == 0) {
                const qsizetype end = buffer.indexOf("\r\n", eol + 2);
                if (end < 0)
                    return false;
                pos = end + 2;
                break;
            }
            if (buffer.size() < eol + 2 + size + 2)
                return false;
            body += buffer.mid(eol + 2, size);
            pos = eol + 2 + size + 2;
        }
    } else {
        if (buffer.size() < pos + length)
            return false;
        body = buffer.mid(pos, length);
        pos += length;
    }
    buffer.remove(0, pos);
    m_continued.remove(socket);

    const QByteArray target = requestLine.value(1);
    const QByteArray path = target.split('?').value(0);
    const QByteArray query = target.contains('?') ? target.mid(target.indexOf('?') + 1)
                                                  : QByteArray();
    ++m_requests;
    {
        QMutexLocker lock(&m_mutex);
        ++m_perPath[path];
        m_lastHeaders[path] = headers;
    }
    QByteArray extra;
    if (!m_region.isEmpty())
        extra += "X-Meridian-Region: " + m_region + "\r\n";
    auto reply = [&](int status, const QByteArray &payload, const QByteArray &more = {}) {
        socket->write("HTTP/1.1 " + QByteArray::number(status) + " Test\r\nContent-Length: "
                      + QByteArray::number(payload.size()) + "\r\n" + extra + more + "\r\n");
        if (requestLine.value(0) != "HEAD")
            socket->write(payload);
    };
    if (const int forced = m_forcedStatus.load()) {
        reply(forced, "forced\n");
    } else if (path == "/hello") {
        reply(200, "hello from " + m_region + "\n");
    } else if (path == "/chunked") {
        QByteArray out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + extra + "\r\n";
        for (int i = 0; i < 5; ++i) {
            const QByteArray part = "part" + QByteArray::number(i);
            out += QByteArray::number(part.size(), 16) + "\r\n" + part + "\r\n";
        }
        out += "0\r\nX-Trailer: yes\r\n\r\n";
        socket->write(out);
    } else if (path == "/big") {
        const qint64 n = QUrlQuery(QString::fromLatin1(query)).queryItemValue(u"n"_s).toLongLong();
        socket->write("HTTP/1.1 200 OK\r\nContent-Length: " + QByteArray::number(n) + "\r\n" + extra
                      + "\r\n");
        QByteArray slice(64 * 1024, 'b');
        for (qint64 sent = 0; sent < n; sent += slice.size()) {
            socket->write(slice.constData(), qMin<qint64>(slice.size(), n - sent));
            // Keep memory bounded: let the kernel take what it can before writing more.
            while (socket->bytesToWrite() > 1024 * 1024
                   && socket->state() == QAbstractSocket::ConnectedState)
                socket->waitForBytesWritten(5000);
        }
    } else if (path == "/echo") {
        reply(200, body);
    } else if (path == "/headers") {
        reply(200, headers);
    } else if (path.startsWith("/status/")) {
        const QByteArray cc = QByteArray::fromPercentEncoding(query);
        reply(path.mid(8).split('-').constFirst().toInt(),
              "status\n",
              cc.isEmpty() ? QByteArray() : "Cache-Control: " + cc + "\r\n");
    } else if (path == "/slow") {
        // no answer
    } else if (path == "/close") {
        reply(200, "bye\n", "Connection: close\r\n");
        socket->disconnectFromHost();
        return false;
    } else if (path.startsWith("/cache/")) {
        const int version = m_contentVersion.load();
        const QByteArray etag = "\"v" + (version ? QByteArray::number(version) : QByteArray()) + "-"
                                + path.mid(7) + "\"";
        const QByteArray cc = QByteArray::fromPercentEncoding(query);
        // X-Response numbers every answer, 304s included: what a region's Date does.
        QByteArray more = "ETag: " + etag
                          + "\r\nX-Response: " + QByteArray::number(m_requests.load()) + "\r\n";
        if (!cc.isEmpty())
            more += "Cache-Control: " + cc + "\r\n";
        if (path.startsWith("/cache/vary-lang"))
            more += "Vary: Accept-Language\r\n";
        const QByteArray payload = "cached body " + path + " "
                                   + QByteArray::number(m_requests.load()) + "\n";
        const QByteArray answer = ifNoneMatch == etag
                                          ? "HTTP/1.1 304 Not Modified\r\n" + extra + more + "\r\n"
                                          : "HTTP/1.1 200 Test\r\nContent-Length: "
                                                    + QByteArray::number(payload.size()) + "\r\n"
                                                    + extra + more + "\r\n"
                                                    + (requestLine.value(0) == "HEAD" ? QByteArray()
                                                                                      : payload);
        if (path.startsWith("/cache/slow")) {
            // The same answer (a 304 too) 300 ms (/cache/slower: 2 s) later: requests for it
            // overlap at the edge.
            m_mostSlow.store(std::max(m_mostSlow.load(), ++m_slowNow));
            QTimer::singleShot(path.startsWith("/cache/slower") ? 2000 : 300,
                               this,
                               [this, socket = QPointer<QTcpSocket>(socket), answer] {
                                   --m_slowNow;
                                   if (socket)
                                       socket->write(answer);
                               });
        } else {
            socket->write(answer);
        }
    } else {
        reply(404, "not found\n");
    }
    return true;
}
