#include "core/http/httpresponse.h"

#include <QIODevice>

using namespace Qt::StringLiterals;

namespace Meridian {

HttpResponse HttpResponse::json(int status, const QJsonObject &object)
{
    return json(status, QJsonDocument(object));
}

HttpResponse HttpResponse::json(int status, const QJsonArray &array)
{
    return json(status, QJsonDocument(array));
}

HttpResponse HttpResponse::json(int status, const QJsonDocument &document)
{
    HttpResponse r(status);
    r.setBody(document.toJson(QJsonDocument::Compact), "application/json");
    return r;
}

HttpResponse HttpResponse::jsonError(int status, QStringView code, QStringView message)
{
    const QJsonObject error{{u"code"_s, code.toString()}, {u"message"_s, message.toString()}};
    return json(status, QJsonObject{{u"error"_s, error}});
}

HttpResponse HttpResponse::text(int status, QByteArray body, QByteArrayView contentType)
{
    HttpResponse r(status);
    r.setBody(std::move(body), contentType);
    return r;
}

void HttpResponse::setBody(QByteArray body, QByteArrayView contentType)
{
    m_body = std::move(body);
    m_headers.set("Content-Type", contentType);
}

void HttpResponse::setBodyDevice(std::shared_ptr<QIODevice> device, qint64 length)
{
    m_bodyDevice = std::move(device);
    m_bodyDeviceLength = m_bodyDevice ? length : 0;
    m_body.clear();
}

qint64 HttpResponse::contentLength() const
{
    return m_bodyDevice ? m_bodyDeviceLength : m_body.size();
}

QByteArrayView HttpResponse::reasonPhrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 425:
        return "Too Early";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

QStringView HttpResponse::defaultErrorCode(int status)
{
    switch (status) {
    case 404:
        return u"not_found";
    case 405:
        return u"method_not_allowed";
    case 408:
        return u"timeout";
    case 413:
        return u"payload_too_large";
    case 431:
        return u"headers_too_large";
    case 501:
        return u"not_implemented";
    case 503:
        return u"unavailable";
    default:
        return status >= 500 ? u"internal" : u"bad_request";
    }
}

} // namespace Meridian
