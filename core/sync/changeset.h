#pragma once

#include "core/sync/sqlvalue.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace Meridian::Internal {

// The payload of a log entry: for each table, the full after-image of every upserted row (in
// table column order) or the primary key of every deleted row. Full rows, not SQLite's partial
// UPDATE images, because last-writer-wins must replace whole rows to converge.
struct RowChange
{
    bool deleted = false;
    SqlRow values;
    // Set by ChangeSet::decode(): where the encodings of `values` sit in the payload.
    qsizetype encodedOffset = -1;
    qsizetype encodedSize = 0;
};

struct TableChanges
{
    QString table;
    QStringList columns;
    QList<int> pkColumns;
    QList<RowChange> rows;

    SqlRow primaryKey(const RowChange &row) const;
};

class ByteWriter;

// A table's header in a payload: its name, columns, and the primary key's column indexes.
void writeTableHeader(ByteWriter &w,
                      const QString &table,
                      const QStringList &columns,
                      const QList<int> &pkColumns);

struct ChangeSet
{
    static constexpr quint8 kFormat = 1;
    QList<TableChanges> tables;

    QByteArray encode() const;
    static std::optional<ChangeSet> decode(const QByteArray &payload);
    int rowCount() const;
};

} // namespace Meridian::Internal
