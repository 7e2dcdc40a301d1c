// EventHistory and EventLogDock: the history survives a reopen, is searchable by text and type,
// stores re-read audit entries once, keeps clusters apart; the dock's model under
// QAbstractItemModelTester.
#include "core/sync/sqlitedb.h"
#include "ui/eventhistory.h"
#include "ui/eventlogdock.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPlainTextEdit>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

Api::ApiEvent sse(const QString &type, const QJsonObject &data, const QString &id = {})
{
    const QString json = QString::fromUtf8(QJsonDocument(data).toJson(QJsonDocument::Compact));
    const Api::ApiResult<Api::ApiEvent> parsed = Api::ApiEvent::fromSse(type, id, json);
    return parsed.value();
}

Api::ApiEvent actionEvent(const QString &id, const QString &kind, const QString &region)
{
    return sse(u"action"_s,
               {{u"id"_s, id},
                {u"kind"_s, kind},
                {u"region"_s, region},
                {u"args"_s, QJsonObject{}},
                {u"time"_s, u"2026-11-25T01:40:19.123Z"_s},
                {u"actor"_s, u"alice"_s},
                {u"node"_s, u"us-east"_s},
                {u"status"_s, u"applied"_s},
                {u"previous"_s, QJsonObject{}}});
}

Api::AuditEntry audit(const QString &time, const QString &action, const QString &result, int status)
{
    Api::AuditEntry entry;
    entry.time = QDateTime::fromString(time, Qt::ISODateWithMs);
    entry.token = u"ops"_s;
    entry.client = u"127.0.0.1"_s;
    entry.action = action;
    entry.args = {{u"region"_s, u"eu-west"_s}};
    entry.result = result;
    entry.status = status;
    entry.node = u"us-east"_s;
    return entry;
}

} // namespace

class tst_EventHistory final : public QObject
{
    Q_OBJECT

private slots:
    void persistsAcrossReopen();
    void searchByTextAndType();
    void auditStoredOnce();
    void ignoredTypes();
    void oldestEntriesGo();
    void dockShowsLiveEventsAndFilters();
    void dockWithoutHistoryFile();
    void clustersAreKeptApart();
    void fileFromBeforeClustersIsUpgraded();
};

void tst_EventHistory::clustersAreKeptApart()
{
    // One file for every cluster the operator watches; a drain in staging never shows in prod.
    QTemporaryDir dir;
    EventHistory history(dir.filePath(u"events.sqlite"_s));
    QString error;
    QVERIFY2(history.open(&error), qPrintable(error));
    history.setCluster(u"prod"_s);
    QVERIFY(history.addEvent(actionEvent(u"act-000001"_s, u"drain"_s, u"eu-west"_s)));
    history.setCluster(u"staging"_s);
    QCOMPARE(history.count(), 0);
    QVERIFY(history.search({}, {}).isEmpty());
    QVERIFY(history.eventTypes().isEmpty());
    // The same event id in another cluster is another event (ids restart per cluster).
    Api::ApiEvent staged = actionEvent(u"act-000001"_s, u"activate"_s, u"us-east"_s);
    staged.id = u"7"_s;
    QVERIFY(history.addEvent(staged));
    QVERIFY(!history.addEvent(staged)); // replayed after a reconnect: stored once
    QCOMPARE(history.count(), 1);
    QCOMPARE(history.search({}, {}).first().region, u"us-east"_s);
    history.setCluster(u"prod"_s);
    Api::ApiEvent prodEvent = actionEvent(u"act-000002"_s, u"drain"_s, u"ap-southeast"_s);
    prodEvent.id = u"7"_s;
    QVERIFY(history.addEvent(prodEvent));
    QCOMPARE(history.count(), 2);
    const QList<HistoryEntry> prod = history.search({}, {});
    QCOMPARE(prod.size(), 2);
    for (const HistoryEntry &entry : prod)
        QVERIFY2(entry.region != u"us-east"_s, qPrintable(entry.summary));

    // The dock follows the cluster the window connects to.
    EventLogDock dock(nullptr, nullptr, dir.filePath(u"dock.sqlite"_s));
    dock.setCluster(u"prod"_s);
    dock.addEvent(actionEvent(u"act-000003"_s, u"drain"_s, u"eu-west"_s));
    QCOMPARE(dock.model()->rowCount(), 1);
    dock.setCluster(u"staging"_s);
    QCOMPARE(dock.model()->rowCount(), 0);
    dock.setCluster(u"prod"_s);
    QCOMPARE(dock.model()->rowCount(), 1);
}

void tst_EventHistory::fileFromBeforeClustersIsUpgraded()
{
    // A history written before clusters were told apart opens; its rows stay under "".
    QTemporaryDir dir;
    const QString path = dir.filePath(u"events.sqlite"_s);
    {
        Meridian::Internal::SqliteDb db;
        QVERIFY(db.open(path, false));
        QVERIFY(db.exec(u"CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                        " time_ms INTEGER NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL,"
                        " region TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL,"
                        " detail TEXT NOT NULL DEFAULT '', dedupe TEXT UNIQUE);"
                        "INSERT INTO history(time_ms, source, type, summary)"
                        " VALUES(1, 'event', 'state', 'old entry');"_s));
    }
    EventHistory history(path);
    QString error;
    QVERIFY2(history.open(&error), qPrintable(error));
    QCOMPARE(history.count(), 1);
    QCOMPARE(history.search({}, {}).first().summary, u"old entry"_s);
    history.setCluster(u"prod"_s);
    QCOMPARE(history.count(), 0);
    QVERIFY(history.addEvent(actionEvent(u"act-000001"_s, u"drain"_s, u"eu-west"_s)));
    QCOMPARE(history.count(), 1);
}

void tst_EventHistory::persistsAcrossReopen()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(u"sub/events.sqlite"_s);
    {
        EventHistory history(path);
        QString error;
        QVERIFY2(history.open(&error), qPrintable(error));
        QVERIFY(history.addEvent(actionEvent(u"act-000001"_s, u"drain"_s, u"eu-west"_s)));
        QVERIFY(history.addEvent(sse(u"health"_s,
                                     {{u"region"_s, u"ap-southeast"_s},
                                      {u"health"_s, u"unhealthy"_s},
                                      {u"reachable"_s, false}})));
        QVERIFY(history.addAudit(
                audit(u"2026-11-25T01:40:19.123Z"_s, u"drain"_s, u"409 min_active_regions"_s, 409)));
        QCOMPARE(history.count(), 3);
    }
    EventHistory reopened(path);
    QString error;
    QVERIFY2(reopened.open(&error), qPrintable(error));
    QCOMPARE(reopened.count(), 3);
    const QList<HistoryEntry> all = reopened.search({}, {});
    QCOMPARE(all.size(), 3);
    QStringList summaries;
    for (const HistoryEntry &entry : all)
        summaries.append(entry.summary);
    QVERIFY2(summaries.contains(u"drain eu-west by alice: applied (act-000001)"_s),
             qPrintable(summaries.join(u'\n')));
    QVERIFY2(summaries.contains(u"ap-southeast unhealthy (unreachable)"_s),
             qPrintable(summaries.join(u'\n')));
    // A new event after the reopen gets a new id and comes first.
    const std::optional<HistoryEntry> added
            = reopened.addEvent(actionEvent(u"act-000002"_s, u"activate"_s, u"eu-west"_s),
                                QDateTime::currentDateTimeUtc().addSecs(60));
    QVERIFY(added);
    QCOMPARE(reopened.search({}, {}).first().id, added->id);
}

void tst_EventHistory::searchByTextAndType()
{
    QTemporaryDir dir;
    EventHistory history(dir.filePath(u"h.sqlite"_s));
    QVERIFY(history.open(nullptr));
    const QDateTime t0 = QDateTime::currentDateTimeUtc();
    history.addEvent(actionEvent(u"act-1"_s, u"drain"_s, u"eu-west"_s), t0);
    history.addEvent(actionEvent(u"act-2"_s, u"promote"_s, u"us-east"_s), t0.addSecs(1));
    history.addEvent(sse(u"state"_s,
                         {{u"regions"_s,
                           QJsonArray{QJsonObject{{u"id"_s, u"eu-west"_s},
                                                  {u"state"_s, u"drained"_s}}}}}),
                     t0.addSecs(2));
    history.addAudit(audit(u"2026-11-25T01:40:19.123Z"_s, u"promote"_s, u"200"_s, 200));

    QCOMPARE(history.search(u"EU-WEST"_s, {}).size(), 3); // case-insensitive, any field
    QCOMPARE(history.search(u"promote"_s, {}).size(), 2);
    QCOMPARE(history.search(u"promote"_s, u"audit"_s).size(), 1);
    QCOMPARE(history.search({}, u"action"_s).size(), 2);
    QCOMPARE(history.search({}, u"state"_s).first().summary, u"eu-west drained"_s);
    QCOMPARE(history.search(u"100%"_s, {}).size(), 0); // LIKE wildcards are literal
    QCOMPARE(history.search({}, {}, 2).size(), 2);
    // Newest first.
    QCOMPARE(history.search({}, u"action"_s).first().summary.left(7), u"promote"_s);
    QCOMPARE(history.eventTypes(), (QStringList{u"action"_s, u"state"_s}));
}

void tst_EventHistory::auditStoredOnce()
{
    QTemporaryDir dir;
    EventHistory history(dir.filePath(u"h.sqlite"_s));
    QVERIFY(history.open(nullptr));
    const Api::AuditEntry a
            = audit(u"2026-11-25T01:40:19.123Z"_s, u"drain"_s, u"409 min_active_regions"_s, 409);
    QVERIFY(history.addAudit(a));
    QVERIFY(!history.addAudit(a)); // the audit log re-read: same line
    Api::AuditEntry later = a;
    later.time = later.time.addMSecs(1);
    QVERIFY(history.addAudit(later));
    QCOMPARE(history.count(), 2);
    // An SSE event replayed with the same id is stored once too.
    const Api::ApiEvent withId
            = sse(u"health"_s, {{u"region"_s, u"eu-west"_s}, {u"health"_s, u"healthy"_s}}, u"17"_s);
    QVERIFY(history.addEvent(withId));
    QVERIFY(!history.addEvent(withId));
    QCOMPARE(history.count(), 3);
}

void tst_EventHistory::ignoredTypes()
{
    QTemporaryDir dir;
    EventHistory history(dir.filePath(u"h.sqlite"_s));
    QVERIFY(history.open(nullptr));
    QVERIFY(!history.addEvent(sse(u"traffic"_s, {{u"regions"_s, QJsonObject{}}})));
    QVERIFY(!history.addEvent(sse(u"lag"_s, {{u"links"_s, QJsonArray{}}})));
    QVERIFY(history.addEvent(sse(u"newer_type"_s, {{u"region"_s, u"eu-west"_s}})));
    QCOMPARE(history.count(), 1);
    QCOMPARE(history.search({}, {}).first().region, u"eu-west"_s);
}

void tst_EventHistory::oldestEntriesGo()
{
    QTemporaryDir dir;
    EventHistory history(dir.filePath(u"h.sqlite"_s));
    QVERIFY(history.open(nullptr));
    history.setMaxEntries(500);
    const QDateTime t0 = QDateTime::currentDateTimeUtc();
    for (int i = 0; i < 1200; ++i)
        history.addEvent(actionEvent(u"act-%1"_s.arg(i), u"dial"_s, u"eu-west"_s), t0.addSecs(i));
    // Pruned every 1000 inserts: at most max + 1000 rows, the newest kept.
    QVERIFY2(history.count() <= 500 + 1000 && history.count() >= 500,
             qPrintable(QString::number(history.count())));
    QVERIFY(history.count() < 1200);
    QVERIFY(history.search(u"act-1199"_s, {}).size() == 1);
    QVERIFY(history.search(u"(act-3)"_s, {}).isEmpty());
    EventHistory reopened(dir.filePath(u"h.sqlite"_s));
    QVERIFY(reopened.open(nullptr));
    QCOMPARE(reopened.count(), history.count());
}

void tst_EventHistory::dockShowsLiveEventsAndFilters()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(u"h.sqlite"_s);
    {
        EventHistory seed(path);
        QVERIFY(seed.open(nullptr));
        seed.addAudit(audit(u"2026-11-25T01:40:19.123Z"_s, u"drain"_s, u"202"_s, 202));
    }
    EventLogDock dock(nullptr, nullptr, path);
    QAbstractItemModelTester tester(dock.model(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    // What was kept before is shown at once.
    QCOMPARE(dock.model()->rowCount(), 1);
    QCOMPARE(dock.model()->index(0, EventLogModel::SourceColumn).data().toString(), u"audit"_s);

    dock.addEvent(actionEvent(u"act-9"_s, u"drain"_s, u"eu-west"_s));
    dock.addEvent(sse(u"traffic"_s, {{u"regions"_s, QJsonObject{}}})); // ignored
    QCOMPARE(dock.model()->rowCount(), 2);
    QCOMPARE(dock.model()->index(0, EventLogModel::TypeColumn).data().toString(), u"action"_s);
    QCOMPARE(dock.model()->index(0, EventLogModel::RegionColumn).data().toString(), u"eu-west"_s);
    // The selected entry shows in full, its JSON indented.
    dock.view()->setCurrentIndex(dock.model()->index(0, 0));
    QVERIFY2(dock.detailView()->toPlainText().contains(u"\"id\": \"act-9\""_s),
             qPrintable(dock.detailView()->toPlainText()));

    dock.setTypeFilter(u"audit"_s);
    QCOMPARE(dock.model()->rowCount(), 1);
    dock.addEvent(actionEvent(u"act-10"_s, u"activate"_s, u"eu-west"_s)); // stored, not shown
    QCOMPARE(dock.model()->rowCount(), 1);
    dock.setTypeFilter({});
    QCOMPARE(dock.model()->rowCount(), 3);
    dock.setSearchText(u"activate"_s);
    QCOMPARE(dock.model()->rowCount(), 1);
    dock.addEvent(actionEvent(u"act-11"_s, u"dial"_s, u"us-east"_s)); // does not match
    QCOMPARE(dock.model()->rowCount(), 1);
    dock.setSearchText({});
    QCOMPARE(dock.model()->rowCount(), 4);
    QVERIFY(dock.typeFilter()->findData(u"action"_s) >= 0);

    // A bounded model drops its oldest row.
    dock.model()->setMaxRows(4);
    dock.addEvent(actionEvent(u"act-12"_s, u"dial"_s, u"us-east"_s));
    QCOMPARE(dock.model()->rowCount(), 4);
    QVERIFY(dock.model()->entry(0).summary.contains(u"act-12"_s));
    QCOMPARE(dock.history().count(), 5);
}

void tst_EventHistory::dockWithoutHistoryFile()
{
    QTemporaryDir dir;
    // A path under a regular file cannot be created: live events still show.
    QFile blocker(dir.filePath(u"file"_s));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    EventLogDock dock(nullptr, nullptr, dir.filePath(u"file/h.sqlite"_s));
    QAbstractItemModelTester tester(dock.model(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QVERIFY(!dock.history().isOpen());
    dock.addEvent(actionEvent(u"act-1"_s, u"drain"_s, u"eu-west"_s));
    QCOMPARE(dock.model()->rowCount(), 1);
}

QTEST_MAIN(tst_EventHistory)
#include "tst_eventhistory.moc"
