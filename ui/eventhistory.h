#pragma once

// EventHistory: the control room's local, searchable record of live events and audit entries,
// kept in a SQLite file across restarts (by default AppDataLocation/events.sqlite). Audit
// entries are de-duplicated (the audit log is re-read every few seconds); events are stored as
// they arrive, except the per-second `traffic` and `lag` ones (setIgnoredTypes).
//
// How to wire it: EventLogDock owns one (see ui/eventlogdock.h); use it directly only to read
// the history elsewhere:
//   Meridian::EventHistory history; // or EventHistory(path) in tests
//   QString error;
//   if (!history.open(&error)) qWarning() << error;
//   history.addEvent(event);
//   const QList<Meridian::HistoryEntry> hits = history.search(u"eu-west"_s, {}, 500);

#include "core/control/apitypes.h"

#include <QDateTime>
#include <QList>
#include <QSet>
#include <QString>

#include <optional>

struct sqlite3;

namespace Meridian {

// One line of the history.
struct HistoryEntry
{
    qint64 id = 0;
    QDateTime time;  // when it happened (audit) or arrived (event), UTC
    QString source;  // "event" or "audit"
    QString type;    // the event type (state, health, action, ...) or the audited action
    QString region;  // the region it is about, when there is one
    QString summary; // one line for the operator
    QString detail;  // the JSON it came from
};

class EventHistory final
{
public:
    // `path` empty: defaultPath().
    explicit EventHistory(QString path = {});
    ~EventHistory();
    EventHistory(const EventHistory &) = delete;
    EventHistory &operator=(const EventHistory &) = delete;

    static QString defaultPath();
    const QString &path() const { return m_path; }

    // Creates the folder, the file and the table as needed.
    bool open(QString *error);
    bool isOpen() const { return m_db != nullptr; }
    void close();

    // The cluster whose entries are added, searched and counted from now on (a profile name, an
    // endpoint): one file keeps the history of every cluster the operator watches, apart.
    // Entries written before clusters were told apart belong to the cluster "".
    void setCluster(const QString &cluster);
    const QString &cluster() const { return m_cluster; }

    void setIgnoredTypes(const QSet<QString> &types) { m_ignored = types; }
    bool isIgnored(const QString &type) const { return m_ignored.contains(type); }
    // At most this many entries are kept (the oldest go first); default 100,000.
    void setMaxEntries(qint64 max) { m_maxEntries = max; }

    // The stored entry, or nothing when the event is ignored, already stored or the database
    // is not open. `received` is the event's time (events carry none of their own).
    std::optional<HistoryEntry> addEvent(const Api::ApiEvent &event,
                                         const QDateTime &received
                                         = QDateTime::currentDateTimeUtc());
    std::optional<HistoryEntry> addAudit(const Api::AuditEntry &entry);

    // Newest first. `text` matches the summary, type, region or detail (case-insensitive, a
    // substring); `type` is "" (all), "audit" (every audit entry) or an event type.
    QList<HistoryEntry> search(const QString &text, const QString &type, int limit = 1000) const;
    // The event types seen so far, sorted.
    QStringList eventTypes() const;
    qint64 count() const { return m_count; } // entries of the cluster
    QString lastError() const { return m_lastError; }

    static HistoryEntry fromEvent(const Api::ApiEvent &event, const QDateTime &received);
    static HistoryEntry fromAudit(const Api::AuditEntry &entry);

private:
    std::optional<HistoryEntry> insert(HistoryEntry entry, const QString &key);
    void prune();
    qint64 countRows() const;

    QString m_path;
    sqlite3 *m_db = nullptr;
    QSet<QString> m_ignored{QStringLiteral("traffic"), QStringLiteral("lag")};
    qint64 m_maxEntries = 100000;
    qint64 m_insertsSincePrune = 0;
    qint64 m_count = 0; // of m_cluster
    QString m_lastError;
    QString m_cluster;
};

} // namespace Meridian
