// EdgeCachePanel and EdgeCacheModel: GET /v1/cache from a scripted node, shown per edge (figures,
// unreachable, no cache), the overall hit ratio, refreshing only while visible, errors shown.
#include "../ctl/httptestserver.h"
#include "core/control/controlclient.h"
#include "ui/edgecachemodel.h"
#include "ui/edgecachepanel.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>
#include <QToolButton>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

const QByteArray kTwoEdges = R"({"edges": [
    {"id": "edge-1", "reachable": true, "cache": {"entries": 12, "bytes": 1572864,
     "max_bytes": 67108864, "hits": 300, "misses": 100, "updating": 25, "stale": 4,
     "evictions": 0, "purged": 7}},
    {"id": "edge-2", "reachable": true, "cache": {"entries": 3, "bytes": 2048,
     "max_bytes": 67108864, "hits": 100, "misses": 100, "updating": 0, "stale": 0,
     "evictions": 1, "purged": 0}},
    {"id": "edge-3", "reachable": false, "cache": null},
    {"id": "edge-4", "reachable": true, "cache": null}]})";

QString cell(const QAbstractItemModel *model, int row, int column)
{
    return model->index(row, column).data().toString();
}

} // namespace

class tst_EdgeCachePanel final : public QObject
{
    Q_OBJECT

private slots:
    void modelShowsEachEdge()
    {
        EdgeCacheModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        const auto edges = Api::EdgeCacheStats::listFromJson(
                QJsonDocument::fromJson(kTwoEdges).object());
        QVERIFY(edges.ok());
        model.setEdges(edges.value());
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(cell(&model, 0, EdgeCacheModel::EdgeColumn), u"edge-1"_s);
        QCOMPARE(cell(&model, 0, EdgeCacheModel::EntriesColumn), u"12"_s);
        QVERIFY2(cell(&model, 0, EdgeCacheModel::SizeColumn).contains(u"of"_s),
                 qPrintable(cell(&model, 0, EdgeCacheModel::SizeColumn)));
        QCOMPARE(cell(&model, 0, EdgeCacheModel::HitRatioColumn), u"75.0 %"_s);
        QCOMPARE(cell(&model, 0, EdgeCacheModel::UpdatingColumn), u"25"_s);
        QCOMPARE(cell(&model, 0, EdgeCacheModel::StaleColumn), u"4"_s);
        QCOMPARE(cell(&model, 0, EdgeCacheModel::PurgedColumn), u"7"_s);
        QCOMPARE(cell(&model, 1, EdgeCacheModel::HitRatioColumn), u"50.0 %"_s);
        QCOMPARE(cell(&model, 2, EdgeCacheModel::EntriesColumn), u"unreachable"_s);
        QCOMPARE(cell(&model, 2, EdgeCacheModel::HitsColumn), u"—"_s);
        QCOMPARE(cell(&model, 3, EdgeCacheModel::EntriesColumn), u"no cache"_s);
        // Sorting by ratio puts the edges without figures first, then 50 %, then 75 %.
        QCOMPARE(model.index(1, EdgeCacheModel::HitRatioColumn).data(EdgeCacheModel::SortRole),
                 QVariant(0.5));
        QCOMPARE(model.index(2, EdgeCacheModel::HitRatioColumn).data(EdgeCacheModel::SortRole),
                 QVariant(-1));
        // Over both edges with figures: 400 hits of 600.
        QCOMPARE(model.overallHitRatio(), 400.0 / 600.0);
        // The same edges again: updated in place (no reset), new figures shown.
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        auto next = edges.value();
        next[0].hits = 900;
        model.setEdges(next);
        QCOMPARE(reset.count(), 0);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(cell(&model, 0, EdgeCacheModel::HitRatioColumn), u"90.0 %"_s);
        model.setEdges({});
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.overallHitRatio(), -1.0);
    }

    void panelRefreshesWhileVisible()
    {
        HttpTestServer server;
        QVERIFY(server.listen());
        int answer = 0;
        server.setHandler([&answer](const RecordedRequest &) {
            return ++answer == 2 ? ScriptedResponse{503, R"({"error": {"code": "no_quorum",
                "message": "no control leader"}})"}
                                 : ScriptedResponse{200, kTwoEdges};
        });
        ControlClient client;
        QVERIFY(client.setEndpoint(server.url()).ok());
        QAction purge(u"Purge edge cache…"_s);
        EdgeCachePanel panel(&client, &purge);
        QSignalSpy refreshed(&panel, &EdgeCachePanel::refreshed);
        // Hidden: no call.
        QTest::qWait(50);
        QCOMPARE(server.requests().size(), 0);
        panel.resize(900, 300);
        panel.show();
        QVERIFY(refreshed.wait(10000));
        QCOMPARE(server.requests().first().target, "/v1/cache");
        QCOMPARE(panel.model()->rowCount(), 4);
        QVERIFY2(panel.summaryLabel()->text().contains(u"2 of 4"_s)
                         && panel.summaryLabel()->text().contains(u"66.7 %"_s),
                 qPrintable(panel.summaryLabel()->text()));
        // A failed refresh says why and keeps the last figures.
        panel.refresh();
        QVERIFY(refreshed.wait(10000));
        QVERIFY2(panel.summaryLabel()->text().contains(u"unavailable"_s),
                 qPrintable(panel.summaryLabel()->text()));
        QCOMPARE(panel.model()->rowCount(), 4);
        // The purge action has its button.
        QVERIFY(!panel.findChildren<QToolButton *>().isEmpty());
        panel.hide();
        const qsizetype asked = server.requests().size();
        QTest::qWait(100);
        QCOMPARE(server.requests().size(), asked);
    }
};

QTEST_MAIN(tst_EdgeCachePanel)
#include "tst_edgecachepanel.moc"
