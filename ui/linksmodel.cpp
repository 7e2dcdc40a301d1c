#include "ui/linksmodel.h"

#include "ui/regionstyle.h"

#include <QHash>
#include <QSet>

namespace Meridian {

LinksModel::LinksModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void LinksModel::setLinks(const QList<Api::LinkStatus> &links)
{
    const auto key = [](const Api::LinkStatus &l) { return l.origin + QChar(u'\n') + l.replica; };
    QSet<QString> nextKeys;
    for (const Api::LinkStatus &l : links)
        nextKeys.insert(key(l));
    for (int row = int(m_links.size()) - 1; row >= 0; --row) {
        if (!nextKeys.contains(key(m_links.at(row)))) {
            beginRemoveRows({}, row, row);
            m_links.removeAt(row);
            endRemoveRows();
        }
    }
    QHash<QString, int> rows;
    for (int i = 0; i < int(m_links.size()); ++i)
        rows.insert(key(m_links.at(i)), i);
    QList<Api::LinkStatus> added;
    for (const Api::LinkStatus &l : links) {
        const auto it = rows.constFind(key(l));
        if (it == rows.constEnd())
            added.append(l);
        else
            m_links[*it] = l;
    }
    if (!m_links.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_links.size()) - 1, ColumnCount - 1));
    if (!added.isEmpty()) {
        const int first = int(m_links.size());
        beginInsertRows({}, first, first + int(added.size()) - 1);
        m_links.append(added);
        endInsertRows();
    }
}

int LinksModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_links.size());
}

int LinksModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LinksModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Api::LinkStatus &l = m_links.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case OriginColumn:
            return l.origin;
        case ReplicaColumn:
            return l.replica;
        case StateColumn:
            return l.state;
        case RttColumn:
            return l.rttMs > 0 ? RegionStyle::formatMs(l.rttMs) : tr("–");
        case EntriesBehindColumn:
            return QString::number(l.entriesBehind);
        case SecondsBehindColumn:
            return RegionStyle::formatLag(l.secondsBehind);
        case ApplyRateColumn:
            return tr("%1/s").arg(RegionStyle::formatRate(l.applyRate));
        default:
            return {};
        }
    case Qt::DecorationRole:
        if (index.column() == StateColumn)
            return RegionStyle::lagColor(l.secondsBehind, l.state);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() >= RttColumn)
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return {};
    case SortRole:
        switch (index.column()) {
        case OriginColumn:
            return l.origin;
        case ReplicaColumn:
            return l.replica;
        case StateColumn:
            return RegionStyle::linkStateSeverity(l.state);
        case RttColumn:
            return l.rttMs;
        case EntriesBehindColumn:
            return l.entriesBehind;
        case SecondsBehindColumn:
            return l.secondsBehind;
        case ApplyRateColumn:
            return l.applyRate;
        default:
            return {};
        }
    case OriginRole:
        return l.origin;
    case ReplicaRole:
        return l.replica;
    default:
        return {};
    }
}

QVariant LinksModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0
        || section >= ColumnCount)
        return {};
    static const char *const names[ColumnCount] = {QT_TR_NOOP("Origin"),
                                                   QT_TR_NOOP("Replica"),
                                                   QT_TR_NOOP("State"),
                                                   QT_TR_NOOP("RTT"),
                                                   QT_TR_NOOP("Entries behind"),
                                                   QT_TR_NOOP("Seconds behind"),
                                                   QT_TR_NOOP("Apply rate")};
    return tr(names[section]);
}

} // namespace Meridian
