// MapHitTester: markers over lines, topmost marker first, distances to segments.
#include "ui/maphittester.h"

#include <QTest>

using namespace Meridian;
using Hit = MapHitTester::Hit;

class tst_MapHitTester final : public QObject
{
    Q_OBJECT

private slots:
    void segmentDistance();
    void markersAndLines();
    void overlappingMarkers();
};

void tst_MapHitTester::segmentDistance()
{
    QCOMPARE(MapHitTester::distanceToSegment({5, 3}, {0, 0}, {10, 0}), 3.0);
    QCOMPARE(MapHitTester::distanceToSegment({-4, 3}, {0, 0}, {10, 0}), 5.0); // past the end
    QCOMPARE(MapHitTester::distanceToSegment({1, 1}, {0, 0}, {0, 0}), std::sqrt(2.0));
    QPolygonF line({QPointF(0, 0), QPointF(10, 0), QPointF(10, 10)});
    QCOMPARE(MapHitTester::distanceToPolyline({12, 5}, line), 2.0);
}

void tst_MapHitTester::markersAndLines()
{
    MapHitTester tester;
    tester.setMarkers({{QStringLiteral("a"), QPointF(100, 100), 10},
                       {QStringLiteral("b"), QPointF(300, 100), 10}});
    tester.setLines({{QStringLiteral("a"),
                      QStringLiteral("b"),
                      QPolygonF({QPointF(100, 100), QPointF(300, 100)})}});

    Hit hit = tester.hitTest({104, 96});
    QCOMPARE(hit.kind, Hit::Kind::Region);
    QCOMPARE(hit.id, QStringLiteral("a"));

    hit = tester.hitTest({200, 102}); // on the line, between the markers
    QCOMPARE(hit.kind, Hit::Kind::Link);
    QCOMPARE(hit.id, QStringLiteral("a"));
    QCOMPARE(hit.other, QStringLiteral("b"));

    // Markers win over the line they sit on.
    hit = tester.hitTest({290, 100});
    QCOMPARE(hit.kind, Hit::Kind::Region);
    QCOMPARE(hit.id, QStringLiteral("b"));

    QCOMPARE(tester.hitTest({200, 140}).kind, Hit::Kind::None);
    QCOMPARE(tester.hitTest({100, 112}, 3.0).kind, Hit::Kind::Region); // within radius + slop
    QCOMPARE(tester.hitTest({100, 112}, 0.0).kind, Hit::Kind::None);
}

void tst_MapHitTester::overlappingMarkers()
{
    MapHitTester tester;
    tester.setMarkers({{QStringLiteral("big"), QPointF(100, 100), 20},
                       {QStringLiteral("small"), QPointF(110, 100), 6}});
    // Both contain the point; the one drawn last (on top) whose centre is nearer wins.
    QCOMPARE(tester.hitTest({109, 100}).id, QStringLiteral("small"));
    QCOMPARE(tester.hitTest({90, 100}).id, QStringLiteral("big"));
}

QTEST_MAIN(tst_MapHitTester)
#include "tst_maphittester.moc"
