#pragma once

#include <QPointF>
#include <QRectF>
#include <QSizeF>
#include <QTransform>

#include <optional>

namespace Meridian {

// The Natural Earth I projection (Šavrič, Jenny, Patterson, Petrovič, Hurni 2011): longitude and
// latitude in degrees to a plane where x grows east and y grows north (units of Earth radii).
// Pure functions, so the map, hit-testing and tests agree on where a place is.
class MapProjection
{
public:
    static QPointF project(double lonDeg, double latDeg);
    static QPointF project(const QPointF &lonLat) { return project(lonLat.x(), lonLat.y()); }
    // The longitude/latitude of a projected point, or nothing outside the world's outline.
    static std::optional<QPointF> unproject(const QPointF &point);
    // The projected world: x in [-2.7355, 2.7355], y in [-1.4215, 1.4215].
    static QRectF worldBounds();
};

// Pan and zoom of the map in a widget: maps projected coordinates to widget (logical) pixels
// and back. Zoom 1 fits the whole world; the centre is clamped so the world never leaves the view.
class MapViewport
{
public:
    static constexpr double kMinZoom = 1.0;
    static constexpr double kMaxZoom = 24.0;

    void setSize(const QSizeF &size);
    QSizeF size() const { return m_size; }
    double zoom() const { return m_zoom; }
    QPointF center() const { return m_center; }

    // Projected → widget pixels (y flipped so north is up).
    QTransform transform() const;
    QPointF toScreen(double lonDeg, double latDeg) const;
    QPointF toScreen(const QPointF &projected) const;
    std::optional<QPointF> toGeo(const QPointF &screen) const;
    // Pixels per projected unit.
    double scale() const;

    // Zooms by `factor`, keeping the point under `screenAnchor` where it is.
    void zoomAt(const QPointF &screenAnchor, double factor);
    void panBy(const QPointF &screenDelta);
    void centerOn(double lonDeg, double latDeg);
    void reset();

private:
    void clampCenter();

    QSizeF m_size{800, 500};
    QPointF m_center; // projected coordinates at the widget's centre
    double m_zoom = 1.0;
};

} // namespace Meridian
