#pragma once

// EdgeCachePanel: every edge gateway's cache (GET /v1/cache): entries, size, hit ratio and
// counters per edge in a sortable table, the cluster's overall hit ratio above it, and the
// window's "Purge edge cache…" action beside it. Refreshed every few seconds while visible.
//
// How to wire it (MainWindow):
//   auto *cache = new Meridian::EdgeCachePanel(client, actions->purgeAction(), this);
//   a dock: dock->setWidget(cache);

#include <QPointer>
#include <QWidget>

class QLabel;
class QTableView;
class QTimer;
class QAction;

namespace Meridian {

class ControlCall;
class ControlClient;
class EdgeCacheModel;

class EdgeCachePanel final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EdgeCachePanel)

public:
    // `purgeAction` (may be null) gets a button in the panel.
    EdgeCachePanel(ControlClient *client, QAction *purgeAction, QWidget *parent = nullptr);
    ~EdgeCachePanel() override;

    EdgeCacheModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    QLabel *summaryLabel() const { return m_summary; }
    // Asks for the figures now (a call already under way is not repeated).
    void refresh();

signals:
    // An answer (or an error) was shown.
    void refreshed();

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    ControlClient *m_client;
    EdgeCacheModel *m_model;
    QTableView *m_view;
    QLabel *m_summary;
    QTimer *m_timer;
    QPointer<ControlCall> m_call;
};

} // namespace Meridian
