#pragma once

#include <QList>
#include <QPointF>
#include <QPolygonF>
#include <QString>

namespace Meridian {

// What lies under a point of the map: a region marker (markers win, the one drawn last first) or
// a link line. Fed with what the map painted, in widget coordinates, so it needs no widget.
class MapHitTester
{
public:
    struct Marker
    {
        QString id;
        QPointF center;
        double radius = 0;
    };
    struct Line
    {
        QString a; // region ids of the two ends
        QString b;
        QPolygonF path; // the drawn line, flattened
    };
    struct Hit
    {
        enum class Kind { None, Region, Link };
        Kind kind = Kind::None;
        QString id;    // Region: the region id; Link: the first end
        QString other; // Link: the second end
    };

    void setMarkers(QList<Marker> markers) { m_markers = std::move(markers); }
    void setLines(QList<Line> lines) { m_lines = std::move(lines); }
    const QList<Marker> &markers() const { return m_markers; }

    // `slop`: extra pixels around markers and lines that still count as a hit.
    Hit hitTest(const QPointF &point, double slop = 3.0) const;

    static double distanceToSegment(const QPointF &p, const QPointF &a, const QPointF &b);
    static double distanceToPolyline(const QPointF &p, const QPolygonF &line);

private:
    QList<Marker> m_markers;
    QList<Line> m_lines;
};

} // namespace Meridian
