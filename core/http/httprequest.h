#pragma once

#include "core/http/httpheaders.h"

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QString>

#include <utility>

namespace Meridian {

// One parsed HTTP/1.x request as a value: method, target split into path and query, headers
// (case-insensitive), the whole body (already de-chunked) and the peer's address. Path
// parameters are filled in by HttpRouter when a pattern such as /v1/regions/{id} matched.
class HttpRequest
{
public:
    HttpRequest() = default;

    const QByteArray &method() const { return m_method; }
    // The request-target exactly as received (origin-form, or absolute-form for proxies).
    const QByteArray &target() const { return m_target; }
    // The path, still percent-encoded, without the query ("/v1/regions/eu-west").
    const QByteArray &path() const { return m_path; }
    // The path percent-decoded as UTF-8 (for display and logs; routing decodes per segment).
    QString decodedPath() const;
    // The raw query string without '?' (empty when absent).
    const QByteArray &query() const { return m_query; }
    bool hasQuery(QStringView name) const;
    // First value of query parameter `name`, percent- and '+'-decoded; empty when absent.
    QString queryValue(QStringView name) const;
    // HTTP/1.x minor version: 0 or 1.
    int minorVersion() const { return m_minorVersion; }

    const HttpHeaders &headers() const { return m_headers; }
    HttpHeaders &headers() { return m_headers; }
    QByteArray header(QByteArrayView name) const { return m_headers.value(name); }

    const QByteArray &body() const { return m_body; }
    QByteArray &body() { return m_body; }

    const QHostAddress &peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }

    // A path parameter captured by the router, decoded; empty when absent.
    QString pathParam(QStringView name) const;
    const QList<std::pair<QString, QString>> &pathParams() const { return m_pathParams; }

    void setMethod(QByteArray method) { m_method = std::move(method); }
    void setTarget(QByteArray target, QByteArray path, QByteArray query);
    void setMinorVersion(int minor) { m_minorVersion = minor; }
    void setBody(QByteArray body) { m_body = std::move(body); }
    void setPeer(const QHostAddress &address, quint16 port);
    void setPathParams(QList<std::pair<QString, QString>> params)
    {
        m_pathParams = std::move(params);
    }

    static QString percentDecode(QByteArrayView encoded, bool plusAsSpace = false);

private:
    QByteArray m_method;
    QByteArray m_target;
    QByteArray m_path;
    QByteArray m_query;
    HttpHeaders m_headers;
    QByteArray m_body;
    QHostAddress m_peerAddress;
    quint16 m_peerPort = 0;
    int m_minorVersion = 1;
    QList<std::pair<QString, QString>> m_pathParams;
};

} // namespace Meridian
