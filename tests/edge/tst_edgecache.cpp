// Edge cache semantics, through a real edge and directly (LRU bounds).
#include "edgetestclient.h"
#include "testupstream.h"

#include "core/edge/edgecache.h"
#include "core/edge/edgerouter.h"
#include "core/edge/edgeserver.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian;

class tst_EdgeCache final : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<TestUpstream> m_region;
    std::unique_ptr<EdgeServer> m_gateway;
    quint16 port() const { return m_gateway->port(); }

private slots:
    void init()
    {
        m_region = std::make_unique<TestUpstream>("r0");
        EdgeConfig config;
        config.listenHost = u"127.0.0.1"_s;
        config.listenPort = 0;
        config.workers = 2;
        auto router = std::make_shared<EdgeRouter>(
                config,
                QList<EdgeRouter::Region>{{u"r0"_s, {QUrl(QString::fromLatin1(m_region->url()))}}});
        m_gateway = std::make_unique<EdgeServer>(config, router);
        QString error;
        QVERIFY2(m_gateway->start(&error), qPrintable(error));
    }

    void cleanup()
    {
        m_gateway.reset();
        m_region.reset();
    }

    void storesPerCacheControl_data()
    {
        // stored: later requests get the first body (X-Cache: HIT); revalidated: each of them
        // still asks the region, which answers 304 to the edge's If-None-Match.
        QTest::addColumn<QByteArray>("cacheControl");
        QTest::addColumn<bool>("stored");
        QTest::addColumn<bool>("revalidated");
        QTest::addRow("max-age") << QByteArray("max-age=60") << true << false;
        QTest::addRow("s-maxage over max-age=0")
                << QByteArray("max-age=0, s-maxage=60") << true << false;
        QTest::addRow("public max-age") << QByteArray("public, max-age=60") << true << false;
        QTest::addRow("no-store") << QByteArray("no-store, max-age=60") << false << false;
        QTest::addRow("private") << QByteArray("private, max-age=60") << false << false;
        QTest::addRow("no-cache") << QByteArray("no-cache") << true << true;
        QTest::addRow("no-cache over max-age")
                << QByteArray("max-age=60, no-cache") << true << true;
        QTest::addRow("max-age=0") << QByteArray("max-age=0") << true << true;
        QTest::addRow("none") << QByteArray() << false << false;
    }

    void storesPerCacheControl()
    {
        QFETCH(QByteArray, cacheControl);
        QFETCH(bool, stored);
        QFETCH(bool, revalidated);
        const QByteArray path = "/cache/" + QByteArray(QTest::currentDataTag()).toPercentEncoding();
        const QByteArray target = path + "?" + cacheControl.toPercentEncoding();
        EdgeTestClient c(port());
        const auto first = c.get(target);
        QCOMPARE(first.status, 200);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        // Two workers: send more than one to be sure each worker's view of the shared cache is
        // the same. The region's body names its request count, so a body equal to the first
        // one was served from the cache.
        for (int i = 0; i < 4; ++i) {
            EdgeTestClient other(port());
            const auto again = other.get(target);
            QCOMPARE(again.status, 200);
            QCOMPARE(again.body == first.body, stored);
            QCOMPARE(again.headers.value("x-cache"), stored ? "HIT" : "MISS");
        }
        QCOMPARE(m_region->requestsFor(path), stored && !revalidated ? 1 : 5);
    }

    void mustRevalidateNeedsAValidator()
    {
        // Direct: no-cache is stored only with an ETag to revalidate it with, and is stale at
        // once; a 304 saying no-cache keeps it stale, one without freshness keeps its lifetime.
        EdgeCache cache(1 << 20, 100000);
        const QByteArray req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        HttpWire::RequestHead qh;
        HttpWire::Error e;
        QCOMPARE(HttpWire::parseRequest(req.constData(), size_t(req.size()), qh, e),
                 HttpWire::Status::Complete);
        // A parsed head points into its text: the texts live as long as the test.
        const QByteArray bareText = "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\n\r\n";
        const QByteArray taggedText
                = "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nETag: \"t\"\r\n\r\n";
        const QByteArray noCache304Text
                = "HTTP/1.1 304 Not Modified\r\nCache-Control: no-cache\r\n\r\n";
        const QByteArray plain304Text = "HTTP/1.1 304 Not Modified\r\n\r\n";
        const QByteArray fresh304Text
                = "HTTP/1.1 304 Not Modified\r\nCache-Control: max-age=5\r\n\r\n";
        HttpWire::ResponseHead bare, tagged, noCache304, plain304, fresh304;
        for (const auto &[text, head] : {std::pair{&bareText, &bare},
                                         std::pair{&taggedText, &tagged},
                                         std::pair{&noCache304Text, &noCache304},
                                         std::pair{&plain304Text, &plain304},
                                         std::pair{&fresh304Text, &fresh304}}) {
            QCOMPARE(HttpWire::parseResponse(text->constData(), size_t(text->size()), *head),
                     HttpWire::Status::Complete);
        }
        QVERIFY(!cache.begin(qh, bare, 0, 0));
        auto entry = cache.begin(qh, tagged, 0, 1000);
        QVERIFY(entry);
        cache.store("k", entry);
        const auto hit = cache.lookup("k", qh, 1000);
        QCOMPARE(hit.freshness, EdgeCache::Freshness::Stale);
        QCOMPARE(hit.response->etag, "\"t\"");

        QCOMPARE(EdgeCache::sharedLifetimeMs(noCache304), 0);
        cache.refresh("k", hit.response, noCache304, 2000);
        QCOMPARE(cache.lookup("k", qh, 2000).freshness, EdgeCache::Freshness::Stale);
        QCOMPARE(EdgeCache::sharedLifetimeMs(plain304), -1);
        const auto refreshed = cache.refresh("k", hit.response, fresh304, 3000);
        QCOMPARE(cache.lookup("k", qh, 7999).freshness, EdgeCache::Freshness::Fresh);
        QCOMPARE(cache.lookup("k", qh, 8000).freshness, EdgeCache::Freshness::Stale);
        // The 304's Cache-Control replaced the stored one; the ETag it did not repeat stayed.
        QCOMPARE(refreshed->headers, "ETag: \"t\"\r\nCache-Control: max-age=5\r\n");
        QCOMPARE(refreshed->storedMs, 3000);
        // A 304 without freshness information keeps the lifetime the entry had (5 s).
        cache.refresh("k", refreshed, plain304, 9000);
        QCOMPARE(cache.lookup("k", qh, 13999).freshness, EdgeCache::Freshness::Fresh);
        QCOMPARE(cache.lookup("k", qh, 14000).freshness, EdgeCache::Freshness::Stale);
    }

    void authorizationBypasses()
    {
        EdgeTestClient c(port());
        const QByteArray target = "/cache/auth?max-age%3D60";
        QCOMPARE(c.get(target).headers.value("x-cache"), "MISS");
        const auto r = c.get(target, "Authorization: Bearer x\r\n");
        QCOMPARE(r.status, 200);
        QVERIFY(!r.headers.contains("x-cache"));
        QCOMPARE(m_region->requestsFor("/cache/auth"), 2);
    }

    void revalidatesWithETag()
    {
        EdgeTestClient c(port());
        const QByteArray target = "/cache/etag?max-age%3D60";
        const auto first = c.get(target);
        QCOMPARE(first.headers.value("etag"), "\"v-etag\"");
        // no-cache from the client forces revalidation: the region answers 304 to the edge's
        // If-None-Match, and the client still gets the full cached body.
        const auto revalidated = c.get(target, "Cache-Control: no-cache\r\n");
        QCOMPARE(revalidated.status, 200);
        QCOMPARE(revalidated.body, first.body);
        QCOMPARE(revalidated.headers.value("x-cache"), "HIT");
        QCOMPARE(m_region->requestsFor("/cache/etag"), 2);
        // The 304's fields replace the stored ones (RFC 9111 4.3.4), and the answer is as old
        // as the 304, for this client and for the next ones.
        QVERIFY(revalidated.headers.value("x-response") != first.headers.value("x-response"));
        QCOMPARE(revalidated.headers.value("age"), "0");
        const auto later = c.get(target);
        QCOMPARE(later.headers.value("x-cache"), "HIT");
        QCOMPARE(later.headers.value("x-response"), revalidated.headers.value("x-response"));
        QCOMPARE(m_region->requestsFor("/cache/etag"), 2);
        // A client's own If-None-Match on a fresh entry is answered 304 by the edge.
        const auto notModified = c.get(target, "If-None-Match: \"v-etag\"\r\n");
        QCOMPARE(notModified.status, 304);
        QCOMPARE(m_region->requestsFor("/cache/etag"), 2);
    }

    void headServedFromCache()
    {
        EdgeTestClient c(port());
        const QByteArray target = "/cache/head?max-age%3D60";
        const auto first = c.get(target);
        c.send("HEAD " + target + " HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        const auto head = c.read(true);
        QCOMPARE(head.status, 200);
        QCOMPARE(head.headers.value("x-cache"), "HIT");
        QCOMPARE(head.headers.value("content-length").toInt(), first.body.size());
        QCOMPARE(c.get("/hello").status, 200); // no body bytes were sent after the HEAD answer
    }

    void lruEvictionBoundsMemory()
    {
        // Direct: 16 shards of 4 KiB each; entries of ~1.2 KiB evict the least recently used.
        EdgeCache cache(16 * 4096, 100000);
        const QByteArray head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n";
        HttpWire::ResponseHead rh;
        QCOMPARE(HttpWire::parseResponse(head.constData(), size_t(head.size()), rh),
                 HttpWire::Status::Complete);
        const QByteArray req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        HttpWire::RequestHead qh;
        HttpWire::Error e;
        QCOMPARE(HttpWire::parseRequest(req.constData(), size_t(req.size()), qh, e),
                 HttpWire::Status::Complete);
        for (int i = 0; i < 400; ++i) {
            auto entry = cache.begin(qh, rh, 1000, 0);
            QVERIFY(entry);
            entry->body.assign(1000, 'x');
            cache.store("k" + std::to_string(i), std::move(entry));
            QVERIFY(cache.stats().bytes <= quint64(16 * 4096));
        }
        const auto st = cache.stats();
        QVERIFY(st.evictions > 0);
        QVERIFY(st.entries < 400);
        // The newest entry survives; the oldest is gone.
        QCOMPARE(cache.lookup("k399", qh, 1).freshness, EdgeCache::Freshness::Fresh);
        QCOMPARE(cache.lookup("k0", qh, 1).freshness, EdgeCache::Freshness::Miss);
        QCOMPARE(cache.lookup("k399", qh, 61000).freshness, EdgeCache::Freshness::Stale);
    }

    void varyOnLookup()
    {
        EdgeCache cache(1 << 20, 100000);
        const QByteArray head
                = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nVary: Accept-Encoding\r\n\r\n";
        HttpWire::ResponseHead rh;
        QCOMPARE(HttpWire::parseResponse(head.constData(), size_t(head.size()), rh),
                 HttpWire::Status::Complete);
        auto parse = [](const QByteArray &raw, HttpWire::RequestHead &h) {
            HttpWire::Error e;
            return HttpWire::parseRequest(raw.constData(), size_t(raw.size()), h, e)
                   == HttpWire::Status::Complete;
        };
        const QByteArray gz = "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n";
        const QByteArray plain = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        HttpWire::RequestHead gzHead, plainHead;
        QVERIFY(parse(gz, gzHead));
        QVERIFY(parse(plain, plainHead));
        auto entry = cache.begin(gzHead, rh, 0, 0);
        QVERIFY(entry);
        cache.store("k", std::move(entry));
        QCOMPARE(cache.lookup("k", gzHead, 1).freshness, EdgeCache::Freshness::Fresh);
        QCOMPARE(cache.lookup("k", plainHead, 1).freshness, EdgeCache::Freshness::Miss);
        const QByteArray star = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nVary: *\r\n\r\n";
        QCOMPARE(HttpWire::parseResponse(star.constData(), size_t(star.size()), rh),
                 HttpWire::Status::Complete);
        QVERIFY(!cache.begin(gzHead, rh, 0, 0));
        const QByteArray cookie
                = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nSet-Cookie: a=b\r\n\r\n";
        QCOMPARE(HttpWire::parseResponse(cookie.constData(), size_t(cookie.size()), rh),
                 HttpWire::Status::Complete);
        QVERIFY(!cache.begin(gzHead, rh, 0, 0));
    }
};

QTEST_GUILESS_MAIN(tst_EdgeCache)
#include "tst_edgecache.moc"
