#include "core/node/controlservice.h"

#include "core/control/controlbackend.h"
#include "core/control/controlstore.h"
#include "core/http/httprouter.h"
#include "core/node/clustermonitor.h"
#include "core/node/peerclient.h"
#include "core/version.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>

#include <algorithm>
#include <memory>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcControl, "meridian.control")

namespace {

constexpr QByteArrayView kForwardedFor = "X-Meridian-Forwarded-For";

int linkSeverity(const QString &state)
{
    static const QStringList order = {u"caught_up"_s,
                                      u"lagging"_s,
                                      u"stalled"_s,
                                      u"disconnected"_s,
                                      u"needs_resync"_s,
                                      u"schema_mismatch"_s};
    const qsizetype index = order.indexOf(state);
    return index < 0 ? int(order.size()) : int(index);
}

QJsonValue rttValue(double ms)
{
    return ms < 0 ? QJsonValue() : QJsonValue(std::round(ms * 100.0) / 100.0);
}

QJsonObject bodyObject(const QByteArray &body)
{
    const QJsonDocument document = QJsonDocument::fromJson(body);
    return document.isObject() ? document.object() : QJsonObject();
}

// A control call's arguments as the audit log records them: its JSON body plus the path's
// subject, named "action" for revert and approve and "region" otherwise.
QJsonObject callArgs(const QString &kind, const QString &subject, const QByteArray &body)
{
    QJsonObject args = bodyObject(body);
    if (!subject.isEmpty())
        args.insert(kind == u"revert"_s || kind == u"approve"_s ? u"action"_s : u"region"_s,
                    subject);
    return args;
}

HttpResponse jsonResponse(int status, const QJsonObject &body)
{
    return HttpResponse::json(status, body);
}

} // namespace

ControlService::ControlService(const NodeConfig &config,
                               ControlStore *store,
                               ClusterMonitor *monitor,
                               PeerClient *peers,
                               ControlBackend *backend,
                               AuditLog *audit,
                               QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_store(store)
    , m_monitor(monitor)
    , m_peers(peers)
    , m_backend(backend)
    , m_audit(audit)
    , m_planner(
              config.safety,
              [backend](const StrategyChoice &choice) { return backend->validateStrategy(choice); },
              [this](const QString &region) { return inboundForSafety(region); })
    , m_startedAt(QDateTime::currentDateTimeUtc())
{
    m_uptime.start();
    m_auth.setTokens(config.tokens);
    connect(m_store, &ControlStore::stateChanged, this, &ControlService::onStateChanged);
    connect(m_store, &ControlStore::actionRecorded, this, [this](const Action &action) {
        publish("action", action.toJson());
    });
    connect(m_monitor,
            &ClusterMonitor::healthChanged,
            this,
            [this](const QString &id, const QString &health) {
                publish("health",
                        {{u"region"_s, id},
                         {u"health"_s, health},
                         {u"reachable"_s, m_monitor->isReachable(id)}});
            });
    connect(m_monitor,
            &ClusterMonitor::reachabilityChanged,
            this,
            [this](const QString &id, bool reachable) {
                publish("health",
                        {{u"region"_s, id},
                         {u"health"_s, m_monitor->snapshot(id).dataHealth},
                         {u"reachable"_s, reachable}});
            });
    m_periodic.setInterval(1000);
    connect(&m_periodic, &QTimer::timeout, this, &ControlService::publishPeriodic);
    m_periodic.start();
    m_heartbeat.setInterval(5000);
    connect(&m_heartbeat, &QTimer::timeout, this, [this]() {
        m_streams.removeIf([](const HttpResponder &stream) { return !stream.isOpen(); });
        for (HttpResponder &stream : m_streams)
            stream.sendComment("heartbeat");
    });
    m_heartbeat.start();
}

ControlService::~ControlService()
{
    closeStreams();
}

void ControlService::closeStreams()
{
    for (HttpResponder &stream : m_streams)
        stream.end();
    m_streams.clear();
}

// ---------------------------------------------------------------------------------------------
// Routes

void ControlService::addRoutes(HttpRouter &router)
{
    const auto viewer = TokenRole::Viewer;
    const auto admin = TokenRole::Admin;
    router.route("GET",
                 u"/v1/status",
                 guarded(viewer,
                         u"status"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             r.send(jsonResponse(200, statusJson()));
                         }));
    router.route("GET",
                 u"/v1/probe",
                 guarded(viewer,
                         u"probe"_s,
                         [this](const HttpRequest &request, HttpResponder r, const Caller &) {
                             r.send(jsonResponse(200,
                                                 probeJson(request.queryValue(u"digest")
                                                           == u"1"_s)));
                         }));
    router.route("GET",
                 u"/v1/cluster",
                 guarded(viewer,
                         u"cluster"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             r.send(jsonResponse(200, clusterJson()));
                         }));
    router.route("GET",
                 u"/v1/regions",
                 guarded(viewer,
                         u"regions"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             r.send(jsonResponse(200, {{u"regions"_s, regionsJson()}}));
                         }));
    router.route("GET",
                 u"/v1/regions/{id}",
                 guarded(viewer,
                         u"region"_s,
                         [this](const HttpRequest &request, HttpResponder r, const Caller &) {
                             const QString id = request.pathParam(u"id");
                             if (!m_store->state().regions.contains(id)) {
                                 r.send(jsonResponse(404, ControlError::unknownRegion(id).toJson()));
                                 return;
                             }
                             r.send(jsonResponse(200,
                                                 regionJson(id,
                                                            m_backend->trafficShares(
                                                                    m_store->state()))));
                         }));
    router.route("GET",
                 u"/v1/links",
                 guarded(viewer,
                         u"links"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             r.send(jsonResponse(200, {{u"links"_s, linksJson()}}));
                         }));
    router.route("GET",
                 u"/v1/strategy",
                 guarded(viewer,
                         u"strategy"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             r.send(jsonResponse(200, m_store->state().strategy.toJson()));
                         }));
    router.route("GET",
                 u"/v1/actions",
                 guarded(viewer,
                         u"actions"_s,
                         [this](const HttpRequest &request, HttpResponder r, const Caller &) {
                             bool ok = false;
                             int limit = request.queryValue(u"limit").toInt(&ok);
                             if (!ok || limit <= 0)
                                 limit = 100;
                             QJsonArray actions;
                             for (const Action &action : m_store->actions(std::min(limit, 10000)))
                                 actions.append(action.toJson());
                             r.send(jsonResponse(200, {{u"actions"_s, actions}}));
                         }));
    router.route("GET",
                 u"/v1/audit",
                 guarded(viewer,
                         u"audit"_s,
                         [this](const HttpRequest &request, HttpResponder r, const Caller &) {
                             bool ok = false;
                             int limit = request.queryValue(u"limit").toInt(&ok);
                             if (request.hasQuery(u"limit") && (!ok || limit <= 0)) {
                                 r.send(jsonResponse(
                                         400,
                                         ControlError::invalidParameter(
                                                 u"'limit' must be a positive whole number"_s)
                                                 .toJson()));
                                 return;
                             }
                             if (!ok)
                                 limit = 100;
                             QJsonArray entries;
                             for (const AuditEntry &entry : m_audit->newest(std::min(limit, 10000)))
                                 entries.append(entry.toJson());
                             r.send(jsonResponse(200, {{u"entries"_s, entries}}));
                         }));
    router.route("GET",
                 u"/v1/digest",
                 guarded(viewer,
                         u"digest"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             digest(std::move(r));
                         }));
    router.route("GET",
                 u"/v1/events",
                 guarded(viewer,
                         u"events"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             if (!r.beginEventStream())
                                 return;
                             r.sendEvent("state",
                                         QJsonDocument(clusterJson()).toJson(QJsonDocument::Compact));
                             m_streams.append(r);
                         }));
    router.route(
            "POST",
            u"/v1/preview",
            guarded(viewer, u"preview"_s, [this](const HttpRequest &request, HttpResponder r, const Caller &) {
                QJsonParseError parseError;
                const QJsonDocument document = QJsonDocument::fromJson(request.body(), &parseError);
                if (!document.isObject()) {
                    r.send(jsonResponse(400,
                                        ControlError{400,
                                                     u"invalid_json"_s,
                                                     u"the request body must be a JSON object: %1"_s
                                                             .arg(parseError.errorString())}
                                                .toJson()));
                    return;
                }
                const QJsonObject body = document.object();
                if (body.size() != 1) {
                    r.send(jsonResponse(
                            400,
                            ControlError::invalidParameter(
                                    u"give exactly one of drain, activate, promote, dial, weight, strategy"_s)
                                    .toJson()));
                    return;
                }
                const QString kind = body.constBegin().key();
                const QJsonValue value = body.constBegin().value();
                QString subject;
                QByteArray args = "{}";
                if (kind == u"drain"_s || kind == u"activate"_s || kind == u"promote"_s) {
                    subject = value.toString();
                    args = "{\"force\":true}";
                } else if (kind == u"dial"_s || kind == u"weight"_s) {
                    QJsonObject object = value.toObject();
                    subject = object.take(u"region"_s).toString();
                    object.insert(u"force"_s, true);
                    args = QJsonDocument(object).toJson(QJsonDocument::Compact);
                } else if (kind == u"strategy"_s) {
                    args = QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
                } else {
                    r.send(jsonResponse(
                            400,
                            ControlError::invalidParameter(
                                    u"unknown preview '%1'; give one of drain, activate, promote, dial, weight, strategy"_s
                                            .arg(kind))
                                    .toJson()));
                    return;
                }
                const auto parsed = ActionRequest::parse(kind, subject, args, m_config.safety);
                if (!parsed) {
                    r.send(jsonResponse(parsed.error().status, parsed.error().toJson()));
                    return;
                }
                // Previews ignore the safety rules (force): they show what would happen.
                const auto plan = m_planner.plan(m_store->state(),
                                                 parsed.value(),
                                                 QDateTime::currentDateTimeUtc());
                if (!plan) {
                    r.send(jsonResponse(plan.error().status, plan.error().toJson()));
                    return;
                }
                QJsonObject before;
                QJsonObject after;
                const auto sharesBefore = m_backend->trafficShares(m_store->state());
                const auto sharesAfter = m_backend->trafficShares(plan.value().next);
                for (auto it = sharesBefore.cbegin(); it != sharesBefore.cend(); ++it)
                    before.insert(it.key(), it.value());
                for (auto it = sharesAfter.cbegin(); it != sharesAfter.cend(); ++it)
                    after.insert(it.key(), it.value());
                r.send(jsonResponse(200, {{u"before"_s, before}, {u"after"_s, after}}));
            }));

    auto mutating = [this, admin](const QString &kind) {
        return guarded(admin,
                       kind,
                       [this,
                        kind](const HttpRequest &request, HttpResponder r, const Caller &caller) {
                           mutate(kind, request, std::move(r), caller);
                       });
    };
    router.route("POST", u"/v1/regions/{id}/drain", mutating(u"drain"_s));
    router.route("POST", u"/v1/regions/{id}/activate", mutating(u"activate"_s));
    router.route("POST", u"/v1/regions/{id}/promote", mutating(u"promote"_s));
    router.route("PUT", u"/v1/regions/{id}/dial", mutating(u"dial"_s));
    router.route("PUT", u"/v1/regions/{id}/weight", mutating(u"weight"_s));
    router.route("PUT", u"/v1/strategy", mutating(u"strategy"_s));
    router.route("POST", u"/v1/cache/purge", mutating(u"purge"_s));
    router.route("GET",
                 u"/v1/cache",
                 guarded(viewer,
                         u"cache"_s,
                         [this](const HttpRequest &, HttpResponder r, const Caller &) {
                             r.send(jsonResponse(200, cacheJson()));
                         }));
    router.route("GET",
                 u"/v1/cache/purge/{id}",
                 guarded(viewer,
                         u"purge_status"_s,
                         [this](const HttpRequest &request, HttpResponder r, const Caller &) {
                             const auto status = purgeStatus(request.pathParam(u"id"));
                             r.send(status ? jsonResponse(200, status.value())
                                           : jsonResponse(status.error().status,
                                                          status.error().toJson()));
                         }));
    router.route("POST", u"/v1/actions/{id}/revert", mutating(u"revert"_s));
    router.route("POST", u"/v1/actions/{id}/approve", mutating(u"approve"_s));
    router.route("POST", u"/v1/regions/{id}/settle", mutating(u"settle"_s));

    // Start, cancel and progress of a resync share one handler, which tells them apart by verb.
    const auto resyncHandler =
            [this](const HttpRequest &request, HttpResponder r, const Caller &caller) {
                resync(request, std::move(r), caller);
            };
    router.route("POST", u"/v1/regions/{id}/resync", guarded(admin, u"resync"_s, resyncHandler));
    router.route("GET",
                 u"/v1/regions/{id}/overwritten",
                 guarded(viewer,
                         u"overwritten"_s,
                         [this](const HttpRequest &request, HttpResponder r, const Caller &caller) {
                             overwritten(request, std::move(r), caller);
                         }));
    router.route("DELETE",
                 u"/v1/regions/{id}/resync",
                 guarded(admin, u"resync_cancel"_s, resyncHandler));
    router.route("GET",
                 u"/v1/regions/{id}/resync",
                 guarded(viewer, u"resync_progress"_s, resyncHandler));
}

HttpHandler ControlService::guarded(TokenRole role, const QString &action, Handler handler)
{
    return [this, role, action, handler = std::move(handler)](const HttpRequest &request,
                                                              HttpResponder responder) {
        Caller caller;
        caller.client = request.peerAddress().toString();
        const QByteArray forwardedFor = request.header(kForwardedFor);
        if (!forwardedFor.isEmpty())
            caller.client = QString::fromUtf8(forwardedFor) + u" via "_s + caller.client;
        const bool mutating = request.method() != "GET" && request.method() != "HEAD"
                              && action != u"preview"_s;
        const QString subject = request.pathParam(u"id");
        const QJsonObject args = subject.isEmpty() ? bodyObject(request.body())
                                                   : callArgs(action, subject, request.body());

        const auto token = TokenAuth::bearerToken(request.header("Authorization"));
        const auto entry = token ? m_auth.verify(*token) : std::nullopt;
        if (!entry) {
            const ControlError error{401,
                                     u"unauthorized"_s,
                                     token ? u"the bearer token is not valid"_s
                                           : u"missing 'Authorization: Bearer <token>' header"_s};
            if (mutating)
                recordAudit(caller, action, args, error.status, error.code);
            HttpResponse response = jsonResponse(401, error.toJson());
            response.setHeader("WWW-Authenticate", "Bearer realm=\"meridian\"");
            responder.send(std::move(response));
            return;
        }
        caller.token = entry->name;
        caller.role = entry->role;
        if (role == TokenRole::Admin && entry->role != TokenRole::Admin) {
            const ControlError error{403,
                                     u"forbidden"_s,
                                     u"token '%1' has role viewer; %2 needs an admin token"_s
                                             .arg(entry->name, action)};
            if (mutating)
                recordAudit(caller, action, args, error.status, error.code);
            responder.send(jsonResponse(403, error.toJson()));
            return;
        }
        handler(request, std::move(responder), caller);
    };
}

// ---------------------------------------------------------------------------------------------
// Audit

void ControlService::recordAudit(const Caller &caller,
                                 const QString &action,
                                 const QJsonObject &args,
                                 int status,
                                 const QString &code)
{
    AuditEntry entry;
    entry.time = QDateTime::currentDateTimeUtc();
    entry.token = caller.token;
    entry.client = caller.client;
    entry.action = action;
    entry.args = args;
    entry.status = status;
    entry.result = code.isEmpty() ? QString::number(status) : u"%1 %2"_s.arg(status).arg(code);
    entry.node = m_config.nodeId;
    m_audit->append(entry);
    qCInfo(lcControl).noquote() << "audit:" << action << "by"
                                << (caller.token.isEmpty() ? u"-"_s : caller.token) << "from"
                                << caller.client << "->" << entry.result;
}

void ControlService::answer(HttpResponder &responder,
                            const Caller &caller,
                            const QString &action,
                            const QJsonObject &args,
                            int status,
                            const QJsonObject &body)
{
    recordAudit(caller, action, args, status, {});
    HttpResponse response = jsonResponse(status, body);
    response.setHeader("X-Meridian-Leader", m_config.region.toUtf8());
    responder.send(std::move(response));
}

void ControlService::answerError(HttpResponder &responder,
                                 const Caller &caller,
                                 const QString &action,
                                 const QJsonObject &args,
                                 const ControlError &error)
{
    recordAudit(caller, action, args, error.status, error.code);
    responder.send(jsonResponse(error.status, error.toJson()));
}

// ---------------------------------------------------------------------------------------------
// Mutating calls: the control leader

QString ControlService::leader() const
{
    if (m_config.leaderQuorum && !quorum().hasQuorum())
        return {};
    const ControlState &state = m_store->state();
    QStringList order = state.regions.keys();
    std::sort(order.begin(), order.end(), [&state](const QString &a, const QString &b) {
        const bool pa = a == state.primary;
        const bool pb = b == state.primary;
        if (pa != pb)
            return pa;
        const int qa = state.regions.value(a).priority;
        const int qb = state.regions.value(b).priority;
        return qa != qb ? qa < qb : a < b;
    });
    for (const QString &id : order) {
        if (isReachable(id))
            return id;
    }
    return {};
}

ControlService::Quorum ControlService::quorum() const
{
    Quorum result;
    const auto count = [this, &result](const QString &id) {
        ++result.voters;
        if (id == m_config.nodeId || isReachable(id))
            ++result.reachable;
    };
    for (const RegionSpec &spec : m_config.regions)
        count(spec.id);
    for (const EdgeSpec &edge : m_config.edges)
        count(edge.id);
    return result;
}

QJsonObject ControlService::quorumJson() const
{
    const Quorum q = quorum();
    return {{u"reachable"_s, q.reachable},
            {u"voters"_s, q.voters},
            {u"has_quorum"_s, q.hasQuorum()}};
}

ControlError ControlService::noQuorumError() const
{
    const Quorum q = quorum();
    return {503,
            u"no_quorum"_s,
            u"%1 reaches %2 of the %3 nodes of the cluster (regions and edges, itself included) "
            "and a control leader needs more than half of them: the other side of a network "
            "partition may still have a leader and be applying control calls; retry when the "
            "nodes are back in reach, or use force to apply without the cluster-wide safety "
            "checks"_s.arg(m_config.nodeId)
                    .arg(q.reachable)
                    .arg(q.voters)};
}

bool ControlService::isReachable(const QString &nodeId) const
{
    if (m_config.roleRegion && nodeId == m_config.region)
        return true;
    return m_monitor->isReachable(nodeId);
}

void ControlService::mutate(const QString &kind,
                            const HttpRequest &request,
                            HttpResponder responder,
                            const Caller &caller)
{
    const QString subject = request.pathParam(u"id");
    const bool forwarded = request.headers().contains(kForwardedFor);
    const QString leaderId = leader();
    const bool self = m_config.roleRegion && leaderId == m_config.region;
    if (forwarded || self) {
        // A leader checks its own quorum when it applies: it may have lost it since the node
        // that forwarded the call chose it.
        if (forwarded && m_config.leaderQuorum && !quorum().hasQuorum()) {
            const QJsonObject args = callArgs(kind, subject, request.body());
            if (!args.value(u"force"_s).toBool()) {
                answerError(responder, caller, kind, args, noQuorumError());
                return;
            }
        }
        if (kind == u"promote"_s)
            applyPromoteWithFreshLinks(subject, request, std::move(responder), caller);
        else
            applyLocally(kind, subject, request, std::move(responder), caller);
        return;
    }
    if (leaderId.isEmpty()) {
        const QJsonObject args = callArgs(kind, subject, request.body());
        if (args.value(u"force"_s).toBool()) {
            qCWarning(lcControl) << "no control leader reachable; applying forced" << kind
                                 << "locally";
            applyLocally(kind, subject, request, std::move(responder), caller);
            return;
        }
        if (m_config.leaderQuorum && !quorum().hasQuorum()) {
            answerError(responder, caller, kind, args, noQuorumError());
            return;
        }
        answerError(responder,
                    caller,
                    kind,
                    args,
                    {503,
                     u"leader_unavailable"_s,
                     u"no control leader is reachable from %1 (the primary and every region in "
                     "failover order are down or unreachable); retry, or use force to apply "
                     "without the cluster-wide safety checks"_s.arg(m_config.nodeId)});
        return;
    }
    forward(leaderId, kind, request, std::move(responder), caller);
}

void ControlService::settleDrain(const QString &region, const RegionControl &draining)
{
    if (m_settleInFlight)
        return;
    const QString leaderId = leader();
    const QByteArray body
            = QJsonDocument(QJsonObject{{u"drain_deadline"_s, toIsoTime(draining.drainDeadline)}})
                      .toJson(QJsonDocument::Compact);
    const QString path = u"/v1/regions/%1/settle"_s.arg(region);
    if (leaderId.isEmpty())
        return; // retried on the next tick
    const QUrl target = leaderId == m_config.region ? m_config.regionSpec(region)->controlUrl
                                                    : m_monitor->peer(leaderId)->controlUrl;
    m_settleInFlight = true;
    m_peers->call(target,
                  "POST",
                  path,
                  body,
                  m_config.forwardTimeoutMs,
                  [this, region](const PeerReply &reply) {
                      m_settleInFlight = false;
                      if (reply.ok())
                          qCInfo(lcControl).noquote() << region << "is drained";
                      m_store->refresh();
                  },
                  {},
                  {{QByteArray(kForwardedFor.data(), kForwardedFor.size()),
                    m_config.nodeId.toUtf8()}});
}

void ControlService::applyPromoteWithFreshLinks(const QString &subject,
                                                const HttpRequest &request,
                                                HttpResponder responder,
                                                const Caller &caller)
{
    // The promote lag rule needs the target's replication state now, not as of the last probe.
    const PeerNode *peer = m_monitor->peer(subject);
    if (!peer || (m_config.roleRegion && subject == m_config.region)
        || bodyObject(request.body()).value(u"force"_s).toBool()) {
        applyLocally(u"promote"_s, subject, request, std::move(responder), caller);
        return;
    }
    m_peers->call(peer->controlUrl,
                  "GET",
                  u"/v1/probe"_s,
                  {},
                  std::min(m_config.forwardTimeoutMs, 2000),
                  [this, subject, request, responder, caller](const PeerReply &reply) mutable {
                      std::optional<QJsonArray> links;
                      if (reply.status == 200)
                          links = bodyObject(reply.body).value(u"links"_s).toArray();
                      m_freshLinks = std::make_pair(subject, links);
                      applyLocally(u"promote"_s, subject, request, std::move(responder), caller);
                      m_freshLinks.reset();
                  });
}

void ControlService::forward(const QString &leaderId,
                             const QString &kind,
                             const HttpRequest &request,
                             HttpResponder responder,
                             const Caller &caller)
{
    const PeerNode *peer = m_monitor->peer(leaderId);
    if (!peer) {
        answerError(responder,
                    caller,
                    kind,
                    {},
                    {500, u"internal"_s, u"no route to leader %1"_s.arg(leaderId)});
        return;
    }
    const QString subject = request.pathParam(u"id");
    const QJsonObject args = callArgs(kind, subject, request.body());
    const QByteArray forwardedFor = caller.client.toUtf8();
    m_peers->call(peer->controlUrl,
                  request.method(),
                  QString::fromUtf8(request.target()),
                  request.body(),
                  m_config.forwardTimeoutMs,
                  [this, responder, caller, kind, args, leaderId](const PeerReply &reply) mutable {
                      if (reply.status == 0) {
                          answerError(
                                  responder,
                                  caller,
                                  kind,
                                  args,
                                  {503,
                                   u"leader_unavailable"_s,
                                   u"the control leader %1 did not answer (%2); the call may or "
                                   "may not have been applied: check GET /v1/actions before "
                                   "retrying"_s.arg(leaderId, reply.error)});
                          return;
                      }
                      const QJsonObject body = bodyObject(reply.body);
                      recordAudit(caller,
                                  kind,
                                  args,
                                  reply.status,
                                  body.value(u"error"_s).toObject().value(u"code"_s).toString());
                      HttpResponse response(reply.status);
                      response.setBody(reply.body, "application/json");
                      response.setHeader("X-Meridian-Leader", leaderId.toUtf8());
                      responder.send(std::move(response));
                  },
                  request.header("Authorization"),
                  {{QByteArray(kForwardedFor.data(), kForwardedFor.size()), forwardedFor}});
}

void ControlService::applyLocally(const QString &kind,
                                  const QString &subject,
                                  const HttpRequest &request,
                                  HttpResponder responder,
                                  const Caller &caller)
{
    QJsonObject args = callArgs(kind, subject, request.body());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QString error;

    if (kind == u"settle"_s) {
        const RegionControl current = m_store->state().regions.value(subject);
        const QString deadline = bodyObject(request.body()).value(u"drain_deadline"_s).toString();
        if (!m_store->state().regions.contains(subject)) {
            answerError(responder, caller, kind, args, ControlError::unknownRegion(subject));
            return;
        }
        if (current.state != u"draining"_s || toIsoTime(current.drainDeadline) != deadline) {
            answerError(responder,
                        caller,
                        kind,
                        args,
                        ControlError::conflict(u"conflict"_s,
                                               u"%1 is %2, not in the drain being settled"_s
                                                       .arg(subject, current.state)));
            return;
        }
        RegionControl drained = current;
        drained.state = u"drained"_s;
        drained.drainDeadline = {};
        if (!m_store->setRegion(subject, drained, &error)) {
            answerError(responder, caller, kind, args, {500, u"internal"_s, error});
            return;
        }
        answer(responder,
               caller,
               kind,
               args,
               200,
               {{u"region"_s, regionJson(subject, m_backend->trafficShares(m_store->state()))}});
        return;
    }

    if (kind == u"revert"_s || kind == u"approve"_s) {
        const auto parsed
                = ActionRequest::parse(u"revert"_s, subject, request.body(), m_config.safety);
        if (!parsed) {
            answerError(responder, caller, kind, args, parsed.error());
            return;
        }
        auto target = m_store->action(subject);
        if (!target) {
            answerError(responder,
                        caller,
                        kind,
                        args,
                        ControlError::notFound(
                                u"no action '%1'; GET /v1/actions lists them"_s.arg(subject)));
            return;
        }
        if (kind == u"revert"_s) {
            const auto plan = m_planner.planRevert(m_store->state(), *target, parsed.value().force);
            if (!plan) {
                answerError(responder, caller, kind, args, plan.error());
                return;
            }
            Action revert;
            revert.id = m_store->nextActionId();
            revert.kind = u"revert"_s;
            revert.region = target->region;
            revert.args = {{u"action"_s, target->id}};
            if (parsed.value().force)
                revert.args.insert(u"force"_s, true);
            revert.time = now;
            revert.actor = caller.token;
            revert.node = m_config.nodeId;
            revert.previous = plan.value().previous;
            target->status = u"reverted"_s;
            target->revertedBy = revert.id;
            if (!m_store->apply(plan.value(), revert, &error)
                || !m_store->saveAction(*target, &error)) {
                answerError(responder, caller, kind, args, {500, u"internal"_s, error});
                return;
            }
            answer(responder, caller, kind, args, 200, {{u"action"_s, revert.toJson()}});
            return;
        }
        // approve
        if (target->status != u"pending_approval"_s) {
            answerError(responder,
                        caller,
                        kind,
                        args,
                        ControlError::conflict(u"conflict"_s,
                                               u"%1 is %2, not pending approval"_s
                                                       .arg(target->id, target->status)));
            return;
        }
        if (target->actor == caller.token) {
            answerError(responder,
                        caller,
                        kind,
                        args,
                        ControlError::conflict(
                                u"conflict"_s,
                                u"%1 was requested by '%2'; a different admin must approve it"_s
                                        .arg(target->id, caller.token)));
            return;
        }
        ActionRequest original;
        original.kind = target->kind;
        original.region = target->region;
        original.args = target->args;
        original.force = target->args.value(u"force"_s).toBool();
        const auto plan = m_planner.plan(m_store->state(), original, now);
        if (!plan) {
            answerError(responder, caller, kind, args, plan.error());
            return;
        }
        target->status = u"applied"_s;
        target->approvedBy = caller.token;
        target->previous = plan.value().previous;
        target->time = now;
        if (!m_store->apply(plan.value(), *target, &error)) {
            answerError(responder, caller, kind, args, {500, u"internal"_s, error});
            return;
        }
        answer(responder, caller, kind, args, 200, {{u"action"_s, target->toJson()}});
        return;
    }

    const auto parsed = ActionRequest::parse(kind, subject, request.body(), m_config.safety);
    if (!parsed) {
        answerError(responder, caller, kind, args, parsed.error());
        return;
    }
    const ActionRequest &actionRequest = parsed.value();
    const auto plan = m_planner.plan(m_store->state(), actionRequest, now);
    if (!plan) {
        answerError(responder, caller, kind, args, plan.error());
        return;
    }
    Action action;
    action.id = m_store->nextActionId();
    action.kind = kind;
    action.region = actionRequest.region;
    action.args = actionRequest.args;
    action.time = now;
    action.actor = caller.token;
    action.node = m_config.nodeId;

    if (m_config.safety.approvalRequired.contains(kind)) {
        action.status = u"pending_approval"_s;
        if (!m_store->saveAction(action, &error)) {
            answerError(responder, caller, kind, args, {500, u"internal"_s, error});
            return;
        }
        answer(responder,
               caller,
               kind,
               args,
               202,
               {{u"action"_s, action.toJson()},
                {u"approval_required"_s, true},
                {u"message"_s,
                 u"%1 waits for a second admin: POST /v1/actions/%2/approve"_s.arg(kind,
                                                                                   action.id)}});
        return;
    }

    action.previous = plan.value().previous;
    if (!m_store->apply(plan.value(), action, &error)) {
        answerError(responder, caller, kind, args, {500, u"internal"_s, error});
        return;
    }
    QJsonObject body{{u"action"_s, action.toJson()}};
    if (kind == u"strategy"_s)
        body.insert(u"strategy"_s, m_store->state().strategy.toJson());
    else if (kind != u"purge"_s)
        body.insert(u"region"_s,
                    regionJson(action.region, m_backend->trafficShares(m_store->state())));
    // A drain and a purge go on after the answer (GET …/purge/{id} follows the edges).
    answer(responder, caller, kind, args, kind == u"drain"_s || kind == u"purge"_s ? 202 : 200, body);
}

bool ControlService::forwardToRegionNode(const QString &region,
                                         const HttpRequest &request,
                                         const Caller &caller,
                                         std::function<void(const PeerReply &)> done)
{
    // The monitor's reachability is the last probe's answer, up to a probe interval old, and
    // one slow probe on a loaded host flips it: the forwarded call itself is the real test.
    const PeerNode *peer = m_monitor->peer(region);
    if (!peer)
        return false;
    m_peers->call(peer->controlUrl,
                  request.method(),
                  QString::fromUtf8(request.target()),
                  request.body(),
                  m_config.forwardTimeoutMs,
                  std::move(done),
                  request.header("Authorization"),
                  {{QByteArray(kForwardedFor.data(), kForwardedFor.size()),
                    caller.client.toUtf8()}});
    return true;
}

void ControlService::overwritten(const HttpRequest &request,
                                 HttpResponder responder,
                                 const Caller &caller)
{
    const QString region = request.pathParam(u"id");
    if (!m_config.regionSpec(region)) {
        responder.send(jsonResponse(404, ControlError::unknownRegion(region).toJson()));
        return;
    }
    bool ok = true;
    int limit = 100;
    if (request.hasQuery(u"limit"))
        limit = request.queryValue(u"limit").toInt(&ok);
    if (!ok || limit <= 0 || limit > 10000) {
        responder.send(jsonResponse(400,
                                    ControlError::invalidParameter(
                                            u"'limit' must be a whole number from 1 to 10000"_s)
                                            .toJson()));
        return;
    }
    if (!(m_config.roleRegion && region == m_config.region)) {
        // Each region keeps its own journal: its node answers.
        const bool passed = forwardToRegionNode(
                region, request, caller, [responder, region](const PeerReply &reply) mutable {
                    if (reply.status == 0) {
                        responder.send(
                                jsonResponse(503,
                                             ControlError{503,
                                                          u"unavailable"_s,
                                                          u"the node of %1 did not answer: %2"_s
                                                                  .arg(region, reply.error)}
                                                     .toJson()));
                        return;
                    }
                    HttpResponse response(reply.status);
                    response.setBody(reply.body, "application/json");
                    responder.send(std::move(response));
                });
        if (!passed) {
            responder.send(
                    jsonResponse(503,
                                 ControlError{503,
                                              u"unavailable"_s,
                                              u"no node of the cluster serves %1"_s.arg(region)}
                                         .toJson()));
        }
        return;
    }
    const auto journal = m_backend->overwrittenJournal(limit);
    if (!journal) {
        responder.send(jsonResponse(journal.error().status, journal.error().toJson()));
        return;
    }
    responder.send(jsonResponse(200, {{u"region"_s, region}, {u"entries"_s, journal.value()}}));
}

void ControlService::resync(const HttpRequest &request,
                            HttpResponder responder,
                            const Caller &caller)
{
    const QString region = request.pathParam(u"id");
    const QString action = request.method() == "POST"     ? u"resync"_s
                           : request.method() == "DELETE" ? u"resync_cancel"_s
                                                          : u"resync_progress"_s;
    const bool mutating = request.method() != "GET";
    QJsonObject args = bodyObject(request.body());
    args.insert(u"region"_s, region);
    auto fail = [&](const ControlError &error) {
        if (mutating)
            answerError(responder, caller, action, args, error);
        else
            responder.send(jsonResponse(error.status, error.toJson()));
    };
    if (!m_config.regionSpec(region)) {
        fail(ControlError::unknownRegion(region));
        return;
    }
    if (!(m_config.roleRegion && region == m_config.region)) {
        // Resync is the region's own business: pass it to that region's node.
        const bool passed = forwardToRegionNode(
                region,
                request,
                caller,
                [this, responder, caller, action, args, mutating, region](
                        const PeerReply &reply) mutable {
                    if (reply.status == 0) {
                        const ControlError error{503,
                                                 u"unavailable"_s,
                                                 u"the node of %1 did not answer: %2"_s
                                                         .arg(region, reply.error)};
                        if (mutating)
                            answerError(responder, caller, action, args, error);
                        else
                            responder.send(jsonResponse(error.status, error.toJson()));
                        return;
                    }
                    if (mutating)
                        recordAudit(caller,
                                    action,
                                    args,
                                    reply.status,
                                    bodyObject(reply.body)
                                            .value(u"error"_s)
                                            .toObject()
                                            .value(u"code"_s)
                                            .toString());
                    HttpResponse response(reply.status);
                    response.setBody(reply.body, "application/json");
                    responder.send(std::move(response));
                });
        if (!passed)
            fail({503, u"unavailable"_s, u"no node of the cluster serves %1"_s.arg(region)});
        return;
    }
    if (request.method() == "GET") {
        const auto progress = m_backend->resyncProgress();
        if (!progress) {
            responder.send(
                    jsonResponse(404,
                                 ControlError::notFound(
                                         u"no resync of %1 has run since the node started"_s.arg(
                                                 region))
                                         .toJson()));
            return;
        }
        responder.send(jsonResponse(200, *progress));
        return;
    }
    if (request.method() == "DELETE") {
        const auto result = m_backend->cancelResync();
        if (!result) {
            fail(result.error());
            return;
        }
        answer(responder, caller, action, args, 200, result.value());
        return;
    }
    const QJsonDocument document = QJsonDocument::fromJson(request.body());
    if (!request.body().trimmed().isEmpty() && !document.isObject()) {
        fail({400, u"invalid_json"_s, u"the request body must be a JSON object"_s});
        return;
    }
    const QJsonObject body = document.object();
    for (auto it = body.constBegin(); it != body.constEnd(); ++it) {
        if (it.key() != u"from"_s && it.key() != u"force"_s) {
            fail(ControlError::invalidParameter(
                    u"unknown field '%1' (allowed: from)"_s.arg(it.key())));
            return;
        }
    }
    const QString from = body.value(u"from"_s).toString();
    if (!from.isEmpty() && (!m_config.regionSpec(from) || from == region)) {
        fail(ControlError::invalidParameter(
                u"'from' must be another region of the cluster (got '%1')"_s.arg(from)));
        return;
    }
    const auto result = m_backend->startResync(from);
    if (!result) {
        fail(result.error());
        return;
    }
    answer(responder, caller, action, args, 202, result.value());
}

// ---------------------------------------------------------------------------------------------
// Views

QJsonObject ControlService::statusJson() const
{
    const ControlState &state = m_store->state();
    return {{u"node_id"_s, m_config.nodeId},
            {u"region"_s, m_config.roleRegion ? QJsonValue(m_config.region) : QJsonValue()},
            {u"role"_s, m_config.roleName()},
            {u"state"_s,
             m_config.roleRegion ? state.regions.value(m_config.region).state : u"active"_s},
            {u"health"_s, m_backend->localHealth()},
            {u"version"_s, versionString()},
            {u"uptime_s"_s, double(m_uptime.elapsed()) / 1000.0},
            {u"started_at"_s, toIsoTime(m_startedAt)},
            {u"leader"_s, leader()},
            {u"quorum"_s, quorumJson()},
            {u"primary"_s, state.primary}};
}

QJsonObject ControlService::probeJson(bool withDigest) const
{
    QJsonObject rtt;
    const auto row = m_monitor->rttRow();
    for (auto it = row.cbegin(); it != row.cend(); ++it)
        rtt.insert(it.key(), it.value());
    const auto resync = m_backend->resyncProgress();
    QJsonObject probe{{u"node_id"_s, m_config.nodeId},
                      {u"region"_s,
                       m_config.roleRegion ? QJsonValue(m_config.region) : QJsonValue()},
                      {u"role"_s, m_config.roleName()},
                      {u"time"_s, toIsoTime(QDateTime::currentDateTimeUtc())},
                      {u"rtt"_s, rtt},
                      {u"links"_s, m_config.roleRegion ? m_backend->inboundLinks() : QJsonArray()},
                      {u"health"_s, m_backend->localHealth()},
                      {u"traffic"_s, m_backend->localTraffic()},
                      {u"resync"_s, resync ? QJsonValue(*resync) : QJsonValue()},
                      {u"cache"_s, m_backend->localCache()}};
    if (withDigest) {
        auto digest = const_cast<ControlBackend *>(m_backend)->localDigest();
        if (digest) {
            probe.insert(u"digest"_s, digest.value().value(u"digest"_s));
            probe.insert(u"overwritten"_s, digest.value().value(u"overwritten"_s));
        } else {
            probe.insert(u"digest_error"_s, digest.error().message);
        }
    }
    return probe;
}

QList<ControlService::EdgeCacheReport> ControlService::edgeCaches() const
{
    QList<EdgeCacheReport> reports;
    if (m_config.roleEdge)
        reports.append({m_config.nodeId, m_backend->localCache(), true});
    for (const PeerNode &peer : m_monitor->peers()) {
        const QJsonObject probe = probeOf(peer.id);
        if (peer.isRegion && !probe.value(u"role"_s).toString().contains(u"edge"_s))
            continue;
        reports.append({peer.id,
                        probe.value(u"cache"_s),
                        m_monitor->isReachable(peer.id) && !probe.isEmpty()});
    }
    return reports;
}

QJsonObject ControlService::cacheJson() const
{
    QJsonArray edges;
    for (const EdgeCacheReport &report : edgeCaches()) {
        QJsonObject edge{{u"id"_s, report.node}, {u"reachable"_s, report.reachable}};
        QJsonObject cache = report.cache.toObject();
        cache.remove(u"purges"_s);
        cache.remove(u"through_seq"_s);
        edge.insert(u"cache"_s, report.cache.isObject() ? QJsonValue(cache) : QJsonValue());
        edges.append(edge);
    }
    return {{u"edges"_s, edges}};
}

ControlResult<QJsonObject> ControlService::purgeStatus(const QString &id) const
{
    const auto action = m_store->action(id);
    const auto seq = m_store->actionSeq(id);
    if (!action || !seq || action->kind != u"purge"_s) {
        return ControlError::notFound(
                action ? u"%1 is a %2, not a cache purge"_s.arg(id, action->kind)
                       : u"no action '%1' at %2 (an action just accepted elsewhere reaches this "
                         "node within a second); GET /v1/actions lists them"_s.arg(id,
                                                                                   m_config.nodeId));
    }
    QJsonArray edges;
    int applied = 0;
    int waiting = 0;
    // Waiting for a second admin: no edge has it to apply yet.
    const bool approved = action->status == u"applied"_s;
    auto report = [&](const QString &node, const QJsonValue &cache, bool reachable) {
        QJsonObject edge{{u"id"_s, node}};
        QString state;
        if (!reachable) {
            state = u"unreachable"_s;
        } else if (!approved) {
            state = u"pending"_s;
        } else if (cache.isNull() || cache.isUndefined()) {
            state = u"no_cache"_s;
        } else {
            const QJsonObject c = cache.toObject();
            const QJsonValue removed = c.value(u"purges"_s).toObject().value(id);
            if (!removed.isUndefined())
                edge.insert(u"removed"_s, removed);
            const bool done = !removed.isUndefined()
                              || c.value(u"through_seq"_s).toInteger() >= *seq;
            state = done ? u"applied"_s : u"pending"_s;
        }
        if (state == u"applied"_s || state == u"no_cache"_s)
            ++applied;
        else
            ++waiting;
        edge.insert(u"state"_s, state);
        edges.append(edge);
    };
    for (const EdgeCacheReport &edge : edgeCaches())
        report(edge.node, edge.cache, edge.reachable);
    return QJsonObject{{u"action"_s, action->toJson()},
                       {u"edges"_s, edges},
                       {u"applied"_s, applied},
                       {u"total"_s, applied + waiting},
                       {u"done"_s, waiting == 0}};
}

QJsonObject ControlService::probeOf(const QString &nodeId) const
{
    return m_monitor->snapshot(nodeId).probe;
}

QMap<QString, QJsonObject> ControlService::edgeTraffic() const
{
    QList<QJsonObject> reports;
    for (const EdgeSpec &edge : m_config.edges) {
        if (m_config.roleEdge && edge.id == m_config.nodeId)
            reports.append(m_backend->localTraffic().value(u"edge"_s).toObject());
        else if (m_monitor->isReachable(edge.id))
            reports.append(
                    probeOf(edge.id).value(u"traffic"_s).toObject().value(u"edge"_s).toObject());
    }
    QMap<QString, QJsonObject> sum;
    double totalRps = 0.0;
    for (const QJsonObject &report : reports) {
        for (auto it = report.begin(); it != report.end(); ++it) {
            const QJsonObject t = it.value().toObject();
            QJsonObject &out = sum[it.key()];
            auto add = [&out, &t](const QString &key) {
                out.insert(key, out.value(key).toDouble() + t.value(key).toDouble());
            };
            auto worst = [&out, &t](const QString &key) {
                out.insert(key, std::max(out.value(key).toDouble(), t.value(key).toDouble()));
            };
            for (const QString &key :
                 {u"rps"_s, u"in_flight"_s, u"requests"_s, u"failures"_s, u"retries"_s})
                add(key);
            worst(u"p50_ms"_s);
            worst(u"p99_ms"_s);
            QJsonObject status = out.value(u"status"_s).toObject();
            const QJsonObject more = t.value(u"status"_s).toObject();
            for (auto s = more.begin(); s != more.end(); ++s)
                status.insert(s.key(), status.value(s.key()).toDouble() + s.value().toDouble());
            out.insert(u"status"_s, status);
            totalRps += t.value(u"rps"_s).toDouble();
        }
    }
    for (QJsonObject &out : sum)
        out.insert(u"share"_s, totalRps > 0.0 ? out.value(u"rps"_s).toDouble() / totalRps : 0.0);
    return sum;
}

QJsonArray ControlService::inboundLinksOf(const QString &region) const
{
    if (m_config.roleRegion && region == m_config.region)
        return m_backend->inboundLinks();
    if (!m_monitor->isReachable(region))
        return {};
    return probeOf(region).value(u"links"_s).toArray();
}

std::optional<QList<InboundLink>> ControlService::inboundForSafety(const QString &region) const
{
    QJsonArray reported;
    if (m_freshLinks && m_freshLinks->first == region) {
        if (!m_freshLinks->second)
            return std::nullopt;
        reported = *m_freshLinks->second;
    } else {
        if (!isReachable(region))
            return std::nullopt;
        reported = inboundLinksOf(region);
    }
    QList<InboundLink> links;
    for (const QJsonValue &value : reported) {
        const QJsonObject link = value.toObject();
        if (!m_config.regionSpec(link.value(u"origin"_s).toString()))
            continue; // links from edges carry no data that matters for promotion
        links.append({link.value(u"origin"_s).toString(),
                      link.value(u"state"_s).toString(),
                      link.value(u"seconds_behind"_s).toDouble()});
    }
    return links;
}

double ControlService::rttBetween(const QString &a, const QString &b) const
{
    const auto own = m_monitor->rttRow();
    if (a == m_config.nodeId)
        return own.value(b, -1.0);
    if (b == m_config.nodeId)
        return own.value(a, -1.0);
    const QJsonValue fromB = probeOf(b).value(u"rtt"_s).toObject().value(a);
    if (fromB.isDouble())
        return fromB.toDouble();
    const QJsonValue fromA = probeOf(a).value(u"rtt"_s).toObject().value(b);
    return fromA.isDouble() ? fromA.toDouble() : -1.0;
}

QJsonObject ControlService::regionJson(const QString &id, const QMap<QString, double> &shares) const
{
    const RegionSpec *spec = m_config.regionSpec(id);
    if (!spec)
        return {};
    const ControlState &state = m_store->state();
    const RegionControl control = state.regions.value(id);
    const bool self = m_config.roleRegion && id == m_config.region;
    const bool reachable = isReachable(id);
    const QString health = self ? m_backend->localHealth() : m_monitor->snapshot(id).dataHealth;
    // An unreachable region's last probe is stale: it serves nothing we know of.
    const QJsonObject traffic = self        ? m_backend->localTraffic()
                                : reachable ? probeOf(id).value(u"traffic"_s).toObject()
                                            : QJsonObject{};
    double worstLag = 0.0;
    QString worstState;
    for (const QJsonValue &value : inboundLinksOf(id)) {
        const QJsonObject link = value.toObject();
        if (!m_config.regionSpec(link.value(u"origin"_s).toString()))
            continue;
        worstLag = std::max(worstLag, link.value(u"seconds_behind"_s).toDouble());
        const QString linkState = link.value(u"state"_s).toString();
        if (worstState.isEmpty() || linkSeverity(linkState) > linkSeverity(worstState))
            worstState = linkState;
    }
    QJsonValue resync;
    if (self) {
        if (const auto progress = m_backend->resyncProgress())
            resync = *progress;
    } else if (reachable) {
        resync = probeOf(id).value(u"resync"_s);
    }
    QJsonObject object{{u"id"_s, id},
                       {u"name"_s, spec->name},
                       {u"lat"_s, spec->lat},
                       {u"lon"_s, spec->lon},
                       {u"state"_s, control.state},
                       {u"health"_s, health},
                       {u"reachable"_s, reachable},
                       {u"primary"_s, state.primary == id},
                       {u"weight"_s, control.weight},
                       {u"priority"_s, control.priority},
                       {u"dial"_s, control.dial},
                       {u"traffic_share"_s, shares.value(id, 0.0)},
                       {u"rps"_s, traffic.value(u"rps"_s).toDouble()},
                       {u"p50_ms"_s, traffic.value(u"p50_ms"_s).toDouble()},
                       {u"p99_ms"_s, traffic.value(u"p99_ms"_s).toDouble()},
                       {u"in_flight"_s, traffic.value(u"in_flight"_s).toInt()},
                       {u"worst_lag_s"_s, worstLag},
                       {u"worst_link_state"_s,
                        worstState.isEmpty() ? QJsonValue() : QJsonValue(worstState)},
                       {u"resync"_s, resync},
                       {u"data_url"_s, spec->dataUrl.toString()},
                       {u"control_url"_s, spec->controlUrl.toString()},
                       {u"endpoints"_s,
                        QJsonArray{QJsonObject{{u"url"_s, spec->dataUrl.toString()},
                                               {u"health"_s, health}}}}};
    if (control.drainDeadline.isValid() && control.state == u"draining"_s)
        object.insert(u"drain_deadline"_s, toIsoTime(control.drainDeadline));
    if (!m_config.edges.isEmpty())
        object.insert(u"edge"_s, edgeTraffic().value(id));
    return object;
}

QJsonArray ControlService::regionsJson() const
{
    const auto shares = m_backend->trafficShares(m_store->state());
    QJsonArray regions;
    for (const RegionSpec &spec : m_config.regions)
        regions.append(regionJson(spec.id, shares));
    return regions;
}

QJsonArray ControlService::linksJson() const
{
    QJsonArray links;
    for (const RegionSpec &replica : m_config.regions) {
        QMap<QString, QJsonObject> reported;
        for (const QJsonValue &value : inboundLinksOf(replica.id)) {
            const QJsonObject link = value.toObject();
            reported.insert(link.value(u"origin"_s).toString(), link);
        }
        for (const RegionSpec &origin : m_config.regions) {
            if (origin.id == replica.id)
                continue;
            QJsonObject link = reported.value(origin.id);
            if (link.isEmpty()) {
                link = {{u"origin"_s, origin.id},
                        {u"replica"_s, replica.id},
                        {u"state"_s, u"disconnected"_s},
                        {u"entries_behind"_s, QJsonValue()},
                        {u"seconds_behind"_s, QJsonValue()},
                        {u"apply_rate"_s, QJsonValue()},
                        {u"last_contact"_s, QJsonValue()},
                        {u"detail"_s, u"no report from %1"_s.arg(replica.id)},
                        {u"reported"_s, false}};
            } else {
                link.insert(u"reported"_s, true);
            }
            link.insert(u"rtt_ms"_s, rttValue(rttBetween(origin.id, replica.id)));
            links.append(link);
        }
    }
    return links;
}

QJsonArray ControlService::edgesJson() const
{
    QJsonArray edges;
    for (const EdgeSpec &edge : m_config.edges) {
        const bool self = edge.id == m_config.nodeId;
        edges.append(QJsonObject{{u"id"_s, edge.id},
                                 {u"url"_s, edge.url.toString()},
                                 {u"control_url"_s, edge.controlUrl.toString()},
                                 {u"reachable"_s, self || m_monitor->isReachable(edge.id)},
                                 {u"rtt_ms"_s,
                                  rttValue(self ? 0.0 : m_monitor->snapshot(edge.id).rttMs)}});
    }
    return edges;
}

QJsonObject ControlService::clusterJson() const
{
    return {{u"regions"_s, regionsJson()},
            {u"links"_s, linksJson()},
            {u"edges"_s, edgesJson()},
            {u"strategy"_s, m_store->state().strategy.toJson()},
            {u"primary"_s, m_store->state().primary},
            {u"leader"_s, leader()},
            {u"quorum"_s, quorumJson()},
            {u"node_id"_s, m_config.nodeId},
            {u"generated_at"_s, toIsoTime(QDateTime::currentDateTimeUtc())}};
}

void ControlService::digest(HttpResponder responder)
{
    struct Gather
    {
        QJsonObject regions;
        int pending = 0;
        HttpResponder responder;
    };
    auto gather = std::make_shared<Gather>();
    gather->responder = std::move(responder);
    auto finish = [gather]() {
        bool agree = true;
        QString first;
        for (auto it = gather->regions.constBegin(); it != gather->regions.constEnd(); ++it) {
            const QJsonObject region = it.value().toObject();
            const QString digest = region.value(u"digest"_s).toString();
            if (!region.value(u"reachable"_s).toBool() || digest.isEmpty()) {
                agree = false;
                continue;
            }
            if (first.isEmpty())
                first = digest;
            else if (digest != first)
                agree = false;
        }
        gather->responder.send(HttpResponse::json(200,
                                                  QJsonObject{{u"agree"_s, agree},
                                                              {u"regions"_s, gather->regions}}));
    };
    for (const RegionSpec &spec : m_config.regions) {
        if (m_config.roleRegion && spec.id == m_config.region) {
            const auto local = m_backend->localDigest();
            QJsonObject entry{{u"reachable"_s, true}};
            if (local) {
                entry.insert(u"digest"_s, local.value().value(u"digest"_s));
                entry.insert(u"overwritten"_s, local.value().value(u"overwritten"_s));
            } else {
                entry.insert(u"error"_s, local.error().message);
            }
            gather->regions.insert(spec.id, entry);
            continue;
        }
        const PeerNode *peer = m_monitor->peer(spec.id);
        if (!peer) {
            gather->regions.insert(spec.id, QJsonObject{{u"reachable"_s, false}});
            continue;
        }
        ++gather->pending;
        const QString id = spec.id;
        m_peers->call(peer->controlUrl,
                      "GET",
                      u"/v1/probe?digest=1"_s,
                      {},
                      m_config.forwardTimeoutMs,
                      [gather, id, finish](const PeerReply &reply) {
                          const QJsonObject probe = bodyObject(reply.body);
                          QJsonObject entry{{u"reachable"_s, reply.status == 200}};
                          if (reply.status == 200) {
                              entry.insert(u"digest"_s, probe.value(u"digest"_s));
                              entry.insert(u"overwritten"_s, probe.value(u"overwritten"_s));
                              if (probe.contains(u"digest_error"_s))
                                  entry.insert(u"error"_s, probe.value(u"digest_error"_s));
                          } else {
                              entry.insert(u"error"_s,
                                           reply.status == 0 ? reply.error
                                                             : u"HTTP %1"_s.arg(reply.status));
                          }
                          gather->regions.insert(id, entry);
                          if (--gather->pending == 0)
                              finish();
                      });
    }
    if (gather->pending == 0)
        finish();
}

// ---------------------------------------------------------------------------------------------
// Events

void ControlService::publish(const QByteArray &event, const QJsonObject &data)
{
    m_streams.removeIf([](const HttpResponder &stream) { return !stream.isOpen(); });
    if (m_streams.isEmpty())
        return;
    const QByteArray payload = QJsonDocument(data).toJson(QJsonDocument::Compact);
    for (HttpResponder &stream : m_streams)
        stream.sendEvent(event, payload);
}

void ControlService::onStateChanged(const ControlState &before, const ControlState &after)
{
    const auto shares = m_backend->trafficShares(after);
    QJsonArray changed;
    for (auto it = after.regions.cbegin(); it != after.regions.cend(); ++it) {
        if (before.regions.value(it.key()) != it.value()
            || (before.primary != after.primary
                && (it.key() == before.primary || it.key() == after.primary))) {
            changed.append(regionJson(it.key(), shares));
            if (before.regions.value(it.key()).state != it.value().state) {
                qCInfo(lcControl).noquote() << "region" << it.key() << "is now" << it.value().state;
            }
        }
    }
    publish("state",
            {{u"regions"_s, changed},
             {u"strategy"_s, after.strategy.toJson()},
             {u"primary"_s, after.primary}});
}

void ControlService::publishPeriodic()
{
    m_streams.removeIf([](const HttpResponder &stream) { return !stream.isOpen(); });
    if (m_streams.isEmpty())
        return;
    publish("lag", {{u"links"_s, linksJson()}});
    const auto shares = m_backend->trafficShares(m_store->state());
    QJsonObject regions;
    const auto edge = edgeTraffic();
    for (const RegionSpec &spec : m_config.regions) {
        const bool self = m_config.roleRegion && spec.id == m_config.region;
        QJsonObject traffic = self ? m_backend->localTraffic()
                                   : probeOf(spec.id).value(u"traffic"_s).toObject();
        traffic.remove(u"edge"_s); // a region+edge node's own gateway report: summed below
        traffic.insert(u"traffic_share"_s, shares.value(spec.id, 0.0));
        if (!m_config.edges.isEmpty())
            traffic.insert(u"edge"_s, edge.value(spec.id));
        regions.insert(spec.id, traffic);
    }
    publish("traffic", {{u"regions"_s, regions}});
}

} // namespace Meridian
