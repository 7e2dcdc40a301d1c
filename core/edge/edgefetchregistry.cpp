#include "core/edge/edgefetchregistry.h"

#include <algorithm>
#include <cstdint>
#include <unistd.h>

namespace Meridian {

EdgeFetchRegistry::EdgeFetchRegistry(int workers)
    : m_inboxes(size_t(std::max(1, workers)))
    , m_handedOn(size_t(std::max(1, workers)))
    , m_wakeFds(size_t(std::max(1, workers)), -1)
{}

void EdgeFetchRegistry::setWakeFd(int worker, int fd)
{
    std::lock_guard lock(m_mutex);
    m_wakeFds[size_t(worker)] = fd;
}

bool EdgeFetchRegistry::join(const std::string &key, int worker, void *waiter)
{
    std::lock_guard lock(m_mutex);
    auto [fetch, first] = m_fetches.try_emplace(key);
    if (first)
        return false;
    fetch->second.waiters.emplace_back(worker, waiter);
    return true;
}

void EdgeFetchRegistry::finish(const std::string &key, int callerWorker)
{
    std::lock_guard lock(m_mutex);
    const auto it = m_fetches.find(key);
    if (it == m_fetches.end())
        return;
    for (const auto &[worker, waiter] : it->second.waiters) {
        auto &inbox = m_inboxes[size_t(worker)];
        // Woken once per batch. Under the lock, so that a worker that stops (setWakeFd(-1)
        // before it closes the descriptor) is never written to afterwards.
        if (inbox.empty() && worker != callerWorker && m_wakeFds[size_t(worker)] >= 0) {
            const uint64_t one = 1;
            [[maybe_unused]] const ssize_t n = ::write(m_wakeFds[size_t(worker)], &one, sizeof one);
        }
        inbox.push_back(waiter);
        m_handedOn[size_t(worker)].store(true, std::memory_order_release);
    }
    m_fetches.erase(it);
}

void EdgeFetchRegistry::forget(const std::string &key, int worker, void *waiter)
{
    std::lock_guard lock(m_mutex);
    if (const auto it = m_fetches.find(key); it != m_fetches.end())
        std::erase(it->second.waiters, std::make_pair(worker, waiter));
    std::erase(m_inboxes[size_t(worker)], waiter);
}

void EdgeFetchRegistry::takeInbox(int worker, std::vector<void *> &out)
{
    // Set under the lock by finish(), which also wakes the worker (or is the worker): a flag
    // seen false now is seen true on the loop turn the wake-up causes.
    if (!m_handedOn[size_t(worker)].load(std::memory_order_acquire))
        return;
    std::lock_guard lock(m_mutex);
    m_handedOn[size_t(worker)].store(false, std::memory_order_relaxed);
    auto &inbox = m_inboxes[size_t(worker)];
    out.insert(out.end(), inbox.begin(), inbox.end());
    inbox.clear();
}

} // namespace Meridian
