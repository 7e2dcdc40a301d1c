#pragma once

#include "core/http/httpresponse.h"

#include <QString>

#include <functional>

namespace Meridian {

class HttpRequest;
class HttpRouter;
class Replica;

// The demo site's data API on a region's data port, backed by the replicated store:
//   GET|PUT|DELETE /api/kv/{key}   (values up to 1 MiB; a 2xx answer means the write is durable)
//   GET /api/kv?prefix=P&limit=N  (keys in order, with size, type and update time)
// Table kv(key TEXT PRIMARY KEY, value BLOB, content_type TEXT, updated_at TEXT), replicated.
class DataApi
{
public:
    static constexpr qint64 kMaxValueBytes = 1024 * 1024;
    static constexpr int kMaxKeyLength = 512;

    DataApi(Replica *replica, QString regionId);

    // Registers the kv table (call between Replica::open() and start()).
    QString registerTable();
    // `finish` is applied to every answer (the node adds X-Meridian-Region).
    void addRoutes(HttpRouter &router, std::function<HttpResponse(HttpResponse)> finish);

private:
    HttpResponse get(const HttpRequest &request) const;
    HttpResponse put(const HttpRequest &request);
    HttpResponse remove(const HttpRequest &request);
    HttpResponse list(const HttpRequest &request) const;

    Replica *m_replica;
    QString m_regionId;
};

} // namespace Meridian
