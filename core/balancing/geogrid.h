#pragma once

#include "core/balancing/pickrequest.h"

#include <QtGlobal>

#include <cmath>
#include <limits>
#include <span>
#include <vector>

namespace Meridian {

// Nearest-point candidates on a cube-map grid over the sphere, so that geo_proximity compares a
// handful of regions per pick instead of all of them. Each of the 6 × resolution² cells keeps,
// in ascending index order, every point that can be the nearest (or tied for nearest) to some
// location in the cell, with a margin that covers rounding: the largest dot product over a
// cell's candidates is therefore the largest over all points, with the same lowest-index tie
// break as a full scan.
class GeoGrid
{
public:
    GeoGrid() = default;

    // `points` are unit vectors (GeoPoint::fromDegrees); at most 65,536 of them.
    static GeoGrid build(std::span<const GeoPoint> points, int resolution = 16);

    bool isEmpty() const { return m_cellStart.empty(); }
    int resolution() const { return m_resolution; }

    // The candidates for the cell of `client` (any non-zero finite vector; its length does not
    // matter), or an empty span when the grid is empty or the vector is zero or not finite:
    // the caller then scans every point.
    std::span<const quint16> candidates(const GeoPoint &client) const
    {
        if (m_cellStart.empty())
            return {};
        const int cell = cellOf(client, m_resolution);
        if (cell < 0)
            return {};
        const quint32 begin = m_cellStart[cell];
        return {m_candidates.data() + begin, m_cellStart[cell + 1] - begin};
    }

    // The cell of a direction: the face of its largest coordinate, then the gnomonic (u, v) on
    // that face in a resolution × resolution grid; -1 for a zero or non-finite vector.
    static int cellOf(const GeoPoint &p, int resolution)
    {
        const double ax = std::abs(p.x);
        const double ay = std::abs(p.y);
        const double az = std::abs(p.z);
        int face;
        double major, u, v;
        if (ax >= ay && ax >= az) {
            face = p.x > 0 ? 0 : 1;
            major = ax;
            u = p.y;
            v = p.z;
        } else if (ay >= az) {
            face = p.y > 0 ? 2 : 3;
            major = ay;
            u = p.x;
            v = p.z;
        } else {
            face = p.z > 0 ? 4 : 5;
            major = az;
            u = p.x;
            v = p.y;
        }
        if (!(major > 0.0 && major <= std::numeric_limits<double>::max()))
            return -1;
        const double scale = 0.5 * resolution / major;
        return (face * resolution + cellIndex((u + major) * scale, resolution)) * resolution
               + cellIndex((v + major) * scale, resolution);
    }

private:
    static int cellIndex(double t, int resolution)
    {
        // NaN-safe: every comparison with NaN is false, so it lands in cell 0.
        if (t >= resolution)
            return resolution - 1;
        return t > 0.0 ? int(t) : 0;
    }

    int m_resolution = 0;
    std::vector<quint32> m_cellStart; // 6 × resolution² + 1 offsets into m_candidates
    std::vector<quint16> m_candidates;
};

} // namespace Meridian
