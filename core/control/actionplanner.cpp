#include "core/control/actionplanner.h"

#include "core/edge/edgecachepurge.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

ControlError invalidJson(const QString &detail)
{
    return {400, u"invalid_json"_s, u"the request body is not valid JSON: %1"_s.arg(detail)};
}

// Rejects fields a kind does not know, so a typo never silently does nothing.
std::optional<ControlError> checkFields(const QJsonObject &body, const QStringList &allowed)
{
    for (auto it = body.constBegin(); it != body.constEnd(); ++it) {
        if (!allowed.contains(it.key())) {
            return ControlError::invalidParameter(
                    u"unknown field '%1' (allowed: %2)"_s.arg(it.key(), allowed.join(u", "_s)));
        }
    }
    return std::nullopt;
}

std::optional<ControlError> readForce(const QJsonObject &body, bool *force)
{
    const QJsonValue value = body.value(u"force"_s);
    if (value.isUndefined() || value.isNull()) {
        *force = false;
        return std::nullopt;
    }
    if (!value.isBool())
        return ControlError::invalidParameter(u"'force' must be true or false"_s);
    *force = value.toBool();
    return std::nullopt;
}

// An integer field within [min, max]; JSON numbers with a fraction are refused.
std::optional<ControlError> readInt(
        const QJsonObject &body, const QString &field, int min, int max, int *out)
{
    const QJsonValue value = body.value(field);
    if (value.isUndefined())
        return ControlError::invalidParameter(u"missing field '%1'"_s.arg(field));
    const double number = value.toDouble(std::nan(""));
    if (!value.isDouble() || std::isnan(number) || number != std::floor(number) || number < min
        || number > max) {
        return ControlError::invalidParameter(
                u"'%1' must be a whole number from %2 to %3"_s.arg(field).arg(min).arg(max));
    }
    *out = static_cast<int>(number);
    return std::nullopt;
}

void renumberPriorities(ControlState &state, const QString &first)
{
    QStringList order = state.regions.keys();
    std::stable_sort(order.begin(), order.end(), [&state](const QString &a, const QString &b) {
        return state.regions.value(a).priority < state.regions.value(b).priority;
    });
    order.removeAll(first);
    order.prepend(first);
    for (int i = 0; i < order.size(); ++i)
        state.regions[order.at(i)].priority = i + 1;
}

QJsonObject partsOf(const ControlState &state, const QStringList &rows)
{
    QJsonObject parts;
    QJsonObject regions;
    for (const QString &row : rows) {
        if (row.startsWith(u"region/"_s)) {
            const QString id = row.mid(7);
            regions.insert(id, state.regions.value(id).toJson());
        } else if (row == u"strategy"_s) {
            parts.insert(u"strategy"_s, state.strategy.toJson());
        } else if (row == u"primary"_s) {
            parts.insert(u"primary"_s, state.primary);
        }
    }
    if (!regions.isEmpty())
        parts.insert(u"regions"_s, regions);
    return parts;
}

QStringList changedRows(const ControlState &before, const ControlState &after)
{
    const QMap<QString, QJsonObject> a = before.toRows();
    const QMap<QString, QJsonObject> b = after.toRows();
    QStringList rows;
    for (auto it = b.cbegin(); it != b.cend(); ++it) {
        if (a.value(it.key()) != it.value())
            rows << it.key();
    }
    return rows;
}

// A purge's {"paths": [...], "host": "..."}: at least one path, each a pattern the edge cache
// understands (EdgeCachePurge), and an optional host name, stored in lower case.
std::optional<ControlError> readPurge(const QJsonObject &body, QJsonObject *args)
{
    constexpr qsizetype kMaxPaths = 1000;
    const QJsonValue paths = body.value(u"paths"_s);
    if (!paths.isArray() || paths.toArray().isEmpty() || paths.toArray().size() > kMaxPaths) {
        return ControlError::invalidParameter(
                u"'paths' must be a list of 1 to %1 paths: \"/index.html\" (any query string), "
                "\"/search?q=x\" (exactly), \"/assets/*\" (a prefix), \"/*\" (everything)"_s.arg(
                        kMaxPaths));
    }
    QJsonArray normalised;
    for (const QJsonValue &path : paths.toArray()) {
        if (!path.isString())
            return ControlError::invalidParameter(u"every entry of 'paths' must be a string"_s);
        const std::string problem = EdgeCachePurge::invalidPattern(path.toString().toStdString());
        if (!problem.empty()) {
            return ControlError::invalidParameter(
                    u"'%1' in 'paths': %2"_s.arg(path.toString(), QString::fromStdString(problem)));
        }
        if (!normalised.contains(path))
            normalised.append(path);
    }
    args->insert(u"paths"_s, normalised);
    const QJsonValue host = body.value(u"host"_s);
    if (host.isUndefined() || host.isNull())
        return std::nullopt;
    static const QRegularExpression hostPattern(
            uR"(^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$)"_s);
    if (!host.isString() || host.toString().size() > 255
        || !hostPattern.match(host.toString()).hasMatch()) {
        return ControlError::invalidParameter(
                u"'host' must be a host name as clients send it in Host, with an optional port "
                "(\"www.example.com\", \"example.com:8080\")"_s);
    }
    args->insert(u"host"_s, host.toString().toLower());
    return std::nullopt;
}

} // namespace

ControlResult<ActionRequest> ActionRequest::parse(const QString &kind,
                                                  const QString &regionOrAction,
                                                  const QByteArray &body,
                                                  const SafetyPolicy &policy)
{
    ActionRequest request;
    request.kind = kind;
    QJsonObject object;
    if (!body.trimmed().isEmpty()) {
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
        if (parseError.error != QJsonParseError::NoError)
            return invalidJson(
                    u"%1 at offset %2"_s.arg(parseError.errorString()).arg(parseError.offset));
        if (!document.isObject())
            return invalidJson(u"expected a JSON object"_s);
        object = document.object();
    }

    if (auto error = readForce(object, &request.force))
        return *error;

    if (kind == u"drain"_s) {
        request.region = regionOrAction;
        if (auto error = checkFields(object, {u"deadline_s"_s, u"force"_s}))
            return *error;
        double deadline = policy.defaultDrainDeadlineS;
        const QJsonValue value = object.value(u"deadline_s"_s);
        if (!value.isUndefined() && !value.isNull()) {
            deadline = value.toDouble(-1.0);
            if (!value.isDouble() || deadline <= 0.0 || deadline > 86400.0) {
                return ControlError::invalidParameter(
                        u"'deadline_s' must be a number of seconds above 0 and at most 86400"_s);
            }
        }
        request.args = {{u"deadline_s"_s, deadline}};
    } else if (kind == u"activate"_s || kind == u"promote"_s) {
        request.region = regionOrAction;
        if (auto error = checkFields(object, {u"force"_s}))
            return *error;
    } else if (kind == u"dial"_s) {
        request.region = regionOrAction;
        if (auto error = checkFields(object, {u"percent"_s, u"force"_s}))
            return *error;
        int percent = 0;
        if (auto error = readInt(object, u"percent"_s, 0, 100, &percent))
            return *error;
        request.args = {{u"percent"_s, percent}};
    } else if (kind == u"weight"_s) {
        request.region = regionOrAction;
        if (auto error = checkFields(object, {u"weight"_s, u"force"_s}))
            return *error;
        int weight = 0;
        if (auto error = readInt(object, u"weight"_s, 0, 1000000, &weight))
            return *error;
        request.args = {{u"weight"_s, weight}};
    } else if (kind == u"strategy"_s) {
        if (auto error = checkFields(object, {u"name"_s, u"params"_s, u"force"_s}))
            return *error;
        const QJsonValue name = object.value(u"name"_s);
        if (!name.isString())
            return ControlError::invalidParameter(u"missing strategy 'name'"_s);
        if (!ControlState::strategyNames().contains(name.toString())) {
            return ControlError{400,
                                u"unknown_strategy"_s,
                                u"unknown strategy '%1'; known strategies: %2"_s
                                        .arg(name.toString(),
                                             ControlState::strategyNames().join(u", "_s))};
        }
        const QJsonValue params = object.value(u"params"_s);
        if (!params.isUndefined() && !params.isNull() && !params.isObject())
            return ControlError::invalidParameter(u"'params' must be a JSON object"_s);
        request.args = {{u"name"_s, name}, {u"params"_s, params.toObject()}};
    } else if (kind == u"purge"_s) {
        if (auto error = checkFields(object, {u"paths"_s, u"host"_s, u"force"_s}))
            return *error;
        if (auto error = readPurge(object, &request.args))
            return *error;
    } else if (kind == u"revert"_s) {
        request.target = regionOrAction;
        if (auto error = checkFields(object, {u"force"_s}))
            return *error;
    } else {
        return ControlError::badRequest(u"unknown action kind '%1'"_s.arg(kind));
    }
    if (request.force)
        request.args.insert(u"force"_s, true);
    return request;
}

ActionPlanner::ActionPlanner(SafetyPolicy policy, StrategyValidator validator, InboundLinks inbound)
    : m_policy(std::move(policy))
    , m_validator(std::move(validator))
    , m_inbound(std::move(inbound))
{}

std::optional<ControlError> ActionPlanner::checkMinActive(const ControlState &current,
                                                          const ControlState &next,
                                                          const QString &what) const
{
    const int after = next.activeCount();
    if (after >= m_policy.minActiveRegions || after >= current.activeCount())
        return std::nullopt;
    return ControlError::conflict(
            u"min_active_regions"_s,
            u"%1 would leave %2 active region(s) (min_active_regions = %3); use force to override"_s
                    .arg(what)
                    .arg(after)
                    .arg(m_policy.minActiveRegions));
}

std::optional<ControlError> ActionPlanner::checkPromoteLag(const QString &region) const
{
    const auto links = m_inbound ? m_inbound(region) : std::nullopt;
    if (!links) {
        return ControlError::conflict(
                u"promote_lag"_s,
                u"cannot promote %1: its replication state is unknown (node unreachable); use "
                "force to override"_s.arg(region));
    }
    for (const InboundLink &link : *links) {
        if (link.state != u"caught_up"_s && link.state != u"lagging"_s) {
            return ControlError::conflict(
                    u"promote_lag"_s,
                    u"cannot promote %1: its link from %2 is %3 (must be caught_up or lagging); "
                    "use force to override"_s.arg(region, link.origin, link.state));
        }
        if (link.secondsBehind > m_policy.maxPromoteLagS) {
            return ControlError::conflict(
                    u"promote_lag"_s,
                    u"cannot promote %1: it is %2 s behind %3 (max_promote_lag = %4 s); use force "
                    "to override"_s.arg(region)
                            .arg(link.secondsBehind, 0, 'f', 1)
                            .arg(link.origin)
                            .arg(m_policy.maxPromoteLagS));
        }
    }
    return std::nullopt;
}

ControlResult<ActionPlan> ActionPlanner::plan(const ControlState &current,
                                              const ActionRequest &request,
                                              const QDateTime &now) const
{
    if (!request.region.isEmpty() && !current.regions.contains(request.region))
        return ControlError::unknownRegion(request.region);

    ControlState next = current;
    const QString &id = request.region;
    if (request.kind == u"drain"_s) {
        RegionControl &region = next.regions[id];
        if (region.state == u"draining"_s || region.state == u"drained"_s) {
            return ControlError::conflict(u"conflict"_s,
                                          u"%1 is already %2; activate it first"_s
                                                  .arg(id, region.state));
        }
        region.state = u"draining"_s;
        const double deadline
                = request.args.value(u"deadline_s"_s).toDouble(m_policy.defaultDrainDeadlineS);
        region.drainDeadline = now.addMSecs(qRound64(deadline * 1000.0));
        if (!request.force) {
            if (auto error = checkMinActive(current, next, u"draining %1"_s.arg(id)))
                return *error;
        }
    } else if (request.kind == u"activate"_s) {
        RegionControl &region = next.regions[id];
        if (region.state == u"active"_s)
            return ControlError::conflict(u"conflict"_s, u"%1 is already active"_s.arg(id));
        region.state = u"active"_s;
        region.drainDeadline = {};
    } else if (request.kind == u"promote"_s) {
        if (current.primary == id && current.regions.value(id).state == u"active"_s)
            return ControlError::conflict(u"conflict"_s, u"%1 is already the primary"_s.arg(id));
        if (!request.force) {
            if (auto error = checkPromoteLag(id))
                return *error;
        }
        next.primary = id;
        next.regions[id].state = u"active"_s;
        next.regions[id].drainDeadline = {};
        renumberPriorities(next, id);
    } else if (request.kind == u"dial"_s) {
        next.regions[id].dial = request.args.value(u"percent"_s).toInt();
    } else if (request.kind == u"weight"_s) {
        next.regions[id].weight = request.args.value(u"weight"_s).toInt();
    } else if (request.kind == u"strategy"_s) {
        StrategyChoice choice{request.args.value(u"name"_s).toString(),
                              request.args.value(u"params"_s).toObject()};
        if (m_validator) {
            if (const auto problem = m_validator(choice))
                return ControlError::invalidParameter(*problem);
        }
        next.strategy = choice;
    } else if (request.kind == u"purge"_s) {
        // The control state is unchanged: the action itself, replicated to every edge, is what
        // they apply.
    } else {
        return ControlError::badRequest(u"'%1' is not planned here"_s.arg(request.kind));
    }

    ActionPlan plan;
    plan.touchedRows = changedRows(current, next);
    plan.previous = partsOf(current, plan.touchedRows);
    plan.next = std::move(next);
    return plan;
}

ControlResult<ActionPlan> ActionPlanner::planRevert(const ControlState &current,
                                                    const Action &action,
                                                    bool force) const
{
    if (action.status == u"reverted"_s) {
        return ControlError::conflict(u"conflict"_s,
                                      u"%1 was already reverted by %2"_s.arg(action.id,
                                                                             action.revertedBy));
    }
    if (action.status != u"applied"_s) {
        return ControlError::conflict(u"conflict"_s,
                                      u"%1 is %2, not applied"_s.arg(action.id, action.status));
    }
    if (action.kind == u"purge"_s) {
        return ControlError::conflict(u"conflict"_s,
                                      u"%1 is a cache purge, which cannot be reverted: the edges "
                                      "fetch the purged responses from the regions again"_s.arg(
                                              action.id));
    }
    ControlState next = current;
    next.applyParts(action.previous);
    if (!force) {
        if (auto error = checkMinActive(current, next, u"reverting %1"_s.arg(action.id)))
            return *error;
    }
    ActionPlan plan;
    plan.touchedRows = changedRows(current, next);
    plan.previous = partsOf(current, plan.touchedRows);
    plan.next = std::move(next);
    return plan;
}

bool ActionPlanner::drainSettled(const RegionControl &region,
                                 int inFlight,
                                 const QDateTime &now,
                                 bool sticky)
{
    if (region.state != u"draining"_s)
        return false;
    const bool pastDeadline = region.drainDeadline.isValid() && now >= region.drainDeadline;
    if (sticky && region.drainDeadline.isValid())
        return pastDeadline;
    return inFlight <= 0 || pastDeadline;
}

} // namespace Meridian
