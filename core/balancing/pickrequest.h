#pragma once

#include <QByteArrayView>

#include <QString>

#include <optional>
#include <span>

namespace Meridian {

// A point on the globe as a unit vector, so that nearest-by-great-circle is a largest dot
// product (no trigonometry per candidate region).
struct GeoPoint
{
    double x = 1.0;
    double y = 0.0;
    double z = 0.0;

    static GeoPoint fromDegrees(double lat, double lon);
    // Great-circle distance in kilometres (mean Earth radius 6371.0088 km).
    double distanceKm(const GeoPoint &other) const;
};

// What a caller knows about one request: a key for consistent_hash (a session id, a user id,
// the client address) and the client's location for geo_proximity. Both optional; a strategy
// that needs one and does not get it falls back to weighted random (docs/balancing.md).
// `excludedRegions` (by id) are not picked for this request: a retry after a region failed it
// goes elsewhere. Empty for first attempts, so the usual pick reads nothing more.
struct PickRequest
{
    QByteArrayView hashKey;
    std::optional<GeoPoint> client;
    std::span<const QString> excludedRegions;
};

} // namespace Meridian
