#pragma once

#include "core/util/tlsfiles.h"

#include <QByteArray>
#include <QList>
#include <QtGlobal>

#include <chrono>
#include <utility>

namespace Meridian {

// Limits and timeouts of an HttpServer. Defaults suit a control or data API on the Internet;
// tests shorten the timeouts.
struct HttpServerConfig
{
    // 0: serve on the thread that owns the HttpServer. N > 0: N threads, each with its own event
    // loop and its own SO_REUSEPORT listening socket on the same port (the kernel spreads
    // connections); handlers then run on those threads.
    int workerThreads = 0;
    qsizetype maxHeaderBytes = 16 * 1024;  // request line + headers → 431 beyond
    int maxHeaderCount = 100;              // → 431 beyond
    qint64 maxBodyBytes = 8 * 1024 * 1024; // → 413 beyond
    int maxPipelinedRequests = 16;         // requests queued per connection before reading pauses
    qint64 maxConnections = 10000;         // accepted connections beyond are closed at once
    qint64 maxStreamBufferBytes = 8 * 1024 * 1024; // a streaming reader this far behind is cut
    // Whole request line + headers must arrive within this (slowloris) → 408.
    std::chrono::milliseconds headerTimeout{10'000};
    // Longest pause between two reads of a request body → 408.
    std::chrono::milliseconds bodyTimeout{30'000};
    // The whole request, head and body, must arrive within this (a client trickling its body
    // just fast enough to dodge bodyTimeout) → 408.
    std::chrono::milliseconds requestTimeout{120'000};
    // Keep-alive connection with nothing to do is closed after this.
    std::chrono::milliseconds idleTimeout{75'000};
    // Longest pause in the client reading our response before the connection is dropped.
    std::chrono::milliseconds writeTimeout{30'000};
    // After a final response, how long unread request bytes are drained before closing.
    std::chrono::milliseconds lingerTimeout{2'000};
    int listenBacklog = 1024;
    QByteArray serverHeader; // sent as "Server:" when not empty
    // HTTPS: the certificate and key this server presents (read for each connection); client
    // certificates are not asked for. Not enabled: plain HTTP.
    TlsFiles tls;
    // Sent on every response, the server's own errors (400, 408, 413, 431...) included, unless
    // the handler set a header of the same name (a region's X-Meridian-Region).
    QList<std::pair<QByteArray, QByteArray>> defaultHeaders;
};

} // namespace Meridian
