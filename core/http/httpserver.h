#pragma once

#include "core/http/httphandler.h"
#include "core/http/httpserverconfig.h"

#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QString>

#include <chrono>
#include <functional>
#include <memory>

class QThread;
class QTimer;

namespace Meridian {

namespace Internal {
struct ServerContext;
class HttpWorker;
} // namespace Internal

// What the server reports after each response has been handed to the socket (for access logs
// and metrics). Called on the connection's thread.
struct HttpAccessRecord
{
    QByteArray method;
    QByteArray path;
    QByteArray target;    // path and query as the request line had them
    QByteArray userAgent; // tells health checks (meridian-health/...) from users
    int status = 0;
    qint64 bytesSent = 0;
    std::chrono::nanoseconds duration{0};
    QHostAddress peerAddress;
};

// An HTTP/1.1 server: keep-alive, pipelining (answers leave in request order), Content-Length
// and chunked request bodies, size limits (431/413), header/body/idle/write timeouts (408),
// strict parsing (400 with a JSON error), HEAD, asynchronous and streaming answers (SSE).
// Every request goes to one HttpHandler (usually HttpRouter::handler()).
//
// Threading: with config.workerThreads == 0 everything runs on the thread that owns the server.
// With N > 0, N threads each run an event loop with their own SO_REUSEPORT listening socket on
// the same port; the handler is then called on those threads and must be thread-safe.
class HttpServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpServer)

public:
    using RequestObserver = std::function<void(const HttpAccessRecord &record)>;

    explicit HttpServer(HttpServerConfig config = {}, QObject *parent = nullptr);
    ~HttpServer() override;

    // Both must be set before listen().
    void setHandler(HttpHandler handler);
    void setRequestObserver(RequestObserver observer);
    const HttpServerConfig &config() const;

    // Binds and listens; port 0 lets the OS choose (see serverPort()). On failure returns false
    // and errorString() says why.
    bool listen(const QHostAddress &address, quint16 port = 0);
    bool isListening() const { return m_listening; }
    QString errorString() const { return m_errorString; }
    QHostAddress serverAddress() const { return m_address; }
    quint16 serverPort() const { return m_port; }

    qint64 openConnections() const;
    qint64 inFlightRequests() const;

    // Graceful stop: no new connections; idle keep-alive connections close now; others finish
    // the requests they already sent (answered with "Connection: close"). After `deadline`
    // whatever is left is cut. Emits shutdownFinished() when no connection remains.
    void shutdown(std::chrono::milliseconds deadline);
    // Stops listening and drops every connection at once.
    void close();

signals:
    void shutdownFinished();

private:
    void onConnectionClosed();
    void stopWorkers();
    template<typename F>
    void forEachWorker(F f);

    std::shared_ptr<Internal::ServerContext> m_context;
    QList<Internal::HttpWorker *> m_workers;
    QList<QThread *> m_threads;
    QTimer *m_shutdownTimer = nullptr;
    QHostAddress m_address;
    quint16 m_port = 0;
    QString m_errorString;
    bool m_listening = false;
    bool m_shuttingDown = false;
    bool m_shutdownReported = false;
};

} // namespace Meridian
