// WorldMap: the compiled-in land outlines load, and broken data is refused.
#include "ui/worldmap.h"

#include <QTest>

using namespace Meridian;

class tst_WorldMap final : public QObject
{
    Q_OBJECT

private slots:
    void compiledIn();
    void refusesBrokenData();
};

void tst_WorldMap::compiledIn()
{
    const QList<QPolygonF> &land = WorldMap::land();
    QVERIFY2(land.size() > 100, qPrintable(QString::number(land.size())));
    qsizetype points = 0;
    QRectF extent;
    for (const QPolygonF &ring : land) {
        QVERIFY(ring.size() >= 4);
        QCOMPARE(ring.first(), ring.last()); // closed
        points += ring.size();
        extent = extent.united(ring.boundingRect());
    }
    QVERIFY(points > 4000);
    // Cut at the antimeridian: every longitude within [-180, 180]; Antarctica reaches the pole.
    QVERIFY(extent.left() >= -180.0 && extent.right() <= 180.0);
    QCOMPARE(extent.top(), -90.0);
    QVERIFY(extent.bottom() > 80.0);
    // Some ring contains Dublin's land (Ireland), none contains the middle of the Atlantic.
    const auto onLand = [&land](QPointF p) {
        int inside = 0;
        for (const QPolygonF &ring : land)
            inside += ring.containsPoint(p, Qt::OddEvenFill) ? 1 : 0;
        return inside % 2 == 1;
    };
    QVERIFY(onLand(QPointF(-7.5, 53.2)));
    QVERIFY(onLand(QPointF(2.35, 48.86)));
    QVERIFY(!onLand(QPointF(-35.0, 40.0)));
}

void tst_WorldMap::refusesBrokenData()
{
    QString error;
    QVERIFY(WorldMap::load(QByteArrayLiteral("GIF89a"), &error).isEmpty());
    QVERIFY(error.contains(QStringLiteral("magic")));
    // Right magic and version, a ring that claims more points than there are.
    QByteArray data("MLND");
    data.append(char(1)).append(char(0));                                  // version 1
    data.append(char(1)).append(char(0)).append(char(0)).append(char(0));  // 1 ring
    data.append(char(50)).append(char(0)).append(char(0)).append(char(0)); // 50 points
    data.append(QByteArray(12, '\0'));
    error.clear();
    QVERIFY(WorldMap::load(data, &error).isEmpty());
    QVERIFY2(error.contains(QStringLiteral("truncated")), qPrintable(error));
}

QTEST_MAIN(tst_WorldMap)
#include "tst_worldmap.moc"
