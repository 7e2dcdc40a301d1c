#include "core/http/httprequest.h"

namespace Meridian {

namespace {

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Calls f(name, value) for each raw query pair; stops when f returns true.
template<typename F>
void forEachQueryPair(QByteArrayView query, F f)
{
    qsizetype start = 0;
    while (start < query.size()) {
        qsizetype end = query.indexOf('&', start);
        if (end < 0)
            end = query.size();
        const QByteArrayView pair = query.sliced(start, end - start);
        if (!pair.isEmpty()) {
            const qsizetype eq = pair.indexOf('=');
            const QByteArrayView name = eq < 0 ? pair : pair.first(eq);
            const QByteArrayView value = eq < 0 ? QByteArrayView() : pair.sliced(eq + 1);
            if (f(name, value))
                return;
        }
        start = end + 1;
    }
}

} // namespace

QString HttpRequest::percentDecode(QByteArrayView encoded, bool plusAsSpace)
{
    if (!encoded.contains('%') && !(plusAsSpace && encoded.contains('+')))
        return QString::fromUtf8(encoded);
    QByteArray out;
    out.reserve(encoded.size());
    for (qsizetype i = 0; i < encoded.size(); ++i) {
        const char c = encoded[i];
        if (c == '%' && i + 2 < encoded.size()) {
            const int hi = hexValue(encoded[i + 1]);
            const int lo = hexValue(encoded[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += char(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += (plusAsSpace && c == '+') ? ' ' : c;
    }
    return QString::fromUtf8(out);
}

QString HttpRequest::decodedPath() const
{
    return percentDecode(m_path);
}

bool HttpRequest::hasQuery(QStringView name) const
{
    bool found = false;
    forEachQueryPair(m_query, [&](QByteArrayView n, QByteArrayView) {
        found = percentDecode(n, true) == name;
        return found;
    });
    return found;
}

QString HttpRequest::queryValue(QStringView name) const
{
    QString result;
    forEachQueryPair(m_query, [&](QByteArrayView n, QByteArrayView v) {
        if (percentDecode(n, true) != name)
            return false;
        result = percentDecode(v, true);
        return true;
    });
    return result;
}

void HttpRequest::setTarget(QByteArray target, QByteArray path, QByteArray query)
{
    m_target = std::move(target);
    m_path = std::move(path);
    m_query = std::move(query);
}

void HttpRequest::setPeer(const QHostAddress &address, quint16 port)
{
    m_peerAddress = address;
    m_peerPort = port;
}

QString HttpRequest::pathParam(QStringView name) const
{
    for (const auto &p : m_pathParams) {
        if (p.first == name)
            return p.second;
    }
    return {};
}

} // namespace Meridian
