#pragma once

#include "core/control/apitypes.h"
#include "ui/clusterwatcher.h"
#include "ui/digestjudge.h"

#include <QMainWindow>
#include <QPointer>

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

class ActionController;
class DemoCluster;
class EventLogDock;
class MapWidget;
class ProfileStore;
class RegionsModel;
class ReplicationDashboard;
class StrategyPanel;
class EdgeCachePanel;
class Theme;
struct ClusterProfile;
struct OperationProgress;
struct TrafficStats;

// The control room's main window: the live map in the middle; docks with the regions table, the
// replication dashboard, the event and audit log and the strategy panel; a toolbar and menus with
// the region actions (ActionController), and a status bar with the cluster's health at a glance.
// Selection is shared between the map, the table and the actions. It shows one cluster through a
// ClusterWatcher; in demo mode it also steers the DemoCluster (outage, restart).
class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    // `historyPath`: the event log's SQLite history (empty: EventHistory::defaultPath()).
    explicit MainWindow(QWidget *parent = nullptr, const QString &historyPath = {});
    ~MainWindow() override;

    // Follows the cluster at `endpoints` (any of its nodes; failover in order) with `token`;
    // `caFile` (PEM, may be empty) is trusted for https:// endpoints besides the system's CAs.
    bool connectToCluster(const QStringList &endpoints,
                          const QString &token,
                          const QString &label,
                          QString *error = nullptr,
                          const QString &caFile = {});
    // Demo mode: the window offers the demo's outage and restart actions. Not owned.
    void setDemo(DemoCluster *demo);
    // Cluster profiles for File → Connect (the connect dialog). Not owned.
    void setProfileStore(ProfileStore *profiles);
    // Connects to a saved profile (its token from the keychain or the session).
    void connectToProfile(const QString &name);
    void setTheme(Theme *theme);

    ClusterWatcher *watcher() const { return m_watcher; }
    MapWidget *map() const { return m_map; }
    RegionsModel *regionsModel() const { return m_regionsModel; }
    ActionController *actions() const { return m_actions; }
    StrategyPanel *strategyPanel() const { return m_strategy; }
    ReplicationDashboard *replicationDashboard() const { return m_replication; }
    EventLogDock *eventLog() const { return m_eventLog; }
    QTableView *regionsView() const { return m_regionsView; }
    QSortFilterProxyModel *regionsProxy() const { return m_regionsProxy; }
    QLineEdit *regionsFilter() const { return m_filter; }
    bool hasClusterData() const { return m_hasData; }
    // Brings a bottom panel to the front: "regions", "replication", "events" or "strategy";
    // false for another name.
    bool showPanel(const QString &name);

    QString selectedRegion() const { return m_selected; }
    void selectRegion(const QString &id);

    QAction *drainAction() const;
    QAction *activateAction() const;
    QAction *refreshAction() const { return m_refresh; }
    QAction *connectAction() const { return m_connect; }
    QAction *outageAction() const { return m_outage; }
    QAction *restartAction() const { return m_restart; }
    // false: no modal boxes of the window's own (demo confirmations are taken as yes); tests.
    // The actions' confirmations are the ActionController's (setConfirmationPolicy).
    void setInteractive(bool interactive);

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
    QString statusMessage() const;

signals:
    void selectedRegionChanged(const QString &id);

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
    void createPanels(const QString &historyPath);
    void showConnectDialog();
    void onOperationProgress(const OperationProgress &progress);
    bool confirm(const QString &title, const QString &text);
    void onDemoRegionChanged(const QString &id, bool running, const QString &error);
    void onTrafficStats(const TrafficStats &stats);
    const Api::RegionStatus *region(const QString &id) const;

    ClusterWatcher *m_watcher;
    MapWidget *m_map;
    RegionsModel *m_regionsModel;
    QSortFilterProxyModel *m_regionsProxy;
    ActionController *m_actions = nullptr;
    StrategyPanel *m_strategy = nullptr;
    ReplicationDashboard *m_replication = nullptr;
    EventLogDock *m_eventLog = nullptr;
    QTableView *m_regionsView = nullptr;
    QLineEdit *m_filter = nullptr;
    QDockWidget *m_regionsDock = nullptr;
    QDockWidget *m_replicationDock = nullptr;
    QDockWidget *m_strategyDock = nullptr;
    EdgeCachePanel *m_cache = nullptr;
    QDockWidget *m_cacheDock = nullptr;
    QToolBar *m_toolBar = nullptr;
    QMenu *m_regionMenu = nullptr;
    QMenu *m_viewMenu = nullptr;
    QMenu *m_demoMenu = nullptr;

    QAction *m_refresh = nullptr;
    QAction *m_connect = nullptr;
    QAction *m_outage = nullptr;
    QAction *m_restart = nullptr;
    QAction *m_resetMap = nullptr;

    QLabel *m_connectionLabel = nullptr;
    QLabel *m_regionsLabel = nullptr;
    QLabel *m_lagLabel = nullptr;
    QLabel *m_digestLabel = nullptr;
    DigestJudge m_digestJudge;
    QLabel *m_staleLabel = nullptr;
    QLabel *m_trafficLabel = nullptr;
    QLabel *m_messageLabel = nullptr;

    QPointer<DemoCluster> m_demo;
    QPointer<Theme> m_theme;
    QPointer<ProfileStore> m_profiles;
    QString m_selected;
    QString m_clusterLabel;
    QTimer *m_digestTimer = nullptr;
    bool m_hasData = false;
    bool m_interactive = true;
    bool m_syncingSelection = false;
};

} // namespace Meridian
