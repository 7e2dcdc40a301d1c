// Proxy correctness through a real EdgeServer (worker threads, real sockets on 127.0.0.1) in
// front of in-test regions.
#include "edgetestclient.h"
#include "testupstream.h"

#include "core/edge/edgerouter.h"
#include "core/edge/edgeserver.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <memory>
#include <thread>

using namespace Qt::StringLiterals;
using namespace Meridian;

class tst_EdgeProxy final : public QObject
{
    Q_OBJECT

private:
    struct Edge
    {
        std::vector<std::unique_ptr<TestUpstream>> regions;
        std::shared_ptr<EdgeRouter> router;
        std::unique_ptr<EdgeServer> gateway;
        quint16 port() const { return gateway->port(); }
    };

    static std::unique_ptr<Edge> makeEdge(int regionCount,
                                          const std::function<void(EdgeConfig &)> &tune = {},
                                          bool regionHeader = true)
    {
        auto e = std::make_unique<Edge>();
        QList<EdgeRouter::Region> regions;
        for (int i = 0; i < regionCount; ++i) {
            const QByteArray id = "r" + QByteArray::number(i);
            e->regions.push_back(std::make_unique<TestUpstream>(regionHeader ? id : QByteArray()));
            regions.append({QString::fromLatin1(id),
                            {QUrl(QString::fromLatin1(e->regions.back()->url()))}});
        }
        EdgeConfig config;
        config.listenHost = u"127.0.0.1"_s;
        config.listenPort = 0;
        config.workers = 2;
        if (tune)
            tune(config);
        e->router = std::make_shared<EdgeRouter>(config, regions);
        e->gateway = std::make_unique<EdgeServer>(config, e->router);
        QString error;
        if (!e->gateway->start(&error))
            qFatal("edge did not start: %s", qPrintable(error));
        return e;
    }

private slots:
    void proxiesAndNamesTheRegion()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        const auto r = c.get("/hello");
        QVERIFY(r.ok);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, "hello from r0\n");
        QCOMPARE(r.headers.value("x-meridian-region"), "r0");
    }

    void addsRegionHeaderWhenTheRegionDoesNot()
    {
        auto e = makeEdge(1, {}, false);
        EdgeTestClient c(e->port());
        const auto r = c.get("/hello");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.headers.value("x-meridian-region"), "r0");
    }

    void forwardedHeaders()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        const auto r = c.get("/headers",
                             "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n");
        QCOMPARE(r.status, 200);
        QVERIFY2(r.body.contains("X-Forwarded-For: 203.0.113.9, 127.0.0.1\n"), r.body.constData());
        QVERIFY2(r.body.contains("X-Forwarded-Proto: http\n"), r.body.constData());
        QVERIFY(!r.body.contains("https"));
    }

    void hopByHopHeadersAreNotForwarded()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        const auto r = c.get(
                "/headers",
                "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                "TE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n"
                "X-End-To-End: kept\r\n");
        QCOMPARE(r.status, 200);
        for (const char *gone :
             {"Connection:", "X-Secret", "Keep-Alive", "TE:", "Upgrade", "Proxy-Connection"})
            QVERIFY2(!r.body.contains(gone), gone);
        QVERIFY(r.body.contains("X-End-To-End: kept"));
        // The region's own Connection: close is hop-by-hop too: the client's connection stays.
        const auto closing = c.get("/close");
        QCOMPARE(closing.status, 200);
        QVERIFY(!closing.headers.contains("connection"));
        QCOMPARE(c.get("/hello").status, 200);
    }

    void keepAliveReusesUpstreamConnections()
    {
        auto e = makeEdge(1, [](EdgeConfig &c) { c.workers = 1; });
        EdgeTestClient c(e->port());
        for (int i = 0; i < 25; ++i)
            QCOMPARE(c.get("/hello").status, 200);
        QCOMPARE(e->regions[0]->requests(), 25);
        QCOMPARE(e->regions[0]->connections(), 1);
    }

    void pipelinedRequestsAnswerInOrder()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /status/404 HTTP/1.1\r\nHost: a\r\n\r\n"
               "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n");
        QCOMPARE(c.read().status, 200);
        QCOMPARE(c.read().status, 404);
        const auto third = c.read();
        QCOMPARE(third.status, 200);
        QCOMPARE(third.body, "part0part1part2part3part4");
    }

    void chunkedResponsePassesThrough()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        const auto r = c.get("/chunked");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.headers.value("transfer-encoding"), "chunked");
        QCOMPARE(r.body, "part0part1part2part3part4");
        QCOMPARE(c.get("/hello").status, 200); // framing ended exactly where it should
    }

    void chunkedRequestBody()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n");
        const auto r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, "hello, world");
    }

    void expectContinueIsRelayedAtOnce()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        // The body is held back until 100 Continue arrives, as curl and browsers do for large
        // uploads; the edge must pass the region's interim answer on before the final one.
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
               "Expect: 100-continue\r\n\r\n");
        const auto interim = c.readHead(5000);
        QVERIFY2(interim.ok, "no 100 Continue while the body was held back");
        QCOMPARE(interim.status, 100);
        c.send("hello");
        const auto r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, "hello");
        QCOMPARE(r.headers.value("x-meridian-region"), "r0");
        QCOMPARE(c.get("/hello").status, 200); // the connection is still in step
    }

    void largeBodiesStream()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        const qint64 n = 48LL * 1024 * 1024;
        c.send("GET /big?n=" + QByteArray::number(n) + " HTTP/1.1\r\nHost: a\r\n\r\n");
        const auto r = c.read(false, 30000, false);
        QVERIFY(r.ok);
        QCOMPARE(r.bodyBytes, n);
        // A large upload is streamed to the region, which echoes it.
        const QByteArray upload(4 * 1024 * 1024, 'u');
        c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: "
               + QByteArray::number(upload.size()) + "\r\n\r\n" + upload);
        const auto echoed = c.read(false, 30000);
        QCOMPARE(echoed.status, 200);
        QCOMPARE(echoed.body.size(), upload.size());
        QVERIFY(echoed.body == upload);
    }

    void malformedRequestsNeverReachARegion_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<int>("status");
        QTest::addRow("no host") << QByteArray("GET / HTTP/1.1\r\n\r\n") << 400;
        QTest::addRow("two hosts")
                << QByteArray("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") << 400;
        QTest::addRow("space before colon")
                << QByteArray("GET / HTTP/1.1\r\nHost : a\r\n\r\n") << 400;
        QTest::addRow("obs-fold") << QByteArray(
                "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n")
                                  << 400;
        QTest::addRow("bad request line")
                << QByteArray("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
        QTest::addRow("garbage") << QByteArray("\x01\x02 garbage\r\n\r\n") << 400;
        QTest::addRow("CL and TE")
                << QByteArray("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                << 400;
        QTest::addRow("bad CL") << QByteArray(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n")
                                << 400;
        QTest::addRow("two CLs") << QByteArray("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                                               "Content-Length: 2\r\n\r\n")
                                 << 400;
        QTest::addRow("bare CR") << QByteArray("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n") << 400;
        QTest::addRow("gzip TE") << QByteArray(
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n")
                                 << 501;
        QTest::addRow("HTTP/2.0") << QByteArray("GET / HTTP/2.0\r\nHost: a\r\n\r\n") << 505;
        QTest::addRow("body too large")
                << QByteArray("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n") << 413;
        QTest::addRow("head too large")
                << ("GET / HTTP/1.1\r\nHost: a\r\nX: " + QByteArray(5000, 'x') + "\r\n\r\n") << 431;
        QTest::addRow("bad chunk size")
                << QByteArray("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                              "\r\nzz\r\n")
                << 400;
    }

    void malformedRequestsNeverReachARegion()
    {
        QFETCH(QByteArray, request);
        QFETCH(int, status);
        auto e = makeEdge(1, [](EdgeConfig &c) {
            c.maxHeaderBytes = 4096;
            c.maxBodyBytes = 1000;
        });
        EdgeTestClient c(e->port());
        c.send(request);
        const auto r = c.read();
        QVERIFY(r.ok);
        QCOMPARE(r.status, status);
        QCOMPARE(r.headers.value("connection"), "close");
        QVERIFY(c.waitClosed());
        QCOMPARE(e->regions[0]->requests(), 0);
    }

    void refusedUploadStillGetsItsAnswer()
    {
        // The edge answers 413 as soon as it sees the head, while the client is still sending a
        // large body. Closing with that body unread would make the kernel send a reset, which
        // can destroy the answer before the client reads it; the edge must drain instead.
        auto e = makeEdge(1, [](EdgeConfig &c) { c.maxBodyBytes = 1000; });
        for (int i = 0; i < 5; ++i) {
            EdgeTestClient c(e->port());
            const QByteArray body(4 * 1024 * 1024, 'b');
            c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: "
                   + QByteArray::number(body.size()) + "\r\n\r\n" + body);
            const auto r = c.read();
            QVERIFY2(r.ok, "the 413 answer was lost");
            QCOMPARE(r.status, 413);
            QCOMPARE(r.headers.value("connection"), "close");
            QVERIFY(c.waitClosed());
        }
        QCOMPARE(e->regions[0]->requests(), 0);
    }

    void http10ClientGetsClose()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        c.send("GET /hello HTTP/1.0\r\n\r\n");
        const auto r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, "hello from r0\n");
        QVERIFY(c.waitClosed());
    }

    void clientGoneMidResponseDropsTheRegionConnection()
    {
        auto e = makeEdge(1, [](EdgeConfig &c) { c.workers = 1; });
        {
            EdgeTestClient c(e->port());
            c.send("GET /big?n=" + QByteArray::number(256LL * 1024 * 1024)
                   + " HTTP/1.1\r\nHost: a\r\n\r\n");
            const auto head = c.readHead();
            QCOMPARE(head.status, 200);
        } // gone, with most of the body unsent
        // The region's connection still carries the rest of that body: it must be closed, never
        // pooled, or the next request would read the old body as its answer.
        QTRY_COMPARE_WITH_TIMEOUT(e->regions[0]->openConnections(), 0, 10000);
        EdgeTestClient c(e->port());
        QCOMPARE(c.get("/hello").body, "hello from r0\n");
        QCOMPARE(e->regions[0]->connections(), 2);
    }

    void headRequestHasNoBody()
    {
        auto e = makeEdge(1);
        EdgeTestClient c(e->port());
        c.send("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        const auto r = c.read(true);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.headers.value("content-length"), "14");
        QCOMPARE(c.get("/hello").body, "hello from r0\n");
    }

    void headerTimeout()
    {
        auto e = makeEdge(1, [](EdgeConfig &c) { c.clientHeaderTimeoutMs = 300; });
        EdgeTestClient c(e->port());
        c.send("GET /hello HTTP/1.1\r\nHost: a\r\n");
        const auto r = c.read(false, 5000);
        QCOMPARE(r.status, 408);
        QVERIFY(c.waitClosed());
    }

    void idleTimeout()
    {
        auto e = makeEdge(1, [](EdgeConfig &c) { c.clientIdleTimeoutMs = 300; });
        EdgeTestClient c(e->port());
        QCOMPARE(c.get("/hello").status, 200);
        QVERIFY(c.waitClosed(5000));
    }

    void upstreamTimeoutIs504()
    {
        auto e = makeEdge(1, [](EdgeConfig &c) { c.upstreamResponseTimeoutMs = 300; });
        EdgeTestClient c(e->port());
        const auto r = c.get("/slow");
        QCOMPARE(r.status, 504);
        QCOMPARE(c.get("/hello").status, 200); // the client connection survives
    }

    void accessLogHasALinePerRequest()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(u"access.log"_s);
        auto e = makeEdge(2, [&path](EdgeConfig &c) {
            c.accessLog = path;
            c.workers = 1;
            c.upstreamResponseTimeoutMs = 300;
        });
        e->regions[0]->shutdown(); // every request is first tried there: a retry, logged
        {
            EdgeTestClient c(e->port());
            QCOMPARE(c.get("/hello?x=\"y\"").status, 200);
            QCOMPARE(c.get("/status/404").status, 404);
            QCOMPARE(c.get("/slow").status, 504);
            c.send("GET /\x01 HTTP/1.1\r\n\r\n");
            QCOMPARE(c.read().status, 400);
        }
        {
            // A client that leaves before its whole answer arrived: 499, as nginx logs it.
            EdgeTestClient gone(e->port());
            gone.send("GET /big?n=" + QByteArray::number(256LL * 1024 * 1024)
                      + " HTTP/1.1\r\nHost: a\r\n\r\n");
            QCOMPARE(gone.readHead().status, 200);
        }
        const auto written = [&path]() {
            QFile f(path);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        };
        // Buffered by the worker, written within a second.
        QTRY_VERIFY_WITH_TIMEOUT(written().contains("\"status\":499"), 10000);
        // logrotate moves the file away, then SIGHUP: the next lines go to a new file.
        QVERIFY(QFile::rename(path, path + u".1"_s));
        QString error;
        QVERIFY2(e->gateway->reopenAccessLog(&error), qPrintable(error));
        EdgeTestClient after(e->port());
        QCOMPARE(after.get("/hello").status, 200);
        e->gateway->stop(1000); // an orderly stop writes what the workers still hold

        const auto lines = [](const QString &file) {
            QFile f(file);
            QList<QJsonObject> out;
            if (!f.open(QIODevice::ReadOnly))
                return out;
            for (const QByteArray &line : f.readAll().split('\n')) {
                if (!line.isEmpty())
                    out.append(QJsonDocument::fromJson(line).object());
            }
            return out;
        };
        const QList<QJsonObject> rotated = lines(path + u".1"_s);
        QCOMPARE(rotated.size(), 5);
        const QJsonObject hello = rotated.at(0);
        QCOMPARE(hello.value(u"client").toString(), u"127.0.0.1"_s);
        QCOMPARE(hello.value(u"method").toString(), u"GET"_s);
        QCOMPARE(hello.value(u"target").toString(), u"/hello?x=\"y\""_s);
        QCOMPARE(hello.value(u"status").toInt(), 200);
        QCOMPARE(hello.value(u"region").toString(), u"r1"_s);
        QCOMPARE(hello.value(u"attempts").toInt(), 2);
        QCOMPARE(hello.value(u"cache").toString(), u"MISS"_s);
        QVERIFY(hello.value(u"bytes").toInt() > 14); // the body alone is 14 bytes
        QVERIFY(hello.value(u"ms").toDouble() >= 0);
        QVERIFY(hello.value(u"time").toString().endsWith(u'Z'));
        QCOMPARE(rotated.at(1).value(u"status").toInt(), 404);
        QCOMPARE(rotated.at(2).value(u"status").toInt(), 504);
        QCOMPARE(rotated.at(2).value(u"region").toString(), u"r1"_s);
        const QJsonObject malformed = rotated.at(3);
        QCOMPARE(malformed.value(u"status").toInt(), 400);
        QVERIFY(malformed.value(u"region").isNull());
        QCOMPARE(malformed.value(u"attempts").toInt(), 0);
        QCOMPARE(rotated.at(4).value(u"status").toInt(), 499);
        QVERIFY(rotated.at(4).value(u"bytes").toInteger() < 256LL * 1024 * 1024);
        const QList<QJsonObject> current = lines(path);
        QCOMPARE(current.size(), 1);
        QCOMPARE(current.at(0).value(u"target").toString(), u"/hello"_s);

        // A log that cannot be opened stops the gateway from starting, saying why.
        EdgeConfig config;
        config.listenHost = u"127.0.0.1"_s;
        config.accessLog = dir.filePath(u"no-such-dir/access.log"_s);
        EdgeServer unopened(config, e->router);
        QVERIFY(!unopened.start(&error));
        QVERIFY2(error.contains(u"cannot open the access log"_s), qPrintable(error));
    }

    void clientGoneBeforeTheAnswerStopsTheExchange()
    {
        // A region that takes its time (here: forever) and a client that gives up: the edge
        // closes its connection to the region at once instead of holding it until the upstream
        // timeout, and logs 499; the pool and the next client are unaffected.
        QTemporaryDir dir;
        const QString log = dir.filePath(u"access.log"_s);
        auto e = makeEdge(1, [&log](EdgeConfig &c) {
            c.workers = 1;
            c.upstreamResponseTimeoutMs = 60000;
            c.accessLog = log;
        });
        {
            EdgeTestClient gone(e->port());
            gone.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            QTRY_COMPARE_WITH_TIMEOUT(e->regions[0]->requestsFor("/slow"), 1, 10000);
        } // closed while the region has not answered
        QTRY_COMPARE_WITH_TIMEOUT(e->regions[0]->openConnections(), 0, 10000);
        EdgeTestClient next(e->port());
        QCOMPARE(next.get("/hello").status, 200);
        e->gateway->stop(1000);
        QFile file(log);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray lines = file.readAll();
        QVERIFY2(lines.contains(R"("target":"/slow","status":499)"), lines.constData());
    }

    void noRegionIs503WithRetryAfter()
    {
        // Every region drained: nothing to send the request to. Clients and caches in front are
        // told to come back, not that the site is broken.
        auto e = makeEdge(2);
        BalancerConfig config = e->router->config();
        for (Region &region : config.regions)
            region.state = AdminState::Drained;
        QString error;
        QVERIFY2(e->router->setConfig(config, &error), qPrintable(error));
        EdgeTestClient c(e->port());
        const auto r = c.get("/hello");
        QCOMPARE(r.status, 503);
        QCOMPARE(r.headers.value("retry-after"), "1");
        QCOMPARE(r.body, "no region is available\n");
        QCOMPARE(e->regions[0]->requestsFor("/hello") + e->regions[1]->requestsFor("/hello"), 0);
    }

    void connectFailureIsRetriedElsewhere()
    {
        auto e = makeEdge(2, [](EdgeConfig &c) { c.workers = 1; });
        e->regions[0]->shutdown();
        EdgeTestClient c(e->port());
        for (int i = 0; i < 10; ++i) {
            const auto r = c.get("/hello");
            QCOMPARE(r.status, 200);
            QCOMPARE(r.headers.value("x-meridian-region"), "r1");
        }
    }

    void status503IsRetriedForIdempotentOnly()
    {
        auto e = makeEdge(2, [](EdgeConfig &c) { c.workers = 1; });
        e->regions[0]->setForcedStatus(503);
        EdgeTestClient c(e->port());
        for (int i = 0; i < 6; ++i)
            QCOMPARE(c.get("/hello").status, 200);
        // A POST is not idempotent: the 503 it met goes to the client as it is.
        int unavailable = 0;
        for (int i = 0; i < 6; ++i) {
            c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
            const auto r = c.read();
            QVERIFY(r.status == 200 || r.status == 503);
            unavailable += r.status == 503;
        }
        QVERIFY(unavailable > 0);
    }

    void retryBudgetBoundsOnlyRetriesAfterAnAnswer()
    {
        const auto noBudget = [](EdgeConfig &c) {
            c.workers = 1;
            c.retryBudgetPercent = 0;
            c.minRetryConcurrency = 0;
        };
        // A region that is gone: its requests still move elsewhere, budget or not.
        auto down = makeEdge(2, noBudget);
        down->regions[0]->shutdown();
        EdgeTestClient c(down->port());
        for (int i = 0; i < 6; ++i)
            QCOMPARE(c.get("/hello").status, 200);
        // A region that answers 503 (perhaps overloaded): without budget, no retry.
        auto sick = makeEdge(2, noBudget);
        sick->regions[0]->setForcedStatus(503);
        EdgeTestClient s(sick->port());
        int unavailable = 0;
        for (int i = 0; i < 6; ++i)
            unavailable += s.get("/hello").status == 503;
        QVERIFY(unavailable > 0);
    }

    void noRegionIs502WhenAllAreDown()
    {
        auto e = makeEdge(2);
        e->regions[0]->shutdown();
        e->regions[1]->shutdown();
        EdgeTestClient c(e->port());
        const auto r = c.get("/hello");
        QCOMPARE(r.status, 502);
    }

    void trafficSnapshotCountsPerRegion()
    {
        auto e = makeEdge(2, [](EdgeConfig &c) { c.workers = 1; });
        EdgeTestClient c(e->port());
        for (int i = 0; i < 10; ++i)
            QCOMPARE(c.get("/hello").status, 200);
        QCOMPARE(c.get("/status/500").status, 500);
        // The worker records an exchange just after its last byte went out: poll.
        const auto settled = [&] {
            e->gateway->sample();
            const auto t = e->gateway->trafficSnapshot();
            return t.size() == 2 && t[0].byClass[5] + t[1].byClass[5] == 1;
        };
        QTRY_VERIFY_WITH_TIMEOUT(settled(), 5000);
        const QList<EdgeRegionTraffic> t = e->gateway->trafficSnapshot();
        QCOMPARE(t.size(), 2);
        QCOMPARE(t[0].requests + t[1].requests, 11u);
        QCOMPARE(t[0].byClass[2] + t[1].byClass[2], 10u);
        QCOMPARE(t[0].byClass[5] + t[1].byClass[5], 1u);
        QCOMPARE(t[0].inFlight + t[1].inFlight, 0);
    }

    void busyPollingIsCappedAndCanBeTurnedOff()
    {
        // One client sending requests back to back: the worker runs dry between them and polls
        // before sleeping (edge.busy_poll_us), but for at most a fifth of the time; with 0 it
        // never polls.
        for (const int maxUs : {1000, 0}) {
            auto e = makeEdge(1, [maxUs](EdgeConfig &c) {
                c.workers = 1;
                c.busyPollUs = maxUs;
            });
            EdgeTestClient c(e->port());
            QElapsedTimer clock;
            clock.start();
            for (int i = 0; i < 5000 && clock.elapsed() < 1500; ++i)
                QCOMPARE(c.get("/hello").status, 200);
            const double elapsed = double(clock.nsecsElapsed()) / 1e9;
            const double polled = e->gateway->busyPollSeconds();
            if (maxUs == 0) {
                QCOMPARE(polled, 0.0);
                continue;
            }
            QVERIFY2(polled > 0, "a worker under load never polled");
            // The cap is 20 ms of every 100 ms; a poll may overrun by a preemption.
            QVERIFY2(polled <= 0.25 * elapsed + 0.02,
                     qPrintable(u"polled %1 s of %2 s"_s.arg(polled).arg(elapsed)));
        }
    }

    void gracefulStopFinishesInFlight()
    {
        auto e = makeEdge(1, [](EdgeConfig &c) { c.workers = 1; });
        const quint16 port = e->port();
        std::atomic<qint64> received{-1};
        std::atomic<bool> sent{false};
        std::thread reader([&] {
            EdgeTestClient c(port);
            c.send("GET /big?n=8388608 HTTP/1.1\r\nHost: a\r\n\r\n");
            sent = true;
            const auto r = c.read(false, 20000, false);
            received = r.ok ? r.bodyBytes : -2;
        });
        QTRY_VERIFY_WITH_TIMEOUT(e->regions[0]->requests() == 1, 5000);
        e->gateway->stop(10000); // returns once the in-flight response is complete
        reader.join();
        QCOMPARE(received.load(), 8388608);
        QVERIFY(!e->gateway->isRunning());
        EdgeTestClient late(port);
        QVERIFY(!late.connected() || late.waitClosed(2000));
    }
};

QTEST_GUILESS_MAIN(tst_EdgeProxy)
#include "tst_edgeproxy.moc"
