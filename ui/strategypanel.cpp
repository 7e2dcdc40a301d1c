#include "ui/strategypanel.h"

#include "core/balancing/strategy.h"
#include "core/control/controlclient.h"
#include "ui/actioncontroller.h"
#include "ui/sharebars.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

enum RegionColumn { RegionIdColumn, WeightColumn, DialColumn, ShareColumn, RegionColumnCount };

} // namespace

QList<StrategyPanel::ParameterSpec> StrategyPanel::parameterSpecs(const QString &strategy)
{
    const StrategyParams defaults;
    const ParameterSpec choice{u"choice_count"_s,
                               tr("Choices per pick"),
                               2,
                               16,
                               double(defaults.choiceCount),
                               0,
                               {},
                               tr("Candidates sampled per request (power of d choices)")};
    if (strategy == u"least_request")
        return {choice};
    if (strategy == u"latency_ewma")
        return {choice,
                {u"decay_ms"_s,
                 tr("Decay"),
                 1,
                 3600000,
                 defaults.decayMs,
                 0,
                 u" ms"_s,
                 tr("Time constant of the latency average")},
                {u"default_rtt_ms"_s,
                 tr("Default RTT"),
                 0.1,
                 600000,
                 defaults.defaultRttMs,
                 1,
                 u" ms"_s,
                 tr("Latency assumed before the first observation")}};
    if (strategy == u"consistent_hash")
        return {{u"table_size"_s,
                 tr("Table size"),
                 101,
                 16777216,
                 double(defaults.tableSize),
                 0,
                 {},
                 tr("Maglev lookup table size, a prime (65537, 655373, ...)")}};
    return {};
}

QString StrategyPanel::describeStrategy(const QString &name)
{
    static const QHash<QString, QString> descriptions{
            {u"round_robin"_s, tr("Exact rotation; shares follow the dials.")},
            {u"weighted_round_robin"_s, tr("Smooth weighted rotation over weight × dial.")},
            {u"random"_s, tr("Uniform random; shares follow the dials.")},
            {u"weighted_random"_s, tr("Random in proportion to weight × dial.")},
            {u"least_connections"_s,
             tr("Fewest requests in flight per unit of weight × dial (preview: steady state).")},
            {u"least_request"_s,
             tr("Power of d choices on requests in flight (preview: steady state).")},
            {u"latency_ewma"_s,
             tr("Power of d choices on peak-EWMA latency (preview: steady state).")},
            {u"geo_proximity"_s,
             tr("Nearest eligible region to the client (preview: equal demand per region).")},
            {u"consistent_hash"_s,
             tr("Maglev on the request's key; no keys move between regions that stay.")},
            {u"failover"_s, tr("Everything to the first eligible region in priority order.")},
    };
    return descriptions.value(name);
}

StrategyPanel::StrategyPanel(ControlClient *client, ActionController *actions, QWidget *parent)
    : QWidget(parent)
    , m_client(client)
    , m_actions(actions ? actions : new ActionController(client, this, this))
    , m_current(new QLabel)
    , m_strategy(new QComboBox)
    , m_description(new QLabel)
    , m_params(new QFormLayout)
    , m_validation(new QLabel)
    , m_bars(new ShareBars)
    , m_preview(new QPushButton(tr("&Preview")))
    , m_apply(new QPushButton(tr("&Apply…")))
    , m_reset(new QPushButton(tr("&Reset")))
    , m_regions(new QTableWidget(0, RegionColumnCount))
    , m_previewDelay(new QTimer(this))
{
    setObjectName(u"StrategyPanel"_s);
    m_current->setWordWrap(true);
    m_current->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont bold = m_current->font();
    bold.setBold(true);
    m_current->setFont(bold);
    m_current->setText(tr("Current strategy: not known yet"));

    for (const QString &name : strategyNames()) {
        m_strategy->addItem(name, name);
        m_strategy->setItemData(m_strategy->count() - 1, describeStrategy(name), Qt::ToolTipRole);
    }
    m_strategy->setAccessibleName(tr("Balancing strategy"));
    m_description->setWordWrap(true);
    m_validation->setWordWrap(true);
    QPalette warn = m_validation->palette();
    warn.setColor(QPalette::WindowText, QColor(0xc6, 0x28, 0x28));
    m_validation->setPalette(warn);
    m_validation->hide();
    m_apply->setEnabled(false);
    m_apply->setToolTip(tr("Apply the edited strategy (asks for confirmation)"));
    m_reset->setToolTip(tr("Back to the current strategy"));

    auto *form = new QFormLayout;
    form->addRow(tr("&Strategy:"), m_strategy);
    form->addRow(QString(), m_description);
    auto *strategyBox = new QGroupBox(tr("Balancing"));
    auto *strategyLayout = new QVBoxLayout(strategyBox);
    strategyLayout->addWidget(m_current);
    strategyLayout->addLayout(form);
    strategyLayout->addLayout(m_params);
    strategyLayout->addWidget(m_validation);
    auto *buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(m_reset);
    buttons->addWidget(m_preview);
    buttons->addWidget(m_apply);
    strategyLayout->addLayout(buttons);

    auto *barsBox = new QGroupBox(tr("Expected share of new requests"));
    auto *barsLayout = new QVBoxLayout(barsBox);
    barsLayout->addWidget(m_bars);

    m_regions->setHorizontalHeaderLabels({tr("Region"), tr("Weight"), tr("Dial %"), tr("Share")});
    m_regions->verticalHeader()->hide();
    m_regions->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_regions->setSelectionMode(QAbstractItemView::NoSelection);
    m_regions->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_regions->setMinimumHeight(120);
    auto *regionsBox = new QGroupBox(tr("Weights and dials (each change is confirmed)"));
    auto *regionsLayout = new QVBoxLayout(regionsBox);
    regionsLayout->addWidget(m_regions);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(strategyBox);
    layout->addWidget(barsBox);
    layout->addWidget(regionsBox, 1);

    m_previewDelay->setSingleShot(true);
    m_previewDelay->setInterval(400);
    connect(m_previewDelay, &QTimer::timeout, this, &StrategyPanel::requestPreview);
    connect(m_strategy, &QComboBox::currentIndexChanged, this, [this] {
        const QString name = m_strategy->currentData().toString();
        rebuildParameters(name,
                          name == m_cluster.strategy.name ? m_cluster.strategy.params
                                                          : QJsonObject());
        editorChanged();
    });
    connect(m_preview, &QPushButton::clicked, this, &StrategyPanel::requestPreview);
    connect(m_apply, &QPushButton::clicked, this, &StrategyPanel::apply);
    connect(m_reset, &QPushButton::clicked, this, [this] { setEditedStrategy(m_cluster.strategy); });
    connect(m_actions,
            &ActionController::actionFinished,
            this,
            [this](const QString &action, const QString &, const Api::ActionResult &result) {
                if (action == u"strategy" && result.strategy) {
                    m_cluster.strategy = *result.strategy;
                    m_current->setText(
                            tr("Current strategy: %1").arg(paramsText(m_cluster.strategy)));
                    editorChanged();
                }
            });
    rebuildParameters(m_strategy->currentData().toString(), {});
    m_bars->setMessage(tr("Waiting for the cluster…"));
}

StrategyPanel::~StrategyPanel() = default;

QString StrategyPanel::paramsText(const Api::StrategyInfo &strategy) const
{
    if (strategy.name.isEmpty())
        return tr("not known yet");
    QStringList parts;
    for (auto it = strategy.params.constBegin(); it != strategy.params.constEnd(); ++it)
        parts.append(u"%1 = %2"_s.arg(it.key(), it.value().toVariant().toString()));
    return parts.isEmpty() ? strategy.name : u"%1 (%2)"_s.arg(strategy.name, parts.join(u", "_s));
}

void StrategyPanel::rebuildParameters(const QString &strategy, const QJsonObject &values)
{
    while (m_params->rowCount() > 0)
        m_params->removeRow(0);
    m_paramEditors.clear();
    m_description->setText(describeStrategy(strategy));
    const QList<ParameterSpec> specs = parameterSpecs(strategy);
    for (const ParameterSpec &spec : specs) {
        auto *editor = new QDoubleSpinBox;
        editor->setDecimals(spec.decimals);
        editor->setRange(spec.minimum, spec.maximum);
        editor->setSuffix(spec.suffix);
        editor->setValue(values.value(spec.key).toDouble(spec.defaultValue));
        editor->setToolTip(spec.help);
        editor->setAccessibleName(spec.label);
        editor->setGroupSeparatorShown(spec.maximum >= 10000);
        connect(editor, &QDoubleSpinBox::valueChanged, this, &StrategyPanel::editorChanged);
        m_params->addRow(spec.label + u':', editor);
        m_paramEditors.append({spec.key, editor});
    }
    if (specs.isEmpty())
        m_params->addRow(new QLabel(tr("This strategy has no parameters.")));
}

Api::StrategyInfo StrategyPanel::editedStrategy() const
{
    Api::StrategyInfo info;
    info.name = m_strategy->currentData().toString();
    const QList<ParameterSpec> specs = parameterSpecs(info.name);
    for (qsizetype i = 0; i < m_paramEditors.size(); ++i) {
        const double value = m_paramEditors.at(i).second->value();
        const bool integral = i < specs.size() && specs.at(i).decimals == 0;
        info.params.insert(m_paramEditors.at(i).first,
                           integral ? QJsonValue(qint64(std::llround(value))) : QJsonValue(value));
    }
    return info;
}

void StrategyPanel::setEditedStrategy(const Api::StrategyInfo &strategy)
{
    const int index = m_strategy->findData(strategy.name);
    if (index < 0)
        return;
    {
        const QSignalBlocker blocker(m_strategy);
        m_strategy->setCurrentIndex(index);
    }
    rebuildParameters(strategy.name, strategy.params);
    editorChanged();
}

bool StrategyPanel::isModified() const
{
    const Api::StrategyInfo edited = editedStrategy();
    if (edited.name != m_cluster.strategy.name)
        return true;
    for (auto it = edited.params.constBegin(); it != edited.params.constEnd(); ++it) {
        const QJsonValue current = m_cluster.strategy.params.value(it.key());
        if (current.isUndefined()) {
            // An absent parameter has its default value.
            for (const ParameterSpec &spec : parameterSpecs(edited.name)) {
                if (spec.key == it.key()
                    && std::abs(spec.defaultValue - it.value().toDouble()) > 1e-9)
                    return true;
            }
        } else if (std::abs(current.toDouble() - it.value().toDouble()) > 1e-9) {
            return true;
        }
    }
    return false;
}

void StrategyPanel::setCluster(const Api::ClusterView &view)
{
    const bool strategyChanged = !m_haveCluster || view.strategy.name != m_cluster.strategy.name
                                 || view.strategy.params != m_cluster.strategy.params;
    const bool wasModified = m_haveCluster && isModified();
    m_cluster = view;
    m_haveCluster = true;
    m_actions->setCluster(view);
    m_current->setText(tr("Current strategy: %1").arg(paramsText(view.strategy)));
    if (strategyChanged && !wasModified)
        setEditedStrategy(view.strategy);
    else if (!isModified())
        m_bars->setCurrent(view);
    m_apply->setEnabled(isModified() && m_validation->isHidden());
    updateRegionsTable();
}

void StrategyPanel::editorChanged()
{
    const Api::StrategyInfo edited = editedStrategy();
    const BalancingResult<StrategyParams> parsed = parseStrategyParams(edited.name, edited.params);
    if (!parsed) {
        m_validation->setText(parsed.error());
        m_validation->show();
        m_apply->setEnabled(false);
        return;
    }
    m_validation->hide();
    const bool modified = isModified();
    m_apply->setEnabled(modified && m_haveCluster);
    m_reset->setEnabled(modified);
    if (!modified) {
        ++m_previewGeneration;
        if (m_haveCluster)
            m_bars->setCurrent(m_cluster);
        m_bars->setMessage({});
        return;
    }
    m_previewDelay->start();
}

void StrategyPanel::requestPreview()
{
    m_previewDelay->stop();
    if (!m_client)
        return;
    if (m_previewCall)
        m_previewCall->abort();
    const int generation = ++m_previewGeneration;
    m_bars->setMessage(tr("Asking the server for the preview…"));
    m_previewCall
            = m_client->preview(Api::PreviewRequest::changeStrategy(editedStrategy()),
                                this,
                                [this, generation](const Api::ApiResult<Api::Preview> &result) {
                                    if (generation != m_previewGeneration)
                                        return;
                                    if (!result) {
                                        const QString message
                                                = tr("No preview: %1").arg(result.error().toString());
                                        m_bars->setMessage(message);
                                        emit previewFailed(message);
                                        return;
                                    }
                                    m_bars->setPreview(result.value(), m_cluster);
                                    emit previewUpdated(result.value());
                                });
}

void StrategyPanel::apply()
{
    const Api::StrategyInfo edited = editedStrategy();
    if (!parseStrategyParams(edited.name, edited.params))
        return;
    m_actions->setStrategy(edited);
}

const Api::RegionStatus *StrategyPanel::findRegion(const QString &id) const
{
    for (const Api::RegionStatus &region : m_cluster.regions) {
        if (region.id == id)
            return &region;
    }
    return nullptr;
}

void StrategyPanel::updateRegionsTable()
{
    QList<Api::RegionStatus> regions = m_cluster.regions;
    std::sort(regions.begin(), regions.end(), [](const auto &a, const auto &b) {
        return a.id < b.id;
    });
    if (m_regions->rowCount() != regions.size())
        m_regions->setRowCount(int(regions.size()));
    for (int row = 0; row < regions.size(); ++row) {
        const Api::RegionStatus &region = regions.at(row);
        auto *id = m_regions->item(row, RegionIdColumn);
        if (!id || id->text() != region.id) {
            m_regions->setItem(row, RegionIdColumn, new QTableWidgetItem(region.id));
            auto *weight = new QSpinBox;
            weight->setRange(0, 1000000);
            weight->setKeyboardTracking(false);
            weight->setAccessibleName(tr("Weight of %1").arg(region.id));
            auto *dial = new QSpinBox;
            dial->setRange(0, 100);
            dial->setSuffix(u" %"_s);
            dial->setKeyboardTracking(false);
            dial->setAccessibleName(tr("Dial of %1").arg(region.id));
            const QString regionId = region.id;
            // A finished edit (Enter, or focus leaving) asks for confirmation; declining
            // leaves the cluster as it is and the next update puts the value back.
            connect(weight, &QSpinBox::editingFinished, this, [this, regionId, weight] {
                const Api::RegionStatus *current = findRegion(regionId);
                if (current && current->weight != weight->value())
                    m_actions->setWeight(regionId, weight->value());
            });
            connect(dial, &QSpinBox::editingFinished, this, [this, regionId, dial] {
                const Api::RegionStatus *current = findRegion(regionId);
                if (current && current->dial != dial->value())
                    m_actions->dial(regionId, dial->value());
            });
            m_regions->setCellWidget(row, WeightColumn, weight);
            m_regions->setCellWidget(row, DialColumn, dial);
            m_regions->setItem(row, ShareColumn, new QTableWidgetItem);
        }
        m_regions->item(row, RegionIdColumn)->setToolTip(region.name);
        for (auto [column, value] : {std::pair{int(WeightColumn), region.weight},
                                     std::pair{int(DialColumn), region.dial}}) {
            auto *spin = static_cast<QSpinBox *>(m_regions->cellWidget(row, column));
            if (!spin->hasFocus())
                spin->setValue(value);
        }
        m_regions->item(row, ShareColumn)
                ->setText(QLocale::c().toString(region.trafficShare * 100.0, 'f', 1) + u" %"_s);
        m_regions->item(row, ShareColumn)->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
}

} // namespace Meridian
