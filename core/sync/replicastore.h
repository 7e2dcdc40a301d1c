#pragma once

#include "core/sync/logentry.h"
#include "core/sync/sqlitedb.h"
#include "core/sync/syncconfig.h"
#include "core/sync/syncresult.h"
#include "core/sync/synctypes.h"

#include <QHash>
#include <QMap>
#include <QStringList>

#include <functional>

namespace Meridian {

class HybridLogicalClock;
class SyncClock;
class Transaction;

namespace Internal {

struct TableChanges;
struct RowChange;

// What one applied batch did.
struct ApplyOutcome
{
    int applied = 0;    // entries applied now
    int duplicates = 0; // entries already applied (skipped)
    int gaps = 0;       // entries ahead of the cursor (skipped; resent later)
    int rows = 0;
    int conflicts = 0;
    QString schemaMismatchOrigin; // set when an entry had another schema version or table shape
    QString schemaMismatchDetail;
    struct Applied
    {
        QString origin;
        quint64 seq;
        quint64 hlc;
    };
    QList<Applied> entries;
};

// The storage half of a replica: the SQLite file with the replicated tables and the sync
// metadata (`_meridian_*` tables), change capture with the session extension, last-writer-wins
// apply, the incremental digest, the overwritten journal, retention. Owns one write and one
// read connection; used from one thread.
class ReplicaStore
{
public:
    ReplicaStore(QString regionId, HybridLogicalClock *hlc, const SyncClock *clock);
    ~ReplicaStore();

    SyncResult<void> open(const QString &path,
                          Durability durability,
                          int schemaVersion,
                          int journalLimit);
    void close();
    bool isOpen() const { return m_db.isOpen(); }
    void setBusyTimeout(int ms) { m_db.setBusyTimeout(ms); }
    QString path() const { return m_path; }

    SyncResult<void> registerTable(const QString &name, const QString &createSql);
    QStringList tables() const { return m_tableOrder; }

    SyncResult<WriteReceipt> write(const std::function<SyncResult<void>(Transaction &)> &body);
    SyncResult<ApplyOutcome> apply(const QList<LogEntry> &entries);
    SyncResult<QueryResult> query(const QString &sql, const QVariantList &params);
    SyncResult<QList<LogEntry>> readLog(const QString &origin,
                                        quint64 afterSeq,
                                        int maxEntries,
                                        qint64 maxBytes);

    const CursorVector &cursors() const { return m_cursors; }
    // origin -> first sequence number still in the log (cursor + 1 when none is kept)
    const CursorVector &lowWater() const { return m_lowWater; }
    quint64 persistedHlc() const { return m_persistedHlc; }
    int schemaVersion() const { return m_schemaVersion; }

    QString digest() const;
    SyncResult<QString> computeDigest(); // full scan of the replicated tables

    SyncResult<QList<OverwrittenCounter>> overwrittenCounters();
    SyncResult<QList<OverwrittenWrite>> overwrittenJournal(int limit);

    SyncResult<void> persistHlc();
    SyncResult<int> prune(const QMap<QString, CursorVector> &peerAcks,
                          const QStringList &peers,
                          qint64 minRetentionMs,
                          qint64 maxRetentionMs);
    SyncResult<int> collectTombstones(quint64 belowHlc);
    SyncResult<void> savePeerAcks(const QMap<QString, CursorVector> &acks);
    SyncResult<QMap<QString, CursorVector>> loadPeerAcks();
    SqliteDb &writeDb() { return m_db; }
    // A consistent copy of `database` at `path` (VACUUM INTO); thread-safe. Returns an error or "".
    static QString vacuumInto(const QString &database, const QString &path);

private:
    struct TableInfo
    {
        QString name;
        QByteArray nameUtf8;
        QByteArray headerBytes; // the table's header in a payload (name, columns, key)
        QStringList columns;
        QList<int> pkColumns;
        QString selectRowSql;
        QString upsertSql;
        QString deleteSql;
    };
    struct RowMeta
    {
        bool exists = false;
        quint64 hlc = 0;
        QString origin;
        quint64 seq = 0;
        bool deleted = false;
        quint64 hashA = 0;
        quint64 hashB = 0;
    };
    struct Digest
    {
        quint64 a = 0;
        quint64 b = 0;
    };

    SyncResult<void> createMetadata();
    SyncResult<void> loadState();
    SyncResult<void> step(const QString &sql, const QString &what);
    SyncResult<void> begin();
    void rollback();
    SyncResult<void> commit();
    SyncResult<RowMeta> rowMeta(const TableInfo &t, const QByteArray &pk);
    SyncResult<void> setRowMeta(const TableInfo &t, const QByteArray &pk, const RowMeta &m);
    SyncResult<SqlRow> selectRow(const TableInfo &t, const SqlRow &pk, bool *found);
    SyncResult<void> upsertRow(const TableInfo &t, const SqlRow &values);
    SyncResult<void> deleteRow(const TableInfo &t, const SqlRow &pk);
    SyncResult<void> applyRow(const TableInfo &t,
                              const TableChanges &tc,
                              const RowChange &row,
                              const LogEntry &entry,
                              Digest *digest,
                              ApplyOutcome *out);
    SyncResult<bool> writerHadSeen(const QString &writerOrigin,
                                   quint64 writerSeq,
                                   const QString &origin,
                                   quint64 seq);
    SyncResult<void> recordConflict(const TableInfo &t,
                                    const SqlRow &pk,
                                    const QString &loser,
                                    quint64 loserHlc,
                                    bool loserDeleted,
                                    const SqlRow &loserRow,
                                    const QString &winner,
                                    quint64 winnerHlc);
    SyncResult<void> appendLog(const LogEntry &e);
    SyncResult<void> setCursor(const QString &origin, quint64 seq, quint64 hlc);
    SyncResult<void> setMeta(const QString &key, qint64 value);
    void rowHash(const QString &table, const SqlRow &row, quint64 *a, quint64 *b) const;
    QJsonObject rowJson(const QStringList &columns, const SqlRow &row) const;
    QJsonObject pkJson(const TableInfo &t, const SqlRow &pk) const;
    SyncResult<void> refreshLowWater();

    QString m_regionId;
    HybridLogicalClock *m_hlc;
    const SyncClock *m_clock;
    QString m_path;
    SqliteDb m_db;
    SqliteDb m_readDb;
    int m_schemaVersion = 0;
    int m_journalLimit = 0;
    QHash<QString, TableInfo> m_tables;
    QStringList m_tableOrder;
    CursorVector m_cursors;
    QHash<QString, quint64> m_cursorHlc;
    CursorVector m_lowWater;
    Digest m_digest;
    quint64 m_persistedHlc = 0;
    QString m_boundOrigin; // the origin last bound by setRowMeta(), and its UTF-8
    QByteArray m_boundOriginUtf8;
    bool m_inWrite = false;
    bool m_bodyActive = false; // read by the SQLite authorizer (see authorizer())
};

} // namespace Internal
} // namespace Meridian
