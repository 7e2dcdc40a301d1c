#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QMap>
#include <QString>

#include <optional>
#include <utility>

// The control API's value shapes (docs/control-api.md) as the client side sees them: what
// ControlClient hands to meridianctl and the control room. They live in Meridian::Api because the
// server side has its own, richer types of the same names (Meridian::AuditEntry, LinkStatus, ...).
//
// Every fromJson() is lenient on unknown fields (a newer server may add some) and strict on types:
// a field that is present with the wrong JSON type, or a required field that is missing, makes
// the whole answer an `invalid_response` ApiError naming the field, rather than a silent default.
// A JSON null counts as absent.
namespace Meridian::Api {

// Why a control call failed: an HTTP error answer of the API (httpStatus > 0, code from the API's
// stable list), or a client-side failure (httpStatus == 0, code one of connection_refused,
// host_not_found, timeout, network, invalid_response, invalid_endpoint, cancelled).
struct ApiError
{
    int httpStatus = 0;
    QString code;
    QString message;
    QString url; // the URL that was asked, for the operator's benefit

    // Client-side failure: nothing usable came back from the node.
    bool isNetworkError() const { return httpStatus == 0 && code != u"invalid_response"; }
    bool isAuthError() const { return httpStatus == 401 || httpStatus == 403; }
    // "409 min_active_regions: draining eu-west would leave ..." or the network message alone.
    QString toString() const;

    // The error of an HTTP answer with status >= 400: the API's {"error":{code,message}} body if
    // it has one, otherwise a code derived from the status and a message naming the URL.
    static ApiError fromHttp(int httpStatus, const QByteArray &body, const QString &url);
    static ApiError invalidResponse(const QString &message, const QString &url = {});
};

// A value or an ApiError, plus the raw body of the answer (for `-o json`, which prints exactly
// what the API said).
template<typename T>
class ApiResult
{
public:
    ApiResult(T value)
        : m_value(std::move(value))
        , m_ok(true)
    {}
    ApiResult(ApiError error)
        : m_error(std::move(error))
    {}

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const T &value() const { return m_value; }
    T &value() { return m_value; }
    const ApiError &error() const { return m_error; }
    const QByteArray &body() const { return m_body; }
    void setBody(const QByteArray &body) { m_body = body; }

private:
    T m_value{};
    ApiError m_error;
    QByteArray m_body;
    bool m_ok = false;
};

struct EndpointStatus
{
    QString url;
    QString health; // healthy | unhealthy | unknown

    static ApiResult<EndpointStatus> fromJson(const QJsonObject &object);
};

// A resync of one region from a peer (the "Resync" shape).
struct ResyncProgress
{
    QString id;
    QString region;
    QString from;
    QString phase; // snapshot | transfer | verify | catch_up | done
    QString state; // running | done | failed | cancelled
    qint64 bytesDone = 0;
    qint64 bytesTotal = 0;
    qint64 rows = 0;
    std::optional<double> etaS;
    QString error; // empty unless failed

    bool finished() const { return state != u"running"; }
    static ApiResult<ResyncProgress> fromJson(const QJsonObject &object);
};

// One region as the answering node sees it (the "Region" shape).
struct RegionStatus
{
    QString id;
    QString name;
    double lat = 0;
    double lon = 0;
    QString state = QStringLiteral("active"); // active | draining | drained | standby
    QString health = QStringLiteral("unknown");
    bool reachable = true;
    bool primary = false;
    int weight = 100;
    int priority = 0;
    int dial = 100;
    double trafficShare = 0;
    double rps = 0;
    double p50Ms = 0;
    double p99Ms = 0;
    qint64 inFlight = 0;
    double worstLagS = 0;
    QString worstLinkState;
    std::optional<ResyncProgress> resync;
    QString dataUrl;
    QString controlUrl;
    QList<EndpointStatus> endpoints;

    static ApiResult<RegionStatus> fromJson(const QJsonObject &object);
};

// Replication from `origin` to `replica`, and the RTT between them (the "Link" shape).
struct LinkStatus
{
    QString origin;
    QString replica;
    double rttMs = 0;
    QString state; // caught_up | lagging | stalled | disconnected | schema_mismatch | needs_resync
    qint64 entriesBehind = 0;
    double secondsBehind = 0;
    double applyRate = 0;
    QDateTime lastContact; // invalid when never
    QString detail;        // why, for disconnected / schema_mismatch / needs_resync; may be empty

    // What operators are shown as the reason: the detail, unless the link is caught up.
    QString reason() const { return state == u"caught_up" ? QString() : detail; }
    static ApiResult<LinkStatus> fromJson(const QJsonObject &object);
};

// A balancing strategy and its parameters; also the body of PUT /v1/strategy.
struct StrategyInfo
{
    QString name;
    QJsonObject params;

    QJsonObject toJson() const;
    static ApiResult<StrategyInfo> fromJson(const QJsonObject &object);
};

// GET /v1/cluster.
// The answering node's control quorum: the nodes (regions and edges, itself included) it
// reaches out of all voters. Without a majority it has no control leader.
struct QuorumInfo
{
    int reachable = 0;
    int voters = 0;
    bool hasQuorum = true;
};

struct ClusterView
{
    QList<RegionStatus> regions;
    QList<LinkStatus> links;
    StrategyInfo strategy;
    QString primary;
    QDateTime generatedAt;
    std::optional<QuorumInfo> quorum; // absent from nodes older than the quorum rule

    static ApiResult<ClusterView> fromJson(const QJsonObject &object);
};

// GET /v1/status: the answering node itself.
struct NodeStatus
{
    QString region;
    QString role;
    QString state;
    QString health;
    QString version;
    double uptimeS = 0;
    QString nodeId;
    QDateTime startedAt;
    QString leader;                   // the control leader's region id, as this node sees it
    QString primary;                  // the primary region's id
    std::optional<QuorumInfo> quorum; // absent from nodes older than the quorum rule

    static ApiResult<NodeStatus> fromJson(const QJsonObject &object);
};

// An accepted (or pending) control action (the "Action" shape).
struct ActionInfo
{
    QString id;
    QString kind; // drain | activate | promote | dial | weight | strategy | revert | ...
    QString region;
    QJsonObject args;
    QDateTime time;
    QString actor;
    QString status; // applied | pending_approval | reverted
    QJsonObject previous;
    QString node;
    QString revertedBy;
    QString approvedBy;

    static ApiResult<ActionInfo> fromJson(const QJsonObject &object);
};

// The answer of every mutating call: the action, and the region or strategy it changed.
struct ActionResult
{
    ActionInfo action;
    std::optional<RegionStatus> region;
    std::optional<StrategyInfo> strategy;

    static ApiResult<ActionResult> fromJson(const QJsonObject &object);
};

// The body of POST /v1/preview: one hypothetical change.
struct PreviewRequest
{
    enum class Kind { Drain, Activate, Promote, Dial, Weight, Strategy };
    Kind kind = Kind::Drain;
    QString region;
    int percent = 0; // dial
    int weight = 0;
    StrategyInfo strategy;

    static PreviewRequest drain(const QString &region);
    static PreviewRequest activate(const QString &region);
    static PreviewRequest promote(const QString &region);
    static PreviewRequest dial(const QString &region, int percent);
    static PreviewRequest setWeight(const QString &region, int weight);
    static PreviewRequest changeStrategy(const StrategyInfo &strategy);
    QJsonObject toJson() const;
};

// POST /v1/preview: the expected traffic share per region before and after the change.
struct Preview
{
    QMap<QString, double> before;
    QMap<QString, double> after;

    static ApiResult<Preview> fromJson(const QJsonObject &object);
};

// One region's entry in GET /v1/digest.
struct RegionDigest
{
    QString region;
    QString digest;
    bool reachable = true;
    // table -> origin region -> number of writes from that origin overwritten here
    QMap<QString, QMap<QString, qint64>> overwritten;

    qint64 overwrittenTotal() const;
};

// GET /v1/digest: do all regions hold the same data?
struct DigestReport
{
    bool agree = false;
    QList<RegionDigest> regions; // sorted by region id

    static ApiResult<DigestReport> fromJson(const QJsonObject &object);
};

// GET /v1/cache: one edge gateway's cache, counters since that edge started.
struct EdgeCacheStats
{
    QString id;
    bool reachable = false;
    bool enabled = false; // false: the edge runs without a cache, or did not say
    qint64 entries = 0;
    qint64 bytes = 0;
    qint64 maxBytes = 0;
    qint64 hits = 0;
    qint64 misses = 0;
    qint64 stale = 0;    // answers from a stale copy while no region could answer
    qint64 updating = 0; // answers from a stale copy while the edge revalidated it
    qint64 evictions = 0;
    qint64 purged = 0;

    // hits / (hits + misses), or -1 before any cacheable request.
    double hitRatio() const;
    static ApiResult<QList<EdgeCacheStats>> listFromJson(const QJsonObject &object);
};

// GET /v1/cache/purge/{id}: a purge and how far it got at the edges.
struct PurgeEdge
{
    QString id;
    QString state;       // applied | pending | unreachable | no_cache
    qint64 removed = -1; // entries it removed there; -1 when not known (before this start)
};

struct PurgeStatus
{
    ActionInfo action;
    QList<PurgeEdge> edges;
    int applied = 0;
    int total = 0;
    bool done = false; // every edge applied it (or has no cache)

    static ApiResult<PurgeStatus> fromJson(const QJsonObject &object);
};

// One line of the audit log (GET /v1/audit).
struct AuditEntry
{
    QDateTime time;
    QString token;
    QString client;
    QString action;
    QJsonObject args;
    QString result;
    int status = 0;
    QString node;

    static ApiResult<AuditEntry> fromJson(const QJsonObject &object);
};

// One version of a row in an overwritten-journal entry: who wrote it and when (its HLC, a 64-bit
// value carried as a decimal string, and the HLC's wall-clock part).
struct RowVersion
{
    QString origin;
    QString hlc;
    QDateTime time;
    bool deleted = false;
    QJsonObject row; // the losing values; empty for a delete and for the winner

    static ApiResult<RowVersion> fromJson(const QJsonObject &object);
};

// A write that lost a last-writer-wins conflict in one region
// (GET /v1/regions/{id}/overwritten).
struct OverwrittenEntry
{
    qint64 id = 0;
    QDateTime at; // when that region saw the conflict
    QString table;
    QJsonObject primaryKey;
    RowVersion loser;
    RowVersion winner;

    static ApiResult<OverwrittenEntry> fromJson(const QJsonObject &object);
};

// One Server-Sent Event of GET /v1/events: its type (state | health | lag | action | traffic,
// or any newer one) and its JSON data.
struct ApiEvent
{
    QString type;
    QString id;
    QJsonValue data;

    QJsonObject dataObject() const { return data.toObject(); }
    // The event's data as an action (for `action` events), or the reason it is not one.
    ApiResult<ActionInfo> action() const;
    // An event from its SSE fields; the data must be JSON.
    static ApiResult<ApiEvent> fromSse(const QString &type, const QString &id, const QString &data);
};

// List answers: {"regions":[...]}, {"links":[...]}, {"actions":[...]}, {"entries":[...]}.
ApiResult<QList<RegionStatus>> regionsFromJson(const QJsonObject &object);
ApiResult<QList<LinkStatus>> linksFromJson(const QJsonObject &object);
ApiResult<QList<ActionInfo>> actionsFromJson(const QJsonObject &object);
ApiResult<QList<AuditEntry>> auditFromJson(const QJsonObject &object);
ApiResult<QList<OverwrittenEntry>> overwrittenFromJson(const QJsonObject &object);

// RFC 3339 UTC with milliseconds, as the API writes times.
QString toApiTime(const QDateTime &time);

} // namespace Meridian::Api
