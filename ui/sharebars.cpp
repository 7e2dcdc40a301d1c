#include "ui/sharebars.h"

#include <QLocale>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

QString percent(double share)
{
    return QLocale::c().toString(share * 100.0, 'f', 1) + u" %"_s;
}

QString labelFor(const QString &id, const Api::ClusterView &cluster)
{
    for (const Api::RegionStatus &region : cluster.regions) {
        if (region.id == id && !region.name.isEmpty() && region.name != id)
            return u"%1 (%2)"_s.arg(id, region.name);
    }
    return id;
}

} // namespace

ShareBars::ShareBars(QWidget *parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Minimum);
    setAccessibleName(tr("Expected traffic share per region"));
}

void ShareBars::setPreview(const Api::Preview &preview, const Api::ClusterView &cluster)
{
    m_rows.clear();
    QStringList ids = preview.before.keys();
    for (const QString &id : preview.after.keys()) {
        if (!ids.contains(id))
            ids.append(id);
    }
    std::sort(ids.begin(), ids.end());
    for (const QString &id : std::as_const(ids))
        m_rows.append(
                {id, labelFor(id, cluster), preview.before.value(id), preview.after.value(id)});
    m_hasChange = true;
    m_message.clear();
    updateGeometry();
    update();
}

void ShareBars::setCurrent(const Api::ClusterView &cluster)
{
    m_rows.clear();
    for (const Api::RegionStatus &region : cluster.regions)
        m_rows.append(
                {region.id, labelFor(region.id, cluster), region.trafficShare, region.trafficShare});
    std::sort(m_rows.begin(), m_rows.end(), [](const Row &a, const Row &b) { return a.id < b.id; });
    m_hasChange = false;
    updateGeometry();
    update();
}

void ShareBars::setMessage(const QString &message)
{
    m_message = message;
    setToolTip(message);
    update();
}

void ShareBars::clear()
{
    m_rows.clear();
    m_message.clear();
    updateGeometry();
    update();
}

int ShareBars::rowHeight() const
{
    return fontMetrics().height() * 2 + 6;
}

QSize ShareBars::sizeHint() const
{
    const int rows = std::max<qsizetype>(1, m_rows.size());
    return {360, int(rows * rowHeight() + fontMetrics().height() * 2 + 8)};
}

QSize ShareBars::minimumSizeHint() const
{
    return {220, sizeHint().height()};
}

void ShareBars::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    const QFontMetrics fm = fontMetrics();
    const int lineH = fm.height();
    int labelW = fm.horizontalAdvance(u"ap-southeast (Singapore)"_s);
    for (const Row &row : std::as_const(m_rows))
        labelW = std::max(labelW, fm.horizontalAdvance(row.label));
    labelW = std::min(labelW + 12, width() / 2);
    const int valueW = fm.horizontalAdvance(u"100.0 % → 100.0 %  "_s);
    const int barX = labelW;
    const int barW = std::max(20, width() - labelW - valueW - 8);
    const QColor beforeColor = pal.color(QPalette::Mid);
    const QColor afterColor = pal.color(QPalette::Highlight);
    const QColor upColor(0x2e, 0x7d, 0x32);
    const QColor downColor(0xc6, 0x28, 0x28);

    int y = 4;
    // Legend.
    p.setPen(pal.color(QPalette::WindowText));
    QRect legend(barX, y, barW + valueW, lineH);
    p.fillRect(QRect(legend.left(), y + lineH / 4, 14, lineH / 2), beforeColor);
    p.drawText(legend.adjusted(18, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, tr("now"));
    const int afterLegendX = legend.left() + 18 + fm.horizontalAdvance(tr("now")) + 16;
    p.fillRect(QRect(afterLegendX, y + lineH / 4, 14, lineH / 2), afterColor);
    p.drawText(QRect(afterLegendX + 18, y, barW, lineH),
               Qt::AlignLeft | Qt::AlignVCenter,
               m_hasChange ? tr("after the change (server preview)") : tr("expected share"));
    y += lineH + 6;

    if (m_rows.isEmpty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRect(0, y, width(), lineH * 2),
                   Qt::AlignCenter | Qt::TextWordWrap,
                   m_message.isEmpty() ? tr("No preview yet") : m_message);
        return;
    }
    const int rowH = rowHeight();
    const int barH = std::max(4, (rowH - 8) / 2);
    for (const Row &row : std::as_const(m_rows)) {
        p.setPen(pal.color(QPalette::WindowText));
        p.drawText(QRect(0, y, labelW - 8, rowH),
                   Qt::AlignRight | Qt::AlignVCenter,
                   fm.elidedText(row.label, Qt::ElideMiddle, labelW - 8));
        const QRect track(barX, y + 3, barW, barH * 2 + 2);
        p.fillRect(track, pal.color(QPalette::AlternateBase));
        p.fillRect(QRect(barX, y + 3, int(std::round(barW * row.before)), barH), beforeColor);
        p.fillRect(QRect(barX, y + 5 + barH, int(std::round(barW * row.after)), barH), afterColor);
        QString value = percent(row.after);
        QColor valueColor = pal.color(QPalette::WindowText);
        if (m_hasChange && std::abs(row.after - row.before) >= 0.0005) {
            value = percent(row.before) + u" → "_s + percent(row.after);
            valueColor = row.after > row.before ? upColor : downColor;
        }
        p.setPen(valueColor);
        p.drawText(QRect(barX + barW + 8, y, valueW, rowH), Qt::AlignLeft | Qt::AlignVCenter, value);
        y += rowH;
    }
    if (!m_message.isEmpty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRect(0, y, width(), lineH), Qt::AlignCenter, m_message);
    }
}

} // namespace Meridian
