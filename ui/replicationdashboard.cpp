#include "ui/replicationdashboard.h"

#include "core/control/controlclient.h"
#include "ui/digestmodel.h"
#include "ui/linktablemodel.h"
#include "ui/overwrittenmodel.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDateTimeAxis>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QPushButton>
#include <QSaveFile>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// Time buckets per series: at most twice as many points as this are drawn per link.
constexpr int kChartBuckets = 200;
// Points per chart up to which lines are antialiased.
constexpr qsizetype kSmoothPointLimit = 4000;

const QList<QColor> &seriesColors()
{
    static const QList<QColor> colors{{0x1f, 0x77, 0xb4},
                                      {0xff, 0x7f, 0x0e},
                                      {0x2c, 0xa0, 0x2c},
                                      {0xd6, 0x27, 0x28},
                                      {0x94, 0x67, 0xbd},
                                      {0x8c, 0x56, 0x4b},
                                      {0xe3, 0x77, 0xc2},
                                      {0x7f, 0x7f, 0x7f},
                                      {0xbc, 0xbd, 0x22},
                                      {0x17, 0xbe, 0xcf}};
    return colors;
}

QChart *makeChart(const QString &title, QDateTimeAxis **x, QValueAxis **y, const QString &yTitle)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->legend()->setAlignment(Qt::AlignRight);
    chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);
    QFont legendFont = chart->legend()->font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.85);
    chart->legend()->setFont(legendFont);
    *x = new QDateTimeAxis;
    (*x)->setFormat(u"HH:mm:ss"_s);
    (*x)->setTickCount(6);
    *y = new QValueAxis;
    (*y)->setTitleText(yTitle);
    (*y)->setLabelFormat(u"%.2f"_s);
    (*y)->setRange(0, 1);
    chart->addAxis(*x, Qt::AlignBottom);
    chart->addAxis(*y, Qt::AlignLeft);
    return chart;
}

QTableView *makeTable(QAbstractItemModel *model, int sortRole)
{
    auto *proxy = new QSortFilterProxyModel(model);
    proxy->setSourceModel(model);
    proxy->setSortRole(sortRole);
    auto *view = new QTableView;
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->sortByColumn(0, Qt::AscendingOrder);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setAlternatingRowColors(true);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    view->horizontalHeader()->setStretchLastSection(true);
    return view;
}

} // namespace

ReplicationDashboard::ReplicationDashboard(ControlClient *client, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_charts(new QWidget)
    , m_range(new QComboBox)
    , m_summary(new QLabel)
    , m_digestLabel(new QLabel)
    , m_linkModel(new LinkTableModel(this))
    , m_digestModel(new DigestModel(this))
    , m_overwrittenModel(new OverwrittenModel(this))
    , m_overwrittenLabel(new QLabel)
    , m_digestTimer(new QTimer(this))
{
    setObjectName(u"ReplicationDashboard"_s);
    m_lagChart = makeChart(tr("Replication lag per link"), &m_lagX, &m_lagY, tr("seconds behind"));
    m_rateChart = makeChart(tr("Apply rate per link"), &m_rateX, &m_rateY, tr("entries / s"));
    m_rateY->setLabelFormat(u"%.0f"_s);
    auto *lagView = new QChartView(m_lagChart);
    auto *rateView = new QChartView(m_rateChart);
    m_lagView = lagView;
    m_rateView = rateView;
    for (QChartView *view : {lagView, rateView}) {
        view->setRenderHint(QPainter::Antialiasing);
        view->setMinimumHeight(200);
    }
    auto *chartsLayout = new QVBoxLayout(m_charts);
    chartsLayout->setContentsMargins(0, 0, 0, 0);
    chartsLayout->addWidget(lagView);
    chartsLayout->addWidget(rateView);

    for (int minutes : {1, 5, 15, 60})
        m_range->addItem(tr("Last %n min", nullptr, minutes), minutes);
    m_range->setCurrentIndex(m_range->findData(m_rangeMinutes));
    m_range->setAccessibleName(tr("Time range of the charts"));
    auto *png = new QPushButton(tr("Export PNG…"));
    auto *csv = new QPushButton(tr("Export CSV…"));
    png->setToolTip(tr("Save the charts as an image"));
    csv->setToolTip(tr("Save the samples of the selected range as CSV"));
    m_digestLabel->setText(client ? tr("Digest agreement: not read yet")
                                  : tr("Digest agreement: no connection"));
    m_digestLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Range:")));
    bar->addWidget(m_range);
    bar->addStretch(1);
    bar->addWidget(png);
    bar->addWidget(csv);
    // At a glance: the worst link and the digest agreement, each elided rather than widening
    // the dashboard.
    auto *glance = new QHBoxLayout;
    for (QLabel *label : {m_summary, m_digestLabel})
        label->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    glance->addWidget(m_summary, 1);
    glance->addWidget(m_digestLabel, 1);

    m_linkView = makeTable(m_linkModel, LinkTableModel::SortRole);
    m_digestView = makeTable(m_digestModel, DigestModel::SortRole);
    m_linkView->setAccessibleName(tr("Replication links"));
    m_digestView->setAccessibleName(tr("Digest per region"));
    // Under the digests: the overwritten journal of the region selected there.
    m_overwrittenView = makeTable(m_overwrittenModel, OverwrittenModel::SortRole);
    m_overwrittenView->setAccessibleName(tr("Overwritten writes of the selected region"));
    m_overwrittenView->sortByColumn(OverwrittenModel::SeenColumn, Qt::DescendingOrder);
    m_overwrittenLabel->setText(tr("Select a region above to see the writes that lost a "
                                   "conflict there."));
    m_overwrittenLabel->setWordWrap(true);
    m_overwrittenLabel->setObjectName(u"overwrittenLabel"_s);
    m_digestView->setSelectionMode(QAbstractItemView::SingleSelection);
    auto *journal = new QWidget;
    auto *journalLayout = new QVBoxLayout(journal);
    journalLayout->setContentsMargins(0, 0, 0, 0);
    journalLayout->addWidget(m_overwrittenLabel);
    journalLayout->addWidget(m_overwrittenView, 1);
    auto *digests = new QSplitter(Qt::Vertical);
    digests->addWidget(m_digestView);
    digests->addWidget(journal);
    auto *tables = new QSplitter(Qt::Horizontal);
    tables->addWidget(m_linkView);
    tables->addWidget(digests);
    tables->setStretchFactor(0, 5);
    tables->setStretchFactor(1, 4);

    auto *split = new QSplitter(Qt::Vertical);
    split->addWidget(m_charts);
    split->addWidget(tables);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addLayout(glance);
    layout->addWidget(split, 1);

    applyChartTheme();
    connect(m_range, &QComboBox::currentIndexChanged, this, [this] {
        setRangeMinutes(m_range->currentData().toInt());
    });
    connect(png, &QPushButton::clicked, this, [this] { promptExport(true); });
    connect(csv, &QPushButton::clicked, this, [this] { promptExport(false); });
    connect(m_digestView->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
        const QModelIndex current = m_digestView->currentIndex();
        if (current.isValid())
            showOverwritten(current.siblingAtColumn(DigestModel::RegionColumn).data().toString());
    });
    m_digestTimer->setInterval(5000);
    connect(m_digestTimer, &QTimer::timeout, this, &ReplicationDashboard::refreshDigest);
}

ReplicationDashboard::~ReplicationDashboard() = default;

void ReplicationDashboard::setRangeMinutes(int minutes)
{
    m_rangeMinutes = std::clamp(minutes, 1, 60);
    const int index = m_range->findData(m_rangeMinutes);
    if (index >= 0 && index != m_range->currentIndex()) {
        const QSignalBlocker blocker(m_range);
        m_range->setCurrentIndex(index);
    }
    const QString format = m_rangeMinutes >= 15 ? u"HH:mm"_s : u"HH:mm:ss"_s;
    m_lagX->setFormat(format);
    m_rateX->setFormat(format);
    refreshCharts();
}

void ReplicationDashboard::setDigestInterval(int ms)
{
    m_digestTimer->setInterval(ms);
}

void ReplicationDashboard::setCluster(const Api::ClusterView &view)
{
    m_history.addView(view);
    m_links = view.links;
    m_linkModel->setLinks(view.links);
    m_summary->setText(summarize(view.links));
    if (isVisible())
        refreshCharts();
    else
        m_chartsDirty = true;
}

QList<QPointF> ReplicationDashboard::decimate(const QList<QPointF> &points, int buckets)
{
    if (buckets < 1 || points.size() <= 2 * buckets)
        return points;
    // Per time bucket its lowest and highest point, in time order: a spike of lag stays visible
    // however many samples share a pixel column.
    QList<QPointF> out;
    out.reserve(2 * buckets + 2);
    const double first = points.first().x();
    const double width = (points.last().x() - first) / buckets;
    qsizetype i = 0;
    for (int b = 0; b < buckets && i < points.size(); ++b) {
        const double end = b == buckets - 1 ? points.last().x() : first + width * (b + 1);
        const QPointF *low = nullptr;
        const QPointF *high = nullptr;
        for (; i < points.size() && points.at(i).x() <= end; ++i) {
            const QPointF &p = points.at(i);
            if (!low || p.y() < low->y())
                low = &p;
            if (!high || p.y() > high->y())
                high = &p;
        }
        if (!low)
            continue;
        if (low == high) {
            out.append(*low);
        } else if (low->x() < high->x()) {
            out.append(*low);
            out.append(*high);
        } else {
            out.append(*high);
            out.append(*low);
        }
    }
    return out;
}

QString ReplicationDashboard::summarize(const QList<Api::LinkStatus> &links)
{
    if (links.isEmpty())
        return tr("No replication links");
    const Api::LinkStatus *worst = &links.first();
    qint64 backlog = 0;
    int caughtUp = 0;
    for (const Api::LinkStatus &link : links) {
        if (link.secondsBehind > worst->secondsBehind)
            worst = &link;
        backlog += link.entriesBehind;
        if (link.state == u"caught_up")
            ++caughtUp;
    }
    return tr("Worst lag %1 s (%2) · backlog %3 · %4 of %5 links caught up")
            .arg(QLocale::c().toString(worst->secondsBehind, 'f', 2),
                 ReplicationHistory::linkKey(*worst))
            .arg(backlog)
            .arg(caughtUp)
            .arg(links.size());
}

qint64 ReplicationDashboard::rangeStartMs() const
{
    const qint64 end = m_history.newestMs() > 0 ? m_history.newestMs()
                                                : QDateTime::currentMSecsSinceEpoch();
    return end - qint64(m_rangeMinutes) * 60000;
}

ReplicationDashboard::Series &ReplicationDashboard::seriesFor(const QString &key)
{
    auto it = m_series.find(key);
    if (it != m_series.end())
        return *it;
    Series series;
    const QColor color = seriesColors().at(m_series.size() % seriesColors().size());
    auto make = [&key, &color](QChart *chart, QDateTimeAxis *x, QValueAxis *y) {
        auto *line = new QLineSeries;
        line->setName(key);
        line->setProperty("meridianColor", color);
        QPen pen(color);
        pen.setWidthF(1.8);
        line->setPen(pen);
        chart->addSeries(line);
        line->attachAxis(x);
        line->attachAxis(y);
        return line;
    };
    series.lag = make(m_lagChart, m_lagX, m_lagY);
    series.rate = make(m_rateChart, m_rateX, m_rateY);
    return *m_series.insert(key, series);
}

void ReplicationDashboard::applyChartTheme()
{
    // Follow the palette: a dark chart on a dark window. A theme resets series colours and
    // fonts, so ours are put back.
    const bool dark = palette().color(QPalette::Window).lightness() < 128;
    const QChart::ChartTheme theme = dark ? QChart::ChartThemeDark : QChart::ChartThemeLight;
    for (QChart *chart : {m_lagChart, m_rateChart}) {
        if (chart->theme() == theme)
            continue;
        chart->setTheme(theme);
        chart->setBackgroundRoundness(0);
        QFont legendFont = font();
        legendFont.setPointSizeF(legendFont.pointSizeF() * 0.85);
        chart->legend()->setFont(legendFont);
        const QList<QAbstractSeries *> all = chart->series();
        for (QAbstractSeries *series : all) {
            if (auto *line = qobject_cast<QLineSeries *>(series)) {
                QPen pen(line->property("meridianColor").value<QColor>());
                pen.setWidthF(1.8);
                line->setPen(pen);
            }
        }
    }
}

void ReplicationDashboard::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange)
        applyChartTheme();
}

void ReplicationDashboard::refreshCharts()
{
    m_chartsDirty = false;
    const qint64 start = rangeStartMs();
    const qint64 end = start + qint64(m_rangeMinutes) * 60000;
    double maxLag = 0;
    double maxRate = 0;
    qsizetype drawn = 0;
    for (const QString &key : m_history.links()) {
        QList<QPointF> lag;
        QList<QPointF> rate;
        for (const LinkSample &sample : m_history.samples(key)) {
            if (sample.timeMs < start)
                continue;
            lag.append(QPointF(double(sample.timeMs), sample.secondsBehind));
            rate.append(QPointF(double(sample.timeMs), sample.applyRate));
            maxLag = std::max(maxLag, sample.secondsBehind);
            maxRate = std::max(maxRate, sample.applyRate);
        }
        Series &series = seriesFor(key);
        series.lag->replace(decimate(lag, kChartBuckets));
        series.rate->replace(decimate(rate, kChartBuckets));
        drawn += series.lag->count();
    }
    // Antialiased lines cost several times more to draw: smooth while few points are drawn,
    // fast when an hour of many links is.
    const bool smooth = drawn <= kSmoothPointLimit;
    for (QChartView *view : {m_lagView, m_rateView})
        view->setRenderHint(QPainter::Antialiasing, smooth);
    for (QDateTimeAxis *x : {m_lagX, m_rateX})
        x->setRange(QDateTime::fromMSecsSinceEpoch(start), QDateTime::fromMSecsSinceEpoch(end));
    m_lagY->setRange(0, maxLag > 0 ? maxLag * 1.15 : 1.0);
    m_rateY->setRange(0, maxRate > 0 ? std::ceil(maxRate * 1.15) : 10.0);
    m_lagY->applyNiceNumbers();
    m_rateY->applyNiceNumbers();
}

QList<QPointF> ReplicationDashboard::lagPoints(const QString &linkKey) const
{
    const auto it = m_series.constFind(linkKey);
    return it == m_series.cend() ? QList<QPointF>() : it->lag->points();
}

void ReplicationDashboard::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_chartsDirty)
        refreshCharts();
    if (m_client) {
        refreshDigest();
        m_digestTimer->start();
    }
}

void ReplicationDashboard::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_digestTimer->stop();
}

void ReplicationDashboard::refreshDigest()
{
    if (!m_client || m_digestCall)
        return; // one at a time: a slow digest is not asked again before it answers
    m_digestCall = m_client->digest(this, [this](const Api::ApiResult<Api::DigestReport> &result) {
        if (!result) {
            m_digestLabel->setText(
                    tr("Digest agreement: not read (%1)").arg(result.error().toString()));
            m_digestLabel->setStyleSheet({});
            emit digestFailed(result.error());
            return;
        }
        showDigest(result.value());
        emit digestUpdated(result.value());
    });
}

void ReplicationDashboard::showOverwritten(const QString &region)
{
    if (!m_client || region.isEmpty())
        return;
    if (m_overwrittenCall)
        m_overwrittenCall->abort();
    // The count this journal will show, so a later digest can tell when it has grown.
    m_overwrittenRegion = region;
    m_overwrittenShownTotal = -1;
    for (const Api::RegionDigest &r : m_digestModel->report().regions) {
        if (r.region == region)
            m_overwrittenShownTotal = r.overwrittenTotal();
    }
    m_overwrittenLabel->setText(tr("Overwritten writes in %1: reading…").arg(region));
    constexpr int kShown = 200;
    m_overwrittenCall = m_client->overwritten(
            region,
            kShown,
            this,
            [this, region](const Api::ApiResult<QList<Api::OverwrittenEntry>> &result) {
                if (!result) {
                    // The next digest (every few seconds) asks again.
                    m_overwrittenShownTotal = -1;
                    m_overwrittenLabel->setText(tr("Overwritten writes in %1: not read (%2)")
                                                        .arg(region, result.error().toString()));
                    return;
                }
                m_overwrittenModel->setEntries(region, result.value());
                m_overwrittenLabel->setText(
                        result.value().isEmpty()
                                ? tr("No write has lost a conflict in %1.").arg(region)
                                : tr("Writes that lost a last-writer-wins conflict in %1, newest "
                                     "first (at most %2):")
                                          .arg(region)
                                          .arg(kShown));
                emit overwrittenUpdated(region);
            });
}

void ReplicationDashboard::showDigest(const Api::DigestReport &report)
{
    m_digestModel->setReport(report);
    // The model was reset: keep the selected region selected, and its journal current.
    const QString shown = m_overwrittenRegion;
    const auto *proxy = static_cast<const QSortFilterProxyModel *>(m_digestView->model());
    for (int row = 0; row < m_digestModel->rowCount(); ++row) {
        const QModelIndex index = m_digestModel->index(row, DigestModel::RegionColumn);
        if (shown.isEmpty() || index.data().toString() != shown)
            continue;
        {
            const QSignalBlocker blocker(m_digestView->selectionModel());
            m_digestView->selectionModel()->setCurrentIndex(proxy->mapFromSource(index),
                                                            QItemSelectionModel::ClearAndSelect
                                                                    | QItemSelectionModel::Rows);
        }
        if (report.regions.at(row).overwrittenTotal() != m_overwrittenShownTotal)
            showOverwritten(shown);
    }
    qint64 overwritten = 0;
    QStringList differ;
    QStringList unreachable;
    for (const Api::RegionDigest &region : report.regions) {
        overwritten += region.overwrittenTotal();
        if (!region.reachable)
            unreachable.append(region.region);
        else if (region.digest != m_digestModel->majorityDigest())
            differ.append(region.region);
    }
    QString text;
    QString color;
    const DigestJudge::Verdict verdict = m_digestJudge.judge(report, m_links);
    if (verdict == DigestJudge::Verdict::Agree) {
        text = tr("✔ All %n region(s) hold the same data", nullptr, int(report.regions.size()));
        color = u"#2e9d4a"_s;
    } else if (differ.isEmpty()) {
        text = tr("Digest agreement unknown");
        color = u"#e09b16"_s;
    } else if (verdict == DigestJudge::Verdict::Differ) {
        text = tr("✖ Data differs in %1").arg(differ.join(u", "_s));
        color = u"#d32f2f"_s;
    } else {
        // Replication is moving: a region a few writes behind shows another digest for a moment.
        text = tr("Digests differ in %1 while writes replicate").arg(differ.join(u", "_s));
        color = u"#e09b16"_s;
    }
    if (!unreachable.isEmpty())
        text += tr(" · unreachable: %1").arg(unreachable.join(u", "_s));
    text += tr(" · %n overwritten write(s)", nullptr, int(overwritten));
    m_digestLabel->setText(text);
    m_digestLabel->setStyleSheet(u"QLabel { color: %1; font-weight: bold; }"_s.arg(color));
}

QByteArray ReplicationDashboard::csv() const
{
    return m_history.toCsv(rangeStartMs());
}

bool ReplicationDashboard::exportPng(const QString &path, QString *error) const
{
    const QPixmap image = m_charts->grab();
    if (image.isNull() || !image.save(path, "PNG")) {
        if (error)
            *error = tr("Could not write the image %1: check the folder exists and is writable.")
                             .arg(path);
        return false;
    }
    return true;
}

bool ReplicationDashboard::exportCsv(const QString &path, QString *error) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(csv()) < 0 || !file.commit()) {
        if (error)
            *error = tr("Could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

void ReplicationDashboard::promptExport(bool png)
{
    auto *dialog = new QFileDialog(this,
                                   png ? tr("Export the charts") : tr("Export the samples"),
                                   QString(),
                                   png ? tr("PNG image (*.png)") : tr("CSV (*.csv)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    dialog->setDefaultSuffix(png ? u"png"_s : u"csv"_s);
    dialog->selectFile(png ? u"replication.png"_s : u"replication.csv"_s);
    connect(dialog, &QFileDialog::fileSelected, this, [this, png](const QString &path) {
        QString error;
        const bool ok = png ? exportPng(path, &error) : exportCsv(path, &error);
        if (!ok)
            m_digestLabel->setText(error);
    });
    dialog->open();
}

} // namespace Meridian
