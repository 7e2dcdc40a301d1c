#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace Meridian {

// Request collapsing across worker threads: per cache key, the one request fetching it and the
// requests (of any worker) waiting for its answer. When the fetch ends, each waiter is handed
// to its own worker's inbox and that worker is woken (its eventfd); a worker only ever resumes,
// closes or frees its own requests. One mutex guards the fetches and the inboxes together, so a
// waiter that leaves (forget()) is never handed on after it is gone. The lock is taken on a
// cacheable miss only, never on a hit or for a URL known not to be stored; a worker looks at
// its inbox under it only when a flag of its own says something was handed to it.
class EdgeFetchRegistry
{
public:
    explicit EdgeFetchRegistry(int workers);
    EdgeFetchRegistry(const EdgeFetchRegistry &) = delete;
    EdgeFetchRegistry &operator=(const EdgeFetchRegistry &) = delete;

    // The eventfd that wakes `worker`'s loop (written with 1 to wake it); -1 before the worker
    // closes it.
    void setWakeFd(int worker, int fd);
    // True: another request fetches `key`, and `waiter` now waits for it; false: nobody did,
    // and the caller leads the fetch (it must call finish()).
    bool join(const std::string &key, int worker, void *waiter);
    // The leader's fetch of `key` is over: its waiters go to their workers' inboxes, and those
    // workers are woken (not `callerWorker`, which looks at its inbox after its events anyway).
    void finish(const std::string &key, int callerWorker);
    // `waiter` (of `worker`) no longer waits for `key`: out of the fetch and out of the inbox.
    void forget(const std::string &key, int worker, void *waiter);
    // The waiters handed to `worker` since its last call, appended to `out` (no lock taken
    // when none was).
    void takeInbox(int worker, std::vector<void *> &out);

private:
    struct Fetch
    {
        std::vector<std::pair<int, void *>> waiters; // (worker, request)
    };
    std::mutex m_mutex;
    std::unordered_map<std::string, Fetch> m_fetches;
    std::vector<std::vector<void *>> m_inboxes;
    std::vector<std::atomic<bool>> m_handedOn; // per worker: its inbox may hold waiters
    std::vector<int> m_wakeFds;
};

} // namespace Meridian
