// EdgeRouter: the edge's picks through the Balancer, with the hash key and client location taken
// from the request, retries' exclusions, in-flight accounting and outlier detection.
#include "core/balancing/outlierdetector.h"
#include "core/edge/edgerouter.h"
#include "mmdbwriter.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

BalancerConfig threeRegions(const QString &strategy)
{
    BalancerConfig config;
    config.strategy = strategy;
    const struct
    {
        const char *id;
        double lat, lon;
        int port;
    } regions[] = {{"us-east", 39.0, -77.5, 40001},
                   {"eu-west", 53.3, -6.3, 40002},
                   {"ap-southeast", 1.35, 103.8, 40003}};
    for (const auto &r : regions) {
        Region region;
        region.id = QString::fromLatin1(r.id);
        region.name = region.id;
        region.lat = r.lat;
        region.lon = r.lon;
        region.priority = r.port - 40000;
        region.endpoints.append({u"http://127.0.0.1:%1"_s.arg(r.port), HealthState::Healthy});
        config.regions.append(region);
    }
    return config;
}

// A parsed request head; `raw` must outlive it.
HttpWire::RequestHead parse(const QByteArray &raw)
{
    HttpWire::RequestHead head;
    HttpWire::Error error;
    if (HttpWire::parseRequest(raw.constData(), size_t(raw.size()), head, error)
        != HttpWire::Status::Complete)
        qFatal("bad test request");
    return head;
}

QString pickRegion(EdgeRouter &router,
                   const QByteArray &raw,
                   std::string_view client = "127.0.0.1",
                   uint64_t excluded = 0)
{
    EdgePick pick;
    if (!router.pick(parse(raw), client, excluded, pick))
        return {};
    const QString id = router.regionId(pick.region);
    if (router.endpoint(pick.endpoint).region != pick.region)
        return u"mismatch"_s;
    router.release(pick, true, 1000);
    return id;
}

} // namespace

class tst_EdgeRouter final : public QObject
{
    Q_OBJECT

private slots:
    void hashKeySources_data()
    {
        QTest::addColumn<QString>("hashKey");
        QTest::addColumn<QByteArray>("format"); // %1 = the session
        QTest::addColumn<bool>("byClient");
        QTest::addRow("cookie") << u"cookie:sid"_s
                                << QByteArray("Cookie: theme=dark; sid=%1; x=y\r\n") << false;
        QTest::addRow("header") << u"header:X-Session"_s << QByteArray("x-session: %1\r\n")
                                << false;
        QTest::addRow("client address") << u"client_address"_s << QByteArray() << true;
    }

    void hashKeySources()
    {
        QFETCH(QString, hashKey);
        QFETCH(QByteArray, format);
        QFETCH(bool, byClient);
        EdgeConfig config;
        config.hashKey = hashKey;
        EdgeRouter router(config);
        QVERIFY(router.setConfig(threeRegions(u"consistent_hash"_s)));
        QSet<QString> used;
        for (int i = 0; i < 40; ++i) {
            const QByteArray session = "s" + QByteArray::number(i);
            const QByteArray client = "10.0.0." + QByteArray::number(i);
            const QByteArray raw = "GET / HTTP/1.1\r\nHost: x\r\n"
                                   + QByteArray(format).replace("%1", session) + "\r\n";
            const std::string_view address(client.constData(), size_t(client.size()));
            const QString first = pickRegion(router, raw, address);
            QVERIFY(!first.isEmpty());
            for (int k = 0; k < 5; ++k)
                QCOMPARE(pickRegion(router, raw, address), first);
            // Another client address with the same session: same region unless keyed by address.
            if (!byClient)
                QCOMPARE(pickRegion(router, raw, "192.168.1.1"), first);
            used.insert(first);
        }
        QCOMPARE(used.size(), 3);
    }

    void geoFromLocationHeader()
    {
        EdgeConfig config;
        EdgeRouter router(config);
        QVERIFY(router.setConfig(threeRegions(u"geo_proximity"_s)));
        QCOMPARE(pickRegion(router, "GET / HTTP/1.1\r\nX-Client-Location: 48.85,2.35\r\n\r\n"),
                 u"eu-west"_s);
        QCOMPARE(pickRegion(router, "GET / HTTP/1.1\r\nX-Client-Location: 35.6,139.7\r\n\r\n"),
                 u"ap-southeast"_s);
        QCOMPARE(pickRegion(router, "GET / HTTP/1.1\r\nX-Client-Location: 40.7,-74.0\r\n\r\n"),
                 u"us-east"_s);
        // A retry skips the nearest for the next nearest.
        const int euWest = router.regionIndex(u"eu-west"_s);
        QCOMPARE(pickRegion(router,
                            "GET / HTTP/1.1\r\nX-Client-Location: 48.85,2.35\r\n\r\n",
                            "127.0.0.1",
                            uint64_t(1) << euWest),
                 u"us-east"_s);
    }

    // A real MaxMind DB file (written by the test) read through libmaxminddb: the client
    // address gives a location, or a country whose location comes from zone.tab; a header still
    // wins over the database.
    void geoFromMaxMindDatabase()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        MmdbWriter writer;
        writer.add({0x7f000000, 24, 1.29, 103.85, {}}); // 127.0.0.0/24: Singapore
        writer.add({0x7f000100, 24, 0, 0, "IE"});       // 127.0.1.0/24: Ireland
        writer.add({0x0a000000, 8, 40.7, -74.0, {}});   // 10.0.0.0/8: New York
        QFile file(dir.filePath(u"geo.mmdb"_s));
        QVERIFY(file.open(QIODevice::WriteOnly));
        QVERIFY(file.write(writer.build()) > 0);
        file.close();

        EdgeConfig config;
        config.maxmindDatabase = file.fileName();
        EdgeRouter router(config);
        QVERIFY2(router.locatorError().isEmpty(), qPrintable(router.locatorError()));
        QVERIFY(router.setConfig(threeRegions(u"geo_proximity"_s)));
        const QByteArray plain = "GET / HTTP/1.1\r\n\r\n";
        QCOMPARE(pickRegion(router, plain, "127.0.0.9"), u"ap-southeast"_s);
        QCOMPARE(pickRegion(router, plain, "127.0.1.200"), u"eu-west"_s);
        QCOMPARE(pickRegion(router, plain, "10.20.30.40"), u"us-east"_s);
        QCOMPARE(pickRegion(router,
                            "GET / HTTP/1.1\r\nX-Client-Location: 48.85,2.35\r\n\r\n",
                            "127.0.0.9"),
                 u"eu-west"_s);
        // An address the database does not know still gets a region.
        QVERIFY(!pickRegion(router, plain, "192.0.2.1").isEmpty());
    }

    void unreadableMaxMindDatabaseIsAClearError()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QFile file(dir.filePath(u"broken.mmdb"_s));
        QVERIFY(file.open(QIODevice::WriteOnly));
        QVERIFY(file.write(QByteArray(4096, 'x')) > 0);
        file.close();
        EdgeConfig config;
        config.maxmindDatabase = file.fileName();
        EdgeRouter router(config);
        QVERIFY2(router.locatorError().contains(u"edge.maxmind_database: cannot open"_s),
                 qPrintable(router.locatorError()));
        QVERIFY(router.locatorError().contains(file.fileName()));
        config.maxmindDatabase = dir.filePath(u"missing.mmdb"_s);
        EdgeRouter missing(config);
        QVERIFY(missing.locatorError().contains(u"missing.mmdb"_s));
    }

    void configChangesApplyAtOnce()
    {
        EdgeConfig config;
        EdgeRouter router(config);
        BalancerConfig balancer = threeRegions(u"round_robin"_s);
        QVERIFY(router.setConfig(balancer));
        // An attempt in flight across the change keeps its slot until it is released.
        EdgePick held;
        QVERIFY(router.pick(parse("GET / HTTP/1.1\r\n\r\n"), "127.0.0.1", 0, held));
        const QString heldRegion = router.regionId(held.region);
        QCOMPARE(router.balancer().inFlight(heldRegion), 1);
        for (Region &region : balancer.regions)
            region.state = region.id == heldRegion ? AdminState::Draining : AdminState::Active;
        QVERIFY(router.setConfig(balancer));
        for (int i = 0; i < 30; ++i)
            QVERIFY(pickRegion(router, "GET / HTTP/1.1\r\n\r\n") != heldRegion);
        QCOMPARE(router.balancer().inFlight(heldRegion), 1);
        router.release(held, true, 500);
        QCOMPARE(router.balancer().inFlight(heldRegion), 0);
        // Indices stay stable across configurations.
        QCOMPARE(router.regionCount(), 3);
        QCOMPARE(router.endpointCount(), 3);
        QVERIFY(!router.setConfig(threeRegions(u"no_such_strategy"_s)));
        QCOMPARE(router.config().strategy, u"round_robin"_s);
    }

    void failuresEjectThroughTheOutlierDetector()
    {
        EdgeConfig config;
        EdgeRouter router(config);
        QVERIFY(router.setConfig(threeRegions(u"round_robin"_s)));
        OutlierDetector detector(Clock::steady());
        OutlierSettings settings;
        settings.consecutiveFailures = 2;
        settings.maxEjectionPercent = 50;
        QVERIFY(detector.setSettings(settings));
        QList<EndpointRef> targets;
        for (const Region &r : router.config().regions)
            targets.append({r.id, r.endpoints.constFirst().url});
        detector.setTargets(targets);
        QObject::connect(&detector,
                         &OutlierDetector::ejected,
                         &detector,
                         [&router](const QString &region, const QString &url) {
                             router.setEjected(region, url, true);
                         });
        router.setOutlierDetector(&detector);
        const int usEast = router.regionIndex(u"us-east"_s);
        int failed = 0;
        for (int i = 0; i < 30 && failed < 2; ++i) {
            EdgePick pick;
            QVERIFY(router.pick(parse("GET / HTTP/1.1\r\n\r\n"), "127.0.0.1", 0, pick));
            const bool isUsEast = pick.region == usEast;
            failed += isUsEast;
            router.release(pick, !isUsEast, 1000);
        }
        QCOMPARE(failed, 2);
        QVERIFY(detector.isEjected(targets.constFirst()));
        for (int i = 0; i < 30; ++i)
            QVERIFY(pickRegion(router, "GET / HTTP/1.1\r\n\r\n") != u"us-east"_s);
        // The ejection survives a new configuration from the control state.
        QVERIFY(router.setConfig(threeRegions(u"round_robin"_s)));
        for (int i = 0; i < 30; ++i)
            QVERIFY(pickRegion(router, "GET / HTTP/1.1\r\n\r\n") != u"us-east"_s);
        router.setEjected(u"us-east"_s, targets.constFirst().url, false);
        bool back = false;
        for (int i = 0; i < 30; ++i)
            back = back || pickRegion(router, "GET / HTTP/1.1\r\n\r\n") == u"us-east"_s;
        QVERIFY(back);
    }
};

QTEST_GUILESS_MAIN(tst_EdgeRouter)
#include "tst_edgerouter.moc"
