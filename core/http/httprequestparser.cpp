#include "core/http/httprequestparser.h"

#include <cstring>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

constexpr qsizetype kMaxChunkLine = 1024;

// tchar (RFC 9110 §5.6.2).
bool isTchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

bool isToken(QByteArrayView s)
{
    if (s.isEmpty())
        return false;
    for (char c : s) {
        if (!isTchar(static_cast<unsigned char>(c)))
            return false;
    }
    return true;
}

// field-value characters: VCHAR, obs-text, SP, HTAB.
bool isFieldValue(QByteArrayView s)
{
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

// request-target characters: visible ASCII (no SP, CTL, DEL; no raw non-ASCII).
bool isTargetChars(QByteArrayView s)
{
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

bool isOws(char c)
{
    return c == ' ' || c == '\t';
}

QByteArrayView trimOws(QByteArrayView v)
{
    qsizetype b = 0;
    qsizetype e = v.size();
    while (b < e && isOws(v[b]))
        ++b;
    while (e > b && isOws(v[e - 1]))
        --e;
    return v.sliced(b, e - b);
}

bool parseDecimal(QByteArrayView s, qint64 &out)
{
    if (s.isEmpty() || s.size() > 18)
        return false;
    qint64 v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

int hexDigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

HttpRequestParser::HttpRequestParser(Limits limits)
    : m_limits(limits)
{}

void HttpRequestParser::reset()
{
    m_state = State::Head;
    m_status = Status::NeedMore;
    m_request = HttpRequest();
    m_error = Error();
    m_scanFrom = 0;
    m_lineStart = 0;
    m_trailerBytes = 0;
    m_contentLength = -1;
    m_remaining = 0;
    m_chunked = false;
    m_expectContinue = false;
    m_seenBytes = false;
}

HttpRequest HttpRequestParser::takeRequest()
{
    return std::move(m_request);
}

qsizetype HttpRequestParser::fail(int status, QString message)
{
    m_status = Status::Error;
    m_error = Error{status, std::move(message)};
    return 0;
}

qsizetype HttpRequestParser::feed(const char *data, qsizetype size)
{
    if (m_status != Status::NeedMore)
        return 0;
    qsizetype consumed = 0;
    if (m_state == State::Head) {
        consumed = parseHead(data, size);
        if (m_status != Status::NeedMore || m_state == State::Head)
            return consumed;
    }
    return consumed + parseBody(data + consumed, size - consumed);
}

qsizetype HttpRequestParser::parseHead(const char *data, qsizetype size)
{
    // RFC 9112 §2.2: ignore blank lines before the request line.
    qsizetype skipped = 0;
    if (!m_seenBytes) {
        while (skipped < size && (data[skipped] == '\r' || data[skipped] == '\n'))
            ++skipped;
        if (skipped == size)
            return skipped;
        data += skipped;
        size -= skipped;
        m_seenBytes = true;
    }
    qsizetype headEnd = -1;
    qsizetype pos = m_scanFrom;
    while (pos < size) {
        const void *nl = std::memchr(data + pos, '\n', size_t(size - pos));
        if (!nl)
            break;
        const qsizetype i = static_cast<const char *>(nl) - data;
        const qsizetype lineLen = i - m_lineStart;
        if (lineLen == 0 || (lineLen == 1 && data[m_lineStart] == '\r')) {
            headEnd = i + 1;
            break;
        }
        m_lineStart = i + 1;
        pos = i + 1;
    }
    if (headEnd < 0) {
        m_scanFrom = size;
        if (size > m_limits.maxHeaderBytes)
            return skipped
                   + fail(431, u"request headers exceed %1 bytes"_s.arg(m_limits.maxHeaderBytes));
        return skipped;
    }
    if (headEnd > m_limits.maxHeaderBytes)
        return skipped
               + fail(431, u"request headers exceed %1 bytes"_s.arg(m_limits.maxHeaderBytes));

    // Split into lines; the last line is the empty terminator.
    const QByteArrayView head(data, headEnd);
    qsizetype start = 0;
    bool first = true;
    while (start < head.size()) {
        const qsizetype nl = head.indexOf('\n', start);
        QByteArrayView line = head.sliced(start, nl - start);
        start = nl + 1;
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.contains('\r'))
            return skipped + fail(400, u"bare CR in request head"_s);
        if (line.isEmpty())
            break;
        if (first) {
            first = false;
            if (!parseRequestLine(line))
                return skipped;
        } else if (!parseHeaderLine(line)) {
            return skipped;
        }
    }
    if (!finishHead())
        return skipped;
    return skipped + headEnd;
}

bool HttpRequestParser::parseRequestLine(QByteArrayView line)
{
    const qsizetype sp1 = line.indexOf(' ');
    const qsizetype sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) {
        fail(400, u"malformed request line"_s);
        return false;
    }
    const QByteArrayView method = line.first(sp1);
    const QByteArrayView target = line.sliced(sp1 + 1, sp2 - sp1 - 1);
    const QByteArrayView version = line.sliced(sp2 + 1);
    if (!isToken(method)) {
        fail(400, u"invalid method"_s);
        return false;
    }
    if (version.size() != 8 || !version.startsWith("HTTP/") || version[6] != '.' || version[5] < '0'
        || version[5] > '9' || version[7] < '0' || version[7] > '9') {
        fail(400, u"malformed HTTP version"_s);
        return false;
    }
    if (version[5] != '1') {
        fail(505, u"only HTTP/1.0 and HTTP/1.1 are supported"_s);
        return false;
    }
    m_request.setMinorVersion(version[7] == '0' ? 0 : 1);
    if (target.isEmpty() || !isTargetChars(target)) {
        fail(400, u"invalid request target"_s);
        return false;
    }
    QByteArrayView pathAndQuery;
    if (target.startsWith('/')) {
        pathAndQuery = target;
    } else if (target == "*" && method == "OPTIONS") {
        pathAndQuery = target;
    } else if (target.startsWith("http://") || target.startsWith("https://")) {
        // absolute-form: keep the path (RFC 9112 §3.2.2: the Host header is then ignored).
        const qsizetype authStart = target.indexOf("//") + 2;
        qsizetype pathStart = authStart;
        while (pathStart < target.size() && target[pathStart] != '/' && target[pathStart] != '?')
            ++pathStart;
        if (pathStart == authStart) {
            fail(400, u"absolute-form target without a host"_s);
            return false;
        }
        pathAndQuery = target.sliced(pathStart);
        if (pathAndQuery.isEmpty() || pathAndQuery.startsWith('?')) {
            const QByteArray withSlash = '/' + pathAndQuery.toByteArray();
            const qsizetype q = withSlash.indexOf('?');
            m_request.setMethod(method.toByteArray());
            m_request.setTarget(target.toByteArray(),
                                q < 0 ? withSlash : withSlash.first(q),
                                q < 0 ? QByteArray() : withSlash.sliced(q + 1));
            return true;
        }
    } else {
        fail(400, u"unsupported request-target form"_s);
        return false;
    }
    qsizetype end = pathAndQuery.indexOf('#');
    if (end < 0)
        end = pathAndQuery.size();
    const qsizetype q = pathAndQuery.first(end).indexOf('?');
    const QByteArrayView path = q < 0 ? pathAndQuery.first(end) : pathAndQuery.first(q);
    const QByteArrayView query = q < 0 ? QByteArrayView() : pathAndQuery.sliced(q + 1, end - q - 1);
    m_request.setMethod(method.toByteArray());
    m_request.setTarget(target.toByteArray(), path.toByteArray(), query.toByteArray());
    return true;
}

bool HttpRequestParser::parseHeaderLine(QByteArrayView line)
{
    if (isOws(line[0])) {
        fail(400, u"obsolete line folding in headers"_s);
        return false;
    }
    const qsizetype colon = line.indexOf(':');
    if (colon <= 0) {
        fail(400, u"header line without a name and a colon"_s);
        return false;
    }
    const QByteArrayView name = line.first(colon);
    if (!isToken(name)) {
        fail(400, u"invalid header name (whitespace before the colon is not allowed)"_s);
        return false;
    }
    const QByteArrayView value = trimOws(line.sliced(colon + 1));
    if (!isFieldValue(value)) {
        fail(400, u"invalid character in header value"_s);
        return false;
    }
    if (m_request.headers().size() >= m_limits.maxHeaderCount) {
        fail(431, u"more than %1 header fields"_s.arg(m_limits.maxHeaderCount));
        return false;
    }
    m_request.headers().add(name, value);
    return true;
}

bool HttpRequestParser::finishHead()
{
    const HttpHeaders &h = m_request.headers();
    if (m_request.minorVersion() >= 1 && h.count("Host") != 1) {
        fail(400,
             h.contains("Host") ? u"more than one Host header"_s
                                : u"HTTP/1.1 request without a Host header"_s);
        return false;
    }
    const bool hasTe = h.contains("Transfer-Encoding");
    const bool hasCl = h.contains("Content-Length");
    if (hasTe && hasCl) {
        fail(400, u"both Transfer-Encoding and Content-Length"_s);
        return false;
    }
    m_contentLength = -1;
    if (hasTe) {
        if (m_request.minorVersion() == 0) {
            fail(400, u"Transfer-Encoding in an HTTP/1.0 request"_s);
            return false;
        }
        const QByteArray te = h.combinedValue("Transfer-Encoding").trimmed().toLower();
        if (te != "chunked") {
            fail(501, u"unsupported Transfer-Encoding (only chunked)"_s);
            return false;
        }
        m_chunked = true;
        m_state = State::ChunkSize;
    } else if (hasCl) {
        qint64 length = -1;
        for (const QByteArray &v : h.values("Content-Length")) {
            for (const QByteArray &part : v.split(',')) {
                qint64 n = 0;
                if (!parseDecimal(trimOws(part), n) || (length >= 0 && n != length)) {
                    fail(400, u"invalid Content-Length"_s);
                    return false;
                }
                length = n;
            }
        }
        if (length > m_limits.maxBodyBytes) {
            fail(413,
                 u"request body of %1 bytes exceeds the limit of %2 bytes"_s.arg(length).arg(
                         m_limits.maxBodyBytes));
            return false;
        }
        m_contentLength = length;
        m_remaining = length;
        m_state = State::Body;
        m_request.body().reserve(length);
    } else {
        m_state = State::Body;
        m_remaining = 0;
    }
    m_expectContinue = m_request.minorVersion() >= 1 && h.containsToken("Expect", "100-continue")
                       && (m_chunked || m_remaining > 0);
    return true;
}

qsizetype HttpRequestParser::parseBody(const char *data, qsizetype size)
{
    qsizetype pos = 0;
    while (m_status == Status::NeedMore) {
        switch (m_state) {
        case State::Head:
        case State::Done:
            return pos;
        case State::Body: {
            const qsizetype n = qsizetype(qMin<qint64>(m_remaining, size - pos));
            if (n > 0) {
                m_request.body().append(data + pos, n);
                pos += n;
                m_remaining -= n;
            }
            if (m_remaining > 0)
                return pos;
            m_state = State::Done;
            m_status = Status::Complete;
            m_expectContinue = false;
            return pos;
        }
        case State::ChunkSize: {
            const void *nl = std::memchr(data + pos, '\n', size_t(size - pos));
            if (!nl) {
                if (size - pos > kMaxChunkLine)
                    return pos + fail(400, u"chunk size line too long"_s);
                return pos;
            }
            const qsizetype end = static_cast<const char *>(nl) - data;
            QByteArrayView line(data + pos, end - pos);
            if (line.size() > kMaxChunkLine)
                return pos + fail(400, u"chunk size line too long"_s);
            if (line.endsWith('\r'))
                line.chop(1);
            qint64 chunk = 0;
            qsizetype i = 0;
            for (; i < line.size(); ++i) {
                const int d = hexDigit(line[i]);
                if (d < 0)
                    break;
                if (i >= 15)
                    return pos + fail(400, u"chunk size too large"_s);
                chunk = chunk * 16 + d;
            }
            if (i == 0)
                return pos + fail(400, u"invalid chunk size"_s);
            // Only chunk extensions (;name[=value]) may follow, with optional whitespace.
            QByteArrayView rest = trimOws(line.sliced(i));
            if (!rest.isEmpty() && (rest[0] != ';' || !isFieldValue(rest)))
                return pos + fail(400, u"invalid chunk extension"_s);
            pos = end + 1;
            if (chunk == 0) {
                m_state = State::Trailers;
                m_lineStart = 0;
                break;
            }
            if (m_request.body().size() + chunk > m_limits.maxBodyBytes) {
                return pos
                       + fail(413,
                              u"request body exceeds the limit of %1 bytes"_s.arg(
                                      m_limits.maxBodyBytes));
            }
            m_remaining = chunk;
            m_state = State::ChunkData;
            break;
        }
        case State::ChunkData: {
            const qsizetype n = qsizetype(qMin<qint64>(m_remaining, size - pos));
            m_request.body().append(data + pos, n);
            pos += n;
            m_remaining -= n;
            if (m_remaining > 0)
                return pos;
            m_state = State::ChunkDataEnd;
            break;
        }
        case State::ChunkDataEnd: {
            if (pos >= size)
                return pos;
            if (data[pos] == '\n') {
                pos += 1;
            } else if (data[pos] == '\r') {
                if (pos + 1 >= size)
                    return pos;
                if (data[pos + 1] != '\n')
                    return pos + fail(400, u"chunk data not followed by CRLF"_s);
                pos += 2;
            } else {
                return pos + fail(400, u"chunk data longer than its declared size"_s);
            }
            m_state = State::ChunkSize;
            break;
        }
        case State::Trailers: {
            const void *nl = std::memchr(data + pos, '\n', size_t(size - pos));
            if (!nl) {
                if (m_trailerBytes + (size - pos) > m_limits.maxHeaderBytes)
                    return pos + fail(431, u"chunked trailers too large"_s);
                return pos;
            }
            const qsizetype end = static_cast<const char *>(nl) - data;
            QByteArrayView line(data + pos, end - pos);
            m_trailerBytes += line.size() + 1;
            if (m_trailerBytes > m_limits.maxHeaderBytes)
                return pos + fail(431, u"chunked trailers too large"_s);
            pos = end + 1;
            if (line.endsWith('\r'))
                line.chop(1);
            if (line.isEmpty()) {
                m_state = State::Done;
                m_status = Status::Complete;
                m_expectContinue = false;
                return pos;
            }
            // Trailer fields are validated and dropped: none of ours are allowed in trailers.
            const qsizetype colon = line.indexOf(':');
            if (colon <= 0 || !isToken(line.first(colon)) || !isFieldValue(line.sliced(colon + 1)))
                return pos + fail(400, u"malformed trailer field"_s);
            break;
        }
        }
    }
    return pos;
}

} // namespace Meridian
