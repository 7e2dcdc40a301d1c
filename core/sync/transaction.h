#pragma once

#include "core/sync/syncresult.h"
#include "core/sync/synctypes.h"

#include <QVariantList>

namespace Meridian {

namespace Internal {
class ReplicaStore;
class SqliteDb;
} // namespace Internal

// The open write transaction handed to the body of Replica::write(). Statements run on the
// replica's write connection; changes to registered tables are captured when the body returns
// success and committed together with their log entry. BEGIN/COMMIT, DDL, ATTACH and writes to
// the replica's own `_meridian_*` tables are refused.
class Transaction
{
public:
    SyncResult<qint64> exec(const QString &sql, const QVariantList &params = {});
    SyncResult<QueryResult> query(const QString &sql, const QVariantList &params = {});

private:
    friend class Internal::ReplicaStore;
    explicit Transaction(Internal::SqliteDb *db)
        : m_db(db)
    {}
    Internal::SqliteDb *m_db;
};

} // namespace Meridian
