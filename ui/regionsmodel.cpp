#include "ui/regionsmodel.h"

#include "ui/regionstyle.h"

#include <QColor>
#include <QFont>
#include <QSet>

namespace Meridian {

RegionsModel::RegionsModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void RegionsModel::setRegions(const QList<Api::RegionStatus> &regions)
{
    // Remove vanished regions, update kept ones in place, append new ones.
    QSet<QString> nextIds;
    for (const Api::RegionStatus &r : regions)
        nextIds.insert(r.id);
    for (int row = int(m_regions.size()) - 1; row >= 0; --row) {
        if (!nextIds.contains(m_regions.at(row).id)) {
            beginRemoveRows({}, row, row);
            m_regions.removeAt(row);
            endRemoveRows();
        }
    }
    QList<Api::RegionStatus> added;
    for (const Api::RegionStatus &r : regions) {
        const int row = rowOf(r.id);
        if (row < 0)
            added.append(r);
        else
            m_regions[row] = r;
    }
    if (!m_regions.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_regions.size()) - 1, ColumnCount - 1));
    if (!added.isEmpty()) {
        const int first = int(m_regions.size());
        beginInsertRows({}, first, first + int(added.size()) - 1);
        m_regions.append(added);
        endInsertRows();
    }
}

int RegionsModel::rowOf(const QString &id) const
{
    for (qsizetype i = 0; i < m_regions.size(); ++i) {
        if (m_regions.at(i).id == id)
            return int(i);
    }
    return -1;
}

int RegionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_regions.size());
}

int RegionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RegionsModel::display(const Api::RegionStatus &r, int column) const
{
    switch (column) {
    case IdColumn:
        return r.primary ? tr("%1 (primary)").arg(r.id) : r.id;
    case NameColumn:
        return r.name;
    case StateColumn:
        return r.state;
    case HealthColumn:
        return RegionStyle::healthText(r);
    case ShareColumn:
        return RegionStyle::formatShare(r.trafficShare);
    case RpsColumn:
        return RegionStyle::formatRate(r.rps);
    case P50Column:
        return RegionStyle::formatMs(r.p50Ms);
    case P99Column:
        return RegionStyle::formatMs(r.p99Ms);
    case InFlightColumn:
        return QString::number(r.inFlight);
    case LagColumn:
        return RegionStyle::formatLag(r.worstLagS);
    case LinkStateColumn:
        return r.worstLinkState.isEmpty() ? tr("–") : r.worstLinkState;
    case ResyncColumn:
        return RegionStyle::resyncText(r);
    default:
        return {};
    }
}

QVariant RegionsModel::sortValue(const Api::RegionStatus &r, int column) const
{
    switch (column) {
    case IdColumn:
        return r.id;
    case NameColumn:
        return r.name;
    case StateColumn:
        return r.state;
    case HealthColumn:
        return RegionStyle::healthText(r);
    case ShareColumn:
        return r.trafficShare;
    case RpsColumn:
        return r.rps;
    case P50Column:
        return r.p50Ms;
    case P99Column:
        return r.p99Ms;
    case InFlightColumn:
        return r.inFlight;
    case LagColumn:
        return r.worstLagS;
    case LinkStateColumn:
        return RegionStyle::linkStateSeverity(r.worstLinkState);
    case ResyncColumn:
        return RegionStyle::resyncText(r);
    default:
        return {};
    }
}

QVariant RegionsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Api::RegionStatus &r = m_regions.at(index.row());
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return display(r, column);
    case Qt::ToolTipRole:
        return RegionStyle::regionToolTip(r);
    case Qt::DecorationRole:
        if (column == IdColumn)
            return RegionStyle::regionColor(r);
        return {};
    case Qt::ForegroundRole:
        if (!r.reachable)
            return QColor(Qt::gray);
        if (column == HealthColumn && r.health == u"unhealthy")
            return RegionStyle::unhealthy();
        if (column == LagColumn && r.worstLagS >= RegionStyle::kLagBadS)
            return RegionStyle::unhealthy();
        return {};
    case Qt::FontRole:
        if (!r.reachable && column == HealthColumn) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    case Qt::TextAlignmentRole:
        if (column >= ShareColumn && column <= LagColumn)
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return {};
    case RegionIdRole:
        return r.id;
    case SortRole:
        return sortValue(r, column);
    case ReachableRole:
        return r.reachable;
    default:
        return {};
    }
}

QVariant RegionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return {};
    if (role == Qt::DisplayRole) {
        static const char *const names[ColumnCount] = {QT_TR_NOOP("Region"),
                                                       QT_TR_NOOP("Name"),
                                                       QT_TR_NOOP("State"),
                                                       QT_TR_NOOP("Health"),
                                                       QT_TR_NOOP("Share"),
                                                       QT_TR_NOOP("Req/s"),
                                                       QT_TR_NOOP("p50"),
                                                       QT_TR_NOOP("p99"),
                                                       QT_TR_NOOP("In flight"),
                                                       QT_TR_NOOP("Worst lag"),
                                                       QT_TR_NOOP("Link state"),
                                                       QT_TR_NOOP("Resync")};
        return tr(names[section]);
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case ShareColumn:
            return tr("Expected share of the traffic the balancer sends to the region");
        case LagColumn:
            return tr("Worst inbound replication lag (seconds behind) of the region");
        case LinkStateColumn:
            return tr("Worst state among the region's inbound replication links");
        default:
            return {};
        }
    }
    return {};
}

} // namespace Meridian
