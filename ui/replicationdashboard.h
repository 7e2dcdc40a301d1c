#pragma once

// ReplicationDashboard: replication at a glance. Lag per link over time (seconds behind) and
// apply rate (Qt Charts) from the cluster views it is fed, kept in a bounded ring per link;
// backlog and link states (table); digest agreement across regions and overwritten-writes
// counters (GET /v1/digest, polled every 5 s while the dashboard is visible); a selectable time
// range (1, 5, 15, 60 min); export of the charts to PNG and of the samples to CSV.
//
// How to wire it (MainWindow):
//   auto *replication = new Meridian::ReplicationDashboard(client, this);
//   connect(watcher, &ClusterWatcher::clusterUpdated,
//           replication, &Meridian::ReplicationDashboard::setCluster);
//   a tab or a dock: tabs->addTab(replication, tr("Replication"));
// `client` may be null: no digest then.

#include "core/control/apitypes.h"
#include "ui/digestjudge.h"
#include "ui/replicationhistory.h"

#include <QHash>
#include <QPointer>
#include <QWidget>

class QChart;
class QChartView;
class QComboBox;
class QDateTimeAxis;
class QLabel;
class QLineSeries;
class QTableView;
class QTimer;
class QValueAxis;

namespace Meridian {

class ControlCall;
class ControlClient;
class DigestModel;
class LinkTableModel;
class OverwrittenModel;

class ReplicationDashboard final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ReplicationDashboard)

public:
    explicit ReplicationDashboard(ControlClient *client, QWidget *parent = nullptr);
    ~ReplicationDashboard() override;

    // 1, 5, 15 or 60.
    void setRangeMinutes(int minutes);
    int rangeMinutes() const { return m_rangeMinutes; }
    void setDigestInterval(int ms);

    const ReplicationHistory &history() const { return m_history; }
    LinkTableModel *linkModel() const { return m_linkModel; }
    DigestModel *digestModel() const { return m_digestModel; }
    OverwrittenModel *overwrittenModel() const { return m_overwrittenModel; }
    QTableView *digestView() const { return m_digestView; }
    QLabel *digestLabel() const { return m_digestLabel; }
    QWidget *chartsWidget() const { return m_charts; }
    // The points a link's lag series shows now (in the selected range).
    QList<QPointF> lagPoints(const QString &linkKey) const;

    // The charts as an image; the samples of the selected range as CSV.
    bool exportPng(const QString &path, QString *error = nullptr) const;
    bool exportCsv(const QString &path, QString *error = nullptr) const;
    QByteArray csv() const;
    // "Worst lag 0.35 s (us-east→eu-west) · backlog 12 · 5 of 6 links caught up"
    static QString summarize(const QList<Api::LinkStatus> &links);
    // At most 2 × buckets points: per time bucket the lowest and highest (spikes stay visible).
    static QList<QPointF> decimate(const QList<QPointF> &points, int buckets);
    QLabel *summaryLabel() const { return m_summary; }

public slots:
    void setCluster(const Meridian::Api::ClusterView &view);
    // Reads GET /v1/digest now (also done every 5 s while visible).
    void refreshDigest();
    // Reads REGION's overwritten journal into overwrittenModel() (also done when a region is
    // selected in the digest table, and again when its overwritten count grows).
    void showOverwritten(const QString &region);

signals:
    void digestUpdated(const Meridian::Api::DigestReport &report);
    void digestFailed(const Meridian::Api::ApiError &error);
    void overwrittenUpdated(const QString &region);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct Series
    {
        QLineSeries *lag = nullptr;
        QLineSeries *rate = nullptr;
    };
    void refreshCharts();
    void applyChartTheme();
    Series &seriesFor(const QString &key);
    qint64 rangeStartMs() const;
    void showDigest(const Api::DigestReport &report);
    void promptExport(bool png);

    ControlClient *m_client;
    ReplicationHistory m_history;
    int m_rangeMinutes = 5;
    QHash<QString, Series> m_series;
    QChart *m_lagChart;
    QChart *m_rateChart;
    QChartView *m_lagView;
    QChartView *m_rateView;
    QDateTimeAxis *m_lagX;
    QValueAxis *m_lagY;
    QDateTimeAxis *m_rateX;
    QValueAxis *m_rateY;
    QWidget *m_charts;
    QComboBox *m_range;
    QLabel *m_summary;
    QLabel *m_digestLabel;
    LinkTableModel *m_linkModel;
    DigestModel *m_digestModel;
    DigestJudge m_digestJudge;
    QList<Api::LinkStatus> m_links; // of the last cluster view: is replication moving?
    QTableView *m_linkView;
    QTableView *m_digestView;
    OverwrittenModel *m_overwrittenModel;
    QTableView *m_overwrittenView;
    QLabel *m_overwrittenLabel;
    QString m_overwrittenRegion;         // selected in the digest table
    qint64 m_overwrittenShownTotal = -1; // its count when its journal was read; -1: read again
    QTimer *m_digestTimer;
    QPointer<ControlCall> m_digestCall;
    QPointer<ControlCall> m_overwrittenCall;
    bool m_chartsDirty = false;
};

} // namespace Meridian
