#pragma once

#include <QHostAddress>
#include <QObject>
#include <QTcpServer>

namespace Meridian {

// A loopback TCP relay that delays every byte by a fixed one-way latency in each direction: how a
// local cluster simulates WAN distance between regions without root (no tc/netem). The node runs
// one in front of each peer's replication and control address when `wan.simulate` is on, so
// replication lag and the probed RTT are real effects of the delay. Order is preserved (FIFO per
// direction); backpressure is the socket buffers'.
class DelayRelay final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DelayRelay)

public:
    DelayRelay(QHostAddress target,
               quint16 targetPort,
               int oneWayDelayMs,
               QObject *parent = nullptr);

    // Listens on 127.0.0.1 with an OS-chosen port; false with errorString() on failure.
    bool listen();
    quint16 port() const { return m_server.serverPort(); }
    QString errorString() const { return m_server.errorString(); }
    int oneWayDelayMs() const { return m_delayMs; }

private:
    void acceptConnections();

    QTcpServer m_server;
    QHostAddress m_target;
    quint16 m_targetPort;
    int m_delayMs;
};

} // namespace Meridian
