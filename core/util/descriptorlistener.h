#pragma once

#include <QTcpServer>

namespace Meridian {

// A QTcpServer that hands each accepted descriptor to whoever listens to accepted(), so the
// receiver makes the socket it needs (a QSslSocket for TLS, a worker's own connection) instead
// of getting a QTcpSocket to throw away.
class DescriptorListener final : public QTcpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DescriptorListener)

public:
    explicit DescriptorListener(QObject *parent)
        : QTcpServer(parent)
    {}

signals:
    void accepted(qintptr descriptor);

protected:
    void incomingConnection(qintptr descriptor) override;
};

} // namespace Meridian
