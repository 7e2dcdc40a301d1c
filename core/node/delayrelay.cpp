#include "core/node/delayrelay.h"

#include <QElapsedTimer>
#include <QPointer>
#include <QTcpSocket>
#include <QTimer>

#include <deque>

namespace Meridian {

namespace {

// One direction of a relayed connection: bytes read from `from` are written to `to` once
// `delayMs` have passed since they arrived.
class DelayedPipe final : public QObject
{
public:
    DelayedPipe(QTcpSocket *from, QTcpSocket *to, int delayMs, QObject *parent)
        : QObject(parent)
        , m_from(from)
        , m_to(to)
        , m_delayMs(delayMs)
    {
        m_clock.start();
        m_timer.setSingleShot(true);
        m_timer.setTimerType(Qt::PreciseTimer);
        connect(&m_timer, &QTimer::timeout, this, &DelayedPipe::flush);
        connect(m_from, &QTcpSocket::readyRead, this, &DelayedPipe::read);
    }

    void read()
    {
        const QByteArray data = m_from->readAll();
        if (data.isEmpty())
            return;
        m_queue.push_back({m_clock.elapsed() + m_delayMs, data});
        if (!m_timer.isActive())
            schedule();
    }

    void flush()
    {
        if (!m_to)
            return;
        if (m_to->state() != QAbstractSocket::ConnectedState)
            return; // kept until the target connects (flush() is called again then)
        const qint64 now = m_clock.elapsed();
        while (!m_queue.empty() && m_queue.front().first <= now) {
            m_to->write(m_queue.front().second);
            m_queue.pop_front();
        }
        schedule();
    }

private:
    void schedule()
    {
        if (m_queue.empty())
            return;
        m_timer.start(int(std::max<qint64>(0, m_queue.front().first - m_clock.elapsed())));
    }

    QPointer<QTcpSocket> m_from;
    QPointer<QTcpSocket> m_to;
    int m_delayMs;
    QElapsedTimer m_clock;
    QTimer m_timer;
    std::deque<std::pair<qint64, QByteArray>> m_queue;
};

} // namespace

DelayRelay::DelayRelay(QHostAddress target, quint16 targetPort, int oneWayDelayMs, QObject *parent)
    : QObject(parent)
    , m_target(std::move(target))
    , m_targetPort(targetPort)
    , m_delayMs(oneWayDelayMs)
{
    connect(&m_server, &QTcpServer::newConnection, this, &DelayRelay::acceptConnections);
}

bool DelayRelay::listen()
{
    return m_server.listen(QHostAddress::LocalHost, 0);
}

void DelayRelay::acceptConnections()
{
    while (QTcpSocket *client = m_server.nextPendingConnection()) {
        client->setParent(this);
        auto *upstream = new QTcpSocket(this);
        // Each connection owns its two pipes through a holder object; closing either side
        // closes the other once everything in flight has been delivered.
        auto *holder = new QObject(this);
        auto *toUpstream = new DelayedPipe(client, upstream, m_delayMs, holder);
        auto *toClient = new DelayedPipe(upstream, client, m_delayMs, holder);
        client->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        upstream->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        auto closeBoth = [client, upstream, holder]() {
            if (!holder->property("closing").toBool()) {
                holder->setProperty("closing", true);
                QTimer::singleShot(0, holder, [client, upstream, holder]() {
                    client->disconnectFromHost();
                    upstream->disconnectFromHost();
                    client->deleteLater();
                    upstream->deleteLater();
                    holder->deleteLater();
                });
            }
        };
        // Delay the close by the relay delay too, so data queued before it still arrives.
        auto closeLater = [this, closeBoth, holder]() {
            QTimer::singleShot(m_delayMs + 1, holder, closeBoth);
        };
        connect(client, &QTcpSocket::disconnected, holder, closeLater);
        connect(upstream, &QTcpSocket::disconnected, holder, closeLater);
        connect(upstream, &QTcpSocket::errorOccurred, holder, closeLater);
        connect(upstream, &QTcpSocket::connected, toUpstream, &DelayedPipe::flush);
        Q_UNUSED(toClient);
        upstream->connectToHost(m_target, m_targetPort);
    }
}

} // namespace Meridian
