#include "core/sync/replicastore.h"

#include "core/sync/bytecodec.h"
#include "core/sync/changeset.h"
#include "core/sync/hybridlogicalclock.h"
#include "core/sync/syncclock.h"
#include "core/sync/transaction.h"

#include <QJsonDocument>
#include <QLoggingCategory>

#include <algorithm>
#include <cstring>

using namespace Qt::StringLiterals;

namespace Meridian::Internal {

Q_LOGGING_CATEGORY(lcStore, "meridian.sync.store")

namespace {

constexpr int kFormatVersion = 1;
const QString kMetaPrefix = u"_meridian_"_s;

QString quoted(const QString &ident)
{
    QString q = ident;
    q.replace(u'"', u"\"\""_s);
    return u'"' + q + u'"';
}

bool versionGreater(quint64 hlcA, const QString &originA, quint64 hlcB, const QString &originB)
{
    if (hlcA != hlcB)
        return hlcA > hlcB;
    return originA > originB;
}

// Installed once per connection and consulted when a statement is prepared: statements prepared
// inside a write body (the flag `bodyActive` points to is set) may only change the registered
// tables. Setting an authorizer expires every prepared statement, so it is never swapped per write.
int authorizer(
        void *bodyActive, int action, const char *arg1, const char *, const char *, const char *)
{
    if (!*static_cast<const bool *>(bodyActive))
        return SQLITE_OK;
    switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE:
    case SQLITE_ALTER_TABLE:
        return SQLITE_DENY;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        if (arg1 && qstrncmp(arg1, "_meridian_", 10) == 0)
            return SQLITE_DENY;
        return SQLITE_OK;
    default:
        return SQLITE_OK;
    }
}

// Writes a changeset value exactly as SqlValue::encode() writes the same value.
void encodeValue(ByteWriter &w, sqlite3_value *v)
{
    const int type = v ? sqlite3_value_type(v) : SQLITE_NULL;
    switch (type) {
    case SQLITE_INTEGER:
        w.u8(SqlValue::Integer);
        w.svarint(sqlite3_value_int64(v));
        break;
    case SQLITE_FLOAT: {
        w.u8(SqlValue::Real);
        const double real = sqlite3_value_double(v);
        quint64 bits = 0;
        std::memcpy(&bits, &real, sizeof bits);
        w.fixed64(bits);
        break;
    }
    case SQLITE_TEXT: {
        w.u8(SqlValue::Text);
        const auto *p = reinterpret_cast<const char *>(sqlite3_value_text(v));
        w.bytes(p, sqlite3_value_bytes(v));
        break;
    }
    case SQLITE_BLOB: {
        w.u8(SqlValue::Blob);
        const auto *p = static_cast<const char *>(sqlite3_value_blob(v));
        w.bytes(p, sqlite3_value_bytes(v));
        break;
    }
    default:
        w.u8(SqlValue::Null);
        break;
    }
}

struct SessionDeleter
{
    void operator()(sqlite3_session *s) const { sqlite3session_delete(s); }
};

} // namespace

ReplicaStore::ReplicaStore(QString regionId, HybridLogicalClock *hlc, const SyncClock *clock)
    : m_regionId(std::move(regionId))
    , m_hlc(hlc)
    , m_clock(clock)
{}

ReplicaStore::~ReplicaStore()
{
    close();
}

void ReplicaStore::close()
{
    m_readDb.close();
    m_db.close();
    m_tables.clear();
    m_tableOrder.clear();
}

SyncResult<void> ReplicaStore::open(const QString &path,
                                    Durability durability,
                                    int schemaVersion,
                                    int journalLimit)
{
    close();
    m_path = path;
    m_schemaVersion = schemaVersion;
    m_journalLimit = journalLimit;
    if (auto r = m_db.open(path, false); !r)
        return r;
    m_bodyActive = false;
    sqlite3_set_authorizer(m_db.handle(), authorizer, &m_bodyActive);
    const QString sync = durability == Durability::Full ? u"FULL"_s : u"NORMAL"_s;
    QueryResult mode;
    if (auto r = m_db.run(u"PRAGMA journal_mode=WAL"_s, {}, &mode); !r) {
        close();
        return r.error();
    }
    if (mode.rows.isEmpty() || mode.rows.first().value(0).toString() != "wal"_L1) {
        close();
        return syncError(SyncError::Code::Storage,
                         u"cannot switch %1 to WAL mode (is it on a file system without shared "
                         "memory support?)"_s.arg(path));
    }
    for (const QString &pragma : {u"PRAGMA synchronous="_s + sync,
                                  u"PRAGMA foreign_keys=OFF"_s,
                                  u"PRAGMA cache_size=-16000"_s}) {
        if (auto r = m_db.exec(pragma); !r) {
            close();
            return r;
        }
    }
    if (auto r = createMetadata(); !r) {
        close();
        return r;
    }
    if (auto r = loadState(); !r) {
        close();
        return r;
    }
    if (auto r = m_readDb.open(path, true); !r) {
        close();
        return r;
    }
    return {};
}

SyncResult<void> ReplicaStore::createMetadata()
{
    return m_db.exec(
            u"BEGIN IMMEDIATE;"
            "CREATE TABLE IF NOT EXISTS _meridian_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS _meridian_log(origin TEXT NOT NULL, seq INTEGER NOT NULL,"
            " hlc INTEGER NOT NULL, schema_version INTEGER NOT NULL, seen BLOB NOT NULL,"
            " payload BLOB NOT NULL, checksum INTEGER NOT NULL, stored_ms INTEGER NOT NULL,"
            " UNIQUE(origin, seq));"
            "CREATE TABLE IF NOT EXISTS _meridian_cursor(origin TEXT PRIMARY KEY,"
            " seq INTEGER NOT NULL, hlc INTEGER NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS _meridian_rowmeta(tbl TEXT NOT NULL, pk BLOB NOT NULL,"
            " hlc INTEGER NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
            " deleted INTEGER NOT NULL, hash_a INTEGER NOT NULL, hash_b INTEGER NOT NULL,"
            " PRIMARY KEY(tbl, pk)) WITHOUT ROWID;"
            "CREATE INDEX IF NOT EXISTS _meridian_rowmeta_tombstones ON _meridian_rowmeta(hlc)"
            " WHERE deleted = 1;"
            "CREATE TABLE IF NOT EXISTS _meridian_peer_ack(peer TEXT NOT NULL, origin TEXT NOT "
            "NULL,"
            " seq INTEGER NOT NULL, PRIMARY KEY(peer, origin)) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS _meridian_conflicts(tbl TEXT NOT NULL, region TEXT NOT "
            "NULL,"
            " count INTEGER NOT NULL, PRIMARY KEY(tbl, region)) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS _meridian_overwritten(id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " at_ms INTEGER NOT NULL, tbl TEXT NOT NULL, pk TEXT NOT NULL, loser_origin TEXT NOT "
            "NULL,"
            " loser_hlc INTEGER NOT NULL, loser_deleted INTEGER NOT NULL, loser_row TEXT NOT NULL,"
            " winner_origin TEXT NOT NULL, winner_hlc INTEGER NOT NULL);"
            "INSERT OR IGNORE INTO _meridian_meta VALUES('format_version', 1);"
            "COMMIT;"_s);
}

SyncResult<void> ReplicaStore::loadState()
{
    QueryResult meta;
    if (auto r = m_db.run(u"SELECT key, value FROM _meridian_meta"_s, {}, &meta); !r)
        return r.error();
    QHash<QString, QVariant> kv;
    for (const QVariantList &row : meta.rows)
        kv.insert(row.value(0).toString(), row.value(1));
    if (kv.value(u"format_version"_s).toInt() != kFormatVersion)
        return syncError(SyncError::Code::Schema,
                         u"%1 has sync format version %2; this build reads version %3"_s
                                 .arg(m_path, kv.value(u"format_version"_s).toString())
                                 .arg(kFormatVersion));
    const QString owner = kv.value(u"region_id"_s).toString();
    if (!owner.isEmpty() && owner != m_regionId)
        return syncError(SyncError::Code::InvalidArgument,
                         u"%1 belongs to region \"%2\", not \"%3\": use that region's own "
                         "database file"_s.arg(m_path, owner, m_regionId));
    m_digest.a = quint64(kv.value(u"digest_a"_s).toLongLong());
    m_digest.b = quint64(kv.value(u"digest_b"_s).toLongLong());
    m_persistedHlc = quint64(kv.value(u"hlc"_s).toLongLong());

    m_cursors.clear();
    m_cursorHlc.clear();
    QueryResult cur;
    if (auto r = m_db.run(u"SELECT origin, seq, hlc FROM _meridian_cursor"_s, {}, &cur); !r)
        return r.error();
    quint64 maxHlc = m_persistedHlc;
    for (const QVariantList &row : cur.rows) {
        m_cursors.insert(row.value(0).toString(), quint64(row.value(1).toLongLong()));
        m_cursorHlc.insert(row.value(0).toString(), quint64(row.value(2).toLongLong()));
        maxHlc = std::max(maxHlc, quint64(row.value(2).toLongLong()));
    }
    if (!m_cursors.contains(m_regionId))
        m_cursors.insert(m_regionId, 0);
    // Local writes persist their HLC in the own cursor row only, not in the `hlc` meta row.
    m_persistedHlc = maxHlc;
    m_hlc->advanceTo(maxHlc);
    if (auto r = m_db.exec(u"BEGIN IMMEDIATE"_s); !r)
        return r;
    if (auto r = m_db.run(u"INSERT OR REPLACE INTO _meridian_meta VALUES('region_id', ?)"_s,
                          {m_regionId},
                          nullptr);
        !r) {
        rollback();
        return r.error();
    }
    if (auto r = setMeta(u"schema_version"_s, m_schemaVersion); !r) {
        rollback();
        return r;
    }
    if (auto r = commit(); !r)
        return r;
    return refreshLowWater();
}

SyncResult<void> ReplicaStore::refreshLowWater()
{
    QueryResult rows;
    if (auto r
        = m_db.run(u"SELECT origin, MIN(seq) FROM _meridian_log GROUP BY origin"_s, {}, &rows);
        !r)
        return r.error();
    m_lowWater.clear();
    for (auto it = m_cursors.cbegin(); it != m_cursors.cend(); ++it)
        m_lowWater.insert(it.key(), it.value() + 1);
    for (const QVariantList &row : rows.rows)
        m_lowWater.insert(row.value(0).toString(), quint64(row.value(1).toLongLong()));
    return {};
}

SyncResult<void> ReplicaStore::step(const QString &sql, const QString &what)
{
    // Prepared once: sqlite3_exec() would parse BEGIN/COMMIT again on every write.
    SqliteStatement *s = m_db.cached(sql);
    if (!s)
        return m_db.error(what);
    StatementScope scope(s);
    if (s->step() != SQLITE_DONE)
        return m_db.error(what);
    return {};
}

SyncResult<void> ReplicaStore::begin()
{
    return step(u"BEGIN IMMEDIATE"_s, u"cannot begin a write transaction"_s);
}

void ReplicaStore::rollback()
{
    if (!sqlite3_get_autocommit(m_db.handle()))
        sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

SyncResult<void> ReplicaStore::commit()
{
    auto r = step(u"COMMIT"_s, u"cannot commit"_s);
    if (!r)
        rollback();
    return r;
}

SyncResult<void> ReplicaStore::setMeta(const QString &key, qint64 value)
{
    SqliteStatement *s = m_db.cached(u"INSERT OR REPLACE INTO _meridian_meta VALUES(?, ?)"_s);
    if (!s)
        return m_db.error(u"meta"_s);
    StatementScope scope(s);
    s->bind(1, key);
    s->bind(2, value);
    if (s->step() != SQLITE_DONE)
        return m_db.error(u"cannot update sync metadata"_s);
    return {};
}

SyncResult<void> ReplicaStore::registerTable(const QString &name, const QString &createSql)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"open the replica before registering"_s);
    if (name.isEmpty() || name.startsWith(kMetaPrefix))
        return syncError(SyncError::Code::InvalidArgument,
                         u"table name \"%1\" is reserved or empty"_s.arg(name));
    if (m_tables.contains(name))
        return {};
    QueryResult info;
    if (auto r = m_db.run(u"PRAGMA table_info(%1)"_s.arg(quoted(name)), {}, &info); !r)
        return r.error();
    if (info.rows.isEmpty()) {
        if (createSql.isEmpty())
            return syncError(SyncError::Code::InvalidArgument,
                             u"table \"%1\" does not exist: create it first or pass its CREATE "
                             "TABLE statement"_s.arg(name));
        if (auto r = m_db.exec(createSql); !r)
            return r;
        if (auto r = m_db.run(u"PRAGMA table_info(%1)"_s.arg(quoted(name)), {}, &info); !r)
            return r.error();
        if (info.rows.isEmpty())
            return syncError(SyncError::Code::InvalidArgument,
                             u"the statement given for \"%1\" did not create it"_s.arg(name));
    }
    TableInfo t;
    t.name = name;
    t.nameUtf8 = name.toUtf8();
    QList<std::pair<int, int>> pk; // (position in key, column index)
    for (const QVariantList &row : info.rows) {
        t.columns.append(row.value(1).toString());
        if (row.value(5).toInt() > 0)
            pk.append({row.value(5).toInt(), int(t.columns.size() - 1)});
    }
    if (pk.isEmpty())
        return syncError(SyncError::Code::InvalidArgument,
                         u"table \"%1\" has no PRIMARY KEY: replicated tables need one so a row "
                         "can be matched in every region"_s.arg(name));
    std::sort(pk.begin(), pk.end());
    for (const auto &p : pk)
        t.pkColumns.append(p.second);
    {
        ByteWriter w(&t.headerBytes);
        writeTableHeader(w, t.name, t.columns, t.pkColumns);
    }

    QStringList cols, marks, pkCols, pkWhere, sets;
    for (const QString &c : t.columns) {
        cols.append(quoted(c));
        marks.append(u"?"_s);
    }
    for (int i : t.pkColumns) {
        pkCols.append(quoted(t.columns.at(i)));
        pkWhere.append(quoted(t.columns.at(i)) + u" IS ?"_s);
    }
    for (int i = 0; i < t.columns.size(); ++i) {
        if (!t.pkColumns.contains(i))
            sets.append(u"%1=excluded.%1"_s.arg(quoted(t.columns.at(i))));
    }
    const QString where = pkWhere.join(u" AND "_s);
    t.selectRowSql = u"SELECT %1 FROM %2 WHERE %3"_s.arg(cols.join(u','), quoted(name), where);
    t.deleteSql = u"DELETE FROM %1 WHERE %2"_s.arg(quoted(name), where);
    t.upsertSql = u"INSERT INTO %1(%2) VALUES(%3) ON CONFLICT(%4) DO "_s.arg(quoted(name),
                                                                             cols.join(u','),
                                                                             marks.join(u','),
                                                                             pkCols.join(u','))
                  + (sets.isEmpty() ? u"NOTHING"_s : u"UPDATE SET "_s + sets.join(u','));

    // Rows that existed before registration get metadata (version 0, no origin) so they are
    // part of the digest and any replicated write supersedes them.
    QueryResult counts;
    if (auto r = m_db.run(u"SELECT (SELECT count(*) FROM %1), (SELECT count(*) FROM "
                          "_meridian_rowmeta WHERE tbl = ? AND deleted = 0)"_s.arg(quoted(name)),
                          {name},
                          &counts);
        !r)
        return r.error();
    if (counts.rows.value(0).value(0).toLongLong() != counts.rows.value(0).value(1).toLongLong()) {
        if (auto r = begin(); !r)
            return r;
        auto scan = m_db.prepare(u"SELECT %1 FROM %2"_s.arg(cols.join(u','), quoted(name)));
        if (!scan) {
            rollback();
            return scan.error();
        }
        Digest d = m_digest;
        int added = 0;
        while ((*scan)->step() == SQLITE_ROW) {
            SqlRow row;
            for (int c = 0; c < t.columns.size(); ++c)
                row.append((*scan)->value(c));
            SqlRow pkv;
            for (int i : t.pkColumns)
                pkv.append(row.at(i));
            const QByteArray pkBytes = encodeRow(pkv);
            auto meta = rowMeta(t, pkBytes);
            if (!meta) {
                rollback();
                return meta.error();
            }
            if (meta->exists && !meta->deleted)
                continue;
            RowMeta m;
            m.exists = true;
            rowHash(name, row, &m.hashA, &m.hashB);
            d.a += m.hashA;
            d.b += m.hashB;
            if (auto r = setRowMeta(t, pkBytes, m); !r) {
                rollback();
                return r;
            }
            ++added;
        }
        (*scan)->reset();
        if (auto r = setMeta(u"digest_a"_s, qint64(d.a)); !r) {
            rollback();
            return r;
        }
        if (auto r = setMeta(u"digest_b"_s, qint64(d.b)); !r) {
            rollback();
            return r;
        }
        if (auto r = commit(); !r)
            return r;
        m_digest = d;
        qCInfo(lcStore) << "registered" << name << "with" << added << "pre-existing rows";
    }
    m_tables.insert(name, t);
    m_tableOrder.append(name);
    return {};
}

void ReplicaStore::rowHash(const QString &table, const SqlRow &row, quint64 *a, quint64 *b) const
{
    QByteArray bytes = table.toUtf8();
    bytes.append('\0');
    ByteWriter w(&bytes);
    for (const SqlValue &v : row)
        v.encode(w);
    hash64Pair(bytes.constData(), bytes.size(), 1, 2, a, b);
}

QString ReplicaStore::digest() const
{
    return u"%1%2"_s.arg(m_digest.a, 16, 16, QLatin1Char('0'))
            .arg(m_digest.b, 16, 16, QLatin1Char('0'));
}

SyncResult<QString> ReplicaStore::computeDigest()
{
    Digest d;
    for (const QString &name : m_tableOrder) {
        const TableInfo &t = m_tables[name];
        QStringList cols;
        for (const QString &c : t.columns)
            cols.append(quoted(c));
        auto scan = m_db.prepare(u"SELECT %1 FROM %2"_s.arg(cols.join(u','), quoted(name)));
        if (!scan)
            return scan.error();
        while ((*scan)->step() == SQLITE_ROW) {
            SqlRow row;
            for (int c = 0; c < t.columns.size(); ++c)
                row.append((*scan)->value(c));
            quint64 a = 0, b = 0;
            rowHash(name, row, &a, &b);
            d.a += a;
            d.b += b;
        }
    }
    return u"%1%2"_s.arg(d.a, 16, 16, QLatin1Char('0')).arg(d.b, 16, 16, QLatin1Char('0'));
}

SyncResult<ReplicaStore::RowMeta> ReplicaStore::rowMeta(const TableInfo &t, const QByteArray &pk)
{
    SqliteStatement *s = m_db.cached(
            u"SELECT hlc, origin, seq, deleted, hash_a, hash_b FROM _meridian_rowmeta "
            "WHERE tbl = ? AND pk = ?"_s);
    if (!s)
        return m_db.error(u"rowmeta"_s);
    StatementScope scope(s);
    s->bindTextNoCopy(1, t.nameUtf8);
    s->bindBlobNoCopy(2, pk);
    RowMeta m;
    const int rc = s->step();
    if (rc == SQLITE_ROW) {
        m.exists = true;
        m.hlc = quint64(s->int64(0));
        m.origin = s->text(1);
        m.seq = quint64(s->int64(2));
        m.deleted = s->int64(3) != 0;
        m.hashA = quint64(s->int64(4));
        m.hashB = quint64(s->int64(5));
    } else if (rc != SQLITE_DONE) {
        return m_db.error(u"cannot read row metadata"_s);
    }
    return m;
}

SyncResult<void> ReplicaStore::setRowMeta(const TableInfo &t, const QByteArray &pk, const RowMeta &m)
{
    SqliteStatement *s = m_db.cached(
            u"INSERT OR REPLACE INTO _meridian_rowmeta VALUES(?, ?, ?, ?, ?, ?, ?, ?)"_s);
    if (!s)
        return m_db.error(u"rowmeta"_s);
    StatementScope scope(s);
    s->bindTextNoCopy(1, t.nameUtf8);
    s->bindBlobNoCopy(2, pk);
    s->bind(3, qint64(m.hlc));
    if (m.origin != m_boundOrigin) {
        m_boundOrigin = m.origin;
        m_boundOriginUtf8 = m.origin.toUtf8();
    }
    s->bindTextNoCopy(4, m_boundOriginUtf8);
    s->bind(5, qint64(m.seq));
    s->bind(6, qint64(m.deleted ? 1 : 0));
    s->bind(7, qint64(m.hashA));
    s->bind(8, qint64(m.hashB));
    if (s->step() != SQLITE_DONE)
        return m_db.error(u"cannot write row metadata"_s);
    return {};
}

SyncResult<SqlRow> ReplicaStore::selectRow(const TableInfo &t, const SqlRow &pk, bool *found)
{
    SqliteStatement *s = m_db.cached(t.selectRowSql);
    if (!s)
        return m_db.error(u"select row of %1"_s.arg(t.name));
    StatementScope scope(s);
    for (int i = 0; i < pk.size(); ++i)
        s->bind(i + 1, pk.at(i));
    SqlRow row;
    const int rc = s->step();
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        row.reserve(t.columns.size());
        for (int c = 0; c < t.columns.size(); ++c)
            row.append(s->value(c));
    } else if (rc != SQLITE_DONE) {
        return m_db.error(u"cannot read a row of %1"_s.arg(t.name));
    }
    return row;
}

SyncResult<void> ReplicaStore::upsertRow(const TableInfo &t, const SqlRow &values)
{
    SqliteStatement *s = m_db.cached(t.upsertSql);
    if (!s)
        return m_db.error(u"upsert into %1"_s.arg(t.name));
    StatementScope scope(s);
    for (int i = 0; i < values.size(); ++i)
        s->bindNoCopy(i + 1, values.at(i));
    if (s->step() != SQLITE_DONE)
        return m_db.error(u"cannot apply a row to %1"_s.arg(t.name));
    return {};
}

SyncResult<void> ReplicaStore::deleteRow(const TableInfo &t, const SqlRow &pk)
{
    SqliteStatement *s = m_db.cached(t.deleteSql);
    if (!s)
        return m_db.error(u"delete from %1"_s.arg(t.name));
    StatementScope scope(s);
    for (int i = 0; i < pk.size(); ++i)
        s->bind(i + 1, pk.at(i));
    if (s->step() != SQLITE_DONE)
        return m_db.error(u"cannot delete a row of %1"_s.arg(t.name));
    return {};
}

SyncResult<void> ReplicaStore::appendLog(const LogEntry &e)
{
    SqliteStatement *s = m_db.cached(
            u"INSERT INTO _meridian_log(origin, seq, hlc, schema_version, seen, payload, checksum, "
            "stored_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"_s);
    if (!s)
        return m_db.error(u"log"_s);
    StatementScope scope(s);
    s->bind(1, e.origin);
    s->bind(2, qint64(e.seq));
    s->bind(3, qint64(e.hlc));
    s->bind(4, qint64(e.schemaVersion));
    s->bindBlob(5, LogEntry::encodeCursors(e.seen));
    s->bindBlob(6, e.payload);
    s->bind(7, qint64(e.checksum));
    s->bind(8, m_clock->nowMs());
    if (s->step() != SQLITE_DONE)
        return m_db.error(u"cannot append to the replication log"_s);
    return {};
}

SyncResult<void> ReplicaStore::setCursor(const QString &origin, quint64 seq, quint64 hlc)
{
    SqliteStatement *s = m_db.cached(u"INSERT OR REPLACE INTO _meridian_cursor VALUES(?, ?, ?)"_s);
    if (!s)
        return m_db.error(u"cursor"_s);
    StatementScope scope(s);
    s->bind(1, origin);
    s->bind(2, qint64(seq));
    s->bind(3, qint64(hlc));
    if (s->step() != SQLITE_DONE)
        return m_db.error(u"cannot store the cursor"_s);
    return {};
}

SyncResult<WriteReceipt> ReplicaStore::write(
        const std::function<SyncResult<void>(Transaction &)> &body)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    if (m_inWrite)
        return syncError(SyncError::Code::InvalidArgument,
                         u"write() called from inside a write body: nest the statements instead"_s);
    if (auto r = begin(); !r)
        return r.error();
    m_inWrite = true;
    const auto fail = [this](SyncError e) -> SyncResult<WriteReceipt> {
        m_bodyActive = false;
        rollback();
        m_inWrite = false;
        return e;
    };

    sqlite3_session *rawSession = nullptr;
    if (sqlite3session_create(m_db.handle(), "main", &rawSession) != SQLITE_OK)
        return fail(m_db.error(u"cannot start change capture"_s));
    std::unique_ptr<sqlite3_session, SessionDeleter> session(rawSession);
    for (const QString &name : m_tableOrder) {
        if (sqlite3session_attach(rawSession, name.toUtf8().constData()) != SQLITE_OK)
            return fail(m_db.error(u"cannot capture table %1"_s.arg(name)));
    }

    m_bodyActive = true;
    Transaction tx(&m_db);
    auto bodyResult = body(tx);
    m_bodyActive = false;
    if (!bodyResult)
        return fail(bodyResult.error());
    if (sqlite3_get_autocommit(m_db.handle()))
        return fail(syncError(SyncError::Code::InvalidArgument,
                              u"the write body ended the transaction itself"_s));

    int size = 0;
    void *blob = nullptr;
    if (sqlite3session_changeset(rawSession, &size, &blob) != SQLITE_OK)
        return fail(m_db.error(u"cannot extract the changeset"_s));
    session.reset();
    std::unique_ptr<void, decltype(&sqlite3_free)> blobOwner(blob, &sqlite3_free);
    if (size == 0) {
        if (auto r = commit(); !r)
            return fail(r.error());
        m_inWrite = false;
        return WriteReceipt{};
    }

    const quint64 hlc = m_hlc->tick();
    const quint64 seq = m_cursors.value(m_regionId) + 1;
    // The payload (ChangeSet's encoding, docs/architecture.md) is written straight from the
    // changeset's values: each row is encoded once, and its digest hashes and its metadata key
    // are taken from those bytes. Rows are gathered per table, since the payload gives each
    // table's row count before its rows.
    struct TableRows
    {
        const TableInfo *table = nullptr;
        QByteArray rows;
        quint64 count = 0;
        HashPair prefix{1, 2}; // hash state after "table name, 0x00"
    };
    std::vector<TableRows> tableRows;
    Digest d = m_digest;
    RowMeta m;
    m.exists = true;
    m.hlc = hlc;
    m.origin = m_regionId;
    m.seq = seq;
    QByteArray pkBytes;
    int rowCount = 0;

    sqlite3_changeset_iter *iter = nullptr;
    if (sqlite3changeset_start(&iter, size, blob) != SQLITE_OK)
        return fail(m_db.error(u"cannot read the changeset"_s));
    int rc = SQLITE_OK;
    SyncResult<void> rowError;
    // The changeset groups rows by table: look the table up only when the name changes.
    QByteArray lastTableName;
    TableRows *current = nullptr;
    bool skipTable = false;
    while ((rc = sqlite3changeset_next(iter)) == SQLITE_ROW) {
        const char *tableName = nullptr;
        int nCol = 0, op = 0, indirect = 0;
        sqlite3changeset_op(iter, &tableName, &nCol, &op, &indirect);
        if ((current == nullptr && !skipTable)
            || qstrcmp(tableName, lastTableName.constData()) != 0) {
            lastTableName = tableName;
            const auto tit = m_tables.constFind(QString::fromUtf8(tableName));
            skipTable = tit == m_tables.cend();
            current = nullptr;
            if (!skipTable) {
                for (TableRows &tr : tableRows) {
                    if (tr.table == &*tit)
                        current = &tr;
                }
                if (!current) {
                    TableRows tr;
                    tr.table = &*tit;
                    tr.prefix.add(tit->nameUtf8.constData(), tit->nameUtf8.size() + 1);
                    tableRows.push_back(std::move(tr));
                    current = &tableRows.back();
                }
            }
        }
        if (skipTable)
            continue;
        const TableInfo &t = *current->table;
        pkBytes.resize(0);
        {
            ByteWriter pw(&pkBytes);
            for (int i : t.pkColumns) {
                sqlite3_value *v = nullptr;
                if (op == SQLITE_INSERT)
                    sqlite3changeset_new(iter, i, &v);
                else
                    sqlite3changeset_old(iter, i, &v);
                encodeValue(pw, v);
            }
        }
        // An INSERT in the session means the row was absent before this transaction: at most a
        // tombstone, which adds nothing to the digest, so its metadata need not be read.
        RowMeta previous;
        if (op != SQLITE_INSERT) {
            auto meta = rowMeta(t, pkBytes);
            if (!meta) {
                rowError = meta.error();
                break;
            }
            previous = *meta;
        }
        m.deleted = false;
        m.hashA = 0;
        m.hashB = 0;
        QByteArray &out = current->rows;
        const qsizetype mark = out.size();
        ByteWriter w(&out);
        if (op == SQLITE_DELETE) {
            w.u8(2);
            out.append(pkBytes);
            m.deleted = true;
        } else {
            w.u8(1);
            if (op == SQLITE_INSERT && nCol == t.columns.size()) {
                // The session consolidates a transaction's statements, so an INSERT carries
                // the row's final values: no need to read it back.
                for (int i = 0; i < nCol; ++i) {
                    sqlite3_value *v = nullptr;
                    sqlite3changeset_new(iter, i, &v);
                    encodeValue(w, v);
                }
            } else {
                bool found = false;
                SqlRow pk;
                ByteReader pr(pkBytes);
                for (qsizetype i = 0; i < t.pkColumns.size(); ++i) {
                    SqlValue v;
                    v.decode(pr);
                    pk.append(std::move(v));
                }
                auto row = selectRow(t, pk, &found);
                if (!row) {
                    rowError = row.error();
                    break;
                }
                if (!found) {
                    out.resize(mark);
                    continue; // changed and then removed by a later statement: nothing to ship
                }
                for (const SqlValue &v : *row)
                    v.encode(w);
            }
            HashPair h = current->prefix;
            h.add(out.constData() + mark + 1, out.size() - mark - 1);
            h.result(&m.hashA, &m.hashB);
        }
        if (previous.exists && !previous.deleted) {
            d.a -= previous.hashA;
            d.b -= previous.hashB;
        }
        d.a += m.hashA;
        d.b += m.hashB;
        if (auto r = setRowMeta(t, pkBytes, m); !r) {
            rowError = r;
            break;
        }
        ++current->count;
        ++rowCount;
    }
    sqlite3changeset_finalize(iter);
    if (!rowError)
        return fail(rowError.error());
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return fail(m_db.error(u"cannot iterate the changeset"_s));

    QByteArray payload;
    {
        qsizetype bytes = 16;
        for (const TableRows &tr : tableRows)
            bytes += tr.rows.size() + tr.table->headerBytes.size() + 10;
        payload.reserve(bytes);
        ByteWriter w(&payload);
        w.u8(ChangeSet::kFormat);
        w.varint(quint64(tableRows.size()));
        for (const TableRows &tr : tableRows) {
            payload.append(tr.table->headerBytes);
            w.varint(tr.count);
            payload.append(tr.rows);
        }
    }

    LogEntry e;
    e.origin = m_regionId;
    e.seq = seq;
    e.hlc = hlc;
    e.schemaVersion = m_schemaVersion;
    e.seen = m_cursors;
    e.seen.remove(m_regionId);
    e.payload = std::move(payload);
    e.checksum = e.computeChecksum();
    // The clock is persisted by the cursor row (its hlc); loadState() takes the maximum.
    for (auto r : {appendLog(e),
                   setCursor(m_regionId, seq, hlc),
                   setMeta(u"digest_a"_s, qint64(d.a)),
                   setMeta(u"digest_b"_s, qint64(d.b))}) {
        if (!r)
            return fail(r.error());
    }
    if (auto r = commit(); !r)
        return fail(r.error());
    m_inWrite = false;
    m_cursors[m_regionId] = seq;
    m_cursorHlc[m_regionId] = hlc;
    if (!m_lowWater.contains(m_regionId) || m_lowWater.value(m_regionId) > seq)
        m_lowWater[m_regionId] = seq;
    m_digest = d;
    m_persistedHlc = std::max(m_persistedHlc, hlc);
    return WriteReceipt{seq, hlc, rowCount};
}

SyncResult<bool> ReplicaStore::writerHadSeen(const QString &writerOrigin,
                                             quint64 writerSeq,
                                             const QString &origin,
                                             quint64 seq)
{
    if (writerOrigin == origin)
        return writerSeq >= seq;
    SqliteStatement *s = m_db.cached(
            u"SELECT seen FROM _meridian_log WHERE origin = ? AND seq = ?"_s);
    if (!s)
        return m_db.error(u"log lookup"_s);
    StatementScope scope(s);
    s->bind(1, writerOrigin);
    s->bind(2, qint64(writerSeq));
    const int rc = s->step();
    if (rc != SQLITE_ROW)
        return false; // pruned: count it as a conflict rather than hide one
    const auto seen = LogEntry::decodeCursors(s->blob(0));
    return seen && seen->value(origin) >= seq;
}

QJsonObject ReplicaStore::rowJson(const QStringList &columns, const SqlRow &row) const
{
    QJsonObject o;
    for (int i = 0; i < row.size() && i < columns.size(); ++i)
        o.insert(columns.at(i), row.at(i).toJson());
    return o;
}

QJsonObject ReplicaStore::pkJson(const TableInfo &t, const SqlRow &pk) const
{
    QJsonObject o;
    for (int i = 0; i < pk.size() && i < t.pkColumns.size(); ++i)
        o.insert(t.columns.at(t.pkColumns.at(i)), pk.at(i).toJson());
    return o;
}

SyncResult<void> ReplicaStore::recordConflict(const TableInfo &t,
                                              const SqlRow &pk,
                                              const QString &loser,
                                              quint64 loserHlc,
                                              bool loserDeleted,
                                              const SqlRow &loserRow,
                                              const QString &winner,
                                              quint64 winnerHlc)
{
    SqliteStatement *c = m_db.cached(
            u"INSERT INTO _meridian_conflicts VALUES(?, ?, 1) ON CONFLICT(tbl, region) DO UPDATE "
            "SET count = count + 1"_s);
    if (!c)
        return m_db.error(u"conflict counter"_s);
    {
        StatementScope scope(c);
        c->bind(1, t.name);
        c->bind(2, loser);
        if (c->step() != SQLITE_DONE)
            return m_db.error(u"cannot count a conflict"_s);
    }
    if (m_journalLimit <= 0)
        return {};
    SqliteStatement *j = m_db.cached(
            u"INSERT INTO _meridian_overwritten(at_ms, tbl, pk, loser_origin, loser_hlc, "
            "loser_deleted, loser_row, winner_origin, winner_hlc) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"_s);
    if (!j)
        return m_db.error(u"journal"_s);
    {
        StatementScope scope(j);
        j->bind(1, m_clock->nowMs());
        j->bind(2, t.name);
        j->bind(3, QString::fromUtf8(QJsonDocument(pkJson(t, pk)).toJson(QJsonDocument::Compact)));
        j->bind(4, loser);
        j->bind(5, qint64(loserHlc));
        j->bind(6, qint64(loserDeleted ? 1 : 0));
        j->bind(7,
                QString::fromUtf8(
                        QJsonDocument(rowJson(t.columns, loserRow)).toJson(QJsonDocument::Compact)));
        j->bind(8, winner);
        j->bind(9, qint64(winnerHlc));
        if (j->step() != SQLITE_DONE)
            return m_db.error(u"cannot journal a conflict"_s);
    }
    const qint64 id = sqlite3_last_insert_rowid(m_db.handle());
    if (id > m_journalLimit) {
        SqliteStatement *d = m_db.cached(u"DELETE FROM _meridian_overwritten WHERE id <= ?"_s);
        if (!d)
            return m_db.error(u"journal"_s);
        StatementScope scope(d);
        d->bind(1, id - m_journalLimit);
        if (d->step() != SQLITE_DONE)
            return m_db.error(u"cannot trim the overwritten journal"_s);
    }
    return {};
}

SyncResult<void> ReplicaStore::applyRow(const TableInfo &t,
                                        const TableChanges &tc,
                                        const RowChange &row,
                                        const LogEntry &entry,
                                        Digest *d,
                                        ApplyOutcome *out)
{
    const SqlRow pk = tc.primaryKey(row);
    const QByteArray pkBytes = encodeRow(pk);
    auto metaResult = rowMeta(t, pkBytes);
    if (!metaResult)
        return metaResult.error();
    const RowMeta &meta = *metaResult;
    if (meta.exists && meta.hlc == entry.hlc && meta.origin == entry.origin)
        return {}; // this very version is already here (a snapshot or another path)
    const bool remoteWins = !meta.exists
                            || versionGreater(entry.hlc, entry.origin, meta.hlc, meta.origin);
    if (remoteWins) {
        const bool bothDeletes = meta.exists && meta.deleted && row.deleted;
        bool conflict = false;
        if (meta.exists && !meta.origin.isEmpty() && !bothDeletes) {
            if (meta.origin == entry.origin)
                conflict = false;
            else
                conflict = entry.seen.value(meta.origin) < meta.seq;
        }
        SqlRow before;
        if (conflict && !meta.deleted) {
            bool found = false;
            auto r = selectRow(t, pk, &found);
            if (!r)
                return r.error();
            before = *r;
        }
        RowMeta m;
        m.exists = true;
        m.hlc = entry.hlc;
        m.origin = entry.origin;
        m.seq = entry.seq;
        m.deleted = row.deleted;
        if (row.deleted) {
            if (auto r = deleteRow(t, pk); !r)
                return r;
        } else {
            if (auto r = upsertRow(t, row.values); !r)
                return r;
            if (row.encodedOffset >= 0) {
                // The row's canonical encoding is in the payload: hash it in place.
                HashPair h(1, 2);
                h.add(t.nameUtf8.constData(), t.nameUtf8.size() + 1);
                h.add(entry.payload.constData() + row.encodedOffset, row.encodedSize);
                h.result(&m.hashA, &m.hashB);
            } else {
                rowHash(t.name, row.values, &m.hashA, &m.hashB);
            }
        }
        if (meta.exists && !meta.deleted) {
            d->a -= meta.hashA;
            d->b -= meta.hashB;
        }
        d->a += m.hashA;
        d->b += m.hashB;
        if (auto r = setRowMeta(t, pkBytes, m); !r)
            return r;
        if (conflict) {
            ++out->conflicts;
            return recordConflict(t,
                                  pk,
                                  meta.origin,
                                  meta.hlc,
                                  meta.deleted,
                                  before,
                                  entry.origin,
                                  entry.hlc);
        }
        return {};
    }
    // The local version is newer: the incoming write loses. It is a conflict unless the local
    // version's writer had already seen it (then it was simply superseded).
    if (meta.deleted && row.deleted)
        return {};
    auto seen = writerHadSeen(meta.origin, meta.seq, entry.origin, entry.seq);
    if (!seen)
        return seen.error();
    if (*seen)
        return {};
    ++out->conflicts;
    return recordConflict(t,
                          pk,
                          entry.origin,
                          entry.hlc,
                          row.deleted,
                          row.deleted ? SqlRow{} : row.values,
                          meta.origin,
                          meta.hlc);
}

SyncResult<ApplyOutcome> ReplicaStore::apply(const QList<LogEntry> &entries)
{
    if (!isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    ApplyOutcome out;
    for (const LogEntry &e : entries) {
        if (!e.checksumValid())
            return syncError(SyncError::Code::Checksum,
                             u"log entry %1/%2 failed its checksum; the batch was refused"_s
                                     .arg(e.origin)
                                     .arg(e.seq));
    }
    if (auto r = begin(); !r)
        return r.error();
    CursorVector cursors = m_cursors;
    QHash<QString, quint64> cursorHlc = m_cursorHlc;
    Digest d = m_digest;
    quint64 maxHlc = 0;
    const auto fail = [this](const SyncError &e) -> SyncResult<ApplyOutcome> {
        rollback();
        return e;
    };
    for (const LogEntry &e : entries) {
        const quint64 cursor = cursors.value(e.origin);
        if (e.seq <= cursor) {
            ++out.duplicates;
            continue;
        }
        if (e.seq > cursor + 1) {
            ++out.gaps;
            continue;
        }
        if (e.schemaVersion != m_schemaVersion) {
            out.schemaMismatchOrigin = e.origin;
            out.schemaMismatchDetail = u"entry %1/%2 has schema version %3, this replica %4"_s
                                               .arg(e.origin)
                                               .arg(e.seq)
                                               .arg(e.schemaVersion)
                                               .arg(m_schemaVersion);
            break;
        }
        const auto cs = ChangeSet::decode(e.payload);
        if (!cs)
            return fail(syncError(SyncError::Code::Protocol,
                                  u"log entry %1/%2 has an unreadable payload"_s.arg(e.origin).arg(
                                          e.seq)));
        QString mismatch;
        for (const TableChanges &tc : cs->tables) {
            const auto it = m_tables.constFind(tc.table);
            if (it == m_tables.cend())
                mismatch = u"table \"%1\" is not registered here"_s.arg(tc.table);
            else if (it->columns != tc.columns || it->pkColumns != tc.pkColumns)
                mismatch = u"table \"%1\" has columns (%2) at the origin, (%3) here"_s
                                   .arg(tc.table, tc.columns.join(u','), it->columns.join(u','));
            if (!mismatch.isEmpty())
                break;
        }
        if (!mismatch.isEmpty()) {
            out.schemaMismatchOrigin = e.origin;
            out.schemaMismatchDetail = mismatch;
            break;
        }
        for (const TableChanges &tc : cs->tables) {
            const TableInfo &t = m_tables[tc.table];
            for (const RowChange &row : tc.rows) {
                if (auto r = applyRow(t, tc, row, e, &d, &out); !r)
                    return fail(r.error());
                ++out.rows;
            }
        }
        if (auto r = appendLog(e); !r)
            return fail(r.error());
        if (auto r = setCursor(e.origin, e.seq, e.hlc); !r)
            return fail(r.error());
        cursors[e.origin] = e.seq;
        cursorHlc[e.origin] = e.hlc;
        maxHlc = std::max(maxHlc, e.hlc);
        ++out.applied;
        out.entries.append({e.origin, e.seq, e.hlc});
    }
    if (out.applied == 0) {
        rollback();
        return out;
    }
    const quint64 hlc = m_hlc->receive(maxHlc);
    for (auto r : {setMeta(u"hlc"_s, qint64(hlc)),
                   setMeta(u"digest_a"_s, qint64(d.a)),
                   setMeta(u"digest_b"_s, qint64(d.b))}) {
        if (!r)
            return fail(r.error());
    }
    if (auto r = commit(); !r)
        return r.error();
    for (const auto &a : out.entries)
        m_lowWater[a.origin] = m_lowWater.contains(a.origin)
                                       ? std::min(m_lowWater.value(a.origin), a.seq)
                                       : a.seq;
    m_cursors = cursors;
    m_cursorHlc = cursorHlc;
    m_digest = d;
    m_persistedHlc = std::max(m_persistedHlc, hlc);
    return out;
}

SyncResult<QueryResult> ReplicaStore::query(const QString &sql, const QVariantList &params)
{
    if (!m_readDb.isOpen())
        return syncError(SyncError::Code::NotOpen, u"the replica is not open"_s);
    QueryResult rows;
    auto r = m_readDb.run(sql, params, &rows);
    if (!r)
        return r.error();
    return rows;
}

SyncResult<QList<LogEntry>> ReplicaStore::readLog(const QString &origin,
                                                  quint64 afterSeq,
                                                  int maxEntries,
                                                  qint64 maxBytes)
{
    SqliteStatement *s = m_db.cached(
            u"SELECT seq, hlc, schema_version, seen, payload, checksum FROM _meridian_log "
            "WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?"_s);
    if (!s)
        return m_db.error(u"read log"_s);
    StatementScope scope(s);
    s->bind(1, origin);
    s->bind(2, qint64(afterSeq));
    s->bind(3, qint64(maxEntries));
    QList<LogEntry> out;
    qint64 bytes = 0;
    int rc = SQLITE_OK;
    while ((rc = s->step()) == SQLITE_ROW) {
        LogEntry e;
        e.origin = origin;
        e.seq = quint64(s->int64(0));
        e.hlc = quint64(s->int64(1));
        e.schemaVersion = int(s->int64(2));
        e.seen = LogEntry::decodeCursors(s->blob(3)).value_or(CursorVector{});
        e.payload = s->blob(4);
        e.checksum = quint32(s->int64(5));
        if (!out.isEmpty()
            && (e.seq != out.last().seq + 1 || bytes + e.approximateSize() > maxBytes))
            break;
        if (out.isEmpty() && e.seq != afterSeq + 1)
            break; // the entry after the cursor was pruned: the reader needs a resync
        bytes += e.approximateSize();
        out.append(std::move(e));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return m_db.error(u"cannot read the replication log"_s);
    return out;
}

SyncResult<QList<OverwrittenCounter>> ReplicaStore::overwrittenCounters()
{
    QueryResult rows;
    if (auto r = m_db.run(u"SELECT tbl, region, count FROM _meridian_conflicts ORDER BY tbl, "
                          "region"_s,
                          {},
                          &rows);
        !r)
        return r.error();
    QList<OverwrittenCounter> out;
    for (const QVariantList &row : rows.rows)
        out.append({row.value(0).toString(), row.value(1).toString(), row.value(2).toLongLong()});
    return out;
}

SyncResult<QList<OverwrittenWrite>> ReplicaStore::overwrittenJournal(int limit)
{
    QueryResult rows;
    if (auto r = m_db.run(u"SELECT id, at_ms, tbl, pk, loser_origin, loser_hlc, loser_deleted, "
                          "loser_row, winner_origin, winner_hlc FROM _meridian_overwritten "
                          "ORDER BY id DESC LIMIT ?"_s,
                          {std::max(0, limit)},
                          &rows);
        !r)
        return r.error();
    QList<OverwrittenWrite> out;
    for (const QVariantList &row : rows.rows) {
        OverwrittenWrite w;
        w.id = row.value(0).toLongLong();
        w.atMs = row.value(1).toLongLong();
        w.table = row.value(2).toString();
        w.primaryKey = QJsonDocument::fromJson(row.value(3).toString().toUtf8()).object();
        w.loserOrigin = row.value(4).toString();
        w.loserHlc = quint64(row.value(5).toLongLong());
        w.loserDeleted = row.value(6).toInt() != 0;
        w.loserRow = QJsonDocument::fromJson(row.value(7).toString().toUtf8()).object();
        w.winnerOrigin = row.value(8).toString();
        w.winnerHlc = quint64(row.value(9).toLongLong());
        out.append(w);
    }
    return out;
}

SyncResult<void> ReplicaStore::persistHlc()
{
    const quint64 hlc = m_hlc->current();
    if (hlc <= m_persistedHlc)
        return {};
    if (auto r = setMeta(u"hlc"_s, qint64(hlc)); !r)
        return r;
    m_persistedHlc = hlc;
    return {};
}

SyncResult<int> ReplicaStore::prune(const QMap<QString, CursorVector> &peerAcks,
                                    const QStringList &peers,
                                    qint64 minRetentionMs,
                                    qint64 maxRetentionMs)
{
    const qint64 now = m_clock->nowMs();
    if (auto r = begin(); !r)
        return r.error();
    qint64 removed = 0;
    for (auto it = m_cursors.cbegin(); it != m_cursors.cend(); ++it) {
        const QString &origin = it.key();
        quint64 safe = it.value();
        for (const QString &p : peers) {
            if (p == origin)
                continue;
            safe = std::min(safe, peerAcks.value(p).value(origin));
        }
        if (safe == 0)
            continue;
        auto r = m_db.run(u"DELETE FROM _meridian_log WHERE origin = ? AND seq <= ? AND "
                          "stored_ms <= ?"_s,
                          {origin, qint64(safe), now - minRetentionMs},
                          nullptr);
        if (!r) {
            rollback();
            return r.error();
        }
        removed += *r;
    }
    if (maxRetentionMs > 0) {
        auto r = m_db.run(u"DELETE FROM _meridian_log WHERE stored_ms < ?"_s,
                          {now - maxRetentionMs},
                          nullptr);
        if (!r) {
            rollback();
            return r.error();
        }
        if (*r > 0)
            qCWarning(lcStore) << "pruned" << *r
                               << "log entries past the maximum retention; peers that had not "
                                  "applied them need a resync";
        removed += *r;
    }
    if (auto r = commit(); !r)
        return r.error();
    if (removed > 0) {
        if (auto r = refreshLowWater(); !r)
            return r.error();
    }
    return int(removed);
}

SyncResult<int> ReplicaStore::collectTombstones(quint64 belowHlc)
{
    auto r = m_db.run(u"DELETE FROM _meridian_rowmeta WHERE deleted = 1 AND hlc < ?"_s,
                      {qint64(belowHlc)},
                      nullptr);
    if (!r)
        return r.error();
    return int(*r);
}

QString ReplicaStore::vacuumInto(const QString &database, const QString &path)
{
    // A connection of its own, so any thread may call this; VACUUM INTO reads one consistent
    // snapshot (a read transaction) while the replica goes on writing through WAL.
    SqliteDb db;
    if (auto r = db.open(database, true); !r)
        return r.error().message;
    auto r = db.run(u"VACUUM INTO ?"_s, {path}, nullptr);
    return r ? QString() : r.error().message;
}

SyncResult<void> ReplicaStore::savePeerAcks(const QMap<QString, CursorVector> &acks)
{
    if (auto r = begin(); !r)
        return r;
    for (auto p = acks.cbegin(); p != acks.cend(); ++p) {
        for (auto o = p->cbegin(); o != p->cend(); ++o) {
            auto r = m_db.run(u"INSERT OR REPLACE INTO _meridian_peer_ack VALUES(?, ?, ?)"_s,
                              {p.key(), o.key(), qint64(o.value())},
                              nullptr);
            if (!r) {
                rollback();
                return r.error();
            }
        }
    }
    return commit();
}

SyncResult<QMap<QString, CursorVector>> ReplicaStore::loadPeerAcks()
{
    QueryResult rows;
    if (auto r = m_db.run(u"SELECT peer, origin, seq FROM _meridian_peer_ack"_s, {}, &rows); !r)
        return r.error();
    QMap<QString, CursorVector> out;
    for (const QVariantList &row : rows.rows)
        out[row.value(0).toString()].insert(row.value(1).toString(),
                                            quint64(row.value(2).toLongLong()));
    return out;
}

} // namespace Meridian::Internal
