#include "ui/linktablemodel.h"

#include <QColor>
#include <QLocale>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Meridian {

LinkTableModel::LinkTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

QColor LinkTableModel::stateColor(const QString &state)
{
    if (state == u"caught_up")
        return {0x2e, 0x9d, 0x4a};
    if (state == u"lagging")
        return {0xe0, 0x9b, 0x16};
    return {0xd3, 0x2f, 0x2f};
}

void LinkTableModel::setLinks(const QList<Api::LinkStatus> &links)
{
    QList<Api::LinkStatus> sorted = links;
    std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
        return std::tie(a.origin, a.replica) < std::tie(b.origin, b.replica);
    });
    const bool sameRows = sorted.size() == m_links.size()
                          && std::equal(sorted.cbegin(),
                                        sorted.cend(),
                                        m_links.cbegin(),
                                        [](const auto &a, const auto &b) {
                                            return a.origin == b.origin && a.replica == b.replica;
                                        });
    if (!sameRows) {
        beginResetModel();
        m_links = sorted;
        endResetModel();
        return;
    }
    m_links = sorted;
    if (!m_links.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_links.size()) - 1, ColumnCount - 1));
}

int LinkTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_links.size());
}

int LinkTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LinkTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Api::LinkStatus &link = m_links.at(index.row());
    const QLocale c = QLocale::c();
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case OriginColumn:
            return link.origin;
        case ReplicaColumn:
            return link.replica;
        case StateColumn:
            return QString(link.state).replace(u'_', u' ');
        case SecondsBehindColumn:
            return c.toString(link.secondsBehind, 'f', 2) + u" s"_s;
        case EntriesBehindColumn:
            return QString::number(link.entriesBehind);
        case ApplyRateColumn:
            return c.toString(link.applyRate, 'f', 1) + u"/s"_s;
        case RttColumn:
            return link.rttMs > 0 ? c.toString(link.rttMs, 'f', 1) + u" ms"_s : u"—"_s;
        case LastContactColumn:
            return link.lastContact.isValid()
                           ? link.lastContact.toLocalTime().toString(u"HH:mm:ss"_s)
                           : tr("never");
        }
        return {};
    }
    if (role == SortRole) {
        switch (index.column()) {
        case SecondsBehindColumn:
            return link.secondsBehind;
        case EntriesBehindColumn:
            return link.entriesBehind;
        case ApplyRateColumn:
            return link.applyRate;
        case RttColumn:
            return link.rttMs;
        case LastContactColumn:
            return link.lastContact;
        default:
            return data(index, Qt::DisplayRole);
        }
    }
    if (role == StateRole)
        return link.state;
    if (role == Qt::ToolTipRole && !link.reason().isEmpty())
        return link.reason();
    if (role == Qt::DecorationRole && index.column() == StateColumn)
        return stateColor(link.state);
    if (role == Qt::TextAlignmentRole && index.column() >= SecondsBehindColumn
        && index.column() <= RttColumn)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant LinkTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case OriginColumn:
        return tr("From");
    case ReplicaColumn:
        return tr("To");
    case StateColumn:
        return tr("State");
    case SecondsBehindColumn:
        return tr("Lag");
    case EntriesBehindColumn:
        return tr("Backlog");
    case ApplyRateColumn:
        return tr("Apply rate");
    case RttColumn:
        return tr("RTT");
    case LastContactColumn:
        return tr("Last contact");
    }
    return {};
}

} // namespace Meridian
