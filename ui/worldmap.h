#pragma once

#include <QList>
#include <QPolygonF>
#include <QString>

namespace Meridian {

// The land outlines of the world (Natural Earth 110m via world-atlas, resources/map), as closed
// rings of (longitude, latitude) in degrees; fill them with the odd-even rule.
class WorldMap
{
public:
    // The outlines compiled into the executable (":/map/land-110m.bin"), loaded once.
    static const QList<QPolygonF> &land();
    // Reads the format written by resources/tools/topojson_to_land.py; empty with `error` set
    // when the data is not such a file.
    static QList<QPolygonF> load(const QByteArray &data, QString *error);
};

} // namespace Meridian
