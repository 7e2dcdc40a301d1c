#include "core/edge/httpwire.h"

#include <algorithm>
#include <cstring>

namespace Meridian::HttpWire {

namespace {

constexpr bool kTokenTable[256] = {
#define T 1
        // 0x00-0x1f: controls
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        // SP ! " # $ % & ' ( ) * + , - . /
        0,
        T,
        0,
        T,
        T,
        T,
        T,
        T,
        0,
        0,
        T,
        T,
        0,
        T,
        T,
        0,
        // 0-9 : ; < = > ?
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        0,
        0,
        0,
        0,
        0,
        0,
        // @ A-O
        0,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        // P-Z [ \ ] ^ _
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        0,
        0,
        0,
        T,
        T,
        // ` a-o
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        // p-z { | } ~ DEL
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        T,
        0,
        T,
        0,
        T,
        0,
#undef T
};

inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c;
}

// A header value or request target may hold visible ASCII, SP, HTAB and obs-text.
inline bool isFieldChar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// One line of [p, end): returns the line without its terminator and advances p past it.
// A line must end in CRLF or LF; a CR anywhere else makes it invalid.
bool nextLine(const char *&p, const char *end, std::string_view &line)
{
    const char *nl = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)));
    if (!nl)
        return false;
    const char *lineEnd = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
    line = std::string_view(p, size_t(lineEnd - p));
    p = nl + 1;
    return true;
}

bool parseVersion(std::string_view v, int &minor)
{
    if (v.size() != 8 || v.substr(0, 7) != "HTTP/1.")
        return false;
    if (v[7] < '0' || v[7] > '9')
        return false;
    // RFC 9110 6.2: a higher minor version of HTTP/1 is processed as the highest we implement.
    minor = std::min(v[7] - '0', 1);
    return true;
}

// Parses header lines up to the empty line. Returns false on a malformed field.
bool parseHeaders(const char *&p, const char *end, Header *headers, int &count, bool &tooMany)
{
    count = 0;
    tooMany = false;
    std::string_view line;
    while (nextLine(p, end, line)) {
        if (line.empty())
            return true;
        if (line.front() == ' ' || line.front() == '\t')
            return false; // obs-fold
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return false;
        const std::string_view name = line.substr(0, colon);
        for (char c : name) {
            if (!isTokenChar(c))
                return false; // includes whitespace before the colon
        }
        const std::string_view value = trimOws(line.substr(colon + 1));
        for (char c : value) {
            if (!isFieldChar(static_cast<unsigned char>(c)))
                return false; // bare CR, NUL and other controls
        }
        if (count == kMaxHeaders) {
            tooMany = true;
            return false;
        }
        headers[count++] = Header{name, value};
    }
    return false;
}

} // namespace

std::string_view trimOws(std::string_view v)
{
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
    return v;
}

bool isTokenChar(char c)
{
    return kTokenTable[static_cast<unsigned char>(c)];
}

bool equalsIgnoreCase(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

bool listContains(std::string_view list, std::string_view token)
{
    while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view item = trimOws(list.substr(0, comma));
        if (equalsIgnoreCase(item, token))
            return true;
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

bool parseContentLength(std::string_view value, uint64_t &length)
{
    if (value.empty() || value.size() > 18)
        return false;
    uint64_t n = 0;
    for (char c : value) {
        if (c < '0' || c > '9')
            return false;
        n = n * 10 + uint64_t(c - '0');
    }
    length = n;
    return true;
}

size_t findHeadEnd(const char *data, size_t size, size_t scanFrom)
{
    // The head ends at "\n\n" or "\n\r\n"; resume three bytes back so a terminator split across
    // two reads is still found.
    size_t i = scanFrom > 3 ? scanFrom - 3 : 0;
    while (i < size) {
        const void *nl = std::memchr(data + i, '\n', size - i);
        if (!nl)
            return 0;
        i = size_t(static_cast<const char *>(nl) - data) + 1;
        if (i < size && data[i] == '\n')
            return i + 1;
        if (i + 1 < size && data[i] == '\r' && data[i + 1] == '\n')
            return i + 2;
    }
    return 0;
}

Status parseRequest(const char *data, size_t size, RequestHead &head, Error &error)
{
    error = Error::None;
    const size_t headEnd = findHeadEnd(data, size);
    if (!headEnd)
        return Status::Incomplete;
    const char *p = data;
    const char *end = data + headEnd;
    std::string_view line;
    // RFC 9112 2.2: a server ought to ignore at least one empty line before the request line.
    if (!nextLine(p, end, line)) {
        error = Error::BadRequest;
        return Status::Error;
    }
    if (line.empty() && !nextLine(p, end, line)) {
        error = Error::BadRequest;
        return Status::Error;
    }
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        error = Error::BadRequest;
        return Status::Error;
    }
    head.method = line.substr(0, sp1);
    head.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (head.method.empty() || head.target.empty()) {
        error = Error::BadRequest;
        return Status::Error;
    }
    for (char c : head.method) {
        if (!isTokenChar(c)) {
            error = Error::BadRequest;
            return Status::Error;
        }
    }
    for (char c : head.target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            error = Error::BadRequest;
            return Status::Error;
        }
    }
    if (!parseVersion(version, head.minorVersion)) {
        const bool looksHttp = version.size() >= 5 && version.substr(0, 5) == "HTTP/";
        error = looksHttp ? Error::VersionNotSupported : Error::BadRequest;
        return Status::Error;
    }
    bool tooMany = false;
    if (!parseHeaders(p, end, head.headers, head.headerCount, tooMany)) {
        error = tooMany ? Error::HeadersTooLarge : Error::BadRequest;
        return Status::Error;
    }
    head.length = headEnd;
    return Status::Complete;
}

Status parseResponse(const char *data, size_t size, ResponseHead &head)
{
    const size_t headEnd = findHeadEnd(data, size);
    if (!headEnd)
        return Status::Incomplete;
    const char *p = data;
    const char *end = data + headEnd;
    std::string_view line;
    if (!nextLine(p, end, line) || line.size() < 12
        || !parseVersion(line.substr(0, 8), head.minorVersion) || line[8] != ' ')
        return Status::Error;
    int status = 0;
    for (int i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9')
            return Status::Error;
        status = status * 10 + (line[i] - '0');
    }
    if (status < 100 || (line.size() > 12 && line[12] != ' '))
        return Status::Error;
    head.status = status;
    head.reason = line.size() > 13 ? line.substr(13) : std::string_view();
    bool tooMany = false;
    if (!parseHeaders(p, end, head.headers, head.headerCount, tooMany))
        return Status::Error;
    head.length = headEnd;
    return Status::Complete;
}

void BodyFramer::reset(Kind kind, uint64_t length)
{
    m_kind = kind;
    m_remaining = length;
    m_payload = 0;
    m_sizeDigits = 0;
    m_lineLength = 0;
    switch (kind) {
    case Kind::None:
        m_state = State::Done;
        break;
    case Kind::Length:
        m_state = length == 0 ? State::Done : State::Data;
        break;
    case Kind::Chunked:
        m_state = State::Size;
        break;
    case Kind::UntilClose:
        m_state = State::Data;
        break;
    }
}

size_t BodyFramer::feed(const char *data, size_t size)
{
    if (m_state == State::Done || m_state == State::Failed)
        return 0;
    if (m_kind == Kind::UntilClose) {
        m_payload += size;
        return size;
    }
    if (m_kind == Kind::Length) {
        const size_t n = size < m_remaining ? size : size_t(m_remaining);
        m_remaining -= n;
        m_payload += n;
        if (m_remaining == 0)
            m_state = State::Done;
        return n;
    }
    // Chunked: chunk-size [ext] CRLF data CRLF ... 0 CRLF *(trailer CRLF) CRLF
    size_t i = 0;
    constexpr int kMaxLine = 4096;
    while (i < size) {
        const char c = data[i];
        switch (m_state) {
        case State::Size: {
            int digit = -1;
            if (c >= '0' && c <= '9')
                digit = c - '0';
            else if (c >= 'a' && c <= 'f')
                digit = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                digit = c - 'A' + 10;
            if (digit >= 0) {
                if (++m_sizeDigits > 15) {
                    m_state = State::Failed;
                    return i;
                }
                m_remaining = m_remaining * 16 + uint64_t(digit);
                ++i;
                break;
            }
            if (m_sizeDigits == 0) {
                m_state = State::Failed;
                return i;
            }
            if (c == ';' || c == ' ' || c == '\t') {
                m_state = State::Ext;
                m_lineLength = 0;
            } else if (c == '\r') {
                m_state = State::SizeLf;
            } else if (c == '\n') {
                m_state = m_remaining ? State::Data : State::Trailer;
                m_trailerLineEmpty = true;
            } else {
                m_state = State::Failed;
                return i;
            }
            ++i;
            break;
        }
        case State::Ext:
            if (c == '\n') {
                m_state = m_remaining ? State::Data : State::Trailer;
                m_trailerLineEmpty = true;
            } else if (++m_lineLength > kMaxLine
                       || (c != '\t' && c != '\r' && (c < 0x20 || c == 0x7f))) {
                m_state = State::Failed;
                return i;
            }
            ++i;
            break;
        case State::SizeLf:
            if (c != '\n') {
                m_state = State::Failed;
                return i;
            }
            m_state = m_remaining ? State::Data : State::Trailer;
            m_trailerLineEmpty = true;
            ++i;
            break;
        case State::Data: {
            const size_t n = (size - i) < m_remaining ? (size - i) : size_t(m_remaining);
            m_remaining -= n;
            m_payload += n;
            i += n;
            if (m_remaining == 0)
                m_state = State::DataCr;
            break;
        }
        case State::DataCr:
            if (c == '\r') {
                m_state = State::DataLf;
            } else if (c == '\n') {
                m_state = State::Size;
                m_sizeDigits = 0;
            } else {
                m_state = State::Failed;
                return i;
            }
            ++i;
            break;
        case State::DataLf:
            if (c != '\n') {
                m_state = State::Failed;
                return i;
            }
            m_state = State::Size;
            m_sizeDigits = 0;
            ++i;
            break;
        case State::Trailer:
            // Trailer fields are passed through; the body ends at the first empty line.
            if (c == '\n') {
                ++i;
                if (m_trailerLineEmpty) {
                    m_state = State::Done;
                    return i;
                }
                m_trailerLineEmpty = true;
                m_lineLength = 0;
                break;
            }
            if (c != '\r')
                m_trailerLineEmpty = false;
            if (++m_lineLength > kMaxLine) {
                m_state = State::Failed;
                return i;
            }
            ++i;
            break;
        case State::Done:
        case State::Failed:
            return i;
        }
    }
    return i;
}

} // namespace Meridian::HttpWire
