#include "ui/eventhistory.h"

#include <sqlite3.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStandardPaths>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// A prepared statement that finalizes itself.
class Statement
{
public:
    Statement(sqlite3 *db, const char *sql)
    {
        if (sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr) != SQLITE_OK)
            m_stmt = nullptr;
    }
    ~Statement() { sqlite3_finalize(m_stmt); }
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;

    bool ok() const { return m_stmt != nullptr; }
    void bind(int index, const QString &value)
    {
        const QByteArray utf8 = value.toUtf8();
        sqlite3_bind_text(m_stmt, index, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT);
    }
    void bindNull(int index) { sqlite3_bind_null(m_stmt, index); }
    void bind(int index, qint64 value) { sqlite3_bind_int64(m_stmt, index, value); }
    int step() { return sqlite3_step(m_stmt); }
    qint64 int64(int column) const { return sqlite3_column_int64(m_stmt, column); }
    QString text(int column) const
    {
        const auto *data = reinterpret_cast<const char *>(sqlite3_column_text(m_stmt, column));
        return QString::fromUtf8(data, sqlite3_column_bytes(m_stmt, column));
    }

private:
    sqlite3_stmt *m_stmt = nullptr;
};

QString compact(const QJsonValue &value, int max = 400)
{
    QByteArray json;
    if (value.isObject())
        json = QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
    else if (value.isArray())
        json = QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact);
    else
        json = value.toVariant().toString().toUtf8();
    QString text = QString::fromUtf8(json);
    if (text.size() > max)
        text = text.left(max) + u'…';
    return text;
}

QString escapeLike(QString text)
{
    text.replace(u"\\"_s, u"\\\\"_s);
    text.replace(u"%"_s, u"\\%"_s);
    text.replace(u"_"_s, u"\\_"_s);
    return text;
}

} // namespace

EventHistory::EventHistory(QString path)
    : m_path(path.isEmpty() ? defaultPath() : std::move(path))
{}

EventHistory::~EventHistory()
{
    close();
}

QString EventHistory::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + u"/events.sqlite"_s;
}

bool EventHistory::open(QString *error)
{
    close();
    auto fail = [this, error](const QString &message) {
        m_lastError = message;
        if (error)
            *error = message;
        close();
        return false;
    };
    const QString folder = QFileInfo(m_path).absolutePath();
    if (!QDir().mkpath(folder))
        return fail(u"cannot create the folder %1 for the event history"_s.arg(folder));
    const QByteArray file = QFile::encodeName(m_path);
    if (sqlite3_open_v2(file.constData(),
                        &m_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr)
        != SQLITE_OK) {
        const QString reason = m_db ? QString::fromUtf8(sqlite3_errmsg(m_db)) : u"out of memory"_s;
        return fail(u"cannot open the event history %1: %2"_s.arg(m_path, reason));
    }
    sqlite3_busy_timeout(m_db, 2000);
    const char *schema = "PRAGMA journal_mode=WAL;"
                         "PRAGMA synchronous=NORMAL;"
                         "CREATE TABLE IF NOT EXISTS history ("
                         " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                         " time_ms INTEGER NOT NULL,"
                         " source TEXT NOT NULL,"
                         " type TEXT NOT NULL,"
                         " region TEXT NOT NULL DEFAULT '',"
                         " summary TEXT NOT NULL,"
                         " detail TEXT NOT NULL DEFAULT '',"
                         " dedupe TEXT UNIQUE,"
                         " cluster TEXT NOT NULL DEFAULT '');"
                         "CREATE INDEX IF NOT EXISTS history_time ON history(time_ms);";
    char *message = nullptr;
    int rc = sqlite3_exec(m_db, schema, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) {
        // Files from before clusters were told apart: the column is added, old rows keep ''.
        bool hasCluster = false;
        Statement columns(m_db, "PRAGMA table_info(history)");
        while (columns.ok() && columns.step() == SQLITE_ROW)
            hasCluster = hasCluster || columns.text(1) == u"cluster"_s;
        const char *upgrade = hasCluster ? "CREATE INDEX IF NOT EXISTS history_cluster_time"
                                           " ON history(cluster, time_ms);"
                                         : "ALTER TABLE history ADD COLUMN cluster TEXT NOT NULL"
                                           " DEFAULT '';"
                                           "CREATE INDEX IF NOT EXISTS history_cluster_time"
                                           " ON history(cluster, time_ms);";
        rc = sqlite3_exec(m_db, upgrade, nullptr, nullptr, &message);
    }
    if (rc != SQLITE_OK) {
        const QString reason = QString::fromUtf8(message ? message : "unknown error");
        sqlite3_free(message);
        return fail(u"cannot prepare the event history %1: %2 (delete the file to start afresh)"_s
                            .arg(m_path, reason));
    }
    m_count = countRows();
    return true;
}

void EventHistory::setCluster(const QString &cluster)
{
    m_cluster = cluster;
    m_count = countRows();
}

void EventHistory::close()
{
    if (m_db) {
        sqlite3_close_v2(m_db);
        m_db = nullptr;
    }
    m_count = 0;
}

HistoryEntry EventHistory::fromEvent(const Api::ApiEvent &event, const QDateTime &received)
{
    HistoryEntry entry;
    entry.time = received.toUTC();
    entry.source = u"event"_s;
    entry.type = event.type;
    entry.detail = compact(event.data, 100000);
    const QJsonObject data = event.dataObject();
    if (event.type == u"action") {
        const Api::ApiResult<Api::ActionInfo> action = event.action();
        if (action) {
            const Api::ActionInfo &a = action.value();
            entry.region = a.region;
            QString args;
            if (!a.args.isEmpty())
                args = u" "_s + compact(a.args, 120);
            entry.summary = u"%1%2%3 by %4: %5 (%6)"_s.arg(a.kind,
                                                           a.region.isEmpty() ? QString()
                                                                              : u" "_s + a.region,
                                                           args,
                                                           a.actor.isEmpty() ? u"unknown"_s
                                                                             : a.actor,
                                                           a.status,
                                                           a.id);
            return entry;
        }
    } else if (event.type == u"state") {
        QStringList parts;
        const QJsonArray regions = data.value("regions"_L1).toArray();
        for (const QJsonValue &value : regions) {
            const QJsonObject region = value.toObject();
            const QString id = region.value("id"_L1).toString();
            parts.append(u"%1 %2"_s.arg(id, region.value("state"_L1).toString()));
            if (regions.size() == 1)
                entry.region = id;
        }
        const QJsonObject strategy = data.value("strategy"_L1).toObject();
        if (!strategy.isEmpty())
            parts.append(u"strategy %1"_s.arg(strategy.value("name"_L1).toString()));
        if (data.contains("primary"_L1))
            parts.append(u"primary %1"_s.arg(data.value("primary"_L1).toString()));
        entry.summary = parts.isEmpty() ? u"state changed"_s : parts.join(u", "_s);
        return entry;
    } else if (event.type == u"health") {
        entry.region = data.value("region"_L1).toString();
        entry.summary = u"%1 %2%3"_s.arg(entry.region,
                                         data.value("health"_L1).toString(),
                                         data.value("reachable"_L1).toBool(true)
                                                 ? QString()
                                                 : u" (unreachable)"_s);
        return entry;
    }
    entry.region = data.value("region"_L1).toString();
    entry.summary = compact(event.data, 200);
    return entry;
}

HistoryEntry EventHistory::fromAudit(const Api::AuditEntry &audit)
{
    HistoryEntry entry;
    entry.time = audit.time.toUTC();
    entry.source = u"audit"_s;
    entry.type = audit.action;
    entry.region = audit.args.value("region"_L1).toString();
    if (entry.region.isEmpty())
        entry.region = audit.args.value("id"_L1).toString();
    QString args = audit.args.isEmpty() ? QString() : u" "_s + compact(audit.args, 160);
    entry.summary = u"%1%2 → %3 (token %4, from %5, on %6)"_s
                            .arg(audit.action,
                                 args,
                                 audit.result.isEmpty() ? QString::number(audit.status)
                                                        : audit.result,
                                 audit.token.isEmpty() ? u"none"_s : audit.token,
                                 audit.client,
                                 audit.node);
    QJsonObject detail{{u"time"_s, Api::toApiTime(audit.time)},
                       {u"token"_s, audit.token},
                       {u"client"_s, audit.client},
                       {u"action"_s, audit.action},
                       {u"args"_s, audit.args},
                       {u"result"_s, audit.result},
                       {u"status"_s, audit.status},
                       {u"node"_s, audit.node}};
    entry.detail = QString::fromUtf8(QJsonDocument(detail).toJson(QJsonDocument::Compact));
    return entry;
}

std::optional<HistoryEntry> EventHistory::addEvent(const Api::ApiEvent &event,
                                                   const QDateTime &received)
{
    if (m_ignored.contains(event.type))
        return std::nullopt;
    // Events with an SSE id are stored once even when a reconnect replays them.
    const QString key = event.id.isEmpty() ? QString() : u"event:"_s + event.type + u':' + event.id;
    return insert(fromEvent(event, received), key);
}

std::optional<HistoryEntry> EventHistory::addAudit(const Api::AuditEntry &audit)
{
    const HistoryEntry entry = fromAudit(audit);
    // The same audit line read again (the log is re-read) is the same row.
    return insert(entry, u"audit:"_s + entry.detail);
}

std::optional<HistoryEntry> EventHistory::insert(HistoryEntry entry, const QString &key)
{
    if (!m_db)
        return std::nullopt;
    Statement insert(m_db,
                     "INSERT OR IGNORE INTO history(time_ms, source, type, region, summary, detail,"
                     " dedupe, cluster) VALUES(?,?,?,?,?,?,?,?)");
    if (!insert.ok()) {
        m_lastError = QString::fromUtf8(sqlite3_errmsg(m_db));
        return std::nullopt;
    }
    insert.bind(1, entry.time.toMSecsSinceEpoch());
    insert.bind(2, entry.source);
    insert.bind(3, entry.type);
    insert.bind(4, entry.region);
    insert.bind(5, entry.summary);
    insert.bind(6, entry.detail);
    if (key.isEmpty())
        insert.bindNull(7);
    else
        insert.bind(7, m_cluster + u'\n' + key); // the same event id in two clusters is two rows
    insert.bind(8, m_cluster);
    if (insert.step() != SQLITE_DONE) {
        m_lastError = QString::fromUtf8(sqlite3_errmsg(m_db));
        return std::nullopt;
    }
    if (sqlite3_changes(m_db) == 0)
        return std::nullopt;
    entry.id = sqlite3_last_insert_rowid(m_db);
    ++m_count;
    if (++m_insertsSincePrune >= 1000)
        prune();
    return entry;
}

void EventHistory::prune()
{
    m_insertsSincePrune = 0;
    Statement remove(m_db, "DELETE FROM history WHERE id <= (SELECT MAX(id) FROM history) - ?");
    if (remove.ok()) {
        remove.bind(1, m_maxEntries);
        remove.step();
    }
    m_count = countRows();
}

QList<HistoryEntry> EventHistory::search(const QString &text, const QString &type, int limit) const
{
    QList<HistoryEntry> entries;
    if (!m_db)
        return entries;
    Statement query(m_db,
                    "SELECT id, time_ms, source, type, region, summary, detail FROM history"
                    " WHERE cluster = ?5"
                    "   AND (?1 = '' OR summary LIKE ?2 ESCAPE '\\' OR type LIKE ?2 ESCAPE '\\'"
                    "        OR region LIKE ?2 ESCAPE '\\' OR detail LIKE ?2 ESCAPE '\\')"
                    "   AND (?3 = '' OR (?3 = 'audit' AND source = 'audit')"
                    "        OR (source = 'event' AND type = ?3))"
                    " ORDER BY time_ms DESC, id DESC LIMIT ?4");
    if (!query.ok())
        return entries;
    const QString needle = text.trimmed();
    query.bind(1, needle);
    query.bind(2, u"%"_s + escapeLike(needle) + u"%"_s);
    query.bind(3, type);
    query.bind(4, qint64(limit > 0 ? limit : 1000));
    query.bind(5, m_cluster);
    while (query.step() == SQLITE_ROW) {
        HistoryEntry entry;
        entry.id = query.int64(0);
        entry.time = QDateTime::fromMSecsSinceEpoch(query.int64(1), Qt::UTC);
        entry.source = query.text(2);
        entry.type = query.text(3);
        entry.region = query.text(4);
        entry.summary = query.text(5);
        entry.detail = query.text(6);
        entries.append(entry);
    }
    return entries;
}

QStringList EventHistory::eventTypes() const
{
    QStringList types;
    if (!m_db)
        return types;
    Statement query(m_db,
                    "SELECT DISTINCT type FROM history WHERE cluster = ? AND source = 'event'"
                    " ORDER BY type");
    if (query.ok())
        query.bind(1, m_cluster);
    while (query.ok() && query.step() == SQLITE_ROW)
        types.append(query.text(0));
    return types;
}

qint64 EventHistory::countRows() const
{
    if (!m_db)
        return 0;
    Statement query(m_db, "SELECT COUNT(*) FROM history WHERE cluster = ?");
    if (!query.ok())
        return 0;
    query.bind(1, m_cluster);
    return query.step() == SQLITE_ROW ? query.int64(0) : 0;
}

} // namespace Meridian
