// ConnectDialog: it tests the connection before accepting (a closed port is refused with the
// reason, a real meridiand is accepted, trying endpoints in order), a bad token is reported,
// and the profile it saves has no token in the settings file.
#include "core/cluster/localcluster.h"
#include "ui/connectdialog.h"

#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScopeGuard>
#include <QSettings>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace Meridian;

class tst_ConnectDialog final : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void refusedEndpointIsNotAccepted();
    void acceptsAfterTryingEndpointsInOrder();
    void wrongTokenIsReported();
    void httpsUsesTheProfilesCa();

private:
    QString closedPort();
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
};

void tst_ConnectDialog::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_cluster = std::make_unique<LocalCluster>(m_dir->filePath(u"cluster"_s));
    LocalClusterOptions options;
    options.regions = 1;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.configOverrides = {{u"shutdown_timeout_ms"_s, 3000}};
    QString error;
    QVERIFY2(m_cluster->up(options, &error), qPrintable(error));
}

void tst_ConnectDialog::cleanupTestCase()
{
    if (m_cluster) {
        QString error;
        QVERIFY2(m_cluster->down(5000, &error), qPrintable(error));
    }
}

QString tst_ConnectDialog::closedPort()
{
    // A port the OS just handed out and that nothing listens on any more.
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost))
        return {};
    const quint16 port = server.serverPort();
    server.close();
    return u"127.0.0.1:%1"_s.arg(port);
}

void tst_ConnectDialog::refusedEndpointIsNotAccepted()
{
    ProfileStore store(new QSettings(m_dir->filePath(u"a.ini"_s), QSettings::IniFormat));
    store.setKeychainEnabled(false);
    ConnectDialog dialog(&store);
    const QString closed = closedPort();
    QVERIFY(!closed.isEmpty());
    dialog.setProfile({u"broken"_s, {closed}, u"t"_s, {}});
    QSignalSpy tested(&dialog, &ConnectDialog::connectionTested);
    QSignalSpy accepted(&dialog, &QDialog::accepted);
    dialog.accept();
    QVERIFY(tested.wait(20000));
    QCOMPARE(tested.first().at(0).toBool(), false);
    const QString message = tested.first().at(1).toString();
    QVERIFY2(message.contains(closed) && message.contains(u"refused"_s), qPrintable(message));
    QCOMPARE(dialog.resultLabel()->text(), message);
    QCOMPARE(accepted.size(), 0);
    QCOMPARE(dialog.result(), int(QDialog::Rejected));
    // The profile was saved all the same (without its token on disk).
    QCOMPARE(store.names(), QStringList{u"broken"_s});
}

void tst_ConnectDialog::acceptsAfterTryingEndpointsInOrder()
{
    const QString ini = m_dir->filePath(u"b.ini"_s);
    ProfileStore store(new QSettings(ini, QSettings::IniFormat));
    store.setKeychainEnabled(false);
    ConnectDialog dialog(&store);
    QVERIFY(dialog.tokenNoteLabel()->text().contains(u"session only"_s));
    const QString good = m_cluster->node(u"us-east"_s)->controlUrl.toString();
    const QString token = QString::fromLatin1(m_cluster->viewerToken());
    dialog.nameEdit()->setText(u"local"_s);
    dialog.endpointsEdit()->setPlainText(closedPort() + u"\n\n"_s + good + u"\n"_s);
    dialog.tokenEdit()->setText(token);
    QSignalSpy accepted(&dialog, &QDialog::accepted);
    QSignalSpy tested(&dialog, &ConnectDialog::connectionTested);
    dialog.accept();
    QVERIFY(tested.wait(20000));
    QVERIFY2(tested.first().at(0).toBool(), qPrintable(tested.first().at(1).toString()));
    QCOMPARE(accepted.size(), 1);
    QCOMPARE(dialog.connectedEndpoint(), good);
    QCOMPARE(dialog.connectedStatus().region, u"us-east"_s);
    QCOMPARE(dialog.profile().token, token);
    QCOMPARE(store.lastUsed(), u"local"_s);
    QFile file(ini);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray written = file.readAll();
    QVERIFY(written.contains("local"));
    QVERIFY2(!written.contains(token.toLatin1()), written.constData());

    // A second dialog opens on the last profile, with the session's token.
    ConnectDialog again(&store);
    QCOMPARE(again.nameEdit()->text(), u"local"_s);
    QTRY_COMPARE(again.tokenEdit()->text(), token);
}

void tst_ConnectDialog::wrongTokenIsReported()
{
    ProfileStore store(new QSettings(m_dir->filePath(u"c.ini"_s), QSettings::IniFormat));
    store.setKeychainEnabled(false);
    ConnectDialog dialog(&store);
    dialog.setProfile({u"local"_s,
                       {m_cluster->node(u"us-east"_s)->controlUrl.toString()},
                       u"not-a-token"_s,
                       {}});
    QSignalSpy tested(&dialog, &ConnectDialog::connectionTested);
    dialog.testConnection();
    QVERIFY(tested.wait(20000));
    QCOMPARE(tested.first().at(0).toBool(), false);
    const QString message = tested.first().at(1).toString();
    QVERIFY2(message.contains(u"401"_s) && message.contains(u"check the token"_s),
             qPrintable(message));
}

// A cluster whose control API serves HTTPS with its own CA: without the profile's CA file the
// certificate is refused (and the message says what to give); with it the test connects.
void tst_ConnectDialog::httpsUsesTheProfilesCa()
{
    const QString certificates = QStringLiteral(SRCDIR "../sync/tls/");
    LocalCluster tlsCluster(m_dir->filePath(u"tls-cluster"_s));
    LocalClusterOptions options;
    options.regions = 1;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.tls = {certificates + u"node.pem"_s,
                   certificates + u"node.key"_s,
                   certificates + u"ca.pem"_s};
    QString error;
    QVERIFY2(tlsCluster.up(options, &error), qPrintable(error));
    auto down = qScopeGuard([&tlsCluster] {
        QString ignored;
        tlsCluster.down(5000, &ignored);
    });
    ProfileStore store(new QSettings(m_dir->filePath(u"tls.ini"_s), QSettings::IniFormat));
    store.setKeychainEnabled(false);
    ConnectDialog dialog(&store);
    const QString endpoint = tlsCluster.node(u"us-east"_s)->controlUrl.toString();
    QVERIFY(endpoint.startsWith(u"https://"_s));
    const QString token = QString::fromLatin1(tlsCluster.viewerToken());
    const auto test = [&dialog](const QString &caFile) {
        dialog.caFileEdit()->setText(caFile);
        QSignalSpy tested(&dialog, &ConnectDialog::connectionTested);
        dialog.testConnection();
        if (tested.isEmpty()) // a file that cannot be used is told at once
            [&] { QVERIFY(tested.wait(20000)); }();
        return std::make_pair(tested.value(0).value(0).toBool(),
                              tested.value(0).value(1).toString());
    };
    dialog.setProfile({u"tls"_s, {endpoint}, token, {}});

    const auto [untrusted, untrustedMessage] = test({});
    QVERIFY(!untrusted);
    QVERIFY2(untrustedMessage.contains(u"TLS handshake"_s)
                     && untrustedMessage.contains(u"CA file"_s),
             qPrintable(untrustedMessage));
    const auto [missing, missingMessage] = test(m_dir->filePath(u"no-such-ca.pem"_s));
    QVERIFY(!missing);
    QVERIFY2(missingMessage.contains(u"cannot be read"_s), qPrintable(missingMessage));
    const auto [trusted, trustedMessage] = test(certificates + u"ca.pem"_s);
    QVERIFY2(trusted, qPrintable(trustedMessage));
    QVERIFY2(trustedMessage.contains(u"us-east"_s), qPrintable(trustedMessage));
    QCOMPARE(dialog.profile().caFile, certificates + u"ca.pem"_s);
}

QTEST_MAIN(tst_ConnectDialog)
#include "tst_connectdialog.moc"
