#pragma once

#include <QObject>

#include <memory>

namespace Meridian {
class AcceptGuard;
class DescriptorListener;
} // namespace Meridian

namespace Meridian::Internal {

struct ServerContext;
class HttpConnection;

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
    DescriptorListener *m_listener = nullptr;
    bool m_shuttingDown = false;
    AcceptGuard *m_acceptGuard = nullptr; // child of m_listener
};

} // namespace Meridian::Internal
