#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace Meridian {

// The edge's HTTP/1.1 wire parser: zero-copy views into the connection's receive buffer,
// strict where request smuggling hides (RFC 9112: no whitespace before a colon, no obs-fold,
// no bare CR, Content-Length/Transfer-Encoding conflicts rejected), and no allocation. The
// node's HttpServer parses into QByteArray/QHash, which suits the control API but costs an
// allocation per header; the data plane parses each request head exactly once, in place.
namespace HttpWire {

inline constexpr int kMaxHeaders = 100;

struct Header
{
    std::string_view name;
    std::string_view value;
};

enum class Status { Complete, Incomplete, Error };

// Which error response a malformed head earns.
enum class Error { None, BadRequest, HeadersTooLarge, NotImplemented, VersionNotSupported };

struct RequestHead
{
    std::string_view method;
    std::string_view target;
    int minorVersion = 1;
    Header headers[kMaxHeaders];
    int headerCount = 0;
    size_t length = 0; // bytes of the head, final empty line included
};

struct ResponseHead
{
    int status = 0;
    std::string_view reason;
    int minorVersion = 1;
    Header headers[kMaxHeaders];
    int headerCount = 0;
    size_t length = 0;
};

// Where the head ends (the offset just past the empty line) or 0 while it is incomplete.
// `scanFrom` lets a caller resume a scan of a growing buffer.
size_t findHeadEnd(const char *data, size_t size, size_t scanFrom = 0);

Status parseRequest(const char *data, size_t size, RequestHead &head, Error &error);
Status parseResponse(const char *data, size_t size, ResponseHead &head);

bool equalsIgnoreCase(std::string_view a, std::string_view b);
// `v` without leading and trailing spaces and tabs (optional whitespace, RFC 9110).
std::string_view trimOws(std::string_view v);
// Whether a comma-separated header value lists `token` (case-insensitive), e.g. Connection.
bool listContains(std::string_view list, std::string_view token);
bool isTokenChar(char c);

// Parses a Content-Length value; false on anything but 1-18 ASCII digits.
bool parseContentLength(std::string_view value, uint64_t &length);

// Incremental tracker of a message body's framing (RFC 9112 section 6): tells how many bytes of
// what arrives belong to the current message, and when it is complete. Chunked bodies are
// forwarded as they are, so the tracker only validates and counts; it never copies.
class BodyFramer
{
public:
    enum class Kind { None, Length, Chunked, UntilClose };

    void reset(Kind kind, uint64_t length = 0);
    Kind kind() const { return m_kind; }
    bool done() const { return m_state == State::Done; }
    bool failed() const { return m_state == State::Failed; }
    // Consumes up to `size` bytes; returns how many belong to this message (the rest is the
    // next message). Sets failed() on malformed chunked framing.
    size_t feed(const char *data, size_t size);
    // Payload bytes seen so far (excluding chunk framing).
    uint64_t payloadBytes() const { return m_payload; }

private:
    enum class State { Size, Ext, SizeLf, Data, DataCr, DataLf, Trailer, Done, Failed };
    Kind m_kind = Kind::None;
    State m_state = State::Done;
    uint64_t m_remaining = 0;
    uint64_t m_payload = 0;
    int m_sizeDigits = 0;
    int m_lineLength = 0;
    bool m_trailerLineEmpty = true;
};

} // namespace HttpWire
} // namespace Meridian
