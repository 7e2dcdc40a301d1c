#include "core/edge/edgerouter.h"

#include "core/balancing/outlierdetector.h"
#include "core/edge/clientlocator.h"

#include <QHostAddress>
#include <QHostInfo>
#include <QLoggingCategory>
#include <QVarLengthArray>

#include <arpa/inet.h>
#include <bit>
#include <chrono>
#include <cstring>
#include <netinet/in.h>

using namespace Qt::StringLiterals;

Q_DECLARE_LOGGING_CATEGORY(lcEdgeProxy)

namespace Meridian {

namespace {

bool resolve(const QUrl &url, EdgeEndpoint &out)
{
    QHostAddress address(url.host());
    if (address.isNull()) {
        const QHostInfo info = QHostInfo::fromName(url.host());
        if (info.addresses().isEmpty())
            return false;
        address = info.addresses().constFirst();
    }
    out.tls = url.scheme() == u"https"_s;
    out.serverName = url.host().toStdString();
    const quint16 port = quint16(url.port(out.tls ? 443 : 80));
    std::memset(&out.address, 0, sizeof out.address);
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *sin = reinterpret_cast<sockaddr_in *>(&out.address);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr.s_addr = htonl(address.toIPv4Address());
        out.addressLength = sizeof(sockaddr_in);
    } else {
        auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&out.address);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        const Q_IPV6ADDR a = address.toIPv6Address();
        std::memcpy(&sin6->sin6_addr, a.c, 16);
        out.addressLength = sizeof(sockaddr_in6);
    }
    return true;
}

// The value of cookie `name` in a Cookie header value ("a=1; b=2"), or empty.
std::string_view cookieValue(std::string_view header, std::string_view name)
{
    while (!header.empty()) {
        const size_t semicolon = header.find(';');
        const std::string_view pair = HttpWire::trimOws(header.substr(0, semicolon));
        const size_t eq = pair.find('=');
        if (eq != std::string_view::npos && HttpWire::trimOws(pair.substr(0, eq)) == name)
            return HttpWire::trimOws(pair.substr(eq + 1));
        if (semicolon == std::string_view::npos)
            break;
        header.remove_prefix(semicolon + 1);
    }
    return {};
}

QString endpointKey(const QString &regionId, const QString &url)
{
    return regionId + QChar(u'\n') + url;
}

} // namespace

EdgeRouter::EdgeRouter(const EdgeConfig &config)
    : m_config(config)
    , m_balancer(std::make_unique<Balancer>())
    , m_endpoints(std::make_unique<EdgeEndpoint[]>(size_t(kMaxEndpoints)))
{
    const QString key = config.hashKey;
    if (key.startsWith(u"header:"_s)) {
        m_hashSource = HashSource::Header;
        m_hashName = key.mid(7).toStdString();
    } else if (key.startsWith(u"cookie:"_s)) {
        m_hashSource = HashSource::Cookie;
        m_hashName = key.mid(7).toStdString();
    }
    m_locator = ClientLocator::create(config, &m_locatorError);
    if (!m_locator && m_locatorError.isEmpty())
        m_locatorError = u"the client locator could not be set up"_s;
    if (m_locator)
        m_locatorError.clear();
}

EdgeRouter::EdgeRouter(const EdgeConfig &config, const QList<Region> &regions)
    : EdgeRouter(config)
{
    BalancerConfig balancer;
    balancer.unknownIsHealthy = true;
    for (const Region &r : regions) {
        Meridian::Region region;
        region.id = r.id;
        region.name = r.id;
        for (const QUrl &url : r.endpoints)
            region.endpoints.append({url.toString(), HealthState::Unknown, false});
        balancer.regions.append(region);
    }
    QString error;
    if (!setConfig(balancer, &error))
        qCWarning(lcEdgeProxy).noquote() << "edge router:" << error;
}

EdgeRouter::~EdgeRouter() = default;

int EdgeRouter::regionIndex(const QString &id) const
{
    const int n = regionCount();
    for (int i = 0; i < n; ++i) {
        if (m_regionIds[size_t(i)] == id)
            return i;
    }
    return -1;
}

int EdgeRouter::registerRegion(const QString &id)
{
    const int known = regionIndex(id);
    if (known >= 0)
        return known;
    const int n = m_regionCount.load(std::memory_order_relaxed);
    if (n >= kMaxRegions)
        return -1;
    m_regionIds[size_t(n)] = id;
    m_regionCount.store(n + 1, std::memory_order_release);
    return n;
}

int EdgeRouter::registerEndpoint(int region, const QString &url, QString *error)
{
    const int n = m_endpointCount.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) {
        if (m_endpoints[size_t(i)].region == region && m_endpoints[size_t(i)].url == url)
            return i;
    }
    if (n >= kMaxEndpoints) {
        *error = u"more than %1 endpoints; %2 is left out"_s.arg(kMaxEndpoints).arg(url);
        return -1;
    }
    EdgeEndpoint &e = m_endpoints[size_t(n)];
    if (!resolve(QUrl(url), e)) {
        *error = u"cannot resolve the host of %1; it is left out"_s.arg(url);
        return -1;
    }
    e.region = region;
    e.regionId = m_regionIds[size_t(region)].toStdString();
    e.url = url;
    m_balancer->setEndpointTag(m_regionIds[size_t(region)], url, n);
    m_endpointCount.store(n + 1, std::memory_order_release);
    return n;
}

bool EdgeRouter::setConfig(const BalancerConfig &config, QString *error)
{
    QMutexLocker lock(&m_writeMutex);
    BalancerConfig next = config;
    QStringList problems;
    for (Meridian::Region &region : next.regions) {
        const int r = registerRegion(region.id);
        if (r < 0) {
            problems.append(
                    u"more than %1 regions; %2 is left out"_s.arg(kMaxRegions).arg(region.id));
            region.endpoints.clear();
            continue;
        }
        QList<Endpoint> usable;
        for (Endpoint endpoint : region.endpoints) {
            QString why;
            if (registerEndpoint(r, endpoint.url, &why) < 0) {
                problems.append(why);
                continue;
            }
            if (m_ejected.contains(endpointKey(region.id, endpoint.url)))
                endpoint.ejected = true;
            usable.append(endpoint);
        }
        region.endpoints = usable;
    }
    const auto result = m_balancer->setConfig(next);
    if (!result) {
        if (error)
            *error = result.error();
        return false;
    }
    m_strategy.store(int(strategyFromName(next.strategy).value_or(StrategyKind::RoundRobin)),
                     std::memory_order_relaxed);
    if (error)
        *error = problems.join(u"; "_s);
    return true;
}

BalancerConfig EdgeRouter::config() const
{
    return m_balancer->config();
}

void EdgeRouter::setEjected(const QString &regionId, const QString &url, bool ejected)
{
    QMutexLocker lock(&m_writeMutex);
    const QString key = endpointKey(regionId, url);
    if (ejected)
        m_ejected.insert(key);
    else
        m_ejected.remove(key);
    // Unknown endpoints (configured away meanwhile) are not an error here.
    (void) m_balancer->setEndpointEjected(regionId, url, ejected);
}

std::string_view EdgeRouter::hashKey(const HttpWire::RequestHead &head,
                                     std::string_view clientAddress) const
{
    if (m_hashSource == HashSource::ClientAddress)
        return clientAddress;
    const std::string_view wanted = m_hashSource == HashSource::Header
                                            ? std::string_view(m_hashName)
                                            : std::string_view("cookie");
    for (int i = 0; i < head.headerCount; ++i) {
        if (!HttpWire::equalsIgnoreCase(head.headers[i].name, wanted))
            continue;
        if (m_hashSource == HashSource::Header)
            return head.headers[i].value;
        const std::string_view value = cookieValue(head.headers[i].value, m_hashName);
        if (!value.empty())
            return value;
    }
    return {};
}

bool EdgeRouter::pick(const HttpWire::RequestHead &head,
                      std::string_view clientAddress,
                      uint64_t excludedRegions,
                      EdgePick &out)
{
    // Only what the current strategy reads: the key and the location cost a header scan (and a
    // MaxMind lookup) that round_robin does not need.
    PickRequest request;
    const auto kind = static_cast<StrategyKind>(m_strategy.load(std::memory_order_relaxed));
    if (kind == StrategyKind::ConsistentHash) {
        const std::string_view key = hashKey(head, clientAddress);
        request.hashKey = QByteArrayView(key.data(), qsizetype(key.size()));
    } else if (kind == StrategyKind::GeoProximity && m_locator) {
        if (const auto location = m_locator->locate(head, clientAddress))
            request.client = GeoPoint::fromDegrees(location->lat, location->lon);
    }
    QVarLengthArray<QString, 4> excluded;
    for (uint64_t bits = excludedRegions; bits != 0; bits &= bits - 1) {
        const int r = std::countr_zero(bits);
        if (r < regionCount())
            excluded.append(m_regionIds[size_t(r)]);
    }
    request.excludedRegions = std::span<const QString>(excluded.constData(),
                                                       size_t(excluded.size()));

    PickResult result = m_balancer->pick(request);
    if (!result)
        return false;
    const int tag = result.endpointTag();
    if (tag < 0 || tag >= endpointCount())
        return false; // not registered (cannot happen: setConfig registers before installing)
    out.endpoint = tag;
    out.region = m_endpoints[size_t(tag)].region;
    out.result = std::move(result);
    return true;
}

void EdgeRouter::release(EdgePick &pick, bool ok, uint64_t latencyUs)
{
    if (pick.result.finished())
        return;
    if (ok)
        pick.result.finish(std::chrono::microseconds(latencyUs));
    else
        pick.result.finish();
    if (pick.endpoint < 0 || !m_outliers)
        return;
    EdgeEndpoint &e = m_endpoints[size_t(pick.endpoint)];
    if (ok) {
        // Lock-free unless this endpoint failed since its last success.
        if (e.failures.load(std::memory_order_relaxed) == 0)
            return;
        e.failures.store(0, std::memory_order_relaxed);
        m_outliers->recordSuccess({m_regionIds[size_t(e.region)], e.url});
    } else {
        e.failures.fetch_add(1, std::memory_order_relaxed);
        m_outliers->recordFailure({m_regionIds[size_t(e.region)], e.url});
    }
}

} // namespace Meridian
