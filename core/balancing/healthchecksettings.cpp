#include "core/balancing/healthchecksettings.h"

#include <QStringList>

#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

BalancingResult<> HealthCheckSettings::validate() const
{
    using R = BalancingResult<>;
    if (!path.startsWith(u'/'))
        return R::failure(u"health check path '%1' must start with '/'"_s.arg(path));
    if (interval.count() < 10 || interval.count() > 3'600'000)
        return R::failure(
                u"interval_ms %1 is out of range; use 10..3600000"_s.arg(interval.count()));
    if (timeout.count() < 1 || timeout > interval)
        return R::failure(u"timeout_ms %1 must be in 1..interval_ms (%2)"_s.arg(timeout.count())
                                  .arg(interval.count()));
    if (rise < 1 || rise > 100 || fall < 1 || fall > 100)
        return R::failure(u"rise and fall must be in 1..100 (got %1 and %2)"_s.arg(rise).arg(fall));
    if (expectStatusMin < 100 || expectStatusMax > 599 || expectStatusMin > expectStatusMax)
        return R::failure(
                u"expected status range %1..%2 is not within 100..599"_s.arg(expectStatusMin)
                        .arg(expectStatusMax));
    return {};
}

QJsonObject HealthCheckSettings::toJson() const
{
    return QJsonObject{{u"path"_s, path},
                       {u"interval_ms"_s, qint64(interval.count())},
                       {u"timeout_ms"_s, qint64(timeout.count())},
                       {u"rise"_s, rise},
                       {u"fall"_s, fall},
                       {u"expect_status_min"_s, expectStatusMin},
                       {u"expect_status_max"_s, expectStatusMax}};
}

BalancingResult<HealthCheckSettings> HealthCheckSettings::fromJson(const QJsonObject &object)
{
    using R = BalancingResult<HealthCheckSettings>;
    HealthCheckSettings settings;
    static const QStringList integers{u"interval_ms"_s,
                                      u"timeout_ms"_s,
                                      u"rise"_s,
                                      u"fall"_s,
                                      u"expect_status_min"_s,
                                      u"expect_status_max"_s};
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (it.key() == u"path"_s) {
            if (!it.value().isString())
                return R::failure(u"health check 'path' must be a string"_s);
            settings.path = it.value().toString();
            continue;
        }
        if (!integers.contains(it.key()))
            return R::failure(u"unknown health check field '%1'; known fields: path, %2"_s
                                      .arg(it.key(), integers.join(u", "_s)));
        const double number = it.value().toDouble(std::nan(""));
        if (!it.value().isDouble() || number != std::floor(number) || std::abs(number) > 1e9)
            return R::failure(u"health check '%1' must be an integer"_s.arg(it.key()));
        const auto value = static_cast<int>(number);
        if (it.key() == u"interval_ms"_s)
            settings.interval = std::chrono::milliseconds(value);
        else if (it.key() == u"timeout_ms"_s)
            settings.timeout = std::chrono::milliseconds(value);
        else if (it.key() == u"rise"_s)
            settings.rise = value;
        else if (it.key() == u"fall"_s)
            settings.fall = value;
        else if (it.key() == u"expect_status_min"_s)
            settings.expectStatusMin = value;
        else
            settings.expectStatusMax = value;
    }
    if (const auto valid = settings.validate(); !valid)
        return R::failure(valid.error());
    return settings;
}

} // namespace Meridian
