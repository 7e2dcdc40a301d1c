#pragma once

#include "core/control/action.h"
#include "core/control/controlerror.h"
#include "core/control/controlstate.h"

#include <QByteArray>
#include <QList>
#include <QStringList>

#include <functional>
#include <optional>

namespace Meridian {

// The cluster's safety rules (docs/configuration.md, "control").
struct SafetyPolicy
{
    int minActiveRegions = 1;
    double maxPromoteLagS = 5.0;
    double defaultDrainDeadlineS = 30.0;
    QStringList approvalRequired; // action kinds that need a second admin
};

// Replication into one region from one origin, as its replica reports it.
struct InboundLink
{
    QString origin;
    QString state; // caught_up | lagging | stalled | disconnected | schema_mismatch | needs_resync
    double secondsBehind = 0.0;
};

// A parsed, validated control request, before safety checks.
struct ActionRequest
{
    QString kind;
    QString region;   // empty for strategy and revert
    QString target;   // the action id, for revert and approve
    QJsonObject args; // normalised arguments (defaults filled in)
    bool force = false;

    // Parses a request body for `kind` (drain, activate, promote, dial, weight, strategy,
    // purge, revert). Malformed JSON → invalid_json; bad or unknown fields → invalid_parameter.
    static ControlResult<ActionRequest> parse(const QString &kind,
                                              const QString &regionOrAction,
                                              const QByteArray &body,
                                              const SafetyPolicy &policy);
};

// What an accepted request does: the state after it and the parts of the state it replaced.
struct ActionPlan
{
    ControlState next;
    QJsonObject previous;
    QStringList touchedRows; // row keys (ControlState::toRows) that change
};

// Pure decision logic of the control API: validation against the current state, the safety rules
// (min_active_regions, promote lag) and the resulting state. No I/O, so every rule is unit-tested;
// ControlService runs it at the control leader, one request at a time.
class ActionPlanner
{
public:
    using StrategyValidator = std::function<std::optional<QString>(const StrategyChoice &)>;
    // Returns the inbound links of a region, or nothing when its replica cannot be asked.
    using InboundLinks = std::function<std::optional<QList<InboundLink>>(const QString &region)>;

    ActionPlanner(SafetyPolicy policy, StrategyValidator validator, InboundLinks inbound);

    const SafetyPolicy &policy() const { return m_policy; }

    ControlResult<ActionPlan> plan(const ControlState &current,
                                   const ActionRequest &request,
                                   const QDateTime &now) const;
    // The plan that restores what `action` replaced.
    ControlResult<ActionPlan> planRevert(const ControlState &current,
                                         const Action &action,
                                         bool force) const;

    // Whether a draining region is now drained: no request in flight or its deadline passed.
    // With `sticky` (the strategy keeps sessions on a draining region: consistent_hash) an idle
    // moment is not the end of the drain, only the deadline is.
    static bool drainSettled(const RegionControl &region,
                             int inFlight,
                             const QDateTime &now,
                             bool sticky = false);

private:
    std::optional<ControlError> checkMinActive(const ControlState &current,
                                               const ControlState &next,
                                               const QString &what) const;
    std::optional<ControlError> checkPromoteLag(const QString &region) const;

    SafetyPolicy m_policy;
    StrategyValidator m_validator;
    InboundLinks m_inbound;
};

} // namespace Meridian
