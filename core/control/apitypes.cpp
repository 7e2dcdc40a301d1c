#include "core/control/apitypes.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace Meridian::Api {

namespace {

QString jsonTypeName(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return u"null"_s;
    case QJsonValue::Bool:
        return u"a boolean"_s;
    case QJsonValue::Double:
        return u"a number"_s;
    case QJsonValue::String:
        return u"a string"_s;
    case QJsonValue::Array:
        return u"an array"_s;
    case QJsonValue::Object:
        return u"an object"_s;
    case QJsonValue::Undefined:
        break;
    }
    return u"undefined"_s;
}

enum class Need { Optional, Required };

QString invalidPrefix()
{
    return u"invalid answer: "_s;
}

template<typename Int>
bool isInteger(const QJsonValue &value)
{
    const double number = value.toDouble();
    return value.isDouble() && std::floor(number) == number
           && number >= double(std::numeric_limits<Int>::min())
           && number <= double(std::numeric_limits<Int>::max());
}

// Reads typed fields of one JSON object and keeps the first problem, phrased with the path of the
// field ("regions[2].lat"), so an invalid answer says exactly what is wrong.
class Reader
{
public:
    Reader(const QJsonObject &object, QString where)
        : m_object(object)
        , m_where(std::move(where))
    {}

    bool ok() const { return m_error.isEmpty(); }
    ApiError error() const { return ApiError::invalidResponse(m_error); }
    const QString &message() const { return m_error; }
    QString path(QLatin1StringView key) const { return m_where + u'.' + key; }

    void fail(const QString &message)
    {
        if (m_error.isEmpty())
            m_error = message;
    }

    // The field's value if present and not null; records a missing required field.
    std::optional<QJsonValue> field(QLatin1StringView key, Need need)
    {
        const QJsonValue value = m_object.value(key);
        if (value.isUndefined() || value.isNull()) {
            if (need == Need::Required)
                fail(u"%1 is missing"_s.arg(path(key)));
            return std::nullopt;
        }
        return value;
    }

    void wrongType(QLatin1StringView key, const QString &expected, const QJsonValue &value)
    {
        fail(u"%1 should be %2, not %3"_s.arg(path(key), expected, jsonTypeName(value)));
    }

    void string(QLatin1StringView key, QString &out, Need need = Need::Optional)
    {
        if (const auto value = field(key, need)) {
            if (value->isString())
                out = value->toString();
            else
                wrongType(key, u"a string"_s, *value);
        }
    }

    void number(QLatin1StringView key, double &out, Need need = Need::Optional)
    {
        if (const auto value = field(key, need)) {
            if (value->isDouble())
                out = value->toDouble();
            else
                wrongType(key, u"a number"_s, *value);
        }
    }

    void number(QLatin1StringView key, std::optional<double> &out, Need need = Need::Optional)
    {
        double number = 0;
        if (const auto value = field(key, need)) {
            if (value->isDouble()) {
                number = value->toDouble();
                out = number;
            } else {
                wrongType(key, u"a number"_s, *value);
            }
        }
    }

    template<typename Int>
    void integer(QLatin1StringView key, Int &out, Need need = Need::Optional)
    {
        const auto value = field(key, need);
        if (!value)
            return;
        if (!value->isDouble()) {
            wrongType(key, u"an integer"_s, *value);
            return;
        }
        if (!isInteger<Int>(*value)) {
            fail(u"%1 should be an integer, not %2"_s.arg(path(key)).arg(value->toDouble()));
            return;
        }
        out = Int(value->toDouble());
    }

    void boolean(QLatin1StringView key, bool &out, Need need = Need::Optional)
    {
        if (const auto value = field(key, need)) {
            if (value->isBool())
                out = value->toBool();
            else
                wrongType(key, u"a boolean"_s, *value);
        }
    }

    void object(QLatin1StringView key, QJsonObject &out, Need need = Need::Optional)
    {
        if (const auto value = field(key, need)) {
            if (value->isObject())
                out = value->toObject();
            else
                wrongType(key, u"an object"_s, *value);
        }
    }

    void time(QLatin1StringView key, QDateTime &out, Need need = Need::Optional)
    {
        QString text;
        string(key, text, need);
        if (text.isEmpty())
            return;
        const QDateTime parsed = QDateTime::fromString(text, Qt::ISODateWithMs);
        if (!parsed.isValid())
            fail(u"%1 should be an RFC 3339 time, not \"%2\""_s.arg(path(key), text));
        else
            out = parsed.toUTC();
    }

    // An array of objects, each parsed by parse(object, path).
    template<typename T, typename Parse>
    void list(QLatin1StringView key, QList<T> &out, Parse parse, Need need = Need::Optional)
    {
        const auto value = field(key, need);
        if (!value)
            return;
        if (!value->isArray()) {
            wrongType(key, u"an array"_s, *value);
            return;
        }
        const QJsonArray array = value->toArray();
        out.clear();
        out.reserve(array.size());
        for (qsizetype i = 0; i < array.size() && ok(); ++i) {
            const QString itemPath = u"%1[%2]"_s.arg(path(key)).arg(i);
            if (!array.at(i).isObject()) {
                fail(u"%1 should be an object, not %2"_s.arg(itemPath, jsonTypeName(array.at(i))));
                return;
            }
            ApiResult<T> item = parse(array.at(i).toObject(), itemPath);
            if (!item)
                fail(item.error().message.mid(invalidPrefix().size()));
            else
                out.append(std::move(item.value()));
        }
    }

    // One nested object parsed by parse(object, path).
    template<typename T, typename Parse>
    void nested(QLatin1StringView key,
                std::optional<T> &out,
                Parse parse,
                Need need = Need::Optional)
    {
        const auto value = field(key, need);
        if (!value)
            return;
        if (!value->isObject()) {
            wrongType(key, u"an object"_s, *value);
            return;
        }
        ApiResult<T> parsed = parse(value->toObject(), path(key));
        if (!parsed)
            fail(parsed.error().message.mid(invalidPrefix().size()));
        else
            out = std::move(parsed.value());
    }

    // {"key": number, ...}
    void numberMap(QLatin1StringView key, QMap<QString, double> &out, Need need = Need::Optional)
    {
        QJsonObject object;
        this->object(key, object, need);
        for (auto it = object.begin(); it != object.end(); ++it) {
            if (!it.value().isDouble()) {
                fail(u"%1.%2 should be a number, not %3"_s.arg(path(key),
                                                               it.key(),
                                                               jsonTypeName(it.value())));
                return;
            }
            out.insert(it.key(), it.value().toDouble());
        }
    }

private:
    QJsonObject m_object;
    QString m_where;
    QString m_error;
};

template<typename T>
ApiResult<T> finish(const Reader &reader, T value)
{
    if (!reader.ok())
        return reader.error();
    return value;
}

ApiResult<EndpointStatus> parseEndpoint(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    EndpointStatus endpoint;
    r.string("url"_L1, endpoint.url, Need::Required);
    r.string("health"_L1, endpoint.health);
    return finish(r, std::move(endpoint));
}

ApiResult<ResyncProgress> parseResync(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    ResyncProgress resync;
    r.string("id"_L1, resync.id, Need::Required);
    r.string("region"_L1, resync.region);
    r.string("from"_L1, resync.from);
    r.string("phase"_L1, resync.phase);
    r.string("state"_L1, resync.state, Need::Required);
    r.integer("bytes_done"_L1, resync.bytesDone);
    r.integer("bytes_total"_L1, resync.bytesTotal);
    r.integer("rows"_L1, resync.rows);
    r.number("eta_s"_L1, resync.etaS);
    // error: null, a message, or an {"code","message"} object.
    if (const auto error = r.field("error"_L1, Need::Optional)) {
        if (error->isString())
            resync.error = error->toString();
        else if (error->isObject())
            resync.error = error->toObject().value("message"_L1).toString();
        else
            r.wrongType("error"_L1, u"a string"_s, *error);
    }
    return finish(r, std::move(resync));
}

ApiResult<RegionStatus> parseRegion(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    RegionStatus region;
    r.string("id"_L1, region.id, Need::Required);
    r.string("name"_L1, region.name);
    r.number("lat"_L1, region.lat);
    r.number("lon"_L1, region.lon);
    r.string("state"_L1, region.state, Need::Required);
    r.string("health"_L1, region.health);
    r.boolean("reachable"_L1, region.reachable);
    r.boolean("primary"_L1, region.primary);
    r.integer("weight"_L1, region.weight);
    r.integer("priority"_L1, region.priority);
    r.integer("dial"_L1, region.dial);
    r.number("traffic_share"_L1, region.trafficShare);
    r.number("rps"_L1, region.rps);
    r.number("p50_ms"_L1, region.p50Ms);
    r.number("p99_ms"_L1, region.p99Ms);
    r.integer("in_flight"_L1, region.inFlight);
    r.number("worst_lag_s"_L1, region.worstLagS);
    r.string("worst_link_state"_L1, region.worstLinkState);
    r.nested("resync"_L1, region.resync, parseResync);
    r.string("data_url"_L1, region.dataUrl);
    r.string("control_url"_L1, region.controlUrl);
    r.list("endpoints"_L1, region.endpoints, parseEndpoint);
    if (region.name.isEmpty())
        region.name = region.id;
    return finish(r, std::move(region));
}

ApiResult<LinkStatus> parseLink(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    LinkStatus link;
    r.string("origin"_L1, link.origin, Need::Required);
    r.string("replica"_L1, link.replica, Need::Required);
    r.number("rtt_ms"_L1, link.rttMs);
    r.string("state"_L1, link.state);
    r.integer("entries_behind"_L1, link.entriesBehind);
    r.number("seconds_behind"_L1, link.secondsBehind);
    r.number("apply_rate"_L1, link.applyRate);
    r.time("last_contact"_L1, link.lastContact);
    r.string("detail"_L1, link.detail);
    return finish(r, std::move(link));
}

ApiResult<QuorumInfo> parseQuorum(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    QuorumInfo quorum;
    r.integer("reachable"_L1, quorum.reachable, Need::Required);
    r.integer("voters"_L1, quorum.voters, Need::Required);
    r.boolean("has_quorum"_L1, quorum.hasQuorum, Need::Required);
    return finish(r, std::move(quorum));
}

ApiResult<StrategyInfo> parseStrategy(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    StrategyInfo strategy;
    r.string("name"_L1, strategy.name, Need::Required);
    r.object("params"_L1, strategy.params);
    return finish(r, std::move(strategy));
}

ApiResult<ActionInfo> parseAction(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    ActionInfo action;
    r.string("id"_L1, action.id, Need::Required);
    r.string("kind"_L1, action.kind, Need::Required);
    r.string("region"_L1, action.region);
    r.object("args"_L1, action.args);
    r.time("time"_L1, action.time);
    r.string("actor"_L1, action.actor);
    r.string("status"_L1, action.status);
    r.object("previous"_L1, action.previous);
    r.string("node"_L1, action.node);
    r.string("reverted_by"_L1, action.revertedBy);
    r.string("approved_by"_L1, action.approvedBy);
    return finish(r, std::move(action));
}

ApiResult<EdgeCacheStats> parseEdgeCache(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    EdgeCacheStats stats;
    r.string("id"_L1, stats.id, Need::Required);
    r.boolean("reachable"_L1, stats.reachable);
    QJsonObject cache;
    r.object("cache"_L1, cache);
    stats.enabled = !cache.isEmpty();
    Reader c(cache, r.path("cache"_L1));
    c.integer("entries"_L1, stats.entries);
    c.integer("bytes"_L1, stats.bytes);
    c.integer("max_bytes"_L1, stats.maxBytes);
    c.integer("hits"_L1, stats.hits);
    c.integer("misses"_L1, stats.misses);
    c.integer("stale"_L1, stats.stale);
    c.integer("updating"_L1, stats.updating);
    c.integer("evictions"_L1, stats.evictions);
    c.integer("purged"_L1, stats.purged);
    if (!c.ok())
        r.fail(c.message());
    return finish(r, std::move(stats));
}

ApiResult<PurgeEdge> parsePurgeEdge(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    PurgeEdge edge;
    r.string("id"_L1, edge.id, Need::Required);
    r.string("state"_L1, edge.state, Need::Required);
    r.integer("removed"_L1, edge.removed);
    return finish(r, std::move(edge));
}

ApiResult<AuditEntry> parseAudit(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    AuditEntry entry;
    r.time("time"_L1, entry.time, Need::Required);
    r.string("token"_L1, entry.token);
    r.string("client"_L1, entry.client);
    r.string("action"_L1, entry.action, Need::Required);
    r.object("args"_L1, entry.args);
    // result: "409 min_active_regions", or a number for servers that only give the status.
    if (const auto result = r.field("result"_L1, Need::Optional)) {
        if (result->isString())
            entry.result = result->toString();
        else if (result->isDouble())
            entry.result = QString::number(result->toInteger());
        else
            r.wrongType("result"_L1, u"a string"_s, *result);
    }
    r.integer("status"_L1, entry.status);
    r.string("node"_L1, entry.node);
    return finish(r, std::move(entry));
}

ApiResult<RowVersion> parseRowVersion(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    RowVersion version;
    r.string("origin"_L1, version.origin, Need::Required);
    r.string("hlc"_L1, version.hlc, Need::Required);
    r.time("time"_L1, version.time);
    r.boolean("deleted"_L1, version.deleted);
    r.object("row"_L1, version.row);
    return finish(r, std::move(version));
}

ApiResult<OverwrittenEntry> parseOverwritten(const QJsonObject &object, const QString &where)
{
    Reader r(object, where);
    OverwrittenEntry entry;
    r.integer("id"_L1, entry.id);
    r.time("at"_L1, entry.at, Need::Required);
    r.string("table"_L1, entry.table, Need::Required);
    r.object("primary_key"_L1, entry.primaryKey, Need::Required);
    std::optional<RowVersion> loser;
    std::optional<RowVersion> winner;
    r.nested("loser"_L1, loser, parseRowVersion, Need::Required);
    r.nested("winner"_L1, winner, parseRowVersion, Need::Required);
    entry.loser = loser.value_or(RowVersion{});
    entry.winner = winner.value_or(RowVersion{});
    return finish(r, std::move(entry));
}

template<typename T, typename Parse>
ApiResult<QList<T>> parseList(const QJsonObject &object, QLatin1StringView key, Parse parse)
{
    Reader r(object, u"answer"_s);
    QList<T> items;
    r.list(key, items, parse, Need::Required);
    return finish(r, std::move(items));
}

} // namespace

QString ApiError::toString() const
{
    if (httpStatus > 0)
        return u"%1 %2: %3"_s.arg(httpStatus).arg(code, message);
    return message;
}

ApiError ApiError::fromHttp(int httpStatus, const QByteArray &body, const QString &url)
{
    ApiError error;
    error.httpStatus = httpStatus;
    error.url = url;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(body, &parseError);
    const QJsonObject errorObject = document.object().value("error"_L1).toObject();
    error.code = errorObject.value("code"_L1).toString();
    error.message = errorObject.value("message"_L1).toString();
    if (error.code.isEmpty()) {
        switch (httpStatus) {
        case 400:
            error.code = u"bad_request"_s;
            break;
        case 401:
            error.code = u"unauthorized"_s;
            break;
        case 403:
            error.code = u"forbidden"_s;
            break;
        case 404:
            error.code = u"not_found"_s;
            break;
        case 409:
            error.code = u"conflict"_s;
            break;
        case 413:
            error.code = u"payload_too_large"_s;
            break;
        case 431:
            error.code = u"headers_too_large"_s;
            break;
        default:
            error.code = httpStatus >= 500 ? u"internal"_s : u"http_%1"_s.arg(httpStatus);
        }
    }
    if (error.message.isEmpty()) {
        const QByteArray excerpt = body.left(200).trimmed();
        error.message = excerpt.isEmpty()
                                ? u"HTTP %1 from %2 with no error body"_s.arg(httpStatus).arg(url)
                                : u"HTTP %1 from %2: %3"_s.arg(httpStatus)
                                          .arg(url, QString::fromUtf8(excerpt));
    }
    return error;
}

ApiError ApiError::invalidResponse(const QString &message, const QString &url)
{
    ApiError error;
    error.code = u"invalid_response"_s;
    error.message = invalidPrefix() + message;
    if (!url.isEmpty())
        error.message += u" (from "_s + url + u')';
    error.url = url;
    return error;
}

ApiResult<EndpointStatus> EndpointStatus::fromJson(const QJsonObject &object)
{
    return parseEndpoint(object, u"endpoint"_s);
}

ApiResult<ResyncProgress> ResyncProgress::fromJson(const QJsonObject &object)
{
    return parseResync(object, u"resync"_s);
}

ApiResult<RegionStatus> RegionStatus::fromJson(const QJsonObject &object)
{
    return parseRegion(object, u"region"_s);
}

ApiResult<LinkStatus> LinkStatus::fromJson(const QJsonObject &object)
{
    return parseLink(object, u"link"_s);
}

QJsonObject StrategyInfo::toJson() const
{
    return {{u"name"_s, name}, {u"params"_s, params}};
}

ApiResult<StrategyInfo> StrategyInfo::fromJson(const QJsonObject &object)
{
    return parseStrategy(object, u"strategy"_s);
}

ApiResult<ClusterView> ClusterView::fromJson(const QJsonObject &object)
{
    Reader r(object, u"cluster"_s);
    ClusterView view;
    r.list("regions"_L1, view.regions, parseRegion, Need::Required);
    r.list("links"_L1, view.links, parseLink);
    std::optional<StrategyInfo> strategy;
    r.nested("strategy"_L1, strategy, parseStrategy);
    if (strategy)
        view.strategy = *strategy;
    r.string("primary"_L1, view.primary);
    r.time("generated_at"_L1, view.generatedAt);
    r.nested("quorum"_L1, view.quorum, parseQuorum);
    return finish(r, std::move(view));
}

ApiResult<NodeStatus> NodeStatus::fromJson(const QJsonObject &object)
{
    Reader r(object, u"status"_s);
    NodeStatus status;
    r.string("region"_L1, status.region);
    r.string("role"_L1, status.role, Need::Required);
    r.string("state"_L1, status.state);
    r.string("health"_L1, status.health);
    r.string("version"_L1, status.version, Need::Required);
    r.number("uptime_s"_L1, status.uptimeS);
    r.string("node_id"_L1, status.nodeId);
    r.time("started_at"_L1, status.startedAt);
    r.string("leader"_L1, status.leader);
    r.string("primary"_L1, status.primary);
    r.nested("quorum"_L1, status.quorum, parseQuorum);
    return finish(r, std::move(status));
}

ApiResult<ActionInfo> ActionInfo::fromJson(const QJsonObject &object)
{
    return parseAction(object, u"action"_s);
}

ApiResult<ActionResult> ActionResult::fromJson(const QJsonObject &object)
{
    Reader r(object, u"answer"_s);
    ActionResult result;
    std::optional<ActionInfo> action;
    r.nested("action"_L1, action, parseAction, Need::Required);
    if (action)
        result.action = *action;
    r.nested("region"_L1, result.region, parseRegion);
    r.nested("strategy"_L1, result.strategy, parseStrategy);
    return finish(r, std::move(result));
}

double EdgeCacheStats::hitRatio() const
{
    return hits + misses > 0 ? double(hits) / double(hits + misses) : -1.0;
}

ApiResult<QList<EdgeCacheStats>> EdgeCacheStats::listFromJson(const QJsonObject &object)
{
    return parseList<EdgeCacheStats>(object, "edges"_L1, parseEdgeCache);
}

ApiResult<PurgeStatus> PurgeStatus::fromJson(const QJsonObject &object)
{
    Reader r(object, u"purge"_s);
    PurgeStatus status;
    std::optional<ActionInfo> action;
    r.nested("action"_L1, action, parseAction, Need::Required);
    if (action)
        status.action = *action;
    r.list("edges"_L1, status.edges, parsePurgeEdge, Need::Required);
    r.integer("applied"_L1, status.applied);
    r.integer("total"_L1, status.total);
    r.boolean("done"_L1, status.done, Need::Required);
    return finish(r, std::move(status));
}

PreviewRequest PreviewRequest::drain(const QString &region)
{
    PreviewRequest request;
    request.kind = Kind::Drain;
    request.region = region;
    return request;
}

PreviewRequest PreviewRequest::activate(const QString &region)
{
    PreviewRequest request;
    request.kind = Kind::Activate;
    request.region = region;
    return request;
}

PreviewRequest PreviewRequest::promote(const QString &region)
{
    PreviewRequest request;
    request.kind = Kind::Promote;
    request.region = region;
    return request;
}

PreviewRequest PreviewRequest::dial(const QString &region, int percent)
{
    PreviewRequest request;
    request.kind = Kind::Dial;
    request.region = region;
    request.percent = percent;
    return request;
}

PreviewRequest PreviewRequest::setWeight(const QString &region, int weight)
{
    PreviewRequest request;
    request.kind = Kind::Weight;
    request.region = region;
    request.weight = weight;
    return request;
}

PreviewRequest PreviewRequest::changeStrategy(const StrategyInfo &strategy)
{
    PreviewRequest request;
    request.kind = Kind::Strategy;
    request.strategy = strategy;
    return request;
}

QJsonObject PreviewRequest::toJson() const
{
    switch (kind) {
    case Kind::Drain:
        return {{u"drain"_s, region}};
    case Kind::Activate:
        return {{u"activate"_s, region}};
    case Kind::Promote:
        return {{u"promote"_s, region}};
    case Kind::Dial:
        return {{u"dial"_s, QJsonObject{{u"region"_s, region}, {u"percent"_s, percent}}}};
    case Kind::Weight:
        return {{u"weight"_s, QJsonObject{{u"region"_s, region}, {u"weight"_s, weight}}}};
    case Kind::Strategy:
        return {{u"strategy"_s, strategy.toJson()}};
    }
    return {};
}

ApiResult<Preview> Preview::fromJson(const QJsonObject &object)
{
    Reader r(object, u"preview"_s);
    Preview preview;
    r.numberMap("before"_L1, preview.before, Need::Required);
    r.numberMap("after"_L1, preview.after, Need::Required);
    return finish(r, std::move(preview));
}

qint64 RegionDigest::overwrittenTotal() const
{
    qint64 total = 0;
    for (const auto &byOrigin : overwritten)
        for (const qint64 count : byOrigin)
            total += count;
    return total;
}

ApiResult<DigestReport> DigestReport::fromJson(const QJsonObject &object)
{
    Reader r(object, u"digest"_s);
    DigestReport report;
    r.boolean("agree"_L1, report.agree, Need::Required);
    QJsonObject regions;
    r.object("regions"_L1, regions, Need::Required);
    for (auto it = regions.begin(); it != regions.end() && r.ok(); ++it) {
        const QString where = r.path("regions"_L1) + u'.' + it.key();
        if (!it.value().isObject()) {
            r.fail(u"%1 should be an object, not %2"_s.arg(where, jsonTypeName(it.value())));
            break;
        }
        Reader item(it.value().toObject(), where);
        RegionDigest digest;
        digest.region = it.key();
        item.string("digest"_L1, digest.digest);
        item.boolean("reachable"_L1, digest.reachable);
        QJsonObject overwritten;
        item.object("overwritten"_L1, overwritten);
        for (auto table = overwritten.begin(); table != overwritten.end() && item.ok(); ++table) {
            if (!table.value().isObject()) {
                item.fail(u"%1.overwritten.%2 should be an object, not %3"_s
                                  .arg(where, table.key(), jsonTypeName(table.value())));
                break;
            }
            const QJsonObject byOrigin = table.value().toObject();
            for (auto origin = byOrigin.begin(); origin != byOrigin.end(); ++origin) {
                if (!isInteger<qint64>(origin.value())) {
                    item.fail(u"%1.overwritten.%2.%3 should be an integer, not %4"_s.arg(
                            where, table.key(), origin.key(), jsonTypeName(origin.value())));
                    break;
                }
                digest.overwritten[table.key()][origin.key()] = origin.value().toInteger();
            }
        }
        if (!item.ok())
            r.fail(item.message());
        report.regions.append(std::move(digest));
    }
    return finish(r, std::move(report));
}

ApiResult<AuditEntry> AuditEntry::fromJson(const QJsonObject &object)
{
    return parseAudit(object, u"entry"_s);
}

ApiResult<ActionInfo> ApiEvent::action() const
{
    if (!data.isObject())
        return ApiError::invalidResponse(u"event %1: data is not an object"_s.arg(type));
    // Either the action itself or {"action": Action}.
    const QJsonObject object = data.toObject();
    if (object.value("action"_L1).isObject())
        return parseAction(object.value("action"_L1).toObject(), u"event.action"_s);
    return parseAction(object, u"event"_s);
}

ApiResult<ApiEvent> ApiEvent::fromSse(const QString &type, const QString &id, const QString &data)
{
    ApiEvent event;
    event.type = type.isEmpty() ? u"message"_s : type;
    event.id = id;
    QJsonParseError parseError;
    // Wrap, so that any JSON value (not only objects and arrays) is accepted as data.
    const QJsonDocument document = QJsonDocument::fromJson(u"[%1]"_s.arg(data).toUtf8(),
                                                           &parseError);
    if (parseError.error != QJsonParseError::NoError || document.array().size() != 1) {
        return ApiError::invalidResponse(
                u"event %1: data is not JSON (%2)"_s.arg(event.type, parseError.errorString()));
    }
    event.data = document.array().first();
    return event;
}

ApiResult<QList<RegionStatus>> regionsFromJson(const QJsonObject &object)
{
    return parseList<RegionStatus>(object, "regions"_L1, parseRegion);
}

ApiResult<QList<LinkStatus>> linksFromJson(const QJsonObject &object)
{
    return parseList<LinkStatus>(object, "links"_L1, parseLink);
}

ApiResult<QList<ActionInfo>> actionsFromJson(const QJsonObject &object)
{
    return parseList<ActionInfo>(object, "actions"_L1, parseAction);
}

ApiResult<QList<AuditEntry>> auditFromJson(const QJsonObject &object)
{
    return parseList<AuditEntry>(object, "entries"_L1, parseAudit);
}

ApiResult<RowVersion> RowVersion::fromJson(const QJsonObject &object)
{
    return parseRowVersion(object, u"version"_s);
}

ApiResult<OverwrittenEntry> OverwrittenEntry::fromJson(const QJsonObject &object)
{
    return parseOverwritten(object, u"entry"_s);
}

ApiResult<QList<OverwrittenEntry>> overwrittenFromJson(const QJsonObject &object)
{
    return parseList<OverwrittenEntry>(object, "entries"_L1, parseOverwritten);
}

QString toApiTime(const QDateTime &time)
{
    return time.toUTC().toString(Qt::ISODateWithMs);
}

} // namespace Meridian::Api
