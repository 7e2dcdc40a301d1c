#pragma once

// LinkTableModel: one row per replication link (origin → replica) with its state, backlog, lag,
// apply rate, RTT and last contact; fed whole lists of Api::LinkStatus (ClusterView::links).

#include "core/control/apitypes.h"

#include <QAbstractTableModel>

namespace Meridian {

class LinkTableModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LinkTableModel)

public:
    enum Column {
        OriginColumn,
        ReplicaColumn,
        StateColumn,
        SecondsBehindColumn,
        EntriesBehindColumn,
        ApplyRateColumn,
        RttColumn,
        LastContactColumn,
        ColumnCount
    };
    enum Role { SortRole = Qt::UserRole, StateRole };

    explicit LinkTableModel(QObject *parent = nullptr);

    void setLinks(const QList<Api::LinkStatus> &links);
    const QList<Api::LinkStatus> &links() const { return m_links; }
    // A colour for a link state (green caught_up, amber lagging, red for the rest).
    static QColor stateColor(const QString &state);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QList<Api::LinkStatus> m_links;
};

} // namespace Meridian
