// LinksModel under QAbstractItemModelTester.
#include "ui/linksmodel.h"
#include "uitestdata.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTest>

using namespace Meridian;
using namespace MeridianTest;

class tst_LinksModel final : public QObject
{
    Q_OBJECT

private slots:
    void showsLinks();
    void updatesInPlace();
};

void tst_LinksModel::showsLinks()
{
    LinksModel model;
    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    proxy.setSortRole(LinksModel::SortRole);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester proxyTester(&proxy,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setLinks(threeRegions().links);
    QCOMPARE(model.rowCount(), 4);
    QCOMPARE(model.index(0, LinksModel::OriginColumn).data().toString(), QStringLiteral("us-east"));
    QCOMPARE(model.index(0, LinksModel::RttColumn).data().toString(), QStringLiteral("80 ms"));
    QCOMPARE(model.index(2, LinksModel::RttColumn).data().toString(), QStringLiteral("–"));
    QCOMPARE(model.index(1, LinksModel::SecondsBehindColumn).data().toString(),
             QStringLiteral("2.5 s"));

    // Worst state first when sorted by state, descending.
    proxy.sort(LinksModel::StateColumn, Qt::DescendingOrder);
    QCOMPARE(proxy.index(0, LinksModel::StateColumn).data().toString(),
             QStringLiteral("disconnected"));
    QCOMPARE(proxy.index(3, LinksModel::StateColumn).data().toString(), QStringLiteral("caught_up"));
}

void tst_LinksModel::updatesInPlace()
{
    LinksModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QList<Api::LinkStatus> links = threeRegions().links;
    model.setLinks(links);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    links[0].entriesBehind = 42;
    model.setLinks(links);
    QCOMPARE(removed.size(), 0);
    QCOMPARE(inserted.size(), 0);
    QCOMPARE(model.index(0, LinksModel::EntriesBehindColumn).data().toString(),
             QStringLiteral("42"));
    links.removeLast();
    links.append(link(QStringLiteral("eu-west"), QStringLiteral("sa-east"), 120));
    model.setLinks(links);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.rowCount(), 4);
}

QTEST_MAIN(tst_LinksModel)
#include "tst_linksmodel.moc"
