// meridiand refuses an invalid configuration with exit code 2 and a message that names the file,
// the field and what is wrong; it starts on a minimal valid one and stops on SIGTERM with 0.
#include "core/control/tokenauth.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace Qt::StringLiterals;

class tst_Meridiand final : public QObject
{
    Q_OBJECT

private slots:
    void invalidConfigExits2_data();
    void invalidConfigExits2();
    void singleNodeStartsAndStops();

private:
    QJsonObject validConfig(const QString &dir, QList<quint16> ports) const;
    QString write(const QByteArray &content);
    QTemporaryDir m_dir;
};

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

void tst_Meridiand::singleNodeStartsAndStops()
{
    QList<quint16> ports;
    {
        QTcpServer a, b, c;
        QVERIFY(a.listen(QHostAddress::LocalHost) && b.listen(QHostAddress::LocalHost)
                && c.listen(QHostAddress::LocalHost));
        ports = {a.serverPort(), b.serverPort(), c.serverPort()};
    }
    const QString path = write(QJsonDocument(validConfig(m_dir.path(), ports)).toJson());
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s, {u"--config"_s, path});
    QVERIFY(process.waitForStarted());
    QByteArray log;
    QTRY_VERIFY_WITH_TIMEOUT((log += process.readAll()).contains("role region"), 10000);
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
    ::kill(pid_t(process.processId()), SIGTERM);
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
    log += process.readAll();
    QVERIFY2(log.contains("store flushed and closed"), log.constData());
}

QTEST_GUILESS_MAIN(tst_Meridiand)
#include "tst_meridiand.moc"
