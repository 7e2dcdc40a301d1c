#include "ui/mapprojection.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace Meridian {

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

double xFactor(double phi2)
{
    const double phi4 = phi2 * phi2;
    return 0.8707 - 0.131979 * phi2
           + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4));
}

double yOf(double phi)
{
    const double phi2 = phi * phi;
    const double phi4 = phi2 * phi2;
    return phi
           * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)));
}

double yDerivative(double phi)
{
    const double phi2 = phi * phi;
    const double phi4 = phi2 * phi2;
    return 1.007226
           + phi2
                     * (3 * 0.015085
                        + phi4 * (-7 * 0.044475 + 9 * 0.028874 * phi2 - 11 * 0.005916 * phi4));
}

} // namespace

QPointF MapProjection::project(double lonDeg, double latDeg)
{
    const double lambda = std::clamp(lonDeg, -180.0, 180.0) * kDeg;
    const double phi = std::clamp(latDeg, -90.0, 90.0) * kDeg;
    return {lambda * xFactor(phi * phi), yOf(phi)};
}

std::optional<QPointF> MapProjection::unproject(const QPointF &point)
{
    const double yMax = yOf(std::numbers::pi / 2);
    if (std::abs(point.y()) > yMax + 1e-9)
        return std::nullopt;
    // Newton's method on y(phi); y is monotonic on [-pi/2, pi/2].
    double phi = point.y();
    for (int i = 0; i < 25; ++i) {
        const double delta = (yOf(phi) - point.y()) / yDerivative(phi);
        phi -= delta;
        if (std::abs(delta) < 1e-12)
            break;
    }
    phi = std::clamp(phi, -std::numbers::pi / 2, std::numbers::pi / 2);
    const double lambda = point.x() / xFactor(phi * phi);
    if (std::abs(lambda) > std::numbers::pi + 1e-9)
        return std::nullopt;
    return QPointF(lambda / kDeg, phi / kDeg);
}

QRectF MapProjection::worldBounds()
{
    const double xMax = project(180.0, 0.0).x();
    const double yMax = project(0.0, 90.0).y();
    return QRectF(QPointF(-xMax, -yMax), QPointF(xMax, yMax));
}

void MapViewport::setSize(const QSizeF &size)
{
    m_size = size.isEmpty() ? QSizeF(1, 1) : size;
    clampCenter();
}

double MapViewport::scale() const
{
    const QRectF world = MapProjection::worldBounds();
    const double fit = std::min(m_size.width() / world.width(), m_size.height() / world.height());
    return fit * 0.96 * m_zoom;
}

QTransform MapViewport::transform() const
{
    const double s = scale();
    QTransform t;
    t.translate(m_size.width() / 2, m_size.height() / 2);
    t.scale(s, -s);
    t.translate(-m_center.x(), -m_center.y());
    return t;
}

QPointF MapViewport::toScreen(double lonDeg, double latDeg) const
{
    return toScreen(MapProjection::project(lonDeg, latDeg));
}

QPointF MapViewport::toScreen(const QPointF &projected) const
{
    const double s = scale();
    return {m_size.width() / 2 + (projected.x() - m_center.x()) * s,
            m_size.height() / 2 - (projected.y() - m_center.y()) * s};
}

std::optional<QPointF> MapViewport::toGeo(const QPointF &screen) const
{
    const double s = scale();
    const QPointF projected(m_center.x() + (screen.x() - m_size.width() / 2) / s,
                            m_center.y() - (screen.y() - m_size.height() / 2) / s);
    return MapProjection::unproject(projected);
}

void MapViewport::zoomAt(const QPointF &screenAnchor, double factor)
{
    const double s = scale();
    const QPointF anchor(m_center.x() + (screenAnchor.x() - m_size.width() / 2) / s,
                         m_center.y() - (screenAnchor.y() - m_size.height() / 2) / s);
    m_zoom = std::clamp(m_zoom * factor, kMinZoom, kMaxZoom);
    const double ns = scale();
    m_center = QPointF(anchor.x() - (screenAnchor.x() - m_size.width() / 2) / ns,
                       anchor.y() + (screenAnchor.y() - m_size.height() / 2) / ns);
    clampCenter();
}

void MapViewport::panBy(const QPointF &screenDelta)
{
    const double s = scale();
    m_center -= QPointF(screenDelta.x() / s, -screenDelta.y() / s);
    clampCenter();
}

void MapViewport::centerOn(double lonDeg, double latDeg)
{
    m_center = MapProjection::project(lonDeg, latDeg);
    clampCenter();
}

void MapViewport::reset()
{
    m_zoom = 1.0;
    m_center = QPointF();
}

void MapViewport::clampCenter()
{
    // Keep the world covering the view where it is larger than the view, centred otherwise.
    const QRectF world = MapProjection::worldBounds();
    const double s = scale();
    const double halfW = m_size.width() / 2 / s;
    const double halfH = m_size.height() / 2 / s;
    const auto clampAxis = [](double c, double lo, double hi, double half) {
        if (hi - lo <= 2 * half)
            return (lo + hi) / 2;
        return std::clamp(c, lo + half, hi - half);
    };
    m_center = QPointF(clampAxis(m_center.x(), world.left(), world.right(), halfW),
                       clampAxis(m_center.y(), world.top(), world.bottom(), halfH));
}

} // namespace Meridian
