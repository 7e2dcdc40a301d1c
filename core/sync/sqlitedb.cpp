#include "core/sync/sqlitedb.h"

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

SqliteStatement::~SqliteStatement()
{
    sqlite3_finalize(m_stmt);
}

void SqliteStatement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

void SqliteStatement::bind(int index, const SqlValue &value)
{
    switch (value.type) {
    case SqlValue::Null:
        sqlite3_bind_null(m_stmt, index);
        break;
    case SqlValue::Integer:
        sqlite3_bind_int64(m_stmt, index, value.integer);
        break;
    case SqlValue::Real:
        sqlite3_bind_double(m_stmt, index, value.real);
        break;
    case SqlValue::Text:
        sqlite3_bind_text(m_stmt,
                          index,
                          value.bytes.constData(),
                          int(value.bytes.size()),
                          SQLITE_TRANSIENT);
        break;
    case SqlValue::Blob:
        sqlite3_bind_blob(m_stmt,
                          index,
                          value.bytes.constData(),
                          int(value.bytes.size()),
                          SQLITE_TRANSIENT);
        break;
    }
}

void SqliteStatement::bind(int index, qint64 value)
{
    sqlite3_bind_int64(m_stmt, index, value);
}

void SqliteStatement::bind(int index, const QString &value)
{
    const QByteArray utf8 = value.toUtf8();
    sqlite3_bind_text(m_stmt, index, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT);
}

void SqliteStatement::bindBlob(int index, const QByteArray &value)
{
    sqlite3_bind_blob(m_stmt, index, value.constData(), int(value.size()), SQLITE_TRANSIENT);
}

void SqliteStatement::bindTextNoCopy(int index, const QByteArray &utf8)
{
    sqlite3_bind_text(m_stmt, index, utf8.constData(), int(utf8.size()), SQLITE_STATIC);
}

void SqliteStatement::bindNoCopy(int index, const SqlValue &value)
{
    if (value.type == SqlValue::Text)
        bindTextNoCopy(index, value.bytes);
    else if (value.type == SqlValue::Blob)
        bindBlobNoCopy(index, value.bytes);
    else
        bind(index, value);
}

void SqliteStatement::bindBlobNoCopy(int index, const QByteArray &value)
{
    sqlite3_bind_blob(m_stmt, index, value.constData(), int(value.size()), SQLITE_STATIC);
}

void SqliteStatement::bindVariant(int index, const QVariant &value)
{
    bind(index, SqlValue::fromVariant(value));
}

int SqliteStatement::step()
{
    return sqlite3_step(m_stmt);
}

qint64 SqliteStatement::int64(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

QString SqliteStatement::text(int column) const
{
    const auto *p = reinterpret_cast<const char *>(sqlite3_column_text(m_stmt, column));
    return QString::fromUtf8(p, sqlite3_column_bytes(m_stmt, column));
}

QByteArray SqliteStatement::blob(int column) const
{
    const auto *p = static_cast<const char *>(sqlite3_column_blob(m_stmt, column));
    return QByteArray(p, sqlite3_column_bytes(m_stmt, column));
}

bool SqliteStatement::isNull(int column) const
{
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

SqlValue SqliteStatement::value(int column) const
{
    SqlValue v;
    switch (sqlite3_column_type(m_stmt, column)) {
    case SQLITE_INTEGER:
        v.type = SqlValue::Integer;
        v.integer = sqlite3_column_int64(m_stmt, column);
        break;
    case SQLITE_FLOAT:
        v.type = SqlValue::Real;
        v.real = sqlite3_column_double(m_stmt, column);
        break;
    case SQLITE_TEXT: {
        v.type = SqlValue::Text;
        const auto *p = reinterpret_cast<const char *>(sqlite3_column_text(m_stmt, column));
        v.bytes = QByteArray(p, sqlite3_column_bytes(m_stmt, column));
        break;
    }
    case SQLITE_BLOB: {
        v.type = SqlValue::Blob;
        const auto *p = static_cast<const char *>(sqlite3_column_blob(m_stmt, column));
        v.bytes = QByteArray(p, sqlite3_column_bytes(m_stmt, column));
        break;
    }
    default:
        break;
    }
    return v;
}

SqliteDb::~SqliteDb()
{
    close();
}

SyncResult<void> SqliteDb::open(const QString &path, bool readOnly)
{
    close();
    const int flags = readOnly ? SQLITE_OPEN_READONLY
                               : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    const int rc = sqlite3_open_v2(path.toUtf8().constData(),
                                   &m_db,
                                   flags | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
        const QString msg = m_db ? QString::fromUtf8(sqlite3_errmsg(m_db))
                                 : QString::fromUtf8(sqlite3_errstr(rc));
        close();
        return syncError(SyncError::Code::Storage,
                         u"cannot open SQLite database %1: %2"_s.arg(path, msg));
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, m_busyTimeoutMs);
    return {};
}

void SqliteDb::setBusyTimeout(int ms)
{
    m_busyTimeoutMs = ms;
    if (m_db)
        sqlite3_busy_timeout(m_db, ms);
}

QString SqliteDb::describeError() const
{
    if (!m_db)
        return u"not open"_s;
    const QString message = QString::fromUtf8(sqlite3_errmsg(m_db));
    // In a node only the replica's connection writes, so a lock it cannot get is held by
    // another process: say so, it is what the operator has to look for.
    if ((sqlite3_extended_errcode(m_db) & 0xff) == SQLITE_BUSY)
        return u"%1 (held by another connection, such as another process's; waited %2 ms)"_s
                .arg(message)
                .arg(m_busyTimeoutMs);
    return message;
}

void SqliteDb::close()
{
    m_cache.clear();
    m_runCache.clear();
    if (m_db) {
        sqlite3_close_v2(m_db);
        m_db = nullptr;
    }
}

void SqliteDb::clearCache()
{
    m_cache.clear();
    m_runCache.clear();
}

SyncResult<void> SqliteDb::exec(const QString &sql)
{
    if (!m_db)
        return syncError(SyncError::Code::NotOpen, u"database is not open"_s);
    char *err = nullptr;
    const int rc = sqlite3_exec(m_db, sql.toUtf8().constData(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        sqlite3_free(err);
        const QString msg = describeError();
        return syncError(SyncError::Code::Storage, u"%1 (in: %2)"_s.arg(msg, sql.left(200)));
    }
    return {};
}

SqliteStatement *SqliteDb::cached(const QString &sql)
{
    auto it = m_cache.find(sql);
    if (it != m_cache.end())
        return it->get();
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v3(m_db,
                           sql.toUtf8().constData(),
                           -1,
                           SQLITE_PREPARE_PERSISTENT,
                           &stmt,
                           nullptr)
        != SQLITE_OK)
        return nullptr;
    auto s = std::make_shared<SqliteStatement>(stmt);
    m_cache.insert(sql, s);
    return s.get();
}

SyncResult<std::unique_ptr<SqliteStatement>> SqliteDb::prepare(const QString &sql)
{
    if (!m_db)
        return syncError(SyncError::Code::NotOpen, u"database is not open"_s);
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(m_db, sql.toUtf8().constData(), -1, &stmt, nullptr) != SQLITE_OK)
        return error(u"cannot prepare \"%1\""_s.arg(sql.left(200)));
    if (!stmt)
        return syncError(SyncError::Code::InvalidArgument, u"empty SQL statement"_s);
    return std::make_unique<SqliteStatement>(stmt);
}

SyncError SqliteDb::error(const QString &what) const
{
    return syncError(SyncError::Code::Storage, u"%1: %2"_s.arg(what, describeError()));
}

SyncResult<std::unique_ptr<SqliteStatement>> SqliteDb::prepareOne(const QString &sql)
{
    if (!m_db)
        return syncError(SyncError::Code::NotOpen, u"database is not open"_s);
    const QByteArray utf8 = sql.toUtf8();
    sqlite3_stmt *raw = nullptr;
    const char *tail = nullptr;
    if (sqlite3_prepare_v3(m_db,
                           utf8.constData(),
                           int(utf8.size()),
                           SQLITE_PREPARE_PERSISTENT,
                           &raw,
                           &tail)
        != SQLITE_OK)
        return syncError(SyncError::Code::InvalidArgument,
                         u"cannot prepare \"%1\": %2"_s.arg(sql.left(200),
                                                            QString::fromUtf8(
                                                                    sqlite3_errmsg(m_db))));
    if (!raw)
        return syncError(SyncError::Code::InvalidArgument, u"empty SQL statement"_s);
    auto stmt = std::make_unique<SqliteStatement>(raw);
    if (tail && QByteArray(tail).trimmed().size() > 0)
        return syncError(SyncError::Code::InvalidArgument,
                         u"only one SQL statement per call: \"%1\""_s.arg(sql.left(200)));
    return stmt;
}

SyncResult<qint64> SqliteDb::execute(SqliteStatement &stmt,
                                     const QString &sql,
                                     const QVariantList &params,
                                     QueryResult *rows)
{
    sqlite3_stmt *raw = stmt.handle();
    if (sqlite3_bind_parameter_count(raw) != params.size())
        return syncError(SyncError::Code::InvalidArgument,
                         u"statement expects %1 parameters, %2 given"_s
                                 .arg(sqlite3_bind_parameter_count(raw))
                                 .arg(params.size()));
    for (int i = 0; i < params.size(); ++i)
        stmt.bindVariant(i + 1, params.at(i));
    const int columns = sqlite3_column_count(raw);
    if (rows) {
        rows->columns.clear();
        rows->rows.clear();
        for (int c = 0; c < columns; ++c)
            rows->columns.append(QString::fromUtf8(sqlite3_column_name(raw, c)));
    }
    for (;;) {
        const int rc = stmt.step();
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW)
            return error(u"\"%1\" failed"_s.arg(sql.left(200)));
        if (rows) {
            QVariantList row;
            row.reserve(columns);
            for (int c = 0; c < columns; ++c)
                row.append(stmt.value(c).toVariant());
            rows->rows.append(std::move(row));
        }
    }
    return sqlite3_stmt_readonly(raw) ? 0 : changes();
}

SyncResult<qint64> SqliteDb::run(const QString &sql, const QVariantList &params, QueryResult *rows)
{
    auto stmt = prepareOne(sql);
    if (!stmt)
        return stmt.error();
    return execute(*stmt.value(), sql, params, rows);
}

SyncResult<qint64> SqliteDb::runCached(const QString &sql,
                                       const QVariantList &params,
                                       QueryResult *rows)
{
    auto it = m_runCache.constFind(sql);
    if (it == m_runCache.cend()) {
        auto stmt = prepareOne(sql);
        if (!stmt)
            return stmt.error();
        // Bounded: callers that build SQL text per call must not grow the cache forever.
        if (m_runCache.size() >= kRunCacheLimit)
            m_runCache.clear();
        it = m_runCache.insert(sql, std::shared_ptr<SqliteStatement>(std::move(stmt).value()));
    }
    SqliteStatement *s = it->get();
    StatementScope scope(s);
    return execute(*s, sql, params, rows);
}

qint64 SqliteDb::changes() const
{
    return sqlite3_changes64(m_db);
}

} // namespace Meridian::Internal
