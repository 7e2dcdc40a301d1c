#include "core/balancing/pickresult.h"

#include "core/balancing/balancer.h"
#include "core/balancing/balancerstats.h"

using namespace Qt::StringLiterals;

namespace Meridian {

PickResult::PickResult(Refusal refusal)
    : m_refusal(refusal)
{}

PickResult::PickResult(const Balancer *balancer, Internal::EndpointStats *endpoint, bool panic)
    : m_balancer(balancer)
    , m_endpoint(endpoint)
    , m_panic(panic)
    , m_active(endpoint != nullptr)
{}

PickResult::PickResult(PickResult &&other) noexcept
    : m_balancer(other.m_balancer)
    , m_endpoint(other.m_endpoint)
    , m_refusal(other.m_refusal)
    , m_panic(other.m_panic)
    , m_active(std::exchange(other.m_active, false))
{}

PickResult &PickResult::operator=(PickResult &&other) noexcept
{
    if (this != &other) {
        finish();
        m_balancer = other.m_balancer;
        m_endpoint = other.m_endpoint;
        m_refusal = other.m_refusal;
        m_panic = other.m_panic;
        m_active = std::exchange(other.m_active, false);
    }
    return *this;
}

PickResult::~PickResult()
{
    finish();
}

const QString &PickResult::regionId() const
{
    static const QString none;
    return m_endpoint ? m_endpoint->region->id : none;
}

const QString &PickResult::endpointUrl() const
{
    static const QString none;
    return m_endpoint ? m_endpoint->url : none;
}

int PickResult::endpointTag() const
{
    return m_endpoint ? m_endpoint->tag.load(std::memory_order_relaxed) : -1;
}

QString PickResult::refusalMessage() const
{
    switch (m_refusal) {
    case Refusal::None:
        return {};
    case Refusal::NoEligibleRegion:
        return u"no region is eligible (active, dial above 0, a healthy endpoint) and the panic "
               "mode is 'refuse'; activate a region, fix its health or set panic mode 'spread'"_s;
    case Refusal::NothingToSpread:
        return u"no region is active with a dial above 0 and an endpoint, so there is nowhere "
               "to send requests; activate a region or raise its dial"_s;
    case Refusal::AllExcluded:
        return u"every region that could take this request has already failed it"_s;
    }
    return {};
}

void PickResult::finish(std::chrono::nanoseconds latency)
{
    if (!m_active)
        return;
    m_balancer->observeLatency(m_endpoint->region, latency);
    finish();
}

void PickResult::finish()
{
    if (!m_active)
        return;
    m_active = false;
    m_endpoint->inFlight.fetch_sub(1, std::memory_order_relaxed);
    m_endpoint->region->inFlight.fetch_sub(1, std::memory_order_relaxed);
}

} // namespace Meridian
