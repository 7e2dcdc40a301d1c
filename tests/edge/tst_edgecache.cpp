// Edge cache semantics, through a real edge and directly (LRU bounds).
#include "edgetestclient.h"
#include "testupstream.h"

#include "core/edge/edgecache.h"
#include "core/edge/edgerouter.h"
#include "core/edge/edgeserver.h"

#include <QElapsedTimer>
#include <QJsonObject>
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

    // An edge in front of m_region with `config`'s settings, on a free loopback port; null
    // (and `error` says why) when it cannot start.
    std::unique_ptr<EdgeServer> startGateway(EdgeConfig config, QString *error) const
    {
        config.listenHost = u"127.0.0.1"_s;
        config.listenPort = 0;
        auto router = std::make_shared<EdgeRouter>(
                config,
                QList<EdgeRouter::Region>{{u"r0"_s, {QUrl(QString::fromLatin1(m_region->url()))}}});
        auto gateway = std::make_unique<EdgeServer>(config, router);
        if (!gateway->start(error))
            return nullptr;
        return gateway;
    }

    // A parsed head points into its text: the caller keeps the text as long as the head.
    static bool parse(const QByteArray &text, HttpWire::RequestHead &head)
    {
        HttpWire::Error error;
        return HttpWire::parseRequest(text.constData(), size_t(text.size()), head, error)
               == HttpWire::Status::Complete;
    }
    static bool parse(const QByteArray &text, HttpWire::ResponseHead &head)
    {
        return HttpWire::parseResponse(text.constData(), size_t(text.size()), head)
               == HttpWire::Status::Complete;
    }

private slots:
    void init()
    {
        m_region = std::make_unique<TestUpstream>("r0");
        EdgeConfig config;
        config.workers = 2;
        QString error;
        m_gateway = startGateway(config, &error);
        QVERIFY2(m_gateway, qPrintable(error));
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

    void storesPerStatus_data()
    {
        // Redirects and 404s that say how long they last are stored like a 200 ("negative
        // caching": a scanner's misses do not all reach a region); partial answers and server
        // errors never are.
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("cacheControl");
        QTest::addColumn<bool>("stored");
        QTest::addRow("404, max-age") << 404 << QByteArray("max-age=60") << true;
        QTest::addRow("404, none") << 404 << QByteArray() << false;
        QTest::addRow("410") << 410 << QByteArray("max-age=60") << true;
        QTest::addRow("301") << 301 << QByteArray("max-age=60") << true;
        QTest::addRow("302") << 302 << QByteArray("max-age=60") << true;
        QTest::addRow("308") << 308 << QByteArray("max-age=60") << true;
        QTest::addRow("403") << 403 << QByteArray("max-age=60") << false;
        QTest::addRow("206") << 206 << QByteArray("max-age=60") << false;
        QTest::addRow("500") << 500 << QByteArray("max-age=60") << false;
        QTest::addRow("404, no-store") << 404 << QByteArray("no-store") << false;
    }

    void storesPerStatus()
    {
        QFETCH(int, status);
        QFETCH(QByteArray, cacheControl);
        QFETCH(bool, stored);
        const QByteArray path = "/status/" + QByteArray::number(status) + "-"
                                + QByteArray(QTest::currentDataTag()).toPercentEncoding();
        const QByteArray target = path + "?" + cacheControl.toPercentEncoding();
        EdgeTestClient c(port());
        const auto first = c.get(target);
        QCOMPARE(first.status, status);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        const auto again = c.get(target);
        QCOMPARE(again.status, status);
        QCOMPARE(again.body, first.body);
        QCOMPARE(again.headers.value("x-cache"), stored ? "HIT" : "MISS");
        QCOMPARE(m_region->requestsFor(path), stored ? 1 : 2);
    }

    void mustRevalidateNeedsAValidator()
    {
        // Direct: no-cache is stored only with an ETag to revalidate it with, and is stale at
        // once; a 304 saying no-cache keeps it stale, one without freshness keeps its lifetime.
        EdgeCache cache(1 << 20, 100000);
        const QByteArray req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        HttpWire::RequestHead qh;
        QVERIFY(parse(req, qh));
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
            QVERIFY(parse(*text, *head));
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
        QVERIFY(parse(head, rh));
        const QByteArray req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        HttpWire::RequestHead qh;
        QVERIFY(parse(req, qh));
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
        QVERIFY(parse(head, rh));
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
        QVERIFY(parse(star, rh));
        QVERIFY(!cache.begin(gzHead, rh, 0, 0));
        const QByteArray cookie
                = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nSet-Cookie: a=b\r\n\r\n";
        QVERIFY(parse(cookie, rh));
        QVERIFY(!cache.begin(gzHead, rh, 0, 0));
    }

    void purgePatterns_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("key");
        QTest::addColumn<bool>("purged");
        // A path: that path with any query string, nothing longer.
        QTest::addRow("path") << ""
                              << "/app.js"
                              << "a /app.js" << true;
        QTest::addRow("path, query") << ""
                                     << "/app.js"
                                     << "a /app.js?v=2" << true;
        QTest::addRow("path, longer") << ""
                                      << "/app.js"
                                      << "a /app.json" << false;
        QTest::addRow("path, folder") << ""
                                      << "/assets"
                                      << "a /assets/x.css" << false;
        // A target with a query: exactly it.
        QTest::addRow("query") << ""
                               << "/s?q=1"
                               << "a /s?q=1" << true;
        QTest::addRow("query, other") << ""
                                      << "/s?q=1"
                                      << "a /s?q=12" << false;
        QTest::addRow("query, bare") << ""
                                     << "/s?q=1"
                                     << "a /s" << false;
        // A prefix.
        QTest::addRow("prefix") << ""
                                << "/assets/*"
                                << "a /assets/x.css" << true;
        QTest::addRow("prefix, outside") << ""
                                         << "/assets/*"
                                         << "a /assetsx" << false;
        QTest::addRow("prefix, query") << ""
                                       << "/s?q=*"
                                       << "a /s?q=abc" << true;
        QTest::addRow("everything") << ""
                                    << "/*"
                                    << "a /" << true;
        // Hosts: exact, any port when the purge names none, case-insensitive.
        QTest::addRow("host") << "example.com"
                              << "/*"
                              << "example.com /x" << true;
        QTest::addRow("host, other") << "example.com"
                                     << "/*"
                                     << "example.org /x" << false;
        QTest::addRow("host, subdomain") << "example.com"
                                         << "/*"
                                         << "www.example.com /x" << false;
        QTest::addRow("host, suffix") << "example.com"
                                      << "/*"
                                      << "example.com.evil /x" << false;
        QTest::addRow("host, port") << "example.com"
                                    << "/*"
                                    << "example.com:8080 /x" << true;
        QTest::addRow("host:port") << "example.com:8080"
                                   << "/*"
                                   << "example.com:8080 /x" << true;
        QTest::addRow("host:port, other port") << "example.com:8080"
                                               << "/*"
                                               << "example.com:9090 /x" << false;
        QTest::addRow("host:port, none") << "example.com:8080"
                                         << "/*"
                                         << "example.com /x" << false;
        QTest::addRow("host, case") << "Example.COM"
                                    << "/*"
                                    << "example.com /x" << true;
        QTest::addRow("ipv6") << "[::1]"
                              << "/*"
                              << "[::1]:8080 /x" << true;
        QTest::addRow("ipv6 with port") << "[::1]:8080"
                                        << "/*"
                                        << "[::1]:9090 /x" << false;
    }

    void purgePatterns()
    {
        QFETCH(QString, host);
        QFETCH(QString, pattern);
        QFETCH(QString, key);
        QFETCH(bool, purged);
        QVERIFY(EdgeCachePurge::invalidPattern(pattern.toStdString()).empty());
        const EdgeCachePurge purge(host.toStdString(), {pattern.toStdString()});
        QCOMPARE(purge.matches(key.toStdString()), purged);
    }

    void purgeRefusesWhatIsNoPath()
    {
        for (const char *bad : {"", "app.js", "*", "/a*b", "/a b", "/a\tb", "/a#top", "/a\x7f"})
            QVERIFY2(!EdgeCachePurge::invalidPattern(bad).empty(), bad);
        QVERIFY(!EdgeCachePurge::invalidPattern(std::string(8193, '/')).empty());
    }

    void purgeThroughTheEdge()
    {
        // Two workers share the cache: a purge through the server empties it for both, takes
        // what it matches and nothing else, and the next request fetches the region's answer.
        auto fetch = [this](const QByteArray &path) {
            EdgeTestClient c(port());
            return c.get(path + "?max-age%3D600");
        };
        const QList<QByteArray> paths = {"/cache/keep", "/cache/gone/1", "/cache/gone/2"};
        QMap<QByteArray, QByteArray> bodies;
        for (const QByteArray &path : paths) {
            bodies.insert(path, fetch(path).body);
            QCOMPARE(fetch(path).headers.value("x-cache"), "HIT");
        }
        QCOMPARE(m_gateway->purgeCache(EdgeCachePurge("", {"/cache/gone/*"})), size_t(2));
        QCOMPARE(m_gateway->cacheStats().purged, quint64(2));
        const auto kept = fetch("/cache/keep");
        QCOMPARE(kept.headers.value("x-cache"), "HIT");
        QCOMPARE(kept.body, bodies.value("/cache/keep"));
        for (const QByteArray &path : {QByteArray("/cache/gone/1"), QByteArray("/cache/gone/2")}) {
            const auto again = fetch(path);
            QCOMPARE(again.headers.value("x-cache"), "MISS");
            QVERIFY(again.body != bodies.value(path)); // the region's count moved on
            QCOMPARE(fetch(path).headers.value("x-cache"), "HIT");
            QCOMPARE(m_region->requestsFor(path), 2);
        }
        // Another host's purge leaves these alone (the client sends Host: edge.test).
        QCOMPARE(m_gateway->purgeCache(EdgeCachePurge("other.test", {"/*"})), size_t(0));
        QCOMPARE(m_gateway->purgeCache(EdgeCachePurge("edge.test", {"/*"})), size_t(3));
        QCOMPARE(m_gateway->cacheStats().entries, quint64(0));
    }

    void purgeDuringAFetch()
    {
        // A response whose fetch began before a purge that matches it is not stored when it
        // completes: it may be the content the purge is for. One the purge does not match is.
        EdgeCache cache(1 << 20, 100000);
        const QByteArray head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n";
        HttpWire::ResponseHead rh;
        QVERIFY(parse(head, rh));
        const QByteArray req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        HttpWire::RequestHead qh;
        QVERIFY(parse(req, qh));
        auto matched = cache.begin(qh, rh, 0, 0);
        auto other = cache.begin(qh, rh, 0, 0);
        QCOMPARE(cache.purge(EdgeCachePurge("", {"/old"})), size_t(0));
        cache.store("a /old", matched);
        cache.store("a /new", other);
        QCOMPARE(cache.lookup("a /old", qh, 1).freshness, EdgeCache::Freshness::Miss);
        QCOMPARE(cache.lookup("a /new", qh, 1).freshness, EdgeCache::Freshness::Fresh);
        // A revalidation answered after the purge serves its client but is not kept either.
        auto stored = cache.begin(qh, rh, 0, 0);
        cache.store("a /page", stored);
        const QByteArray notModifiedText = "HTTP/1.1 304 Not Modified\r\n\r\n";
        HttpWire::ResponseHead notModified;
        QVERIFY(parse(notModifiedText, notModified));
        QCOMPARE(cache.purge(EdgeCachePurge("", {"/page"})), size_t(1));
        QVERIFY(cache.refresh("a /page", stored, notModified, 2));
        QCOMPARE(cache.lookup("a /page", qh, 3).freshness, EdgeCache::Freshness::Miss);
        // A fetch that outlives more purges than the cache remembers is not stored at all.
        auto slow = cache.begin(qh, rh, 0, 0);
        for (int i = 0; i < 80; ++i)
            cache.purge(EdgeCachePurge("", {"/unrelated"}));
        cache.store("a /slow", slow);
        QCOMPARE(cache.lookup("a /slow", qh, 1).freshness, EdgeCache::Freshness::Miss);
        auto fresh = cache.begin(qh, rh, 0, 0);
        cache.store("a /slow", fresh);
        QCOMPARE(cache.lookup("a /slow", qh, 1).freshness, EdgeCache::Freshness::Fresh);
    }

    void purgeWhileTheRegionAnswers()
    {
        // A purge that arrives after a request reached the region but before its answer: the
        // answer may predate the deploy the purge is for, so it is not stored.
        const QByteArray path = "/cache/slower-purge";
        EdgeTestClient c(port());
        c.send("GET " + path + "?max-age%3D60 HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        QTRY_COMPARE(m_region->requestsFor(path), 1); // the region takes 2 s to answer
        m_gateway->purgeCache(EdgeCachePurge("", {path.toStdString()}));
        const auto answer = c.read();
        QCOMPARE(answer.status, 200);
        QCOMPARE(answer.headers.value("x-cache"), "MISS");
        QCOMPARE(m_gateway->cacheStats().entries, quint64(0));
    }

    void staleIfError_data()
    {
        // A stored copy answers (X-Cache: STALE) when the region fails, within the response's
        // stale-if-error or the edge's allowance (RFC 5861), unless the response forbids it.
        QTest::addColumn<QByteArray>("cacheControl");
        QTest::addColumn<int>("allowanceS");
        QTest::addColumn<int>("failure"); // a status the region answers, or 0: the region is gone
        QTest::addColumn<bool>("stale");
        QTest::addRow("500") << QByteArray("max-age=0, stale-if-error=60") << 0 << 500 << true;
        QTest::addRow("502") << QByteArray("max-age=0, stale-if-error=60") << 0 << 502 << true;
        QTest::addRow("503") << QByteArray("max-age=0, stale-if-error=60") << 0 << 503 << true;
        QTest::addRow("504") << QByteArray("max-age=0, stale-if-error=60") << 0 << 504 << true;
        QTest::addRow("region gone")
                << QByteArray("max-age=0, stale-if-error=60") << 0 << 0 << true;
        QTest::addRow("404 is an answer")
                << QByteArray("max-age=0, stale-if-error=60") << 0 << 404 << false;
        QTest::addRow("501 is an answer")
                << QByteArray("max-age=0, stale-if-error=60") << 0 << 501 << false;
        QTest::addRow("no stale-if-error") << QByteArray("max-age=0") << 0 << 500 << false;
        QTest::addRow("expired") << QByteArray("max-age=0, stale-if-error=0") << 60 << 500 << false;
        QTest::addRow("allowance") << QByteArray("max-age=0") << 60 << 500 << true;
        QTest::addRow("allowance, gone") << QByteArray("max-age=0") << 60 << 0 << true;
        QTest::addRow("must-revalidate")
                << QByteArray("max-age=0, must-revalidate") << 60 << 500 << false;
        QTest::addRow("s-maxage") << QByteArray("s-maxage=0") << 60 << 500 << false;
        QTest::addRow("no-cache") << QByteArray("no-cache") << 60 << 500 << false;
        QTest::addRow("stale-if-error over must-revalidate")
                << QByteArray("max-age=0, must-revalidate, stale-if-error=60") << 0 << 500 << true;
    }

    void staleIfError()
    {
        QFETCH(QByteArray, cacheControl);
        QFETCH(int, allowanceS);
        QFETCH(int, failure);
        QFETCH(bool, stale);
        EdgeConfig config;
        config.cacheStaleIfErrorS = allowanceS;
        config.upstreamConnectTimeoutMs = 500;
        QString error;
        const auto gateway = startGateway(config, &error);
        QVERIFY2(gateway, qPrintable(error));

        const QByteArray path = "/cache/sie-"
                                + QByteArray(QTest::currentDataTag()).toPercentEncoding();
        const QByteArray target = path + "?" + cacheControl.toPercentEncoding();
        EdgeTestClient c(gateway->port());
        const auto first = c.get(target);
        QCOMPARE(first.status, 200);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        if (failure)
            m_region->setForcedStatus(failure);
        else
            m_region->shutdown();
        EdgeTestClient other(gateway->port());
        const auto answer = other.get(target);
        m_region->setForcedStatus(0);
        if (stale) {
            QCOMPARE(answer.status, 200);
            QCOMPARE(answer.headers.value("x-cache"), "STALE");
            QCOMPARE(answer.body, first.body);
            QCOMPARE(gateway->cacheStats().staleServed, quint64(1));
        } else {
            QCOMPARE(answer.status, failure ? failure : 502);
            QVERIFY(answer.headers.value("x-cache") != "STALE");
            QCOMPARE(gateway->cacheStats().staleServed, quint64(0));
        }
        // The connection goes on: keep-alive after a stale answer.
        if (failure) {
            const auto next = other.get("/hello");
            QCOMPARE(next.status, 200);
        }
    }

    void concurrentMissesShareOneFetch_data()
    {
        // Requests that miss while another one fetches the same URL wait for it, on the same
        // worker thread or another one (the kernel spreads the connections over the workers).
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<int>("workers");
        QTest::addColumn<int>("lockTimeoutMs");
        QTest::addColumn<int>("regionRequests");
        QTest::addColumn<int>("hits");
        QTest::addRow("stored: one fetch")
                << QByteArray("/cache/slow-a?max-age%3D60") << 1 << 5000 << 1 << 4;
        QTest::addRow("not stored: each asks")
                << QByteArray("/cache/slow-b?no-store") << 1 << 5000 << 5 << 0;
        QTest::addRow("collapsing off")
                << QByteArray("/cache/slow-c?max-age%3D60") << 1 << 0 << 5 << 0;
        // The fetch takes 2 s; the others wait 100 ms, then ask a region themselves.
        QTest::addRow("lock timeout")
                << QByteArray("/cache/slower-d?max-age%3D60") << 1 << 100 << 5 << 0;
        QTest::addRow("four workers: one fetch")
                << QByteArray("/cache/slow-e?max-age%3D60") << 4 << 5000 << 1 << 4;
    }

    void concurrentMissesShareOneFetch()
    {
        QFETCH(QByteArray, target);
        QFETCH(int, workers);
        QFETCH(int, lockTimeoutMs);
        QFETCH(int, regionRequests);
        QFETCH(int, hits);
        EdgeConfig config;
        config.workers = workers;
        config.cacheLockTimeoutMs = lockTimeoutMs;
        QString error;
        const auto gateway = startGateway(config, &error);
        QVERIFY2(gateway, qPrintable(error));

        // Six clients ask at once; the sixth hangs up while it waits.
        std::vector<std::unique_ptr<EdgeTestClient>> clients;
        for (int i = 0; i < 6; ++i) {
            clients.push_back(std::make_unique<EdgeTestClient>(gateway->port()));
            clients.back()->send("GET " + target + " HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        }
        clients.back().reset();
        clients.pop_back();
        QList<EdgeTestClient::Response> answers;
        for (auto &client : clients)
            answers.append(client->read());
        const QByteArray path = target.left(target.indexOf('?'));
        // The sixth may have reached a region before its hang-up was noticed, unless it waited.
        const int asked = m_region->requestsFor(path);
        if (regionRequests == 1)
            QCOMPARE(asked, 1);
        else
            QVERIFY2(asked == regionRequests || asked == regionRequests + 1,
                     QByteArray::number(asked).constData());
        int hitCount = 0;
        for (const auto &answer : answers) {
            QCOMPARE(answer.status, 200);
            hitCount += answer.headers.value("x-cache") == "HIT";
        }
        QCOMPARE(hitCount, hits);
        if (regionRequests == 1) {
            for (const auto &answer : answers)
                QCOMPARE(answer.body, answers.first().body);
        }
        // The connections go on.
        QCOMPARE(clients.front()->get("/hello").status, 200);
    }

    void waitersThatLeaveAreLetGo()
    {
        // Half of twenty clients hang up while they wait (or lead); the others get the answer,
        // and the worker goes on (under ASan: nothing waiting is touched after it is gone).
        EdgeConfig config;
        config.workers = 3;
        QString error;
        const auto gateway = startGateway(config, &error);
        QVERIFY2(gateway, qPrintable(error));
        std::vector<std::unique_ptr<EdgeTestClient>> clients;
        for (int i = 0; i < 20; ++i) {
            clients.push_back(std::make_unique<EdgeTestClient>(gateway->port()));
            clients.back()->send(
                    "GET /cache/slow-leave?max-age%3D60 HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        }
        // One of them reached the region; the others wait for it.
        QTRY_COMPARE(m_region->requestsFor("/cache/slow-leave"), 1);
        for (int i = 0; i < 20; i += 2)
            clients[size_t(i)].reset();
        for (int i = 1; i < 20; i += 2) {
            const auto answer = clients[size_t(i)]->read();
            QCOMPARE(answer.status, 200);
            QVERIFY(answer.body.startsWith("cached body /cache/slow-leave"));
        }
        QCOMPARE(EdgeTestClient(gateway->port()).get("/hello").status, 200);
    }

    void uncacheableUrlsDoNotWait()
    {
        // A URL whose answer was not stored: the next requests for it do not wait for each
        // other (hit-for-miss). The region answers each 300 ms late, so how many it answered
        // at once says whether they waited.
        EdgeConfig config;
        config.workers = 1;
        QString error;
        const auto gateway = startGateway(config, &error);
        QVERIFY2(gateway, qPrintable(error));
        const QByteArray request
                = "GET /cache/slow-pass?no-store HTTP/1.1\r\nHost: edge.test\r\n\r\n";
        for (int batch = 0; batch < 2; ++batch) {
            m_region->resetMostSlowAtOnce();
            std::vector<std::unique_ptr<EdgeTestClient>> clients;
            for (int i = 0; i < 4; ++i) {
                clients.push_back(std::make_unique<EdgeTestClient>(gateway->port()));
                clients.back()->send(request);
            }
            for (auto &client : clients)
                QCOMPARE(client->read().status, 200);
            // First: one asked, the others waited for its head (then asked, three at once).
            // Then: all four at once.
            QCOMPARE(m_region->mostSlowAtOnce(), batch == 0 ? 3 : 4);
        }
    }

    void staleWhileRevalidate_data()
    {
        // Within its stale-while-revalidate (or the edge's allowance) a stale copy answers at
        // once (X-Cache: UPDATING) while the edge revalidates it; otherwise the request waits
        // for the region's 304 (X-Cache: HIT).
        QTest::addColumn<QByteArray>("cacheControl");
        QTest::addColumn<int>("allowanceS");
        QTest::addColumn<QByteArray>("requestHeaders");
        QTest::addColumn<bool>("updating");
        QTest::addRow("own directive")
                << QByteArray("max-age=0, stale-while-revalidate=60") << 0 << QByteArray() << true;
        QTest::addRow("allowance") << QByteArray("max-age=0") << 60 << QByteArray() << true;
        QTest::addRow("neither") << QByteArray("max-age=0") << 0 << QByteArray() << false;
        QTest::addRow("window over")
                << QByteArray("max-age=0, stale-while-revalidate=0") << 60 << QByteArray() << false;
        QTest::addRow("s-maxage with its own")
                << QByteArray("s-maxage=0, stale-while-revalidate=60") << 0 << QByteArray() << true;
        QTest::addRow("s-maxage, allowance")
                << QByteArray("s-maxage=0") << 60 << QByteArray() << false;
        QTest::addRow("must-revalidate")
                << QByteArray("max-age=0, must-revalidate, stale-while-revalidate=60") << 60
                << QByteArray() << false;
        QTest::addRow("no-cache") << QByteArray("no-cache, stale-while-revalidate=60") << 60
                                  << QByteArray() << false;
        QTest::addRow("client says no-cache")
                << QByteArray("max-age=0, stale-while-revalidate=60") << 60
                << QByteArray("Cache-Control: no-cache\r\n") << false;
    }

    void staleWhileRevalidate()
    {
        QFETCH(QByteArray, cacheControl);
        QFETCH(int, allowanceS);
        QFETCH(QByteArray, requestHeaders);
        QFETCH(bool, updating);
        EdgeConfig config;
        config.cacheStaleWhileRevalidateS = allowanceS;
        QString error;
        const auto gateway = startGateway(config, &error);
        QVERIFY2(gateway, qPrintable(error));
        const QByteArray path = "/cache/swr-"
                                + QByteArray(QTest::currentDataTag()).toPercentEncoding();
        const QByteArray target = path + "?" + cacheControl.toPercentEncoding();
        EdgeTestClient c(gateway->port());
        const auto first = c.get(target);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        const auto second = c.get(target, requestHeaders);
        QCOMPARE(second.status, 200);
        QCOMPARE(second.body, first.body);
        QCOMPARE(second.headers.value("x-cache"), updating ? "UPDATING" : "HIT");
        // Either way the region is asked once more: now (HIT), or in the background.
        QTRY_COMPARE(m_region->requestsFor(path), 2);
        QCOMPARE(gateway->cacheStats().updating, quint64(updating ? 1 : 0));
        if (updating) {
            // The background 304 refreshed the entry: the next answer carries its fields.
            QTRY_VERIFY(c.get(target).headers.value("x-response")
                        != first.headers.value("x-response"));
        }
        QCOMPARE(c.get("/hello").status, 200);
    }

    void staleAnswersAtOnceWhileTheRegionWorks()
    {
        // The region takes 2 s per answer. A stale copy within stale-while-revalidate answers
        // every request at once, and the requests of both workers share one revalidation.
        const QByteArray path = "/cache/slower-swr";
        const QByteArray target = path + "?max-age%3D0%2C%20stale-while-revalidate%3D60";
        const auto first = EdgeTestClient(port()).get(target);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        std::vector<std::unique_ptr<EdgeTestClient>> clients;
        for (int i = 0; i < 6; ++i) {
            clients.push_back(std::make_unique<EdgeTestClient>(port()));
            clients.back()->send("GET " + target + " HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        }
        QElapsedTimer answered;
        answered.start();
        for (auto &client : clients) {
            const auto answer = client->read();
            QCOMPARE(answer.status, 200);
            QCOMPARE(answer.headers.value("x-cache"), "UPDATING");
            QCOMPARE(answer.body, first.body);
        }
        // The one revalidation is still with the region (a waiting request would have taken
        // its 2 s), and no request started a second one.
        QVERIFY2(answered.elapsed() < 1500, QByteArray::number(answered.elapsed()).constData());
        QTRY_COMPARE(m_region->requestsFor(path), 2);
        QCOMPARE(m_gateway->cacheStats().updating, quint64(6));
        // A HEAD in the window is answered from the copy too.
        EdgeTestClient head(port());
        head.send("HEAD " + target + " HTTP/1.1\r\nHost: edge.test\r\n\r\n");
        const auto headAnswer = head.read(true);
        QCOMPARE(headAnswer.headers.value("x-cache"), "UPDATING");
        QCOMPARE(headAnswer.headers.value("content-length").toInt(), first.body.size());
        QCOMPARE(m_region->requestsFor(path), 2);
    }

    void revalidationInTheBackgroundFollowsTheRegion()
    {
        const QByteArray target = "/cache/swr-deploy?max-age%3D0%2C%20stale-while-revalidate%3D60";
        EdgeTestClient c(port());
        const auto first = c.get(target);
        QCOMPARE(first.headers.value("x-cache"), "MISS");
        // A deploy: the region has new content (a new ETag). The next request still gets the
        // copy, and the background fetch stores the new one, which the requests after get.
        m_region->setContentVersion(1);
        QCOMPARE(c.get(target).body, first.body);
        QTRY_VERIFY(c.get(target).body != first.body);
        const auto updated = c.get(target);
        QCOMPARE(updated.headers.value("x-cache"), "UPDATING");
        QVERIFY(updated.headers.value("etag").startsWith("\"v1-"));

        // A region that fails keeps the copy answering, and is asked again at most once a
        // second however many requests come.
        m_region->setForcedStatus(503);
        const int before = m_region->requestsFor("/cache/swr-deploy");
        QElapsedTimer elapsed;
        elapsed.start();
        for (int i = 0; i < 20; ++i) {
            const auto answer = c.get(target);
            QCOMPARE(answer.status, 200);
            QCOMPARE(answer.body, updated.body);
        }
        const int asked = m_region->requestsFor("/cache/swr-deploy") - before;
        QVERIFY2(asked <= 2 + elapsed.elapsed() / 1000, QByteArray::number(asked).constData());

        // A region that says the resource is gone: the copy is dropped, and the next request
        // gets the region's answer.
        m_region->setForcedStatus(404);
        QTRY_COMPARE(c.get(target).status, 404);
        m_region->setForcedStatus(0);
        QCOMPARE(c.get(target).headers.value("x-cache"), "MISS");
    }

    void backgroundRevalidationIsTheEdgesOwnRequest()
    {
        // RFC 9111 4.3.1: the background fetch carries Host and the fields the stored response
        // varies on, not the cookies or other fields of the client that set it off (the shared
        // answer must not depend on them). A request with Authorization never reaches the
        // cache at all.
        const QByteArray path = "/cache/vary-lang-swr";
        const QByteArray target = path + "?max-age%3D0%2C%20stale-while-revalidate%3D60";
        EdgeTestClient c(port());
        QCOMPARE(c.get(target, "Accept-Language: de\r\n").headers.value("x-cache"), "MISS");
        const auto stale = c.get(target,
                                 "Accept-Language: de\r\nCookie: session=secret\r\n"
                                 "User-Agent: browser/1\r\n"
                                 "If-None-Match: \"client-etag\"\r\n");
        QCOMPARE(stale.headers.value("x-cache"), "UPDATING");
        QTRY_COMPARE(m_region->requestsFor(path), 2);
        const QByteArray sent = m_region->lastHeadersFor(path);
        QVERIFY2(sent.contains("Accept-Language: de\n"), sent.constData());
        QVERIFY2(sent.contains("If-None-Match: \"v-vary-lang-swr\"\n"), sent.constData());
        QVERIFY2(sent.contains("X-Forwarded-Proto: http\n"), sent.constData());
        QVERIFY2(sent.toLower().contains("host: "), sent.constData());
        for (const char *never : {"Cookie", "User-Agent", "client-etag"})
            QVERIFY2(!sent.contains(never), sent.constData());
    }

    void cacheConfiguration()
    {
        QString error;
        const auto parsed
                = EdgeConfig::fromJson(QJsonObject{{u"cache"_s,
                                                    QJsonObject{{u"stale_if_error_s"_s, 600}}}},
                                       &error);
        QVERIFY2(parsed, qPrintable(error));
        QCOMPARE(parsed->cacheStaleIfErrorS, 600);
        QCOMPARE(EdgeConfig::fromJson(parsed->toJson(), &error)->toJson(), parsed->toJson());
        QCOMPARE(EdgeConfig::fromJson({}, &error)->cacheStaleIfErrorS, 0);
        for (const QJsonValue &bad : {QJsonValue(-1), QJsonValue(1.5), QJsonValue(u"1h"_s)}) {
            QVERIFY(!EdgeConfig::fromJson(QJsonObject{{u"cache"_s,
                                                       QJsonObject{{u"stale_if_error_s"_s, bad}}}},
                                          &error));
            QVERIFY2(error.contains(u"stale_if_error_s"_s), qPrintable(error));
        }
        QVERIFY(!EdgeConfig::fromJson(QJsonObject{{u"cache"_s,
                                                   QJsonObject{{u"stale_if_error"_s, 60}}}},
                                      &error));
        QVERIFY2(error.contains(u"stale_if_error"_s), qPrintable(error));
        const auto swr
                = EdgeConfig::fromJson(QJsonObject{{u"cache"_s,
                                                    QJsonObject{
                                                            {u"stale_while_revalidate_s"_s, 30}}}},
                                       &error);
        QVERIFY2(swr, qPrintable(error));
        QCOMPARE(swr->cacheStaleWhileRevalidateS, 30);
        QCOMPARE(EdgeConfig::fromJson(swr->toJson(), &error)->cacheStaleWhileRevalidateS, 30);
        QCOMPARE(EdgeConfig::fromJson({}, &error)->cacheStaleWhileRevalidateS, 0);
        QVERIFY(!EdgeConfig::fromJson(QJsonObject{{u"cache"_s,
                                                   QJsonObject{{u"stale_while_revalidate_s"_s, -5}}}},
                                      &error));
        QVERIFY2(error.contains(u"stale_while_revalidate_s"_s), qPrintable(error));
        // Not the cache's, but the edge's other tuning knob: busy polling.
        QCOMPARE(EdgeConfig::fromJson({}, &error)->busyPollUs, 50);
        const auto noPolling = EdgeConfig::fromJson(QJsonObject{{u"busy_poll_us"_s, 0}}, &error);
        QVERIFY2(noPolling, qPrintable(error));
        QCOMPARE(noPolling->busyPollUs, 0);
        QCOMPARE(EdgeConfig::fromJson(noPolling->toJson(), &error)->busyPollUs, 0);
        for (const QJsonValue &bad : {QJsonValue(-1), QJsonValue(1001), QJsonValue(u"50us"_s)}) {
            QVERIFY(!EdgeConfig::fromJson(QJsonObject{{u"busy_poll_us"_s, bad}}, &error));
            QVERIFY2(error.contains(u"busy_poll_us"_s), qPrintable(error));
        }
    }
};

QTEST_GUILESS_MAIN(tst_EdgeCache)
#include "tst_edgecache.moc"
