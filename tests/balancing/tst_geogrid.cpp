#include "core/balancing/geogrid.h"

#include <QTest>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace Meridian;

namespace {

GeoPoint randomPoint(std::mt19937_64 &random)
{
    // Uniform on the sphere: z uniform in [-1, 1], longitude uniform.
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    const double z = unit(random);
    const double lon = unit(random) * 180.0;
    return GeoPoint::fromDegrees(std::asin(z) * 180.0 / M_PI, lon);
}

qsizetype fullScan(const std::vector<GeoPoint> &points, const GeoPoint &client)
{
    double best = -std::numeric_limits<double>::infinity();
    qsizetype found = -1;
    for (size_t i = 0; i < points.size(); ++i) {
        const double dot = points[i].x * client.x + points[i].y * client.y + points[i].z * client.z;
        if (dot > best) {
            best = dot;
            found = qsizetype(i);
        }
    }
    return found;
}

qsizetype gridScan(const GeoGrid &grid, const std::vector<GeoPoint> &points, const GeoPoint &client)
{
    double best = -std::numeric_limits<double>::infinity();
    qsizetype found = -1;
    for (quint16 i : grid.candidates(client)) {
        const double dot = points[i].x * client.x + points[i].y * client.y + points[i].z * client.z;
        if (dot > best) {
            best = dot;
            found = i;
        }
    }
    return found;
}

} // namespace

class tst_GeoGrid final : public QObject
{
    Q_OBJECT

private slots:
    void gridFindsWhatAFullScanFinds_data();
    void gridFindsWhatAFullScanFinds();
    void largestDotIsShortestGreatCircle();
    void degenerateClientsFallBack();
    void fromDegreesMatchesLibm();
};

void tst_GeoGrid::gridFindsWhatAFullScanFinds_data()
{
    QTest::addColumn<int>("points");
    QTest::addColumn<int>("resolution");
    QTest::addRow("9 at 16") << 9 << 16;
    QTest::addRow("128 at 16") << 128 << 16;
    QTest::addRow("128 at 3") << 128 << 3;
    QTest::addRow("1000 at 16") << 1000 << 16;
    QTest::addRow("clustered 128 at 16") << -128 << 16;
}

void tst_GeoGrid::gridFindsWhatAFullScanFinds()
{
    QFETCH(int, points);
    QFETCH(int, resolution);
    std::mt19937_64 random(points * 31 + resolution);
    std::vector<GeoPoint> regions;
    if (points > 0) {
        for (int i = 0; i < points; ++i)
            regions.push_back(randomPoint(random));
    } else {
        // Clustered within a few kilometres, with exact duplicates: ties must break as a full
        // scan breaks them (lowest index).
        std::uniform_real_distribution<double> jitter(-0.02, 0.02);
        for (int i = 0; i < -points; ++i)
            regions.push_back(GeoPoint::fromDegrees(48.85 + jitter(random), 2.35 + jitter(random)));
        regions.push_back(regions[3]);
        regions.push_back(regions[0]);
    }
    const GeoGrid grid = GeoGrid::build(regions, resolution);
    QVERIFY(!grid.isEmpty());

    std::vector<GeoPoint> clients;
    for (int i = 0; i < 100'000; ++i)
        clients.push_back(randomPoint(random));
    // Exactly at the regions, at their antipodes, on cube-face edges and corners, at the poles.
    for (const GeoPoint &p : regions) {
        clients.push_back(p);
        clients.push_back({-p.x, -p.y, -p.z});
    }
    const double d = 1.0 / std::sqrt(3.0);
    for (int s = 0; s < 8; ++s)
        clients.push_back({s & 1 ? d : -d, s & 2 ? d : -d, s & 4 ? d : -d});
    clients.push_back(GeoPoint::fromDegrees(90, 0));
    clients.push_back(GeoPoint::fromDegrees(-90, 0));
    clients.push_back(GeoPoint::fromDegrees(0, 45));
    clients.push_back(GeoPoint::fromDegrees(0, 180));
    clients.push_back(GeoPoint::fromDegrees(48.86, 2.35));
    clients.push_back({3.0, -4.0, 12.0}); // not unit: only the direction counts

    qsizetype candidates = 0;
    for (const GeoPoint &client : clients) {
        const qsizetype expected = fullScan(regions, client);
        const qsizetype actual = gridScan(grid, regions, client);
        if (actual != expected) {
            QFAIL(qPrintable(QStringLiteral("client (%1, %2, %3): grid %4, full scan %5")
                                     .arg(client.x)
                                     .arg(client.y)
                                     .arg(client.z)
                                     .arg(actual)
                                     .arg(expected)));
        }
        candidates += grid.candidates(client).size();
    }
    const double mean = double(candidates) / double(clients.size());
    qInfo("%d points, resolution %d: %.2f candidates per cell on average",
          int(regions.size()),
          resolution,
          mean);
    if (points == 128 && resolution == 16)
        QVERIFY2(mean < 8.0, qPrintable(QString::number(mean))); // the point of the grid
}

void tst_GeoGrid::largestDotIsShortestGreatCircle()
{
    // Ranking by dot product is ranking by great-circle distance (haversine): the region the
    // grid picks is at the smallest distance, up to rounding.
    std::mt19937_64 random(2026);
    std::vector<GeoPoint> regions;
    for (int i = 0; i < 128; ++i)
        regions.push_back(randomPoint(random));
    const GeoGrid grid = GeoGrid::build(regions);
    for (int i = 0; i < 50'000; ++i) {
        const GeoPoint client = randomPoint(random);
        const qsizetype picked = gridScan(grid, regions, client);
        QVERIFY(picked >= 0);
        double shortest = std::numeric_limits<double>::infinity();
        for (const GeoPoint &region : regions)
            shortest = std::min(shortest, client.distanceKm(region));
        QVERIFY2(client.distanceKm(regions[picked]) <= shortest + 1e-6,
                 qPrintable(QStringLiteral("picked %1 km, nearest %2 km")
                                    .arg(client.distanceKm(regions[picked]))
                                    .arg(shortest)));
    }
}

void tst_GeoGrid::degenerateClientsFallBack()
{
    const std::vector<GeoPoint> regions{GeoPoint::fromDegrees(0, 0), GeoPoint::fromDegrees(10, 10)};
    const GeoGrid grid = GeoGrid::build(regions);
    QVERIFY(grid.candidates({0.0, 0.0, 0.0}).empty());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    QVERIFY(grid.candidates({nan, 0.0, 0.0}).empty());
    const double inf = std::numeric_limits<double>::infinity();
    QVERIFY(grid.candidates({inf, 1.0, 0.0}).empty());
    QVERIFY(!grid.candidates(GeoPoint::fromDegrees(5, 5)).empty());
    QVERIFY(GeoGrid().candidates(GeoPoint::fromDegrees(5, 5)).empty());
    QVERIFY(GeoGrid::build({}).isEmpty());
}

void tst_GeoGrid::fromDegreesMatchesLibm()
{
    // fromDegrees has its own sin/cos (exact quarter-turn reduction): within a few ulp of the
    // true values everywhere, a unit vector, and exact where it can be.
    std::mt19937_64 random(7);
    std::uniform_real_distribution<double> lat(-90.0, 90.0);
    std::uniform_real_distribution<double> lon(-540.0, 540.0);
    double worst = 0.0;
    for (int i = 0; i < 200'000; ++i) {
        const double a = i < 2000 ? -90.0 + 0.09 * i : lat(random);
        const double b = i < 2000 ? -180.0 + 0.18 * i : lon(random);
        const GeoPoint p = GeoPoint::fromDegrees(a, b);
        // The reference in extended precision: libm's own error on a rounded 540° × π/180 is
        // larger than the difference measured here.
        const long double pi = 3.141592653589793238462643383279502884L;
        const long double phi = (long double) a * pi / 180.0L;
        const long double lambda = (long double) b * pi / 180.0L;
        worst = std::max({worst,
                          double(std::abs(p.x - std::cos(phi) * std::cos(lambda))),
                          double(std::abs(p.y - std::cos(phi) * std::sin(lambda))),
                          double(std::abs(p.z - std::sin(phi)))});
        QVERIFY(std::abs(p.x * p.x + p.y * p.y + p.z * p.z - 1.0) < 1e-15);
    }
    QVERIFY2(worst < 5e-16, qPrintable(QString::number(worst)));
    const GeoPoint north = GeoPoint::fromDegrees(90.0, 0.0);
    QCOMPARE(north.z, 1.0);
    QCOMPARE(north.x, 0.0);
    const GeoPoint antimeridian = GeoPoint::fromDegrees(0.0, 180.0);
    QCOMPARE(antimeridian.x, -1.0);
    QCOMPARE(antimeridian.y, 0.0);
    QCOMPARE(GeoPoint::fromDegrees(0.0, -90.0).y, -1.0);
    // London – New York, 5,570 km (haversine with the mean radius).
    const double km = GeoPoint::fromDegrees(51.5074, -0.1278)
                              .distanceKm(GeoPoint::fromDegrees(40.7128, -74.006));
    QVERIFY2(std::abs(km - 5570.2) < 1.0, qPrintable(QString::number(km)));
}

QTEST_GUILESS_MAIN(tst_GeoGrid)
#include "tst_geogrid.moc"
