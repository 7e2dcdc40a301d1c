#include "core/balancing/outliersettings.h"

#include <QStringList>

#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

BalancingResult<> OutlierSettings::validate() const
{
    using R = BalancingResult<>;
    if (consecutiveFailures < 1 || consecutiveFailures > 10'000)
        return R::failure(u"consecutive_failures %1 is out of range; use 1..10000"_s.arg(
                consecutiveFailures));
    if (baseEjection.count() < 1 || baseEjection.count() > 86'400'000)
        return R::failure(u"base_ejection_ms %1 is out of range; use 1..86400000"_s.arg(
                baseEjection.count()));
    if (maxEjection < baseEjection || maxEjection.count() > 86'400'000)
        return R::failure(u"max_ejection_ms %1 must be in base_ejection_ms (%2)..86400000"_s
                                  .arg(maxEjection.count())
                                  .arg(baseEjection.count()));
    if (maxEjectionPercent < 0 || maxEjectionPercent > 100)
        return R::failure(
                u"max_ejection_percent %1 is out of range; use 0..100"_s.arg(maxEjectionPercent));
    if (holdDown.count() < 1 || holdDown.count() > 86'400'000)
        return R::failure(
                u"hold_down_ms %1 is out of range; use 1..86400000"_s.arg(holdDown.count()));
    return {};
}

QJsonObject OutlierSettings::toJson() const
{
    return QJsonObject{{u"consecutive_failures"_s, consecutiveFailures},
                       {u"base_ejection_ms"_s, qint64(baseEjection.count())},
                       {u"max_ejection_ms"_s, qint64(maxEjection.count())},
                       {u"max_ejection_percent"_s, maxEjectionPercent},
                       {u"hold_down_ms"_s, qint64(holdDown.count())}};
}

BalancingResult<OutlierSettings> OutlierSettings::fromJson(const QJsonObject &object)
{
    using R = BalancingResult<OutlierSettings>;
    static const QStringList known{u"consecutive_failures"_s,
                                   u"base_ejection_ms"_s,
                                   u"max_ejection_ms"_s,
                                   u"max_ejection_percent"_s,
                                   u"hold_down_ms"_s};
    OutlierSettings settings;
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!known.contains(it.key()))
            return R::failure(u"unknown outlier detection field '%1'; known fields: %2"_s
                                      .arg(it.key(), known.join(u", "_s)));
        const double number = it.value().toDouble(std::nan(""));
        if (!it.value().isDouble() || number != std::floor(number) || std::abs(number) > 1e10)
            return R::failure(u"outlier detection '%1' must be an integer"_s.arg(it.key()));
        const auto value = static_cast<qint64>(number);
        if (it.key() == known[0])
            settings.consecutiveFailures = int(std::clamp<qint64>(value, -1, 1'000'000));
        else if (it.key() == known[1])
            settings.baseEjection = std::chrono::milliseconds(value);
        else if (it.key() == known[2])
            settings.maxEjection = std::chrono::milliseconds(value);
        else if (it.key() == known[3])
            settings.maxEjectionPercent = int(std::clamp<qint64>(value, -1, 1000));
        else
            settings.holdDown = std::chrono::milliseconds(value);
    }
    if (const auto valid = settings.validate(); !valid)
        return R::failure(valid.error());
    return settings;
}

} // namespace Meridian
