#pragma once

#include <QDateTime>
#include <QFile>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace Meridian {

struct AuditEntry
{
    QDateTime time;
    QString token;  // the token's configured name ("" when none was valid)
    QString client; // client address, plus the first node when forwarded
    QString action; // e.g. "drain", "strategy", "revert"
    QJsonObject args;
    QString result; // the HTTP status and error code, e.g. "202", "409 min_active_regions"
    int status = 0;
    QString node; // the node that recorded it

    QJsonObject toJson() const;
    static AuditEntry fromJson(const QJsonObject &object);
};

// The durable audit log of every mutating control call, accepted or refused. An append-only
// JSON Lines file (one object per line, greppable and easy to ship), fsync'ed after each entry
// before the call is answered, so an answered call is always on record. The newest entries are
// kept in memory for GET /v1/audit.
class AuditLog
{
public:
    explicit AuditLog(int memoryEntries = 10000);
    ~AuditLog();

    // Opens (creating) the file and loads its newest entries. Returns an error message on failure.
    QString open(const QString &path);
    // Closes the file and opens the same path again, creating it: after logrotate moved it away
    // (SIGHUP). Entries in memory stay. Returns an error message on failure; if the path cannot
    // be created, the old file stays open and in use.
    QString reopen();
    // Appends and syncs; returns false if the entry could not be made durable.
    bool append(const AuditEntry &entry);
    // The newest `limit` entries, newest first.
    QList<AuditEntry> newest(int limit) const;
    QString path() const { return m_file.fileName(); }

private:
    QFile m_file;
    QList<AuditEntry> m_recent;
    int m_memoryEntries;
};

} // namespace Meridian
