#include "core/http/httprouter.h"

#include "core/http/httplogging.h"

#include <QStringList>

using namespace Qt::StringLiterals;

namespace Meridian {

HttpRouter::HttpRouter()
    : m_table(std::make_shared<Table>())
{}

bool HttpRouter::route(QByteArrayView method, QStringView pattern, HttpHandler handler)
{
    if (!pattern.startsWith(u'/') || method.isEmpty() || !handler) {
        qCWarning(lcHttp) << "invalid route" << method << pattern;
        return false;
    }
    Route r;
    r.method = method.toByteArray();
    r.handler = std::move(handler);
    const QStringList parts = pattern.mid(1).toString().split(u'/');
    for (qsizetype i = 0; i < parts.size(); ++i) {
        const QString &p = parts[i];
        Segment s;
        if (p.startsWith(u'{') && p.endsWith(u'}') && p.size() > 2) {
            const bool rest = p[1] == u'*';
            s.kind = rest ? Segment::Kind::Rest : Segment::Kind::Param;
            s.text = p.mid(rest ? 2 : 1, p.size() - (rest ? 3 : 2));
            if (s.text.isEmpty() || (rest && i != parts.size() - 1)) {
                qCWarning(lcHttp) << "invalid route pattern" << pattern;
                return false;
            }
        } else if (p.contains(u'{') || p.contains(u'}')) {
            qCWarning(lcHttp) << "invalid route pattern" << pattern;
            return false;
        } else {
            s.text = p;
        }
        r.segments.append(std::move(s));
    }
    if (m_table.use_count() > 1) // handler() was taken: copy on write
        m_table = std::make_shared<Table>(*m_table);
    m_table->routes.append(std::move(r));
    return true;
}

bool HttpRouter::route(QByteArrayView method, QStringView pattern, HttpSyncHandler handler)
{
    if (!handler)
        return false;
    return route(method,
                 pattern,
                 HttpHandler([handler = std::move(handler)](const HttpRequest &request,
                                                            HttpResponder responder) {
                     responder.send(handler(request));
                 }));
}

void HttpRouter::setFallback(HttpHandler handler)
{
    if (m_table.use_count() > 1)
        m_table = std::make_shared<Table>(*m_table);
    m_table->fallback = std::move(handler);
}

void HttpRouter::handle(const HttpRequest &request, HttpResponder responder) const
{
    dispatch(*m_table, request, std::move(responder));
}

HttpHandler HttpRouter::handler() const
{
    std::shared_ptr<const Table> table = m_table;
    return [table](const HttpRequest &request, HttpResponder responder) {
        dispatch(*table, request, std::move(responder));
    };
}

bool HttpRouter::match(const Route &route,
                       const QList<QByteArrayView> &path,
                       QList<std::pair<QString, QString>> *params)
{
    const qsizetype n = route.segments.size();
    for (qsizetype i = 0; i < n; ++i) {
        const Segment &s = route.segments[i];
        if (s.kind == Segment::Kind::Rest) {
            if (params) {
                QByteArray rest;
                for (qsizetype j = i; j < path.size(); ++j) {
                    if (j > i)
                        rest += '/';
                    rest += path[j].toByteArray();
                }
                params->append({s.text, HttpRequest::percentDecode(rest)});
            }
            return true;
        }
        if (i >= path.size())
            return false;
        const QByteArrayView seg = path[i];
        if (s.kind == Segment::Kind::Param) {
            if (seg.isEmpty())
                return false;
            if (params)
                params->append({s.text, HttpRequest::percentDecode(seg)});
            continue;
        }
        if (seg.contains('%') ? HttpRequest::percentDecode(seg) != s.text
                              : QLatin1StringView(seg) != s.text) {
            return false;
        }
    }
    return n == path.size();
}

bool HttpRouter::moreSpecific(const Route &a, const Route &b)
{
    const qsizetype n = qMin(a.segments.size(), b.segments.size());
    for (qsizetype i = 0; i < n; ++i) {
        const auto ka = a.segments[i].kind;
        const auto kb = b.segments[i].kind;
        if (ka != kb)
            return ka < kb;
    }
    return a.segments.size() > b.segments.size();
}

void HttpRouter::dispatch(const Table &table, const HttpRequest &request, HttpResponder responder)
{
    QList<QByteArrayView> path;
    const QByteArrayView raw(request.path());
    if (raw.startsWith('/')) {
        qsizetype start = 1;
        while (true) {
            qsizetype end = raw.indexOf('/', start);
            if (end < 0) {
                path.append(raw.sliced(start));
                break;
            }
            path.append(raw.sliced(start, end - start));
            start = end + 1;
        }
    }

    const Route *best = nullptr;
    const Route *bestGet = nullptr;
    QList<QByteArray> allowed;
    const bool head = request.method() == "HEAD";
    for (const Route &r : table.routes) {
        if (!match(r, path, nullptr))
            continue;
        if (!allowed.contains(r.method))
            allowed.append(r.method);
        if (r.method == request.method()) {
            if (!best || moreSpecific(r, *best))
                best = &r;
        } else if (head && r.method == "GET") {
            if (!bestGet || moreSpecific(r, *bestGet))
                bestGet = &r;
        }
    }
    if (!best)
        best = bestGet;
    if (best) {
        QList<std::pair<QString, QString>> params;
        match(*best, path, &params);
        if (params.isEmpty()) {
            best->handler(request, std::move(responder));
            return;
        }
        HttpRequest withParams = request;
        withParams.setPathParams(std::move(params));
        best->handler(withParams, std::move(responder));
        return;
    }
    if (!allowed.isEmpty()) {
        if (allowed.contains("GET") && !allowed.contains("HEAD"))
            allowed.append("HEAD");
        HttpResponse r = HttpResponse::jsonError(405,
                                                 u"method_not_allowed",
                                                 u"%1 is not allowed on %2"_s
                                                         .arg(QString::fromLatin1(request.method()),
                                                              request.decodedPath()));
        r.setHeader("Allow", allowed.join(", "));
        responder.send(std::move(r));
        return;
    }
    if (table.fallback) {
        table.fallback(request, std::move(responder));
        return;
    }
    responder.send(HttpResponse::jsonError(404,
                                           u"not_found",
                                           u"no resource at %1"_s.arg(request.decodedPath())));
}

} // namespace Meridian
