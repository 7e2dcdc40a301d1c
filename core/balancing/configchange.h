#pragma once

#include "core/balancing/balancerconfig.h"

#include <QJsonObject>
#include <QString>

namespace Meridian {

// One operator action on a BalancerConfig (drain X, dial Y to 30 %, strategy Z, promote X, …):
// what preview() evaluates before it is done and Balancer::apply() does.
struct ConfigChange
{
    enum class Kind {
        SetState,
        SetDial,
        SetWeight,
        SetPriority,
        Promote,
        SetStrategy,
        SetPanicMode,
        SetEndpointHealth,
        SetEndpointEjected,
    };

    Kind kind = Kind::SetState;
    QString regionId;
    AdminState state = AdminState::Active;
    int value = 0;
    QString strategy;
    QJsonObject params;
    PanicMode panicMode = PanicMode::Spread;
    QString endpointUrl;
    HealthState health = HealthState::Unknown;
    bool ejected = false;

    static ConfigChange drain(const QString &regionId);
    static ConfigChange activate(const QString &regionId);
    static ConfigChange setState(const QString &regionId, AdminState state);
    static ConfigChange setDial(const QString &regionId, int percent);
    static ConfigChange setWeight(const QString &regionId, int weight);
    static ConfigChange setPriority(const QString &regionId, int priority);
    // Makes the region active and first in failover order (priority below every other).
    static ConfigChange promote(const QString &regionId);
    static ConfigChange setStrategy(const QString &name, const QJsonObject &params = {});
    static ConfigChange setPanicMode(PanicMode mode);
    static ConfigChange setEndpointHealth(const QString &regionId,
                                          const QString &url,
                                          HealthState health);
    static ConfigChange setEndpointEjected(const QString &regionId,
                                           const QString &url,
                                           bool ejected);

    // The changed configuration, validated; an unknown region or endpoint, or a value out of
    // range, is an error and `config` stays as it is.
    BalancingResult<BalancerConfig> applyTo(const BalancerConfig &config) const;
    // "drain eu-west", "dial us-east to 30 %", … for logs and the control room.
    QString describe() const;
};

} // namespace Meridian
