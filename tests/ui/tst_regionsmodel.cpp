// RegionsModel under QAbstractItemModelTester: in-place updates, sorting and filtering through
// the proxy the main window uses.
#include "ui/regionsmodel.h"
#include "ui/regionstyle.h"
#include "uitestdata.h"

#include <QAbstractItemModelTester>
#include <QColor>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTest>

using namespace Meridian;
using namespace MeridianTest;
using namespace Qt::StringLiterals;

class tst_RegionsModel final : public QObject
{
    Q_OBJECT

private slots:
    void showsRegions();
    void updatesInPlace();
    void sortsAndFilters();
    void latencyFormats();
    void linkColoursFollowTheLegend();
};

void tst_RegionsModel::linkColoursFollowTheLegend()
{
    // Under writes every link is `lagging` for a moment; the map's legend colours by seconds.
    using namespace RegionStyle;
    QCOMPARE(lagColor(0.2, u"lagging"_s), healthy());
    QCOMPARE(lagColor(0.0, u"caught_up"_s), healthy());
    QCOMPARE(lagColor(1.5, u"lagging"_s), degraded());
    QCOMPARE(lagColor(6.0, u"lagging"_s), unhealthy());
    QCOMPARE(lagColor(0.0, u"needs_resync"_s), unhealthy());
    QCOMPARE(lagColor(0.0, u"schema_mismatch"_s), unhealthy());
    QCOMPARE(lagColor(0.3, u"stalled"_s), unreachable());
    QCOMPARE(lagColor(0.0, u"disconnected"_s), unreachable());
}

void tst_RegionsModel::latencyFormats()
{
    // An edge beside its regions answers in microseconds: "0.0 ms" would hide that; no sample
    // at all is not a latency of zero.
    QCOMPARE(RegionStyle::formatMs(0.045), u"45 µs"_s);
    QCOMPARE(RegionStyle::formatMs(0.0001), u"1 µs"_s);
    QCOMPARE(RegionStyle::formatMs(0.0), u"–"_s);
    QCOMPARE(RegionStyle::formatMs(3.5), u"3.5 ms"_s);
    QCOMPARE(RegionStyle::formatMs(42.0), u"42 ms"_s);
    QCOMPARE(RegionStyle::formatMs(1250.0), u"1.25 s"_s);
}

void tst_RegionsModel::showsRegions()
{
    RegionsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setRegions(threeRegions().regions);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.columnCount(), int(RegionsModel::ColumnCount));
    QCOMPARE(model.headerData(RegionsModel::P99Column, Qt::Horizontal).toString(),
             QStringLiteral("p99"));

    const int us = model.rowOf(QStringLiteral("us-east"));
    QCOMPARE(model.index(us, RegionsModel::IdColumn).data().toString(),
             QStringLiteral("us-east (primary)"));
    QCOMPARE(model.index(us, RegionsModel::ShareColumn).data().toString(), QStringLiteral("50.0 %"));
    QCOMPARE(model.index(us, RegionsModel::P50Column).data().toString(), QStringLiteral("3.5 ms"));
    QCOMPARE(model.index(us, RegionsModel::ShareColumn).data(RegionsModel::SortRole).toDouble(),
             0.5);
    QCOMPARE(model.index(us, RegionsModel::IdColumn).data(RegionsModel::RegionIdRole).toString(),
             QStringLiteral("us-east"));

    // The unreachable region says so, and is never shown as healthy.
    const int sa = model.rowOf(QStringLiteral("sa-east"));
    QCOMPARE(model.index(sa, RegionsModel::HealthColumn).data().toString(),
             QStringLiteral("unreachable"));
    QCOMPARE(model.index(sa, RegionsModel::IdColumn).data(RegionsModel::ReachableRole).toBool(),
             false);
    QVERIFY(model.index(sa, RegionsModel::IdColumn).data(Qt::DecorationRole).value<QColor>()
            != model.index(us, RegionsModel::IdColumn).data(Qt::DecorationRole).value<QColor>());
    QCOMPARE(model.index(sa, RegionsModel::LinkStateColumn).data().toString(),
             QStringLiteral("disconnected"));
}

void tst_RegionsModel::updatesInPlace()
{
    RegionsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    Api::ClusterView view = threeRegions();
    model.setRegions(view.regions);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

    // Same regions, new figures: no rows move, data changes.
    view.regions[1].rps = 99;
    model.setRegions(view.regions);
    QCOMPARE(reset.size(), 0);
    QCOMPARE(removed.size(), 0);
    QCOMPARE(inserted.size(), 0);
    QVERIFY(changed.size() >= 1);
    QCOMPARE(model.index(model.rowOf(QStringLiteral("eu-west")), RegionsModel::RpsColumn)
                     .data()
                     .toString(),
             QStringLiteral("99"));

    // One region goes, one comes.
    view.regions.removeAt(0);
    view.regions.append(region(QStringLiteral("ap-south"), QStringLiteral("Mumbai"), 19.08, 72.88));
    model.setRegions(view.regions);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.rowOf(QStringLiteral("us-east")), -1);
    QVERIFY(model.rowOf(QStringLiteral("ap-south")) >= 0);

    model.setRegions({});
    QCOMPARE(model.rowCount(), 0);
}

void tst_RegionsModel::sortsAndFilters()
{
    RegionsModel model;
    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    proxy.setSortRole(RegionsModel::SortRole);
    proxy.setFilterKeyColumn(-1);
    proxy.setFilterCaseSensitivity(Qt::CaseInsensitive);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);

    Api::ClusterView view = manyRegions(12);
    model.setRegions(view.regions);
    // Numbers sort as numbers: rps 10.0 after 9.0 (text would put "10" first).
    view.regions[0].rps = 9;
    view.regions[1].rps = 10;
    view.regions[2].rps = 100;
    model.setRegions(view.regions);
    proxy.sort(RegionsModel::RpsColumn, Qt::DescendingOrder);
    QCOMPARE(proxy.index(0, RegionsModel::IdColumn).data(RegionsModel::RegionIdRole).toString(),
             view.regions[2].id);
    QCOMPARE(proxy.index(1, RegionsModel::IdColumn).data(RegionsModel::RegionIdRole).toString(),
             view.regions[1].id);

    proxy.setFilterFixedString(QStringLiteral("draining"));
    QVERIFY(proxy.rowCount() > 0);
    for (int row = 0; row < proxy.rowCount(); ++row)
        QCOMPARE(proxy.index(row, RegionsModel::StateColumn).data().toString(),
                 QStringLiteral("draining"));
    proxy.setFilterFixedString(QStringLiteral("REGION 11"));
    QCOMPARE(proxy.rowCount(), 1);
    proxy.setFilterFixedString(QString());
    QCOMPARE(proxy.rowCount(), 12);
}

QTEST_MAIN(tst_RegionsModel)
#include "tst_regionsmodel.moc"
