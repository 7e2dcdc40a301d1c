#pragma once

#include "core/balancing/healthchecksettings.h"
#include "core/balancing/outliersettings.h"
#include "core/util/tlsfiles.h"

#include <QJsonObject>
#include <QString>

#include <optional>

namespace Meridian {

// The `edge` section of a node's configuration (docs/configuration.md): where the gateway
// listens, how many worker threads it runs, its limits and timeouts, where client location
// and the consistent-hash key come from, retries, and the edge cache. Regions and endpoints
// are not here: they come from the cluster's balancing state.
struct EdgeConfig
{
    QString listenHost = QStringLiteral("0.0.0.0");
    quint16 listenPort = 8080;
    int workers = 1;
    // Longest time a worker polls for events before it sleeps, adapted to the load (see
    // EdgeBusyPoll); 0: it sleeps as soon as it has nothing to do.
    int busyPollUs = 50;

    // edge.tls: HTTPS for users on a listener of its own (the plain one stays, e.g. for a
    // redirect in front or internal checks). Only certificateFile and privateKeyFile are used.
    TlsFiles tls;
    QString tlsListenHost; // empty: listenHost
    quint16 tlsListenPort = 8443;
    bool tlsRedirectHttp = false; // the plain port answers 308 to the same URL over HTTPS
    int tlsHstsMaxAgeS = 0;       // > 0: HTTPS answers carry Strict-Transport-Security: max-age=N
    bool tlsEnabled() const { return tls.isEnabled(); }

    // Limits.
    int maxHeaderBytes = 16 * 1024;
    qint64 maxBodyBytes = 64LL * 1024 * 1024;
    int maxClientConnections = 10000; // per worker

    // Timeouts, milliseconds.
    int clientHeaderTimeoutMs = 10000; // from the first byte of a request head to its end
    int clientIdleTimeoutMs = 60000;   // keep-alive idle between requests
    int clientBodyTimeoutMs = 30000;   // between two reads of a request body / writes to a client
    int upstreamConnectTimeoutMs = 2000;
    int upstreamResponseTimeoutMs = 30000; // between two reads of a response
    int upstreamIdleTimeoutMs = 30000;     // an idle pooled upstream connection is closed
    int upstreamPoolSize = 64;             // idle connections kept per endpoint and worker

    // Retries of idempotent requests on connect failure or 502/503, against another region.
    int maxRetries = 2;
    int retryBudgetPercent = 20; // retries in flight at most this share of requests in flight
    int minRetryConcurrency = 3; // ... but always allow this many

    // Client location for geo_proximity: a header "lat,lon", a country-code header, or MaxMind.
    QString locationHeader = QStringLiteral("X-Client-Location");
    QString countryHeader;
    QString maxmindDatabase;
    QString accessLog; // file of the access log (JSON lines); empty: none
    // CA certificates (PEM) trusted for https:// region URLs; empty: the system's.
    QString upstreamCaFile;
    // consistent_hash key: "client_address", "header:NAME" or "cookie:NAME".
    QString hashKey = QStringLiteral("client_address");

    // Active health checks of every region endpoint and passive outlier detection. Faster than
    // the core's defaults: a killed region is out within about interval × fall.
    HealthCheckSettings healthCheck = defaultHealthCheck();
    OutlierSettings outlier = defaultOutlier();
    static HealthCheckSettings defaultHealthCheck();
    static OutlierSettings defaultOutlier();

    // The edge cache.
    bool cacheEnabled = true;
    qint64 cacheMaxBytes = 64LL * 1024 * 1024;
    qint64 cacheMaxObjectBytes = 1024LL * 1024;
    // How long past its freshness a stored response may still answer when no region can
    // (RFC 5861 stale-if-error for every response that does not forbid it); 0: only responses
    // that say stale-if-error themselves.
    qint64 cacheStaleIfErrorS = 0;
    // How long past its freshness a stored response answers at once while the edge fetches a
    // fresh copy in the background (RFC 5861 stale-while-revalidate for every response that
    // does not forbid it); 0: only responses that say stale-while-revalidate themselves.
    qint64 cacheStaleWhileRevalidateS = 0;
    // A request that misses while another one of this worker fetches the same URL waits up to
    // this long for that answer to enter the cache instead of asking a region too; 0: never.
    qint64 cacheLockTimeoutMs = 5000;

    // Parses an `edge` JSON object; unknown fields and bad values are errors naming the field.
    static std::optional<EdgeConfig> fromJson(const QJsonObject &object, QString *error);
    QJsonObject toJson() const;
};

} // namespace Meridian
