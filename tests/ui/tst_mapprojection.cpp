// MapProjection (Natural Earth I) and MapViewport (pan/zoom): round trips and invariants.
#include "ui/mapprojection.h"

#include <QTest>

using namespace Meridian;

class tst_MapProjection final : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void knownPoints();
    void outsideTheWorld();
    void viewportRoundTrip();
    void zoomKeepsAnchor();
    void panIsClamped();
    void fitsTheWidget();
};

void tst_MapProjection::roundTrip_data()
{
    QTest::addColumn<double>("lon");
    QTest::addColumn<double>("lat");
    QTest::addRow("origin") << 0.0 << 0.0;
    QTest::addRow("dublin") << -6.26 << 53.35;
    QTest::addRow("singapore") << 103.82 << 1.35;
    QTest::addRow("sao paulo") << -46.63 << -23.55;
    QTest::addRow("near the pole") << 150.0 << 89.0;
    QTest::addRow("antimeridian") << -180.0 << -45.0;
    QTest::addRow("tokyo") << 139.69 << 35.68;
}

void tst_MapProjection::roundTrip()
{
    QFETCH(double, lon);
    QFETCH(double, lat);
    const QPointF projected = MapProjection::project(lon, lat);
    const auto back = MapProjection::unproject(projected);
    QVERIFY(back.has_value());
    QVERIFY2(std::abs(back->x() - lon) < 1e-6, qPrintable(QString::number(back->x())));
    QVERIFY2(std::abs(back->y() - lat) < 1e-6, qPrintable(QString::number(back->y())));
}

void tst_MapProjection::knownPoints()
{
    // x grows east, y grows north; the equator maps to y = 0 and the prime meridian to x = 0.
    QCOMPARE(MapProjection::project(0, 0), QPointF(0, 0));
    QVERIFY(MapProjection::project(10, 0).x() > 0);
    QVERIFY(MapProjection::project(0, 10).y() > 0);
    // Natural Earth I: 180° east on the equator is at 0.8707 × π.
    QVERIFY(std::abs(MapProjection::project(180, 0).x() - 0.8707 * M_PI) < 1e-9);
    const QRectF bounds = MapProjection::worldBounds();
    QVERIFY(std::abs(bounds.right() - 2.7354) < 1e-3);
    QVERIFY(std::abs(bounds.bottom() - 1.4215) < 1e-3);
    // Meridians converge towards the poles: 180° at 80° N is nearer the centre than at 0°.
    QVERIFY(MapProjection::project(180, 80).x() < MapProjection::project(180, 0).x());
}

void tst_MapProjection::outsideTheWorld()
{
    QVERIFY(!MapProjection::unproject(QPointF(0, 2.0)).has_value());
    QVERIFY(!MapProjection::unproject(QPointF(2.8, 0)).has_value());
    // Beyond the converging meridians near the pole, but inside the bounding box.
    QVERIFY(!MapProjection::unproject(QPointF(2.6, 1.35)).has_value());
}

void tst_MapProjection::viewportRoundTrip()
{
    MapViewport viewport;
    viewport.setSize(QSizeF(1200, 700));
    viewport.zoomAt(QPointF(300, 200), 3.0);
    const QPointF screen = viewport.toScreen(-6.26, 53.35);
    const auto geo = viewport.toGeo(screen);
    QVERIFY(geo.has_value());
    QVERIFY(std::abs(geo->x() + 6.26) < 1e-6);
    QVERIFY(std::abs(geo->y() - 53.35) < 1e-6);
    // transform() agrees with toScreen().
    const QPointF viaTransform = viewport.transform().map(MapProjection::project(-6.26, 53.35));
    QVERIFY(QLineF(viaTransform, screen).length() < 1e-6);
}

void tst_MapProjection::zoomKeepsAnchor()
{
    MapViewport viewport;
    viewport.setSize(QSizeF(1000, 600));
    const QPointF anchor(620, 240);
    const auto before = viewport.toGeo(anchor);
    QVERIFY(before.has_value());
    viewport.zoomAt(anchor, 2.0);
    QCOMPARE(viewport.zoom(), 2.0);
    const QPointF after = viewport.toScreen(before->x(), before->y());
    QVERIFY2(QLineF(after, anchor).length() < 1e-6,
             qPrintable(QStringLiteral("%1,%2").arg(after.x()).arg(after.y())));
    viewport.zoomAt(anchor, 1000.0);
    QCOMPARE(viewport.zoom(), MapViewport::kMaxZoom);
    viewport.zoomAt(anchor, 1e-6);
    QCOMPARE(viewport.zoom(), MapViewport::kMinZoom);
}

void tst_MapProjection::panIsClamped()
{
    MapViewport viewport;
    viewport.setSize(QSizeF(1000, 600));
    // At zoom 1 the whole world is in view: panning does nothing.
    viewport.panBy(QPointF(300, 100));
    QCOMPARE(viewport.center(), QPointF(0, 0));
    viewport.zoomAt(QPointF(500, 300), 4.0);
    viewport.panBy(QPointF(-100, 0)); // drag left: the view moves east
    QVERIFY(viewport.center().x() > 0);
    viewport.panBy(QPointF(-1e6, -1e6));
    // The world's edge stops at the widget's edge.
    const QRectF world = MapProjection::worldBounds();
    QVERIFY(viewport.toScreen(QPointF(world.right(), 0)).x() >= 1000 - 1e-6);
    QVERIFY(viewport.toScreen(QPointF(0, world.top())).y() >= 600 - 1e-6);
}

void tst_MapProjection::fitsTheWidget()
{
    MapViewport viewport;
    viewport.setSize(QSizeF(800, 800));
    const QRectF world = MapProjection::worldBounds();
    const QPointF left = viewport.toScreen(QPointF(world.left(), 0));
    const QPointF right = viewport.toScreen(QPointF(world.right(), 0));
    QVERIFY(left.x() >= 0 && right.x() <= 800);
    QVERIFY(right.x() - left.x() > 700); // uses the width
}

QTEST_MAIN(tst_MapProjection)
#include "tst_mapprojection.moc"
