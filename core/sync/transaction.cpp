#include "core/sync/transaction.h"

#include "core/sync/sqlitedb.h"

namespace Meridian {

SyncResult<qint64> Transaction::exec(const QString &sql, const QVariantList &params)
{
    return m_db->runCached(sql, params, nullptr);
}

SyncResult<QueryResult> Transaction::query(const QString &sql, const QVariantList &params)
{
    QueryResult rows;
    auto r = m_db->runCached(sql, params, &rows);
    if (!r)
        return r.error();
    return rows;
}

} // namespace Meridian
