#pragma once

// ShareBars: the expected share of new requests per region, before → after a change, as two bars
// per region (the server's preview). Used by StrategyPanel; standalone:
//   auto *bars = new Meridian::ShareBars(parent);
//   bars->setPreview(preview, clusterView); // Api::Preview, Api::ClusterView (for names)

#include "core/control/apitypes.h"

#include <QWidget>

namespace Meridian {

class ShareBars final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ShareBars)

public:
    struct Row
    {
        QString id;
        QString label; // "eu-west (Dublin)"
        double before = 0;
        double after = 0;
    };

    explicit ShareBars(QWidget *parent = nullptr);

    void setPreview(const Api::Preview &preview, const Api::ClusterView &cluster);
    // Only the current shares (no change yet): both bars equal.
    void setCurrent(const Api::ClusterView &cluster);
    void setMessage(const QString &message);
    void clear();
    const QList<Row> &rows() const { return m_rows; }
    QString message() const { return m_message; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    int rowHeight() const;

    QList<Row> m_rows;
    QString m_message;
    bool m_hasChange = false;
};

} // namespace Meridian
