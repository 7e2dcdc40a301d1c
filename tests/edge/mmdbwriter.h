#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

// Writes a small IPv4 MaxMind DB (format 2.0, 32-bit records) so that the edge's libmaxminddb
// lookups run against a real database file; MaxMind's own databases are not in Debian.
// Each network maps to either a location (latitude/longitude) or a country ISO code.
class MmdbWriter
{
public:
    struct Network
    {
        quint32 address = 0; // host order, e.g. 0x7f000000 for 127.0.0.0
        int prefixLength = 0;
        double latitude = 0;
        double longitude = 0;
        QByteArray countryIsoCode; // used instead of the location when not empty
    };

    void add(const Network &network) { m_networks.append(network); }
    // The whole file; networks must not overlap.
    QByteArray build() const;

private:
    QList<Network> m_networks;
};
