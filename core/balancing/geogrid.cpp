#include "core/balancing/geogrid.h"

#include <algorithm>
#include <numbers>

namespace Meridian {

namespace {

// The direction of gnomonic coordinates (u, v) on a cube face (the inverse of cellOf).
GeoPoint faceDirection(int face, double u, double v)
{
    const double s = face % 2 == 0 ? 1.0 : -1.0;
    double x, y, z;
    switch (face / 2) {
    case 0:
        x = s, y = u, z = v;
        break;
    case 1:
        x = u, y = s, z = v;
        break;
    default:
        x = u, y = v, z = s;
        break;
    }
    const double length = std::sqrt(x * x + y * y + z * z);
    return {x / length, y / length, z / length};
}

double dot(const GeoPoint &a, const GeoPoint &b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

double angle(double cosine)
{
    return std::acos(std::clamp(cosine, -1.0, 1.0));
}

} // namespace

GeoGrid GeoGrid::build(std::span<const GeoPoint> points, int resolution)
{
    GeoGrid grid;
    if (points.empty() || points.size() > 65'536 || resolution < 1)
        return grid;
    // Rounding of the dot products (and of a client that is not exactly unit) moves an angle by
    // far less than this; it only adds a candidate now and then.
    constexpr double Margin = 1e-6; // radians, about 6 m
    grid.m_resolution = resolution;
    const int cells = 6 * resolution * resolution;
    grid.m_cellStart.reserve(size_t(cells) + 1);
    std::vector<double> dots(points.size());
    const double step = 2.0 / resolution;
    for (int face = 0; face < 6; ++face) {
        for (int i = 0; i < resolution; ++i) {
            for (int j = 0; j < resolution; ++j) {
                const double u0 = -1.0 + step * i;
                const double v0 = -1.0 + step * j;
                // A cell is the gnomonic image of a square: a spherical quadrilateral with
                // great-circle edges, so the cap around its centre through its farthest corner
                // contains it.
                const GeoPoint centre = faceDirection(face, u0 + step / 2, v0 + step / 2);
                double radius = 0.0;
                for (int corner = 0; corner < 4; ++corner) {
                    const GeoPoint p = faceDirection(face,
                                                     u0 + step * (corner & 1),
                                                     v0 + step * (corner >> 1));
                    radius = std::max(radius, angle(dot(centre, p)));
                }
                double best = -2.0;
                for (size_t k = 0; k < points.size(); ++k) {
                    dots[k] = dot(centre, points[k]);
                    best = std::max(best, dots[k]);
                }
                // A point farther than the nearest one's distance + 2 × radius from the centre
                // is farther than it from every location in the cell.
                const double limit = angle(best) + 2.0 * radius + Margin;
                const double threshold = limit >= std::numbers::pi ? -2.0 : std::cos(limit);
                grid.m_cellStart.push_back(quint32(grid.m_candidates.size()));
                for (size_t k = 0; k < points.size(); ++k) {
                    if (dots[k] >= threshold)
                        grid.m_candidates.push_back(quint16(k));
                }
            }
        }
    }
    grid.m_cellStart.push_back(quint32(grid.m_candidates.size()));
    return grid;
}

} // namespace Meridian
