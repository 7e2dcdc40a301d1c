#include "ui/edgecachepanel.h"

#include "core/control/controlclient.h"
#include "ui/edgecachemodel.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// The edges' figures come from their probes (about once a second); a few seconds is fresh
// enough for a cache, and keeps a hidden-then-shown panel cheap.
constexpr int kRefreshMs = 5000;

} // namespace

EdgeCachePanel::EdgeCachePanel(ControlClient *client, QAction *purgeAction, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_model(new EdgeCacheModel(this))
    , m_view(new QTableView(this))
    , m_summary(new QLabel(this))
    , m_timer(new QTimer(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    auto *top = new QHBoxLayout;
    m_summary->setObjectName(u"cacheSummary"_s);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setText(tr("Edge cache: waiting for the figures…"));
    top->addWidget(m_summary, 1);
    if (purgeAction) {
        auto *purge = new QToolButton(this);
        purge->setDefaultAction(purgeAction);
        purge->setToolButtonStyle(Qt::ToolButtonTextOnly);
        top->addWidget(purge);
    }
    layout->addLayout(top);

    auto *proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(m_model);
    proxy->setSortRole(EdgeCacheModel::SortRole);
    m_view->setModel(proxy);
    m_view->setAccessibleName(tr("Edge caches"));
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(EdgeCacheModel::EdgeColumn, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_view->horizontalHeader()->setStretchLastSection(false);
    layout->addWidget(m_view, 1);

    m_timer->setInterval(kRefreshMs);
    connect(m_timer, &QTimer::timeout, this, &EdgeCachePanel::refresh);
}

EdgeCachePanel::~EdgeCachePanel() = default;

void EdgeCachePanel::refresh()
{
    if (m_call)
        return;
    m_call = m_client->cacheStats(this, [this](const auto &result) {
        m_call.clear();
        if (!result.ok()) {
            m_summary->setText(
                    tr("Edge cache figures unavailable: %1").arg(result.error().toString()));
            emit refreshed();
            return;
        }
        m_model->setEdges(result.value());
        const QList<Api::EdgeCacheStats> &edges = result.value();
        if (edges.isEmpty()) {
            m_summary->setText(tr("This cluster has no edge gateway."));
            emit refreshed();
            return;
        }
        int answering = 0;
        qint64 entries = 0;
        qint64 bytes = 0;
        for (const Api::EdgeCacheStats &e : edges) {
            if (e.reachable && e.enabled) {
                ++answering;
                entries += e.entries;
                bytes += e.bytes;
            }
        }
        const double ratio = m_model->overallHitRatio();
        m_summary->setText(
                tr("%1 of %2 edge cache(s) answering · hit ratio %3 · %4 entries, %5")
                        .arg(answering)
                        .arg(edges.size())
                        .arg(ratio < 0 ? tr("—") : u"%1 %"_s.arg(ratio * 100.0, 0, 'f', 1))
                        .arg(entries)
                        .arg(QLocale::system().formattedDataSize(bytes)));
        emit refreshed();
    });
}

void EdgeCachePanel::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
    m_timer->start();
}

void EdgeCachePanel::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_timer->stop();
}

} // namespace Meridian
