#pragma once

#include "core/edge/edgeloop.h"

#include <QThread>

#include <memory>

namespace Meridian {

// One edge worker thread: runs its EdgeLoop (own epoll set, listener and upstream pools)
// until asked to stop.
class EdgeWorker final : public QThread
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EdgeWorker)

public:
    EdgeWorker(int index, std::shared_ptr<const EdgeShared> shared, QObject *parent = nullptr);
    ~EdgeWorker() override;

    bool listen(quint16 port, quint16 tlsPort, QString *error);
    quint16 port() const;
    quint16 tlsPort() const;
    EdgeLoop::TlsCounters tlsCounters() const { return m_loop->tlsCounters(); }
    quint64 busyPollMicros() const { return m_loop->busyPollMicros(); }
    // Thread-safe; returns at once. The thread finishes in-flight exchanges for up to `graceMs`.
    void requestStop(int graceMs);

protected:
    void run() override;

private:
    std::unique_ptr<EdgeLoop> m_loop;
};

} // namespace Meridian
