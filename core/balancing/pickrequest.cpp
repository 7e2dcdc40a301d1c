#include "core/balancing/pickrequest.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace Meridian {

namespace {

// sin and cos of an angle in degrees: reduced exactly to [-45°, 45°] by quarter turns (so 90°
// and 180° give exact 0 and ±1), then fdlibm's kernels (__kernel_sin, __kernel_cos: below one
// ulp on [-π/4, π/4]). Several times faster than libm's sincos, which reduces by π/2 in
// extended precision; geo_proximity converts a client's location on every pick.
struct SinCos
{
    double sin;
    double cos;
};

inline SinCos sinCosDegrees(double degrees)
{
    if (!(std::abs(degrees) < 1e9))
        return {std::sin(degrees * std::numbers::pi / 180.0),
                std::cos(degrees * std::numbers::pi / 180.0)};
    // Rounded to the nearest quarter turn by truncation (one instruction, where nearbyint is a
    // libm call on baseline x86-64).
    const double turns = degrees / 90.0;
    const auto quarter = static_cast<qint64>(turns + (turns >= 0.0 ? 0.5 : -0.5));
    const auto quarters = double(quarter);
    const double x = (degrees - quarters * 90.0) * (std::numbers::pi / 180.0); // exact difference
    const double z = x * x;
    const double sinR = 8.33333333332248946124e-03
                        + z
                                  * (-1.98412698298579493134e-04
                                     + z
                                               * (2.75573137070700676789e-06
                                                  + z
                                                            * (-2.50507602534068634195e-08
                                                               + z * 1.58969099521155010221e-10)));
    const double sinX = x + z * x * (-1.66666666666666324348e-01 + z * sinR);
    const double cosR
            = z
              * (4.16666666666666019037e-02
                 + z
                           * (-1.38888888888741095749e-03
                              + z
                                        * (2.48015872894767294178e-05
                                           + z
                                                     * (-2.75573143513906633035e-07
                                                        + z
                                                                  * (2.08757232129817482790e-09
                                                                     + z * -1.13596475577881948265e-11)))));
    const double half = 0.5 * z;
    const double w = 1.0 - half;
    const double cosX = w + (((1.0 - w) - half) + z * cosR);
    switch (quarter & 3) {
    case 0:
        return {sinX, cosX};
    case 1:
        return {cosX, -sinX};
    case 2:
        return {-sinX, -cosX};
    default:
        return {-cosX, sinX};
    }
}

} // namespace

GeoPoint GeoPoint::fromDegrees(double lat, double lon)
{
    const SinCos phi = sinCosDegrees(lat);
    const SinCos lambda = sinCosDegrees(lon);
    return {phi.cos * lambda.cos, phi.cos * lambda.sin, phi.sin};
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
