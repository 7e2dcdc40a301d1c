#pragma once

#include "core/http/httphandler.h"

#include <QList>
#include <QString>

#include <memory>

namespace Meridian {

// Maps method + path pattern to handlers. Patterns are literal segments, "{name}" parameters
// (one non-empty segment, percent-decoded into HttpRequest::pathParam) and a final "{*name}"
// that takes the rest of the path: "/v1/regions/{id}/drain", "/static/{*file}". The most
// specific pattern wins (literal before parameter before rest), whatever the order of
// registration. HEAD falls back to GET. A path that matches with another method gets 405 with
// Allow; no match goes to the fallback (default 404), both with JSON error bodies.
//
// Build it on one thread, then hand handler() to the server: the returned handler holds an
// immutable copy of the table and is safe to call from several threads.
class HttpRouter
{
public:
    HttpRouter();

    // Returns false (and logs) when the pattern is malformed.
    bool route(QByteArrayView method, QStringView pattern, HttpHandler handler);
    bool route(QByteArrayView method, QStringView pattern, HttpSyncHandler handler);
    void setFallback(HttpHandler handler);

    void handle(const HttpRequest &request, HttpResponder responder) const;
    HttpHandler handler() const;

private:
    struct Segment
    {
        enum class Kind { Literal, Param, Rest };
        Kind kind = Kind::Literal;
        QString text; // literal text or parameter name
    };
    struct Route
    {
        QByteArray method;
        QList<Segment> segments;
        HttpHandler handler;
    };
    struct Table
    {
        QList<Route> routes;
        HttpHandler fallback;
    };

    static void dispatch(const Table &table, const HttpRequest &request, HttpResponder responder);
    static bool match(const Route &route,
                      const QList<QByteArrayView> &path,
                      QList<std::pair<QString, QString>> *params);
    static bool moreSpecific(const Route &a, const Route &b);

    std::shared_ptr<Table> m_table;
};

} // namespace Meridian
