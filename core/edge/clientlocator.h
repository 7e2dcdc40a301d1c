#pragma once

#include "core/edge/edgeconfig.h"
#include "core/edge/httpwire.h"

#include <QHash>
#include <QString>

#include <memory>
#include <optional>
#include <string_view>

namespace Meridian {

// Where a client is, for geo_proximity: from a configured header holding "lat,lon", a
// country-code header, or a MaxMind GeoIP2/GeoLite2 database (libmaxminddb) looked up by the
// client address. Country codes map to the coordinates of the country's principal time zone
// city in the system's tz database (/usr/share/zoneinfo/zone.tab), so no table is hard-coded.
// Thread-safe after construction: lookups only read.
class ClientLocator
{
public:
    struct Location
    {
        double lat = 0;
        double lon = 0;
    };

    // Opens the MaxMind database when configured; on failure `error` says why and which file.
    static std::unique_ptr<ClientLocator> create(const EdgeConfig &config, QString *error);
    ~ClientLocator();

    std::optional<Location> locate(const HttpWire::RequestHead &request,
                                   std::string_view clientAddress) const;
    // "lat,lon" (degrees; optional spaces) to a location; nullopt when malformed or out of range.
    static std::optional<Location> parseLatLon(std::string_view value);
    std::optional<Location> countryLocation(std::string_view isoCode) const;
    int knownCountries() const { return int(m_countries.size()); }

private:
    ClientLocator() = default;
    std::string m_locationHeader;
    std::string m_countryHeader;
    QHash<QByteArray, Location> m_countries;
    struct MaxMind;
    std::unique_ptr<MaxMind> m_maxmind;
};

} // namespace Meridian
