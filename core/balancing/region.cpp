#include "core/balancing/region.h"

#include <QJsonArray>
#include <QSet>
#include <QUrl>

using namespace Qt::StringLiterals;

namespace Meridian {

BalancingResult<> Region::validate() const
{
    if (id.isEmpty())
        return BalancingResult<>::failure(u"a region has an empty id; give every region an id"_s);
    const QString where = u"region '%1': "_s.arg(id);
    if (!(lat >= -90.0 && lat <= 90.0) || !(lon >= -180.0 && lon <= 180.0)) {
        return BalancingResult<>::failure(
                where
                + u"coordinates (%1, %2) are out of range; lat must be in -90..90, lon in -180..180"_s
                          .arg(lat)
                          .arg(lon));
    }
    if (weight < 0 || weight > 1'000'000)
        return BalancingResult<>::failure(
                where + u"weight %1 is out of range; use 0..1000000"_s.arg(weight));
    if (dial < 0 || dial > 100)
        return BalancingResult<>::failure(where
                                          + u"dial %1 is out of range; use 0..100 (%)"_s.arg(dial));
    QSet<QString> urls;
    for (const Endpoint &endpoint : endpoints) {
        const QUrl url(endpoint.url, QUrl::StrictMode);
        if (endpoint.url.isEmpty() || !url.isValid() || url.host().isEmpty()
            || (url.scheme() != u"http"_s && url.scheme() != u"https"_s)) {
            return BalancingResult<>::failure(
                    where
                    + u"endpoint '%1' is not an http(s) URL such as http://10.0.0.5:8080"_s.arg(
                            endpoint.url));
        }
        if (urls.contains(endpoint.url))
            return BalancingResult<>::failure(
                    where + u"endpoint '%1' is listed twice"_s.arg(endpoint.url));
        urls.insert(endpoint.url);
    }
    return {};
}

QJsonObject Region::toJson() const
{
    QJsonArray list;
    for (const Endpoint &endpoint : endpoints)
        list.append(QJsonObject{{u"url"_s, endpoint.url},
                                {u"health"_s, toString(endpoint.health)},
                                {u"ejected"_s, endpoint.ejected}});
    return QJsonObject{{u"id"_s, id},
                       {u"name"_s, name},
                       {u"lat"_s, lat},
                       {u"lon"_s, lon},
                       {u"endpoints"_s, list},
                       {u"weight"_s, weight},
                       {u"priority"_s, priority},
                       {u"dial"_s, dial},
                       {u"state"_s, toString(state)}};
}

namespace {

BalancingResult<int> intField(const QJsonObject &object, const QString &key, int fallback)
{
    const QJsonValue value = object.value(key);
    if (value.isUndefined())
        return fallback;
    const double number = value.toDouble(-1e300);
    if (!value.isDouble() || number != static_cast<double>(static_cast<qint64>(number))
        || number < -2e9 || number > 2e9) {
        return BalancingResult<int>::failure(u"'%1' must be an integer"_s.arg(key));
    }
    return static_cast<int>(number);
}

} // namespace

BalancingResult<Region> Region::fromJson(const QJsonObject &object)
{
    static const QStringList known{u"id"_s,
                                   u"name"_s,
                                   u"lat"_s,
                                   u"lon"_s,
                                   u"endpoints"_s,
                                   u"weight"_s,
                                   u"priority"_s,
                                   u"dial"_s,
                                   u"state"_s};
    Region region;
    region.id = object.value(u"id"_s).toString();
    const QString where = u"region '%1': "_s.arg(region.id);
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!known.contains(it.key()))
            return BalancingResult<Region>::failure(
                    where
                    + u"unknown field '%1'; known fields: %2"_s.arg(it.key(), known.join(u", "_s)));
    }
    region.name = object.value(u"name"_s).toString(region.id);
    for (const QString &key : {u"lat"_s, u"lon"_s}) {
        const QJsonValue value = object.value(key);
        if (!value.isUndefined() && !value.isDouble())
            return BalancingResult<Region>::failure(where + u"'%1' must be a number"_s.arg(key));
    }
    region.lat = object.value(u"lat"_s).toDouble();
    region.lon = object.value(u"lon"_s).toDouble();
    const auto weight = intField(object, u"weight"_s, region.weight);
    const auto priority = intField(object, u"priority"_s, region.priority);
    const auto dial = intField(object, u"dial"_s, region.dial);
    for (const auto *field : {&weight, &priority, &dial}) {
        if (!field->ok())
            return BalancingResult<Region>::failure(where + field->error());
    }
    region.weight = weight.value();
    region.priority = priority.value();
    region.dial = dial.value();
    const QString stateText = object.value(u"state"_s).toString(u"active"_s);
    const auto state = adminStateFromString(stateText);
    if (!state)
        return BalancingResult<Region>::failure(
                where
                + u"state '%1' is unknown; use one of %2"_s.arg(stateText,
                                                                adminStateNames().join(u", "_s)));
    region.state = *state;
    for (const QJsonValue &value : object.value(u"endpoints"_s).toArray()) {
        Endpoint endpoint;
        if (value.isString()) {
            endpoint.url = value.toString();
        } else {
            const QJsonObject entry = value.toObject();
            endpoint.url = entry.value(u"url"_s).toString();
            const QString healthText = entry.value(u"health"_s).toString(u"unknown"_s);
            const auto health = healthStateFromString(healthText);
            if (!health)
                return BalancingResult<Region>::failure(
                        where
                        + u"health '%1' is unknown; use one of %2"_s.arg(healthText,
                                                                         healthStateNames().join(
                                                                                 u", "_s)));
            endpoint.health = *health;
            endpoint.ejected = entry.value(u"ejected"_s).toBool(false);
        }
        region.endpoints.append(endpoint);
    }
    if (const auto valid = region.validate(); !valid)
        return BalancingResult<Region>::failure(valid.error());
    return region;
}

} // namespace Meridian
