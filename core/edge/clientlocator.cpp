#include "core/edge/clientlocator.h"

#include <QFile>

#include <charconv>
#include <cstring>
#include <maxminddb.h>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// zone.tab's ISO 6709 coordinates: ±DDMM[SS]±DDDMM[SS].
std::optional<double> iso6709(std::string_view s, int degreeDigits)
{
    if (s.size() < size_t(1 + degreeDigits + 2))
        return std::nullopt;
    const int sign = s[0] == '-' ? -1 : 1;
    auto num = [&](size_t pos, size_t len) {
        int v = 0;
        std::from_chars(s.data() + pos, s.data() + pos + len, v);
        return v;
    };
    const double deg = num(1, size_t(degreeDigits));
    const double min = num(size_t(1 + degreeDigits), 2);
    const double sec = s.size() >= size_t(1 + degreeDigits + 4) ? num(size_t(3 + degreeDigits), 2)
                                                                : 0;
    return sign * (deg + min / 60.0 + sec / 3600.0);
}

} // namespace

struct ClientLocator::MaxMind
{
    MMDB_s db{};
    bool open = false;
    ~MaxMind()
    {
        if (open)
            MMDB_close(&db);
    }
};

ClientLocator::~ClientLocator() = default;

std::unique_ptr<ClientLocator> ClientLocator::create(const EdgeConfig &config, QString *error)
{
    std::unique_ptr<ClientLocator> l(new ClientLocator);
    l->m_locationHeader = config.locationHeader.toStdString();
    l->m_countryHeader = config.countryHeader.toStdString();
    QFile zones(u"/usr/share/zoneinfo/zone.tab"_s);
    if (zones.open(QIODevice::ReadOnly)) {
        while (!zones.atEnd()) {
            const QByteArray line = zones.readLine();
            if (line.startsWith('#'))
                continue;
            const QList<QByteArray> f = line.split('\t');
            if (f.size() < 3 || f[0].size() != 2 || l->m_countries.contains(f[0]))
                continue;
            const std::string_view c(f[1].constData(), size_t(f[1].size()));
            const size_t split = c.find_first_of("+-", 1);
            if (split == std::string_view::npos)
                continue;
            const auto lat = iso6709(c.substr(0, split), 2);
            const auto lon = iso6709(c.substr(split), 3);
            if (lat && lon)
                l->m_countries.insert(f[0], Location{*lat, *lon});
        }
    }
    if (!config.maxmindDatabase.isEmpty()) {
        l->m_maxmind = std::make_unique<MaxMind>();
        const QByteArray path = QFile::encodeName(config.maxmindDatabase);
        const int rc = MMDB_open(path.constData(), MMDB_MODE_MMAP, &l->m_maxmind->db);
        if (rc != MMDB_SUCCESS) {
            if (error)
                *error = u"edge.maxmind_database: cannot open %1: %2"_s
                                 .arg(config.maxmindDatabase, QString::fromUtf8(MMDB_strerror(rc)));
            return nullptr;
        }
        l->m_maxmind->open = true;
    }
    return l;
}

std::optional<ClientLocator::Location> ClientLocator::parseLatLon(std::string_view value)
{
    const size_t comma = value.find(',');
    if (comma == std::string_view::npos)
        return std::nullopt;
    auto number = [](std::string_view s) -> std::optional<double> {
        while (!s.empty() && s.front() == ' ')
            s.remove_prefix(1);
        while (!s.empty() && s.back() == ' ')
            s.remove_suffix(1);
        double v = 0;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
            return std::nullopt;
        return v;
    };
    const auto lat = number(value.substr(0, comma));
    const auto lon = number(value.substr(comma + 1));
    if (!lat || !lon || *lat < -90 || *lat > 90 || *lon < -180 || *lon > 180)
        return std::nullopt;
    return Location{*lat, *lon};
}

std::optional<ClientLocator::Location> ClientLocator::countryLocation(std::string_view isoCode) const
{
    if (isoCode.size() != 2)
        return std::nullopt;
    const char up[2] = {char(isoCode[0] & ~0x20), char(isoCode[1] & ~0x20)};
    const auto it = m_countries.constFind(QByteArray(up, 2));
    if (it == m_countries.constEnd())
        return std::nullopt;
    return *it;
}

std::optional<ClientLocator::Location> ClientLocator::locate(const HttpWire::RequestHead &request,
                                                             std::string_view clientAddress) const
{
    for (int i = 0; i < request.headerCount; ++i) {
        const auto &h = request.headers[i];
        if (!m_locationHeader.empty() && HttpWire::equalsIgnoreCase(h.name, m_locationHeader)) {
            if (auto l = parseLatLon(h.value))
                return l;
        } else if (!m_countryHeader.empty() && HttpWire::equalsIgnoreCase(h.name, m_countryHeader)) {
            if (auto l = countryLocation(h.value))
                return l;
        }
    }
    if (!m_maxmind || clientAddress.size() >= 64)
        return std::nullopt;
    char ip[64];
    std::memcpy(ip, clientAddress.data(), clientAddress.size());
    ip[clientAddress.size()] = 0;
    int gaiError = 0;
    int mmdbError = 0;
    MMDB_lookup_result_s r = MMDB_lookup_string(&m_maxmind->db, ip, &gaiError, &mmdbError);
    if (gaiError != 0 || mmdbError != MMDB_SUCCESS || !r.found_entry)
        return std::nullopt;
    MMDB_entry_data_s lat{}, lon{};
    if (MMDB_get_value(&r.entry, &lat, "location", "latitude", nullptr) == MMDB_SUCCESS
        && MMDB_get_value(&r.entry, &lon, "location", "longitude", nullptr) == MMDB_SUCCESS
        && lat.has_data && lon.has_data && lat.type == MMDB_DATA_TYPE_DOUBLE
        && lon.type == MMDB_DATA_TYPE_DOUBLE)
        return Location{lat.double_value, lon.double_value};
    MMDB_entry_data_s country{};
    if (MMDB_get_value(&r.entry, &country, "country", "iso_code", nullptr) == MMDB_SUCCESS
        && country.has_data && country.type == MMDB_DATA_TYPE_UTF8_STRING)
        return countryLocation(std::string_view(country.utf8_string, country.data_size));
    return std::nullopt;
}

} // namespace Meridian
