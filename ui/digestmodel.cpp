#include "ui/digestmodel.h"

#include <QColor>
#include <QHash>

using namespace Qt::StringLiterals;

namespace Meridian {

DigestModel::DigestModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void DigestModel::setReport(const Api::DigestReport &report)
{
    beginResetModel();
    m_report = report;
    QHash<QString, int> votes;
    for (const Api::RegionDigest &region : report.regions) {
        if (region.reachable && !region.digest.isEmpty())
            ++votes[region.digest];
    }
    m_majority.clear();
    int best = 0;
    for (auto it = votes.cbegin(); it != votes.cend(); ++it) {
        if (it.value() > best || (it.value() == best && it.key() < m_majority)) {
            best = it.value();
            m_majority = it.key();
        }
    }
    endResetModel();
}

QString DigestModel::majorityDigest() const
{
    return m_majority;
}

int DigestModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_report.regions.size());
}

int DigestModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DigestModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Api::RegionDigest &region = m_report.regions.at(index.row());
    const bool agrees = region.reachable && region.digest == m_majority;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case RegionColumn:
            return region.region;
        case DigestColumn:
            if (!region.reachable)
                return tr("—");
            return region.digest.size() > 12 ? region.digest.right(12) : region.digest;
        case AgreementColumn:
            if (!region.reachable)
                return tr("unreachable");
            return agrees ? tr("agrees") : tr("differs");
        case OverwrittenColumn:
            return QString::number(region.overwrittenTotal());
        }
        return {};
    case SortRole:
        if (index.column() == OverwrittenColumn)
            return region.overwrittenTotal();
        return data(index, Qt::DisplayRole);
    case Qt::ToolTipRole: {
        if (index.column() == DigestColumn)
            return region.digest;
        if (index.column() != OverwrittenColumn || region.overwritten.isEmpty())
            return {};
        QStringList lines;
        for (auto table = region.overwritten.cbegin(); table != region.overwritten.cend(); ++table) {
            for (auto origin = table->cbegin(); origin != table->cend(); ++origin)
                lines.append(tr("%1: %2 writes from %3 overwritten here")
                                     .arg(table.key())
                                     .arg(origin.value())
                                     .arg(origin.key()));
        }
        return lines.join(u'\n');
    }
    case Qt::DecorationRole:
        if (index.column() == AgreementColumn)
            return !region.reachable ? QColor(0x9e, 0x9e, 0x9e)
                   : agrees          ? QColor(0x2e, 0x9d, 0x4a)
                                     : QColor(0xd3, 0x2f, 0x2f);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == OverwrittenColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    return {};
}

QVariant DigestModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case RegionColumn:
        return tr("Region");
    case DigestColumn:
        return tr("Digest");
    case AgreementColumn:
        return tr("Agreement");
    case OverwrittenColumn:
        return tr("Overwritten");
    }
    return {};
}

} // namespace Meridian
