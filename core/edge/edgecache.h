#pragma once

#include "core/edge/edgecachepurge.h"
#include "core/edge/httpwire.h"

#include <QtGlobal>

#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace Meridian {

// One cached response: status, end-to-end header lines (CRLF-terminated, hop-by-hop removed),
// the body, and what decides its freshness and variant.
struct EdgeCachedResponse
{
    int status = 200;
    std::string reason;
    std::string headers;
    std::string body;
    std::string etag;
    bool strictTransportSecurity = false;    // the headers hold one (the edge adds none then)
    int64_t storedMs = 0;                    // monotonic
    int64_t expiresMs = 0;                   // monotonic; stale after
    uint64_t purgeGeneration = 0;            // the cache's purge count when its fetch began
    int64_t staleIfErrorUntilMs = 0;         // monotonic; may answer for a failed region until
    int64_t staleWhileRevalidateUntilMs = 0; // monotonic; may answer while refreshed until
    // Stale while revalidate: when a worker may start this entry's background revalidation
    // (monotonic ms). One worker claims it at a time; a copy of the entry starts unclaimed.
    struct RevalidationClaim
    {
        mutable std::atomic<int64_t> notBeforeMs{0};
        RevalidationClaim() = default;
        RevalidationClaim(const RevalidationClaim &) {}
        RevalidationClaim &operator=(const RevalidationClaim &) { return *this; }
    } revalidation;
    // The request header values the response varies on (Vary), lower-case names.
    std::vector<std::pair<std::string, std::string>> vary;

    size_t cost() const;
};

// The edge cache: GET responses (200, and redirects and 404s that say how long they last) kept
// per Cache-Control (s-maxage over max-age; never no-store or private) and Vary (one variant
// per URL, the latest), revalidated with ETag when stale, bounded in bytes with LRU eviction.
// Sharded by key, one mutex per shard: workers contend only when they touch the same shard at the
// same instant, never on a global lock.
class EdgeCache
{
public:
    // `staleIfErrorMs`: how long past its freshness any response that does not forbid it may
    // answer when no region can (edge.cache.stale_if_error_s); `staleWhileRevalidateMs`: how
    // long it may answer at once while the edge refreshes it in the background
    // (edge.cache.stale_while_revalidate_s). A response's own directives (RFC 5861) win.
    EdgeCache(qint64 maxBytes,
              qint64 maxObjectBytes,
              qint64 staleIfErrorMs = 0,
              qint64 staleWhileRevalidateMs = 0);
    ~EdgeCache();

    enum class Freshness { Miss, Fresh, Stale };
    struct Hit
    {
        Freshness freshness = Freshness::Miss;
        std::shared_ptr<const EdgeCachedResponse> response;
    };

    // The cache key of a request: its Host and target.
    static void keyOf(const HttpWire::RequestHead &request, std::string &key);
    // Whether a request may be answered from the cache at all, and whether it demands
    // revalidation (Cache-Control: no-cache / max-age=0, Pragma: no-cache).
    static bool cacheableRequest(const HttpWire::RequestHead &request, bool &mustRevalidate);
    // The freshness lifetime a response allows a shared cache: 0 when it may be stored but must
    // be revalidated before every use (no-cache, max-age=0), -1 when it must not be stored.
    static int64_t sharedLifetimeMs(const HttpWire::ResponseHead &response);
    // Whether a response with this status may be stored (given a shared-cache lifetime): the
    // statuses RFC 9110 15.1 calls heuristically cacheable, and temporary redirects, but never
    // a partial answer (206: ranges pass through) or a server error other than 501.
    static bool storableStatus(int status);
    // How long after its freshness ends a response stored at `expiresMs` may still answer a
    // request no region could: its stale-if-error, or the cache's allowance unless it forbids
    // serving it stale (must-revalidate, proxy-revalidate, s-maxage, no-cache).
    int64_t staleIfErrorMs(const HttpWire::ResponseHead &response) const;
    // How long after its freshness ends a response may answer at once while the edge fetches a
    // fresh copy in the background: its stale-while-revalidate (unless no-cache,
    // must-revalidate or proxy-revalidate forbid any stale use), or the cache's allowance
    // unless it forbids serving it stale (those, or s-maxage).
    int64_t staleWhileRevalidateMs(const HttpWire::ResponseHead &response) const;
    // Whether a request at `nowMs` may take on the background revalidation of `response`
    // (stale, within stale-while-revalidate): true for one caller until `holdMs` passed or
    // releaseRevalidation() was called.
    static bool claimRevalidation(const EdgeCachedResponse &response, int64_t nowMs, int64_t holdMs);
    // A background revalidation failed: the next one may start at `retryAtMs`.
    static void releaseRevalidation(const EdgeCachedResponse &response, int64_t retryAtMs);

    Hit lookup(const std::string &key, const HttpWire::RequestHead &request, int64_t nowMs);
    // The count of purges so far: taken when a request leaves for a region and given to
    // begin(), so that a purge applied while the region works keeps its answer out.
    uint64_t purgeGeneration() const { return m_purgeGeneration.load(std::memory_order_acquire); }
    // Builds the entry for a response being received (body appended by the caller), or null
    // when it must not be stored. `purgeGeneration`: purgeGeneration() when its request left
    // (store() drops it if a later purge matches it); by default, now.
    std::shared_ptr<EdgeCachedResponse> begin(const HttpWire::RequestHead &request,
                                              const HttpWire::ResponseHead &response,
                                              uint64_t contentLength,
                                              int64_t nowMs,
                                              std::optional<uint64_t> purgeGeneration
                                              = std::nullopt) const;
    void store(const std::string &key, std::shared_ptr<const EdgeCachedResponse> response);
    // A 304 answered a revalidation of `response`: returns (and stores) the entry with the
    // 304's header fields in place of the stored ones (RFC 9111 4.3.4: Date, Cache-Control,
    // the region that validated it, ...), fresh for the lifetime the 304 gives, or for the one
    // it had when the 304 gives none.
    // `countHit`: the 304 answers a client (not a background revalidation).
    std::shared_ptr<const EdgeCachedResponse> refresh(
            const std::string &key,
            const std::shared_ptr<const EdgeCachedResponse> &response,
            const HttpWire::ResponseHead &notModified,
            int64_t nowMs,
            bool countHit = true);
    // Removes `response` from under `key` if it is still the one stored there (a region no
    // longer gives it: a background revalidation was answered 404, say).
    void remove(const std::string &key, const std::shared_ptr<const EdgeCachedResponse> &response);

    // Removes every entry `purge` matches and returns how many. A response whose fetch began
    // before the purge and that it matches is not stored when it completes (it may predate the
    // deploy the purge is for).
    size_t purge(const EdgeCachePurge &purge);

    qint64 maxObjectBytes() const { return m_maxObjectBytes; }
    struct Stats
    {
        quint64 hits = 0;
        quint64 misses = 0;
        quint64 evictions = 0;
        quint64 entries = 0;
        quint64 bytes = 0;
        quint64 purged = 0;      // entries removed by purges
        quint64 staleServed = 0; // answers from stale entries while regions failed
        quint64 updating = 0;    // answers from stale entries while refreshed in the background
    };
    Stats stats() const;
    void countMiss(const std::string &key);
    // A stale entry answered because no region could.
    void countStaleServed(const std::string &key);
    // A stale entry answered (a hit) while the edge refreshes it (stale-while-revalidate).
    void countUpdating(const std::string &key);

private:
    struct Shard;
    Shard &shardOf(const std::string &key);
    // Whether a purge since generation `since` matches `key`; called with its shard locked.
    bool purgedSince(uint64_t since, const std::string &key) const;

    std::unique_ptr<Shard[]> m_shards;
    std::atomic<uint64_t> m_purgeGeneration{0};
    mutable std::mutex m_purgesMutex;
    std::deque<std::pair<uint64_t, EdgeCachePurge>> m_recentPurges; // (generation, purge)
    qint64 m_maxObjectBytes;
    qint64 m_staleIfErrorMs;
    qint64 m_staleWhileRevalidateMs;
};

} // namespace Meridian
