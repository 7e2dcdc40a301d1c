#include "core/edge/edgeloop.h"

#include "core/edge/edgebusypoll.h"
#include "core/edge/edgecache.h"
#include "core/edge/edgefetchregistry.h"
#include "core/edge/edgerouter.h"
#include "core/edge/edgetlscontext.h"
#include "core/edge/edgetraffic.h"
#include "core/edge/httpwire.h"
#include "core/http/accesslog.h"

#include <QLoggingCategory>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <limits>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

Q_LOGGING_CATEGORY(lcEdgeProxy, "meridian.edge.proxy")

using namespace std::string_view_literals;

namespace Meridian {

namespace Internal {

namespace {

int64_t monotonicMs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint64_t monotonicUs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
}

constexpr size_t kInitialBuffer = 16 * 1024;
// Request collapsing: how long a URL whose answer was not stored skips it, and how many such
// URLs a worker remembers (then it forgets them all: a bound, not an eviction policy).
constexpr int64_t kNotStoredMs = 30000;
constexpr size_t kNotStoredKeys = 10000;
// Stale while revalidate: after a background revalidation failed, the next one waits this long
// (the stale copy keeps answering meanwhile), so a region that is down is not asked per request.
constexpr int64_t kRevalidationRetryMs = 1000;
constexpr size_t kBodyBuffer = 64 * 1024;
constexpr size_t kMaxResponseHead = 64 * 1024;
// How long a closing connection may keep sending the rest of a request we will not read.
constexpr int64_t kLingerMs = 2000;
// The largest TLS record's payload: small pieces are gathered up to it so that a response head
// and a small body go out as one record in one system call.
constexpr size_t kTlsRecord = 16 * 1024;

// A byte buffer with a consumed prefix: [begin, end) holds unprocessed bytes. Its storage is
// kept for the connection's life, so steady-state requests allocate nothing.
class Buffer
{
public:
    char *data() { return m_data.get() + m_begin; }
    const char *data() const { return m_data.get() + m_begin; }
    size_t size() const { return m_end - m_begin; }
    bool empty() const { return m_end == m_begin; }
    size_t capacity() const { return m_capacity; }
    // Makes room for at least `want` bytes at the tail (compacting or growing up to `limit`);
    // returns the writable tail size.
    size_t prepare(size_t want, size_t limit)
    {
        if (m_capacity - m_end >= want)
            return m_capacity - m_end;
        if (m_begin > 0) {
            std::memmove(m_data.get(), m_data.get() + m_begin, size());
            m_end -= m_begin;
            m_begin = 0;
            if (m_capacity - m_end >= want)
                return m_capacity - m_end;
        }
        if (m_capacity < limit) {
            size_t cap = m_capacity ? m_capacity : kInitialBuffer;
            while (cap < m_end + want && cap < limit)
                cap *= 2;
            if (cap > limit)
                cap = limit;
            auto grown = std::make_unique_for_overwrite<char[]>(cap);
            if (m_end)
                std::memcpy(grown.get(), m_data.get(), m_end);
            m_data = std::move(grown);
            m_capacity = cap;
        }
        return m_capacity - m_end;
    }
    char *tail() { return m_data.get() + m_end; }
    void commit(size_t n) { m_end += n; }
    void consume(size_t n)
    {
        m_begin += n;
        if (m_begin >= m_end)
            m_begin = m_end = 0;
    }
    void clear() { m_begin = m_end = 0; }
    void append(std::string_view s)
    {
        prepare(s.size(), std::max(m_end - m_begin + s.size() + 1, size_t(1) << 30));
        std::memcpy(tail(), s.data(), s.size());
        m_end += s.size();
    }
    void appendNumber(uint64_t n)
    {
        char tmp[24];
        const auto r = std::to_chars(tmp, tmp + sizeof tmp, n);
        append(std::string_view(tmp, size_t(r.ptr - tmp)));
    }
    void release()
    {
        m_data.reset();
        m_capacity = m_begin = m_end = 0;
    }

private:
    std::unique_ptr<char[]> m_data;
    size_t m_capacity = 0;
    size_t m_begin = 0;
    size_t m_end = 0;
};

enum class Kind : uint8_t { Listener, Wake, Client, Upstream };

struct Conn
{
    explicit Conn(Kind k)
        : kind(k)
    {}
    virtual ~Conn() { SSL_free(ssl); }
    Conn(const Conn &) = delete;
    Conn &operator=(const Conn &) = delete;
    Kind kind;
    int fd = -1;
    bool readable = false;
    bool writable = false;
    bool eof = false;
    bool failed = false;
    // TLS (clients of the HTTPS port, connections to https:// regions): the session, whether
    // its handshake is done, and a read that must wait for the socket to take bytes (or a
    // write for bytes to arrive).
    SSL *ssl = nullptr;
    EdgeTlsSocket tlsSocket; // what `ssl` reads and writes through
    bool handshaken = false;
    bool readWantsWrite = false;
    bool writeWantsRead = false;
    int64_t deadline = 0; // monotonic ms; 0 = none
    uint64_t sent = 0;    // bytes written to it, ever
    Conn *prev = nullptr;
    Conn *next = nullptr;
    Buffer in;
    Buffer out;
};

struct Client;
struct Revalidation;

struct Upstream : Conn
{
    Upstream()
        : Conn(Kind::Upstream)
    {}
    // Handshaking: TLS to an https:// region, between the TCP connect and the request.
    enum class State : uint8_t { Connecting, Handshaking, Busy, Idle } state = State::Connecting;
    int endpoint = -1;
    Client *client = nullptr;             // whose request it carries, or
    Revalidation *revalidation = nullptr; // the background revalidation it carries
    bool reused = false;
    bool headParsed = false;
    bool keepAlive = true;
    bool wroteAny = false;
    size_t headScan = 0;
    size_t fwd = 0; // bytes at in.data() that belong to the response body, ready to forward
    int status = 0;
    HttpWire::BodyFramer framer;
};

struct Client : Conn
{
    Client()
        : Conn(Kind::Client)
    {}
    // Lingering: the answer is sent and our side shut down; the rest of the request is read
    // and dropped until the client closes, so that closing cannot reset the answer away.
    // Waiting: its request missed the cache while another request (of any worker) fetches the
    // same URL; it waits (head unconsumed in `in`) for that answer to enter the cache.
    enum class State : uint8_t { ReadHead, Waiting, Proxy, Local, Lingering } state = State::ReadHead;
    char ip[INET6_ADDRSTRLEN] = {};
    uint8_t ipLength = 0;
    size_t headScan = 0;
    bool keepAlive = true;
    bool http10 = false;
    bool headMethod = false;
    bool idempotent = false;
    bool hasBody = false;
    bool respHeadSent = false;
    bool staleRetried = false;
    bool counted = false; // traffic.begin() was called for the current pick
    HttpWire::BodyFramer reqFramer;
    size_t reqFwd = 0;
    Buffer reqHead; // the head sent upstream, kept for retries
    Upstream *up = nullptr;
    EdgePick pick;
    int attempts = 0;
    uint64_t excluded = 0;
    uint64_t startUs = 0;
    uint64_t attemptUs = 0;
    int status = 0;
    // Cache.
    std::string cacheKey;
    bool cacheable = false;
    bool revalidating = false;
    uint64_t purgeGeneration = 0; // the cache's, when the request left for a region
    std::shared_ptr<const EdgeCachedResponse> cached;
    // A stored response that may answer if no region can (fresh, or within stale-if-error).
    std::shared_ptr<const EdgeCachedResponse> staleFallback;
    std::shared_ptr<EdgeCachedResponse> storing;
    bool leadsFetch = false;         // other requests for cacheKey wait for this one's answer
    bool waited = false;             // this request waited once already: it goes to a region now
    const char *localBody = nullptr; // body of a local (cached) response, written from here
    size_t localBodySize = 0;
    unsigned attemptSeq = 0; // bumped by every dispatch
    // Access log (kept only when there is one): the request from its start until its line.
    bool logOpen = false;
    uint64_t logSentBefore = 0;
    int logTries = 0;
    size_t logMethodLength = 0;
    std::string logRequest; // method, then target
    std::string_view logCache;
};

// Stale while revalidate (RFC 5861): the fetch that refreshes a cache entry after a request
// was answered from its stale copy. It has no client: the answer goes to the cache only.
struct Revalidation
{
    std::string key;
    std::shared_ptr<const EdgeCachedResponse> entry;
    std::shared_ptr<EdgeCachedResponse> storing;
    Buffer head; // the request as sent to the region
    EdgePick pick;
    Upstream *up = nullptr;
    uint64_t startUs = 0;
    uint64_t purgeGeneration = 0; // the cache's, when it started
    int status = 0;
    bool retried = false; // on a fresh connection after a pooled one turned out closed
};

std::string_view reasonOf(int status)
{
    switch (status) {
    case 200:
        return "OK"sv;
    case 304:
        return "Not Modified"sv;
    case 308:
        return "Permanent Redirect"sv;
    case 400:
        return "Bad Request"sv;
    case 408:
        return "Request Timeout"sv;
    case 413:
        return "Content Too Large"sv;
    case 431:
        return "Request Header Fields Too Large"sv;
    case 501:
        return "Not Implemented"sv;
    case 502:
        return "Bad Gateway"sv;
    case 503:
        return "Service Unavailable"sv;
    case 504:
        return "Gateway Timeout"sv;
    case 505:
        return "HTTP Version Not Supported"sv;
    default:
        return "Error"sv;
    }
}

// "Name: value\r\n", as received.
void appendField(Buffer &out, const HttpWire::Header &field)
{
    out.append(field.name);
    out.append(": "sv);
    out.append(field.value);
    out.append("\r\n"sv);
}

bool isHopByHop(std::string_view name)
{
    using HttpWire::equalsIgnoreCase;
    switch (name.size()) {
    case 2:
        return equalsIgnoreCase(name, "te"sv);
    case 7:
        return equalsIgnoreCase(name, "upgrade"sv);
    case 10:
        return equalsIgnoreCase(name, "connection"sv) || equalsIgnoreCase(name, "keep-alive"sv);
    case 16:
        return equalsIgnoreCase(name, "proxy-connection"sv);
    default:
        return false;
    }
}

bool isIdempotent(std::string_view m)
{
    return m == "GET"sv || m == "HEAD"sv || m == "PUT"sv || m == "DELETE"sv || m == "OPTIONS"sv
           || m == "TRACE"sv;
}

} // namespace

struct LoopState
{
    LoopState(int index, std::shared_ptr<const EdgeShared> s)
        : worker(index)
        , shared(std::move(s))
        , cfg(shared->config)
        , router(*shared->router)
        , traffic(*shared->traffic)
        , cache(shared->cache.get())
        , accessLog(shared->accessLog.get())
        , fetches(*shared->fetches)
        , busyPoll(cfg.busyPollUs)
    {
        if (cfg.tlsHstsMaxAgeS > 0)
            hsts = "Strict-Transport-Security: max-age=" + std::to_string(cfg.tlsHstsMaxAgeS)
                   + "\r\n";
    }

    int worker;
    std::shared_ptr<const EdgeShared> shared;
    const EdgeConfig &cfg;
    EdgeRouter &router;
    EdgeTraffic &traffic;
    EdgeCache *cache;
    AccessLog *accessLog;
    AccessLog::Buffer logBuffer;

    int epfd = -1;
    Conn listener{Kind::Listener};
    Conn tlsListener{Kind::Listener}; // edge.tls's HTTPS port; fd -1 without it
    Conn wake{Kind::Wake};
    quint16 boundPort = 0;
    quint16 boundTlsPort = 0;
    std::atomic<quint64> tlsFullHandshakes{0};
    std::atomic<quint64> tlsResumed{0};
    std::atomic<quint64> tlsFailures{0};
    std::atomic<quint64> tlsPlainHttp{0};
    std::atomic<quint64> busyPollMicros{0};
    int64_t lastTlsWarning = -1;
    int64_t lastUpstreamTlsWarning = -1;
    std::string tlsGather; // a record's worth of small pieces, see flushTls()
    std::string hsts;      // the Strict-Transport-Security line for HTTPS answers, or empty
    std::atomic<int> stopGraceMs{-1};
    bool stopping = false;
    int64_t stopDeadline = 0;
    int64_t now = 0;
    int64_t lastSweep = 0;
    int64_t acceptPausedUntil = 0; // out of file descriptors: the listener rests until then
    int64_t lastFdWarning = -1;
    int clients = 0;
    int active = 0;          // clients with an exchange in flight
    int retriesInFlight = 0; // of those, on a retry attempt
    Conn *connections = nullptr;
    std::vector<Conn *> graveyard;
    std::vector<Conn *> expired;
    // Request collapsing (edge.cache.lock_timeout_ms): per cache key, the requests (of every
    // worker) waiting for the one that fetches it; and this worker's ones to start again once
    // this round of events is done.
    EdgeFetchRegistry &fetches;
    std::vector<Client *> resumable;
    std::vector<void *> inbox; // taken from `fetches`
    // Keys whose last answer was not stored (monotonic ms until which that is assumed; Varnish's
    // "hit-for-miss"): their requests never wait, or a URL that is never cacheable would have
    // its concurrent requests wait for each other's response heads.
    std::unordered_map<std::string, int64_t> notStored;
    std::vector<std::vector<Upstream *>> pools;
    // Stale while revalidate: the background revalidations in flight.
    std::vector<std::unique_ptr<Revalidation>> revalidations;
    EdgeBusyPoll busyPoll;

    // --- connection bookkeeping ---
    void link(Conn *c)
    {
        c->next = connections;
        if (connections)
            connections->prev = c;
        connections = c;
    }
    void unlink(Conn *c)
    {
        if (c->prev)
            c->prev->next = c->next;
        else if (connections == c)
            connections = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->prev = c->next = nullptr;
    }
    bool watch(Conn *c)
    {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = c;
        return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0;
    }
    void destroy(Conn *c)
    {
        if (c->fd < 0)
            return;
        ::close(c->fd);
        c->fd = -1;
        unlink(c);
        graveyard.push_back(c);
    }

    // --- I/O primitives ---
    // One read into `c->in`; returns bytes read (0 when nothing was read).
    size_t readSome(Conn *c, size_t limit)
    {
        if (!c->readable || c->eof || c->failed)
            return 0;
        const size_t space = c->in.prepare(4096, limit);
        if (space == 0)
            return 0;
        if (c->ssl)
            return readTls(c, space);
        for (;;) {
            const ssize_t n = ::recv(c->fd, c->in.tail(), space, 0);
            if (n > 0) {
                c->in.commit(size_t(n));
                if (size_t(n) < space)
                    c->readable = false; // a short read drained the socket (ET)
                return size_t(n);
            }
            if (n == 0) {
                c->eof = true;
                c->readable = false;
                return 0;
            }
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->failed = true;
            c->readable = false;
            return 0;
        }
    }

    // SSL_read into the tail of `c->in`. A record may wait inside OpenSSL after a short read,
    // so "short read = drained" does not hold; the socket BIO's `drained` and SSL_has_pending()
    // together do (EdgeTlsSocket).
    size_t readTls(Conn *c, size_t space)
    {
        ERR_clear_error();
        const int n = SSL_read(c->ssl, c->in.tail(), int(std::min<size_t>(space, INT_MAX)));
        if (n > 0) {
            c->in.commit(size_t(n));
            // Nothing in OpenSSL and the socket emptied by its last read: the next read could
            // only say WANT_READ, so the next edge event is what to wait for.
            if (c->tlsSocket.drained && !SSL_has_pending(c->ssl))
                c->readable = false;
            return size_t(n);
        }
        c->readable = false;
        switch (SSL_get_error(c->ssl, n)) {
        case SSL_ERROR_WANT_READ:
            break;
        case SSL_ERROR_WANT_WRITE: // a key update to answer while the socket is full
            c->readWantsWrite = true;
            c->writable = false;
            break;
        case SSL_ERROR_ZERO_RETURN: // close_notify, or a plain EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
            c->eof = true;
            break;
        default:
            c->failed = true;
            break;
        }
        return 0;
    }

    // Accounts `n` bytes written from the pieces flush() was given, in their order.
    static size_t consumeWritten(
            Conn *dst, Buffer *src, size_t *srcLen, const char **body, size_t *bodyLen, size_t n)
    {
        dst->sent += uint64_t(n);
        size_t fromSrc = 0;
        size_t left = n;
        const size_t fromOut = std::min(left, dst->out.size());
        dst->out.consume(fromOut);
        left -= fromOut;
        if (src && *srcLen && left) {
            const size_t k = std::min(left, *srcLen);
            src->consume(k);
            *srcLen -= k;
            fromSrc += k;
            left -= k;
        }
        if (body && *bodyLen && left) {
            const size_t k = std::min(left, *bodyLen);
            *body += k;
            *bodyLen -= k;
        }
        return fromSrc;
    }

    // flush() over TLS: one SSL_write (one record, one system call) at a time. A piece that
    // fills a record is written from where it is; smaller ones are gathered first. A write
    // that must be retried (WANT_WRITE) is retried with the same bytes at the front: the pieces
    // only grow at their end until a write succeeds (see flush()).
    size_t flushTls(Conn *dst, Buffer *src, size_t *srcLen, const char **body, size_t *bodyLen)
    {
        size_t fromSrc = 0;
        while (dst->writable && !dst->failed) {
            const std::string_view pieces[3] = {
                    {dst->out.data(), dst->out.size()},
                    {src ? src->data() : nullptr, src ? *srcLen : 0},
                    {body ? *body : nullptr, body ? *bodyLen : 0},
            };
            size_t first = 0;
            while (first < 3 && pieces[first].empty())
                ++first;
            if (first == 3)
                break;
            const char *data = pieces[first].data();
            size_t length = pieces[first].size();
            if (length < kTlsRecord && first < 2) {
                tlsGather.clear();
                for (size_t i = first; i < 3 && tlsGather.size() < kTlsRecord; ++i)
                    tlsGather.append(pieces[i].substr(0,
                                                      std::min(pieces[i].size(),
                                                               kTlsRecord - tlsGather.size())));
                data = tlsGather.data();
                length = tlsGather.size();
            }
            ERR_clear_error();
            const int n = SSL_write(dst->ssl, data, int(std::min<size_t>(length, INT_MAX)));
            if (n <= 0) {
                switch (SSL_get_error(dst->ssl, n)) {
                case SSL_ERROR_WANT_WRITE:
                    dst->writable = false;
                    break;
                case SSL_ERROR_WANT_READ:
                    dst->writeWantsRead = true;
                    dst->writable = false;
                    break;
                default:
                    dst->failed = true;
                    break;
                }
                break;
            }
            fromSrc += consumeWritten(dst, src, srcLen, body, bodyLen, size_t(n));
        }
        return fromSrc;
    }

    // Writes `dst->out`, then `n` bytes at `src` (a peer's receive buffer), then a local body.
    // Returns bytes of the peer buffer written; sets dst->failed on a hard error. Between two
    // calls the pieces only grow at their end until something was written (TLS relies on it).
    size_t flush(Conn *dst,
                 Buffer *src,
                 size_t *srcLen,
                 const char **body = nullptr,
                 size_t *bodyLen = nullptr)
    {
        if (dst->ssl)
            return flushTls(dst, src, srcLen, body, bodyLen);
        size_t fromSrc = 0;
        while (dst->writable && !dst->failed) {
            iovec iov[3];
            int cnt = 0;
            if (!dst->out.empty())
                iov[cnt++] = {dst->out.data(), dst->out.size()};
            if (src && *srcLen)
                iov[cnt++] = {src->data(), *srcLen};
            if (body && *bodyLen)
                iov[cnt++] = {const_cast<char *>(*body), *bodyLen};
            if (cnt == 0)
                break;
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = size_t(cnt);
            const ssize_t n = ::sendmsg(dst->fd, &msg, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    dst->writable = false;
                else
                    dst->failed = true;
                break;
            }
            fromSrc += consumeWritten(dst, src, srcLen, body, bodyLen, size_t(n));
        }
        return fromSrc;
    }

    // --- setup ---
    bool open(quint16 port, quint16 tlsPort, QString *error)
    {
        epfd = epoll_create1(EPOLL_CLOEXEC);
        wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (epfd < 0 || wake.fd < 0) {
            *error = QStringLiteral("cannot create sockets: %1")
                             .arg(QString::fromLocal8Bit(strerror(errno)));
            return false;
        }
        if (!openListener(listener, cfg.listenHost, port, &boundPort, error))
            return false;
        if (shared->tls
            && !openListener(tlsListener,
                             cfg.tlsListenHost.isEmpty() ? cfg.listenHost : cfg.tlsListenHost,
                             tlsPort,
                             &boundTlsPort,
                             error))
            return false;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &wake;
        epoll_ctl(epfd, EPOLL_CTL_ADD, wake.fd, &ev);
        fetches.setWakeFd(worker, wake.fd);
        return true;
    }

    // A non-blocking SO_REUSEPORT listener on host:port, in the epoll set.
    bool openListener(Conn &l, const QString &hostText, quint16 port, quint16 *bound, QString *error)
    {
        const bool v6 = hostText.contains(u':');
        l.fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l.fd < 0) {
            *error = QStringLiteral("cannot create sockets: %1")
                             .arg(QString::fromLocal8Bit(strerror(errno)));
            return false;
        }
        const int one = 1;
        setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(l.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        sockaddr_storage ss{};
        socklen_t len = 0;
        const QByteArray host = hostText.toLatin1();
        if (v6) {
            auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(port);
            inet_pton(AF_INET6, host.constData(), &a->sin6_addr);
            len = sizeof *a;
        } else {
            auto *a = reinterpret_cast<sockaddr_in *>(&ss);
            a->sin_family = AF_INET;
            a->sin_port = htons(port);
            inet_pton(AF_INET, host.constData(), &a->sin_addr);
            len = sizeof *a;
        }
        if (::bind(l.fd, reinterpret_cast<sockaddr *>(&ss), len) != 0 || ::listen(l.fd, 4096) != 0) {
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                             .arg(hostText)
                             .arg(port)
                             .arg(QString::fromLocal8Bit(strerror(errno)));
            return false;
        }
        getsockname(l.fd, reinterpret_cast<sockaddr *>(&ss), &len);
        *bound = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port
                          : reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &l;
        epoll_ctl(epfd, EPOLL_CTL_ADD, l.fd, &ev);
        return true;
    }

    void acceptAll(Conn &from)
    {
        const bool https = &from == &tlsListener;
        for (;;) {
            sockaddr_storage ss;
            socklen_t len = sizeof ss;
            const int fd = accept4(from.fd,
                                   reinterpret_cast<sockaddr *>(&ss),
                                   &len,
                                   SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                    pauseAccepting(errno);
                return; // EAGAIN: nothing more to accept
            }
            if (clients >= cfg.maxClientConnections || stopping) {
                ::close(fd);
                continue;
            }
            const int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto *c = new Client;
            c->fd = fd;
            if (ss.ss_family == AF_INET6) {
                const auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
                if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
                    inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], c->ip, sizeof c->ip);
                else
                    inet_ntop(AF_INET6, &a->sin6_addr, c->ip, sizeof c->ip);
            } else {
                inet_ntop(AF_INET,
                          &reinterpret_cast<sockaddr_in *>(&ss)->sin_addr,
                          c->ip,
                          sizeof c->ip);
            }
            c->ipLength = uint8_t(strlen(c->ip));
            c->deadline = now + cfg.clientIdleTimeoutMs;
            c->writable = true;
            if (https) {
                c->tlsSocket.fd = fd;
                c->ssl = shared->tls->newSession(&c->tlsSocket);
                if (!c->ssl) {
                    ::close(fd);
                    delete c;
                    continue;
                }
                c->deadline = now + cfg.clientHeaderTimeoutMs; // the handshake, as a head
            }
            if (!watch(c)) {
                ::close(fd);
                delete c;
                continue;
            }
            link(c);
            ++clients;
        }
    }

    // --- upstream pool ---
    Upstream *acquire(int endpoint, bool fresh)
    {
        if (size_t(endpoint) >= pools.size())
            pools.resize(size_t(router.endpointCount()));
        auto &pool = pools[size_t(endpoint)];
        while (!fresh && !pool.empty()) {
            Upstream *u = pool.back();
            pool.pop_back();
            if (u->fd < 0 || u->eof || u->failed) {
                destroy(u);
                continue;
            }
            u->state = Upstream::State::Busy;
            u->reused = true;
            return u;
        }
        const EdgeEndpoint &ep = router.endpoint(endpoint);
        auto *u = new Upstream;
        u->endpoint = endpoint;
        u->fd = ::socket(ep.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (u->fd < 0) {
            delete u;
            return nullptr;
        }
        const int one = 1;
        setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const int rc = ::connect(u->fd,
                                 reinterpret_cast<const sockaddr *>(&ep.address),
                                 ep.addressLength);
        const int connectError = rc == 0 ? 0 : errno; // before any other call can change it
        if (ep.tls) {
            u->tlsSocket.fd = u->fd;
            u->ssl = shared->upstreamTls->newClientSession(&u->tlsSocket, ep.serverName);
        }
        if ((rc != 0 && connectError != EINPROGRESS) || (ep.tls && !u->ssl)) {
            ::close(u->fd);
            delete u;
            return nullptr;
        }
        u->state = rc != 0  ? Upstream::State::Connecting
                   : u->ssl ? Upstream::State::Handshaking
                            : Upstream::State::Busy;
        u->writable = rc == 0;
        if (!watch(u)) {
            ::close(u->fd);
            delete u;
            return nullptr;
        }
        link(u);
        return u;
    }

    void releaseUpstream(Upstream *u, bool reusable)
    {
        u->client = nullptr;
        u->revalidation = nullptr;
        auto &pool = pools[size_t(u->endpoint)];
        if (!reusable || stopping || int(pool.size()) >= cfg.upstreamPoolSize || u->eof || u->failed
            || !u->in.empty()) {
            destroy(u);
            return;
        }
        u->state = Upstream::State::Idle;
        u->headParsed = false;
        u->headScan = 0;
        u->fwd = 0;
        u->out.clear();
        u->deadline = now + cfg.upstreamIdleTimeoutMs;
        pool.push_back(u);
    }

    void dropFromPool(Upstream *u)
    {
        auto &pool = pools[size_t(u->endpoint)];
        for (size_t i = 0; i < pool.size(); ++i) {
            if (pool[i] == u) {
                pool[i] = pool.back();
                pool.pop_back();
                break;
            }
        }
        destroy(u);
    }

    // --- local responses ---
    // An answer of the edge's own; `location` becomes a Location field (redirects).
    void localResponse(Client *c,
                       int status,
                       std::string_view message,
                       bool close,
                       std::string_view location = {})
    {
        if (!c->logOpen) { // refused before a request started (head too large)
            c->startUs = monotonicUs();
            openLogLine(c);
        }
        endFetch(c);
        c->status = status;
        c->keepAlive = c->keepAlive && !close;
        c->out.clear();
        c->out.append("HTTP/1.1 "sv);
        c->out.appendNumber(uint64_t(status));
        c->out.append(" "sv);
        c->out.append(reasonOf(status));
        c->out.append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "sv);
        c->out.appendNumber(message.size() + 1);
        if (status == 503)
            c->out.append("\r\nRetry-After: 1"sv); // no region now: drains and outages pass
        if (!location.empty()) {
            c->out.append("\r\nLocation: "sv);
            c->out.append(location);
        }
        c->out.append(c->keepAlive ? "\r\n\r\n"sv : "\r\nConnection: close\r\n\r\n"sv);
        if (!c->headMethod) {
            c->out.append(message);
            c->out.append("\n"sv);
        }
        c->state = Client::State::Local;
        c->deadline = now + cfg.clientBodyTimeoutMs;
    }

    // `label` is the X-Cache value: HIT, UPDATING for a stale copy answering while the edge
    // refreshes it, or STALE for an answer no region could give.
    void serveCached(Client *c,
                     const std::shared_ptr<const EdgeCachedResponse> &e,
                     bool notModified,
                     std::string_view label = "HIT"sv)
    {
        endFetch(c);
        c->status = notModified ? 304 : e->status;
        c->out.clear();
        c->out.append("HTTP/1.1 "sv);
        c->out.appendNumber(uint64_t(c->status));
        c->out.append(" "sv);
        c->out.append(notModified ? "Not Modified"sv : std::string_view(e->reason));
        c->out.append("\r\n"sv);
        c->out.append(e->headers);
        c->out.append("Age: "sv);
        c->out.appendNumber(uint64_t(std::max<int64_t>(0, now - e->storedMs) / 1000));
        c->out.append("\r\nX-Cache: "sv);
        c->out.append(label);
        c->out.append("\r\n"sv);
        if (c->ssl && !e->strictTransportSecurity) // a region's own policy wins
            c->out.append(hsts);
        c->logCache = label;
        if (!notModified) {
            c->out.append("Content-Length: "sv);
            c->out.appendNumber(e->body.size());
            c->out.append("\r\n"sv);
        }
        c->out.append(c->keepAlive ? "\r\n"sv : "Connection: close\r\n\r\n"sv);
        c->cached = e;
        if (!notModified && !c->headMethod) {
            c->localBody = e->body.data();
            c->localBodySize = e->body.size();
        }
        c->state = Client::State::Local;
        c->deadline = now + cfg.clientBodyTimeoutMs;
    }

    // --- access log ---
    void openLogLine(Client *c)
    {
        if (!accessLog)
            return;
        c->logOpen = true;
        c->logSentBefore = c->sent;
        c->logTries = 0;
        c->logMethodLength = 0;
        c->logRequest.clear();
        c->logCache = {};
    }

    // The line of the request that ended: answered, or abandoned (status 499).
    void logLine(Client *c, int status)
    {
        if (!c->logOpen)
            return;
        c->logOpen = false;
        AccessLog::Buffer::Entry e;
        e.client = std::string_view(c->ip, c->ipLength);
        const std::string_view request = c->logRequest;
        e.method = request.substr(0, c->logMethodLength);
        e.target = request.substr(c->logMethodLength);
        e.status = status;
        e.bytes = c->sent - c->logSentBefore;
        e.durationUs = monotonicUs() - c->startUs;
        if (c->logTries > 0) // the pick of the last attempt is still there
            e.region = router.endpoint(c->pick.endpoint).regionId;
        e.attempts = c->logTries;
        e.cache = c->logCache;
        logBuffer.append(e, now);
        if (logBuffer.due(now))
            logBuffer.writeTo(*accessLog);
    }

    // --- client side ---
    void closeClient(Client *c)
    {
        if (c->fd < 0)
            return;
        if (c->state == Client::State::Proxy)
            endExchange(c, false, true);
        endFetch(c);
        if (c->state == Client::State::Waiting) {
            // Not to be resumed: it is deleted at the end of this round of events.
            fetches.forget(c->cacheKey, worker, c);
            std::erase(resumable, c);
        }
        logLine(c, 499); // a request still open: the client did not get (all of) its answer
        if (!c->eof && !c->failed)
            sayCloseNotify(c);
        --clients;
        destroy(c);
    }

    // TLS: tells the client the connection ends here (close_notify), so that it can tell an
    // ending from a truncation. Best effort: a full socket drops it, as nginx does.
    void sayCloseNotify(Client *c)
    {
        if (!c->ssl || !c->handshaken || SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN)
            return;
        ERR_clear_error();
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }

    // One step of a TLS handshake on either side: done, waiting for the socket (its flag
    // cleared), or failed with OpenSSL's error code in *error.
    enum class Handshake { Done, Waiting, Failed };
    static Handshake stepHandshake(Conn *c, int *error)
    {
        ERR_clear_error();
        const int r = SSL_do_handshake(c->ssl);
        if (r == 1)
            return Handshake::Done;
        *error = SSL_get_error(c->ssl, r);
        if (*error == SSL_ERROR_WANT_READ) {
            c->readable = false;
            return Handshake::Waiting;
        }
        if (*error == SSL_ERROR_WANT_WRITE) {
            c->writable = false;
            return Handshake::Waiting;
        }
        return Handshake::Failed;
    }

    // Drives a client's TLS handshake on the HTTPS port; true once it is done. Plain HTTP sent
    // to this port gets a 400 saying so (as nginx), not a silent close.
    bool handshake(Client *c)
    {
        if (!c->readable && !c->writable)
            return false;
        unsigned char first = 0;
        if (SSL_in_before(c->ssl)) {
            const ssize_t n = ::recv(c->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c->readable = false;
                return false;
            }
            if (n <= 0) {
                closeClient(c);
                return false;
            }
            if (first >= 'A' && first <= 'Z') { // a method name: the start of an HTTP request
                ++tlsPlainHttp;
                SSL_free(c->ssl);
                c->ssl = nullptr;
                c->keepAlive = false;
                localResponse(c, 400, "this port speaks HTTPS: use an https:// address"sv, true);
                driveClient(c);
                return false;
            }
        }
        int error = 0;
        switch (stepHandshake(c, &error)) {
        case Handshake::Done:
            c->handshaken = true;
            c->deadline = now + cfg.clientIdleTimeoutMs;
            ++(SSL_session_reused(c->ssl) ? tlsResumed : tlsFullHandshakes);
            return true;
        case Handshake::Waiting:
            return false;
        case Handshake::Failed:
            break;
        }
        switch (error) {
        case SSL_ERROR_ZERO_RETURN: // the client went away before finishing; not worth a line
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) {
                ++tlsFailures;
                c->failed = true;
                closeClient(c);
                return false;
            }
            [[fallthrough]];
        default: {
            ++tlsFailures;
            const QString why = EdgeTlsContext::lastError();
            if (lastTlsWarning < 0 || now - lastTlsWarning >= 60'000) {
                lastTlsWarning = now; // once a minute: a scanner must not flood the log
                qCInfo(lcEdgeProxy).noquote()
                        << "edge worker" << worker << ": TLS handshake with"
                        << QString::fromLatin1(c->ip, c->ipLength) << "failed:" << why
                        << "(more failures this minute are counted, not logged)";
            }
            c->failed = true;
            closeClient(c);
            return false;
        }
        }
    }

    // Closes a client after its last answer went out. If the client may still be sending
    // (an upload answered early, a refused request), closing now would send a reset that can
    // destroy the answer before the client reads it; shut down our side and drain instead.
    void closeAfterAnswer(Client *c)
    {
        if (c->fd < 0)
            return;
        if (c->state == Client::State::Proxy)
            endExchange(c, false, true);
        char probe;
        const bool unread = !c->in.empty() || (c->hasBody && !c->reqFramer.done())
                            || (c->ssl && SSL_has_pending(c->ssl))
                            || ::recv(c->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
        if (!unread || c->eof || c->failed) {
            closeClient(c);
            return;
        }
        sayCloseNotify(c);
        if (::shutdown(c->fd, SHUT_WR) != 0) {
            closeClient(c);
            return;
        }
        c->state = Client::State::Lingering;
        c->in.clear();
        c->readable = true;
        c->deadline = now + kLingerMs;
        driveClient(c);
    }

    void onClient(Client *c, uint32_t events)
    {
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            c->readable = true;
            if (c->writeWantsRead) {
                c->writeWantsRead = false;
                c->writable = true;
            }
        }
        if (events & EPOLLOUT) {
            c->writable = true;
            if (c->readWantsWrite) {
                c->readWantsWrite = false;
                c->readable = true;
            }
        }
        if (events & EPOLLERR)
            c->failed = true;
        driveClient(c);
    }

    void driveClient(Client *c)
    {
        if (c->ssl && !c->handshaken && !handshake(c))
            return;
        for (int guard = 0; guard < 64 && c->fd >= 0; ++guard) {
            switch (c->state) {
            case Client::State::ReadHead:
                if (!readHead(c))
                    return;
                break; // a request started: go round
            case Client::State::Proxy: {
                if (clientLeft(c)) {
                    closeClient(c); // 499 in the access log; the region's connection is closed
                    return;
                }
                const unsigned attempt = c->attemptSeq;
                driveExchange(c);
                if (c->fd < 0 || (c->state == Client::State::Proxy && c->attemptSeq == attempt))
                    return; // waiting on I/O
                break;      // the exchange ended or moved to another attempt: go round
            }
            case Client::State::Local: {
                flush(c, nullptr, nullptr, &c->localBody, &c->localBodySize);
                if (c->failed) {
                    closeClient(c);
                    return;
                }
                if (!c->out.empty() || c->localBodySize)
                    return;
                finishLocal(c);
                if (c->fd < 0 || c->state != Client::State::ReadHead)
                    return;
                break;
            }
            case Client::State::Waiting:
                // A client that hangs up meanwhile is let go. A TLS client's goodbye is a
                // close_notify record a peek would take for data: read instead (what follows
                // the head waits in `in`, as a pipelined request does).
                if (c->readable && !c->eof && !c->failed && c->ssl) {
                    readSome(c, size_t(cfg.maxHeaderBytes) + 1);
                } else if (c->readable && !c->eof && !c->failed) {
                    char probe;
                    const ssize_t n = ::recv(c->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
                    if (n == 0)
                        c->eof = true;
                    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        c->readable = false;
                }
                if (c->eof || c->failed)
                    closeClient(c);
                return;
            case Client::State::Lingering:
                for (;;) {
                    c->in.clear();
                    if (readSome(c, kInitialBuffer) == 0)
                        break;
                }
                if (c->eof || c->failed)
                    closeClient(c);
                return;
            }
        }
    }

    // Whether a client closed its connection while the region has not answered yet: then the
    // exchange stops instead of waiting for an answer nobody will read (nginx: 499). Only an
    // event (data or a hang-up) makes `readable` true while a client waits, so waiting clients
    // cost no system call here. A client with a pipelined request buffered is still there.
    bool clientLeft(Client *c)
    {
        if (c->respHeadSent || !c->reqFramer.done() || !c->in.empty())
            return false;
        if (c->eof)
            return true;
        if (!c->readable)
            return false;
        if (c->ssl) {
            // A TLS client's goodbye is a close_notify record before its FIN, which a peek
            // would take for data: read instead. A pipelined request read here waits in `in`.
            readSome(c, size_t(cfg.maxHeaderBytes) + 1);
            return (c->eof || c->failed) && c->in.empty();
        }
        char probe;
        const ssize_t n = ::recv(c->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            return true;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            c->readable = false;
        return false;
    }

    // Reads and parses a request head; true when a request was started.
    bool readHead(Client *c)
    {
        const size_t limit = size_t(cfg.maxHeaderBytes) + 1;
        for (;;) {
            if (c->in.size() > 0) {
                const size_t end = HttpWire::findHeadEnd(c->in.data(), c->in.size(), c->headScan);
                if (end) {
                    if (end > size_t(cfg.maxHeaderBytes)) {
                        localResponse(c, 431, "request head too large"sv, true);
                        return true;
                    }
                    startRequest(c, end);
                    return true;
                }
                c->headScan = c->in.size();
                if (c->in.size() > size_t(cfg.maxHeaderBytes)) {
                    localResponse(c, 431, "request head too large"sv, true);
                    return true;
                }
            }
            const size_t before = c->in.size();
            readSome(c, limit);
            if (c->in.size() == before) {
                if (c->eof || c->failed) {
                    closeClient(c);
                    return false;
                }
                if (c->in.size() > 0 && before == 0)
                    c->deadline = now + cfg.clientHeaderTimeoutMs;
                return false;
            }
            if (before == 0)
                c->deadline = now + cfg.clientHeaderTimeoutMs;
        }
    }

    void startRequest(Client *c, size_t headEnd)
    {
        HttpWire::RequestHead head;
        HttpWire::Error error;
        const bool waited = c->waited; // resumed after waiting for another's fetch
        c->waited = false;
        endFetch(c); // (a fetch ends with its exchange; this is only a guard)
        c->headScan = 0;
        c->status = 0;
        c->respHeadSent = false;
        c->staleRetried = false;
        c->attempts = 0;
        c->excluded = 0;
        c->cacheable = false;
        c->revalidating = false;
        c->cached.reset();
        c->staleFallback.reset();
        c->storing.reset();
        c->localBody = nullptr;
        c->localBodySize = 0;
        c->headMethod = false;
        c->keepAlive = true;
        if (!waited)
            c->startUs = monotonicUs();
        openLogLine(c);
        if (HttpWire::parseRequest(c->in.data(), headEnd, head, error)
            != HttpWire::Status::Complete) {
            switch (error) {
            case HttpWire::Error::HeadersTooLarge:
                localResponse(c, 431, "too many header fields"sv, true);
                break;
            case HttpWire::Error::VersionNotSupported:
                localResponse(c, 505, "only HTTP/1.0 and HTTP/1.1 are supported"sv, true);
                break;
            default:
                localResponse(c, 400, "malformed request"sv, true);
                break;
            }
            return;
        }
        c->http10 = head.minorVersion == 0;
        c->headMethod = head.method == "HEAD"sv;
        if (accessLog) {
            c->logRequest.assign(head.method);
            c->logMethodLength = head.method.size();
            c->logRequest.append(head.target);
        }
        // Framing and connection semantics (RFC 9112 sections 6, 9).
        int hosts = 0;
        bool haveLength = false;
        bool chunked = false;
        bool badTe = false;
        uint64_t length = 0;
        std::string_view connection;
        for (int i = 0; i < head.headerCount; ++i) {
            const auto &h = head.headers[i];
            if (HttpWire::equalsIgnoreCase(h.name, "host"sv)) {
                ++hosts;
            } else if (HttpWire::equalsIgnoreCase(h.name, "content-length"sv)) {
                uint64_t v = 0;
                if (!HttpWire::parseContentLength(h.value, v) || (haveLength && v != length)) {
                    localResponse(c, 400, "invalid Content-Length"sv, true);
                    return;
                }
                haveLength = true;
                length = v;
            } else if (HttpWire::equalsIgnoreCase(h.name, "transfer-encoding"sv)) {
                if (chunked || !HttpWire::equalsIgnoreCase(h.value, "chunked"sv))
                    badTe = true;
                chunked = true;
            } else if (HttpWire::equalsIgnoreCase(h.name, "connection"sv)) {
                connection = h.value;
            }
        }
        if ((!c->http10 && hosts != 1) || hosts > 1) {
            localResponse(c, 400, "exactly one Host header is required"sv, true);
            return;
        }
        if (chunked && (haveLength || c->http10)) {
            localResponse(c, 400, "Transfer-Encoding with Content-Length or HTTP/1.0"sv, true);
            return;
        }
        if (badTe) {
            localResponse(c, 501, "only Transfer-Encoding: chunked is supported"sv, true);
            return;
        }
        if (head.method == "CONNECT"sv) {
            localResponse(c, 501, "CONNECT is not supported"sv, true);
            return;
        }
        if (haveLength && length > uint64_t(cfg.maxBodyBytes)) {
            localResponse(c, 413, "request body too large"sv, true);
            return;
        }
        if (c->http10)
            c->keepAlive = false; // forwarded as HTTP/1.0 with close; see docs/architecture.md
        else
            c->keepAlive = !HttpWire::listContains(connection, "close"sv);
        if (stopping)
            c->keepAlive = false;
        c->idempotent = isIdempotent(head.method);
        c->hasBody = chunked || length > 0;
        if (cfg.tlsRedirectHttp && !c->ssl && shared->tls) {
            redirectToHttps(c, head);
            c->in.consume(headEnd);
            return;
        }

        // The edge cache answers fresh GET/HEAD hits without a region.
        if (cache && !c->hasBody && (head.method == "GET"sv || c->headMethod)) {
            bool mustRevalidate = false;
            if (EdgeCache::cacheableRequest(head, mustRevalidate)) {
                EdgeCache::keyOf(head, c->cacheKey);
                c->cacheable = true;
                c->purgeGeneration = cache->purgeGeneration();
                const EdgeCache::Hit hit = cache->lookup(c->cacheKey, head, now);
                // Stale while revalidate: the stale copy answers now, a fetch of the edge's own
                // refreshes it (one at a time, across workers).
                const bool updating = hit.freshness == EdgeCache::Freshness::Stale
                                      && now < hit.response->staleWhileRevalidateUntilMs;
                if ((hit.freshness == EdgeCache::Freshness::Fresh || updating) && !mustRevalidate) {
                    if (updating) {
                        cache->countUpdating(c->cacheKey);
                        if (!stopping
                            && EdgeCache::claimRevalidation(*hit.response,
                                                            now,
                                                            cfg.upstreamConnectTimeoutMs
                                                                    + cfg.upstreamResponseTimeoutMs))
                            startRevalidation(c, head, hit.response);
                    }
                    std::string_view inm;
                    for (int i = 0; i < head.headerCount; ++i) {
                        if (HttpWire::equalsIgnoreCase(head.headers[i].name, "if-none-match"sv))
                            inm = head.headers[i].value;
                    }
                    const bool match = !inm.empty() && !hit.response->etag.empty()
                                       && (inm == "*"sv
                                           || HttpWire::listContains(inm, hit.response->etag));
                    c->in.consume(headEnd);
                    serveCached(c, hit.response, match, updating ? "UPDATING"sv : "HIT"sv);
                    return;
                }
                if (hit.response && now < hit.response->staleIfErrorUntilMs)
                    c->staleFallback = hit.response;
                if (hit.response && !hit.response->etag.empty())
                    c->cached = hit.response; // revalidate with If-None-Match
                if (!hit.response && !waited && cfg.cacheLockTimeoutMs > 0 && head.method == "GET"sv
                    && !knownNotStored(c->cacheKey)) {
                    // Not stored: one request fetches it, the others (of every worker) wait.
                    if (fetches.join(c->cacheKey, worker, c)) {
                        c->state = Client::State::Waiting;
                        c->deadline = now + cfg.cacheLockTimeoutMs;
                        return;
                    }
                    c->leadsFetch = true;
                }
                if (!hit.response)
                    cache->countMiss(c->cacheKey);
            }
        }

        // The head sent upstream.
        Buffer &o = c->reqHead;
        o.clear();
        o.append(head.method);
        o.append(" "sv);
        o.append(head.target);
        o.append(c->http10 ? " HTTP/1.0\r\n"sv : " HTTP/1.1\r\n"sv);
        const bool clientConditional = appendForwardedFields(o, head, connection, c);
        if (c->cached && !clientConditional) {
            c->revalidating = true;
            o.append("If-None-Match: "sv);
            o.append(c->cached->etag);
            o.append("\r\n"sv);
        } else {
            c->cached.reset();
        }
        if (c->http10)
            o.append("Connection: close\r\n"sv);
        o.append("\r\n"sv);

        // Pick now, while the head's views are valid: the strategy may need a header.
        EdgePick pick;
        const bool picked = router.pick(head, std::string_view(c->ip, c->ipLength), 0, pick);
        c->in.consume(headEnd);
        c->reqFramer.reset(chunked ? HttpWire::BodyFramer::Kind::Chunked
                                   : (length ? HttpWire::BodyFramer::Kind::Length
                                             : HttpWire::BodyFramer::Kind::None),
                           length);
        c->reqFwd = c->reqFramer.feed(c->in.data(), c->in.size());
        if (c->reqFramer.failed()) {
            localResponse(c, 400, "malformed chunked body"sv, true);
            return;
        }
        if (!picked) {
            if (c->hasBody)
                c->keepAlive = false;
            if (serveStale(c))
                return;
            localResponse(c, 503, "no region is available"sv, false);
            return;
        }
        c->state = Client::State::Proxy;
        ++active;
        c->deadline = 0;
        c->pick = std::move(pick);
        dispatch(c, false);
    }

    // A request's end-to-end fields as a region gets them: hop-by-hop fields dropped (with
    // those named by Connection), X-Forwarded-For appended, X-Forwarded-Proto set. Returns
    // whether the client sent a validator (If-None-Match, If-Modified-Since).
    bool appendForwardedFields(Buffer &o,
                               const HttpWire::RequestHead &head,
                               std::string_view connection,
                               const Client *c)
    {
        std::string_view xff;
        bool clientConditional = false;
        for (int i = 0; i < head.headerCount; ++i) {
            const auto &h = head.headers[i];
            if (isHopByHop(h.name))
                continue;
            if (!connection.empty() && HttpWire::listContains(connection, h.name))
                continue;
            if (HttpWire::equalsIgnoreCase(h.name, "x-forwarded-for"sv)) {
                xff = h.value;
                continue;
            }
            if (HttpWire::equalsIgnoreCase(h.name, "x-forwarded-proto"sv))
                continue;
            if (h.name.size() > 3 && HttpWire::equalsIgnoreCase(h.name.substr(0, 3), "if-"sv)) {
                const bool validator = HttpWire::equalsIgnoreCase(h.name, "if-none-match"sv)
                                       || HttpWire::equalsIgnoreCase(h.name, "if-modified-since"sv);
                clientConditional = clientConditional || validator;
            }
            appendField(o, h);
        }
        appendForwardedFor(o, xff, c);
        return clientConditional;
    }

    // A background revalidation is the edge's own request, synthesised from the stored
    // response (RFC 9111 4.3.1): Host and the fields that response varies on, never the cookies
    // or other fields of the client whose request set it off, which a shared answer must not
    // depend on.
    void appendRevalidationFields(Buffer &o,
                                  const HttpWire::RequestHead &head,
                                  const EdgeCachedResponse &entry,
                                  const Client *c)
    {
        std::string_view xff;
        for (int i = 0; i < head.headerCount; ++i) {
            const auto &h = head.headers[i];
            if (HttpWire::equalsIgnoreCase(h.name, "x-forwarded-for"sv)) {
                xff = h.value;
                continue;
            }
            const bool varied
                    = std::any_of(entry.vary.begin(), entry.vary.end(), [&](const auto &v) {
                          return HttpWire::equalsIgnoreCase(v.first, h.name);
                      });
            if (!varied && !HttpWire::equalsIgnoreCase(h.name, "host"sv))
                continue;
            if (isHopByHop(h.name))
                continue;
            appendField(o, h);
        }
        appendForwardedFor(o, xff, c);
    }

    // X-Forwarded-For (the client's chain plus its address) and X-Forwarded-Proto.
    static void appendForwardedFor(Buffer &o, std::string_view xff, const Client *c)
    {
        o.append("X-Forwarded-For: "sv);
        if (!xff.empty()) {
            o.append(xff);
            o.append(", "sv);
        }
        o.append(std::string_view(c->ip, c->ipLength));
        o.append(c->ssl ? "\r\nX-Forwarded-Proto: https\r\n"sv
                        : "\r\nX-Forwarded-Proto: http\r\n"sv);
    }

    // edge.tls.redirect_http: a request on the plain port is sent to the same host and target
    // on the HTTPS port with 308 (method and body kept by the client, RFC 9110 15.4.9). A body
    // sent here is not read: the connection closes after the answer.
    void redirectToHttps(Client *c, const HttpWire::RequestHead &head)
    {
        std::string_view host;
        for (int i = 0; i < head.headerCount; ++i) {
            if (HttpWire::equalsIgnoreCase(head.headers[i].name, "host"sv))
                host = head.headers[i].value;
        }
        // The name without its port ("[::1]:8080" -> "[::1]").
        const size_t bracket = host.rfind(']');
        const size_t colon = host.rfind(':');
        if (colon != std::string_view::npos
            && (bracket == std::string_view::npos || colon > bracket))
            host = host.substr(0, colon);
        if (host.empty()) {
            localResponse(c, 400, "a Host header is needed to redirect to HTTPS"sv, true);
            return;
        }
        std::string location = "https://";
        location.append(host);
        if (boundTlsPort != 443) {
            location.push_back(':');
            location.append(std::to_string(boundTlsPort));
        }
        location.append(head.target.starts_with('/') ? head.target : "/"sv);
        localResponse(c, 308, "this site is served over HTTPS"sv, c->hasBody, location);
    }

    // Starts one attempt of the current request against `c->pick`.
    void dispatch(Client *c, bool fresh)
    {
        c->attemptUs = monotonicUs();
        traffic.begin(worker, c->pick.region);
        c->counted = true;
        if (accessLog)
            ++c->logTries;
        Upstream *u = acquire(c->pick.endpoint, fresh);
        if (!u) {
            attemptFailed(c, nullptr, Failure::Connect);
            return;
        }
        c->up = u;
        u->client = c;
        sendHead(u, c->reqHead);
        ++c->attemptSeq;
    }

    // Puts a request head on a connection just acquired for it (written once it is connected),
    // with the deadline of the connect or of the answer.
    void sendHead(Upstream *u, const Buffer &head)
    {
        u->headParsed = false;
        u->headScan = 0;
        u->fwd = 0;
        u->wroteAny = false;
        u->out.clear();
        u->out.append(std::string_view(head.data(), head.size()));
        const bool connecting = u->state == Upstream::State::Connecting
                                || u->state == Upstream::State::Handshaking;
        u->deadline = now
                      + (connecting ? cfg.upstreamConnectTimeoutMs : cfg.upstreamResponseTimeoutMs);
    }

    // The request head as sent upstream, parsed again: for a retry's pick and the cache's Vary
    // after the client's receive buffer moved on.
    void reparse(Client *c, HttpWire::RequestHead &head) { reparse(c->reqHead, head); }
    static void reparse(const Buffer &sent, HttpWire::RequestHead &head)
    {
        HttpWire::Error error;
        if (HttpWire::parseRequest(sent.data(), sent.size(), head, error)
            != HttpWire::Status::Complete)
            head.headerCount = 0;
    }

    enum class Failure { Connect, NoResponse, BadResponse, Timeout, Truncated, Retryable5xx };

    // Whether the current request may be retried elsewhere. `budgeted` retries (after a 502/503
    // or a malformed answer: the region did work and may be overloaded) also need room in the
    // retry budget; retries after a connect failure or a connection lost before any response
    // byte (a region that died or closed) are bounded by max_retries alone, so that a region
    // killed under load costs no request however many were in flight there.
    bool retryAllowed(Client *c, bool wroteAny, bool budgeted = true)
    {
        const bool nothingSent = !wroteAny;
        if (!(nothingSent || (c->idempotent && !c->hasBody)) || c->respHeadSent)
            return false;
        if (c->attempts >= cfg.maxRetries)
            return false;
        if (!budgeted)
            return true;
        const int budget = std::max(cfg.minRetryConcurrency, active * cfg.retryBudgetPercent / 100);
        return retriesInFlight < budget;
    }

    // An attempt failed before the client saw a response byte (or after: then the client is cut).
    void attemptFailed(Client *c, Upstream *u, Failure f)
    {
        const uint64_t latency = monotonicUs() - c->attemptUs;
        const bool wroteAny = u && u->wroteAny;
        const bool reused = u && u->reused;
        if (u) {
            u->client = nullptr;
            c->up = nullptr;
            if (u->state == Upstream::State::Idle)
                dropFromPool(u);
            else
                destroy(u);
        }
        if (c->respHeadSent) {
            // Too late for anything but cutting the client off: it sees a truncated body.
            endExchange(c, false, false);
            closeClient(c);
            return;
        }
        // A pooled connection the region closed while idle: retry once on a fresh connection
        // to the same endpoint; this is not the region's fault.
        const bool stale = reused && f == Failure::NoResponse && (c->idempotent || !wroteAny)
                           && !c->hasBody && !c->staleRetried;
        if (stale) {
            c->staleRetried = true;
            traffic.finish(worker, c->pick.region, 0, latency);
            c->counted = false;
            // The same pick goes on: it keeps its in-flight slot.
            dispatch(c, true);
            return;
        }
        const bool regionFault = f != Failure::Truncated;
        traffic.failure(worker, c->pick.region);
        traffic.finish(worker, c->pick.region, f == Failure::Retryable5xx ? c->status : 0, latency);
        c->counted = false;
        router.release(c->pick, !regionFault, latency);
        const bool budgeted = f != Failure::Connect && f != Failure::NoResponse;
        if (f != Failure::Timeout && f != Failure::Truncated
            && retryAllowed(c, wroteAny, budgeted)) {
            EdgePick next;
            c->excluded |= uint64_t(1) << (c->pick.region & 63);
            HttpWire::RequestHead head;
            reparse(c, head);
            if (router.pick(head, std::string_view(c->ip, c->ipLength), c->excluded, next)) {
                traffic.retried(worker, c->pick.region);
                if (c->attempts == 0)
                    ++retriesInFlight;
                ++c->attempts;
                c->pick = std::move(next);
                dispatch(c, false);
                return;
            }
        }
        finishAttemptCounters(c);
        if (c->hasBody && !c->reqFramer.done())
            c->keepAlive = false;
        if (serveStale(c))
            return;
        if (f == Failure::Timeout)
            localResponse(c, 504, "the region did not answer in time"sv, false);
        else
            localResponse(c, 502, "the region could not be reached"sv, false);
    }

    // Answers with the stored response kept for this (no region could answer); false when
    // there is none.
    bool serveStale(Client *c)
    {
        if (!c->staleFallback || c->respHeadSent)
            return false;
        const std::shared_ptr<const EdgeCachedResponse> e = std::move(c->staleFallback);
        c->staleFallback.reset();
        c->cached.reset();
        cache->countStaleServed(c->cacheKey);
        serveCached(c, e, false, "STALE"sv);
        return true;
    }

    // The fetch this client led is over (its answer stored, or not to be): the requests that
    // waited for it start again once this round of events is done, and find it in the cache
    // (or go to a region themselves).
    void endFetch(Client *c)
    {
        if (!c->leadsFetch)
            return;
        c->leadsFetch = false;
        fetches.finish(c->cacheKey, worker);
    }

    bool knownNotStored(const std::string &key)
    {
        if (notStored.empty())
            return false;
        const auto it = notStored.find(key);
        if (it == notStored.end())
            return false;
        if (now < it->second)
            return true;
        notStored.erase(it);
        return false;
    }

    // A waiting client goes on: its request starts again from its head, never to wait twice.
    void resume(Client *c)
    {
        if (c->fd < 0 || c->state != Client::State::Waiting)
            return;
        c->state = Client::State::ReadHead;
        c->waited = true;
        c->headScan = 0;
        c->deadline = 0;
        driveClient(c);
    }

    void finishAttemptCounters(Client *c)
    {
        if (c->state == Client::State::Proxy) {
            --active;
            if (c->attempts > 0)
                --retriesInFlight;
        }
    }

    // The exchange ends: counters, balancer accounting, upstream back to its pool or closed.
    void endExchange(Client *c, bool complete, bool clientGone)
    {
        endFetch(c);
        Upstream *u = c->up;
        const uint64_t latency = monotonicUs() - c->attemptUs;
        if (c->counted) {
            traffic.finish(worker, c->pick.region, complete ? c->status : 0, latency);
            router.release(c->pick, complete ? c->status < 500 : clientGone, latency);
            c->counted = false;
        }
        finishAttemptCounters(c);
        c->state = Client::State::ReadHead;
        if (u) {
            c->up = nullptr;
            const bool reusable = complete && u->keepAlive && c->reqFramer.done() && c->reqFwd == 0
                                  && u->out.empty();
            releaseUpstream(u, reusable);
        }
    }

    void finishLocal(Client *c)
    {
        logLine(c, c->status);
        c->cached.reset();
        c->localBody = nullptr;
        if (!c->keepAlive || c->eof) {
            closeAfterAnswer(c);
            return;
        }
        c->state = Client::State::ReadHead;
        c->deadline = now + cfg.clientIdleTimeoutMs;
    }

    // Builds the response head for the client from the region's response head.
    void writeResponseHead(Client *c, Upstream *u, const HttpWire::ResponseHead &h, bool interim)
    {
        Buffer &o = c->out;
        o.append("HTTP/1.1 "sv);
        o.appendNumber(uint64_t(h.status));
        o.append(" "sv);
        o.append(h.reason);
        o.append("\r\n"sv);
        std::string_view connection;
        for (int i = 0; i < h.headerCount; ++i) {
            if (HttpWire::equalsIgnoreCase(h.headers[i].name, "connection"sv))
                connection = h.headers[i].value;
        }
        bool haveRegion = false;
        bool haveHsts = false;
        for (int i = 0; i < h.headerCount; ++i) {
            const auto &f = h.headers[i];
            if (isHopByHop(f.name))
                continue;
            if (!connection.empty() && HttpWire::listContains(connection, f.name))
                continue;
            if (f.name.size() == 17 && HttpWire::equalsIgnoreCase(f.name, "x-meridian-region"sv))
                haveRegion = true;
            if (f.name.size() == 25
                && HttpWire::equalsIgnoreCase(f.name, "strict-transport-security"sv))
                haveHsts = true;
            appendField(o, f);
        }
        if (!interim) {
            if (c->ssl && !haveHsts) // a region's own policy wins
                o.append(hsts);
            if (!haveRegion) {
                o.append("X-Meridian-Region: "sv);
                o.append(router.endpoint(u->endpoint).regionId);
                o.append("\r\n"sv);
            }
            if (c->cacheable) {
                o.append("X-Cache: MISS\r\n"sv);
                c->logCache = "MISS"sv;
            }
            if (!c->keepAlive)
                o.append("Connection: close\r\n"sv);
        }
        o.append("\r\n"sv);
    }

    // How a response's body is framed (RFC 9112 6.3) and whether its connection may carry
    // another request; false for a malformed answer (lengths that disagree, chunked to an
    // HTTP/1.0 request).
    static bool responseFraming(const HttpWire::ResponseHead &h,
                                bool headMethod,
                                bool http10,
                                HttpWire::BodyFramer::Kind &kind,
                                uint64_t &length,
                                bool &keepAlive)
    {
        bool chunked = false;
        bool haveLength = false;
        length = 0;
        std::string_view connection;
        for (int i = 0; i < h.headerCount; ++i) {
            const auto &f = h.headers[i];
            if (HttpWire::equalsIgnoreCase(f.name, "transfer-encoding"sv))
                chunked = HttpWire::equalsIgnoreCase(f.value, "chunked"sv);
            else if (HttpWire::equalsIgnoreCase(f.name, "content-length"sv)) {
                uint64_t v = 0;
                if (!HttpWire::parseContentLength(f.value, v) || (haveLength && v != length))
                    return false;
                haveLength = true;
                length = v;
            } else if (HttpWire::equalsIgnoreCase(f.name, "connection"sv))
                connection = f.value;
        }
        using K = HttpWire::BodyFramer::Kind;
        kind = K::UntilClose;
        if (headMethod || h.status == 204 || h.status == 304)
            kind = K::None;
        else if (chunked && !http10)
            kind = K::Chunked;
        else if (chunked)
            return false;
        else if (haveLength)
            kind = K::Length;
        keepAlive = h.minorVersion == 1 && !HttpWire::listContains(connection, "close"sv)
                    && kind != K::UntilClose && !http10;
        return true;
    }

    // Parses the response head in u->in; returns false when the exchange moved elsewhere.
    bool parseResponseHead(Client *c, Upstream *u)
    {
        for (;;) {
            const size_t end = HttpWire::findHeadEnd(u->in.data(), u->in.size(), u->headScan);
            if (!end) {
                u->headScan = u->in.size();
                if (u->in.size() >= kMaxResponseHead) {
                    attemptFailed(c, u, Failure::BadResponse);
                    return false;
                }
                return true;
            }
            HttpWire::ResponseHead h;
            if (HttpWire::parseResponse(u->in.data(), end, h) != HttpWire::Status::Complete
                || h.status == 101) {
                attemptFailed(c, u, Failure::BadResponse);
                return false;
            }
            u->headScan = 0;
            if (h.status < 200) {
                // Interim (100 Continue, 103 Early Hints): forward and keep reading.
                if (!c->http10)
                    writeResponseHead(c, u, h, true);
                u->in.consume(end);
                continue;
            }
            c->status = h.status;
            u->status = h.status;
            if ((h.status == 502 || h.status == 503) && retryAllowed(c, u->wroteAny)) {
                attemptFailed(c, u, Failure::Retryable5xx);
                return false;
            }
            // RFC 5861: an error answer the stored copy may stand in for. The region's answer
            // still counts as its failure; its body is not read, so its connection closes.
            if (c->staleFallback
                && (h.status == 500 || h.status == 502 || h.status == 503 || h.status == 504)) {
                u->keepAlive = false;
                endExchange(c, true, false);
                serveStale(c);
                return false;
            }
            using K = HttpWire::BodyFramer::Kind;
            K kind = K::UntilClose;
            uint64_t length = 0;
            if (!responseFraming(h, c->headMethod, c->http10, kind, length, u->keepAlive)) {
                attemptFailed(c, u, Failure::BadResponse);
                return false;
            }
            if (kind == K::UntilClose)
                c->keepAlive = false;

            // A 304 answering our own revalidation: the cached copy is fresh again.
            if (c->revalidating && h.status == 304 && c->cached) {
                auto entry = cache->refresh(c->cacheKey, c->cached, h, now);
                u->in.consume(end);
                u->framer.reset(K::None);
                endExchange(c, true, false);
                c->cached.reset();
                serveCached(c, entry, false);
                return false;
            }
            c->cached.reset();
            c->staleFallback.reset(); // the region answered: not kept by an idle connection
            if (c->cacheable && cache && EdgeCache::storableStatus(h.status) && kind == K::Length
                && !c->headMethod) {
                HttpWire::RequestHead request;
                reparse(c, request);
                c->storing = cache->begin(request, h, length, now, c->purgeGeneration);
            }
            if (!c->storing && c->leadsFetch) {
                // Nothing will be stored: the waiting requests ask a region too. Unless it is a
                // 304 to the client's own validator or an error, which say nothing of whether
                // the URL can be stored, the next requests for it do not wait for a while.
                if (h.status != 304 && h.status < 500) {
                    if (notStored.size() >= kNotStoredKeys)
                        notStored.clear();
                    notStored[c->cacheKey] = now + kNotStoredMs;
                }
                endFetch(c);
            }
            writeResponseHead(c, u, h, false);
            c->respHeadSent = true;
            u->headParsed = true;
            u->in.consume(end);
            u->framer.reset(kind, length);
            return true;
        }
    }

    void driveExchange(Client *c)
    {
        for (int round = 0; round < 256; ++round) {
            if (c->fd < 0 || c->state != Client::State::Proxy)
                return;
            Upstream *u = c->up;
            bool progress = false;
            // Request body: client -> buffer.
            if (!c->reqFramer.done()) {
                const size_t before = c->in.size();
                readSome(c, kBodyBuffer);
                if (c->in.size() > before) {
                    progress = true;
                    const size_t unexamined = c->in.size() - c->reqFwd;
                    c->reqFwd += c->reqFramer.feed(c->in.data() + c->reqFwd, unexamined);
                    if (c->reqFramer.failed()
                        || c->reqFramer.payloadBytes() > uint64_t(cfg.maxBodyBytes)) {
                        closeClient(c);
                        return;
                    }
                }
                if ((c->eof || c->failed) && !c->reqFramer.done() && c->reqFwd == 0) {
                    closeClient(c); // the client gave up mid-body
                    return;
                }
            }
            if (!u)
                return;
            if (u->state == Upstream::State::Connecting || u->state == Upstream::State::Handshaking)
                return;
            // Request: head and body -> region.
            if (!u->out.empty() || c->reqFwd) {
                const size_t outBefore = u->out.size();
                const size_t sent = flush(u, &c->in, &c->reqFwd);
                if (u->failed) {
                    attemptFailed(c, u, Failure::NoResponse);
                    return;
                }
                if (sent || u->out.size() != outBefore) {
                    u->wroteAny = true;
                    progress = true;
                }
            }
            // Response: region -> buffer.
            const size_t cap = u->headParsed ? kBodyBuffer : kMaxResponseHead;
            const size_t inBefore = u->in.size();
            readSome(u, cap);
            if (u->in.size() > inBefore) {
                progress = true;
                u->deadline = now + cfg.upstreamResponseTimeoutMs;
            }
            if (!u->headParsed) {
                if (u->in.size() > 0 && !parseResponseHead(c, u))
                    return;
                if (!u->headParsed) {
                    // An interim response (100 Continue) goes to the client now: a client that
                    // sent `Expect: 100-continue` holds its body back until it sees it.
                    if (!c->out.empty()) {
                        const size_t outBefore = c->out.size();
                        flush(c, nullptr, nullptr);
                        if (c->failed) {
                            closeClient(c);
                            return;
                        }
                        if (c->out.size() != outBefore)
                            progress = true;
                    }
                    if (u->eof || u->failed) {
                        attemptFailed(c,
                                      u,
                                      u->in.empty() ? Failure::NoResponse : Failure::BadResponse);
                        return;
                    }
                    if (!progress)
                        break;
                    continue;
                }
            }
            // Classify new body bytes.
            if (u->in.size() > u->fwd && !u->framer.done()) {
                const char *p = u->in.data() + u->fwd;
                const size_t k = u->framer.feed(p, u->in.size() - u->fwd);
                if (c->storing) {
                    if (c->storing->body.size() + k <= size_t(cache->maxObjectBytes()))
                        c->storing->body.append(p, k);
                    else
                        c->storing.reset();
                }
                u->fwd += k;
                if (u->framer.failed()) {
                    attemptFailed(c, u, Failure::Truncated);
                    return;
                }
                // Complete from the region: into the cache before the client has its last byte,
                // so whatever the client asks next, on any worker, finds it there.
                if (c->storing && u->framer.done()) {
                    cache->store(c->cacheKey, std::move(c->storing));
                    endFetch(c);
                }
            }
            if (u->in.size() > u->fwd && u->framer.done())
                u->keepAlive = false; // bytes after the response: do not reuse
            // Response -> client.
            if (!c->out.empty() || u->fwd) {
                const size_t outBefore = c->out.size();
                const size_t sent = flush(c, &u->in, &u->fwd);
                if (c->failed) {
                    closeClient(c);
                    return;
                }
                if (sent || c->out.size() != outBefore)
                    progress = true;
            }
            const bool untilCloseDone = u->framer.kind() == HttpWire::BodyFramer::Kind::UntilClose
                                        && u->eof;
            if ((u->framer.done() || untilCloseDone) && u->fwd == 0 && c->out.empty()) {
                c->storing.reset();
                endExchange(c, true, false);
                logLine(c, c->status);
                if (!c->keepAlive) {
                    closeAfterAnswer(c);
                    return;
                }
                c->deadline = now + cfg.clientIdleTimeoutMs;
                return; // driveClient goes round: a pipelined request may be waiting
            }
            if ((u->eof || u->failed) && !untilCloseDone && u->fwd == 0) {
                attemptFailed(c, u, Failure::Truncated);
                return;
            }
            if (!progress)
                break;
        }
        // Deadlines: the client's while we wait on it, the region's while we wait on it.
        if (c->fd >= 0 && c->state == Client::State::Proxy) {
            Upstream *u = c->up;
            const bool waitingOnClient = !c->reqFramer.done() || !c->out.empty() || (u && u->fwd);
            c->deadline = waitingOnClient ? now + cfg.clientBodyTimeoutMs : 0;
            if (u && u->state == Upstream::State::Busy)
                u->deadline = (u->fwd || !c->out.empty())
                                      ? 0
                                      : (u->deadline ? u->deadline
                                                     : now + cfg.upstreamResponseTimeoutMs);
        }
    }

    void onUpstream(Upstream *u, uint32_t events)
    {
        if (u->state == Upstream::State::Idle) {
            if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !onlyTlsHousekeeping(u))
                dropFromPool(u); // the region closed it, or sent something unasked
            return;
        }
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            u->readable = true;
        if (events & EPOLLOUT)
            u->writable = true;
        if (!u->client && !u->revalidation) {
            destroy(u);
            return;
        }
        if (u->state == Upstream::State::Connecting) {
            if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                return;
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0 || (events & EPOLLERR)) {
                failUpstream(u, Failure::Connect);
                return;
            }
            u->state = u->ssl ? Upstream::State::Handshaking : Upstream::State::Busy;
            if (!u->ssl)
                u->deadline = now + cfg.upstreamResponseTimeoutMs;
        }
        if (u->state == Upstream::State::Handshaking && !upstreamHandshake(u))
            return;
        if (u->client)
            driveClient(u->client);
        else
            driveRevalidation(u->revalidation);
    }

    // An upstream connection failed (connect, TLS handshake, deadline): whoever it served
    // hears of it.
    void failUpstream(Upstream *u, Failure f)
    {
        if (Client *c = u->client) {
            attemptFailed(c, u, f);
            if (c->fd >= 0)
                driveClient(c);
        } else if (Revalidation *r = u->revalidation) {
            endRevalidation(r, f);
        } else {
            destroy(u);
        }
    }

    // --- stale while revalidate ---
    // Starts the background revalidation of `entry`, which `c`'s request found stale and is
    // answered from: the same URL, the request fields the entry varies on, the entry's ETag.
    void startRevalidation(Client *c,
                           const HttpWire::RequestHead &head,
                           const std::shared_ptr<const EdgeCachedResponse> &entry)
    {
        auto owned = std::make_unique<Revalidation>();
        Revalidation *r = owned.get();
        r->key = c->cacheKey;
        r->entry = entry;
        r->purgeGeneration = cache->purgeGeneration();
        Buffer &o = r->head;
        o.append("GET "sv);
        o.append(head.target);
        o.append(" HTTP/1.1\r\n"sv);
        appendRevalidationFields(o, head, *entry, c);
        if (!entry->etag.empty()) {
            o.append("If-None-Match: "sv);
            o.append(entry->etag);
            o.append("\r\n"sv);
        }
        o.append("\r\n"sv);
        if (!router.pick(head, std::string_view(c->ip, c->ipLength), 0, r->pick)) {
            EdgeCache::releaseRevalidation(*entry, now + kRevalidationRetryMs);
            return;
        }
        revalidations.push_back(std::move(owned));
        r->startUs = monotonicUs();
        traffic.begin(worker, r->pick.region);
        sendRevalidation(r, false);
    }

    // Sends the revalidation's request on a pooled connection, or a new one (`fresh`).
    void sendRevalidation(Revalidation *r, bool fresh)
    {
        Upstream *u = acquire(r->pick.endpoint, fresh);
        if (!u) {
            endRevalidation(r, Failure::Connect);
            return;
        }
        r->up = u;
        u->revalidation = r;
        sendHead(u, r->head);
        driveRevalidation(r);
    }

    void driveRevalidation(Revalidation *r)
    {
        Upstream *u = r->up;
        for (int round = 0; round < 256; ++round) {
            if (u->state == Upstream::State::Connecting || u->state == Upstream::State::Handshaking)
                return;
            bool progress = false;
            if (!u->out.empty()) {
                const size_t before = u->out.size();
                flush(u, nullptr, nullptr);
                if (u->failed) {
                    endRevalidation(r, Failure::NoResponse);
                    return;
                }
                if (u->out.size() != before) {
                    u->wroteAny = true;
                    progress = true;
                }
            }
            const size_t inBefore = u->in.size();
            readSome(u, u->headParsed ? kBodyBuffer : kMaxResponseHead);
            if (u->in.size() > inBefore) {
                progress = true;
                u->deadline = now + cfg.upstreamResponseTimeoutMs;
            }
            if (!u->headParsed && !u->in.empty() && !revalidationHead(r))
                return; // over
            if (u->headParsed) {
                const size_t k = u->framer.feed(u->in.data(), u->in.size());
                r->storing->body.append(u->in.data(), k);
                u->in.consume(k);
                if (u->framer.done()) {
                    u->keepAlive = u->keepAlive && u->in.empty(); // bytes after it: not reused
                    cache->store(r->key, std::move(r->storing));
                    endRevalidation(r, std::nullopt);
                    return;
                }
            }
            if (u->eof || u->failed) {
                endRevalidation(r,
                                u->headParsed   ? Failure::Truncated
                                : u->in.empty() ? Failure::NoResponse
                                                : Failure::BadResponse);
                return;
            }
            if (!progress)
                break;
        }
    }

    // The region's answer to a revalidation: a 304 refreshes the entry; a cacheable 200
    // replaces it (its body is read on); an answer of another kind (gone, moved, no longer
    // cacheable) removes it, since the stale copy must not answer for it any more; an error
    // leaves it answering, and the next try waits kRevalidationRetryMs. False when it is over.
    bool revalidationHead(Revalidation *r)
    {
        Upstream *u = r->up;
        for (;;) {
            const size_t end = HttpWire::findHeadEnd(u->in.data(), u->in.size(), u->headScan);
            if (!end) {
                u->headScan = u->in.size();
                if (u->in.size() < kMaxResponseHead)
                    return true;
                endRevalidation(r, Failure::BadResponse);
                return false;
            }
            using K = HttpWire::BodyFramer::Kind;
            HttpWire::ResponseHead h;
            K kind = K::UntilClose;
            uint64_t length = 0;
            if (HttpWire::parseResponse(u->in.data(), end, h) != HttpWire::Status::Complete
                || h.status == 101
                || !responseFraming(h, false, false, kind, length, u->keepAlive)) {
                endRevalidation(r, Failure::BadResponse);
                return false;
            }
            u->headScan = 0;
            if (h.status < 200) {
                u->in.consume(end);
                continue;
            }
            r->status = h.status;
            if (h.status >= 500) {
                u->keepAlive = false;
                endRevalidation(r, Failure::Retryable5xx);
                return false;
            }
            if (h.status == 304 && !r->entry->etag.empty()) {
                cache->refresh(r->key, r->entry, h, now, false);
                u->in.consume(end);
                u->keepAlive = u->keepAlive && u->in.empty();
                endRevalidation(r, std::nullopt);
                return false;
            }
            if (EdgeCache::storableStatus(h.status) && kind == K::Length) {
                HttpWire::RequestHead request;
                reparse(r->head, request);
                r->storing = cache->begin(request, h, length, now, r->purgeGeneration);
            }
            if (!r->storing) {
                cache->remove(r->key, r->entry);
                u->keepAlive = false; // its body is not read
                endRevalidation(r, std::nullopt);
                return false;
            }
            u->in.consume(end);
            u->headParsed = true;
            u->framer.reset(kind, length);
            return true;
        }
    }

    // The revalidation is over (`failure` empty: the region answered): the region's figures,
    // the connection back to its pool or closed, and after a failure the next try's time.
    void endRevalidation(Revalidation *r, std::optional<Failure> failure)
    {
        Upstream *u = r->up;
        r->up = nullptr;
        if (u)
            u->revalidation = nullptr;
        // A pooled connection the region closed while idle: once more on a new one.
        if (failure == Failure::NoResponse && u && u->reused && !r->retried) {
            r->retried = true;
            destroy(u);
            sendRevalidation(r, true);
            return;
        }
        const uint64_t latency = monotonicUs() - r->startUs;
        if (failure)
            traffic.failure(worker, r->pick.region);
        traffic.finish(worker,
                       r->pick.region,
                       !failure || failure == Failure::Retryable5xx ? r->status : 0,
                       latency);
        router.release(r->pick, !failure || failure == Failure::Truncated, latency);
        if (u && failure)
            destroy(u);
        else if (u)
            releaseUpstream(u, u->keepAlive);
        if (failure)
            EdgeCache::releaseRevalidation(*r->entry, now + kRevalidationRetryMs);
        std::erase_if(revalidations, [r](const auto &owned) { return owned.get() == r; });
    }

    // Drives the TLS handshake with an https:// region; true once done. A refused certificate
    // or a region that does not speak TLS fails the attempt like a connect failure (retried at
    // another region), and says why once a minute.
    bool upstreamHandshake(Upstream *u)
    {
        int error = 0;
        switch (stepHandshake(u, &error)) {
        case Handshake::Done:
            u->state = Upstream::State::Busy;
            u->deadline = now + cfg.upstreamResponseTimeoutMs;
            return true;
        case Handshake::Waiting:
            return false;
        case Handshake::Failed:
            break;
        }
        QString why = EdgeTlsContext::verifyError(u->ssl);
        if (why.isEmpty())
            why = EdgeTlsContext::lastError();
        ERR_clear_error();
        if (lastUpstreamTlsWarning < 0 || now - lastUpstreamTlsWarning >= 60'000) {
            lastUpstreamTlsWarning = now;
            const long verify = SSL_get_verify_result(u->ssl);
            const bool misnamed = verify == X509_V_ERR_HOSTNAME_MISMATCH
                                  || verify == X509_V_ERR_IP_ADDRESS_MISMATCH;
            qCWarning(lcEdgeProxy).noquote()
                    << "edge worker" << worker << ": TLS with" << router.endpoint(u->endpoint).url
                    << "failed:" << why
                    << (misnamed ? "(the region's certificate must name the host of its "
                                   "data_url"
                        : verify != X509_V_OK ? "(edge.upstream_ca_file must hold the CA that "
                                                "signed the region's certificate"
                                              : "(is the region serving HTTPS there?")
                    << "- further failures this minute are not logged)";
        }
        failUpstream(u, Failure::Connect);
        return false;
    }

    // An idle pooled TLS connection may receive records that carry no data (a TLS 1.3 key
    // update, session tickets a server sends late; most send them with the first answer):
    // true when that is all that arrived and the connection can stay in the pool.
    bool onlyTlsHousekeeping(Upstream *u)
    {
        if (!u->ssl)
            return false;
        char byte;
        ERR_clear_error();
        const int n = SSL_read(u->ssl, &byte, 1);
        const bool keep = n <= 0 && SSL_get_error(u->ssl, n) == SSL_ERROR_WANT_READ;
        ERR_clear_error();
        return keep;
    }

    // --- timeouts ---
    // The pending connection stays queued while no descriptor is free, so a level-triggered
    // listener would wake this loop at once, forever: rest it, as nginx does, until the next
    // sweep, and say why (once a minute).
    // The listeners' epoll interest: EPOLLIN to accept, none to rest.
    void watchListener(uint32_t events)
    {
        for (Conn *l : {&listener, &tlsListener}) {
            if (l->fd < 0)
                continue;
            epoll_event ev{};
            ev.events = events;
            ev.data.ptr = l;
            epoll_ctl(epfd, EPOLL_CTL_MOD, l->fd, &ev);
        }
    }

    void pauseAccepting(int error)
    {
        watchListener(0);
        acceptPausedUntil = now + 100;
        if (lastFdWarning < 0 || now - lastFdWarning >= 60'000) {
            lastFdWarning = now;
            qCWarning(lcEdgeProxy).noquote()
                    << "edge worker" << worker << "cannot accept connections:" << strerror(error)
                    << "with" << clients << "client connections open; new connections wait"
                    << (error == EMFILE ? "(raise the open-files limit, LimitNOFILE)" : "");
        }
    }

    void resumeAccepting()
    {
        if (acceptPausedUntil == 0 || now < acceptPausedUntil || listener.fd < 0)
            return;
        acceptPausedUntil = 0;
        watchListener(EPOLLIN);
    }

    void sweep()
    {
        resumeAccepting();
        // Collect first: handling one connection may close others (a client's upstream).
        expired.clear();
        for (Conn *c = connections; c; c = c->next) {
            if (c->deadline && now >= c->deadline)
                expired.push_back(c);
        }
        for (Conn *c : expired) {
            if (c->fd >= 0 && c->deadline && now >= c->deadline) {
                if (c->kind == Kind::Client) {
                    auto *cl = static_cast<Client *>(c);
                    if (cl->state == Client::State::Waiting) {
                        // The fetch it waited for is slow: ask a region itself.
                        fetches.forget(cl->cacheKey, worker, cl);
                        resume(cl);
                    } else if (cl->state == Client::State::ReadHead && !cl->in.empty()) {
                        localResponse(cl, 408, "request head timed out"sv, true);
                        driveClient(cl);
                    } else {
                        closeClient(cl);
                    }
                } else if (c->kind == Kind::Upstream) {
                    auto *u = static_cast<Upstream *>(c);
                    if (u->state == Upstream::State::Idle) {
                        dropFromPool(u);
                    } else {
                        const bool connecting = u->state == Upstream::State::Connecting
                                                || u->state == Upstream::State::Handshaking;
                        failUpstream(u, connecting ? Failure::Connect : Failure::Timeout);
                    }
                }
            }
        }
    }

    void beginStop(int graceMs)
    {
        stopping = true;
        stopDeadline = now + graceMs;
        for (Conn *l : {&listener, &tlsListener}) {
            if (l->fd >= 0) {
                ::close(l->fd);
                l->fd = -1;
            }
        }
        expired.clear();
        for (Conn *c = connections; c; c = c->next)
            expired.push_back(c);
        for (Conn *c : expired) {
            if (c->fd >= 0 && c->kind == Kind::Client) {
                auto *cl = static_cast<Client *>(c);
                cl->keepAlive = false;
                if ((cl->state == Client::State::ReadHead && cl->in.empty())
                    || cl->state == Client::State::Lingering)
                    closeClient(cl);
            }
        }
    }

    // The next events. Once the loop runs dry it polls for up to busyPoll's window before it
    // sleeps (at most 100 ms, the sweep's period).
    int waitForEvents(std::vector<epoll_event> &events)
    {
        const int size = int(events.size());
        if (cfg.busyPollUs <= 0)
            return epoll_wait(epfd, events.data(), size, 100);
        int n = epoll_wait(epfd, events.data(), size, 0);
        if (n != 0)
            return n;
        const auto dryAt = int64_t(monotonicUs());
        const int window = busyPoll.windowUs(dryAt);
        int64_t polled = 0;
        while (polled < window) {
            n = epoll_wait(epfd, events.data(), size, 0);
            polled = int64_t(monotonicUs()) - dryAt;
            if (n != 0)
                break;
        }
        if (polled > 0)
            busyPollMicros.fetch_add(quint64(polled), std::memory_order_relaxed);
        if (n != 0) {
            busyPoll.idled(polled, polled);
            return n;
        }
        n = epoll_wait(epfd, events.data(), size, 100);
        busyPoll.idled(n > 0 ? int64_t(monotonicUs()) - dryAt : std::numeric_limits<int64_t>::max(),
                       polled);
        return n;
    }

    void run()
    {
        std::vector<epoll_event> events(512);
        now = monotonicMs();
        lastSweep = now;
        for (;;) {
            if (stopping && (clients == 0 || now >= stopDeadline))
                break;
            const int n = waitForEvents(events);
            now = monotonicMs();
            for (int i = 0; i < n; ++i) {
                auto *c = static_cast<Conn *>(events[size_t(i)].data.ptr);
                const uint32_t ev = events[size_t(i)].events;
                if (c->fd < 0)
                    continue; // closed earlier in this batch
                switch (c->kind) {
                case Kind::Listener:
                    acceptAll(*c);
                    break;
                case Kind::Wake: {
                    uint64_t v;
                    while (::read(wake.fd, &v, sizeof v) > 0) {
                    }
                    const int grace = stopGraceMs.load();
                    if (grace >= 0 && !stopping)
                        beginStop(grace);
                    break;
                }
                case Kind::Client:
                    onClient(static_cast<Client *>(c), ev);
                    break;
                case Kind::Upstream:
                    onUpstream(static_cast<Upstream *>(c), ev);
                    break;
                }
            }
            for (;;) {
                inbox.clear();
                fetches.takeInbox(worker, inbox);
                for (void *waiter : inbox)
                    resumable.push_back(static_cast<Client *>(waiter));
                if (resumable.empty())
                    break;
                std::vector<Client *> ready;
                ready.swap(resumable);
                for (Client *cl : ready)
                    resume(cl);
            }
            if (now - lastSweep >= 100) {
                lastSweep = now;
                sweep();
            }
            if (accessLog && logBuffer.due(now))
                logBuffer.writeTo(*accessLog);
            for (Conn *c : graveyard)
                delete c;
            graveyard.clear();
        }
        shutdown();
        if (accessLog)
            logBuffer.writeTo(*accessLog);
    }

    void shutdown()
    {
        while (connections) {
            Conn *c = connections;
            if (c->kind == Kind::Client)
                closeClient(static_cast<Client *>(c));
            else
                destroy(c);
        }
        revalidations.clear(); // their connections are gone
        for (Conn *c : graveyard)
            delete c;
        graveyard.clear();
        pools.clear();
    }

    ~LoopState()
    {
        shutdown();
        for (Conn *l : {&listener, &tlsListener}) {
            if (l->fd >= 0)
                ::close(l->fd);
        }
        if (wake.fd >= 0) {
            fetches.setWakeFd(worker, -1); // before the descriptor can be reused
            ::close(wake.fd);
        }
        if (epfd >= 0)
            ::close(epfd);
    }
};

} // namespace Internal

EdgeLoop::EdgeLoop(int index, std::shared_ptr<const EdgeShared> shared)
    : d(std::make_unique<Internal::LoopState>(index, std::move(shared)))
{}

EdgeLoop::~EdgeLoop() = default;

bool EdgeLoop::listen(quint16 port, quint16 tlsPort, QString *error)
{
    return d->open(port, tlsPort, error);
}

quint16 EdgeLoop::port() const
{
    return d->boundPort;
}

quint16 EdgeLoop::tlsPort() const
{
    return d->boundTlsPort;
}

EdgeLoop::TlsCounters EdgeLoop::tlsCounters() const
{
    return {d->tlsFullHandshakes.load(std::memory_order_relaxed),
            d->tlsResumed.load(std::memory_order_relaxed),
            d->tlsFailures.load(std::memory_order_relaxed),
            d->tlsPlainHttp.load(std::memory_order_relaxed)};
}

quint64 EdgeLoop::busyPollMicros() const
{
    return d->busyPollMicros.load(std::memory_order_relaxed);
}

void EdgeLoop::run()
{
    d->run();
}

void EdgeLoop::stop(int graceMs)
{
    d->stopGraceMs.store(graceMs);
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(d->wake.fd, &one, sizeof one);
}

} // namespace Meridian
