#pragma once

#include "core/balancing/balancingresult.h"

#include <QJsonObject>

#include <chrono>

namespace Meridian {

// Passive outlier detection settings (Envoy's outlier_detection, plus a hold-down):
// `consecutiveFailures` failed requests in a row eject an endpoint for baseEjection × (number of
// times it was ejected), at most maxEjection; at most maxEjectionPercent of the endpoints are
// ejected at once (always at least one may be). After it returns, an endpoint is on probation
// for `holdDown`: one failure then ejects it again; each full hold-down it stays in service
// takes one off its ejection count, so a flapping endpoint stays out longer each time instead of
// flapping traffic.
struct OutlierSettings
{
    int consecutiveFailures = 5;
    std::chrono::milliseconds baseEjection{30'000};
    std::chrono::milliseconds maxEjection{300'000};
    int maxEjectionPercent = 10;
    std::chrono::milliseconds holdDown{60'000};

    BalancingResult<> validate() const;
    QJsonObject toJson() const;
    // Keys: consecutive_failures, base_ejection_ms, max_ejection_ms, max_ejection_percent,
    // hold_down_ms; missing keys keep their defaults, unknown keys are errors.
    static BalancingResult<OutlierSettings> fromJson(const QJsonObject &object);

    bool operator==(const OutlierSettings &other) const = default;
};

} // namespace Meridian
