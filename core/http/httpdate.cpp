#include "core/http/httpdate.h"

#include <QDate>
#include <QList>
#include <QTimeZone>

#include <ctime>

namespace Meridian {

namespace {

constexpr const char *kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr const char *kMonths[]
        = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int monthIndex(QByteArrayView m)
{
    for (int i = 0; i < 12; ++i) {
        if (m == QByteArrayView(kMonths[i]))
            return i + 1;
    }
    return 0;
}

bool toInt(QByteArrayView s, int &out)
{
    if (s.isEmpty() || s.size() > 9)
        return false;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

bool parseTime(QByteArrayView s, int &h, int &m, int &sec)
{
    if (s.size() != 8 || s[2] != ':' || s[5] != ':')
        return false;
    return toInt(s.sliced(0, 2), h) && toInt(s.sliced(3, 2), m) && toInt(s.sliced(6, 2), sec)
           && h < 24 && m < 60 && sec < 61;
}

std::optional<QDateTime> build(int y, int mon, int d, int h, int m, int s)
{
    const QDate date(y, mon, d);
    if (!date.isValid())
        return std::nullopt;
    return QDateTime(date, QTime(h, m, s == 60 ? 59 : s), QTimeZone::utc());
}

} // namespace

QByteArray HttpDate::formatSecs(qint64 secs)
{
    const time_t t = time_t(secs);
    struct tm tm
    {};
    gmtime_r(&t, &tm);
    char buf[40];
    const int n = std::snprintf(buf,
                                sizeof buf,
                                "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                kDays[(tm.tm_wday + 6) % 7],
                                tm.tm_mday,
                                kMonths[tm.tm_mon],
                                tm.tm_year + 1900,
                                tm.tm_hour,
                                tm.tm_min,
                                tm.tm_sec);
    return QByteArray(buf, n);
}

QByteArray HttpDate::format(const QDateTime &time)
{
    return formatSecs(time.toSecsSinceEpoch());
}

QByteArray HttpDate::now()
{
    thread_local qint64 cachedSecs = -1;
    thread_local QByteArray cached;
    const qint64 secs = qint64(std::time(nullptr));
    if (secs != cachedSecs) {
        cached = formatSecs(secs);
        cachedSecs = secs;
    }
    return cached;
}

std::optional<QDateTime> HttpDate::parse(QByteArrayView text)
{
    const QByteArray trimmed = text.trimmed().toByteArray();
    const QList<QByteArray> parts = trimmed.split(' ');
    int d = 0;
    int y = 0;
    int h = 0;
    int m = 0;
    int s = 0;
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (parts.size() == 6 && parts[0].endsWith(',') && parts[5] == "GMT") {
        const int mon = monthIndex(parts[2]);
        if (parts[1].size() != 2 || parts[3].size() != 4 || !mon || !toInt(parts[1], d)
            || !toInt(parts[3], y) || !parseTime(parts[4], h, m, s)) {
            return std::nullopt;
        }
        return build(y, mon, d, h, m, s);
    }
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    if (parts.size() == 4 && parts[0].endsWith(',') && parts[3] == "GMT") {
        const QList<QByteArray> dmy = parts[1].split('-');
        if (dmy.size() != 3 || dmy[2].size() != 2)
            return std::nullopt;
        const int mon = monthIndex(dmy[1]);
        if (!mon || !toInt(dmy[0], d) || !toInt(dmy[2], y) || !parseTime(parts[2], h, m, s))
            return std::nullopt;
        // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
        y += 2000;
        if (y > QDate::currentDate().year() + 50)
            y -= 100;
        return build(y, mon, d, h, m, s);
    }
    // asctime: Sun Nov  6 08:49:37 1994 (the double space makes an empty part).
    QList<QByteArray> a;
    for (const QByteArray &p : parts) {
        if (!p.isEmpty())
            a.append(p);
    }
    if (a.size() == 5) {
        const int mon = monthIndex(a[1]);
        if (!mon || !toInt(a[2], d) || !parseTime(a[3], h, m, s) || !toInt(a[4], y))
            return std::nullopt;
        return build(y, mon, d, h, m, s);
    }
    return std::nullopt;
}

} // namespace Meridian
