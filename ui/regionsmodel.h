#pragma once

#include "core/control/apitypes.h"

#include <QAbstractTableModel>
#include <QList>

namespace Meridian {

// The regions table: one row per region of the cluster view. setRegions() updates rows in
// place (rows of vanished regions are removed, new ones appended), so views keep their
// selection and scroll position across the once-a-second refresh. Sort with SortRole (numbers
// as numbers) through a QSortFilterProxyModel.
class RegionsModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RegionsModel)

public:
    enum Column {
        IdColumn,
        NameColumn,
        StateColumn,
        HealthColumn,
        ShareColumn,
        RpsColumn,
        P50Column,
        P99Column,
        InFlightColumn,
        LagColumn,
        LinkStateColumn,
        ResyncColumn,
        ColumnCount
    };
    enum Role {
        RegionIdRole = Qt::UserRole, // QString, every column
        SortRole,                    // raw value for sorting
        ReachableRole,               // bool
    };

    explicit RegionsModel(QObject *parent = nullptr);

    void setRegions(const QList<Api::RegionStatus> &regions);
    const QList<Api::RegionStatus> &regions() const { return m_regions; }
    // Row of region `id`, or -1.
    int rowOf(const QString &id) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section,
                        Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QVariant display(const Api::RegionStatus &region, int column) const;
    QVariant sortValue(const Api::RegionStatus &region, int column) const;

    QList<Api::RegionStatus> m_regions;
};

} // namespace Meridian
