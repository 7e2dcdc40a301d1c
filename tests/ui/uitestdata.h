#pragma once

// Cluster views for the UI's unit tests: real API shapes, built in code.
#include "core/control/apitypes.h"

#include <cmath>

namespace MeridianTest {

inline Meridian::Api::RegionStatus region(
        const QString &id, const QString &name, double lat, double lon, double share = 0.2)
{
    Meridian::Api::RegionStatus r;
    r.id = id;
    r.name = name;
    r.lat = lat;
    r.lon = lon;
    r.health = QStringLiteral("healthy");
    r.trafficShare = share;
    r.rps = 100 * share;
    r.p50Ms = 3.5;
    r.p99Ms = 40;
    r.worstLinkState = QStringLiteral("caught_up");
    return r;
}

inline Meridian::Api::LinkStatus link(const QString &origin,
                                      const QString &replica,
                                      double rttMs,
                                      double lagS = 0.1,
                                      const QString &state = QStringLiteral("caught_up"))
{
    Meridian::Api::LinkStatus l;
    l.origin = origin;
    l.replica = replica;
    l.rttMs = rttMs;
    l.secondsBehind = lagS;
    l.state = state;
    l.applyRate = 12;
    return l;
}

// Three regions, all links both ways; sa-east unreachable with its links disconnected.
inline Meridian::Api::ClusterView threeRegions()
{
    Meridian::Api::ClusterView view;
    view.regions = {region(QStringLiteral("us-east"), QStringLiteral("Ashburn"), 39.04, -77.49, 0.5),
                    region(QStringLiteral("eu-west"), QStringLiteral("Dublin"), 53.35, -6.26, 0.5),
                    region(QStringLiteral("sa-east"),
                           QStringLiteral("S\u00e3o Paulo"),
                           -23.55,
                           -46.63,
                           0)};
    view.regions[0].primary = true;
    view.regions[2].reachable = false;
    view.regions[2].worstLinkState = QStringLiteral("disconnected");
    view.links = {link(QStringLiteral("us-east"), QStringLiteral("eu-west"), 80),
                  link(QStringLiteral("eu-west"),
                       QStringLiteral("us-east"),
                       82,
                       2.5,
                       QStringLiteral("lagging")),
                  link(QStringLiteral("us-east"),
                       QStringLiteral("sa-east"),
                       0,
                       30,
                       QStringLiteral("disconnected")),
                  link(QStringLiteral("sa-east"),
                       QStringLiteral("us-east"),
                       0,
                       30,
                       QStringLiteral("disconnected"))};
    view.primary = QStringLiteral("us-east");
    return view;
}

// `n` regions spread over the world and every link between them (n × (n - 1) links).
inline Meridian::Api::ClusterView manyRegions(int n)
{
    Meridian::Api::ClusterView view;
    for (int i = 0; i < n; ++i) {
        const double lat = -50 + 100.0 * ((i * 37) % n) / n;
        const double lon = -170 + 340.0 * i / n;
        auto r = region(QStringLiteral("r%1").arg(i, 2, 10, QChar(u'0')),
                        QStringLiteral("Region %1").arg(i),
                        lat,
                        lon,
                        1.0 / n);
        if (i % 7 == 3)
            r.reachable = false;
        if (i % 5 == 1)
            r.state = QStringLiteral("draining");
        view.regions.append(r);
    }
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            if (i != j)
                view.links.append(link(view.regions[i].id,
                                       view.regions[j].id,
                                       20 + (i * j) % 200,
                                       std::fmod(i * 0.37 + j * 0.11, 8.0)));
        }
    }
    return view;
}

} // namespace MeridianTest
