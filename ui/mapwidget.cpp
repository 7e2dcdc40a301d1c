#include "ui/mapwidget.h"

#include "ui/worldmap.h"

#include <QContextMenuEvent>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace Meridian {

namespace {

constexpr double kDragThreshold = 4.0;
constexpr int kMaxLinkLabels = 45; // beyond this, only the selected region's links are labelled

struct MapColors
{
    QColor background;
    QColor sea;
    QColor land;
    QColor coast;
    QColor graticule;
    QColor text;
    QColor halo;
};

MapColors colorsFor(const QPalette &palette)
{
    if (RegionStyle::isDark(palette)) {
        return {palette.color(QPalette::Window),
                QColor(0x17, 0x22, 0x2e),
                QColor(0x2d, 0x38, 0x44),
                QColor(0x4b, 0x5a, 0x6a),
                QColor(0x25, 0x32, 0x40),
                QColor(0xe8, 0xec, 0xf0),
                QColor(0x10, 0x16, 0x1d, 200)};
    }
    return {palette.color(QPalette::Window),
            QColor(0xd6, 0xe4, 0xf0),
            QColor(0xf6, 0xf3, 0xec),
            QColor(0xaf, 0xa8, 0x98),
            QColor(0xc4, 0xd5, 0xe4),
            QColor(0x1d, 0x23, 0x2a),
            QColor(0xff, 0xff, 0xff, 210)};
}

// The land and the world's outline in projected coordinates, built once.
const QPainterPath &landPath()
{
    static const QPainterPath path = [] {
        QPainterPath p;
        p.setFillRule(Qt::OddEvenFill);
        for (const QPolygonF &ring : WorldMap::land()) {
            QPolygonF projected;
            projected.reserve(ring.size());
            for (const QPointF &lonLat : ring)
                projected.append(MapProjection::project(lonLat));
            p.addPolygon(projected);
            p.closeSubpath();
        }
        return p;
    }();
    return path;
}

const QPainterPath &spherePath()
{
    static const QPainterPath path = [] {
        QPolygonF outline;
        for (int lat = -90; lat <= 90; lat += 2)
            outline.append(MapProjection::project(180, lat));
        for (int lat = 90; lat >= -90; lat -= 2)
            outline.append(MapProjection::project(-180, lat));
        QPainterPath p;
        p.addPolygon(outline);
        p.closeSubpath();
        return p;
    }();
    return path;
}

const QPainterPath &graticulePath()
{
    static const QPainterPath path = [] {
        QPainterPath p;
        for (int lon = -150; lon <= 150; lon += 30) {
            QPolygonF line;
            for (int lat = -90; lat <= 90; lat += 3)
                line.append(MapProjection::project(lon, lat));
            p.addPolygon(line);
        }
        for (int lat = -60; lat <= 60; lat += 30) {
            QPolygonF line;
            for (int lon = -180; lon <= 180; lon += 5)
                line.append(MapProjection::project(lon, lat));
            p.addPolygon(line);
        }
        return p;
    }();
    return path;
}

// `color` over `background` at `alpha`, as an opaque colour.
QColor mixed(const QColor &color, const QColor &background, double alpha)
{
    return QColor::fromRgbF(float(color.redF() * alpha + background.redF() * (1 - alpha)),
                            float(color.greenF() * alpha + background.greenF() * (1 - alpha)),
                            float(color.blueF() * alpha + background.blueF() * (1 - alpha)));
}

QPointF bezierPoint(const QPointF &p0, const QPointF &c, const QPointF &p1, double t)
{
    const double u = 1.0 - t;
    return u * u * p0 + 2 * u * t * c + t * t * p1;
}

QPointF controlPoint(const QPointF &a, const QPointF &b)
{
    const QPointF d = b - a;
    const double length = std::hypot(d.x(), d.y());
    if (length < 1e-6)
        return a;
    QPointF normal(-d.y() / length, d.x() / length);
    if (normal.y() > 0) // bow upwards, like great circles on a northern map
        normal = -normal;
    return (a + b) / 2 + normal * (length * 0.14);
}

void drawHaloText(QPainter &painter,
                  const QRectF &rect,
                  int flags,
                  const QString &text,
                  const QColor &color,
                  const QColor &halo)
{
    painter.setPen(halo);
    for (const QPointF offset : {QPointF(-1, 0), QPointF(1, 0), QPointF(0, -1), QPointF(0, 1)})
        painter.drawText(rect.translated(offset), flags, text);
    painter.setPen(color);
    painter.drawText(rect, flags, text);
}

} // namespace

MapWidget::MapWidget(QWidget *parent)
    : QWidget(parent)
{
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setAccessibleName(tr("World map of the cluster's regions"));
    setAccessibleDescription(tr("Arrow keys pan, plus and minus zoom, 0 resets, [ and ] select "
                                "the previous or next region, Enter opens it, the menu key "
                                "opens its actions."));
    m_placeholder = tr("No cluster data yet");
    m_viewport.setSize(size());
}

MapWidget::~MapWidget() = default;

QSize MapWidget::sizeHint() const
{
    return {900, 520};
}

QSize MapWidget::minimumSizeHint() const
{
    return {320, 200};
}

void MapWidget::setCluster(const Api::ClusterView &view)
{
    m_view = view;
    m_pairs = RegionStyle::pairLinks(view.links);
    m_regionIndex.clear();
    for (qsizetype i = 0; i < m_view.regions.size(); ++i)
        m_regionIndex.insert(m_view.regions.at(i).id, i);
    if (!m_selected.isEmpty() && !region(m_selected)) {
        m_selected.clear();
        emit selectedRegionChanged(m_selected);
    }
    relayout();
    update();
}

void MapWidget::setStaleness(double seconds)
{
    const bool wasStale = m_staleS >= 5.0;
    m_staleS = seconds;
    if (wasStale || m_staleS >= 5.0)
        update();
}

void MapWidget::setPlaceholderText(const QString &text)
{
    m_placeholder = text;
    update();
}

void MapWidget::setLegendVisible(bool visible)
{
    m_legendVisible = visible;
    update();
}

void MapWidget::setSelectedRegion(const QString &id)
{
    const QString next = region(id) ? id : QString();
    if (next == m_selected)
        return;
    m_selected = next;
    relayout();
    update();
    emit selectedRegionChanged(m_selected);
}

QPointF MapWidget::markerPosition(const QString &id) const
{
    for (const MapHitTester::Marker &m : m_hitTester.markers()) {
        if (m.id == id)
            return m.center;
    }
    return {};
}

const Api::RegionStatus *MapWidget::region(const QString &id) const
{
    const auto it = m_regionIndex.constFind(id);
    return it == m_regionIndex.constEnd() ? nullptr : &m_view.regions.at(*it);
}

double MapWidget::markerRadius(const Api::RegionStatus &region) const
{
    return 7.0 + 15.0 * std::sqrt(std::clamp(region.trafficShare, 0.0, 1.0));
}

void MapWidget::relayout()
{
    QList<MapHitTester::Marker> markers;
    markers.reserve(m_view.regions.size());
    for (const Api::RegionStatus &r : std::as_const(m_view.regions))
        markers.append({r.id, m_viewport.toScreen(r.lon, r.lat), markerRadius(r)});
    // Big markers first so small ones stay visible on top; the selected one last.
    std::stable_sort(markers.begin(), markers.end(), [this](const auto &x, const auto &y) {
        const bool xs = x.id == m_selected;
        const bool ys = y.id == m_selected;
        if (xs != ys)
            return ys;
        return x.radius > y.radius;
    });

    QList<MapHitTester::Line> lines;
    lines.reserve(m_pairs.size());
    m_links.clear();
    m_links.reserve(m_pairs.size());
    for (qsizetype i = 0; i < m_pairs.size(); ++i) {
        const RegionPair &pair = m_pairs.at(i);
        const Api::RegionStatus *a = region(pair.a);
        const Api::RegionStatus *b = region(pair.b);
        if (!a || !b)
            continue;
        const QPointF pa = m_viewport.toScreen(a->lon, a->lat);
        const QPointF pb = m_viewport.toScreen(b->lon, b->lat);
        const QPointF c = controlPoint(pa, pb);
        LinkGeometry geometry;
        geometry.pair = i;
        // Fewer segments per curve when there are many: each costs a line set-up in the stroker.
        const int steps = m_pairs.size() > kMaxLinkLabels ? 8 : 24;
        geometry.path.reserve(steps + 1);
        for (int step = 0; step <= steps; ++step)
            geometry.path.append(bezierPoint(pa, c, pb, double(step) / steps));
        geometry.mid = bezierPoint(pa, c, pb, 0.5);
        const QPointF chord = pb - pa;
        const double length = std::hypot(chord.x(), chord.y());
        geometry.normal = length > 0 ? QPointF(-chord.y() / length, chord.x() / length)
                                     : QPointF(0, 1);
        lines.append({pair.a, pair.b, geometry.path});
        m_links.append(std::move(geometry));
    }
    m_hitTester.setMarkers(std::move(markers));
    m_hitTester.setLines(std::move(lines));
}

void MapWidget::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setRenderHint(QPainter::TextAntialiasing);
    paintLand(painter);
    paintLinks(painter);
    paintMarkers(painter);
    if (m_legendVisible && !m_view.regions.isEmpty())
        paintLegend(painter);
    paintOverlay(painter);
}

void MapWidget::paintLand(QPainter &painter)
{
    // The land only changes with the viewport, the size or the palette: keep it in a pixmap at
    // the device's pixel ratio, so it stays crisp and costs one blit per frame.
    const qreal dpr = devicePixelRatioF();
    const MapColors colors = colorsFor(palette());
    const QString key = QStringLiteral("%1x%2@%3 z%4 c%5,%6 %7")
                                .arg(width())
                                .arg(height())
                                .arg(dpr)
                                .arg(m_viewport.zoom())
                                .arg(m_viewport.center().x())
                                .arg(m_viewport.center().y())
                                .arg(colors.sea.name());
    if (key != m_landCacheKey || m_landCache.isNull()) {
        m_landCache = QPixmap((QSizeF(size()) * dpr).toSize());
        m_landCache.setDevicePixelRatio(dpr);
        m_landCache.fill(colors.background);
        QPainter p(&m_landCache);
        p.setRenderHint(QPainter::Antialiasing);
        p.setTransform(m_viewport.transform());
        p.setPen(Qt::NoPen);
        p.setBrush(colors.sea);
        p.drawPath(spherePath());
        QPen graticulePen(colors.graticule, 0.8);
        graticulePen.setCosmetic(true);
        p.setPen(graticulePen);
        p.setBrush(Qt::NoBrush);
        p.drawPath(graticulePath());
        QPen coastPen(colors.coast, 0.8);
        coastPen.setCosmetic(true);
        p.setPen(coastPen);
        p.setBrush(colors.land);
        p.drawPath(landPath());
        m_landCacheKey = key;
    }
    painter.drawPixmap(0, 0, m_landCache);
}

void MapWidget::paintLinks(QPainter &painter)
{
    // Lines are drawn with 1-pixel cosmetic pens, repeated side by side for thickness: Qt's
    // cosmetic stroker draws them an order of magnitude faster than wide pens, which matters
    // with 50 regions (1 225 lines) repainted every second.
    const MapColors colors = colorsFor(palette());
    const bool dense = m_pairs.size() > kMaxLinkLabels;
    QFont labelFont = font();
    labelFont.setPointSizeF(labelFont.pointSizeF() * 0.85);
    painter.setFont(labelFont);
    const QFontMetricsF fm(labelFont);
    painter.setBrush(Qt::NoBrush);

    struct Label
    {
        QPointF at;
        QString text;
        QColor color;
    };
    struct Stroke
    {
        const LinkGeometry *link;
        QColor color;
        bool dashed;
        double width; // logical pixels
    };
    QList<Label> labels;
    QList<Stroke> strokes;
    QHash<quint64, QPainterPath> mesh;
    QHash<quint64, std::pair<QColor, bool>> meshPens;
    for (const LinkGeometry &link : std::as_const(m_links)) {
        const RegionPair &pair = m_pairs.at(link.pair);
        const Api::RegionStatus *a = region(pair.a);
        const Api::RegionStatus *b = region(pair.b);
        const bool touchesSelection = pair.a == m_selected || pair.b == m_selected;
        const bool dimmed = !m_selected.isEmpty() && !touchesSelection;
        const bool broken = RegionStyle::isLinkBroken(pair.worstState) || !a->reachable
                            || !b->reachable;
        QColor color = broken ? RegionStyle::unreachable()
                              : RegionStyle::lagColor(pair.worstLagS, pair.worstState);
        const bool problem = broken || color != RegionStyle::healthy();
        // Faded lines are mixed with the sea's colour rather than drawn translucent: opaque
        // colours take the raster engine's inline path, translucent ones a thread-pool hand-off
        // per 255 pixels, which costs far more than the drawing on a busy machine.
        if (dimmed)
            color = mixed(color, colors.sea, 0.3);
        else if (dense && !touchesSelection && !problem)
            color = mixed(color, colors.sea, 0.45);
        if (dense && !touchesSelection) {
            // The mesh of a dense cluster: one path per pen, drawn without antialiasing (half
            // the cost; nobody reads those lines one by one).
            const quint64 key = quint64(color.rgb()) << 1 | (broken ? 1 : 0);
            auto it = mesh.find(key);
            if (it == mesh.end()) {
                it = mesh.insert(key, {});
                meshPens.insert(key, {color, broken});
            }
            it->addPolygon(link.path);
        } else {
            strokes.append({&link, color, broken, touchesSelection ? 3.0 : 2.0});
        }
        if ((!dense && !dimmed) || touchesSelection) {
            labels.append(
                    {link.mid,
                     // A broken link's last RTT is stale: say it is down instead.
                     broken || pair.rttMs <= 0 ? tr("down") : RegionStyle::formatMs(pair.rttMs),
                     color});
        }
    }
    painter.setRenderHint(QPainter::Antialiasing, false);
    for (auto it = mesh.cbegin(); it != mesh.cend(); ++it) {
        const auto &[color, dashed] = meshPens.value(it.key());
        QPen pen(color, 1.0);
        pen.setCosmetic(true);
        if (dashed)
            pen.setStyle(Qt::DashLine);
        painter.setPen(pen);
        painter.drawPath(*it);
    }
    painter.setRenderHint(QPainter::Antialiasing, true);
    // Thick lines: a 1-pixel cosmetic pen drawn side by side.
    const double dpr = painter.device() ? painter.device()->devicePixelRatioF() : 1.0;
    for (const Stroke &stroke : std::as_const(strokes)) {
        QPen pen(stroke.color, 1.0);
        pen.setCosmetic(true);
        if (stroke.dashed)
            pen.setStyle(Qt::DashLine);
        painter.setPen(pen);
        // One pass per device pixel of width, so the passes touch at any pixel ratio.
        const int passes = std::max(1, int(std::lround(stroke.width * dpr)));
        for (int pass = 0; pass < passes; ++pass) {
            const double offset = (pass - (passes - 1) / 2.0) / dpr;
            painter.drawPolyline(stroke.link->path.translated(stroke.link->normal * offset));
        }
    }
    // Labels above every line.
    for (const Label &label : std::as_const(labels)) {
        const QSizeF textSize = fm.size(Qt::TextSingleLine, label.text) + QSizeF(8, 2);
        const QRectF box(label.at - QPointF(textSize.width() / 2, textSize.height() / 2), textSize);
        painter.setPen(QPen(label.color, 1.0));
        painter.setBrush(colors.halo);
        painter.drawRoundedRect(box, 4, 4);
        painter.setPen(colors.text);
        painter.drawText(box, Qt::AlignCenter, label.text);
    }
}

void MapWidget::paintMarkers(QPainter &painter)
{
    const MapColors colors = colorsFor(palette());
    const QColor highlight = palette().color(QPalette::Highlight);
    QFont nameFont = font();
    nameFont.setBold(true);
    QFont detailFont = font();
    detailFont.setPointSizeF(detailFont.pointSizeF() * 0.85);
    const bool crowded = m_view.regions.size() > 12;

    for (const MapHitTester::Marker &marker : m_hitTester.markers()) {
        const Api::RegionStatus *r = region(marker.id);
        if (!r)
            continue;
        const QPointF p = marker.center;
        const double radius = marker.radius;
        const QColor fill = RegionStyle::regionColor(*r);
        const bool selected = marker.id == m_selected;
        const bool hovered = marker.id == m_hovered;

        if (selected || hovered) {
            QColor ring = highlight;
            ring.setAlphaF(selected ? 0.9f : 0.45f);
            painter.setPen(QPen(ring, selected ? 3.0 : 2.0));
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(p, radius + 5, radius + 5);
        }

        if (!r->reachable) {
            // Unreachable: grey, hatched, crossed out, with a dashed outline. Never green.
            painter.setPen(Qt::NoPen);
            painter.setBrush(QColor(0xc8, 0xc8, 0xc8));
            painter.drawEllipse(p, radius, radius);
            painter.setBrush(QBrush(QColor(0x60, 0x60, 0x60), Qt::BDiagPattern));
            painter.drawEllipse(p, radius, radius);
            QPen outline(QColor(0x50, 0x50, 0x50), 2.0, Qt::DashLine);
            painter.setPen(outline);
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(p, radius, radius);
            const double d = radius * 0.62;
            painter.setPen(QPen(RegionStyle::unhealthy(), 3.0, Qt::SolidLine, Qt::RoundCap));
            painter.drawLine(p + QPointF(-d, -d), p + QPointF(d, d));
            painter.drawLine(p + QPointF(-d, d), p + QPointF(d, -d));
        } else if (r->state == u"active") {
            painter.setPen(QPen(fill.darker(150), 2.0));
            painter.setBrush(fill);
            painter.drawEllipse(p, radius, radius);
        } else if (r->state == u"draining") {
            QColor light = fill;
            light.setAlphaF(0.55f);
            painter.setPen(Qt::NoPen);
            painter.setBrush(light);
            painter.drawEllipse(p, radius, radius);
            QPen ring(RegionStyle::degraded(), 3.0, Qt::DashLine);
            painter.setPen(ring);
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(p, radius, radius);
        } else if (r->state == u"drained") {
            QColor light = fill;
            light.setAlphaF(0.25f);
            painter.setPen(QPen(fill.darker(130), 2.5));
            painter.setBrush(light);
            painter.drawEllipse(p, radius, radius);
            painter.drawLine(p + QPointF(-radius * 0.5, 0), p + QPointF(radius * 0.5, 0));
        } else { // standby or anything newer
            painter.setPen(QPen(fill, 2.5, Qt::DotLine));
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(p, radius, radius);
        }
        if (r->primary) {
            painter.setPen(QPen(colors.text, 1.5));
            painter.setBrush(Qt::NoBrush);
            painter.drawEllipse(p, radius + 2.5, radius + 2.5);
            QFont star = font();
            star.setBold(true);
            painter.setFont(star);
            drawHaloText(painter,
                         QRectF(p.x() - radius, p.y() - radius, 2 * radius, 2 * radius),
                         Qt::AlignCenter,
                         QStringLiteral("P"),
                         colors.text,
                         colors.halo);
        }

        // Labels: the name, and (when there is room) traffic or what is wrong.
        if (crowded && !selected && !hovered)
            continue;
        painter.setFont(nameFont);
        const QFontMetricsF fm(nameFont);
        const QRectF nameRect(p.x() - 120, p.y() + radius + 3, 240, fm.height());
        drawHaloText(painter,
                     nameRect,
                     Qt::AlignHCenter | Qt::AlignTop,
                     r->name.isEmpty() ? r->id : r->name,
                     colors.text,
                     colors.halo);
        QString detail;
        QColor detailColor = colors.text;
        if (!r->reachable) {
            detail = tr("unreachable");
            detailColor = RegionStyle::unhealthy();
        } else if (r->state != u"active") {
            detail = r->state;
            detailColor = RegionStyle::degraded().darker(RegionStyle::isDark(palette()) ? 80 : 130);
        } else {
            detail = tr("%1 · %2 req/s")
                             .arg(RegionStyle::formatShare(r->trafficShare),
                                  RegionStyle::formatRate(r->rps));
        }
        painter.setFont(detailFont);
        const QFontMetricsF dfm(detailFont);
        drawHaloText(painter,
                     QRectF(p.x() - 120, nameRect.bottom(), 240, dfm.height()),
                     Qt::AlignHCenter | Qt::AlignTop,
                     detail,
                     detailColor,
                     colors.halo);
    }
}

void MapWidget::paintLegend(QPainter &painter)
{
    const MapColors colors = colorsFor(palette());
    QFont legendFont = font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.85);
    painter.setFont(legendFont);
    const QFontMetricsF fm(legendFont);
    const double row = std::max(16.0, fm.height() + 3);

    struct Item
    {
        enum Kind { Dot, Ring, Line, Crossed } kind;
        QColor color;
        Qt::PenStyle style;
        QString text;
    };
    const QList<Item> regionItems = {
            {Item::Dot, RegionStyle::healthy(), Qt::SolidLine, tr("healthy")},
            {Item::Dot, RegionStyle::unhealthy(), Qt::SolidLine, tr("unhealthy")},
            {Item::Dot, RegionStyle::unknown(), Qt::SolidLine, tr("health unknown")},
            {Item::Crossed, RegionStyle::unreachable(), Qt::SolidLine, tr("unreachable")},
            {Item::Ring, RegionStyle::degraded(), Qt::DashLine, tr("draining")},
            {Item::Ring, RegionStyle::healthy(), Qt::SolidLine, tr("drained")},
            {Item::Ring, RegionStyle::unknown(), Qt::DotLine, tr("standby")},
    };
    const QList<Item> linkItems = {
            {Item::Line,
             RegionStyle::healthy(),
             Qt::SolidLine,
             tr("lag < %1 s").arg(RegionStyle::kLagWarnS)},
            {Item::Line,
             RegionStyle::degraded(),
             Qt::SolidLine,
             tr("lag %1–%2 s").arg(RegionStyle::kLagWarnS).arg(RegionStyle::kLagBadS)},
            {Item::Line,
             RegionStyle::unhealthy(),
             Qt::SolidLine,
             tr("lag ≥ %1 s / resync").arg(RegionStyle::kLagBadS)},
            {Item::Line, RegionStyle::unreachable(), Qt::DashLine, tr("disconnected")},
    };
    const QString note = tr("size = traffic share · P = primary · labels = RTT");
    double columnWidth = 0;
    for (const Item &item : regionItems)
        columnWidth = std::max(columnWidth, fm.horizontalAdvance(item.text) + 30);
    for (const Item &item : linkItems)
        columnWidth = std::max(columnWidth, fm.horizontalAdvance(item.text) + 30);
    const int rows = int(std::max(regionItems.size(), linkItems.size()));
    const double width = std::max(2 * columnWidth + 16, fm.horizontalAdvance(note) + 24);
    const QSizeF boxSize(width, rows * row + row + 16);
    const QRectF box(QPointF(10, height() - boxSize.height() - 10), boxSize);

    QColor panel = palette().color(QPalette::Base);
    panel.setAlphaF(0.88f);
    painter.setPen(QPen(palette().color(QPalette::Mid), 1.0));
    painter.setBrush(panel);
    painter.drawRoundedRect(box, 6, 6);

    const auto drawColumn = [&](const QList<Item> &items, double x) {
        double y = box.top() + 8;
        for (const Item &item : items) {
            const QPointF c(x + 8, y + row / 2);
            switch (item.kind) {
            case Item::Dot:
                painter.setPen(QPen(item.color.darker(150), 1.5));
                painter.setBrush(item.color);
                painter.drawEllipse(c, 5.5, 5.5);
                break;
            case Item::Ring:
                painter.setPen(QPen(item.color, 2.0, item.style));
                painter.setBrush(Qt::NoBrush);
                painter.drawEllipse(c, 5.5, 5.5);
                break;
            case Item::Crossed:
                painter.setPen(QPen(QColor(0x50, 0x50, 0x50), 1.2, Qt::DashLine));
                painter.setBrush(QBrush(QColor(0x60, 0x60, 0x60), Qt::BDiagPattern));
                painter.drawEllipse(c, 5.5, 5.5);
                painter.setPen(QPen(RegionStyle::unhealthy(), 2.0));
                painter.drawLine(c + QPointF(-3.5, -3.5), c + QPointF(3.5, 3.5));
                painter.drawLine(c + QPointF(-3.5, 3.5), c + QPointF(3.5, -3.5));
                break;
            case Item::Line:
                painter.setPen(QPen(item.color, 2.5, item.style, Qt::RoundCap));
                painter.drawLine(c + QPointF(-7, 0), c + QPointF(7, 0));
                break;
            }
            painter.setPen(colors.text);
            painter.drawText(QRectF(x + 22, y, columnWidth, row),
                             Qt::AlignVCenter | Qt::AlignLeft,
                             item.text);
            y += row;
        }
    };
    drawColumn(regionItems, box.left() + 8);
    drawColumn(linkItems, box.left() + 8 + columnWidth);
    painter.setPen(colors.text);
    painter.drawText(QRectF(box.left() + 10, box.bottom() - row - 6, box.width() - 20, row),
                     Qt::AlignVCenter | Qt::AlignLeft,
                     note);
}

void MapWidget::paintOverlay(QPainter &painter)
{
    const MapColors colors = colorsFor(palette());
    if (m_view.regions.isEmpty()) {
        QFont big = font();
        big.setPointSizeF(big.pointSizeF() * 1.4);
        painter.setFont(big);
        drawHaloText(painter,
                     rect(),
                     Qt::AlignCenter | Qt::TextWordWrap,
                     m_placeholder,
                     colors.text,
                     colors.halo);
        return;
    }
    if (m_staleS >= 5.0) {
        const QString text = tr("Data is %1 old: no fresh answer from the cluster")
                                     .arg(RegionStyle::formatLag(m_staleS));
        QFont bold = font();
        bold.setBold(true);
        painter.setFont(bold);
        const QFontMetricsF fm(bold);
        const QSizeF s(fm.horizontalAdvance(text) + 24, fm.height() + 10);
        const QRectF banner(QPointF((width() - s.width()) / 2, 10), s);
        painter.setPen(Qt::NoPen);
        painter.setBrush(RegionStyle::degraded());
        painter.drawRoundedRect(banner, 6, 6);
        painter.setPen(Qt::black);
        painter.drawText(banner, Qt::AlignCenter, text);
    }
}

void MapWidget::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    m_viewport.setSize(size());
    relayout();
}

bool MapWidget::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const MapHitTester::Hit hit = m_hitTester.hitTest(help->pos());
        if (hit.kind == MapHitTester::Hit::Kind::Region) {
            if (const Api::RegionStatus *r = region(hit.id))
                QToolTip::showText(help->globalPos(), RegionStyle::regionToolTip(*r), this);
        } else if (hit.kind == MapHitTester::Hit::Kind::Link) {
            for (const RegionPair &pair : std::as_const(m_pairs)) {
                if (pair.a == hit.id && pair.b == hit.other) {
                    const Api::RegionStatus *a = region(pair.a);
                    const Api::RegionStatus *b = region(pair.b);
                    QToolTip::showText(help->globalPos(),
                                       RegionStyle::pairToolTip(pair,
                                                                a ? a->name : pair.a,
                                                                b ? b->name : pair.b),
                                       this);
                    break;
                }
            }
        } else {
            QToolTip::hideText();
            event->ignore();
        }
        return true;
    }
    return QWidget::event(event);
}

void MapWidget::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton) {
        m_pressed = true;
        m_dragging = false;
        m_pressPos = event->position();
        m_lastDragPos = event->position();
    }
    QWidget::mousePressEvent(event);
}

void MapWidget::mouseMoveEvent(QMouseEvent *event)
{
    if (m_pressed) {
        if (!m_dragging && QLineF(event->position(), m_pressPos).length() >= kDragThreshold) {
            m_dragging = true;
            setCursor(Qt::ClosedHandCursor);
        }
        if (m_dragging) {
            m_viewport.panBy(event->position() - m_lastDragPos);
            m_lastDragPos = event->position();
            relayout();
            update();
        }
        return;
    }
    const MapHitTester::Hit hit = m_hitTester.hitTest(event->position());
    const QString hovered = hit.kind == MapHitTester::Hit::Kind::Region ? hit.id : QString();
    if (hovered != m_hovered) {
        m_hovered = hovered;
        setCursor(hovered.isEmpty() ? Qt::ArrowCursor : Qt::PointingHandCursor);
        update();
    }
}

void MapWidget::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && m_pressed) {
        m_pressed = false;
        if (m_dragging) {
            m_dragging = false;
            setCursor(Qt::ArrowCursor);
        } else {
            const MapHitTester::Hit hit = m_hitTester.hitTest(event->position());
            setSelectedRegion(hit.kind == MapHitTester::Hit::Kind::Region ? hit.id : QString());
        }
    }
    QWidget::mouseReleaseEvent(event);
}

void MapWidget::mouseDoubleClickEvent(QMouseEvent *event)
{
    const MapHitTester::Hit hit = m_hitTester.hitTest(event->position());
    if (hit.kind == MapHitTester::Hit::Kind::Region) {
        setSelectedRegion(hit.id);
        emit regionActivated(hit.id);
    } else {
        m_viewport.zoomAt(event->position(), 2.0);
        relayout();
        update();
    }
}

void MapWidget::wheelEvent(QWheelEvent *event)
{
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0) {
        event->ignore();
        return;
    }
    m_viewport.zoomAt(event->position(), std::pow(1.25, steps));
    relayout();
    update();
    event->accept();
}

void MapWidget::keyPressEvent(QKeyEvent *event)
{
    const QPointF centre(width() / 2.0, height() / 2.0);
    constexpr double kPan = 60.0;
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        m_viewport.zoomAt(centre, 1.25);
        break;
    case Qt::Key_Minus:
        m_viewport.zoomAt(centre, 1 / 1.25);
        break;
    case Qt::Key_0:
    case Qt::Key_Home:
        m_viewport.reset();
        m_viewport.setSize(size());
        break;
    case Qt::Key_Left:
        m_viewport.panBy({kPan, 0});
        break;
    case Qt::Key_Right:
        m_viewport.panBy({-kPan, 0});
        break;
    case Qt::Key_Up:
        m_viewport.panBy({0, kPan});
        break;
    case Qt::Key_Down:
        m_viewport.panBy({0, -kPan});
        break;
    case Qt::Key_BracketRight:
    case Qt::Key_PageDown:
        selectStep(1);
        return;
    case Qt::Key_BracketLeft:
    case Qt::Key_PageUp:
        selectStep(-1);
        return;
    case Qt::Key_Return:
    case Qt::Key_Enter:
        if (!m_selected.isEmpty())
            emit regionActivated(m_selected);
        return;
    case Qt::Key_Escape:
        setSelectedRegion({});
        return;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    relayout();
    update();
}

void MapWidget::selectStep(int step)
{
    if (m_view.regions.isEmpty())
        return;
    QStringList ids;
    for (const Api::RegionStatus &r : std::as_const(m_view.regions))
        ids.append(r.id);
    ids.sort();
    qsizetype index = ids.indexOf(m_selected);
    if (index < 0)
        index = step > 0 ? 0 : ids.size() - 1;
    else
        index = (index + step + ids.size()) % ids.size();
    setSelectedRegion(ids.at(index));
}

void MapWidget::contextMenuEvent(QContextMenuEvent *event)
{
    QString id;
    QPoint globalPos = event->globalPos();
    if (event->reason() == QContextMenuEvent::Keyboard) {
        id = m_selected;
        if (!id.isEmpty())
            globalPos = mapToGlobal(markerPosition(id).toPoint());
    } else {
        const MapHitTester::Hit hit = m_hitTester.hitTest(event->pos());
        if (hit.kind == MapHitTester::Hit::Kind::Region)
            id = hit.id;
    }
    if (id.isEmpty()) {
        event->ignore();
        return;
    }
    setSelectedRegion(id);
    emit regionContextMenuRequested(id, globalPos);
    event->accept();
}

void MapWidget::leaveEvent(QEvent *event)
{
    if (!m_hovered.isEmpty()) {
        m_hovered.clear();
        update();
    }
    QWidget::leaveEvent(event);
}

void MapWidget::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange)
        m_landCacheKey.clear();
    QWidget::changeEvent(event);
}

} // namespace Meridian
