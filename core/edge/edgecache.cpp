#include "core/edge/edgecache.h"

#include <algorithm>
#include <functional>

using namespace std::string_view_literals;

namespace Meridian {

namespace {

constexpr int kShards = 16;
// Purges remembered for responses still being fetched; one slower than this many purges is
// simply not stored.
constexpr size_t kRecentPurges = 64;

std::string lowerCase(std::string_view s)
{
    std::string out(s);
    for (char &c : out) {
        if (c >= 'A' && c <= 'Z')
            c = char(c | 0x20);
    }
    return out;
}

std::string_view headerValue(const HttpWire::Header *headers, int count, std::string_view name)
{
    for (int i = 0; i < count; ++i) {
        if (HttpWire::equalsIgnoreCase(headers[i].name, name))
            return headers[i].value;
    }
    return {};
}

// The value of a Cache-Control directive with an argument (max-age=N), or -1.
int64_t directiveSeconds(std::string_view cc, std::string_view directive)
{
    while (!cc.empty()) {
        const size_t comma = cc.find(',');
        std::string_view item = cc.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        if (item.size() > directive.size() && item[directive.size()] == '='
            && HttpWire::equalsIgnoreCase(item.substr(0, directive.size()), directive)) {
            std::string_view v = item.substr(directive.size() + 1);
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
                v = v.substr(1, v.size() - 2);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
                v.remove_suffix(1);
            uint64_t n = 0;
            if (!HttpWire::parseContentLength(v, n))
                return -1;
            return int64_t(std::min<uint64_t>(n, uint64_t(1) << 31));
        }
        if (comma == std::string_view::npos)
            break;
        cc.remove_prefix(comma + 1);
    }
    return -1;
}

// Whether a Cache-Control value has a directive, with or without an argument
// (`private="Set-Cookie"` counts as private: this cache is shared).
bool hasDirective(std::string_view cc, std::string_view directive)
{
    while (!cc.empty()) {
        const size_t comma = cc.find(',');
        std::string_view item = cc.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        const size_t eq = item.find('=');
        std::string_view name = item.substr(0, eq);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
            name.remove_suffix(1);
        if (HttpWire::equalsIgnoreCase(name, directive))
            return true;
        if (comma == std::string_view::npos)
            break;
        cc.remove_prefix(comma + 1);
    }
    return false;
}

// The response's Cache-Control, its fields joined when it has several (`storage` keeps them).
std::string_view cacheControlOf(const HttpWire::ResponseHead &response, std::string &storage)
{
    std::string_view cc;
    int count = 0;
    for (int i = 0; i < response.headerCount; ++i) {
        const auto &h = response.headers[i];
        if (HttpWire::equalsIgnoreCase(h.name, "cache-control"sv)) {
            if (count++ == 0) {
                cc = h.value;
            } else {
                if (storage.empty())
                    storage.assign(cc);
                storage.append(","sv).append(h.value);
            }
        }
    }
    return storage.empty() ? cc : std::string_view(storage);
}

bool isHopByHopOrVolatile(std::string_view name)
{
    // Not stored: connection-specific fields, framing (the cache writes Content-Length), and
    // what the cache itself writes on every hit.
    static constexpr std::string_view skip[] = {"connection"sv,
                                                "keep-alive"sv,
                                                "proxy-connection"sv,
                                                "te"sv,
                                                "upgrade"sv,
                                                "transfer-encoding"sv,
                                                "content-length"sv,
                                                "age"sv,
                                                "x-cache"sv};
    for (std::string_view s : skip) {
        if (HttpWire::equalsIgnoreCase(name, s))
            return true;
    }
    return false;
}

bool isStrictTransportSecurity(std::string_view name)
{
    return HttpWire::equalsIgnoreCase(name, "strict-transport-security"sv);
}

bool storable(std::string_view name, std::string_view connection)
{
    return !isHopByHopOrVolatile(name)
           && (connection.empty() || !HttpWire::listContains(connection, name));
}

// The stored header block ("Name: value\r\n" lines) with every field the 304 carries in place
// of the stored field of that name; a Set-Cookie in a 304 is not shared with other users.
std::string updatedHeaders(std::string_view stored, const HttpWire::ResponseHead &update)
{
    const std::string_view connection
            = headerValue(update.headers, update.headerCount, "connection"sv);
    auto replaced = [&](std::string_view name) {
        for (int i = 0; i < update.headerCount; ++i) {
            if (HttpWire::equalsIgnoreCase(update.headers[i].name, name)
                && storable(name, connection))
                return true;
        }
        return false;
    };
    std::string out;
    out.reserve(stored.size() + 64);
    while (!stored.empty()) {
        const size_t end = stored.find("\r\n"sv);
        const std::string_view line = stored.substr(0, end);
        if (!replaced(line.substr(0, line.find(':'))))
            out.append(line).append("\r\n"sv);
        if (end == std::string_view::npos)
            break;
        stored.remove_prefix(end + 2);
    }
    for (int i = 0; i < update.headerCount; ++i) {
        const auto &h = update.headers[i];
        if (storable(h.name, connection) && !HttpWire::equalsIgnoreCase(h.name, "set-cookie"sv))
            out.append(h.name).append(": "sv).append(h.value).append("\r\n"sv);
    }
    return out;
}

} // namespace

size_t EdgeCachedResponse::cost() const
{
    size_t n = sizeof(*this) + reason.size() + headers.size() + body.size() + etag.size() + 128;
    for (const auto &[k, v] : vary)
        n += k.size() + v.size() + 64;
    return n;
}

struct EdgeCache::Shard
{
    struct Node
    {
        std::string key;
        std::shared_ptr<const EdgeCachedResponse> response;
    };
    std::mutex mutex;
    std::list<Node> lru; // front = most recently used
    std::unordered_map<std::string, std::list<Node>::iterator> index;
    size_t bytes = 0;
    size_t maxBytes = 0;
    quint64 hits = 0;
    quint64 misses = 0;
    quint64 evictions = 0;
    quint64 purged = 0;
    quint64 staleServed = 0;
    quint64 updating = 0;

    void erase(std::list<Node>::iterator it)
    {
        bytes -= it->response->cost();
        index.erase(it->key);
        lru.erase(it);
    }
    void insert(const std::string &key, std::shared_ptr<const EdgeCachedResponse> r)
    {
        if (auto found = index.find(key); found != index.end())
            erase(found->second);
        const size_t cost = r->cost();
        if (cost > maxBytes)
            return;
        while (bytes + cost > maxBytes && !lru.empty()) {
            erase(std::prev(lru.end()));
            ++evictions;
        }
        lru.push_front(Node{key, std::move(r)});
        index.emplace(key, lru.begin());
        bytes += cost;
    }
};

EdgeCache::EdgeCache(qint64 maxBytes,
                     qint64 maxObjectBytes,
                     qint64 staleIfErrorMs,
                     qint64 staleWhileRevalidateMs)
    : m_shards(std::make_unique<Shard[]>(kShards))
    , m_maxObjectBytes(maxObjectBytes)
    , m_staleIfErrorMs(staleIfErrorMs)
    , m_staleWhileRevalidateMs(staleWhileRevalidateMs)
{
    for (int i = 0; i < kShards; ++i)
        m_shards[size_t(i)].maxBytes = size_t(maxBytes / kShards);
}

EdgeCache::~EdgeCache() = default;

EdgeCache::Shard &EdgeCache::shardOf(const std::string &key)
{
    return m_shards[std::hash<std::string>{}(key) % kShards];
}

void EdgeCache::keyOf(const HttpWire::RequestHead &request, std::string &key)
{
    const std::string_view host = headerValue(request.headers, request.headerCount, "host"sv);
    key.clear();
    key.reserve(host.size() + request.target.size() + 1);
    for (char c : host)
        key.push_back((c >= 'A' && c <= 'Z') ? char(c | 0x20) : c);
    key.push_back(' ');
    key.append(request.target);
}

bool EdgeCache::cacheableRequest(const HttpWire::RequestHead &request, bool &mustRevalidate)
{
    mustRevalidate = false;
    for (int i = 0; i < request.headerCount; ++i) {
        const auto &h = request.headers[i];
        if (HttpWire::equalsIgnoreCase(h.name, "authorization"sv)
            || HttpWire::equalsIgnoreCase(h.name, "range"sv))
            return false; // RFC 9111 3.5; ranges pass through to the region
        if (HttpWire::equalsIgnoreCase(h.name, "cache-control"sv)) {
            if (hasDirective(h.value, "no-store"sv))
                return false;
            if (hasDirective(h.value, "no-cache"sv) || directiveSeconds(h.value, "max-age"sv) == 0)
                mustRevalidate = true;
        } else if (HttpWire::equalsIgnoreCase(h.name, "pragma"sv)
                   && HttpWire::listContains(h.value, "no-cache"sv)) {
            mustRevalidate = true;
        }
    }
    return true;
}

int64_t EdgeCache::sharedLifetimeMs(const HttpWire::ResponseHead &response)
{
    std::string cat;
    const std::string_view cc = cacheControlOf(response, cat);
    if (cc.empty() || hasDirective(cc, "no-store"sv) || hasDirective(cc, "private"sv))
        return -1;
    // RFC 9111 5.2.2.4: no-cache allows storing; every use needs the region's 304 first.
    if (hasDirective(cc, "no-cache"sv))
        return 0;
    int64_t seconds = directiveSeconds(cc, "s-maxage"sv);
    if (seconds < 0)
        seconds = directiveSeconds(cc, "max-age"sv);
    return seconds >= 0 ? seconds * 1000 : -1;
}

bool EdgeCache::storableStatus(int status)
{
    switch (status) {
    case 200: // OK
    case 203: // Non-Authoritative Information
    case 300: // Multiple Choices
    case 301: // Moved Permanently
    case 302: // Found
    case 307: // Temporary Redirect
    case 308: // Permanent Redirect
    case 404: // Not Found: "negative caching" keeps scanners' misses off the regions
    case 405: // Method Not Allowed
    case 410: // Gone
    case 414: // URI Too Long
    case 501: // Not Implemented
        return true;
    default:
        return false;
    }
}

EdgeCache::Hit EdgeCache::lookup(const std::string &key,
                                 const HttpWire::RequestHead &request,
                                 int64_t nowMs)
{
    Shard &s = shardOf(key);
    std::shared_ptr<const EdgeCachedResponse> r;
    {
        std::lock_guard lock(s.mutex);
        const auto it = s.index.find(key);
        if (it == s.index.end())
            return {};
        s.lru.splice(s.lru.begin(), s.lru, it->second);
        r = it->second->response;
    }
    for (const auto &[name, value] : r->vary) {
        if (headerValue(request.headers, request.headerCount, name) != value) {
            std::lock_guard lock(s.mutex);
            ++s.misses;
            return {};
        }
    }
    const bool fresh = nowMs < r->expiresMs;
    if (fresh) {
        std::lock_guard lock(s.mutex);
        ++s.hits;
    }
    return Hit{fresh ? Freshness::Fresh : Freshness::Stale, std::move(r)};
}

int64_t EdgeCache::staleIfErrorMs(const HttpWire::ResponseHead &response) const
{
    std::string cat;
    const std::string_view cc = cacheControlOf(response, cat);
    if (const int64_t seconds = directiveSeconds(cc, "stale-if-error"sv); seconds >= 0)
        return seconds * 1000;
    // RFC 9111 4.2.4: these forbid a shared cache to answer with a stale response.
    if (hasDirective(cc, "must-revalidate"sv) || hasDirective(cc, "proxy-revalidate"sv)
        || hasDirective(cc, "s-maxage"sv) || hasDirective(cc, "no-cache"sv))
        return 0;
    return m_staleIfErrorMs;
}

int64_t EdgeCache::staleWhileRevalidateMs(const HttpWire::ResponseHead &response) const
{
    std::string cat;
    const std::string_view cc = cacheControlOf(response, cat);
    // RFC 9111 4.2.4: these forbid any stale answer, one the response allows itself included;
    // s-maxage only a stale answer it did not allow (`s-maxage=60, stale-while-revalidate=300`
    // is how sites ask CDNs for it).
    if (hasDirective(cc, "must-revalidate"sv) || hasDirective(cc, "proxy-revalidate"sv)
        || hasDirective(cc, "no-cache"sv))
        return 0;
    if (const int64_t seconds = directiveSeconds(cc, "stale-while-revalidate"sv); seconds >= 0)
        return seconds * 1000;
    if (hasDirective(cc, "s-maxage"sv))
        return 0;
    return m_staleWhileRevalidateMs;
}

bool EdgeCache::claimRevalidation(const EdgeCachedResponse &response, int64_t nowMs, int64_t holdMs)
{
    int64_t notBefore = response.revalidation.notBeforeMs.load(std::memory_order_relaxed);
    return nowMs >= notBefore
           && response.revalidation.notBeforeMs.compare_exchange_strong(notBefore,
                                                                        nowMs + holdMs,
                                                                        std::memory_order_relaxed);
}

void EdgeCache::releaseRevalidation(const EdgeCachedResponse &response, int64_t retryAtMs)
{
    response.revalidation.notBeforeMs.store(retryAtMs, std::memory_order_relaxed);
}

void EdgeCache::countUpdating(const std::string &key)
{
    Shard &s = shardOf(key);
    std::lock_guard lock(s.mutex);
    ++s.hits;
    ++s.updating;
}

void EdgeCache::countStaleServed(const std::string &key)
{
    Shard &s = shardOf(key);
    std::lock_guard lock(s.mutex);
    ++s.staleServed;
}

void EdgeCache::countMiss(const std::string &key)
{
    Shard &s = shardOf(key);
    std::lock_guard lock(s.mutex);
    ++s.misses;
}

std::shared_ptr<EdgeCachedResponse> EdgeCache::begin(const HttpWire::RequestHead &request,
                                                     const HttpWire::ResponseHead &response,
                                                     uint64_t contentLength,
                                                     int64_t nowMs,
                                                     std::optional<uint64_t> purgeGeneration) const
{
    if (!storableStatus(response.status) || contentLength > uint64_t(m_maxObjectBytes))
        return nullptr;
    const int64_t lifetime = sharedLifetimeMs(response);
    if (lifetime < 0)
        return nullptr;
    auto r = std::make_shared<EdgeCachedResponse>();
    r->status = response.status;
    r->reason.assign(response.reason);
    r->storedMs = nowMs;
    r->expiresMs = nowMs + lifetime;
    r->purgeGeneration = purgeGeneration.value_or(this->purgeGeneration());
    r->staleIfErrorUntilMs = r->expiresMs + staleIfErrorMs(response);
    r->staleWhileRevalidateUntilMs = r->expiresMs + staleWhileRevalidateMs(response);
    std::string_view connection
            = headerValue(response.headers, response.headerCount, "connection"sv);
    for (int i = 0; i < response.headerCount; ++i) {
        const auto &h = response.headers[i];
        if (HttpWire::equalsIgnoreCase(h.name, "set-cookie"sv))
            return nullptr; // never share one user's cookie with another
        if (HttpWire::equalsIgnoreCase(h.name, "vary"sv)) {
            std::string_view list = h.value;
            while (!list.empty()) {
                const size_t comma = list.find(',');
                std::string_view item = list.substr(0, comma);
                while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
                    item.remove_prefix(1);
                while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
                    item.remove_suffix(1);
                if (item == "*"sv)
                    return nullptr;
                if (!item.empty())
                    r->vary.emplace_back(lowerCase(item),
                                         std::string(headerValue(request.headers,
                                                                 request.headerCount,
                                                                 item)));
                if (comma == std::string_view::npos)
                    break;
                list.remove_prefix(comma + 1);
            }
        }
        if (HttpWire::equalsIgnoreCase(h.name, "etag"sv))
            r->etag.assign(h.value);
        if (!storable(h.name, connection))
            continue;
        r->headers.append(h.name).append(": "sv).append(h.value).append("\r\n"sv);
        r->strictTransportSecurity = r->strictTransportSecurity
                                     || isStrictTransportSecurity(h.name);
    }
    if (lifetime == 0 && r->etag.empty())
        return nullptr; // stale at once and nothing to revalidate it with
    r->body.reserve(contentLength);
    return r;
}

void EdgeCache::store(const std::string &key, std::shared_ptr<const EdgeCachedResponse> response)
{
    Shard &s = shardOf(key);
    std::lock_guard lock(s.mutex);
    // Checked under the shard's lock: a purge scans each shard after it counts itself, so an
    // entry inserted here is either seen by its scan or sees its generation.
    if (purgedSince(response->purgeGeneration, key))
        return;
    s.insert(key, std::move(response));
}

bool EdgeCache::purgedSince(uint64_t since, const std::string &key) const
{
    if (m_purgeGeneration.load(std::memory_order_acquire) == since)
        return false;
    std::lock_guard lock(m_purgesMutex);
    if (m_recentPurges.empty() || m_recentPurges.front().first > since + 1)
        return true; // purges this entry may predate are forgotten: do not risk it
    for (const auto &[generation, purge] : m_recentPurges) {
        if (generation > since && purge.matches(key))
            return true;
    }
    return false;
}

size_t EdgeCache::purge(const EdgeCachePurge &purge)
{
    {
        std::lock_guard lock(m_purgesMutex);
        const uint64_t generation = m_purgeGeneration.load(std::memory_order_relaxed) + 1;
        m_recentPurges.emplace_back(generation, purge);
        if (m_recentPurges.size() > kRecentPurges)
            m_recentPurges.pop_front();
        m_purgeGeneration.store(generation, std::memory_order_release);
    }
    size_t removed = 0;
    for (int i = 0; i < kShards; ++i) {
        Shard &s = m_shards[size_t(i)];
        std::lock_guard lock(s.mutex);
        for (auto it = s.lru.begin(); it != s.lru.end();) {
            const auto next = std::next(it);
            if (purge.matches(it->key)) {
                s.erase(it);
                ++s.purged;
                ++removed;
            }
            it = next;
        }
    }
    return removed;
}

std::shared_ptr<const EdgeCachedResponse> EdgeCache::refresh(
        const std::string &key,
        const std::shared_ptr<const EdgeCachedResponse> &response,
        const HttpWire::ResponseHead &notModified,
        int64_t nowMs,
        bool countHit)
{
    auto copy = std::make_shared<EdgeCachedResponse>(*response);
    copy->headers = updatedHeaders(response->headers, notModified);
    // As updatedHeaders(): a storable field of the 304 is stored, beside or instead of ours.
    const std::string_view connection
            = headerValue(notModified.headers, notModified.headerCount, "connection"sv);
    for (int i = 0; i < notModified.headerCount; ++i) {
        const std::string_view name = notModified.headers[i].name;
        if (isStrictTransportSecurity(name) && storable(name, connection))
            copy->strictTransportSecurity = true;
    }
    if (const std::string_view etag
        = headerValue(notModified.headers, notModified.headerCount, "etag"sv);
        !etag.empty()) {
        copy->etag.assign(etag);
    }
    copy->storedMs = nowMs;
    const int64_t lifetimeMs = sharedLifetimeMs(notModified);
    // A 304 without freshness information keeps the lifetime the entry had.
    copy->expiresMs = nowMs
                      + (lifetimeMs >= 0 ? lifetimeMs : response->expiresMs - response->storedMs);
    // The 304's Cache-Control, when it has one, says again how stale the entry may be used.
    const bool newDirectives
            = !headerValue(notModified.headers, notModified.headerCount, "cache-control"sv).empty();
    copy->staleIfErrorUntilMs = copy->expiresMs
                                + (newDirectives
                                           ? staleIfErrorMs(notModified)
                                           : response->staleIfErrorUntilMs - response->expiresMs);
    copy->staleWhileRevalidateUntilMs = copy->expiresMs
                                        + (newDirectives ? staleWhileRevalidateMs(notModified)
                                                         : response->staleWhileRevalidateUntilMs
                                                                   - response->expiresMs);
    Shard &s = shardOf(key);
    std::lock_guard lock(s.mutex);
    if (countHit)
        ++s.hits;
    // A purge since the entry was fetched: serve this client the validated copy, keep none.
    if (!purgedSince(response->purgeGeneration, key))
        s.insert(key, copy);
    return copy;
}

void EdgeCache::remove(const std::string &key,
                       const std::shared_ptr<const EdgeCachedResponse> &response)
{
    Shard &s = shardOf(key);
    std::lock_guard lock(s.mutex);
    if (const auto it = s.index.find(key); it != s.index.end() && it->second->response == response)
        s.erase(it->second);
}

EdgeCache::Stats EdgeCache::stats() const
{
    Stats st;
    for (int i = 0; i < kShards; ++i) {
        Shard &s = m_shards[size_t(i)];
        std::lock_guard lock(s.mutex);
        st.hits += s.hits;
        st.misses += s.misses;
        st.evictions += s.evictions;
        st.entries += s.index.size();
        st.bytes += s.bytes;
        st.purged += s.purged;
        st.staleServed += s.staleServed;
        st.updating += s.updating;
    }
    return st;
}

} // namespace Meridian
