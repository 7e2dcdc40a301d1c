#include "ui/maphittester.h"

#include <QLineF>

#include <algorithm>

#include <cmath>
#include <limits>

namespace Meridian {

MapHitTester::Hit MapHitTester::hitTest(const QPointF &point, double slop) const
{
    // Markers are drawn in order, so the last one is on top; among overlapping markers prefer
    // the topmost whose centre is nearest.
    int best = -1;
    double bestDistance = std::numeric_limits<double>::max();
    for (qsizetype i = m_markers.size() - 1; i >= 0; --i) {
        const Marker &m = m_markers.at(i);
        const double d = QLineF(point, m.center).length();
        if (d <= m.radius + slop && d < bestDistance) {
            best = int(i);
            bestDistance = d;
        }
    }
    if (best >= 0)
        return {Hit::Kind::Region, m_markers.at(best).id, {}};

    const Line *nearest = nullptr;
    double nearestDistance = slop + 1.0;
    for (const Line &line : m_lines) {
        const double d = distanceToPolyline(point, line.path);
        if (d <= slop + 1.0 && d < nearestDistance) {
            nearest = &line;
            nearestDistance = d;
        }
    }
    if (nearest)
        return {Hit::Kind::Link, nearest->a, nearest->b};
    return {};
}

double MapHitTester::distanceToSegment(const QPointF &p, const QPointF &a, const QPointF &b)
{
    const QPointF ab = b - a;
    const double lengthSquared = QPointF::dotProduct(ab, ab);
    if (lengthSquared <= 0)
        return QLineF(p, a).length();
    const double t = std::clamp(QPointF::dotProduct(p - a, ab) / lengthSquared, 0.0, 1.0);
    return QLineF(p, a + t * ab).length();
}

double MapHitTester::distanceToPolyline(const QPointF &p, const QPolygonF &line)
{
    if (line.isEmpty())
        return std::numeric_limits<double>::max();
    if (line.size() == 1)
        return QLineF(p, line.first()).length();
    double best = std::numeric_limits<double>::max();
    for (qsizetype i = 1; i < line.size(); ++i)
        best = std::min(best, distanceToSegment(p, line.at(i - 1), line.at(i)));
    return best;
}

} // namespace Meridian
