#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QDateTime>

#include <optional>

namespace Meridian {

// HTTP-date (RFC 9110 §5.6.7): formats IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and parses
// all three accepted forms. Used for Date, Last-Modified and If-Modified-Since.
class HttpDate
{
public:
    static QByteArray format(const QDateTime &time);
    static QByteArray formatSecs(qint64 secsSinceEpoch);
    static std::optional<QDateTime> parse(QByteArrayView text);
    // The current time as an HTTP-date, cached per thread for the current second.
    static QByteArray now();
};

} // namespace Meridian
