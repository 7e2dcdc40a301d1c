#include "core/balancing/pickrequest.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace Meridian {

GeoPoint GeoPoint::fromDegrees(double lat, double lon)
{
    const double phi = lat * std::numbers::pi / 180.0;
    const double lambda = lon * std::numbers::pi / 180.0;
    const double c = std::cos(phi);
    return {c * std::cos(lambda), c * std::sin(lambda), std::sin(phi)};
}

double GeoPoint::distanceKm(const GeoPoint &other) const
{
    // atan2 of |cross| and dot is accurate for small and antipodal angles alike.
    const double cx = y * other.z - z * other.y;
    const double cy = z * other.x - x * other.z;
    const double cz = x * other.y - y * other.x;
    const double cross = std::sqrt(cx * cx + cy * cy + cz * cz);
    const double dot = x * other.x + y * other.y + z * other.z;
    return 6371.0088 * std::atan2(cross, dot);
}

} // namespace Meridian
