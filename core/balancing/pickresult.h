#pragma once

#include <QString>

#include <chrono>

namespace Meridian {

class Balancer;
namespace Internal {
struct EndpointStats;
}

// Why a pick chose nothing.
enum class Refusal {
    None,
    NoEligibleRegion, // nothing eligible and the panic mode is `refuse`
    NothingToSpread,  // nothing eligible, and no active region with a non-zero dial and an endpoint
    AllExcluded,      // every region the pick could use is in PickRequest::excludedRegions
};

// The outcome of Balancer::pick: the chosen region and endpoint, or a refusal with its reason.
// A successful result counts as one in-flight request of its region and endpoint until finish()
// is called or the result is destroyed, whichever comes first; finish(latency) also feeds the
// latency estimate of latency_ewma. Move-only; must not outlive its Balancer.
class PickResult
{
public:
    PickResult() = default;
    explicit PickResult(Refusal refusal);
    PickResult(const Balancer *balancer, Internal::EndpointStats *endpoint, bool panic);
    PickResult(PickResult &&other) noexcept;
    PickResult &operator=(PickResult &&other) noexcept;
    PickResult(const PickResult &) = delete;
    PickResult &operator=(const PickResult &) = delete;
    ~PickResult();

    bool ok() const { return m_endpoint != nullptr; }
    explicit operator bool() const { return ok(); }
    // Empty strings when refused.
    const QString &regionId() const;
    const QString &endpointUrl() const;
    // The tag the owner gave the endpoint with Balancer::setEndpointTag, or -1.
    int endpointTag() const;
    // Chosen by the panic spread (nothing was eligible): the endpoint may be unhealthy.
    bool panic() const { return m_panic; }
    Refusal refusal() const { return m_refusal; }
    // What went wrong and what to do, for logs and error pages; empty when ok().
    QString refusalMessage() const;

    // The request is over: releases the in-flight slot and records its latency.
    void finish(std::chrono::nanoseconds latency);
    // The request is over without a meaningful latency (cancelled, connect error).
    void finish();
    bool finished() const { return !m_active; }

private:
    const Balancer *m_balancer = nullptr;
    Internal::EndpointStats *m_endpoint = nullptr;
    Refusal m_refusal = Refusal::None;
    bool m_panic = false;
    bool m_active = false; // holds an in-flight slot
};

} // namespace Meridian
