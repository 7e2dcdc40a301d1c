#include "ui/edgecachemodel.h"

#include <QLocale>

using namespace Qt::StringLiterals;

namespace Meridian {

EdgeCacheModel::EdgeCacheModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void EdgeCacheModel::setEdges(const QList<Api::EdgeCacheStats> &edges)
{
    // Same edges in the same order (every refresh but the first): update in place, so a
    // selection or a sort survives.
    bool sameRows = edges.size() == m_edges.size();
    for (qsizetype i = 0; sameRows && i < edges.size(); ++i)
        sameRows = edges.at(i).id == m_edges.at(i).id;
    if (!sameRows) {
        beginResetModel();
        m_edges = edges;
        endResetModel();
        return;
    }
    m_edges = edges;
    if (!m_edges.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_edges.size()) - 1, ColumnCount - 1));
}

double EdgeCacheModel::overallHitRatio() const
{
    qint64 hits = 0;
    qint64 misses = 0;
    for (const Api::EdgeCacheStats &e : m_edges) {
        if (e.reachable && e.enabled) {
            hits += e.hits;
            misses += e.misses;
        }
    }
    return hits + misses > 0 ? double(hits) / double(hits + misses) : -1.0;
}

int EdgeCacheModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_edges.size());
}

int EdgeCacheModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EdgeCacheModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Api::EdgeCacheStats &e = m_edges.at(index.row());
    const bool figures = e.reachable && e.enabled;
    const int column = index.column();
    auto number = [column, &e]() -> qint64 {
        switch (column) {
        case EntriesColumn:
            return e.entries;
        case SizeColumn:
            return e.bytes;
        case HitsColumn:
            return e.hits;
        case MissesColumn:
            return e.misses;
        case UpdatingColumn:
            return e.updating;
        case StaleColumn:
            return e.stale;
        case EvictedColumn:
            return e.evictions;
        case PurgedColumn:
            return e.purged;
        }
        return 0;
    };
    switch (role) {
    case Qt::DisplayRole:
        if (column == EdgeColumn)
            return e.id;
        if (!figures) {
            if (column == EntriesColumn)
                return e.reachable ? tr("no cache") : tr("unreachable");
            return tr("—");
        }
        if (column == SizeColumn)
            return tr("%1 of %2")
                    .arg(QLocale::system().formattedDataSize(e.bytes),
                         QLocale::system().formattedDataSize(e.maxBytes));
        if (column == HitRatioColumn) {
            const double ratio = e.hitRatio();
            return ratio < 0 ? tr("—") : u"%1 %"_s.arg(ratio * 100.0, 0, 'f', 1);
        }
        return QString::number(number());
    case SortRole:
        if (column == EdgeColumn)
            return e.id;
        if (!figures)
            return -1;
        if (column == HitRatioColumn)
            return e.hitRatio();
        return number();
    case Qt::ToolTipRole:
        switch (column) {
        case UpdatingColumn:
            return tr("Answers from a stale copy while the edge fetched a fresh one "
                      "(stale-while-revalidate); counted as hits");
        case StaleColumn:
            return tr("Answers from a stale copy because no region could answer "
                      "(stale-if-error)");
        case PurgedColumn:
            return tr("Entries removed by cache purges");
        }
        return {};
    case Qt::TextAlignmentRole:
        if (column != EdgeColumn && figures)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    return {};
}

QVariant EdgeCacheModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case EdgeColumn:
        return tr("Edge");
    case EntriesColumn:
        return tr("Entries");
    case SizeColumn:
        return tr("Size");
    case HitRatioColumn:
        return tr("Hit ratio");
    case HitsColumn:
        return tr("Hits");
    case MissesColumn:
        return tr("Misses");
    case UpdatingColumn:
        return tr("Updating");
    case StaleColumn:
        return tr("Stale");
    case EvictedColumn:
        return tr("Evicted");
    case PurgedColumn:
        return tr("Purged");
    }
    return {};
}

} // namespace Meridian
