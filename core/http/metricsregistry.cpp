#include "core/http/metricsregistry.h"

#include "core/http/httplogging.h"

#include <charconv>
#include <cmath>

namespace Meridian {

namespace {

bool isNameChar(char c, bool first, bool allowColon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (allowColon && c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

void appendEscaped(QByteArray &out, QByteArrayView value, bool quoteToo)
{
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quoteToo && c == '"')
            out += "\\\"";
        else
            out += c;
    }
}

void appendLabels(QByteArray &out,
                  const QList<QByteArray> &names,
                  const std::vector<QByteArray> &values,
                  QByteArrayView extraName = {},
                  QByteArrayView extraValue = {})
{
    if (names.isEmpty() && extraName.isEmpty())
        return;
    out += '{';
    bool first = true;
    for (qsizetype i = 0; i < names.size(); ++i) {
        if (!first)
            out += ',';
        first = false;
        out += names[i];
        out += "=\"";
        appendEscaped(out, values[size_t(i)], true);
        out += '"';
    }
    if (!extraName.isEmpty()) {
        if (!first)
            out += ',';
        out += extraName;
        out += "=\"";
        out += extraValue;
        out += '"';
    }
    out += '}';
}

QByteArrayView typeName(MetricsRegistry::Type type)
{
    switch (type) {
    case MetricsRegistry::Type::Counter:
        return "counter";
    case MetricsRegistry::Type::Gauge:
        return "gauge";
    case MetricsRegistry::Type::Histogram:
        return "histogram";
    }
    return "untyped";
}

} // namespace

MetricsRegistry::Family::Family(QByteArray name,
                                QByteArray help,
                                Type type,
                                QList<QByteArray> labelNames,
                                QList<double> buckets,
                                bool detached)
    : m_name(std::move(name))
    , m_help(std::move(help))
    , m_type(type)
    , m_labelNames(std::move(labelNames))
    , m_buckets(std::move(buckets))
    , m_detached(detached)
{}

MetricsRegistry::Family::Cell &MetricsRegistry::Family::strayCell()
{
    // Every type gets a cell so a caller's accessor never dereferences null.
    auto stray = std::make_unique<Cell>();
    stray->counter = std::make_unique<MetricCounter>();
    stray->gauge = std::make_unique<MetricGauge>();
    stray->histogram = std::make_unique<MetricHistogram>(m_buckets);
    m_strays.push_back(std::move(stray));
    return *m_strays.back();
}

MetricsRegistry::Family::Cell &MetricsRegistry::Family::cell(const QList<QByteArray> &labelValues)
{
    QMutexLocker lock(&m_mutex);
    auto makeCell = [this](Cell &c) {
        switch (m_type) {
        case Type::Counter:
            c.counter = std::make_unique<MetricCounter>();
            break;
        case Type::Gauge:
            c.gauge = std::make_unique<MetricGauge>();
            break;
        case Type::Histogram:
            c.histogram = std::make_unique<MetricHistogram>(m_buckets);
            break;
        }
    };
    if (labelValues.size() != m_labelNames.size() || m_detached) {
        if (!m_detached) {
            qCCritical(lcHttp) << "metric" << m_name << "takes" << m_labelNames.size()
                               << "label values, got" << labelValues.size();
        }
        return strayCell();
    }
    std::vector<QByteArray> key(labelValues.cbegin(), labelValues.cend());
    auto it = m_cells.find(key);
    if (it == m_cells.end()) {
        it = m_cells.emplace(std::move(key), Cell()).first;
        makeCell(it->second);
    }
    return it->second;
}

MetricCounter &MetricsRegistry::Family::counter(const QList<QByteArray> &labelValues)
{
    Cell &c = cell(labelValues);
    if (!c.counter) {
        qCCritical(lcHttp) << "metric" << m_name << "is not a counter";
        QMutexLocker lock(&m_mutex);
        return *strayCell().counter;
    }
    return *c.counter;
}

MetricGauge &MetricsRegistry::Family::gauge(const QList<QByteArray> &labelValues)
{
    Cell &c = cell(labelValues);
    if (!c.gauge) {
        qCCritical(lcHttp) << "metric" << m_name << "is not a gauge";
        QMutexLocker lock(&m_mutex);
        return *strayCell().gauge;
    }
    return *c.gauge;
}

MetricHistogram &MetricsRegistry::Family::histogram(const QList<QByteArray> &labelValues)
{
    Cell &c = cell(labelValues);
    if (!c.histogram) {
        qCCritical(lcHttp) << "metric" << m_name << "is not a histogram";
        QMutexLocker lock(&m_mutex);
        return *strayCell().histogram;
    }
    return *c.histogram;
}

void MetricsRegistry::Family::clear()
{
    QMutexLocker lock(&m_mutex);
    m_cells.clear();
}

void MetricsRegistry::Family::render(QByteArray &out) const
{
    QMutexLocker lock(&m_mutex);
    out += "# HELP ";
    out += m_name;
    out += ' ';
    appendEscaped(out, m_help, false);
    out += "\n# TYPE ";
    out += m_name;
    out += ' ';
    out += typeName(m_type);
    out += '\n';
    for (const auto &[labels, cell] : m_cells) {
        switch (m_type) {
        case Type::Counter:
        case Type::Gauge:
            out += m_name;
            appendLabels(out, m_labelNames, labels);
            out += ' ';
            out += formatValue(m_type == Type::Counter ? cell.counter->value()
                                                       : cell.gauge->value());
            out += '\n';
            break;
        case Type::Histogram: {
            const MetricHistogram &h = *cell.histogram;
            quint64 cumulative = 0;
            const qsizetype n = h.upperBounds().size();
            for (qsizetype i = 0; i <= n; ++i) {
                cumulative += h.bucketCount(i);
                out += m_name;
                out += "_bucket";
                appendLabels(out,
                             m_labelNames,
                             labels,
                             "le",
                             i < n ? formatValue(h.upperBounds()[i]) : QByteArray("+Inf"));
                out += ' ';
                out += QByteArray::number(cumulative);
                out += '\n';
            }
            out += m_name;
            out += "_sum";
            appendLabels(out, m_labelNames, labels);
            out += ' ';
            out += formatValue(h.sum());
            out += '\n';
            out += m_name;
            out += "_count";
            appendLabels(out, m_labelNames, labels);
            out += ' ';
            out += QByteArray::number(h.count());
            out += '\n';
            break;
        }
        }
    }
}

MetricsRegistry::~MetricsRegistry() = default;

bool MetricsRegistry::isValidMetricName(QByteArrayView name)
{
    if (name.isEmpty())
        return false;
    for (qsizetype i = 0; i < name.size(); ++i) {
        if (!isNameChar(name[i], i == 0, true))
            return false;
    }
    return true;
}

bool MetricsRegistry::isValidLabelName(QByteArrayView name)
{
    if (name.isEmpty() || name.startsWith("__") || name == "le" || name == "quantile")
        return false;
    for (qsizetype i = 0; i < name.size(); ++i) {
        if (!isNameChar(name[i], i == 0, false))
            return false;
    }
    return true;
}

QByteArray MetricsRegistry::formatValue(double value)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    if (value == std::floor(value) && std::fabs(value) < 1e15)
        return QByteArray::number(qint64(value));
    char buf[64];
    const auto result = std::to_chars(buf, buf + sizeof buf, value);
    return QByteArray(buf, result.ptr - buf);
}

QList<double> MetricsRegistry::defaultLatencyBuckets()
{
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::Family &MetricsRegistry::family(const QByteArray &name,
                                                 const QByteArray &help,
                                                 Type type,
                                                 const QList<QByteArray> &labelNames,
                                                 const QList<double> &buckets)
{
    QMutexLocker lock(&m_mutex);
    auto detached = [&]() -> Family & {
        m_detached.push_back(
                std::unique_ptr<Family>(new Family(name, help, type, labelNames, buckets, true)));
        return *m_detached.back();
    };
    if (!isValidMetricName(name)) {
        qCCritical(lcHttp) << "invalid metric name" << name;
        return detached();
    }
    for (const QByteArray &label : labelNames) {
        if (!isValidLabelName(label)) {
            qCCritical(lcHttp) << "invalid label name" << label << "for metric" << name;
            return detached();
        }
    }
    for (const auto &f : m_families) {
        if (f->name() != name)
            continue;
        if (f->type() != type || f->m_labelNames != labelNames) {
            qCCritical(lcHttp) << "metric" << name
                               << "registered again with another type or labels";
            return detached();
        }
        return *f;
    }
    m_families.push_back(
            std::unique_ptr<Family>(new Family(name, help, type, labelNames, buckets, false)));
    return *m_families.back();
}

MetricsRegistry::Family &MetricsRegistry::counter(const QByteArray &name,
                                                  const QByteArray &help,
                                                  const QList<QByteArray> &labelNames)
{
    return family(name, help, Type::Counter, labelNames, {});
}

MetricsRegistry::Family &MetricsRegistry::gauge(const QByteArray &name,
                                                const QByteArray &help,
                                                const QList<QByteArray> &labelNames)
{
    return family(name, help, Type::Gauge, labelNames, {});
}

MetricsRegistry::Family &MetricsRegistry::histogram(const QByteArray &name,
                                                    const QByteArray &help,
                                                    const QList<QByteArray> &labelNames,
                                                    const QList<double> &buckets)
{
    return family(name, help, Type::Histogram, labelNames, buckets);
}

void MetricsRegistry::addCollectHook(std::function<void()> hook)
{
    QMutexLocker lock(&m_mutex);
    m_hooks.push_back(std::move(hook));
}

QByteArray MetricsRegistry::render() const
{
    std::vector<std::function<void()>> hooks;
    {
        QMutexLocker lock(&m_mutex);
        hooks = m_hooks;
    }
    for (const auto &hook : hooks)
        hook();
    QByteArray out;
    out.reserve(4096);
    QMutexLocker lock(&m_mutex);
    for (const auto &f : m_families)
        f->render(out);
    return out;
}

} // namespace Meridian
