#pragma once

#include <QByteArray>
#include <QHash>
#include <QMutex>
#include <QObject>
#include <QSet>
#include <QThread>

#include <atomic>

class QSslConfiguration;
class QTcpServer;
class QTcpSocket;

// A small HTTP/1.1 region stand-in for proxy tests, served from its own thread so that tests
// can use blocking client sockets. Routes:
//   /hello            200, a short body
//   /chunked          200, a chunked body of several chunks ("part0..part4")
//   /big?n=N          200, N bytes (Content-Length), written in 64 KiB slices
//   /echo             200, the request body (Content-Length or chunked) echoed back
// A request with `Expect: 100-continue` gets a 100 Continue as soon as its head is in.
//   /headers          200, the request's header lines as the body
//   /status/NNN[-x]   that status (with a query: the query as Cache-Control)
//   /slow             never answers
//   /close            200 with Connection: close
//   /cache/...        200 with the query as Cache-Control, an ETag (which names the content
//                     version, see setContentVersion()), and 304 on If-None-Match
//   /cache/slow...    the same, 300 ms later (/cache/slower...: 2 s)
//   /cache/vary-lang... the same with Vary: Accept-Language
class TestUpstream final : public QObject
{
    Q_OBJECT
public:
    explicit TestUpstream(const QByteArray &region = {});
    // A region serving HTTPS with `tls` (certificate and key); url() says https://.
    TestUpstream(const QByteArray &region, const QSslConfiguration &tls);
    ~TestUpstream() override;

    quint16 port() const { return m_port; }
    QByteArray url() const;
    int requests() const { return m_requests.load(); }
    int connections() const { return m_connections.load(); }
    int openConnections() const { return m_open.load(); } // accepted and not yet closed
    int requestsFor(const QByteArray &path) const;
    // The header lines ("Name: value\n" each) of the last request for `path`.
    QByteArray lastHeadersFor(const QByteArray &path) const;
    // The most /cache/slow... requests it was answering at once, since the last reset.
    int mostSlowAtOnce() const { return m_mostSlow.load(); }
    void resetMostSlowAtOnce() { m_mostSlow.store(0); }
    // Stops listening and drops every connection (a region going down).
    void shutdown();
    // Answers every request with this status (0: normal routes), e.g. 503 for a sick region.
    void setForcedStatus(int status) { m_forcedStatus.store(status); }
    // A new version of every /cache/ resource: new ETags, so revalidations get a 200 (a deploy).
    void setContentVersion(int version) { m_contentVersion.store(version); }

private:
    void serve(QTcpServer *server);
    void onNewConnection();
    void onReadyRead(QTcpSocket *socket);
    bool handleOne(QTcpSocket *socket, QByteArray &buffer);

    QThread m_thread;
    QTcpServer *m_server = nullptr;
    QByteArray m_region;
    quint16 m_port = 0;
    bool m_tls = false;
    std::atomic<int> m_requests{0};
    std::atomic<int> m_connections{0};
    std::atomic<int> m_open{0};
    std::atomic<int> m_forcedStatus{0};
    std::atomic<int> m_contentVersion{0};
    int m_slowNow = 0; // the server thread's
    std::atomic<int> m_mostSlow{0};
    mutable QMutex m_mutex;
    QHash<QByteArray, int> m_perPath;
    QHash<QByteArray, QByteArray> m_lastHeaders;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QSet<QTcpSocket *> m_continued; // sent 100 Continue for the request being read
};
