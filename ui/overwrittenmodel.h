#pragma once

// OverwrittenModel: the overwritten journal of one region (GET /v1/regions/{id}/overwritten),
// one row per write that lost a last-writer-wins conflict there: when it was seen, the row's
// table and key, the losing write (origin, time, values or a delete) and the write that won.

#include "core/control/apitypes.h"

#include <QAbstractTableModel>

namespace Meridian {

class OverwrittenModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(OverwrittenModel)

public:
    enum Column {
        SeenColumn,
        TableColumn,
        KeyColumn,
        LoserColumn,
        LosingValuesColumn,
        WinnerColumn,
        ColumnCount
    };
    enum Role { SortRole = Qt::UserRole };

    explicit OverwrittenModel(QObject *parent = nullptr);

    void setEntries(const QString &region, const QList<Api::OverwrittenEntry> &entries);
    const QString &region() const { return m_region; }
    const QList<Api::OverwrittenEntry> &entries() const { return m_entries; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // "eu-west @ 10:45:55.330" (the HLC's wall-clock part, to the millisecond).
    static QString describe(const Api::RowVersion &version);
    // {"key":"k"} as `key=k`; several columns separated by commas.
    static QString describeValues(const QJsonObject &values);

private:
    QString m_region;
    QList<Api::OverwrittenEntry> m_entries;
};

} // namespace Meridian
