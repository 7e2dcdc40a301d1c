#include "core/edge/edgecachepurge.h"

#include <algorithm>

using namespace std::string_view_literals;

namespace Meridian {

EdgeCachePurge::EdgeCachePurge(std::string host, std::vector<std::string> patterns)
    : m_host(std::move(host))
    , m_patterns(std::move(patterns))
{
    std::transform(m_host.begin(), m_host.end(), m_host.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c;
    });
    for (const std::string &pattern : m_patterns) {
        const std::string_view p = pattern;
        if (p.empty())
            continue;
        if (p.back() == '*')
            m_prefixes.push_back(p.substr(0, p.size() - 1));
        else if (p.find('?') != std::string_view::npos)
            m_targets.insert(p);
        else
            m_paths.insert(p);
    }
}

EdgeCachePurge::EdgeCachePurge(const EdgeCachePurge &other)
    : EdgeCachePurge(other.m_host, other.m_patterns)
{}

EdgeCachePurge &EdgeCachePurge::operator=(const EdgeCachePurge &other)
{
    if (this != &other)
        *this = EdgeCachePurge(other.m_host, other.m_patterns);
    return *this;
}

std::string EdgeCachePurge::invalidPattern(std::string_view pattern)
{
    if (pattern.empty() || pattern.front() != '/')
        return "a path must start with '/' (\"/index.html\", \"/assets/*\")";
    if (pattern.size() > 8192)
        return "a path may be at most 8192 bytes long";
    for (size_t i = 0; i < pattern.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(pattern[i]);
        if (c <= 0x20 || c == 0x7f)
            return "a path may not hold spaces or control characters (percent-encode them as "
                   "the site's URLs do)";
        if (c == '*' && i + 1 != pattern.size())
            return "'*' may only end a path (a prefix: \"/assets/*\")";
        if (c == '#')
            return "a path has no fragment ('#'): browsers never send one";
    }
    return {};
}

bool EdgeCachePurge::hostMatches(std::string_view keyHost) const
{
    if (m_host.empty() || keyHost == m_host)
        return true;
    // "example.com" matches "example.com:8080"; "[::1]" matches "[::1]:8080".
    const bool hostHasPort = m_host.back() != ']' && m_host.find(':') != std::string::npos;
    return !hostHasPort && keyHost.size() > m_host.size() + 1
           && keyHost.substr(0, m_host.size()) == m_host && keyHost[m_host.size()] == ':';
}

bool EdgeCachePurge::matches(std::string_view key) const
{
    const size_t space = key.find(' ');
    if (space == std::string_view::npos || !hostMatches(key.substr(0, space)))
        return false;
    const std::string_view target = key.substr(space + 1);
    if (m_targets.contains(target) || m_paths.contains(target.substr(0, target.find('?'))))
        return true;
    return std::any_of(m_prefixes.begin(), m_prefixes.end(), [target](std::string_view prefix) {
        return target.starts_with(prefix);
    });
}

} // namespace Meridian
