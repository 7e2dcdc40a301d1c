#pragma once

// DigestModel: one row per region of GET /v1/digest: whether its data digest agrees with the
// others, whether it was reachable, and how many of its writes lost last-writer-wins conflicts
// ("overwritten"), in total and per table and origin (tooltip).

#include "core/control/apitypes.h"

#include <QAbstractTableModel>

namespace Meridian {

class DigestModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DigestModel)

public:
    enum Column { RegionColumn, DigestColumn, AgreementColumn, OverwrittenColumn, ColumnCount };
    enum Role { SortRole = Qt::UserRole };

    explicit DigestModel(QObject *parent = nullptr);

    void setReport(const Api::DigestReport &report);
    const Api::DigestReport &report() const { return m_report; }
    // The digest most reachable regions share ("" when none).
    QString majorityDigest() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    Api::DigestReport m_report;
    QString m_majority;
};

} // namespace Meridian
