#pragma once

#include "core/edge/edgeconfig.h"

#include <QString>

#include <atomic>
#include <cstdint>
#include <memory>

namespace Meridian {

class AccessLog;
class EdgeCache;
class EdgeFetchRegistry;
class EdgeRouter;
class EdgeTlsContext;
class EdgeTraffic;

// What every worker of one gateway shares: all of it is safe to use from several threads.
struct EdgeShared
{
    EdgeConfig config;
    std::shared_ptr<EdgeRouter> router;
    std::shared_ptr<EdgeTraffic> traffic;
    std::shared_ptr<EdgeCache> cache;            // null when the cache is disabled
    std::shared_ptr<AccessLog> accessLog;        // null without edge.access_log
    std::shared_ptr<EdgeTlsContext> tls;         // null without edge.tls
    std::shared_ptr<EdgeTlsContext> upstreamTls; // the client side, for https:// regions
    std::shared_ptr<EdgeFetchRegistry> fetches;  // request collapsing across the workers
};

namespace Internal {
struct LoopState;
}

// One worker's event loop: an epoll set with its own SO_REUSEPORT listener, the client
// connections the kernel hands it, and its own upstream connection pools. Nothing in it is
// shared with other workers, so the request path takes no lock of its own (the shared cache's
// shard mutexes aside, and the request-collapsing registry's on a cacheable miss). The loop is
// edge-triggered, reads into per-connection buffers, parses each head once in place and forwards
// bodies with writev straight from the buffer they were read into.
class EdgeLoop
{
public:
    EdgeLoop(int index, std::shared_ptr<const EdgeShared> shared);
    ~EdgeLoop();
    EdgeLoop(const EdgeLoop &) = delete;
    EdgeLoop &operator=(const EdgeLoop &) = delete;

    // Opens the listener on `port` (0: any) with SO_REUSEPORT, and with edge.tls the HTTPS one
    // on `tlsPort`, in the caller's thread so that bind errors surface before the thread starts.
    bool listen(quint16 port, quint16 tlsPort, QString *error);
    // The ports actually bound (useful with port 0); tlsPort() is 0 without edge.tls.
    quint16 port() const;
    quint16 tlsPort() const;
    // TLS handshakes on the HTTPS port since start; safe from any thread.
    struct TlsCounters
    {
        quint64 full = 0;      // completed with a full handshake
        quint64 resumed = 0;   // completed by resuming a session (a ticket from any worker)
        quint64 failed = 0;    // the client hung up or spoke something that is not TLS 1.2+
        quint64 plainHttp = 0; // plain HTTP to the HTTPS port: answered 400, closed
    };
    TlsCounters tlsCounters() const;
    // Microseconds spent polling for events before sleeping (edge.busy_poll_us) since start;
    // safe from any thread.
    quint64 busyPollMicros() const;
    // Runs until stop(); call from the worker thread.
    void run();
    // Thread-safe: stop accepting, let in-flight exchanges finish for up to `graceMs`, return.
    void stop(int graceMs);

private:
    std::unique_ptr<Internal::LoopState> d;
};

} // namespace Meridian
