#pragma once

#include "core/control/apitypes.h"
#include "ui/clusterwatcher.h"

#include <QMainWindow>
#include <QPointer>

#include <functional>

class QAction;
class QDockWidget;
class QLabel;
class QLineEdit;
class QMenu;
class QSortFilterProxyModel;
class QTableView;
class QTimer;
class QToolBar;

namespace Meridian {

class DemoCluster;
class LinksModel;
class MapWidget;
class RegionsModel;
class Theme;
struct TrafficStats;

// The control room's main window: the live map in the middle, the regions and links tables in
// docks, a toolbar and menus with the region actions, and a status bar with the cluster's health
// at a glance. Selection is shared between the map and the regions table. It shows one cluster
// through a ClusterWatcher; in demo mode it also steers the DemoCluster (outage, restart).
class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    // Asks the operator to confirm an action; returns true to go ahead. Tests replace it.
    using ConfirmationHandler = std::function<bool(const QString &title, const QString &text)>;

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Follows the cluster at `endpoints` (any of its nodes; failover in order) with `token`.
    bool connectToCluster(const QStringList &endpoints,
                          const QString &token,
                          const QString &label,
                          QString *error = nullptr);
    // Demo mode: the window offers the demo's outage and restart actions. Not owned.
    void setDemo(DemoCluster *demo);
    void setTheme(Theme *theme);

    ClusterWatcher *watcher() const { return m_watcher; }
    MapWidget *map() const { return m_map; }
    RegionsModel *regionsModel() const { return m_regionsModel; }
    LinksModel *linksModel() const { return m_linksModel; }
    QTableView *regionsView() const { return m_regionsView; }
    QSortFilterProxyModel *regionsProxy() const { return m_regionsProxy; }
    QLineEdit *regionsFilter() const { return m_filter; }
    bool hasClusterData() const { return m_hasData; }

    QString selectedRegion() const { return m_selected; }
    void selectRegion(const QString &id);

    QAction *drainAction() const { return m_drain; }
    QAction *activateAction() const { return m_activate; }
    QAction *refreshAction() const { return m_refresh; }
    QAction *outageAction() const { return m_outage; }
    QAction *restartAction() const { return m_restart; }
    void setConfirmationHandler(ConfirmationHandler handler);
    // false: refusals and errors go to the status bar only, never to a modal box (tests).
    void setInteractive(bool interactive) { m_interactive = interactive; }

    // Where the panels go: a dock in `area`, listed in the View menu.
    QDockWidget *addPanel(QWidget *panel,
                          const QString &title,
                          const QString &objectName,
                          Qt::DockWidgetArea area);
    QMenu *regionMenu() const { return m_regionMenu; }

    // Status-bar texts, for tests and screenshots.
    QString connectionText() const;
    QString healthText() const;
    QString stalenessText() const;

signals:
    void selectedRegionChanged(const QString &id);
    // An action finished: accepted (message is the server's summary) or refused (its reason).
    void actionFinished(const QString &action,
                        const QString &region,
                        bool ok,
                        const QString &message);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void createDocks();
    void createMenus();
    void createStatusBar();
    void onClusterUpdated(const Api::ClusterView &view);
    void onStaleness(double seconds);
    void onConnectionState(ClusterWatcher::ConnectionState state, const QString &text);
    void onTableCurrentChanged();
    void showRegionMenu(const QString &id, const QPoint &globalPos);
    void updateActions();
    void updateTitle();
    void pollDigest();
    void drainSelected();
    void activateSelected();
    void runAction(const QString &action, const QString &region, bool confirmed);
    void onDemoRegionChanged(const QString &id, bool running, const QString &error);
    void onTrafficStats(const TrafficStats &stats);
    const Api::RegionStatus *region(const QString &id) const;

    ClusterWatcher *m_watcher;
    MapWidget *m_map;
    RegionsModel *m_regionsModel;
    LinksModel *m_linksModel;
    QSortFilterProxyModel *m_regionsProxy;
    QSortFilterProxyModel *m_linksProxy;
    QTableView *m_regionsView = nullptr;
    QTableView *m_linksView = nullptr;
    QLineEdit *m_filter = nullptr;
    QDockWidget *m_regionsDock = nullptr;
    QDockWidget *m_linksDock = nullptr;
    QToolBar *m_toolBar = nullptr;
    QMenu *m_regionMenu = nullptr;
    QMenu *m_viewMenu = nullptr;
    QMenu *m_demoMenu = nullptr;

    QAction *m_drain = nullptr;
    QAction *m_activate = nullptr;
    QAction *m_refresh = nullptr;
    QAction *m_outage = nullptr;
    QAction *m_restart = nullptr;
    QAction *m_resetMap = nullptr;

    QLabel *m_connectionLabel = nullptr;
    QLabel *m_regionsLabel = nullptr;
    QLabel *m_lagLabel = nullptr;
    QLabel *m_digestLabel = nullptr;
    QLabel *m_staleLabel = nullptr;
    QLabel *m_trafficLabel = nullptr;
    QLabel *m_messageLabel = nullptr;

    QPointer<DemoCluster> m_demo;
    QPointer<Theme> m_theme;
    ConfirmationHandler m_confirm;
    QString m_selected;
    QString m_clusterLabel;
    QTimer *m_digestTimer = nullptr;
    bool m_hasData = false;
    bool m_interactive = true;
    bool m_syncingSelection = false;
};

} // namespace Meridian
