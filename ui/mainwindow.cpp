#include "ui/mainwindow.h"

#include "core/control/controlclient.h"
#include "ui/actioncontroller.h"
#include "ui/connectdialog.h"
#include "ui/democluster.h"
#include "ui/digestjudge.h"
#include "ui/edgecachepanel.h"
#include "ui/eventlogdock.h"
#include "ui/mapwidget.h"
#include "ui/profilestore.h"
#include "ui/regionsmodel.h"
#include "ui/regionstyle.h"
#include "ui/replicationdashboard.h"
#include "ui/strategypanel.h"
#include "ui/theme.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QScreen>
#include <QScrollArea>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QStatusBar>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

namespace Meridian {

namespace {

QTableView *makeTable(QAbstractItemModel *model, QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->setModel(model);
    view->setSortingEnabled(true);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    view->horizontalHeader()->setHighlightSections(false);
    view->horizontalHeader()->setStretchLastSection(true);
    view->setContextMenuPolicy(Qt::CustomContextMenu);
    return view;
}

QString statusDot(const QColor &color)
{
    return QStringLiteral("<span style=\"color:%1\">\u25cf</span> ").arg(color.name());
}

} // namespace

MainWindow::MainWindow(QWidget *parent, const QString &historyPath)
    : QMainWindow(parent)
    , m_watcher(new ClusterWatcher(this))
    , m_map(new MapWidget(this))
    , m_regionsModel(new RegionsModel(this))
    , m_regionsProxy(new QSortFilterProxyModel(this))
    , m_digestTimer(new QTimer(this))
{
    setObjectName(QStringLiteral("MainWindow"));
    m_regionsProxy->setSourceModel(m_regionsModel);
    m_regionsProxy->setSortRole(RegionsModel::SortRole);
    m_regionsProxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_regionsProxy->setFilterKeyColumn(-1);
    // The actions on regions and the strategy: confirmations, refusals, progress.
    m_actions = new ActionController(m_watcher->client(), this, this);

    m_map->setPlaceholderText(tr("Not connected to a cluster"));
    setCentralWidget(m_map);

    createActions();
    createDocks();
    createPanels(historyPath);
    createMenus();
    createStatusBar();

    connect(m_watcher, &ClusterWatcher::clusterUpdated, this, &MainWindow::onClusterUpdated);
    connect(m_watcher, &ClusterWatcher::stalenessChanged, this, &MainWindow::onStaleness);
    connect(m_watcher,
            &ClusterWatcher::connectionStateChanged,
            this,
            &MainWindow::onConnectionState);
    connect(m_map, &MapWidget::selectedRegionChanged, this, &MainWindow::selectRegion);
    connect(m_map, &MapWidget::regionContextMenuRequested, this, &MainWindow::showRegionMenu);
    connect(m_map, &MapWidget::regionActivated, this, [this](const QString &id) {
        selectRegion(id);
        m_regionsView->setFocus();
    });

    m_digestTimer->setInterval(10000);
    connect(m_digestTimer, &QTimer::timeout, this, &MainWindow::pollDigest);

    connect(m_watcher, &ClusterWatcher::clusterUpdated, m_actions, &ActionController::setCluster);
    connect(this,
            &MainWindow::selectedRegionChanged,
            m_actions,
            &ActionController::setSelectedRegion);
    connect(m_actions,
            &ActionController::actionFinished,
            this,
            [this](const QString &action, const QString &region, const Api::ActionResult &result) {
                m_messageLabel->setText(tr("%1 %2: %3 (action %4)")
                                                .arg(action,
                                                     region.isEmpty() ? tr("strategy") : region,
                                                     result.action.status,
                                                     result.action.id));
                m_watcher->refresh();
            });
    connect(m_actions,
            &ActionController::actionRefused,
            this,
            [this](const QString &action, const QString &region, const Api::ApiError &error) {
                m_messageLabel->setText(
                        tr("%1 %2 refused: %3").arg(action, region, error.toString()));
            });
    connect(m_actions, &ActionController::operationProgress, this, &MainWindow::onOperationProgress);
    updateTitle();
    updateActions();
    const QSize available = screen() ? screen()->availableSize() : QSize(1500, 920);
    resize(std::min(1500, available.width()), std::min(920, available.height()));
}

MainWindow::~MainWindow()
{
    m_watcher->stop();
}

void MainWindow::createActions()
{
    m_refresh = new QAction(tr("&Refresh"), this);
    m_refresh->setShortcut(QKeySequence::Refresh);
    m_refresh->setToolTip(tr("Ask the cluster for its state now (F5)"));
    connect(m_refresh, &QAction::triggered, m_watcher, &ClusterWatcher::refresh);

    m_connect = new QAction(tr("&Connect to a cluster…"), this);
    m_connect->setShortcut(QKeySequence::Open);
    m_connect->setToolTip(tr("Choose or edit a cluster profile and connect (Ctrl+O)"));
    m_connect->setEnabled(false);
    connect(m_connect, &QAction::triggered, this, &MainWindow::showConnectDialog);

    m_outage = new QAction(tr("Simulate &outage"), this);
    m_outage->setToolTip(tr("Demo only: kill the selected region's node (SIGKILL)"));
    connect(m_outage, &QAction::triggered, this, [this] {
        if (!m_demo || m_selected.isEmpty())
            return;
        const QString id = m_selected;
        if (!confirm(tr("Simulate an outage"),
                     tr("Kill the node of %1 (SIGKILL)? Its traffic fails over to the other "
                        "regions; restart it later to watch it catch up.")
                             .arg(id)))
            return;
        m_messageLabel->setText(tr("killing %1…").arg(id));
        m_demo->simulateOutage(id);
    });
    m_restart = new QAction(tr("Re&start region"), this);
    m_restart->setToolTip(tr("Demo only: start the selected region's node again"));
    connect(m_restart, &QAction::triggered, this, [this] {
        if (!m_demo || m_selected.isEmpty())
            return;
        m_messageLabel->setText(tr("starting %1…").arg(m_selected));
        m_demo->restartRegion(m_selected);
    });

    m_resetMap = new QAction(tr("Reset map &view"), this);
    m_resetMap->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
    connect(m_resetMap, &QAction::triggered, this, [this] {
        m_map->viewport().reset();
        m_map->viewport().setSize(m_map->size());
        m_map->setCluster(m_map->cluster());
    });

    m_toolBar = addToolBar(tr("Main"));
    m_toolBar->setObjectName(QStringLiteral("MainToolBar"));
    m_toolBar->setMovable(false);
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_toolBar->addAction(m_refresh);
    m_toolBar->addSeparator();
    m_toolBar->addActions(m_actions->regionActions());
    addActions(m_actions->regionActions()); // their shortcuts work anywhere in the window
}

void MainWindow::createDocks()
{
    // Regions: a filter box over the sortable table.
    auto *regionsPanel = new QWidget(this);
    auto *layout = new QVBoxLayout(regionsPanel);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    m_filter = new QLineEdit(regionsPanel);
    m_filter->setPlaceholderText(tr("Filter regions (id, name, state, health…)  Ctrl+F"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setAccessibleName(tr("Filter regions"));
    connect(m_filter, &QLineEdit::textChanged, m_regionsProxy, [this](const QString &text) {
        m_regionsProxy->setFilterFixedString(text);
    });
    m_regionsView = makeTable(m_regionsProxy, regionsPanel);
    m_regionsView->setAccessibleName(tr("Regions"));
    m_regionsView->sortByColumn(RegionsModel::IdColumn, Qt::AscendingOrder);
    layout->addWidget(m_filter);
    layout->addWidget(m_regionsView);
    connect(m_regionsView->selectionModel(),
            &QItemSelectionModel::currentRowChanged,
            this,
            &MainWindow::onTableCurrentChanged);
    connect(m_regionsView, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        // From the mouse: the row under it; from the keyboard (menu key): the current row.
        QModelIndex index = m_regionsView->indexAt(pos);
        QPoint at = pos;
        if (!index.isValid()) {
            index = m_regionsView->currentIndex();
            at = m_regionsView->visualRect(index).center();
        }
        if (!index.isValid())
            return;
        showRegionMenu(index.data(RegionsModel::RegionIdRole).toString(),
                       m_regionsView->viewport()->mapToGlobal(at));
    });
    m_regionsDock = addPanel(regionsPanel,
                             tr("Regions"),
                             QStringLiteral("RegionsDock"),
                             Qt::BottomDockWidgetArea);
    resizeDocks({m_regionsDock}, {280}, Qt::Vertical);

    setTabOrder(m_map, m_filter);
    setTabOrder(m_filter, m_regionsView);
    auto *focusMap = new QAction(tr("Focus the map"), this);
    focusMap->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_1));
    connect(focusMap, &QAction::triggered, m_map, [this] { m_map->setFocus(); });
    auto *focusTable = new QAction(tr("Focus the regions table"), this);
    focusTable->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_2));
    connect(focusTable, &QAction::triggered, this, [this] {
        m_regionsDock->show();
        m_regionsDock->raise();
        m_regionsView->setFocus();
    });
    auto *focusFilter = new QAction(tr("Filter regions"), this);
    focusFilter->setShortcut(QKeySequence::Find);
    connect(focusFilter, &QAction::triggered, this, [this] {
        m_regionsDock->show();
        m_regionsDock->raise();
        m_filter->setFocus();
        m_filter->selectAll();
    });
    addActions({focusMap, focusTable, focusFilter});
}

void MainWindow::createPanels(const QString &historyPath)
{
    // Replication dashboard, event log and strategy panel share the bottom area with the regions
    // table, as tabs, so the map keeps the width of the window; any can be dragged elsewhere.
    m_replication = new ReplicationDashboard(m_watcher->client(), this);
    connect(m_watcher,
            &ClusterWatcher::clusterUpdated,
            m_replication,
            &ReplicationDashboard::setCluster);
    m_replicationDock = addPanel(m_replication,
                                 tr("Replication"),
                                 QStringLiteral("ReplicationDock"),
                                 Qt::BottomDockWidgetArea);
    tabifyDockWidget(m_regionsDock, m_replicationDock);

    m_eventLog = new EventLogDock(m_watcher->client(), this, historyPath);
    connect(m_watcher, &ClusterWatcher::eventReceived, m_eventLog, &EventLogDock::addEvent);
    addPanel(m_eventLog,
             m_eventLog->windowTitle(),
             QStringLiteral("EventLogDock"),
             Qt::BottomDockWidgetArea);
    tabifyDockWidget(m_regionsDock, m_eventLog);

    m_strategy = new StrategyPanel(m_watcher->client(), m_actions, this);
    connect(m_watcher, &ClusterWatcher::clusterUpdated, m_strategy, &StrategyPanel::setCluster);
    m_strategyDock = addPanel(m_strategy,
                              tr("Strategy"),
                              QStringLiteral("StrategyDock"),
                              Qt::BottomDockWidgetArea);
    tabifyDockWidget(m_regionsDock, m_strategyDock);

    m_cache = new EdgeCachePanel(m_watcher->client(), m_actions->purgeAction(), this);
    m_cacheDock = addPanel(m_cache,
                           tr("Edge cache"),
                           QStringLiteral("EdgeCacheDock"),
                           Qt::BottomDockWidgetArea);
    tabifyDockWidget(m_regionsDock, m_cacheDock);
    m_regionsDock->raise();
}

bool MainWindow::showPanel(const QString &name)
{
    QDockWidget *dock = name == QLatin1String("regions")       ? m_regionsDock
                        : name == QLatin1String("replication") ? m_replicationDock
                        : name == QLatin1String("events")   ? static_cast<QDockWidget *>(m_eventLog)
                        : name == QLatin1String("strategy") ? m_strategyDock
                        : name == QLatin1String("cache")    ? m_cacheDock
                                                            : nullptr;
    if (!dock)
        return false;
    dock->show();
    dock->raise();
    return true;
}

QDockWidget *MainWindow::addPanel(QWidget *panel,
                                  const QString &title,
                                  const QString &objectName,
                                  Qt::DockWidgetArea area)
{
    auto *dock = qobject_cast<QDockWidget *>(panel);
    if (!dock) {
        dock = new QDockWidget(title, this);
        // In a scroll area, so a panel with a tall minimum size never squeezes the map.
        auto *scroll = new QScrollArea(dock);
        scroll->setWidgetResizable(true);
        scroll->setFrameShape(QFrame::NoFrame);
        scroll->setWidget(panel);
        dock->setWidget(scroll);
    }
    dock->setObjectName(objectName);
    addDockWidget(area, dock);
    if (m_viewMenu)
        m_viewMenu->addAction(dock->toggleViewAction());
    return dock;
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_connect);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    m_regionMenu = menuBar()->addMenu(tr("&Region"));
    m_regionMenu->addActions(m_actions->regionActions());
    m_regionMenu->addSeparator();
    m_regionMenu->addAction(m_refresh);

    QMenu *cluster = menuBar()->addMenu(tr("&Cluster"));
    cluster->addAction(m_actions->purgeAction());
    cluster->addAction(m_actions->approveAction());

    m_demoMenu = menuBar()->addMenu(tr("&Demo"));
    m_demoMenu->addAction(m_outage);
    m_demoMenu->addAction(m_restart);
    m_demoMenu->menuAction()->setVisible(false);

    m_viewMenu = menuBar()->addMenu(tr("&View"));
    m_viewMenu->addAction(m_resetMap);
    QAction *legend = m_viewMenu->addAction(tr("Map &legend"));
    legend->setCheckable(true);
    legend->setChecked(true);
    connect(legend, &QAction::toggled, m_map, &MapWidget::setLegendVisible);
    m_viewMenu->addSeparator();
    const QList<QDockWidget *> docks = findChildren<QDockWidget *>();
    for (QDockWidget *dock : docks)
        m_viewMenu->addAction(dock->toggleViewAction());
    m_viewMenu->addSeparator();

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard shortcuts"), this, [this] {
        QMessageBox::information(
                this,
                tr("Keyboard shortcuts"),
                tr("<table>"
                   "<tr><td>Ctrl+1 / Ctrl+2</td><td>focus the map / the regions table</td></tr>"
                   "<tr><td>Ctrl+F</td><td>filter regions</td></tr>"
                   "<tr><td>[ and ] on the map</td><td>select the previous / next region</td></tr>"
                   "<tr><td>arrows, + / -, 0</td><td>pan, zoom, reset the map</td></tr>"
                   "<tr><td>Menu key, Shift+F10</td><td>actions of the selected region</td></tr>"
                   "<tr><td>Ctrl+Shift+D / A / P</td><td>drain / activate / promote the selected "
                   "region</td></tr>"
                   "<tr><td>Ctrl+Shift+L / Y / Z</td><td>dial / resync / revert</td></tr>"
                   "<tr><td>Ctrl+O</td><td>connect to a cluster</td></tr>"
                   "<tr><td>F5</td><td>refresh now</td></tr>"
                   "</table>"));
    });
    help->addAction(tr("&About Meridian"), this, [this] {
        QMessageBox::about(this,
                           tr("About Meridian"),
                           tr("<b>Meridian control room</b> %1<br/>Map data: Natural Earth "
                              "(public domain), via the world-atlas package.")
                                   .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::createStatusBar()
{
    const auto makeLabel = [this](const QString &name) {
        auto *label = new QLabel(this);
        label->setObjectName(name);
        label->setTextFormat(Qt::RichText);
        label->setContentsMargins(6, 0, 6, 0);
        return label;
    };
    m_connectionLabel = makeLabel(QStringLiteral("connectionLabel"));
    m_regionsLabel = makeLabel(QStringLiteral("regionsLabel"));
    m_lagLabel = makeLabel(QStringLiteral("lagLabel"));
    m_digestLabel = makeLabel(QStringLiteral("digestLabel"));
    m_staleLabel = makeLabel(QStringLiteral("staleLabel"));
    m_trafficLabel = makeLabel(QStringLiteral("trafficLabel"));
    m_messageLabel = makeLabel(QStringLiteral("messageLabel"));
    m_messageLabel->setTextFormat(Qt::PlainText);
    m_trafficLabel->hide();
    statusBar()->addWidget(m_connectionLabel);
    statusBar()->addWidget(m_messageLabel, 1);
    statusBar()->addPermanentWidget(m_trafficLabel);
    statusBar()->addPermanentWidget(m_regionsLabel);
    statusBar()->addPermanentWidget(m_lagLabel);
    statusBar()->addPermanentWidget(m_digestLabel);
    statusBar()->addPermanentWidget(m_staleLabel);
    m_connectionLabel->setText(statusDot(RegionStyle::unreachable()) + tr("not connected"));
}

bool MainWindow::connectToCluster(const QStringList &endpoints,
                                  const QString &token,
                                  const QString &label,
                                  QString *error,
                                  const QString &caFile)
{
    if (const QString problem = m_watcher->client()->setCaCertificatesFile(caFile);
        !problem.isEmpty()) {
        if (error)
            *error = problem;
        return false;
    }
    if (!m_watcher->setEndpoints(endpoints, token, error))
        return false;
    m_clusterLabel = label;
    // Before the watcher starts: its first events belong to this cluster's history.
    m_eventLog->setCluster(label.isEmpty() ? endpoints.join(u',') : label);
    m_hasData = false;
    m_map->setPlaceholderText(tr("Connecting to %1…").arg(endpoints.value(0)));
    m_watcher->start();
    m_digestTimer->start();
    updateTitle();
    return true;
}

void MainWindow::setDemo(DemoCluster *demo)
{
    m_demo = demo;
    m_demoMenu->menuAction()->setVisible(demo != nullptr);
    if (!demo)
        return;
    m_toolBar->addSeparator();
    m_toolBar->addAction(m_outage);
    m_toolBar->addAction(m_restart);
    m_map->setPlaceholderText(tr("Starting the demo cluster (5 regions, 1 edge, simulated WAN "
                                 "latency)…"));
    connect(demo, &DemoCluster::regionChanged, this, &MainWindow::onDemoRegionChanged);
    connect(demo, &DemoCluster::trafficStatsChanged, this, &MainWindow::onTrafficStats);
    connect(demo, &DemoCluster::failed, this, [this](const QString &error) {
        m_map->setPlaceholderText(tr("The demo cluster did not start:\n%1").arg(error));
        m_messageLabel->setText(error);
    });
    updateActions();
}

void MainWindow::setTheme(Theme *theme)
{
    m_theme = theme;
    if (!theme)
        return;
    QMenu *themeMenu = m_viewMenu->addMenu(tr("&Theme"));
    auto *group = new QActionGroup(themeMenu);
    const QList<std::pair<QString, Theme::Mode>> modes = {{tr("Follow the &system"),
                                                           Theme::Mode::System},
                                                          {tr("&Light"), Theme::Mode::Light},
                                                          {tr("&Dark"), Theme::Mode::Dark}};
    for (const auto &[text, mode] : modes) {
        QAction *action = themeMenu->addAction(text);
        action->setCheckable(true);
        action->setChecked(theme->mode() == mode);
        group->addAction(action);
        connect(action, &QAction::triggered, theme, [theme, mode] { theme->setMode(mode); });
    }
}

void MainWindow::onClusterUpdated(const Api::ClusterView &view)
{
    const bool first = !m_hasData;
    m_hasData = true;
    m_regionsModel->setRegions(view.regions);
    if (first) {
        // Size the columns to the first figures, with room for them to grow.
        m_regionsView->resizeColumnsToContents();
        for (int c = 0; c + 1 < RegionsModel::ColumnCount; ++c)
            m_regionsView->setColumnWidth(c, m_regionsView->columnWidth(c) + 24);
    }
    m_map->setCluster(view);

    int active = 0;
    int unreachable = 0;
    double worstLag = 0;
    QString worstLink;
    for (const Api::RegionStatus &r : view.regions) {
        if (r.reachable && r.state == u"active" && r.health != u"unhealthy")
            ++active;
        if (!r.reachable)
            ++unreachable;
    }
    for (const Api::LinkStatus &l : view.links) {
        if (l.secondsBehind >= worstLag) {
            worstLag = l.secondsBehind;
            worstLink = tr("%1 → %2").arg(l.origin, l.replica);
        }
    }
    const qsizetype total = view.regions.size();
    const QColor regionsColor = active == total ? RegionStyle::healthy()
                                : active == 0   ? RegionStyle::unhealthy()
                                                : RegionStyle::degraded();
    QString regionsText = statusDot(regionsColor)
                          + tr("%1/%2 regions active").arg(active).arg(total);
    if (unreachable > 0)
        regionsText += tr(", <b>%1 unreachable</b>").arg(unreachable);
    QString regionsTip = tr("Regions that are active, reachable and not unhealthy");
    if (view.quorum && !view.quorum->hasQuorum) {
        regionsText += tr(", <b>no control quorum (%1 of %2 nodes)</b>")
                               .arg(view.quorum->reachable)
                               .arg(view.quorum->voters);
        regionsTip += tr("\nThe node this window talks to reaches too few nodes for a control "
                         "leader: actions are refused unless forced, and the other side of a "
                         "partition may still be acting.");
    }
    m_regionsLabel->setText(regionsText);
    m_regionsLabel->setToolTip(regionsTip);
    m_lagLabel->setText(statusDot(RegionStyle::lagColor(worstLag, {}))
                        + tr("worst lag %1").arg(RegionStyle::formatLag(worstLag)));
    m_lagLabel->setToolTip(worstLink.isEmpty() ? tr("No replication links")
                                               : tr("Worst link: %1").arg(worstLink));
    if (m_digestLabel->text().isEmpty())
        pollDigest();
    updateActions();
}

void MainWindow::pollDigest()
{
    if (!m_watcher->isRunning())
        return;
    m_watcher->client()->digest(this, [this](const Api::ApiResult<Api::DigestReport> &result) {
        if (!result) {
            m_digestLabel->setText(statusDot(RegionStyle::unknown()) + tr("digest unknown"));
            m_digestLabel->setToolTip(result.error().toString());
            return;
        }
        const Api::DigestReport &report = result.value();
        int reachable = 0;
        for (const Api::RegionDigest &d : report.regions)
            reachable += d.reachable ? 1 : 0;
        switch (m_digestJudge.judge(report, m_watcher->lastView().links)) {
        case DigestJudge::Verdict::Agree:
            m_digestLabel->setText(statusDot(RegionStyle::healthy())
                                   + tr("data agrees (%1 regions)").arg(reachable));
            break;
        case DigestJudge::Verdict::AgreeAmongAnswering:
            m_digestLabel->setText(statusDot(RegionStyle::degraded())
                                   + tr("data agrees in the %1 of %2 regions that answered")
                                             .arg(reachable)
                                             .arg(report.regions.size()));
            break;
        case DigestJudge::Verdict::InFlight:
            m_digestLabel->setText(statusDot(RegionStyle::degraded())
                                   + tr("digests differ (writes in flight)"));
            break;
        case DigestJudge::Verdict::Differ:
            m_digestLabel->setText(statusDot(RegionStyle::unhealthy())
                                   + tr("data differs across regions"));
            break;
        }
        m_digestLabel->setToolTip(tr("Digest of every region's replicated data, compared every "
                                     "10 s; replication in flight shows as a difference for a "
                                     "moment"));
    });
}

void MainWindow::onStaleness(double seconds)
{
    m_map->setStaleness(seconds);
    if (seconds < 0) {
        m_staleLabel->setText(tr("no data yet"));
        return;
    }
    const QColor color = seconds < 3    ? RegionStyle::healthy()
                         : seconds < 10 ? RegionStyle::degraded()
                                        : RegionStyle::unhealthy();
    m_staleLabel->setText(
            statusDot(color)
            + (seconds < 1.5
                       ? tr("updated just now")
                       : tr("updated %1 ago").arg(RegionStyle::formatLag(std::floor(seconds)))));
}

void MainWindow::onConnectionState(ClusterWatcher::ConnectionState state, const QString &text)
{
    QColor color = RegionStyle::unknown();
    switch (state) {
    case ClusterWatcher::ConnectionState::Connected:
        color = RegionStyle::healthy();
        break;
    case ClusterWatcher::ConnectionState::Connecting:
        color = RegionStyle::degraded();
        break;
    case ClusterWatcher::ConnectionState::Failing:
    case ClusterWatcher::ConnectionState::AuthFailed:
        color = RegionStyle::unhealthy();
        break;
    case ClusterWatcher::ConnectionState::Idle:
        color = RegionStyle::unreachable();
        break;
    }
    m_connectionLabel->setText(statusDot(color) + text.toHtmlEscaped());
    if (!m_hasData && state != ClusterWatcher::ConnectionState::Connected)
        m_map->setPlaceholderText(text);
}

QString MainWindow::connectionText() const
{
    return m_connectionLabel->text();
}

QString MainWindow::healthText() const
{
    return m_regionsLabel->text() + QStringLiteral(" | ") + m_lagLabel->text()
           + QStringLiteral(" | ") + m_digestLabel->text();
}

QString MainWindow::stalenessText() const
{
    return m_staleLabel->text();
}

void MainWindow::selectRegion(const QString &id)
{
    if (m_syncingSelection)
        return;
    const QString next = region(id) ? id : QString();
    m_syncingSelection = true;
    m_map->setSelectedRegion(next);
    const int row = m_regionsModel->rowOf(next);
    if (row >= 0) {
        const QModelIndex proxyIndex = m_regionsProxy->mapFromSource(m_regionsModel->index(row, 0));
        if (proxyIndex.isValid()) {
            m_regionsView->selectionModel()->setCurrentIndex(proxyIndex,
                                                             QItemSelectionModel::ClearAndSelect
                                                                     | QItemSelectionModel::Rows);
            m_regionsView->scrollTo(proxyIndex);
        }
    } else {
        m_regionsView->selectionModel()->clearSelection();
    }
    m_syncingSelection = false;
    if (next != m_selected) {
        m_selected = next;
        updateActions();
        emit selectedRegionChanged(m_selected);
    }
}

void MainWindow::onTableCurrentChanged()
{
    if (m_syncingSelection)
        return;
    const QModelIndex current = m_regionsView->selectionModel()->currentIndex();
    if (current.isValid())
        selectRegion(current.data(RegionsModel::RegionIdRole).toString());
}

void MainWindow::showRegionMenu(const QString &id, const QPoint &globalPos)
{
    selectRegion(id);
    QMenu menu(this);
    const Api::RegionStatus *r = region(id);
    QAction *title = menu.addAction(r && !r->name.isEmpty() ? tr("%1 (%2)").arg(r->name, id) : id);
    title->setEnabled(false);
    menu.addSeparator();
    m_actions->setSelectedRegion(id);
    menu.addActions(m_actions->regionActions());
    if (m_demo) {
        menu.addSeparator();
        menu.addAction(m_outage);
        menu.addAction(m_restart);
    }
    menu.exec(globalPos);
}

const Api::RegionStatus *MainWindow::region(const QString &id) const
{
    if (id.isEmpty())
        return nullptr;
    for (const Api::RegionStatus &r : m_regionsModel->regions()) {
        if (r.id == id)
            return &r;
    }
    return nullptr;
}

void MainWindow::updateActions()
{
    const Api::RegionStatus *r = region(m_selected);
    const bool demoRegion = m_demo && r && m_demo->regionIds().contains(r->id);
    m_outage->setEnabled(demoRegion && !m_demo->downRegions().contains(r->id));
    m_restart->setEnabled(demoRegion && m_demo->downRegions().contains(r->id));
}

void MainWindow::updateTitle()
{
    setWindowTitle(m_clusterLabel.isEmpty() ? tr("Meridian control room")
                                            : tr("%1 — Meridian control room").arg(m_clusterLabel));
}

QAction *MainWindow::drainAction() const
{
    return m_actions->drainAction();
}

QAction *MainWindow::activateAction() const
{
    return m_actions->activateAction();
}

void MainWindow::setInteractive(bool interactive)
{
    m_interactive = interactive;
}

bool MainWindow::confirm(const QString &title, const QString &text)
{
    if (!m_interactive)
        return true;
    return QMessageBox::question(this, title, text, QMessageBox::Yes | QMessageBox::Cancel)
           == QMessageBox::Yes;
}

QString MainWindow::statusMessage() const
{
    return m_messageLabel->text();
}

void MainWindow::onOperationProgress(const OperationProgress &progress)
{
    m_messageLabel->setText(progress.text);
    if (progress.finished)
        m_watcher->refresh();
}

void MainWindow::setProfileStore(ProfileStore *profiles)
{
    m_profiles = profiles;
    m_connect->setEnabled(profiles != nullptr);
}

void MainWindow::showConnectDialog()
{
    if (!m_profiles)
        return;
    auto *dialog = new ConnectDialog(m_profiles, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!m_profiles->lastUsed().isEmpty())
        dialog->selectProfile(m_profiles->lastUsed());
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const ClusterProfile profile = dialog->profile();
        // The endpoint that answered the test first, then the others for failover.
        QStringList endpoints = profile.endpoints;
        const QString answered = dialog->connectedEndpoint();
        if (!answered.isEmpty()) {
            endpoints.removeAll(answered);
            endpoints.prepend(answered);
        }
        m_profiles->setLastUsed(profile.name);
        QString error;
        if (!connectToCluster(endpoints, profile.token, profile.name, &error, profile.caFile))
            m_messageLabel->setText(error);
    });
    dialog->open();
}

void MainWindow::connectToProfile(const QString &name)
{
    if (!m_profiles)
        return;
    const std::optional<ClusterProfile> profile = m_profiles->profile(name);
    if (!profile) {
        showConnectDialog();
        return;
    }
    m_map->setPlaceholderText(tr("Reading the token of %1…").arg(name));
    m_profiles->loadToken(name, this, [this, profile = *profile](const QString &token) {
        QString error;
        if (!connectToCluster(profile.endpoints, token, profile.name, &error, profile.caFile)) {
            m_messageLabel->setText(error);
            showConnectDialog();
        }
    });
}

void MainWindow::onDemoRegionChanged(const QString &id, bool running, const QString &error)
{
    if (!error.isEmpty())
        m_messageLabel->setText(tr("%1: %2").arg(id, error));
    else
        m_messageLabel->setText(running ? tr("%1 is running again").arg(id)
                                        : tr("%1 was killed (simulated outage)").arg(id));
    updateActions();
    m_watcher->refresh();
}

void MainWindow::onTrafficStats(const TrafficStats &stats)
{
    m_trafficLabel->show();
    m_trafficLabel->setText(
            tr("demo traffic %1 req/s %2 · %3 failed")
                    .arg(RegionStyle::formatRate(stats.ratePerS),
                         stats.viaEdge ? tr("via the edge") : tr("straight to regions"))
                    .arg(stats.failed));
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    m_watcher->stop();
    QMainWindow::closeEvent(event);
}

} // namespace Meridian
