// edge.tls: HTTPS for users through a real EdgeServer (worker threads, real sockets on
// 127.0.0.1) in front of in-test regions, with the checked-in test certificates
// (tests/sync/tls: node.pem is for "localhost" and 127.0.0.1, signed by ca.pem).
#include "edgetestclient.h"
#include "testupstream.h"

#include "core/edge/edgerouter.h"
#include "core/edge/edgeserver.h"

#include <QFile>
#include <QJsonObject>
#include <QSslCipher>
#include <QSslKey>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

const QString kTlsDir = QStringLiteral(SRCDIR "../sync/tls/");

QString certFile(const char *name)
{
    return kTlsDir + QLatin1StringView(name) + u".pem"_s;
}

QString keyFile(const char *name)
{
    return kTlsDir + QLatin1StringView(name) + u".key"_s;
}

} // namespace

class tst_EdgeTls final : public QObject
{
    Q_OBJECT

private:
    struct Edge
    {
        std::unique_ptr<TestUpstream> region;
        std::shared_ptr<EdgeRouter> router;
        std::unique_ptr<EdgeServer> gateway;
        quint16 port() const { return gateway->port(); }
        quint16 httpsPort() const { return gateway->tlsPort(); }
    };

    // An edge with edge.tls (the `node` test certificate unless `tune` says otherwise) in front
    // of one region: `region`, or a plain one.
    static std::unique_ptr<Edge> makeEdge(const std::function<void(EdgeConfig &)> &tune = {},
                                          std::unique_ptr<TestUpstream> region = {})
    {
        auto e = std::make_unique<Edge>();
        e->region = region ? std::move(region) : std::make_unique<TestUpstream>("r0");
        EdgeConfig config;
        config.listenHost = u"127.0.0.1"_s;
        config.listenPort = 0;
        config.tlsListenPort = 0;
        config.workers = 2;
        config.tls.certificateFile = certFile("node");
        config.tls.privateKeyFile = keyFile("node");
        if (tune)
            tune(config);
        e->router = std::make_shared<EdgeRouter>(config,
                                                 QList<EdgeRouter::Region>{
                                                         {u"r0"_s,
                                                          {QUrl(QString::fromLatin1(
                                                                  e->region->url()))}}});
        e->gateway = std::make_unique<EdgeServer>(config, e->router);
        QString error;
        if (!e->gateway->start(&error))
            qFatal("edge did not start: %s", qPrintable(error));
        return e;
    }

    // A region serving HTTPS with the test certificate `name`.
    static std::unique_ptr<TestUpstream> httpsRegion(const char *name)
    {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setLocalCertificateChain(QSslCertificate::fromPath(certFile(name)));
        QFile key(keyFile(name));
        if (!key.open(QIODevice::ReadOnly))
            qFatal("cannot read %s", qPrintable(key.fileName()));
        tls.setPrivateKey(QSslKey(key.readAll(), QSsl::Ec));
        tls.setPeerVerifyMode(QSslSocket::VerifyNone);
        return std::make_unique<TestUpstream>("r0", tls);
    }

    static void trustTestCa(EdgeConfig &config) { config.upstreamCaFile = certFile("ca"); }

    static QByteArray serialOf(EdgeTestClient &c)
    {
        return c.socket().peerCertificate().serialNumber();
    }

private slots:
    void proxiesOverHttpsWithForwardedProto()
    {
        auto e = makeEdge();
        QVERIFY(e->httpsPort() != 0);
        QVERIFY(e->httpsPort() != e->port());
        EdgeTestClient c(e->httpsPort(), certFile("ca"));
        QVERIFY2(c.encrypted(), qPrintable(c.socket().errorString()));
        QVERIFY(c.socket().sessionProtocol() >= QSsl::TlsV1_2);
        const auto r = c.get("/headers", "X-Forwarded-Proto: http\r\n");
        QCOMPARE(r.status, 200);
        QVERIFY2(r.body.contains("X-Forwarded-Proto: https\n"), r.body.constData());
        QVERIFY2(!r.body.contains("X-Forwarded-Proto: http\n"), r.body.constData());
        QVERIFY(r.body.contains("X-Forwarded-For: 127.0.0.1\n"));
        QCOMPARE(r.headers.value("x-meridian-region"), "r0");
        // Keep-alive on the TLS connection: one handshake, every request on it.
        for (int i = 0; i < 20; ++i) {
            const auto again = c.get("/hello");
            QCOMPARE(again.status, 200);
            QCOMPARE(again.body, "hello from r0\n");
        }
        QCOMPARE(e->gateway->tlsCounters().full, 1u);
        QCOMPARE(e->gateway->tlsCounters().failed, 0u);

        // The plain port goes on serving plain HTTP beside it.
        EdgeTestClient plain(e->port());
        const auto p = plain.get("/headers");
        QCOMPARE(p.status, 200);
        QVERIFY2(p.body.contains("X-Forwarded-Proto: http\n"), p.body.constData());
    }

    void largeBodiesStreamBothWays()
    {
        auto e = makeEdge();
        EdgeTestClient c(e->httpsPort(), certFile("ca"));
        QVERIFY(c.encrypted());
        // Upload: 3 MiB echoed back, so both directions carry many records.
        QByteArray body(3 * 1024 * 1024, Qt::Uninitialized);
        for (qsizetype i = 0; i < body.size(); ++i)
            body[i] = char('a' + (i * 7 + i / 4096) % 26);
        c.send("POST /echo HTTP/1.1\r\nHost: edge.test\r\nContent-Length: "
               + QByteArray::number(body.size()) + "\r\n\r\n" + body);
        const auto echoed = c.read(false, 30000);
        QVERIFY(echoed.ok);
        QCOMPARE(echoed.status, 200);
        QCOMPARE(echoed.body.size(), body.size());
        QVERIFY(echoed.body == body);
        // Download: 24 MB through one connection, counted, then the connection still works.
        c.send("GET /big?n=24000000 HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        const auto big = c.read(false, 60000, false);
        QVERIFY(big.ok);
        QCOMPARE(big.bodyBytes, 24000000);
        const auto chunked = c.get("/chunked");
        QCOMPARE(chunked.status, 200);
        QCOMPARE(chunked.body, "part0part1part2part3part4");
    }

    void pipelinedRequestsInOneRecord()
    {
        auto e = makeEdge();
        EdgeTestClient c(e->httpsPort(), certFile("ca"));
        QVERIFY(c.encrypted());
        // One write, so one TLS record holds all three requests.
        c.send("GET /hello HTTP/1.1\r\nHost: edge.test\r\n\r\n"
               "GET /headers HTTP/1.1\r\nHost: edge.test\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        QCOMPARE(c.read().body, "hello from r0\n");
        QVERIFY(c.read().body.contains("X-Forwarded-Proto: https"));
        QCOMPARE(c.read().body, "hello from r0\n");
    }

    void cachedResponsesOverHttps()
    {
        auto e = makeEdge();
        EdgeTestClient c(e->httpsPort(), certFile("ca"));
        QVERIFY(c.encrypted());
        const auto first = c.get("/cache/tls?max-age=60");
        QCOMPARE(first.status, 200);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        const auto second = c.get("/cache/tls?max-age=60");
        QCOMPARE(second.status, 200);
        QCOMPARE(second.headers.value("x-cache"), "HIT");
        QCOMPARE(second.body, first.body);
        QCOMPARE(e->region->requestsFor("/cache/tls"), 1);
    }

    void clientGoneBeforeTheAnswerStopsTheExchange()
    {
        // As over plain HTTP (tst_edgeproxy): a client that leaves while the region has not
        // answered ends the exchange at once. A TLS client says goodbye with close_notify
        // before its FIN, so the edge must read it, not just peek at the socket.
        auto e = makeEdge();
        for (const bool notify : {true, false}) {
            {
                EdgeTestClient gone(e->httpsPort(), certFile("ca"));
                QVERIFY(gone.encrypted());
                gone.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
                QTRY_COMPARE_WITH_TIMEOUT(e->region->openConnections(), 1, 10000);
                if (notify) { // close_notify, then (once the edge closes) FIN
                    gone.socket().disconnectFromHost();
                    QVERIFY(gone.socket().waitForDisconnected(5000));
                } else {
                    gone.socket().abort(); // FIN alone
                }
            }
            QTRY_COMPARE_WITH_TIMEOUT(e->region->openConnections(), 0, 10000);
        }
        EdgeTestClient next(e->httpsPort(), certFile("ca"));
        QCOMPARE(next.get("/hello").status, 200);
    }

    void alpnSettlesOnHttp11()
    {
        auto e = makeEdge();
        EdgeTestClient c(e->httpsPort(), certFile("ca"), {"h2", "http/1.1"});
        QVERIFY(c.encrypted());
        QCOMPARE(c.socket().sslConfiguration().nextNegotiatedProtocol(), "http/1.1");
        QCOMPARE(c.get("/hello").status, 200);
    }

    void plainHttpToTheHttpsPortIsTold()
    {
        auto e = makeEdge();
        EdgeTestClient c(e->httpsPort());
        const auto r = c.get("/hello");
        QVERIFY(r.ok);
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains("https://"), r.body.constData());
        QCOMPARE(r.headers.value("connection"), "close");
        QVERIFY(c.waitClosed());
        QCOMPARE(e->region->requests(), 0);
        QCOMPARE(e->gateway->tlsCounters().plainHttp, 1u);
    }

    void strictTransportSecurityWhenAsked()
    {
        auto e = makeEdge([](EdgeConfig &c) { c.tlsHstsMaxAgeS = 31536000; });
        EdgeTestClient c(e->httpsPort(), certFile("ca"));
        QVERIFY(c.encrypted());
        const auto proxied = c.get("/hello");
        QCOMPARE(proxied.headers.value("strict-transport-security"), "max-age=31536000");
        QVERIFY(proxied.rawHead.count("Strict-Transport-Security") == 1);
        QCOMPARE(c.get("/cache/hsts?max-age=60").headers.value("x-cache"), "MISS");
        const auto hit = c.get("/cache/hsts?max-age=60");
        QCOMPARE(hit.headers.value("x-cache"), "HIT");
        QVERIFY2(hit.rawHead.count("Strict-Transport-Security") == 1, hit.rawHead.constData());
        // Never over plain HTTP (RFC 6797 7.2), and not without the option.
        EdgeTestClient plain(e->port());
        QVERIFY(!plain.get("/hello").headers.contains("strict-transport-security"));
        auto quiet = makeEdge();
        EdgeTestClient other(quiet->httpsPort(), certFile("ca"));
        QVERIFY(!other.get("/hello").headers.contains("strict-transport-security"));
    }

    void plainPortRedirectsWhenAsked()
    {
        auto e = makeEdge([](EdgeConfig &c) { c.tlsRedirectHttp = true; });
        const QByteArray https = QByteArray::number(e->httpsPort());
        EdgeTestClient c(e->port());
        c.send("GET /shop/cart?id=7 HTTP/1.1\r\nHost: www.example.test:8080\r\n\r\n");
        const auto r = c.read();
        QCOMPARE(r.status, 308);
        QCOMPARE(r.headers.value("location"),
                 "https://www.example.test:" + https + "/shop/cart?id=7");
        QVERIFY(!r.headers.contains("connection")); // kept alive: the next request is answered
        c.send("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
        const auto v6 = c.read();
        QCOMPARE(v6.headers.value("location"), "https://[::1]:" + https + "/");
        // A body is not read: the answer closes the connection; the client resends over HTTPS.
        c.send("POST /orders HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\n\r\nhello");
        const auto post = c.read();
        QCOMPARE(post.status, 308);
        QCOMPARE(post.headers.value("location"), "https://shop.test:" + https + "/orders");
        QCOMPARE(post.headers.value("connection"), "close");
        QVERIFY(c.waitClosed());
        EdgeTestClient old(e->port());
        old.send("GET / HTTP/1.0\r\n\r\n");
        QCOMPARE(old.read().status, 400);
        QCOMPARE(e->region->requests(), 0);
        // HTTPS itself is served as ever.
        EdgeTestClient secure(e->httpsPort(), certFile("ca"));
        QCOMPARE(secure.get("/hello").status, 200);
    }

    void httpsRegionOverPooledTls()
    {
        // A region listed with an https:// URL: the edge speaks TLS to it, verifies it against
        // edge.upstream_ca_file, and keeps the connection (and its session) in the pool.
        auto e = makeEdge(trustTestCa, httpsRegion("node"));
        QVERIFY(e->region->url().startsWith("https://"));
        EdgeTestClient c(e->port());
        for (int i = 0; i < 20; ++i) {
            const auto r = c.get("/hello");
            QCOMPARE(r.status, 200);
            QCOMPARE(r.body, "hello from r0\n");
        }
        QCOMPARE(e->region->connections(), 1);
        QByteArray body(2 * 1024 * 1024 + 17, 'x');
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: "
               + QByteArray::number(body.size()) + "\r\n\r\n" + body);
        const auto echoed = c.read(false, 30000);
        QCOMPARE(echoed.status, 200);
        QVERIFY(echoed.body == body);
        c.send("GET /big?n=6000000 HTTP/1.1\r\nHost: a\r\n\r\n");
        QCOMPARE(c.read(false, 30000, false).bodyBytes, 6000000);
        // An idle pooled TLS connection outlives the session tickets the region sent.
        QTest::qWait(300);
        QCOMPARE(c.get("/hello").status, 200);
        QCOMPARE(e->region->connections(), 1);
    }

    void backgroundRevalidationOverTls()
    {
        // Stale-while-revalidate to an https:// region on a new connection each time (no pool):
        // the background fetch connects, does its handshake and refreshes the copy.
        auto e = makeEdge(
                [](EdgeConfig &config) {
                    trustTestCa(config);
                    config.upstreamPoolSize = 0;
                },
                httpsRegion("node"));
        const QByteArray target = "/cache/swr-tls?max-age%3D0%2C%20stale-while-revalidate%3D60";
        EdgeTestClient c(e->port());
        const auto first = c.get(target);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        const auto second = c.get(target);
        QCOMPARE(second.headers.value("x-cache"), "UPDATING");
        QCOMPARE(second.body, first.body);
        QTRY_VERIFY(c.get(target).headers.value("x-response") != first.headers.value("x-response"));
        QVERIFY(e->region->connections() >= 2);
    }

    void untrustedRegionsGetNoRequest()
    {
        // Another CA's certificate, and one of the right CA for another name: the handshake
        // fails, the request is never sent, the client gets 502.
        for (const char *name : {"stranger", "misnamed"}) {
            auto e = makeEdge(trustTestCa, httpsRegion(name));
            EdgeTestClient c(e->port());
            const auto r = c.get("/hello");
            QCOMPARE(r.status, 502);
            QCOMPARE(e->region->requests(), 0);
        }
        // Without upstream_ca_file the system's CAs are trusted, which do not know the test CA.
        auto e = makeEdge({}, httpsRegion("node"));
        EdgeTestClient c(e->port());
        QCOMPARE(c.get("/hello").status, 502);
        QCOMPARE(e->region->requests(), 0);
    }

    void badHandshakesAreClosedAndCounted()
    {
        auto e = makeEdge();
        // Not TLS at all, and a client hanging up before its hello: both closed, counted, and
        // the port goes on serving.
        {
            QTcpSocket junk;
            junk.connectToHost(QHostAddress::LocalHost, e->httpsPort());
            QVERIFY(junk.waitForConnected(5000));
            junk.write(QByteArray("\x16\x03\x01\x00\x10", 5) + QByteArray(16, '\x7f'));
            QVERIFY(junk.waitForDisconnected(10000)
                    || junk.state() == QAbstractSocket::UnconnectedState);
        }
        {
            QTcpSocket quitter;
            quitter.connectToHost(QHostAddress::LocalHost, e->httpsPort());
            QVERIFY(quitter.waitForConnected(5000));
            quitter.close();
        }
        // A client that does not trust the certificate's CA gives up in the handshake.
        {
            EdgeTestClient distrustful(e->httpsPort(), certFile("other-ca"));
            QVERIFY(!distrustful.encrypted());
        }
        QTRY_VERIFY_WITH_TIMEOUT(e->gateway->tlsCounters().failed >= 2, 10000);
        EdgeTestClient c(e->httpsPort(), certFile("ca"));
        QVERIFY(c.encrypted());
        QCOMPARE(c.get("/hello").status, 200);
        QCOMPARE(e->region->requests(), 1);
    }

    void clientResetMidBodyLeavesTheEdgeServing()
    {
        // A client that resets a connection the edge is still writing a large body to costs
        // that connection only (TLS writes go through the edge's BIO, send with MSG_NOSIGNAL).
        auto e = makeEdge();
        for (int round = 0; round < 3; ++round) {
            EdgeTestClient c(e->httpsPort(), certFile("ca"));
            QVERIFY(c.encrypted());
            c.send("GET /big?n=50000000 HTTP/1.1\r\nHost: edge.test\r\n\r\n");
            QVERIFY(c.readHead().ok);
            c.socket().setSocketOption(QAbstractSocket::LowDelayOption, 1);
            c.socket().abort(); // with unread data: the kernel answers further bytes with RST
        }
        EdgeTestClient c(e->httpsPort(), certFile("ca"));
        QVERIFY(c.encrypted());
        QCOMPARE(c.get("/hello").status, 200);
    }

    void reloadServesRenewedFilesToNewConnections()
    {
        QTemporaryDir dir;
        const QString cert = dir.filePath(u"edge.pem"_s);
        const QString key = dir.filePath(u"edge.key"_s);
        QVERIFY(QFile::copy(certFile("node"), cert));
        QVERIFY(QFile::copy(keyFile("node"), key));
        auto e = makeEdge([&](EdgeConfig &c) {
            c.tls.certificateFile = cert;
            c.tls.privateKeyFile = key;
        });
        EdgeTestClient before(e->httpsPort(), certFile("ca"));
        QVERIFY(before.encrypted());
        const QByteArray oldSerial = serialOf(before);

        // A broken renewal is refused, naming the file; the old pair stays in use.
        QFile::remove(key);
        QVERIFY(QFile::copy(keyFile("stranger"), key));
        QString error;
        QVERIFY(!e->gateway->reloadTls(&error));
        QVERIFY2(error.contains(u"edge.tls.key_file"_s), qPrintable(error));
        {
            EdgeTestClient still(e->httpsPort(), certFile("ca"));
            QVERIFY(still.encrypted());
            QCOMPARE(serialOf(still), oldSerial);
        }

        // The renewed pair (another certificate of the same CA) goes to new connections.
        QFile::remove(cert);
        QFile::remove(key);
        QVERIFY(QFile::copy(certFile("misnamed"), cert));
        QVERIFY(QFile::copy(keyFile("misnamed"), key));
        QVERIFY2(e->gateway->reloadTls(&error), qPrintable(error));
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(QSslCertificate::fromPath(certFile("ca")));
        tls.setPeerVerifyMode(QSslSocket::QueryPeer); // misnamed.pem is not for localhost
        QSslSocket renewed;
        renewed.setSslConfiguration(tls);
        renewed.connectToHostEncrypted(u"127.0.0.1"_s, e->httpsPort());
        QVERIFY(renewed.waitForEncrypted(10000));
        QCOMPARE(renewed.peerCertificate(),
                 QSslCertificate::fromPath(certFile("misnamed")).value(0));
        QVERIFY(renewed.peerCertificate().serialNumber() != oldSerial);
        // The connection made before goes on with what it negotiated.
        QCOMPARE(before.get("/hello").status, 200);
    }

    void unusableFilesStopTheStart()
    {
        auto region = std::make_unique<TestUpstream>("r0");
        EdgeConfig config;
        config.listenHost = u"127.0.0.1"_s;
        config.listenPort = 0;
        config.tlsListenPort = 0;
        const QList<EdgeRouter::Region> regions{
                {u"r0"_s, {QUrl(QString::fromLatin1(region->url()))}}};
        const auto refused = [&](const QString &cert, const QString &key) {
            config.tls.certificateFile = cert;
            config.tls.privateKeyFile = key;
            EdgeServer gateway(config, std::make_shared<EdgeRouter>(config, regions));
            QString error;
            return gateway.start(&error) ? QString() : error;
        };
        QString error = refused(certFile("node"), kTlsDir + u"missing.key"_s);
        QVERIFY2(error.startsWith(u"edge.tls.key_file"_s), qPrintable(error));
        error = refused(certFile("node"), keyFile("stranger"));
        QVERIFY2(error.contains(u"does not belong to the certificate in "_s)
                         && error.endsWith(u"node.pem"_s),
                 qPrintable(error));
        error = refused(kTlsDir + u"make-certs.sh"_s, keyFile("node"));
        QVERIFY2(error.startsWith(u"edge.tls.cert_file"_s), qPrintable(error));
        QVERIFY(refused(certFile("node"), keyFile("node")).isEmpty());
    }

    void configuration()
    {
        QString error;
        auto parsed = EdgeConfig::fromJson(
                QJsonObject{{u"listen"_s, u"127.0.0.1:8080"_s},
                            {u"tls"_s,
                             QJsonObject{{u"cert_file"_s, u"/etc/meridian/edge.pem"_s},
                                         {u"key_file"_s, u"/etc/meridian/edge.key"_s},
                                         {u"listen"_s, u"127.0.0.1:8443"_s},
                                         {u"redirect_http"_s, true}}}},
                &error);
        QVERIFY2(parsed, qPrintable(error));
        QVERIFY(parsed->tlsEnabled());
        QCOMPARE(parsed->tlsListenHost, u"127.0.0.1"_s);
        QCOMPARE(parsed->tlsListenPort, 8443);
        QVERIFY(parsed->tlsRedirectHttp);
        QCOMPARE(EdgeConfig::fromJson(parsed->toJson(), &error)->toJson(), parsed->toJson());
        QVERIFY(!EdgeConfig::fromJson({}, &error)->tlsEnabled());

        const auto refusal = [](const QJsonObject &tls) {
            QString why;
            const auto c = EdgeConfig::fromJson(QJsonObject{{u"listen"_s, u"0.0.0.0:8443"_s},
                                                            {u"tls"_s, tls}},
                                                &why);
            return c ? QString() : why;
        };
        QCOMPARE(refusal({{u"cert_file"_s, u"a.pem"_s}, {u"key_file"_s, u"a.key"_s}}),
                 u"edge.tls.listen: port 8443 is edge.listen's too: HTTPS needs a port of its "
                 "own"_s);
        QCOMPARE(refusal({{u"cert_file"_s, u"a.pem"_s}}),
                 u"edge.tls.key_file: is required with edge.tls"_s);
        QCOMPARE(refusal({{u"cert_file"_s, u"a.pem"_s},
                          {u"key_file"_s, u"a.key"_s},
                          {u"ca_file"_s, u"ca.pem"_s}}),
                 u"edge.tls.ca_file: unknown field"_s);
        QCOMPARE(refusal({{u"cert_file"_s, u"a.pem"_s},
                          {u"key_file"_s, u"a.key"_s},
                          {u"listen"_s, u"everywhere"_s}}),
                 u"edge.tls.listen: must be \"ADDRESS:PORT\" with a numeric address, e.g. "
                 "\"0.0.0.0:443\""_s);
        QVERIFY(!EdgeConfig::fromJson(QJsonObject{{u"tls"_s, true}}, &error));
        QCOMPARE(error, u"edge.tls: must be an object with cert_file and key_file"_s);
    }
};

QTEST_GUILESS_MAIN(tst_EdgeTls)
#include "tst_edgetls.moc"
