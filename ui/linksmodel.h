#pragma once

#include "core/control/apitypes.h"

#include <QAbstractTableModel>
#include <QList>

namespace Meridian {

// Replication links (origin → replica) of the cluster view, for the links table.
class LinksModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LinksModel)

public:
    enum Column {
        OriginColumn,
        ReplicaColumn,
        StateColumn,
        RttColumn,
        EntriesBehindColumn,
        SecondsBehindColumn,
        ApplyRateColumn,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole,
        OriginRole,
        ReplicaRole,
    };

    explicit LinksModel(QObject *parent = nullptr);

    void setLinks(const QList<Api::LinkStatus> &links);
    const QList<Api::LinkStatus> &links() const { return m_links; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section,
                        Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QList<Api::LinkStatus> m_links;
};

} // namespace Meridian
