#pragma once

// EdgeCacheModel: one row per edge gateway of GET /v1/cache: its cache's entries, size, hit
// ratio and counters (hits, misses, stale answers while revalidating and for failed regions,
// evictions, purged entries), or why there are none (unreachable, no cache).

#include "core/control/apitypes.h"

#include <QAbstractTableModel>

namespace Meridian {

class EdgeCacheModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EdgeCacheModel)

public:
    enum Column {
        EdgeColumn,
        EntriesColumn,
        SizeColumn,
        HitRatioColumn,
        HitsColumn,
        MissesColumn,
        UpdatingColumn,
        StaleColumn,
        EvictedColumn,
        PurgedColumn,
        ColumnCount
    };
    enum Role { SortRole = Qt::UserRole };

    explicit EdgeCacheModel(QObject *parent = nullptr);

    void setEdges(const QList<Api::EdgeCacheStats> &edges);
    const QList<Api::EdgeCacheStats> &edges() const { return m_edges; }
    // Hits over hits and misses of every reachable edge together, or -1 before any.
    double overallHitRatio() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QList<Api::EdgeCacheStats> m_edges;
};

} // namespace Meridian
