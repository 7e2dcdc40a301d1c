#include "core/sync/replica.h"
#include "synctestsupport.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

const QString kKvDdl = Test::kvTableDdl();

// The test certificates (tests/sync/tls/make-certs.sh): `node` for every region of the cluster,
// signed by `ca`; `stranger` names 127.0.0.1 but comes from another CA; `misnamed` comes from
// `ca` but names another host.
TlsFiles certificates(const QString &name, const QString &ca = u"ca"_s)
{
    const QString dir = QStringLiteral(SRCDIR "tls/");
    return {dir + name + u".pem"_s, dir + name + u".key"_s, dir + ca + u".pem"_s};
}

// Forwards connections to `target` and keeps every byte that passed, both ways: what someone
// on the path between two regions would see.
class RecordingRelay final : public QObject
{
public:
    explicit RecordingRelay(quint16 target)
        : m_target(target)
    {
        QVERIFY(m_server.listen(QHostAddress::LocalHost));
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *in = m_server.nextPendingConnection()) {
                auto *out = new QTcpSocket(in);
                const auto pass = [this](QTcpSocket *from, QTcpSocket *to) {
                    const QByteArray bytes = from->readAll();
                    m_seen += bytes;
                    to->write(bytes);
                };
                connect(in, &QTcpSocket::readyRead, out, [=] { pass(in, out); });
                connect(out, &QTcpSocket::readyRead, in, [=] { pass(out, in); });
                connect(out, &QTcpSocket::connected, in, [=] { pass(in, out); });
                connect(in, &QTcpSocket::disconnected, in, &QObject::deleteLater);
                connect(out, &QTcpSocket::disconnected, in, &QTcpSocket::disconnectFromHost);
                out->connectToHost(QHostAddress::LocalHost, m_target);
            }
        });
    }
    quint16 port() const { return m_server.serverPort(); }
    const QByteArray &seen() const { return m_seen; }

private:
    QTcpServer m_server;
    quint16 m_target;
    QByteArray m_seen;
};

} // namespace

Q_DECLARE_METATYPE(Meridian::TlsFiles)

// Mutual TLS on the replication port (sync.tls): regions with certificates from the cluster's
// CA replicate and resync over it, and nobody else gets a byte of data.
class tst_SyncTls final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void loadReportsTheUnusableFile_data();
    void loadReportsTheUnusableFile();
    void replicatesEncrypted_data();
    void replicatesEncrypted();
    void resyncsOverTls();
    void refusesCertificates_data();
    void refusesCertificates();
    void plainPeerIsToldToUseTls();
    void unreadableFilesFailTheConnection();
    void refusalReachesTheAskingRegion_data();
    void refusalReachesTheAskingRegion();

private:
    SyncConfig config(const QString &region, const TlsFiles &tls);
    std::unique_ptr<Replica> openReplica(const SyncConfig &config);
    static int rowCount(Replica *r);
    static QString linkDetail(Replica *r, const QString &origin);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_SyncTls::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_SyncTls::cleanup()
{
    m_dir.reset();
}

SyncConfig tst_SyncTls::config(const QString &region, const TlsFiles &tls)
{
    SyncConfig c = Test::quickConfig(m_dir->path(), region);
    c.secret = "0123456789abcdef-cluster-secret";
    c.tls = tls;
    return c;
}

std::unique_ptr<Replica> tst_SyncTls::openReplica(const SyncConfig &config)
{
    auto r = std::make_unique<Replica>(config);
    if (auto opened = r->open(); !opened) {
        qWarning() << opened.error().message;
        return nullptr;
    }
    if (auto reg = r->registerTable(u"kv"_s, kKvDdl); !reg) {
        qWarning() << reg.error().message;
        return nullptr;
    }
    if (auto started = r->start(); !started) {
        qWarning() << started.error().message;
        return nullptr;
    }
    return r;
}

int tst_SyncTls::rowCount(Replica *r)
{
    return r->query(u"SELECT count(*) FROM kv"_s)->rows.first().first().toInt();
}

QString tst_SyncTls::linkDetail(Replica *r, const QString &origin)
{
    for (const LinkStatus &l : r->links()) {
        if (l.origin == origin)
            return l.detail;
    }
    return {};
}

void tst_SyncTls::loadReportsTheUnusableFile_data()
{
    QTest::addColumn<TlsFiles>("files");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("problem");
    const TlsFiles good = certificates(u"node"_s);
    const QString missing = u"/nonexistent/file.pem"_s;
    const QString notPem = QStringLiteral(SRCDIR "tls/make-certs.sh");
    QTest::addRow("no key file") << TlsFiles{good.certificateFile, {}, good.caFile} << u"key_file"_s
                                 << u"is required"_s;
    QTest::addRow("certificate missing") << TlsFiles{missing, good.privateKeyFile, good.caFile}
                                         << u"cert_file"_s << u"cannot be read"_s;
    QTest::addRow("certificate not PEM") << TlsFiles{notPem, good.privateKeyFile, good.caFile}
                                         << u"cert_file"_s << u"no PEM certificate"_s;
    QTest::addRow("key is a certificate")
            << TlsFiles{good.certificateFile, good.caFile, good.caFile} << u"key_file"_s
            << u"no unencrypted PEM private key"_s;
    QTest::addRow("CA missing") << TlsFiles{good.certificateFile, good.privateKeyFile, missing}
                                << u"ca_file"_s << u"cannot be read"_s;
    QTest::addRow("CA not PEM") << TlsFiles{good.certificateFile, good.privateKeyFile, notPem}
                                << u"ca_file"_s << u"no PEM certificate"_s;
}

void tst_SyncTls::loadReportsTheUnusableFile()
{
    QFETCH(TlsFiles, files);
    QFETCH(QString, field);
    QFETCH(QString, problem);
    const TlsFiles::Loaded loaded = files.load();
    QVERIFY(!loaded.ok());
    QCOMPARE(loaded.field, field);
    QVERIFY2(loaded.problem.contains(problem), qPrintable(loaded.errorText()));

    const TlsFiles::Loaded good = certificates(u"node"_s).load();
    QVERIFY2(good.ok(), qPrintable(good.errorText()));
    QCOMPARE(good.configuration.peerVerifyMode(), QSslSocket::VerifyPeer);
    QCOMPARE(good.configuration.caCertificates().size(), 1);
    QCOMPARE(good.configuration.localCertificate().subjectInfo(QSslCertificate::CommonName),
             QStringList{u"node"_s});
}

// What crosses the wire between two regions: with TLS, none of the data; without (the
// control case, which shows the relay sees the data when there is any to see), all of it.
void tst_SyncTls::replicatesEncrypted_data()
{
    QTest::addColumn<bool>("tls");
    QTest::addRow("tls") << true;
    QTest::addRow("plain") << false;
}

void tst_SyncTls::replicatesEncrypted()
{
    QFETCH(bool, tls);
    const TlsFiles files = tls ? certificates(u"node"_s) : TlsFiles{};
    auto a = openReplica(config(u"a"_s, files));
    auto b = openReplica(config(u"b"_s, files));
    QVERIFY(a && b);
    // Only a dials, and only through the relay, so every byte between them passes it.
    RecordingRelay relay(b->replicationPort());
    a->setPeers({{u"b"_s, u"127.0.0.1"_s, relay.port()}});

    QVERIFY(a->execute(u"INSERT INTO kv VALUES('k-a', 'written-in-region-a', 1)"_s).ok());
    QVERIFY(b->execute(u"INSERT INTO kv VALUES('k-b', 'written-in-region-b', 1)"_s).ok());
    QTRY_VERIFY_WITH_TIMEOUT(rowCount(a.get()) == 2 && rowCount(b.get()) == 2, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(a->digest(), b->digest(), 10000);

    QVERIFY(relay.seen().size() > 200);
    QCOMPARE(relay.seen().contains("written-in-region-a"), !tls);
    QCOMPARE(relay.seen().contains("written-in-region-b"), !tls);
    QCOMPARE(relay.seen().contains("k-a"), !tls);
}

void tst_SyncTls::resyncsOverTls()
{
    const TlsFiles files = certificates(u"node"_s);
    auto a = openReplica(config(u"a"_s, files));
    auto b = openReplica(config(u"b"_s, files));
    QVERIFY(a && b);
    for (int i = 0; i < 50; ++i)
        QVERIFY(a->execute(u"INSERT INTO kv VALUES(?, ?, 1)"_s,
                           {u"k%1"_s.arg(i), QByteArray(1000, char('a' + i % 26))})
                        .ok());
    // b knows a only as a snapshot source: it resyncs before it ever replicated.
    b->setPeers({{u"a"_s, u"127.0.0.1"_s, a->replicationPort()}});
    QVERIFY(b->startResync(u"a"_s).ok());
    QTRY_VERIFY_WITH_TIMEOUT(b->resyncStatus().phase == ResyncProgress::Phase::Done
                                     || b->resyncStatus().phase == ResyncProgress::Phase::Failed,
                             20000);
    QVERIFY2(b->resyncStatus().phase == ResyncProgress::Phase::Done,
             qPrintable(b->resyncStatus().message));
    QCOMPARE(rowCount(b.get()), 50);
    QTRY_COMPARE_WITH_TIMEOUT(b->digest(), a->digest(), 10000);
}

// A certificate the cluster's CA did not sign, or one that does not name the host dialled, is
// refused by the handshake: no data either way, and the link says why.
void tst_SyncTls::refusesCertificates_data()
{
    QTest::addColumn<TlsFiles>("files");
    QTest::addColumn<QString>("why");
    QTest::addRow("another CA") << certificates(u"stranger"_s, u"other-ca"_s) << u"TLS"_s;
    QTest::addRow("another host name") << certificates(u"misnamed"_s) << u"host name"_s;
}

void tst_SyncTls::refusesCertificates()
{
    QFETCH(TlsFiles, files);
    QFETCH(QString, why);
    auto a = openReplica(config(u"a"_s, certificates(u"node"_s)));
    auto x = openReplica(config(u"x"_s, files));
    QVERIFY(a && x);
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('from-a', 'a', 1)"_s).ok());
    QVERIFY(x->execute(u"INSERT INTO kv VALUES('from-x', 'x', 1)"_s).ok());
    // a dials x (a server whose name is checked); x does not dial.
    a->setPeers({{u"x"_s, u"127.0.0.1"_s, x->replicationPort()}});

    // The link keeps redialling (20-200 ms) and keeps being refused.
    QTRY_VERIFY_WITH_TIMEOUT(linkDetail(a.get(), u"x"_s).contains(why), 10000);
    QVERIFY2(linkDetail(a.get(), u"x"_s).contains(u"TLS handshake"_s),
             qPrintable(linkDetail(a.get(), u"x"_s)));
    QTest::qWait(500); // time for data to flow, were anything let through
    QCOMPARE(rowCount(a.get()), 1);
    QCOMPARE(rowCount(x.get()), 1);
    QCOMPARE(a->cursors().value(u"x"_s), 0u);
    QCOMPARE(x->cursors().value(u"a"_s), 0u);
}

// A region without sync.tls and one with it cannot talk, and both are told what to configure.
void tst_SyncTls::plainPeerIsToldToUseTls()
{
    auto a = openReplica(config(u"a"_s, certificates(u"node"_s)));
    auto p = openReplica(config(u"p"_s, {}));
    QVERIFY(a && p);
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('from-a', 'a', 1)"_s).ok());
    QVERIFY(p->execute(u"INSERT INTO kv VALUES('from-p', 'p', 1)"_s).ok());
    a->setPeers({{u"p"_s, u"127.0.0.1"_s, p->replicationPort()}});
    p->setPeers({{u"a"_s, u"127.0.0.1"_s, a->replicationPort()}});

    QTRY_VERIFY_WITH_TIMEOUT(linkDetail(p.get(), u"a"_s).contains(u"sync.tls"_s), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(linkDetail(a.get(), u"p"_s).contains(u"sync.tls"_s), 10000);
    QCOMPARE(rowCount(a.get()), 1);
    QCOMPARE(rowCount(p.get()), 1);
}

// Files are read for each connection: one that becomes unreadable fails the link with the
// file's name, and the region recovers once it is back.
void tst_SyncTls::unreadableFilesFailTheConnection()
{
    const TlsFiles good = certificates(u"node"_s);
    const QString keyCopy = m_dir->filePath(u"node.key"_s);
    QVERIFY(QFile::copy(good.privateKeyFile, keyCopy));
    TlsFiles copied = good;
    copied.privateKeyFile = keyCopy;
    auto a = openReplica(config(u"a"_s, copied));
    auto b = openReplica(config(u"b"_s, good));
    QVERIFY(a && b);
    QVERIFY(QFile::rename(keyCopy, keyCopy + u".away"_s));
    a->setPeers({{u"b"_s, u"127.0.0.1"_s, b->replicationPort()}});
    QVERIFY(a->execute(u"INSERT INTO kv VALUES('from-a', 'a', 1)"_s).ok());
    QTRY_VERIFY_WITH_TIMEOUT(linkDetail(a.get(), u"b"_s).contains(u"key_file"_s), 10000);
    QVERIFY2(linkDetail(a.get(), u"b"_s).contains(keyCopy), qPrintable(linkDetail(a.get(), u"b"_s)));
    QCOMPARE(rowCount(b.get()), 0);

    QVERIFY(QFile::rename(keyCopy + u".away"_s, keyCopy));
    QTRY_COMPARE_WITH_TIMEOUT(rowCount(b.get()), 1, 10000);
}

// A region that refuses a request says why (an Error frame) just before it closes the
// connection, and the asking region shows that reason: here a snapshot source whose snapshot
// directory cannot be made (a file is in its place).
void tst_SyncTls::refusalReachesTheAskingRegion_data()
{
    QTest::addColumn<bool>("tls");
    QTest::addRow("plain") << false;
    QTest::addRow("TLS") << true;
}

void tst_SyncTls::refusalReachesTheAskingRegion()
{
    QFETCH(bool, tls);
    const TlsFiles files = tls ? certificates(u"node"_s) : TlsFiles{};
    auto a = openReplica(config(u"a"_s, files));
    auto b = openReplica(config(u"b"_s, files));
    QVERIFY(a && b);
    QFile blocker(a->config().databasePath + u".snapshots"_s);
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    b->setPeers({{u"a"_s, u"127.0.0.1"_s, a->replicationPort()}});
    QVERIFY(b->startResync(u"a"_s).ok());
    QTRY_VERIFY_WITH_TIMEOUT(b->resyncStatus().phase == ResyncProgress::Phase::Done
                                     || b->resyncStatus().phase == ResyncProgress::Phase::Failed,
                             20000);
    QCOMPARE(b->resyncStatus().phase, ResyncProgress::Phase::Failed);
    QVERIFY2(b->resyncStatus().message.contains(u"a refused: cannot create"_s),
             qPrintable(b->resyncStatus().message));
}

QTEST_GUILESS_MAIN(tst_SyncTls)
#include "tst_synctls.moc"
