#include "core/node/dataapi.h"

#include "core/control/controlstate.h"
#include "core/http/httprequest.h"
#include "core/http/httprouter.h"
#include "core/sync/replica.h"

#include <QDateTime>
#include <QJsonArray>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// A write the store refused (disk full, a lock another process holds, ...): nothing was
// acknowledged, and the client may try again.
HttpResponse notStored(const QString &what, const SyncError &error)
{
    HttpResponse response
            = HttpResponse::jsonError(503,
                                      u"unavailable",
                                      u"the %1 was not stored: %2"_s.arg(what, error.message));
    response.setHeader("Retry-After", "1");
    return response;
}

std::optional<HttpResponse> checkKey(const QString &key)
{
    if (key.isEmpty() || key.size() > DataApi::kMaxKeyLength) {
        return HttpResponse::jsonError(400,
                                       u"invalid_parameter",
                                       u"a key must be 1 to %1 characters"_s.arg(
                                               DataApi::kMaxKeyLength));
    }
    for (const QChar c : key) {
        if (c.category() == QChar::Other_Control)
            return HttpResponse::jsonError(400,
                                           u"invalid_parameter",
                                           u"a key must not contain control characters");
    }
    return std::nullopt;
}

} // namespace

DataApi::DataApi(Replica *replica, QString regionId)
    : m_replica(replica)
    , m_regionId(std::move(regionId))
{}

QString DataApi::registerTable()
{
    auto r = m_replica->registerTable(
            u"kv"_s,
            u"CREATE TABLE kv(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, "
            "content_type TEXT NOT NULL, updated_at TEXT NOT NULL)"_s);
    return r ? QString() : r.error().message;
}

void DataApi::addRoutes(HttpRouter &router, std::function<HttpResponse(HttpResponse)> finish)
{
    router.route("GET", u"/api/kv", [this, finish](const HttpRequest &request) {
        return finish(list(request));
    });
    router.route("GET", u"/api/kv/{*key}", [this, finish](const HttpRequest &request) {
        return finish(get(request));
    });
    router.route("PUT", u"/api/kv/{*key}", [this, finish](const HttpRequest &request) {
        return finish(put(request));
    });
    router.route("DELETE", u"/api/kv/{*key}", [this, finish](const HttpRequest &request) {
        return finish(remove(request));
    });
}

HttpResponse DataApi::get(const HttpRequest &request) const
{
    const QString key = request.pathParam(u"key");
    if (key.isEmpty()) // "/api/kv?prefix=..." also matches the {*key} route
        return list(request);
    if (auto error = checkKey(key))
        return *error;
    const auto result
            = m_replica->query(u"SELECT value, content_type, updated_at FROM kv WHERE key = ?"_s,
                               {key});
    if (!result)
        return HttpResponse::jsonError(500, u"internal", result.error().message);
    if (result.value().rows.isEmpty())
        return HttpResponse::jsonError(404, u"not_found", u"no key '%1'"_s.arg(key));
    const QVariantList &row = result.value().rows.first();
    HttpResponse response(200);
    response.setBody(row.value(0).toByteArray(), row.value(1).toString().toUtf8());
    response.setHeader("Cache-Control", "no-store");
    response.setHeader("X-Meridian-Updated-At", row.value(2).toString().toUtf8());
    return response;
}

HttpResponse DataApi::put(const HttpRequest &request)
{
    const QString key = request.pathParam(u"key");
    if (auto error = checkKey(key))
        return *error;
    if (request.body().size() > kMaxValueBytes) {
        return HttpResponse::jsonError(413,
                                       u"payload_too_large",
                                       u"a value may be at most 1 MiB (got %1 bytes)"_s.arg(
                                               request.body().size()));
    }
    QByteArray type = request.header("Content-Type");
    if (type.isEmpty())
        type = "application/octet-stream";
    const QString now = toIsoTime(QDateTime::currentDateTimeUtc());
    bool existed = false;
    auto receipt = m_replica->write([&](Transaction &tx) -> SyncResult<void> {
        auto found = tx.query(u"SELECT 1 FROM kv WHERE key = ?"_s, {key});
        if (!found)
            return found.error();
        existed = !found.value().rows.isEmpty();
        auto r = tx.exec(u"INSERT INTO kv(key, value, content_type, updated_at) VALUES(?, ?, ?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value, content_type = "
                         "excluded.content_type, updated_at = excluded.updated_at"_s,
                         {key, request.body(), QString::fromUtf8(type), now});
        if (!r)
            return r.error();
        return {};
    });
    if (!receipt)
        return notStored(u"write"_s, receipt.error());
    return HttpResponse::json(existed ? 200 : 201,
                              QJsonObject{{u"key"_s, key},
                                          {u"size"_s, request.body().size()},
                                          {u"region"_s, m_regionId},
                                          {u"seq"_s, qint64(receipt.value().seq)},
                                          {u"updated_at"_s, now}});
}

HttpResponse DataApi::remove(const HttpRequest &request)
{
    const QString key = request.pathParam(u"key");
    if (auto error = checkKey(key))
        return *error;
    auto receipt = m_replica->execute(u"DELETE FROM kv WHERE key = ?"_s, {key});
    if (!receipt)
        return notStored(u"delete"_s, receipt.error());
    if (receipt.value().rowsChanged == 0)
        return HttpResponse::jsonError(404, u"not_found", u"no key '%1'"_s.arg(key));
    return HttpResponse(204);
}

HttpResponse DataApi::list(const HttpRequest &request) const
{
    const QString prefix = request.queryValue(u"prefix");
    int limit = 100;
    if (request.hasQuery(u"limit")) {
        bool ok = false;
        limit = request.queryValue(u"limit").toInt(&ok);
        if (!ok || limit < 1 || limit > 1000)
            return HttpResponse::jsonError(400,
                                           u"invalid_parameter",
                                           u"'limit' must be a whole number from 1 to 1000");
    }
    // Pages follow one another by key: `after` is the last key of the previous page.
    const QString after = request.queryValue(u"after");
    if (request.hasQuery(u"after")) {
        if (auto error = checkKey(after))
            return *error;
    }
    // The keys with the prefix are those in [prefix, upper), upper being the prefix with its
    // last UTF-8 byte raised by one (SQLite compares text bytewise), so the key index bounds the
    // scan: a list reads only the rows it returns, however large the table.
    QByteArray upper = prefix.toUtf8();
    if (!upper.isEmpty())
        upper.back() = char(quint8(upper.back()) + 1); // UTF-8 has no 0xFF byte
    QString sql = u"SELECT key, length(value), content_type, updated_at FROM kv WHERE "_s;
    QVariantList params;
    if (!after.isEmpty() && after.toUtf8() >= prefix.toUtf8()) { // bytes, as SQLite orders
        sql += u"key > ?"_s;
        params.append(after);
    } else {
        sql += u"key >= ?"_s;
        params.append(prefix);
    }
    if (!upper.isEmpty()) {
        sql += u" AND key < CAST(? AS TEXT)"_s;
        params.append(upper);
    }
    sql += u" ORDER BY key LIMIT ?"_s;
    params.append(limit + 1);
    const auto result = m_replica->query(sql, params);
    if (!result)
        return HttpResponse::jsonError(500, u"internal", result.error().message);
    QJsonArray items;
    const auto &rows = result.value().rows;
    for (qsizetype i = 0; i < std::min<qsizetype>(rows.size(), limit); ++i) {
        const QVariantList &row = rows.at(i);
        items.append(QJsonObject{{u"key"_s, row.value(0).toString()},
                                 {u"size"_s, row.value(1).toLongLong()},
                                 {u"content_type"_s, row.value(2).toString()},
                                 {u"updated_at"_s, row.value(3).toString()}});
    }
    QJsonObject answer{{u"items"_s, items},
                       {u"truncated"_s, rows.size() > limit},
                       {u"region"_s, m_regionId}};
    if (rows.size() > limit)
        answer.insert(u"next_after"_s, rows.at(limit - 1).value(0).toString());
    return HttpResponse::json(200, answer);
}

} // namespace Meridian
