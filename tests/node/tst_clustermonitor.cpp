// ClusterMonitor's reachability rule against a real socket on loopback: a peer that answers is
// reachable; one that stops answering stays reachable through one unanswered probe and becomes
// unreachable on the second; one that refuses connections is unreachable at once.
#include "core/node/clustermonitor.h"
#include "core/node/peerclient.h"

#include <QList>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

// A peer's control port: answers every request with 200 and a JSON body, or accepts connections
// and never answers.
class FakePeer final : public QObject
{
    Q_OBJECT

public:
    FakePeer()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                connect(socket, &QTcpSocket::readyRead, this, [this, socket] { answer(socket); });
            }
        });
    }

    bool listen(quint16 port = 0) { return m_server.listen(QHostAddress::LocalHost, port); }
    quint16 port() const { return m_server.serverPort(); }
    void setSilent(bool silent) { m_silent = silent; }
    // Closes the listening socket and every accepted one: new connections are refused.
    void shutDown()
    {
        m_server.close();
        const auto sockets = findChildren<QTcpSocket *>();
        for (QTcpSocket *socket : sockets)
            socket->abort();
    }

private:
    void answer(QTcpSocket *socket)
    {
        if (!socket->readAll().contains("\r\n\r\n") || m_silent)
            return;
        socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
        socket->disconnectFromHost();
    }

    QTcpServer m_server;
    bool m_silent = false;
};

} // namespace

class tst_ClusterMonitor final : public QObject
{
    Q_OBJECT

private slots:
    void silentPeerNeedsTwoUnansweredProbes();
    void refusingPeerIsUnreachableAtOnce();

private:
    static PeerNode node(quint16 port)
    {
        return {u"peer"_s, false, QUrl(u"http://127.0.0.1:%1"_s.arg(port)), {}};
    }
};

void tst_ClusterMonitor::silentPeerNeedsTwoUnansweredProbes()
{
    FakePeer peer;
    QVERIFY(peer.listen());
    PeerClient client("token");
    // 100 ms interval: each probe times out after its floor of 1 s.
    ClusterMonitor monitor(u"self"_s, {node(peer.port())}, &client, 100);
    QList<bool> changes;
    connect(&monitor,
            &ClusterMonitor::reachabilityChanged,
            this,
            [&changes](const QString &, bool r) { changes.append(r); });
    monitor.start();
    QTRY_VERIFY_WITH_TIMEOUT(monitor.isReachable(u"peer"_s), 10000);

    peer.setSilent(true);
    QTRY_COMPARE_WITH_TIMEOUT(monitor.snapshot(u"peer"_s).probeFailures, 1, 10000);
    QVERIFY2(monitor.isReachable(u"peer"_s), "one unanswered probe must not mark a peer down");
    QTRY_VERIFY_WITH_TIMEOUT(!monitor.isReachable(u"peer"_s), 10000);
    QCOMPARE(monitor.snapshot(u"peer"_s).probeFailures, 2);
    QVERIFY(!monitor.snapshot(u"peer"_s).error.isEmpty());

    peer.setSilent(false);
    QTRY_VERIFY_WITH_TIMEOUT(monitor.isReachable(u"peer"_s), 10000);
    QCOMPARE(monitor.snapshot(u"peer"_s).probeFailures, 0);
    QCOMPARE(changes, (QList<bool>{true, false, true}));
}

void tst_ClusterMonitor::refusingPeerIsUnreachableAtOnce()
{
    FakePeer peer;
    QVERIFY(peer.listen());
    PeerClient client("token");
    ClusterMonitor monitor(u"self"_s, {node(peer.port())}, &client, 100);
    monitor.start();
    QTRY_VERIFY_WITH_TIMEOUT(monitor.isReachable(u"peer"_s), 10000);

    peer.shutDown();
    QTRY_VERIFY_WITH_TIMEOUT(!monitor.isReachable(u"peer"_s), 10000);
    QCOMPARE(monitor.snapshot(u"peer"_s).probeFailures, 1);
}

QTEST_GUILESS_MAIN(tst_ClusterMonitor)
#include "tst_clustermonitor.moc"
