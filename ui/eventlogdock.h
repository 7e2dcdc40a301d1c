#pragma once

// EventLogDock: the event and audit log of the control room, a dock with a search box, a type
// filter and a table of live events (addEvent) and audit entries (ControlClient::audit, re-read
// every 10 s while the dock is visible), all kept in a local EventHistory across restarts.
//
// How to wire it (MainWindow):
//   auto *log = new Meridian::EventLogDock(client, this); // history in AppDataLocation
//   addDockWidget(Qt::BottomDockWidgetArea, log);
//   connect(watcher, &ClusterWatcher::eventReceived, log, &Meridian::EventLogDock::addEvent);
//   viewMenu->addAction(log->toggleViewAction());
// Tests pass a history path: new EventLogDock(client, nullptr, dir.filePath(u"h.sqlite"_s)).

#include "core/control/apitypes.h"
#include "ui/eventhistory.h"

#include <QAbstractTableModel>
#include <QDockWidget>
#include <QPointer>

#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTableView;
class QTimer;

namespace Meridian {

class ControlCall;
class ControlClient;

// The rows of the event log, newest first, at most maxRows().
class EventLogModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventLogModel)

public:
    enum Column { TimeColumn, SourceColumn, TypeColumn, RegionColumn, SummaryColumn, ColumnCount };
    enum Role { DetailRole = Qt::UserRole, SourceRole, TimeRole };

    explicit EventLogModel(QObject *parent = nullptr);

    void setEntries(const QList<HistoryEntry> &entries);
    // A new entry on top (the oldest row goes when the model is full).
    void prependEntry(const HistoryEntry &entry);
    const HistoryEntry &entry(int row) const { return m_entries.at(row); }
    void setMaxRows(int rows) { m_maxRows = rows; }
    int maxRows() const { return m_maxRows; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QList<HistoryEntry> m_entries;
    int m_maxRows = 2000;
};

class EventLogDock final : public QDockWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventLogDock)

public:
    // `client` may be null (no audit log then); `historyPath` empty: EventHistory::defaultPath().
    explicit EventLogDock(ControlClient *client,
                          QWidget *parent = nullptr,
                          const QString &historyPath = {});
    ~EventLogDock() override;

    EventHistory &history() { return *m_history; }
    EventLogModel *model() const { return m_model; }
    QLineEdit *searchBox() const { return m_search; }
    QComboBox *typeFilter() const { return m_type; }
    QTableView *view() const { return m_view; }
    QPlainTextEdit *detailView() const { return m_detail; }
    // Selects a type filter: "" (all), "audit" or an event type.
    void setTypeFilter(const QString &type);
    void setSearchText(const QString &text);
    // Shows and records the history of this cluster (see EventHistory::setCluster).
    void setCluster(const QString &cluster);

public slots:
    void addEvent(const Meridian::Api::ApiEvent &event);
    // Reads the newest audit entries now (also done every 10 s while visible).
    void refreshAudit();
    // Re-runs the search over the history.
    void reload();

signals:
    // The audit log was read (newEntries of them not seen before) or could not be.
    void auditRefreshed(int newEntries);
    void auditFailed(const Meridian::Api::ApiError &error);

private:
    bool matchesFilter(const HistoryEntry &entry) const;
    void updateTypes();
    void updateStatus(const QString &extra = {});
    void showDetail(int row);

    ControlClient *m_client;
    std::unique_ptr<EventHistory> m_history;
    EventLogModel *m_model;
    QLineEdit *m_search;
    QComboBox *m_type;
    QTableView *m_view;
    QPlainTextEdit *m_detail;
    QLabel *m_status;
    QTimer *m_auditTimer;
    QPointer<ControlCall> m_auditCall;
    QTimer *m_searchDelay;
    QString m_openError;
};

} // namespace Meridian
