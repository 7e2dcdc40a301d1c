#pragma once

#include "core/balancing/balancingresult.h"
#include "core/balancing/regionstate.h"

#include <QJsonObject>
#include <QList>
#include <QString>

namespace Meridian {

// One upstream endpoint of a region (a base URL such as "http://10.0.1.5:8080") and its health.
struct Endpoint
{
    QString url;
    HealthState health = HealthState::Unknown;
    // Taken out by passive outlier detection, whatever the active checks say.
    bool ejected = false;

    bool operator==(const Endpoint &other) const = default;
};

// A region as the balancer sees it: where it is, where its upstreams are, and the operator's
// controls (weight, failover priority, traffic dial in percent, administrative state).
struct Region
{
    QString id;
    QString name;
    double lat = 0.0;
    double lon = 0.0;
    QList<Endpoint> endpoints;
    int weight = 100; // 0..1,000,000; relative share for the weighted strategies
    int priority = 1; // failover order: lower goes first
    int dial = 100;   // 0..100 % of this region's share that it keeps
    AdminState state = AdminState::Active;

    // Checks ranges and endpoint URLs; the message names the region and the field.
    BalancingResult<> validate() const;

    QJsonObject toJson() const;
    static BalancingResult<Region> fromJson(const QJsonObject &object);

    bool operator==(const Region &other) const = default;
};

} // namespace Meridian
