#include "ui/overwrittenmodel.h"

#include <QJsonArray>
#include <QJsonDocument>

using namespace Qt::StringLiterals;

namespace Meridian {

OverwrittenModel::OverwrittenModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void OverwrittenModel::setEntries(const QString &region, const QList<Api::OverwrittenEntry> &entries)
{
    beginResetModel();
    m_region = region;
    m_entries = entries;
    endResetModel();
}

int OverwrittenModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int OverwrittenModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString OverwrittenModel::describe(const Api::RowVersion &version)
{
    if (!version.time.isValid())
        return version.origin;
    return tr("%1 @ %2").arg(version.origin,
                             version.time.toUTC().toString(u"yyyy-MM-dd HH:mm:ss.zzz"_s));
}

QString OverwrittenModel::describeValues(const QJsonObject &values)
{
    QStringList parts;
    for (auto it = values.constBegin(); it != values.constEnd(); ++it) {
        const QJsonValue v = it.value();
        QString text;
        if (v.isString())
            text = v.toString();
        else if (v.isNull())
            text = u"NULL"_s;
        else
            text = QString::fromUtf8(QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact))
                           .mid(1)
                           .chopped(1);
        parts.append(u"%1=%2"_s.arg(it.key(), text));
    }
    return parts.join(u", "_s);
}

QVariant OverwrittenModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Api::OverwrittenEntry &e = m_entries.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case Qt::ToolTipRole:
        switch (index.column()) {
        case SeenColumn:
            return e.at.toUTC().toString(u"yyyy-MM-dd HH:mm:ss"_s);
        case TableColumn:
            return e.table;
        case KeyColumn:
            return describeValues(e.primaryKey);
        case LoserColumn:
            return describe(e.loser);
        case LosingValuesColumn:
            return e.loser.deleted ? tr("(delete)") : describeValues(e.loser.row);
        case WinnerColumn:
            return describe(e.winner);
        }
        return {};
    case SortRole:
        switch (index.column()) {
        case SeenColumn:
            return e.at.toMSecsSinceEpoch();
        case LoserColumn:
            return e.loser.hlc.toULongLong();
        case WinnerColumn:
            return e.winner.hlc.toULongLong();
        }
        return data(index, Qt::DisplayRole);
    }
    return {};
}

QVariant OverwrittenModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case SeenColumn:
        return tr("Seen");
    case TableColumn:
        return tr("Table");
    case KeyColumn:
        return tr("Key");
    case LoserColumn:
        return tr("Lost (origin @ time)");
    case LosingValuesColumn:
        return tr("Losing values");
    case WinnerColumn:
        return tr("Won (origin @ time)");
    }
    return {};
}

} // namespace Meridian
