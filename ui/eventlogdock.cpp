#include "ui/eventlogdock.h"

#include "core/control/controlclient.h"

#include <QAction>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPalette>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Meridian {

// ---- EventLogModel ----

EventLogModel::EventLogModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

void EventLogModel::setEntries(const QList<HistoryEntry> &entries)
{
    beginResetModel();
    m_entries = entries.mid(0, m_maxRows);
    endResetModel();
}

void EventLogModel::prependEntry(const HistoryEntry &entry)
{
    if (m_entries.size() >= m_maxRows) {
        beginRemoveRows({}, int(m_entries.size()) - 1, int(m_entries.size()) - 1);
        m_entries.removeLast();
        endRemoveRows();
    }
    beginInsertRows({}, 0, 0);
    m_entries.prepend(entry);
    endInsertRows();
}

int EventLogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int EventLogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventLogModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const HistoryEntry &e = m_entries.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return e.time.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s);
        case SourceColumn:
            return e.source;
        case TypeColumn:
            return e.type;
        case RegionColumn:
            return e.region;
        case SummaryColumn:
            return e.summary;
        }
        return {};
    case Qt::ToolTipRole:
        return e.detail.isEmpty() ? e.summary : e.summary + u"\n\n"_s + e.detail.left(2000);
    case Qt::ForegroundRole:
        if (index.column() == SummaryColumn
            && (e.summary.contains(u"→ 4"_s) || e.summary.contains(u"→ 5"_s)
                || e.summary.contains(u"unhealthy"_s) || e.summary.contains(u"unreachable"_s)))
            return QPalette().color(QPalette::Base).lightness() < 128 ? QColor(0xff, 0x8a, 0x80)
                                                                      : QColor(0xb0, 0x1c, 0x1c);
        return {};
    case DetailRole:
        return e.detail;
    case SourceRole:
        return e.source;
    case TimeRole:
        return e.time;
    }
    return {};
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case SourceColumn:
        return tr("Source");
    case TypeColumn:
        return tr("Type");
    case RegionColumn:
        return tr("Region");
    case SummaryColumn:
        return tr("What happened");
    }
    return {};
}

// ---- EventLogDock ----

EventLogDock::EventLogDock(ControlClient *client, QWidget *parent, const QString &historyPath)
    : QDockWidget(tr("Events and audit log"), parent)
    , m_client(client)
    , m_history(std::make_unique<EventHistory>(historyPath))
    , m_model(new EventLogModel(this))
    , m_search(new QLineEdit)
    , m_type(new QComboBox)
    , m_view(new QTableView)
    , m_detail(new QPlainTextEdit)
    , m_status(new QLabel)
    , m_auditTimer(new QTimer(this))
    , m_searchDelay(new QTimer(this))
{
    setObjectName(u"EventLogDock"_s);
    if (!m_history->open(&m_openError))
        qWarning("meridian: %s", qPrintable(m_openError));

    m_search->setPlaceholderText(tr("Search events and audit entries…"));
    m_search->setClearButtonEnabled(true);
    m_search->setAccessibleName(tr("Search the event log"));
    m_type->setAccessibleName(tr("Type of entries shown"));
    m_type->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    auto *refresh = new QToolButton;
    refresh->setText(tr("Refresh audit"));
    refresh->setToolTip(tr("Read the cluster's audit log now"));
    refresh->setEnabled(m_client != nullptr);

    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_view->setColumnWidth(EventLogModel::TimeColumn,
                           m_view->fontMetrics().horizontalAdvance(u"0000-00-00 00:00:00__"_s));
    m_view->setColumnWidth(EventLogModel::SourceColumn, 60);
    m_view->setColumnWidth(EventLogModel::TypeColumn, 80);
    m_view->setColumnWidth(EventLogModel::RegionColumn, 90);

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_search, 1);
    bar->addWidget(m_type);
    bar->addWidget(refresh);
    auto *content = new QWidget;
    auto *layout = new QVBoxLayout(content);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    // The selected entry in full (its JSON), selectable for copying.
    m_detail->setReadOnly(true);
    m_detail->setPlaceholderText(tr("Select an entry to see all of it"));
    m_detail->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_detail->setAccessibleName(tr("The selected entry in full"));
    auto *split = new QSplitter(Qt::Vertical);
    split->addWidget(m_view);
    split->addWidget(m_detail);
    split->setStretchFactor(0, 4);
    split->setStretchFactor(1, 1);
    split->setCollapsible(0, false);
    layout->addWidget(split, 1);
    layout->addWidget(m_status);
    setWidget(content);

    auto *find = new QAction(tr("Search the event log"), this);
    find->setShortcut(QKeySequence::Find);
    find->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(find, &QAction::triggered, this, [this] {
        m_search->setFocus(Qt::ShortcutFocusReason);
        m_search->selectAll();
    });
    addAction(find);
    connect(m_view->selectionModel(),
            &QItemSelectionModel::currentRowChanged,
            this,
            [this](const QModelIndex &current) { showDetail(current.row()); });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] { showDetail(-1); });

    m_searchDelay->setSingleShot(true);
    m_searchDelay->setInterval(200);
    connect(m_searchDelay, &QTimer::timeout, this, &EventLogDock::reload);
    connect(m_search, &QLineEdit::textChanged, m_searchDelay, qOverload<>(&QTimer::start));
    connect(m_type, &QComboBox::currentIndexChanged, this, &EventLogDock::reload);
    connect(refresh, &QToolButton::clicked, this, &EventLogDock::refreshAudit);

    m_auditTimer->setInterval(10000);
    connect(m_auditTimer, &QTimer::timeout, this, &EventLogDock::refreshAudit);
    connect(this, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (visible && m_client) {
            refreshAudit();
            m_auditTimer->start();
        } else {
            m_auditTimer->stop();
        }
    });

    updateTypes();
    reload();
}

EventLogDock::~EventLogDock() = default;

void EventLogDock::showDetail(int row)
{
    if (row < 0 || row >= m_model->rowCount()) {
        m_detail->clear();
        return;
    }
    const HistoryEntry &entry = m_model->entry(row);
    QString detail = entry.detail;
    const QJsonDocument json = QJsonDocument::fromJson(entry.detail.toUtf8());
    if (!json.isNull())
        detail = QString::fromUtf8(json.toJson(QJsonDocument::Indented)).trimmed();
    m_detail->setPlainText(u"%1  %2 %3  %4\n%5"_s.arg(entry.time.toLocalTime().toString(
                                                              u"yyyy-MM-dd HH:mm:ss.zzz"_s),
                                                      entry.source,
                                                      entry.type,
                                                      entry.summary,
                                                      detail));
}

void EventLogDock::setTypeFilter(const QString &type)
{
    updateTypes();
    const int index = m_type->findData(type);
    if (index >= 0)
        m_type->setCurrentIndex(index);
}

void EventLogDock::setSearchText(const QString &text)
{
    m_search->setText(text);
    m_searchDelay->stop();
    reload();
}

void EventLogDock::setCluster(const QString &cluster)
{
    if (cluster == m_history->cluster())
        return;
    m_history->setCluster(cluster);
    m_detail->clear();
    updateTypes();
    reload();
}

void EventLogDock::updateTypes()
{
    const QString current = m_type->currentData().toString();
    QStringList types = m_history->eventTypes();
    for (const QString &known : {u"action"_s, u"state"_s, u"health"_s}) {
        if (!types.contains(known))
            types.append(known);
    }
    types.sort();
    QStringList present;
    for (int i = 0; i < m_type->count(); ++i)
        present.append(m_type->itemData(i).toString());
    QStringList wanted{QString(), u"audit"_s};
    for (const QString &type : std::as_const(types))
        wanted.append(type);
    if (present == wanted)
        return;
    const QSignalBlocker blocker(m_type);
    m_type->clear();
    m_type->addItem(tr("All entries"), QString());
    m_type->addItem(tr("Audit log"), u"audit"_s);
    for (const QString &type : std::as_const(types))
        m_type->addItem(tr("Events: %1").arg(type), type);
    m_type->setCurrentIndex(std::max(0, m_type->findData(current)));
}

bool EventLogDock::matchesFilter(const HistoryEntry &entry) const
{
    const QString type = m_type->currentData().toString();
    if (type == u"audit" && entry.source != u"audit")
        return false;
    if (!type.isEmpty() && type != u"audit" && (entry.source != u"event" || entry.type != type))
        return false;
    const QString needle = m_search->text().trimmed();
    if (needle.isEmpty())
        return true;
    for (const QString *field : {&entry.summary, &entry.type, &entry.region, &entry.detail}) {
        if (field->contains(needle, Qt::CaseInsensitive))
            return true;
    }
    return false;
}

void EventLogDock::reload()
{
    m_model->setEntries(m_history->search(m_search->text(),
                                          m_type->currentData().toString(),
                                          m_model->maxRows()));
    updateStatus();
}

void EventLogDock::updateStatus(const QString &extra)
{
    QString text;
    if (!m_history->isOpen()) {
        text = tr("History not kept: %1").arg(m_openError);
    } else {
        text = tr("%1 shown of %2 kept in %3")
                       .arg(m_model->rowCount())
                       .arg(m_history->count())
                       .arg(m_history->path());
    }
    if (!extra.isEmpty())
        text += u" · "_s + extra;
    m_status->setText(text);
}

void EventLogDock::addEvent(const Api::ApiEvent &event)
{
    std::optional<HistoryEntry> entry;
    if (m_history->isOpen()) {
        entry = m_history->addEvent(event);
        if (!entry)
            return; // an ignored type, or a replayed event
    } else {
        // Without a history file the live events are still shown.
        if (m_history->isIgnored(event.type))
            return;
        entry = EventHistory::fromEvent(event, QDateTime::currentDateTimeUtc());
    }
    if (m_type->findData(entry->type) < 0 && entry->source == u"event")
        updateTypes();
    if (matchesFilter(*entry)) {
        m_model->prependEntry(*entry);
        updateStatus();
    }
}

void EventLogDock::refreshAudit()
{
    if (!m_client || m_auditCall)
        return; // one read at a time
    m_auditCall = m_client->audit(200,
                                  this,
                                  [this, cluster = m_history->cluster()](
                                          const Api::ApiResult<QList<Api::AuditEntry>> &result) {
                                      if (cluster != m_history->cluster())
                                          return; // asked of the cluster shown before
                                      if (!result) {
                                          updateStatus(tr("audit log not read: %1")
                                                               .arg(result.error().toString()));
                                          emit auditFailed(result.error());
                                          return;
                                      }
                                      int added = 0;
                                      // Oldest first, so the ids follow time.
                                      const QList<Api::AuditEntry> &entries = result.value();
                                      for (auto it = entries.crbegin(); it != entries.crend();
                                           ++it) {
                                          if (m_history->addAudit(*it))
                                              ++added;
                                      }
                                      if (added > 0)
                                          reload();
                                      emit auditRefreshed(added);
                                  });
}

} // namespace Meridian
