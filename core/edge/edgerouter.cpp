#include "core/edge/edgerouter.h"

#include <QHostAddress>
#include <QHostInfo>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

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
    const quint16 port = quint16(url.port(80));
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

} // namespace

EdgeRouter::EdgeRouter(const EdgeConfig &config, const QList<Region> &regions)
    : m_config(config)
    , m_regions(regions)
{
    int total = 0;
    for (const Region &r : regions)
        total += int(r.endpoints.size());
    m_endpoints = std::make_unique<EdgeEndpoint[]>(size_t(total));
    m_regionEndpoints.resize(size_t(regions.size()));
    int n = 0;
    for (int ri = 0; ri < regions.size(); ++ri) {
        for (const QUrl &url : regions[ri].endpoints) {
            EdgeEndpoint &e = m_endpoints[size_t(n)];
            if (!resolve(url, e))
                continue;
            e.region = ri;
            e.regionId = regions[ri].id.toStdString();
            e.url = url.toString();
            m_regionEndpoints[size_t(ri)].push_back(n);
            ++n;
        }
    }
    m_endpointCount.store(n, std::memory_order_release);
}

EdgeRouter::~EdgeRouter() = default;

bool EdgeRouter::pick(const HttpWire::RequestHead &head,
                      std::string_view clientAddress,
                      uint64_t excludedRegions,
                      EdgePick &out)
{
    Q_UNUSED(head);
    Q_UNUSED(clientAddress);
    const int regions = int(m_regions.size());
    for (int tries = 0; tries < regions; ++tries) {
        const int r = int(m_next.fetch_add(1, std::memory_order_relaxed) % uint64_t(regions));
        if ((excludedRegions >> r) & 1 || m_regionEndpoints[size_t(r)].empty())
            continue;
        out.region = r;
        out.endpoint = m_regionEndpoints[size_t(r)].front();
        return true;
    }
    return false;
}

void EdgeRouter::release(const EdgePick &pick, bool ok, uint64_t latencyUs)
{
    Q_UNUSED(pick);
    Q_UNUSED(ok);
    Q_UNUSED(latencyUs);
}

} // namespace Meridian
