#pragma once

// Clients that connect and then send nothing, each holding one of the server's descriptors: for
// tests that run a server out of file descriptors.
#include <QHostAddress>
#include <QTcpSocket>

#include <memory>
#include <vector>

namespace MeridianTest {

// Connects `count` clients to `port` on 127.0.0.1, each within 5 s; stops at the first that
// cannot, so the caller compares the number returned with `count`.
inline std::vector<std::unique_ptr<QTcpSocket>> connectIdleClients(quint16 port, int count)
{
    std::vector<std::unique_ptr<QTcpSocket>> clients;
    for (int i = 0; i < count; ++i) {
        auto socket = std::make_unique<QTcpSocket>();
        socket->connectToHost(QHostAddress::LocalHost, port);
        if (!socket->waitForConnected(5000))
            break;
        clients.push_back(std::move(socket));
    }
    return clients;
}

} // namespace MeridianTest
