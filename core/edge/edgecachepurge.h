#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace Meridian {

// Which cached responses an operator's purge removes (POST /v1/cache/purge): request targets as
// the edge cache keys them (docs/control-api.md). A pattern is
//   - a path ("/index.html"): that path with any query string;
//   - a path with a query ("/search?q=x"): exactly that target;
//   - a prefix ending in '*' ("/assets/*", "/*" for everything): every target starting with it.
// `host` (lower case, empty for every host) limits the purge to one site; without a port it
// matches that host on any port.
class EdgeCachePurge
{
public:
    EdgeCachePurge() = default;
    EdgeCachePurge(std::string host, std::vector<std::string> patterns);
    // The lookup sets view into the patterns: a copy builds its own; a move keeps them valid.
    EdgeCachePurge(const EdgeCachePurge &other);
    EdgeCachePurge &operator=(const EdgeCachePurge &other);
    EdgeCachePurge(EdgeCachePurge &&other) noexcept = default;
    EdgeCachePurge &operator=(EdgeCachePurge &&other) noexcept = default;

    // Why `pattern` is not one, or empty when it is.
    static std::string invalidPattern(std::string_view pattern);

    // Whether the entry with cache key `key` (EdgeCache::keyOf: "host target") is purged.
    bool matches(std::string_view key) const;

    const std::string &host() const { return m_host; }
    const std::vector<std::string> &patterns() const { return m_patterns; }

private:
    bool hostMatches(std::string_view keyHost) const;

    std::string m_host;
    std::vector<std::string> m_patterns;
    // The patterns by kind, so a purge of many paths costs one lookup per cached entry, not one
    // comparison per path: paths (any query), whole targets, and prefixes (without the '*').
    std::unordered_set<std::string_view> m_paths;
    std::unordered_set<std::string_view> m_targets;
    std::vector<std::string_view> m_prefixes;
};

} // namespace Meridian
