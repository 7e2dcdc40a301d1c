// MapWidget: paints a cluster (healthy regions in the health colour, an unreachable one never
// green), hit-tests its markers, selects on click and keys, asks for context menus, zooms.
#include "ui/mapwidget.h"
#include "ui/regionstyle.h"
#include "uitestdata.h"

#include <QContextMenuEvent>
#include <QImage>
#include <QPainter>
#include <QSignalSpy>
#include <QTest>

using namespace Meridian;
using namespace MeridianTest;

namespace {

bool near(const QColor &a, const QColor &b, int tolerance = 12)
{
    return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance
           && std::abs(a.blue() - b.blue()) <= tolerance;
}

bool greenish(const QColor &c)
{
    return c.green() > c.red() + 40 && c.green() > c.blue() + 30;
}

} // namespace

class tst_MapWidget final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void paintsRegions();
    void hitTestsMarkers();
    void clickSelects();
    void contextMenuSignal();
    void keyboard();
    void manyRegionsPaint();
    void placeholderWithoutData();

private:
    QImage render();
    MapWidget *m_map = nullptr;
};

void tst_MapWidget::init()
{
    m_map = new MapWidget;
    m_map->resize(1200, 700);
    m_map->setCluster(threeRegions());
    m_map->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_map));
}

void tst_MapWidget::cleanup()
{
    delete m_map;
    m_map = nullptr;
}

QImage tst_MapWidget::render()
{
    QImage image(m_map->size(), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    m_map->render(&image);
    // MERIDIAN_TEST_IMAGES=DIR keeps what was painted, to look at.
    const QString dumpDir = qEnvironmentVariable("MERIDIAN_TEST_IMAGES");
    if (!dumpDir.isEmpty()) {
        image.save(QStringLiteral("%1/%2.png")
                           .arg(dumpDir, QString::fromLatin1(QTest::currentTestFunction())));
    }
    return image;
}

void tst_MapWidget::paintsRegions()
{
    m_map->setSelectedRegion(QStringLiteral("eu-west"));
    const QImage image = render();
    for (const auto &[id, expectGreen] : {std::pair{QStringLiteral("us-east"), true},
                                          std::pair{QStringLiteral("eu-west"), true},
                                          std::pair{QStringLiteral("sa-east"), false}}) {
        const QPointF centre = m_map->markerPosition(id);
        QVERIFY2(!centre.isNull(), qPrintable(id));
        QVERIFY(m_map->rect().contains(centre.toPoint()));
        // Above the centre: inside the marker, clear of the "P" badge and the cross.
        const double radius = id == u"sa-east" ? 7.0 : 7.0 + 15.0 * std::sqrt(0.5);
        const QColor pixel = image.pixelColor((centre + QPointF(0, -radius * 0.7)).toPoint());
        if (expectGreen) {
            QVERIFY2(near(pixel, RegionStyle::healthy()), qPrintable(id + u' ' + pixel.name()));
        } else {
            // Unreachable: grey and hatched, never stale green.
            QVERIFY2(!greenish(pixel), qPrintable(id + u' ' + pixel.name()));
            QVERIFY2(std::abs(pixel.red() - pixel.green()) < 30, qPrintable(pixel.name()));
        }
    }
    // Land and sea are painted: the middle of the Atlantic and Africa differ.
    const QPointF atlantic = m_map->viewport().toScreen(-35, 35);
    const QPointF africa = m_map->viewport().toScreen(20, 5);
    QVERIFY(image.pixelColor(atlantic.toPoint()) != image.pixelColor(africa.toPoint()));
}

void tst_MapWidget::hitTestsMarkers()
{
    const QPointF dublin = m_map->markerPosition(QStringLiteral("eu-west"));
    auto hit = m_map->hitTest(dublin);
    QCOMPARE(hit.kind, MapHitTester::Hit::Kind::Region);
    QCOMPARE(hit.id, QStringLiteral("eu-west"));
    // Far from every marker and line: the middle of the Pacific.
    hit = m_map->hitTest(m_map->viewport().toScreen(-150, -30));
    QCOMPARE(hit.kind, MapHitTester::Hit::Kind::None);
    // The link between us-east and eu-west, half way (on the curve, near its apex).
    const QPointF a = m_map->markerPosition(QStringLiteral("us-east"));
    bool foundLink = false;
    for (int dy = -80; dy <= 0 && !foundLink; ++dy) {
        const QPointF p((a.x() + dublin.x()) / 2, (a.y() + dublin.y()) / 2 + dy);
        hit = m_map->hitTest(p);
        foundLink = hit.kind == MapHitTester::Hit::Kind::Link;
    }
    QVERIFY(foundLink);
    QCOMPARE(hit.id, QStringLiteral("eu-west")); // pairs are ordered by id
    QCOMPARE(hit.other, QStringLiteral("us-east"));
}

void tst_MapWidget::clickSelects()
{
    QSignalSpy selected(m_map, &MapWidget::selectedRegionChanged);
    const QPoint dublin = m_map->markerPosition(QStringLiteral("eu-west")).toPoint();
    QTest::mouseClick(m_map, Qt::LeftButton, {}, dublin);
    QCOMPARE(selected.size(), 1);
    QCOMPARE(selected.at(0).at(0).toString(), QStringLiteral("eu-west"));
    QCOMPARE(m_map->selectedRegion(), QStringLiteral("eu-west"));
    // Clicking the sea clears the selection.
    QTest::mouseClick(m_map, Qt::LeftButton, {}, m_map->viewport().toScreen(-150, -30).toPoint());
    QCOMPARE(m_map->selectedRegion(), QString());
    // A region that disappears from the data is deselected.
    m_map->setSelectedRegion(QStringLiteral("sa-east"));
    Api::ClusterView view = threeRegions();
    view.regions.removeLast();
    m_map->setCluster(view);
    QCOMPARE(m_map->selectedRegion(), QString());
}

void tst_MapWidget::contextMenuSignal()
{
    QSignalSpy requested(m_map, &MapWidget::regionContextMenuRequested);
    const QPoint pos = m_map->markerPosition(QStringLiteral("us-east")).toPoint();
    QContextMenuEvent event(QContextMenuEvent::Mouse, pos, m_map->mapToGlobal(pos));
    QApplication::sendEvent(m_map, &event);
    QCOMPARE(requested.size(), 1);
    QCOMPARE(requested.at(0).at(0).toString(), QStringLiteral("us-east"));
    QCOMPARE(requested.at(0).at(1).toPoint(), m_map->mapToGlobal(pos));
    QCOMPARE(m_map->selectedRegion(), QStringLiteral("us-east"));
    // Not on a marker: no request.
    const QPoint sea = m_map->viewport().toScreen(-150, -30).toPoint();
    QContextMenuEvent miss(QContextMenuEvent::Mouse, sea, m_map->mapToGlobal(sea));
    QApplication::sendEvent(m_map, &miss);
    QCOMPARE(requested.size(), 1);
}

void tst_MapWidget::keyboard()
{
    m_map->setFocus();
    QTest::keyClick(m_map, Qt::Key_Plus);
    QCOMPARE(m_map->viewport().zoom(), 1.25);
    QTest::keyClick(m_map, Qt::Key_0);
    QCOMPARE(m_map->viewport().zoom(), 1.0);
    // ] walks the regions in id order: eu-west, sa-east, us-east.
    QTest::keyClick(m_map, Qt::Key_BracketRight);
    QCOMPARE(m_map->selectedRegion(), QStringLiteral("eu-west"));
    QTest::keyClick(m_map, Qt::Key_BracketRight);
    QCOMPARE(m_map->selectedRegion(), QStringLiteral("sa-east"));
    QTest::keyClick(m_map, Qt::Key_BracketLeft);
    QCOMPARE(m_map->selectedRegion(), QStringLiteral("eu-west"));
    QSignalSpy activated(m_map, &MapWidget::regionActivated);
    QTest::keyClick(m_map, Qt::Key_Return);
    QCOMPARE(activated.size(), 1);
    // Zooming moves markers: Dublin's marker follows the map.
    const QPointF before = m_map->markerPosition(QStringLiteral("eu-west"));
    QWheelEvent wheel(QPointF(100, 100),
                      m_map->mapToGlobal(QPointF(100, 100)),
                      {},
                      QPoint(0, 240),
                      Qt::NoButton,
                      {},
                      Qt::NoScrollPhase,
                      false);
    QApplication::sendEvent(m_map, &wheel);
    QVERIFY(m_map->viewport().zoom() > 1.5);
    QVERIFY(m_map->markerPosition(QStringLiteral("eu-west")) != before);
    QCOMPARE(m_map->hitTest(m_map->markerPosition(QStringLiteral("eu-west"))).id,
             QStringLiteral("eu-west"));
}

void tst_MapWidget::manyRegionsPaint()
{
    m_map->setCluster(manyRegions(50));
    QCOMPARE(m_map->hitTester().markers().size(), 50);
    const QImage image = render();
    // Every reachable marker shows a non-grey colour somewhere near its centre.
    int coloured = 0;
    for (const auto &marker : m_map->hitTester().markers()) {
        const QColor c = image.pixelColor(marker.center.toPoint() + QPoint(0, -4));
        if (std::abs(c.red() - c.green()) > 30 || std::abs(c.green() - c.blue()) > 30)
            ++coloured;
    }
    QVERIFY2(coloured >= 35, qPrintable(QString::number(coloured)));
}

void tst_MapWidget::placeholderWithoutData()
{
    m_map->setCluster({});
    m_map->setPlaceholderText(QStringLiteral("Connecting"));
    QCOMPARE(m_map->hitTester().markers().size(), 0);
    QCOMPARE(m_map->hitTest(QPointF(600, 350)).kind, MapHitTester::Hit::Kind::None);
    const QImage image = render();
    QVERIFY(!image.isNull());
}

QTEST_MAIN(tst_MapWidget)
#include "tst_mapwidget.moc"
