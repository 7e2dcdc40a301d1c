#pragma once

#include "core/http/httpheaders.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringView>

#include <memory>

class QIODevice;

namespace Meridian {

// One HTTP response as a value: status, headers and either an in-memory body or a device the
// server streams from (large files are never read whole). The server adds Date, Content-Length
// and Connection itself. Error bodies follow docs/control-api.md:
// {"error":{"code":"...","message":"..."}}.
class HttpResponse
{
public:
    HttpResponse() = default;
    explicit HttpResponse(int status)
        : m_status(status)
    {}

    static HttpResponse json(int status, const QJsonObject &object);
    static HttpResponse json(int status, const QJsonArray &array);
    static HttpResponse json(int status, const QJsonDocument &document);
    // The control API's error shape; `code` is one of the documented machine-readable codes.
    static HttpResponse jsonError(int status, QStringView code, QStringView message);
    static HttpResponse text(int status,
                             QByteArray body,
                             QByteArrayView contentType = "text/plain; charset=utf-8");

    int status() const { return m_status; }
    void setStatus(int status) { m_status = status; }

    const HttpHeaders &headers() const { return m_headers; }
    HttpHeaders &headers() { return m_headers; }
    void setHeader(QByteArrayView name, QByteArrayView value) { m_headers.set(name, value); }
    void addHeader(QByteArrayView name, QByteArrayView value) { m_headers.add(name, value); }

    const QByteArray &body() const { return m_body; }
    void setBody(QByteArray body) { m_body = std::move(body); }
    void setBody(QByteArray body, QByteArrayView contentType);

    // Streams `length` bytes from `device` (open, positioned at the first byte to send) as the
    // body instead of body(). The server reads it as the socket drains, in its own thread.
    void setBodyDevice(std::shared_ptr<QIODevice> device, qint64 length);
    const std::shared_ptr<QIODevice> &bodyDevice() const { return m_bodyDevice; }
    qint64 bodyDeviceLength() const { return m_bodyDeviceLength; }
    // Bytes the body has: the device length, or body().size().
    qint64 contentLength() const;

    // "OK", "Not Found", ...; "Unknown" for unregistered codes.
    static QByteArrayView reasonPhrase(int status);
    // The error code docs/control-api.md uses for a status the HTTP layer produces itself.
    static QStringView defaultErrorCode(int status);

private:
    int m_status = 200;
    HttpHeaders m_headers;
    QByteArray m_body;
    std::shared_ptr<QIODevice> m_bodyDevice;
    qint64 m_bodyDeviceLength = 0;
};

} // namespace Meridian
