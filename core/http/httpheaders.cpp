#include "core/http/httpheaders.h"

namespace Meridian {

namespace {

char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

bool isOws(char c)
{
    return c == ' ' || c == '\t';
}

} // namespace

bool HttpHeaders::nameEquals(QByteArrayView a, QByteArrayView b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

QByteArray HttpHeaders::value(QByteArrayView name) const
{
    for (const Field &f : m_fields) {
        if (nameEquals(f.first, name))
            return f.second;
    }
    return {};
}

QList<QByteArray> HttpHeaders::values(QByteArrayView name) const
{
    QList<QByteArray> out;
    for (const Field &f : m_fields) {
        if (nameEquals(f.first, name))
            out.append(f.second);
    }
    return out;
}

QByteArray HttpHeaders::combinedValue(QByteArrayView name) const
{
    QByteArray out;
    bool first = true;
    for (const Field &f : m_fields) {
        if (!nameEquals(f.first, name))
            continue;
        if (!first)
            out += ", ";
        out += f.second;
        first = false;
    }
    return out;
}

bool HttpHeaders::contains(QByteArrayView name) const
{
    for (const Field &f : m_fields) {
        if (nameEquals(f.first, name))
            return true;
    }
    return false;
}

bool HttpHeaders::containsToken(QByteArrayView name, QByteArrayView token) const
{
    for (const Field &f : m_fields) {
        if (!nameEquals(f.first, name))
            continue;
        const QByteArrayView v(f.second);
        qsizetype start = 0;
        while (start <= v.size()) {
            qsizetype end = v.indexOf(',', start);
            if (end < 0)
                end = v.size();
            qsizetype b = start;
            qsizetype e = end;
            while (b < e && isOws(v[b]))
                ++b;
            while (e > b && isOws(v[e - 1]))
                --e;
            if (nameEquals(v.sliced(b, e - b), token))
                return true;
            start = end + 1;
        }
    }
    return false;
}

qsizetype HttpHeaders::count(QByteArrayView name) const
{
    qsizetype n = 0;
    for (const Field &f : m_fields) {
        if (nameEquals(f.first, name))
            ++n;
    }
    return n;
}

void HttpHeaders::set(QByteArrayView name, QByteArrayView value)
{
    for (qsizetype i = 0; i < m_fields.size(); ++i) {
        if (nameEquals(m_fields[i].first, name)) {
            m_fields[i].second = value.toByteArray();
            // Drop any later duplicates.
            for (qsizetype j = m_fields.size() - 1; j > i; --j) {
                if (nameEquals(m_fields[j].first, name))
                    m_fields.removeAt(j);
            }
            return;
        }
    }
    m_fields.append({name.toByteArray(), value.toByteArray()});
}

void HttpHeaders::add(QByteArrayView name, QByteArrayView value)
{
    m_fields.append({name.toByteArray(), value.toByteArray()});
}

void HttpHeaders::remove(QByteArrayView name)
{
    m_fields.removeIf([name](const Field &f) { return nameEquals(f.first, name); });
}

} // namespace Meridian
