#pragma once

#ifndef SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_SESSION
#endif
#ifndef SQLITE_ENABLE_PREUPDATE_HOOK
#define SQLITE_ENABLE_PREUPDATE_HOOK
#endif
#include <sqlite3.h>

#include "core/sync/sqlvalue.h"
#include "core/sync/syncresult.h"
#include "core/sync/synctypes.h"

#include <QHash>
#include <QString>
#include <QVariant>

#include <memory>

namespace Meridian::Internal {

// One prepared statement; reset() after use so it releases its read lock.
class SqliteStatement
{
public:
    explicit SqliteStatement(sqlite3_stmt *stmt)
        : m_stmt(stmt)
    {}
    ~SqliteStatement();
    SqliteStatement(const SqliteStatement &) = delete;
    SqliteStatement &operator=(const SqliteStatement &) = delete;

    sqlite3_stmt *handle() const { return m_stmt; }
    void reset();
    void bind(int index, const SqlValue &value);
    void bind(int index, qint64 value);
    void bind(int index, const QString &value);
    void bindBlob(int index, const QByteArray &value);
    // Bound without a copy: `value` must stay unchanged until the statement is reset.
    void bindTextNoCopy(int index, const QByteArray &utf8);
    void bindNoCopy(int index, const SqlValue &value);
    void bindBlobNoCopy(int index, const QByteArray &value);
    void bindVariant(int index, const QVariant &value);
    int step();
    qint64 int64(int column) const;
    QString text(int column) const;
    QByteArray blob(int column) const;
    SqlValue value(int column) const;
    bool isNull(int column) const;

private:
    sqlite3_stmt *m_stmt;
};

// Resets a cached statement when leaving a scope, whatever the path.
class StatementScope
{
public:
    explicit StatementScope(SqliteStatement *s)
        : m_s(s)
    {}
    ~StatementScope()
    {
        if (m_s)
            m_s->reset();
    }
    StatementScope(const StatementScope &) = delete;
    StatementScope &operator=(const StatementScope &) = delete;

private:
    SqliteStatement *m_s;
};

// A SQLite connection with a prepared-statement cache. Not thread-safe: one owner thread.
class SqliteDb
{
public:
    SqliteDb() = default;
    ~SqliteDb();
    SqliteDb(const SqliteDb &) = delete;
    SqliteDb &operator=(const SqliteDb &) = delete;

    SyncResult<void> open(const QString &path, bool readOnly);
    void close();
    bool isOpen() const { return m_db != nullptr; }
    sqlite3 *handle() const { return m_db; }
    // How long a statement waits for a lock another connection holds before failing with
    // "database is locked" (5 s unless told; kept across reopening).
    void setBusyTimeout(int ms);

    SyncResult<void> exec(const QString &sql);
    // A cached statement, reset and unbound; nullptr on error (see error()).
    SqliteStatement *cached(const QString &sql);
    SyncResult<std::unique_ptr<SqliteStatement>> prepare(const QString &sql);
    SyncError error(const QString &what) const;
    // Runs one statement with positional parameters; rows go to `rows` when given.
    // Returns the number of rows changed.
    SyncResult<qint64> run(const QString &sql, const QVariantList &params, QueryResult *rows);
    // run() with the prepared statement kept for the next call with the same SQL text (a
    // bounded cache of its own), for statements an application repeats in write bodies.
    SyncResult<qint64> runCached(const QString &sql, const QVariantList &params, QueryResult *rows);
    qint64 changes() const;
    void clearCache();

private:
    static constexpr qsizetype kRunCacheLimit = 128;

    SyncResult<std::unique_ptr<SqliteStatement>> prepareOne(const QString &sql);
    SyncResult<qint64> execute(SqliteStatement &stmt,
                               const QString &sql,
                               const QVariantList &params,
                               QueryResult *rows);

    QString describeError() const;

    sqlite3 *m_db = nullptr;
    int m_busyTimeoutMs = 5000;
    QHash<QString, std::shared_ptr<SqliteStatement>> m_cache;
    QHash<QString, std::shared_ptr<SqliteStatement>> m_runCache;
};

} // namespace Meridian::Internal
