#pragma once

#include <QObject>
#include <QTcpServer>

#include <memory>

namespace Meridian {
class AcceptGuard;
}

namespace Meridian::Internal {

struct ServerContext;
class HttpConnection;

// A QTcpServer on an already listening descriptor that hands accepted descriptors straight to
// its worker (no QTcpSocket is made and then thrown away).
class HttpListener final : public QTcpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpListener)

public:
    explicit HttpListener(QObject *parent)
        : QTcpServer(parent)
    {}

signals:
    void accepted(qintptr descriptor);

protected:
    void incomingConnection(qintptr descriptor) override;
};

// One event loop's share of a server: a listening socket and the connections it accepted.
// Lives on its own thread (or the server's thread when there are no worker threads).
class HttpWorker final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpWorker)

public:
    HttpWorker(std::shared_ptr<ServerContext> context, qintptr listenDescriptor);
    ~HttpWorker() override;

    // Called on the worker's thread.
    void start();
    void stopListening();
    void beginShutdown();
    void abortAll();

signals:
    void connectionClosed();

private:
    void accept(qintptr descriptor);

    std::shared_ptr<ServerContext> m_context;
    qintptr m_listenDescriptor;
    HttpListener *m_listener = nullptr;
    bool m_shuttingDown = false;
    AcceptGuard *m_acceptGuard = nullptr; // child of m_listener
};

} // namespace Meridian::Internal
