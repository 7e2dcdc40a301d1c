// ReplicationDashboard: the bounded sample ring per link, the time range, CSV and PNG export,
// the link and digest models under QAbstractItemModelTester, and the digest of a real cluster.
#include "core/cluster/localcluster.h"
#include "core/control/controlclient.h"
#include "ui/digestjudge.h"
#include "ui/digestmodel.h"
#include "ui/linktablemodel.h"
#include "ui/overwrittenmodel.h"
#include "ui/replicationdashboard.h"
#include "ui/replicationhistory.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <vector>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

const QDateTime kT0 = QDateTime::fromString(u"2026-11-25T06:00:00.000Z"_s, Qt::ISODateWithMs);

Api::LinkStatus link(const QString &origin, const QString &replica, double lag, double rate)
{
    Api::LinkStatus l;
    l.origin = origin;
    l.replica = replica;
    l.state = lag > 1 ? u"lagging"_s : u"caught_up"_s;
    l.secondsBehind = lag;
    l.entriesBehind = qint64(lag * 10);
    l.applyRate = rate;
    l.rttMs = 71.5;
    l.lastContact = kT0;
    return l;
}

// Views one second apart: us-east→eu-west lags i/10 s, eu-west→us-east stays caught up.
Api::ClusterView view(int second)
{
    Api::ClusterView v;
    v.generatedAt = kT0.addSecs(second);
    v.links = {link(u"us-east"_s, u"eu-west"_s, second / 10.0, 100.0 + second),
               link(u"eu-west"_s, u"us-east"_s, 0.0, 5.0)};
    return v;
}

} // namespace

class tst_ReplicationDashboard final : public QObject
{
    Q_OBJECT

private slots:
    void ringIsBounded();
    void csvContent();
    void rangeSelectsPoints();
    void exportFiles();
    void decimationKeepsSpikes();
    void linkModel();
    void digestModel();
    void digestJudgeTellsDivergenceFromReplication();
    void overwrittenModel();
    void digestOfRealCluster();
};

void tst_ReplicationDashboard::ringIsBounded()
{
    ReplicationHistory history(100);
    for (int i = 0; i < 250; ++i)
        history.addView(view(i));
    const QString key = ReplicationHistory::linkKey(u"us-east"_s, u"eu-west"_s);
    QCOMPARE(history.links().size(), 2);
    QCOMPARE(history.samples(key).size(), size_t(100));
    QCOMPARE(history.samples(key).front().timeMs, kT0.addSecs(150).toMSecsSinceEpoch());
    QCOMPARE(history.samples(key).back().secondsBehind, 24.9);
    // The same view again and an older one add nothing.
    history.addView(view(249));
    history.addView(view(10));
    QCOMPARE(history.sampleCount(), 200);
}

void tst_ReplicationDashboard::csvContent()
{
    ReplicationHistory history;
    history.addView(view(0));
    history.addView(view(1));
    const QList<QByteArray> lines = history.toCsv().split('\n');
    QCOMPARE(lines.size(), 6); // header, 4 samples, final newline
    QCOMPARE(lines.at(0),
             QByteArray(
                     "time,origin,replica,state,seconds_behind,entries_behind,apply_rate,rtt_ms"));
    QCOMPARE(lines.at(1),
             QByteArray("2026-11-25T06:00:00.000Z,eu-west,us-east,caught_up,0.000,0,5.00,71.5"));
    QCOMPARE(lines.at(4),
             QByteArray("2026-11-25T06:00:01.000Z,us-east,eu-west,caught_up,0.100,1,101.00,71.5"));
    QVERIFY(lines.last().isEmpty());
    // Since a time: only the later samples.
    QCOMPARE(history.toCsv(kT0.addSecs(1).toMSecsSinceEpoch()).count('\n'), 3);
}

void tst_ReplicationDashboard::rangeSelectsPoints()
{
    ReplicationDashboard dashboard(nullptr);
    dashboard.resize(900, 700);
    dashboard.show();
    // 20 minutes of samples, one every 10 s.
    for (int s = 0; s <= 1200; s += 10)
        dashboard.setCluster(view(s));
    const QString key = ReplicationHistory::linkKey(u"us-east"_s, u"eu-west"_s);
    dashboard.setRangeMinutes(1);
    QCOMPARE(dashboard.lagPoints(key).size(), 7); // 1140..1200
    QCOMPARE(dashboard.lagPoints(key).last().y(), 120.0);
    QCOMPARE(dashboard.summaryLabel()->text(),
             u"Worst lag 120.00 s (us-east→eu-west) · backlog 1200 · 1 of 2 links caught up"_s);
    dashboard.setRangeMinutes(5);
    QCOMPARE(dashboard.lagPoints(key).size(), 31);
    dashboard.setRangeMinutes(60);
    QCOMPARE(dashboard.lagPoints(key).size(), 121);
    // CSV follows the range too.
    dashboard.setRangeMinutes(1);
    QCOMPARE(dashboard.csv().count('\n'), 1 + 7 * 2);
}

void tst_ReplicationDashboard::exportFiles()
{
    QTemporaryDir dir;
    ReplicationDashboard dashboard(nullptr);
    dashboard.resize(900, 700);
    dashboard.show();
    for (int s = 0; s < 30; ++s)
        dashboard.setCluster(view(s));
    const QString png = dir.filePath(u"charts.png"_s);
    const QString csv = dir.filePath(u"samples.csv"_s);
    QString error;
    QVERIFY2(dashboard.exportPng(png, &error), qPrintable(error));
    QVERIFY2(dashboard.exportCsv(csv, &error), qPrintable(error));
    const QImage image(png);
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), dashboard.chartsWidget()->grab().size());
    QFile file(csv);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray content = file.readAll();
    QCOMPARE(content, dashboard.csv());
    QVERIFY(content.contains("us-east,eu-west,lagging,2.900,29,129.00,71.5"));
    QVERIFY(!dashboard.exportCsv(dir.filePath(u"missing/dir/x.csv"_s), &error));
    QVERIFY(error.contains(u"missing/dir"_s));
}

void tst_ReplicationDashboard::decimationKeepsSpikes()
{
    QList<QPointF> points;
    for (int i = 0; i < 3600; ++i)
        points.append(QPointF(i * 1000.0, i == 1234 ? 42.0 : 0.1 * (i % 7)));
    const QList<QPointF> drawn = ReplicationDashboard::decimate(points, 200);
    QVERIFY(drawn.size() <= 400);
    QVERIFY(drawn.size() >= 200);
    QVERIFY(std::is_sorted(drawn.cbegin(), drawn.cend(), [](const QPointF &a, const QPointF &b) {
        return a.x() < b.x();
    }));
    QVERIFY(drawn.contains(QPointF(1234000.0, 42.0)));
    QCOMPARE(drawn.first(), points.first());
    // Few points are drawn as they are.
    QCOMPARE(ReplicationDashboard::decimate(points.mid(0, 300), 200), points.mid(0, 300));
}

void tst_ReplicationDashboard::linkModel()
{
    LinkTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setLinks(view(20).links);
    QCOMPARE(model.rowCount(), 2);
    // Sorted by origin then replica.
    QCOMPARE(model.index(0, LinkTableModel::OriginColumn).data().toString(), u"eu-west"_s);
    QCOMPARE(model.index(1, LinkTableModel::StateColumn).data().toString(), u"lagging"_s);
    QCOMPARE(model.index(1, LinkTableModel::SecondsBehindColumn).data().toString(), u"2.00 s"_s);
    QCOMPARE(model.index(1, LinkTableModel::EntriesBehindColumn).data().toString(), u"20"_s);
    QCOMPARE(model.index(1, LinkTableModel::SecondsBehindColumn)
                     .data(LinkTableModel::SortRole)
                     .toDouble(),
             2.0);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    model.setLinks(view(0).links); // same links, new figures: dataChanged, no reset
    QCOMPARE(changed.size(), 1);
    QCOMPARE(reset.size(), 0);
    model.setLinks({});
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(reset.size(), 1);
}

void tst_ReplicationDashboard::digestModel()
{
    const QJsonObject json{
            {u"agree"_s, false},
            {u"regions"_s,
             QJsonObject{{u"us-east"_s,
                          QJsonObject{{u"digest"_s, u"aaaa"_s},
                                      {u"reachable"_s, true},
                                      {u"overwritten"_s,
                                       QJsonObject{{u"kv"_s, QJsonObject{{u"eu-west"_s, 3}}}}}}},
                         {u"eu-west"_s,
                          QJsonObject{{u"digest"_s, u"aaaa"_s}, {u"reachable"_s, true}}},
                         {u"ap-southeast"_s,
                          QJsonObject{{u"digest"_s, u"bbbb"_s}, {u"reachable"_s, true}}}}}};
    const Api::ApiResult<Api::DigestReport> report = Api::DigestReport::fromJson(json);
    QVERIFY2(report.ok(), qPrintable(report.error().message));
    DigestModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setReport(report.value());
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.majorityDigest(), u"aaaa"_s);
    QHash<QString, QString> agreement;
    QHash<QString, QString> overwritten;
    for (int row = 0; row < model.rowCount(); ++row) {
        const QString region = model.index(row, DigestModel::RegionColumn).data().toString();
        agreement[region] = model.index(row, DigestModel::AgreementColumn).data().toString();
        overwritten[region] = model.index(row, DigestModel::OverwrittenColumn).data().toString();
    }
    QCOMPARE(agreement.value(u"ap-southeast"_s), u"differs"_s);
    QCOMPARE(agreement.value(u"us-east"_s), u"agrees"_s);
    QCOMPARE(overwritten.value(u"us-east"_s), u"3"_s);
    QCOMPARE(overwritten.value(u"eu-west"_s), u"0"_s);
}

void tst_ReplicationDashboard::digestJudgeTellsDivergenceFromReplication()
{
    const auto report = [](const QString &apDigest, bool apReachable = true) {
        const QJsonObject
                json{{u"agree"_s, apDigest == u"aaaa"_s},
                     {u"regions"_s,
                      QJsonObject{{u"us-east"_s,
                                   QJsonObject{{u"digest"_s, u"aaaa"_s}, {u"reachable"_s, true}}},
                                  {u"ap-southeast"_s,
                                   QJsonObject{{u"digest"_s, apReachable ? apDigest : QString()},
                                               {u"reachable"_s, apReachable}}}}}};
        return Api::DigestReport::fromJson(json).value();
    };
    Api::LinkStatus idle;
    idle.origin = u"us-east"_s;
    idle.replica = u"ap-southeast"_s;
    Api::LinkStatus applying = idle;
    applying.applyRate = 40;
    using Verdict = DigestJudge::Verdict;

    DigestJudge judge;
    QCOMPARE(judge.judge(report(u"aaaa"_s), {idle}), Verdict::Agree);
    // A digest that moved since the last comparison: writes are still arriving.
    QCOMPARE(judge.judge(report(u"bbbb"_s), {idle}), Verdict::InFlight);
    // The same difference again, with every link idle: divergence.
    QCOMPARE(judge.judge(report(u"bbbb"_s), {idle}), Verdict::Differ);
    // A link applying entries explains a difference that holds still.
    QCOMPARE(judge.judge(report(u"bbbb"_s), {applying}), Verdict::InFlight);
    // Nothing is known of a region that did not answer.
    QCOMPARE(judge.judge(report({}, false), {idle}), Verdict::AgreeAmongAnswering);
}

void tst_ReplicationDashboard::overwrittenModel()
{
    OverwrittenModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    Api::OverwrittenEntry updated;
    updated.at = kT0;
    updated.table = u"kv"_s;
    updated.primaryKey = QJsonObject{{u"key"_s, u"k1"_s}};
    updated.loser
            = {u"us-east"_s, u"1"_s, kT0.addMSecs(-20), false, {{u"key"_s, u"k1"_s}, {u"n"_s, 7}}};
    updated.winner = {u"eu-west"_s, u"2"_s, kT0.addMSecs(-15), false, {}};
    Api::OverwrittenEntry deleted = updated;
    deleted.loser.deleted = true;
    deleted.loser.row = {};
    model.setEntries(u"eu-west"_s, {updated, deleted});
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.region(), u"eu-west"_s);
    auto cell = [&model](int row, int column) { return model.index(row, column).data().toString(); };
    QCOMPARE(cell(0, OverwrittenModel::KeyColumn), u"key=k1"_s);
    QCOMPARE(cell(0, OverwrittenModel::LoserColumn), u"us-east @ 2026-11-25 05:59:59.980"_s);
    QCOMPARE(cell(0, OverwrittenModel::LosingValuesColumn), u"key=k1, n=7"_s);
    QCOMPARE(cell(0, OverwrittenModel::WinnerColumn), u"eu-west @ 2026-11-25 05:59:59.985"_s);
    QCOMPARE(cell(1, OverwrittenModel::LosingValuesColumn), u"(delete)"_s);
    model.setEntries(u"us-east"_s, {});
    QCOMPARE(model.rowCount(), 0);
}

void tst_ReplicationDashboard::digestOfRealCluster()
{
    QTemporaryDir dir;
    LocalCluster cluster(dir.filePath(u"c"_s));
    LocalClusterOptions options;
    options.regions = 2;
    options.edges = 0;
    options.meridiandPath = QStringLiteral(MERIDIAN_BIN_DIR) + u"meridiand"_s;
    options.configOverrides = {{u"shutdown_timeout_ms"_s, 3000}};
    QString error;
    QVERIFY2(cluster.up(options, &error), qPrintable(error));
    auto down = qScopeGuard([&cluster] {
        QString ignored;
        cluster.down(5000, &ignored);
    });
    ControlClient client;
    QVERIFY(client.setEndpoint(cluster.node(u"us-east"_s)->controlUrl.toString()));
    client.setToken(QString::fromLatin1(cluster.viewerToken()));

    ReplicationDashboard dashboard(&client);
    QAbstractItemModelTester tester(dashboard.digestModel(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    dashboard.setDigestInterval(200);
    QSignalSpy updated(&dashboard, &ReplicationDashboard::digestUpdated);
    dashboard.show(); // polling starts when shown
    // Two empty regions agree once both answer.
    QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty()
                                     && updated.last().at(0).value<Api::DigestReport>().agree,
                             20000);
    QCOMPARE(dashboard.digestModel()->rowCount(), 2);
    QVERIFY2(dashboard.digestLabel()->text().contains(u"same data"_s),
             qPrintable(dashboard.digestLabel()->text()));

    // Both regions write one key at the same moment until a write loses somewhere (bounded);
    // selecting that region in the digest table shows the losing write.
    QNetworkAccessManager manager;
    auto overwrittenIn = [&dashboard](const QString &region) {
        for (const Api::RegionDigest &r : dashboard.digestModel()->report().regions) {
            if (r.region == region)
                return r.overwrittenTotal();
        }
        return qint64(0);
    };
    QString loserRegion;
    for (int round = 0; round < 40 && loserRegion.isEmpty(); ++round) {
        std::vector<std::unique_ptr<QNetworkReply>> replies;
        for (const QString &region : {u"us-east"_s, u"eu-west"_s}) {
            QNetworkRequest request(
                    QUrl(cluster.node(region)->dataUrl.toString() + u"/api/kv/contested"_s));
            request.setHeader(QNetworkRequest::ContentTypeHeader, u"text/plain"_s);
            replies.emplace_back(manager.put(request, region.toUtf8()));
        }
        for (auto &reply : replies)
            QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), 10000);
        const qsizetype before = updated.size();
        QTRY_VERIFY_WITH_TIMEOUT(updated.size() > before + 1, 10000); // a fresh digest
        for (const QString &region : {u"us-east"_s, u"eu-west"_s}) {
            if (overwrittenIn(region) > 0)
                loserRegion = region;
        }
    }
    QVERIFY2(!loserRegion.isEmpty(), "no conflict in 40 rounds");
    // The view may have made a row current on its own (focus): start from none.
    dashboard.digestView()->setCurrentIndex(QModelIndex());
    QSignalSpy journal(&dashboard, &ReplicationDashboard::overwrittenUpdated);
    const auto *proxy = dashboard.digestView()->model();
    for (int row = 0; row < proxy->rowCount(); ++row) {
        const QModelIndex index = proxy->index(row, DigestModel::RegionColumn);
        if (index.data().toString() == loserRegion)
            dashboard.digestView()->setCurrentIndex(index);
    }
    QTRY_VERIFY2_WITH_TIMEOUT(!journal.isEmpty() && journal.last().at(0).toString() == loserRegion,
                              qPrintable(
                                      dashboard.findChild<QLabel *>(u"overwrittenLabel"_s)->text()),
                              10000);
    OverwrittenModel *entries = dashboard.overwrittenModel();
    QVERIFY(entries->rowCount() > 0);
    QCOMPARE(entries->entries().first().primaryKey.value(u"key"_s).toString(), u"contested"_s);
    QVERIFY(entries->index(0, OverwrittenModel::WinnerColumn).data().toString().contains(u" @ "_s));
    // Hidden: no more polling.
    dashboard.hide();
    QTest::qWait(100); // let an answer already on its way arrive
    const qsizetype seen = updated.size();
    QTest::qWait(1000);
    QCOMPARE(updated.size(), seen);
}

QTEST_MAIN(tst_ReplicationDashboard)
#include "tst_replicationdashboard.moc"
