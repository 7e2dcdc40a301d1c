// meridiand refuses an invalid configuration with exit code 2 and a message that names the file,
// the field and what is wrong; it starts on a minimal valid one, reopens its audit log on SIGHUP
// and stops on SIGTERM with 0; two nodes configured for the NATS transport replicate through a
// real nats-server; it raises its open-files limit and keeps serving after running out of them;
// a lock another process holds on its store fails writes soon instead of freezing the node;
// --check validates a configuration without starting anything.
#include "../idleclients.h"
#include "../processcpu.h"
#include "core/control/tokenauth.h"
#include "core/sync/sqlitedb.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QSignalSpy>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <memory>
#include <optional>
#include <vector>

#include <sys/resource.h>

using namespace Qt::StringLiterals;

class tst_Meridiand final : public QObject
{
    Q_OBJECT

private slots:
    void invalidConfigExits2_data();
    void invalidConfigExits2();
    void checkStartsNothing();
    void singleNodeStartsAndStops();
    void twoNodesReplicateOverNats();
    void openFilesLimitIsRaised();
    void outOfDescriptorsKeepsServing_data();
    void outOfDescriptorsKeepsServing();
    void storeLockedByAnotherProcess();
    void controlApiOverHttps();
    void dataPortAccessLog();
    void edgeServesHttps();

private:
    struct Started
    {
        QList<quint16> ports; // data, control, sync
        QString dataDir;
        QByteArray log; // its output until it was ready
    };
    // A single region node on fresh loopback ports, started and ready; with a soft limit > 0,
    // under that open-files limit.
    // `adjust` changes the configuration before it is written.
    std::optional<Started> startNode(QProcess &process,
                                     rlim_t softLimit = 0,
                                     rlim_t hardLimit = 0,
                                     const std::function<void(QJsonObject &)> &adjust = {});
    QJsonObject validConfig(const QString &dir, QList<quint16> ports) const;
    QString write(const QByteArray &content);
    QTemporaryDir m_dir;
};

namespace {

// One request on a connection of its own; the whole answer (Content-Length framed), or what
// arrived before `timeoutMs`.
QByteArray exchange(quint16 port, const QByteArray &request, int timeoutMs)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeoutMs))
        return {};
    socket.write(request);
    QDeadlineTimer deadline(timeoutMs);
    QByteArray answer;
    for (;;) {
        const qsizetype end = answer.indexOf("\r\n\r\n");
        if (end >= 0) {
            const qsizetype at = answer.toLower().indexOf("content-length: ");
            const qsizetype length = at < 0 ? 0 : answer.mid(at + 16).split('\r').value(0).toInt();
            if (answer.size() >= end + 4 + length)
                return answer;
        }
        if (deadline.hasExpired() || !socket.waitForReadyRead(int(deadline.remainingTime())))
            return answer;
        answer += socket.readAll();
    }
}

} // namespace

QJsonObject tst_Meridiand::validConfig(const QString &dir, QList<quint16> ports) const
{
    return QJsonObject{
            {u"region"_s, u"us-east"_s},
            {u"data_dir"_s, dir + u"/data"_s},
            {u"listen"_s,
             QJsonObject{{u"data"_s, u"127.0.0.1:%1"_s.arg(ports.at(0))},
                         {u"control"_s, u"127.0.0.1:%1"_s.arg(ports.at(1))},
                         {u"sync"_s, u"127.0.0.1:%1"_s.arg(ports.at(2))}}},
            {u"regions"_s,
             QJsonArray{QJsonObject{{u"id"_s, u"us-east"_s},
                                    {u"lat"_s, 39.04},
                                    {u"lon"_s, -77.49},
                                    {u"data_url"_s, u"http://127.0.0.1:%1"_s.arg(ports.at(0))},
                                    {u"control_url"_s, u"http://127.0.0.1:%1"_s.arg(ports.at(1))},
                                    {u"sync_address"_s, u"127.0.0.1:%1"_s.arg(ports.at(2))}}}},
            {u"control"_s,
             QJsonObject{{u"tokens"_s,
                          QJsonArray{QJsonObject{{u"name"_s, u"ops"_s},
                                                 {u"role"_s, u"admin"_s},
                                                 {u"sha256"_s,
                                                  Meridian::TokenAuth::hashHex("s3cret")}}}}}}};
}

QString tst_Meridiand::write(const QByteArray &content)
{
    static int counter = 0;
    const QString path = m_dir.filePath(u"config-%1.json"_s.arg(++counter));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(content);
    return path;
}

void tst_Meridiand::invalidConfigExits2_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expected");
    QJsonObject config = validConfig(m_dir.path(), {1, 2, 3});
    QJsonObject control = config.value(u"control"_s).toObject();
    control.insert(u"min_active_regions"_s, -1);
    QJsonObject bad = config;
    bad.insert(u"control"_s, control);
    QTest::addRow("bad value") << QJsonDocument(bad).toJson()
                               << u"control.min_active_regions: must be from 0 to 1000 (got -1)"_s;
    bad = config;
    bad.insert(u"regoin"_s, u"us-east"_s);
    QTest::addRow("unknown option") << QJsonDocument(bad).toJson() << u"regoin: unknown option"_s;
    bad = config;
    bad.insert(u"sync"_s,
               QJsonObject{{u"transport"_s, u"nats"_s},
                           {u"nats"_s,
                            QJsonObject{{u"servers"_s, QJsonArray{u"http://127.0.0.1:4222"_s}}}}});
    QTest::addRow("nats url") << QJsonDocument(bad).toJson()
                              << u"sync.nats.servers: \"http://127.0.0.1:4222\" is not a NATS URL"_s;
    QTest::addRow("malformed json") << QByteArray("{\"region\": ") << u"not valid JSON"_s;
    QTest::addRow("missing file") << QByteArray() << u"cannot read the file"_s;
}

void tst_Meridiand::invalidConfigExits2()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, expected);
    const QString path = content.isEmpty() ? m_dir.filePath(u"missing.json"_s) : write(content);
    QProcess process;
    process.start(QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s, {u"--config"_s, path});
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 2);
    const QString err = QString::fromUtf8(process.readAllStandardError());
    QVERIFY2(err.contains(path), qPrintable(err));
    QVERIFY2(err.contains(expected), qPrintable(err));
}

void tst_Meridiand::checkStartsNothing()
{
    // --check validates the file and what it names, like `nginx -t`, and starts nothing.
    const QString dir = m_dir.filePath(u"check"_s);
    const auto check = [](const QString &path, QString *output) {
        QProcess process;
        process.start(QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s,
                      {u"--check"_s, u"--config"_s, path});
        if (!process.waitForFinished(10000) || process.exitStatus() != QProcess::NormalExit)
            return -1;
        *output = QString::fromUtf8(process.readAllStandardOutput()
                                    + process.readAllStandardError());
        return process.exitCode();
    };
    QJsonObject config = validConfig(dir, {1, 2, 3});
    QString output;
    QCOMPARE(check(write(QJsonDocument(config).toJson()), &output), 0);
    QVERIFY2(output.contains(u"is valid: node us-east, role region"_s), qPrintable(output));
    QVERIFY(!QFileInfo::exists(dir + u"/data"_s)); // no store was created

    // A file the node would open only at start: a MaxMind database that is not one.
    QJsonObject edge = config;
    edge.insert(u"role"_s, u"region+edge"_s);
    edge.insert(u"edge"_s,
                QJsonObject{{u"listen"_s, u"127.0.0.1:4"_s},
                            {u"maxmind_database"_s, write("not a MaxMind database")}});
    QCOMPARE(check(write(QJsonDocument(edge).toJson()), &output), 2);
    QVERIFY2(output.contains(u"edge.maxmind_database: cannot open"_s), qPrintable(output));

    // An access log where none can be written; the certificates' expiry is told.
    const QString tls = QStringLiteral(SRCDIR "../sync/tls/");
    QJsonObject logged = config;
    logged.insert(u"http"_s, QJsonObject{{u"access_log"_s, u"/proc/no-such-dir/access.log"_s}});
    QCOMPARE(check(write(QJsonDocument(logged).toJson()), &output), 2);
    QVERIFY2(output.contains(u"http.access_log: cannot open"_s), qPrintable(output));
    QJsonObject withTls = config;
    withTls.insert(u"sync"_s,
                   QJsonObject{{u"tls"_s,
                                QJsonObject{{u"cert_file"_s, tls + u"node.pem"_s},
                                            {u"key_file"_s, tls + u"node.key"_s},
                                            {u"ca_file"_s, tls + u"ca.pem"_s}}}});
    QCOMPARE(check(write(QJsonDocument(withTls).toJson()), &output), 0);
    QVERIFY2(output.contains(u"sync.tls: "_s) && output.contains(u"expires 2126-"_s),
             qPrintable(output));

    config.insert(u"regoin"_s, u"us-east"_s);
    QCOMPARE(check(write(QJsonDocument(config).toJson()), &output), 2);
    QVERIFY2(output.contains(u"regoin: unknown option"_s), qPrintable(output));
}

void tst_Meridiand::singleNodeStartsAndStops()
{
    QProcess process;
    const auto node = startNode(process);
    QVERIFY(node);
    const QList<quint16> ports = node->ports;
    QByteArray log = node->log;
    // One event per line, no colour escapes.
    QVERIFY(!log.contains('\x1b'));

    // The server's own answer to a malformed request still names the region, and the request
    // changes nothing (it never reaches a handler).
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, ports.at(0));
    QVERIFY(socket.waitForConnected(5000));
    socket.write("GET /api/kv/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    QByteArray answer;
    QTRY_VERIFY_WITH_TIMEOUT((answer += socket.readAll()).contains("\r\n\r\n"), 10000);
    QVERIFY2(answer.startsWith("HTTP/1.1 400"), answer.constData());
    QVERIFY2(answer.contains("\r\nX-Meridian-Region: us-east\r\n"), answer.constData());

    // SIGHUP reopens the audit log at its path (logrotate moves it away first); the node keeps
    // running. A refused control call is audited too, so one with a wrong token is enough.
    const auto refusedCall = [&ports]() {
        return exchange(ports.at(1),
                        "POST /v1/regions/us-east/drain HTTP/1.1\r\nHost: a\r\n"
                        "Authorization: Bearer wrong\r\nContent-Length: 0\r\n\r\n",
                        5000);
    };
    const auto auditLines = [&](const QString &name) {
        QFile file(node->dataDir + u'/' + name);
        return file.open(QIODevice::ReadOnly) ? file.readAll().count('\n') : -1;
    };
    QVERIFY(refusedCall().startsWith("HTTP/1.1 401"));
    QCOMPARE(auditLines(u"audit.jsonl"_s), 1);
    QVERIFY(QFile::rename(node->dataDir + u"/audit.jsonl"_s, node->dataDir + u"/audit.jsonl.1"_s));
    ::kill(pid_t(process.processId()), SIGHUP);
    QTRY_VERIFY_WITH_TIMEOUT((log += process.readAll()).contains("reopened the audit log"), 10000);
    QVERIFY(refusedCall().startsWith("HTTP/1.1 401"));
    QCOMPARE(auditLines(u"audit.jsonl"_s), 1);
    QCOMPARE(auditLines(u"audit.jsonl.1"_s), 1);
    QCOMPARE(process.state(), QProcess::Running);

    ::kill(pid_t(process.processId()), SIGTERM);
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
    log += process.readAll();
    QVERIFY2(log.contains("store flushed and closed"), log.constData());
}

void tst_Meridiand::twoNodesReplicateOverNats()
{
    const QString natsServer = QStandardPaths::findExecutable(u"nats-server"_s);
    if (natsServer.isEmpty())
        QSKIP("nats-server is not installed (Debian: apt install nats-server)");
    QList<quint16> ports;
    {
        QList<std::shared_ptr<QTcpServer>> probes;
        for (int i = 0; i < 7; ++i) {
            probes.append(std::make_shared<QTcpServer>());
            QVERIFY(probes.last()->listen(QHostAddress::LocalHost));
            ports.append(probes.last()->serverPort());
        }
    }
    QProcess nats;
    nats.setProcessChannelMode(QProcess::MergedChannels);
    nats.start(natsServer,
               {u"-js"_s,
                u"-a"_s,
                u"127.0.0.1"_s,
                u"-p"_s,
                QString::number(ports.at(6)),
                u"-sd"_s,
                m_dir.filePath(u"jetstream"_s)});
    QVERIFY(nats.waitForStarted());
    QByteArray natsLog;
    QTRY_VERIFY_WITH_TIMEOUT((natsLog += nats.readAll()).contains("Server is ready"), 10000);

    // Two regions (ports 0-2 and 3-5), replicating only through NATS.
    QJsonArray regions;
    for (int n = 0; n < 2; ++n) {
        QJsonObject region = validConfig(m_dir.path(), ports.mid(3 * n, 3))
                                     .value(u"regions"_s)
                                     .toArray()
                                     .first()
                                     .toObject();
        region.insert(u"id"_s, u"r%1"_s.arg(n));
        regions.append(region);
    }
    std::vector<std::unique_ptr<QProcess>> nodes;
    for (int n = 0; n < 2; ++n) {
        QJsonObject config = validConfig(m_dir.filePath(u"r%1"_s.arg(n)), ports.mid(3 * n, 3));
        config.insert(u"region"_s, u"r%1"_s.arg(n));
        config.insert(u"regions"_s, regions);
        config.insert(u"sync"_s,
                      QJsonObject{{u"transport"_s, u"nats"_s},
                                  {u"nats"_s,
                                   QJsonObject{{u"servers"_s,
                                                QJsonArray{
                                                        u"nats://127.0.0.1:%1"_s.arg(ports.at(6))}},
                                               {u"cluster"_s, u"meridiand"_s}}}});
        auto process = std::make_unique<QProcess>();
        process->setProcessChannelMode(QProcess::MergedChannels);
        process->start(QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s,
                       {u"--config"_s, write(QJsonDocument(config).toJson())});
        QVERIFY(process->waitForStarted());
        nodes.push_back(std::move(process));
    }
    const auto request = [](quint16 port, const QByteArray &head, const QByteArray &body) {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (!socket.waitForConnected(2000))
            return QByteArray();
        socket.write(head + "Host: x\r\nConnection: close\r\nContent-Length: "
                     + QByteArray::number(body.size()) + "\r\n\r\n" + body);
        QByteArray answer;
        while (socket.waitForReadyRead(2000))
            answer += socket.readAll();
        return answer;
    };
    QTRY_VERIFY_WITH_TIMEOUT(request(ports.at(0), "PUT /api/kv/greeting HTTP/1.1\r\n", "over nats")
                                     .startsWith("HTTP/1.1 2"),
                             10000);
    QTRY_VERIFY_WITH_TIMEOUT(request(ports.at(3), "GET /api/kv/greeting HTTP/1.1\r\n", {})
                                     .endsWith("over nats"),
                             15000);
    for (auto &node : nodes) {
        ::kill(pid_t(node->processId()), SIGTERM);
        QVERIFY(node->waitForFinished(10000));
        QCOMPARE(node->exitCode(), 0);
        const QByteArray log = node->readAll();
        QVERIFY2(log.contains("publishes to stream \"MERIDIAN_meridiand_r"), log.constData());
    }
    nats.terminate();
    QVERIFY(nats.waitForFinished(10000));
}

std::optional<tst_Meridiand::Started> tst_Meridiand::startNode(
        QProcess &process,
        rlim_t softLimit,
        rlim_t hardLimit,
        const std::function<void(QJsonObject &)> &adjust)
{
    Started node;
    {
        QTcpServer a, b, c;
        if (!a.listen(QHostAddress::LocalHost) || !b.listen(QHostAddress::LocalHost)
            || !c.listen(QHostAddress::LocalHost))
            return std::nullopt;
        node.ports = {a.serverPort(), b.serverPort(), c.serverPort()};
    }
    static int count = 0;
    const QString dir = m_dir.filePath(u"node-%1"_s.arg(++count));
    node.dataDir = dir + u"/data"_s;
    QJsonObject config = validConfig(dir, node.ports);
    if (adjust)
        adjust(config);
    const QString path = write(QJsonDocument(config).toJson());
    process.setProcessChannelMode(QProcess::MergedChannels);
    if (softLimit > 0) {
        process.setChildProcessModifier([softLimit, hardLimit] {
            const rlimit limit{softLimit, hardLimit};
            setrlimit(RLIMIT_NOFILE, &limit);
        });
    }
    process.start(QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s, {u"--config"_s, path});
    if (!process.waitForStarted())
        return std::nullopt;
    QDeadlineTimer deadline(10000);
    while (!(node.log += process.readAll()).contains("role region") && !deadline.hasExpired())
        process.waitForReadyRead(100);
    if (!node.log.contains("role region"))
        return std::nullopt;
    return node;
}

void tst_Meridiand::openFilesLimitIsRaised()
{
    // systemd starts services with a soft limit of 1,024; the edge alone accepts 10,000
    // clients per worker.
    QProcess process;
    QVERIFY(startNode(process, 256, 4096));
    QFile limits(u"/proc/%1/limits"_s.arg(process.processId()));
    QVERIFY(limits.open(QIODevice::ReadOnly));
    const QByteArray text = limits.readAll();
    const QByteArray line = text.mid(text.indexOf("Max open files"));
    QVERIFY2(line.simplified().startsWith("Max open files 4096 4096"), line.constData());
    process.terminate();
    QVERIFY(process.waitForFinished(10000));
}

void tst_Meridiand::outOfDescriptorsKeepsServing_data()
{
    QTest::addColumn<int>("portIndex");
    QTest::addColumn<QByteArray>("portName");
    QTest::addRow("data port") << 0 << QByteArray("the HTTP port");
    QTest::addRow("replication port") << 2 << QByteArray("the replication port");
}

void tst_Meridiand::outOfDescriptorsKeepsServing()
{
    // Qt's server socket stops accepting for good on EMFILE (or retries at once, forever): one
    // burst of connections beyond the limit used to leave the region's website dead until a
    // restart.
    QFETCH(int, portIndex);
    QFETCH(QByteArray, portName);
    QProcess process;
    const auto node = startNode(process, 64, 64);
    QVERIFY(node);
    const quint16 port = node->ports.at(portIndex);
    QByteArray log;
    {
        // More than the 64 descriptors, fewer than those plus the listen queue (50 for the
        // replication port), so every client connects.
        const auto clients = MeridianTest::connectIdleClients(port, 90);
        QCOMPARE(int(clients.size()), 90);
        QTRY_VERIFY_WITH_TIMEOUT((log += process.readAll())
                                         .contains("cannot accept connections on " + portName),
                                 10000);
        // Resting, not retrying at once: over one second it uses a small part of a core.
        const qint64 used = MeridianTest::processCpuMsDuring(process.processId(), 1000);
        QVERIFY2(used >= 0 && used < 300, qPrintable(u"%1 ms of CPU in 1 s"_s.arg(used)));
    } // the clients go: descriptors are free again
    // A new connection is accepted and answered: an HTTP 200, or the replication port's
    // authentication challenge, which it sends first.
    const auto answered = [port, portIndex]() {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (!socket.waitForConnected(1000))
            return false;
        if (portIndex == 0)
            socket.write("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
        QByteArray answer;
        while (answer.size() < 12 && socket.waitForReadyRead(1000))
            answer += socket.readAll();
        return portIndex == 0 ? answer.startsWith("HTTP/1.1 200") : !answer.isEmpty();
    };
    QTRY_VERIFY_WITH_TIMEOUT(answered(), 10000);
    process.terminate();
    QVERIFY(process.waitForFinished(10000));
}

void tst_Meridiand::storeLockedByAnotherProcess()
{
    // An operator's sqlite3 session with an open write transaction on store.db used to freeze
    // the node (control API, links, writes) for as long as it lasted: every write waited for the
    // lock on the node's only thread, 5 s at a time. Now a write fails after
    // sync.busy_timeout_ms with a clear 503, and everything else goes on.
    QProcess process;
    const auto node = startNode(process);
    QVERIFY(node);
    const quint16 data = node->ports.at(0);
    const quint16 control = node->ports.at(1);
    const auto put = [data](const QByteArray &key) {
        return exchange(data,
                        "PUT /api/kv/" + key + " HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nv",
                        10000);
    };
    QVERIFY(put("before").startsWith("HTTP/1.1 201"));

    Meridian::Internal::SqliteDb other; // "another process": a connection the node knows nothing of
    QVERIFY(other.open(node->dataDir + u"/store.db"_s, false));
    QVERIFY(other.exec(u"BEGIN IMMEDIATE"_s));
    QElapsedTimer timer;
    timer.start();
    const QByteArray refused = put("during");
    const qint64 putMs = timer.elapsed();
    QVERIFY2(refused.startsWith("HTTP/1.1 503"), refused.constData());
    QVERIFY2(refused.contains("held by another connection"), refused.constData());
    QVERIFY2(refused.contains("\r\nRetry-After: 1\r\n"), refused.constData());
    QVERIFY2(putMs < 4000, qPrintable(u"the refused write took %1 ms"_s.arg(putMs)));
    // The control API answers while the lock is held, through the node's maintenance writes.
    for (int i = 0; i < 3; ++i) {
        timer.restart();
        const QByteArray status = exchange(control,
                                           "GET /v1/status HTTP/1.1\r\nHost: a\r\n"
                                           "Authorization: Bearer s3cret\r\n\r\n",
                                           10000);
        QVERIFY2(status.startsWith("HTTP/1.1 200"), status.constData());
        QVERIFY2(timer.elapsed() < 4000, qPrintable(u"status took %1 ms"_s.arg(timer.elapsed())));
        QTest::qWait(500); // spread over more than one maintenance tick, not a synchronisation
    }
    QByteArray log;
    QTRY_VERIFY_WITH_TIMEOUT((log += process.readAll()).contains("held by another connection"),
                             10000); // the node's log names the cause too
    QVERIFY(other.exec(u"ROLLBACK"_s));
    other.close();
    QTRY_VERIFY_WITH_TIMEOUT(put("after").startsWith("HTTP/1.1 20"), 10000); // 201, then 200
    QVERIFY(exchange(data, "GET /api/kv/during HTTP/1.1\r\nHost: a\r\n\r\n", 10000)
                    .startsWith("HTTP/1.1 404")); // the refused write left nothing behind
    process.terminate();
    QVERIFY(process.waitForFinished(10000));
}

QTEST_GUILESS_MAIN(tst_Meridiand)
// control.tls and sync.tls: the control API answers HTTPS only, and meridianctl needs the
// cluster's CA (and says so without it). Calls between nodes: tst_localcluster tlsCluster.
void tst_Meridiand::controlApiOverHttps()
{
    const QString tls = QStringLiteral(SRCDIR "../sync/tls/");
    QProcess process;
    const auto node = startNode(process, 0, 0, [&](QJsonObject &config) {
        QJsonObject control = config.value(u"control"_s).toObject();
        control.insert(u"tls"_s,
                       QJsonObject{{u"cert_file"_s, tls + u"node.pem"_s},
                                   {u"key_file"_s, tls + u"node.key"_s},
                                   {u"ca_file"_s, tls + u"ca.pem"_s}});
        control.insert(u"cluster_token"_s, u"s3cret"_s);
        config.insert(u"control"_s, control);
        QJsonObject sync{{u"tls"_s,
                          QJsonObject{{u"cert_file"_s, tls + u"node.pem"_s},
                                      {u"key_file"_s, tls + u"node.key"_s},
                                      {u"ca_file"_s, tls + u"ca.pem"_s}}}};
        config.insert(u"sync"_s, sync);
        QJsonArray regions = config.value(u"regions"_s).toArray();
        QJsonObject region = regions.at(0).toObject();
        region.insert(u"control_url"_s,
                      region.value(u"control_url"_s).toString().replace(u"http:"_s, u"https:"_s));
        regions.replace(0, region);
        config.insert(u"regions"_s, regions);
    });
    QVERIFY(node);
    const auto ctl = [&](const QStringList &args) {
        QProcess p;
        p.start(QStringLiteral(MERIDIAN_BIN_DIR) + u"meridianctl"_s,
                QStringList{u"--token"_s, u"s3cret"_s} + args);
        [&] { QVERIFY(p.waitForFinished(20000)); }();
        return std::make_pair(p.exitCode(), p.readAllStandardOutput() + p.readAllStandardError());
    };
    const QString https = u"https://127.0.0.1:%1"_s.arg(node->ports.at(1));
    const auto [trustedCode, trusted] = ctl(
            {u"--endpoint"_s, https, u"--cacert"_s, tls + u"ca.pem"_s, u"status"_s});
    QVERIFY2(trustedCode == 0 && trusted.contains("us-east"), trusted.constData());

    const auto [untrustedCode, untrusted] = ctl({u"--endpoint"_s, https, u"status"_s});
    QVERIFY(untrustedCode != 0);
    QVERIFY2(untrusted.contains("--cacert"), untrusted.constData());
    // Operators alert on the certificates' expiry.
    QNetworkAccessManager network;
    QNetworkRequest request(QUrl(https + u"/metrics"_s));
    QSslConfiguration trusting = QSslConfiguration::defaultConfiguration();
    trusting.addCaCertificates(QSslCertificate::fromPath(tls + u"ca.pem"_s));
    request.setSslConfiguration(trusting);
    request.setRawHeader("Authorization", "Bearer s3cret");
    std::unique_ptr<QNetworkReply> reply(network.get(request));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    QVERIFY(finished.wait(10000));
    const QByteArray metrics = reply->readAll();
    const qint64 expiry
            = QSslCertificate::fromPath(tls + u"node.pem"_s).first().expiryDate().toSecsSinceEpoch();
    for (const char *port : {"sync", "control"}) {
        const QByteArray line = "meridian_tls_certificate_expiry_timestamp_seconds{port=\""
                                + QByteArray(port) + "\"} ";
        const qsizetype at = metrics.indexOf(line);
        QVERIFY2(at >= 0, metrics.constData());
        QCOMPARE(metrics.mid(at + line.size()).split('\n').first().toDouble(), double(expiry));
    }

    const auto [plainCode, plain] = ctl(
            {u"--endpoint"_s, u"http://127.0.0.1:%1"_s.arg(node->ports.at(1)), u"status"_s});
    QVERIFY(plainCode != 0);
    QVERIFY2(!plain.contains("us-east"), plain.constData());

    process.terminate();
    QVERIFY(process.waitForFinished(10000));
}

// http.access_log: a JSON line per request on the region's data port (users' requests, not
// health checks), written within about a second, and a new file after logrotate's SIGHUP.
void tst_Meridiand::dataPortAccessLog()
{
    QProcess process;
    const QString logPath = m_dir.filePath(u"data-access.log"_s);
    const auto node = startNode(process, 0, 0, [&](QJsonObject &config) {
        config.insert(u"http"_s, QJsonObject{{u"access_log"_s, logPath}});
    });
    QVERIFY(node);
    const quint16 data = node->ports.at(0);
    const auto request = [data](const QByteArray &head, const QByteArray &body = {}) {
        return exchange(data,
                        head + "Host: t\r\nContent-Length: " + QByteArray::number(body.size())
                                + "\r\n\r\n" + body,
                        5000);
    };
    QVERIFY(request("PUT /api/kv/logged HTTP/1.1\r\n", "value").startsWith("HTTP/1.1 201"));
    QVERIFY(request("GET /api/kv/logged?x=\"1\" HTTP/1.1\r\n").startsWith("HTTP/1.1 200"));
    QVERIFY(request("GET /healthz HTTP/1.1\r\n").startsWith("HTTP/1.1 200"));
    QVERIFY(request("GET /api/kv/logged HTTP/1.1\r\nUser-Agent: meridian-health/1\r\n")
                    .startsWith("HTTP/1.1 200"));
    QVERIFY(request("GET /missing HTTP/1.1\r\n").startsWith("HTTP/1.1 404"));

    const auto lines = [](const QString &path) {
        QFile file(path);
        QList<QJsonObject> out;
        if (file.open(QIODevice::ReadOnly)) {
            for (const QByteArray &line : file.readAll().split('\n')) {
                if (!line.isEmpty())
                    out.append(QJsonDocument::fromJson(line).object());
            }
        }
        return out;
    };
    QTRY_COMPARE_WITH_TIMEOUT(lines(logPath).size(), 3, 10000);
    const QList<QJsonObject> logged = lines(logPath);
    QCOMPARE(logged.at(0).value(u"method"_s).toString(), u"PUT"_s);
    QCOMPARE(logged.at(0).value(u"target"_s).toString(), u"/api/kv/logged"_s);
    QCOMPARE(logged.at(0).value(u"status"_s).toInt(), 201);
    QCOMPARE(logged.at(0).value(u"region"_s).toString(), u"us-east"_s);
    QCOMPARE(logged.at(0).value(u"client"_s).toString(), u"127.0.0.1"_s);
    QVERIFY(logged.at(0).value(u"bytes"_s).toInt() > 0);
    QVERIFY(logged.at(0).value(u"ms"_s).isDouble());
    QVERIFY(!logged.at(0).contains(u"attempts"_s)); // not proxied: the edge's fields are absent
    QVERIFY(logged.at(0).value(u"time"_s).toString().endsWith(u'Z'));
    QCOMPARE(logged.at(1).value(u"target"_s).toString(), u"/api/kv/logged?x=\"1\""_s);
    QCOMPARE(logged.at(2).value(u"status"_s).toInt(), 404);

    // logrotate moves the file, then signals: the next lines go to a new file.
    QVERIFY(QFile::rename(logPath, logPath + u".1"_s));
    ::kill(pid_t(process.processId()), SIGHUP);
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(logPath), 10000);
    QVERIFY(request("GET /after-rotation HTTP/1.1\r\n").startsWith("HTTP/1.1 404"));
    QTRY_COMPARE_WITH_TIMEOUT(lines(logPath).size(), 1, 10000);
    QCOMPARE(lines(logPath).first().value(u"target"_s).toString(), u"/after-rotation"_s);
    QCOMPARE(lines(logPath + u".1"_s).size(), 3);

    process.terminate();
    QVERIFY(process.waitForFinished(10000));
}

// edge.tls in a real node: files named relative to the configuration, HTTPS through the edge
// to the region, the handshake and expiry metrics, and a renewed certificate taken on SIGHUP.
void tst_Meridiand::edgeServesHttps()
{
    const QString tls = QStringLiteral(SRCDIR "../sync/tls/");
    const QString cert = m_dir.filePath(u"edge.pem"_s);
    const QString key = m_dir.filePath(u"edge.key"_s);
    QFile::remove(cert);
    QFile::remove(key);
    QVERIFY(QFile::copy(tls + u"node.pem"_s, cert));
    QVERIFY(QFile::copy(tls + u"node.key"_s, key));
    quint16 plainPort = 0;
    quint16 httpsPort = 0;
    {
        QTcpServer a, b;
        QVERIFY(a.listen(QHostAddress::LocalHost) && b.listen(QHostAddress::LocalHost));
        plainPort = a.serverPort();
        httpsPort = b.serverPort();
    }
    QProcess process;
    const auto node = startNode(process, 0, 0, [&](QJsonObject &config) {
        config.insert(u"role"_s, u"region+edge"_s);
        config.insert(u"edge"_s,
                      QJsonObject{{u"listen"_s, u"127.0.0.1:%1"_s.arg(plainPort)},
                                  {u"tls"_s,
                                   QJsonObject{{u"cert_file"_s, u"edge.pem"_s}, // beside the file
                                               {u"key_file"_s, u"edge.key"_s},
                                               {u"listen"_s, u"127.0.0.1:%1"_s.arg(httpsPort)}}}});
    });
    QVERIFY(node);
    const auto curl = [&](const QStringList &args) {
        QProcess p;
        p.start(u"curl"_s, QStringList{u"-sS"_s, u"--max-time"_s, u"10"_s} + args);
        [&] { QVERIFY(p.waitForFinished(20000)); }();
        return p.readAllStandardOutput() + p.readAllStandardError();
    };
    const QString url = u"https://127.0.0.1:%1/v1/kv/greeting"_s.arg(httpsPort);
    QByteArray answer;
    QDeadlineTimer ready(10000);
    do { // the edge's first health checks must find the region up
        answer = curl({u"-i"_s, u"--cacert"_s, tls + u"ca.pem"_s, url});
    } while (!answer.toLower().contains("x-meridian-region: us-east") && !ready.hasExpired()
             && (QTest::qWait(100), true));
    QVERIFY2(answer.toLower().contains("x-meridian-region: us-east"), answer.constData());
    const QByteArray refused = curl({url}); // the system's CAs do not know the test CA
    QVERIFY2(refused.contains("certificate"), refused.constData());

    // Two connections of one curl: the second resumes the first's session (a ticket).
    curl({u"-o"_s,
          u"/dev/null"_s,
          u"-o"_s,
          u"/dev/null"_s,
          u"-H"_s,
          u"Connection: close"_s,
          u"--cacert"_s,
          tls + u"ca.pem"_s,
          url,
          url});
    const QByteArray metrics = exchange(node->ports.at(1),
                                        "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                        "Authorization: Bearer s3cret\r\n\r\n",
                                        10000);
    const auto handshakes = [&metrics](const QByteArray &result) {
        const QByteArray line = "meridian_edge_tls_handshakes_total{result=\"" + result + "\"} ";
        const qsizetype at = metrics.indexOf(line);
        return at < 0 ? -1.0 : metrics.mid(at + line.size()).split('\n').first().toDouble();
    };
    QVERIFY2(handshakes("full") >= 2, metrics.constData());
    QVERIFY2(handshakes("resumed") >= 1, metrics.constData());
    QCOMPARE(handshakes("plain_http"), 0.0);
    QVERIFY2(metrics.contains("meridian_tls_certificate_expiry_timestamp_seconds{port=\"edge\"}"),
             metrics.constData());

    // A renewed certificate: new connections get it after SIGHUP, without a restart.
    const auto presented = [&] {
        QSslSocket socket;
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setPeerVerifyMode(QSslSocket::QueryPeer);
        socket.setSslConfiguration(config);
        socket.connectToHostEncrypted(u"127.0.0.1"_s, httpsPort);
        return socket.waitForEncrypted(5000)
                       ? socket.peerCertificate().subjectInfo(QSslCertificate::CommonName)
                       : QStringList{socket.errorString()};
    };
    QCOMPARE(presented(), QStringList{u"node"_s});
    QVERIFY(QFile::remove(cert) && QFile::remove(key));
    QVERIFY(QFile::copy(tls + u"misnamed.pem"_s, cert));
    QVERIFY(QFile::copy(tls + u"misnamed.key"_s, key));
    ::kill(pid_t(process.processId()), SIGHUP);
    QTRY_COMPARE_WITH_TIMEOUT(presented(), QStringList{u"misnamed"_s}, 10000);

    process.terminate();
    QVERIFY(process.waitForFinished(10000));
}

#include "tst_meridiand.moc"
