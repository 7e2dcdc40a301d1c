#pragma once

#include "core/balancing/balancingresult.h"

#include <QJsonObject>
#include <QString>

#include <chrono>

namespace Meridian {

// How the active health checker probes endpoints (HAProxy's `inter`, `timeout check`, `rise`,
// `fall`): an HTTP GET of `path` on each endpoint every `interval`; a status in
// [expectStatusMin, expectStatusMax] within `timeout` is a success.
struct HealthCheckSettings
{
    QString path = QStringLiteral("/healthz");
    std::chrono::milliseconds interval{2000};
    std::chrono::milliseconds timeout{1000};
    int rise = 2;
    int fall = 3;
    int expectStatusMin = 200;
    int expectStatusMax = 399;

    BalancingResult<> validate() const;
    QJsonObject toJson() const;
    // Keys: path, interval_ms, timeout_ms, rise, fall, expect_status_min, expect_status_max;
    // missing keys keep their defaults, unknown keys are errors.
    static BalancingResult<HealthCheckSettings> fromJson(const QJsonObject &object);

    bool operator==(const HealthCheckSettings &other) const = default;
};

} // namespace Meridian
