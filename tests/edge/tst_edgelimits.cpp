// The edge out of file descriptors: a connection it cannot accept stays queued, so a
// level-triggered listener would wake its loop at once, forever (a core at 100 % doing nothing).
// The edge runs in a process of its own with a 64-descriptor limit, and idle clients hold them.
#include "../idleclients.h"
#include "../processcpu.h"

#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include <memory>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

class tst_EdgeLimits final : public QObject
{
    Q_OBJECT

private slots:
    void outOfDescriptorsRestsTheListener();
};

void tst_EdgeLimits::outOfDescriptorsRestsTheListener()
{
    quint16 port = 0;
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        port = probe.serverPort();
    }
    QProcess edge;
    edge.setProcessChannelMode(QProcess::MergedChannels);
    edge.setChildProcessModifier([] {
        const rlimit limit{64, 64};
        setrlimit(RLIMIT_NOFILE, &limit);
    });
    // The region is a closed port: the test needs the edge's accepting, not its proxying.
    edge.start(QStringLiteral(EDGETOOL_PATH),
               {u"--listen"_s,
                u"127.0.0.1:%1"_s.arg(port),
                u"--workers"_s,
                u"1"_s,
                u"--region"_s,
                u"r1=http://127.0.0.1:9"_s});
    QVERIFY(edge.waitForStarted());
    QByteArray log;
    QTRY_VERIFY_WITH_TIMEOUT((log += edge.readAll()).contains("listening"), 10000);

    // More idle clients than the edge has descriptors: the kernel accepts them all into the
    // listen queue; the edge runs out part way.
    auto clients = MeridianTest::connectIdleClients(port, 100);
    QCOMPARE(int(clients.size()), 100);
    QTRY_VERIFY_WITH_TIMEOUT((log += edge.readAll()).contains("cannot accept connections"), 10000);
    QVERIFY2(log.contains("Too many open files"), log.constData());

    // While out of descriptors, the worker rests instead of spinning: over one second of wall
    // time it uses a small part of a core (spinning, it used all of it).
    const qint64 used = MeridianTest::processCpuMsDuring(edge.processId(), 1000);
    QVERIFY2(used >= 0 && used < 300, qPrintable(u"%1 ms of CPU in 1 s"_s.arg(used)));

    // Descriptors free again: queued and new connections are served.
    clients.clear();
    QTcpSocket late;
    late.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(late.waitForConnected(5000));
    late.write("GET / HTTP/1.1\r\nHost: edge.test\r\n\r\n");
    QByteArray answer;
    QTRY_VERIFY_WITH_TIMEOUT((answer += late.readAll()).contains("\r\n\r\n"), 10000);
    QVERIFY2(answer.startsWith("HTTP/1.1 502"), answer.constData()); // the region is down

    edge.terminate();
    QVERIFY(edge.waitForFinished(10000));
}

QTEST_GUILESS_MAIN(tst_EdgeLimits)
#include "tst_edgelimits.moc"
