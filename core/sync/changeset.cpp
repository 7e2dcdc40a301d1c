#include "core/sync/changeset.h"

#include "core/sync/bytecodec.h"

namespace Meridian::Internal {

SqlRow TableChanges::primaryKey(const RowChange &row) const
{
    if (row.deleted)
        return row.values;
    SqlRow pk;
    pk.reserve(pkColumns.size());
    for (int i : pkColumns)
        pk.append(row.values.value(i));
    return pk;
}

QByteArray ChangeSet::encode() const
{
    QByteArray out;
    ByteWriter w(&out);
    w.u8(kFormat);
    w.varint(quint64(tables.size()));
    for (const TableChanges &t : tables) {
        writeTableHeader(w, t.table, t.columns, t.pkColumns);
        w.varint(quint64(t.rows.size()));
        for (const RowChange &r : t.rows) {
            w.u8(r.deleted ? 2 : 1);
            for (const SqlValue &v : r.values)
                v.encode(w);
        }
    }
    return out;
}

void writeTableHeader(ByteWriter &w,
                      const QString &table,
                      const QStringList &columns,
                      const QList<int> &pkColumns)
{
    w.string(table);
    w.varint(quint64(columns.size()));
    for (const QString &c : columns)
        w.string(c);
    w.varint(quint64(pkColumns.size()));
    for (int i : pkColumns)
        w.varint(quint64(i));
}

std::optional<ChangeSet> ChangeSet::decode(const QByteArray &payload)
{
    ByteReader r(payload);
    quint8 format = 0;
    quint64 nTables = 0;
    if (!r.u8(&format) || format != kFormat || !r.varint(&nTables))
        return std::nullopt;
    ChangeSet cs;
    for (quint64 ti = 0; ti < nTables; ++ti) {
        TableChanges t;
        quint64 nCols = 0, nPk = 0, nRows = 0;
        if (!r.string(&t.table) || !r.varint(&nCols) || nCols > 2000)
            return std::nullopt;
        for (quint64 i = 0; i < nCols; ++i) {
            QString c;
            if (!r.string(&c))
                return std::nullopt;
            t.columns.append(c);
        }
        if (!r.varint(&nPk) || nPk == 0 || nPk > nCols)
            return std::nullopt;
        for (quint64 i = 0; i < nPk; ++i) {
            quint64 idx = 0;
            if (!r.varint(&idx) || idx >= nCols)
                return std::nullopt;
            t.pkColumns.append(int(idx));
        }
        if (!r.varint(&nRows) || nRows > quint64(r.remaining()))
            return std::nullopt;
        t.rows.reserve(qsizetype(nRows));
        for (quint64 i = 0; i < nRows; ++i) {
            quint8 op = 0;
            if (!r.u8(&op) || (op != 1 && op != 2))
                return std::nullopt;
            RowChange rc;
            rc.deleted = op == 2;
            const quint64 n = rc.deleted ? nPk : nCols;
            rc.values.resize(qsizetype(n));
            const char *start = r.position();
            for (quint64 k = 0; k < n; ++k) {
                if (!rc.values[qsizetype(k)].decode(r))
                    return std::nullopt;
            }
            rc.encodedOffset = start - payload.constData();
            rc.encodedSize = r.position() - start;
            t.rows.append(std::move(rc));
        }
        cs.tables.append(std::move(t));
    }
    if (!r.atEnd())
        return std::nullopt;
    return cs;
}

int ChangeSet::rowCount() const
{
    int n = 0;
    for (const TableChanges &t : tables)
        n += int(t.rows.size());
    return n;
}

} // namespace Meridian::Internal
