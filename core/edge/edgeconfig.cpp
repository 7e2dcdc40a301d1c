#include "core/edge/edgeconfig.h"

#include <QHostAddress>
#include <QJsonValue>
#include <QSet>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

struct Reader
{
    const QJsonObject &object;
    QString error;
    QString path = u"edge."_s; // what field names are prefixed with in messages

    bool fail(const QString &field, const QString &what)
    {
        if (error.isEmpty())
            error = u"%1%2: %3"_s.arg(path, field, what);
        return false;
    }

    // Takes a sub-object reader's first error as its own (when it has none yet).
    void adopt(const Reader &sub)
    {
        if (error.isEmpty())
            error = sub.error;
    }

    template<typename T>
    void integer(const QString &field, T &out, qint64 min, qint64 max)
    {
        const QJsonValue v = object.value(field);
        if (v.isUndefined())
            return;
        const double d = v.toDouble(-1e300);
        if (!v.isDouble() || d != double(qint64(d)) || d < double(min) || d > double(max)) {
            fail(field, u"must be an integer from %1 to %2"_s.arg(min).arg(max));
            return;
        }
        out = T(qint64(d));
    }

    void string(const QString &field, QString &out)
    {
        const QJsonValue v = object.value(field);
        if (v.isUndefined())
            return;
        if (!v.isString()) {
            fail(field, u"must be a string"_s);
            return;
        }
        out = v.toString();
    }

    void boolean(const QString &field, bool &out)
    {
        const QJsonValue v = object.value(field);
        if (v.isUndefined())
            return;
        if (!v.isBool()) {
            fail(field, u"must be true or false"_s);
            return;
        }
        out = v.toBool();
    }
};

constexpr int kHour = 3600 * 1000;

// "ADDRESS:PORT" with a numeric address ("[::1]:8080" for IPv6).
bool parseListen(const QString &listen, QString &hostOut, quint16 &portOut)
{
    const qsizetype colon = listen.lastIndexOf(u':');
    bool ok = false;
    const uint port = colon > 0 ? listen.mid(colon + 1).toUInt(&ok) : 0;
    QString host = colon > 0 ? listen.left(colon) : QString();
    if (host.startsWith(u'[') && host.endsWith(u']'))
        host = host.mid(1, host.size() - 2);
    if (!ok || port > 65535 || QHostAddress(host).isNull())
        return false;
    hostOut = host;
    portOut = quint16(port);
    return true;
}

QString listenText(const QString &host, quint16 port)
{
    return (host.contains(u':') ? u"[%1]:%2"_s : u"%1:%2"_s).arg(host).arg(port);
}

} // namespace

std::optional<EdgeConfig> EdgeConfig::fromJson(const QJsonObject &object, QString *error)
{
    static const QSet<QString> known = {
            u"listen"_s,
            u"workers"_s,
            u"busy_poll_us"_s,
            u"max_header_bytes"_s,
            u"max_body_bytes"_s,
            u"max_client_connections"_s,
            u"client_header_timeout_ms"_s,
            u"client_idle_timeout_ms"_s,
            u"client_body_timeout_ms"_s,
            u"upstream_connect_timeout_ms"_s,
            u"upstream_response_timeout_ms"_s,
            u"upstream_idle_timeout_ms"_s,
            u"upstream_pool_size"_s,
            u"max_retries"_s,
            u"retry_budget_percent"_s,
            u"min_retry_concurrency"_s,
            u"location_header"_s,
            u"country_header"_s,
            u"maxmind_database"_s,
            u"access_log"_s,
            u"upstream_ca_file"_s,
            u"hash_key"_s,
            u"cache"_s,
            u"health_check"_s,
            u"outlier"_s,
            u"tls"_s,
    };
    EdgeConfig c;
    Reader r{object, {}};
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!known.contains(it.key()))
            r.fail(it.key(), u"unknown field"_s);
    }
    if (object.contains(u"listen"_s)
        && !parseListen(object.value(u"listen"_s).toString(), c.listenHost, c.listenPort))
        r.fail(u"listen"_s,
               u"must be \"ADDRESS:PORT\" with a numeric address, e.g. \"0.0.0.0:8080\""_s);
    if (object.contains(u"tls"_s)) {
        const QJsonObject to = object.value(u"tls"_s).toObject();
        Reader tr{to, {}, u"edge.tls."_s};
        if (!object.value(u"tls"_s).isObject())
            r.fail(u"tls"_s, u"must be an object with cert_file and key_file"_s);
        for (auto it = to.begin(); it != to.end(); ++it) {
            if (it.key() != u"cert_file"_s && it.key() != u"key_file"_s && it.key() != u"listen"_s
                && it.key() != u"redirect_http"_s && it.key() != u"hsts_max_age_s"_s)
                tr.fail(it.key(), u"unknown field"_s);
        }
        tr.string(u"cert_file"_s, c.tls.certificateFile);
        tr.string(u"key_file"_s, c.tls.privateKeyFile);
        tr.boolean(u"redirect_http"_s, c.tlsRedirectHttp);
        tr.integer(u"hsts_max_age_s"_s, c.tlsHstsMaxAgeS, 0, 2147483647);
        if (c.tls.certificateFile.isEmpty())
            tr.fail(u"cert_file"_s, u"is required with edge.tls"_s);
        if (c.tls.privateKeyFile.isEmpty())
            tr.fail(u"key_file"_s, u"is required with edge.tls"_s);
        if (to.contains(u"listen"_s)
            && !parseListen(to.value(u"listen"_s).toString(), c.tlsListenHost, c.tlsListenPort))
            tr.fail(u"listen"_s,
                    u"must be \"ADDRESS:PORT\" with a numeric address, e.g. \"0.0.0.0:443\""_s);
        if (c.tlsListenPort != 0 && c.tlsListenPort == c.listenPort)
            tr.fail(u"listen"_s,
                    u"port %1 is edge.listen's too: HTTPS needs a port of its own"_s.arg(
                            c.tlsListenPort));
        r.adopt(tr);
    }
    r.integer(u"workers"_s, c.workers, 1, 256);
    r.integer(u"busy_poll_us"_s, c.busyPollUs, 0, 1000);
    r.integer(u"max_header_bytes"_s, c.maxHeaderBytes, 1024, 1024 * 1024);
    r.integer(u"max_body_bytes"_s, c.maxBodyBytes, 0, qint64(1) << 50);
    r.integer(u"max_client_connections"_s, c.maxClientConnections, 1, 1000000);
    r.integer(u"client_header_timeout_ms"_s, c.clientHeaderTimeoutMs, 1, kHour);
    r.integer(u"client_idle_timeout_ms"_s, c.clientIdleTimeoutMs, 1, kHour);
    r.integer(u"client_body_timeout_ms"_s, c.clientBodyTimeoutMs, 1, kHour);
    r.integer(u"upstream_connect_timeout_ms"_s, c.upstreamConnectTimeoutMs, 1, kHour);
    r.integer(u"upstream_response_timeout_ms"_s, c.upstreamResponseTimeoutMs, 1, kHour);
    r.integer(u"upstream_idle_timeout_ms"_s, c.upstreamIdleTimeoutMs, 1, kHour);
    r.integer(u"upstream_pool_size"_s, c.upstreamPoolSize, 0, 100000);
    r.integer(u"max_retries"_s, c.maxRetries, 0, 10);
    r.integer(u"retry_budget_percent"_s, c.retryBudgetPercent, 0, 100);
    r.integer(u"min_retry_concurrency"_s, c.minRetryConcurrency, 0, 100000);
    r.string(u"location_header"_s, c.locationHeader);
    r.string(u"country_header"_s, c.countryHeader);
    r.string(u"maxmind_database"_s, c.maxmindDatabase);
    r.string(u"access_log"_s, c.accessLog);
    r.string(u"upstream_ca_file"_s, c.upstreamCaFile);
    r.string(u"hash_key"_s, c.hashKey);
    if (c.hashKey != u"client_address"_s
        && !((c.hashKey.startsWith(u"header:"_s) || c.hashKey.startsWith(u"cookie:"_s))
             && c.hashKey.size() > 7))
        r.fail(u"hash_key"_s, u"must be \"client_address\", \"header:NAME\" or \"cookie:NAME\""_s);
    if (object.contains(u"cache"_s)) {
        const QJsonValue cv = object.value(u"cache"_s);
        if (!cv.isObject()) {
            r.fail(u"cache"_s, u"must be an object"_s);
        } else {
            const QJsonObject co = cv.toObject();
            Reader cr{co, {}};
            for (auto it = co.begin(); it != co.end(); ++it) {
                if (it.key() != u"enabled"_s && it.key() != u"max_bytes"_s
                    && it.key() != u"max_object_bytes"_s && it.key() != u"stale_if_error_s"_s
                    && it.key() != u"stale_while_revalidate_s"_s
                    && it.key() != u"lock_timeout_ms"_s)
                    cr.fail(it.key(), u"unknown field"_s);
            }
            cr.boolean(u"enabled"_s, c.cacheEnabled);
            cr.integer(u"max_bytes"_s, c.cacheMaxBytes, 0, qint64(1) << 40);
            cr.integer(u"max_object_bytes"_s, c.cacheMaxObjectBytes, 0, qint64(1) << 32);
            cr.integer(u"stale_if_error_s"_s, c.cacheStaleIfErrorS, 0, 365LL * 86400);
            cr.integer(u"stale_while_revalidate_s"_s,
                       c.cacheStaleWhileRevalidateS,
                       0,
                       365LL * 86400);
            cr.integer(u"lock_timeout_ms"_s, c.cacheLockTimeoutMs, 0, 600000);
            if (!cr.error.isEmpty())
                r.fail(u"cache"_s, cr.error.mid(5));
        }
    }
    // Sub-objects parsed by the balancing core, over the edge's own defaults.
    auto overlay = [&r, &object](const QString &key, const QJsonObject &defaults, auto parse) {
        if (!object.contains(key))
            return;
        if (!object.value(key).isObject()) {
            r.fail(key, u"must be an object"_s);
            return;
        }
        QJsonObject merged = defaults;
        const QJsonObject given = object.value(key).toObject();
        for (auto it = given.begin(); it != given.end(); ++it)
            merged.insert(it.key(), it.value());
        if (const QString why = parse(merged); !why.isEmpty())
            r.fail(key, why);
    };
    overlay(u"health_check"_s, c.healthCheck.toJson(), [&c](const QJsonObject &o) {
        auto parsed = HealthCheckSettings::fromJson(o);
        if (!parsed)
            return parsed.error();
        c.healthCheck = parsed.value();
        return QString();
    });
    overlay(u"outlier"_s, c.outlier.toJson(), [&c](const QJsonObject &o) {
        auto parsed = OutlierSettings::fromJson(o);
        if (!parsed)
            return parsed.error();
        c.outlier = parsed.value();
        return QString();
    });
    if (!r.error.isEmpty()) {
        if (error)
            *error = r.error;
        return std::nullopt;
    }
    return c;
}

QJsonObject EdgeConfig::toJson() const
{
    QJsonObject out{
            {u"listen"_s, listenText(listenHost, listenPort)},
            {u"workers"_s, workers},
            {u"busy_poll_us"_s, busyPollUs},
            {u"max_header_bytes"_s, maxHeaderBytes},
            {u"max_body_bytes"_s, double(maxBodyBytes)},
            {u"max_client_connections"_s, maxClientConnections},
            {u"client_header_timeout_ms"_s, clientHeaderTimeoutMs},
            {u"client_idle_timeout_ms"_s, clientIdleTimeoutMs},
            {u"client_body_timeout_ms"_s, clientBodyTimeoutMs},
            {u"upstream_connect_timeout_ms"_s, upstreamConnectTimeoutMs},
            {u"upstream_response_timeout_ms"_s, upstreamResponseTimeoutMs},
            {u"upstream_idle_timeout_ms"_s, upstreamIdleTimeoutMs},
            {u"upstream_pool_size"_s, upstreamPoolSize},
            {u"max_retries"_s, maxRetries},
            {u"retry_budget_percent"_s, retryBudgetPercent},
            {u"min_retry_concurrency"_s, minRetryConcurrency},
            {u"location_header"_s, locationHeader},
            {u"country_header"_s, countryHeader},
            {u"maxmind_database"_s, maxmindDatabase},
            {u"access_log"_s, accessLog},
            {u"upstream_ca_file"_s, upstreamCaFile},
            {u"hash_key"_s, hashKey},
            {u"cache"_s,
             QJsonObject{{u"enabled"_s, cacheEnabled},
                         {u"max_bytes"_s, double(cacheMaxBytes)},
                         {u"max_object_bytes"_s, double(cacheMaxObjectBytes)},
                         {u"stale_if_error_s"_s, double(cacheStaleIfErrorS)},
                         {u"stale_while_revalidate_s"_s, double(cacheStaleWhileRevalidateS)},
                         {u"lock_timeout_ms"_s, double(cacheLockTimeoutMs)}}},
            {u"health_check"_s, healthCheck.toJson()},
            {u"outlier"_s, outlier.toJson()},
    };
    if (tlsEnabled())
        out.insert(u"tls"_s,
                   QJsonObject{{u"cert_file"_s, tls.certificateFile},
                               {u"key_file"_s, tls.privateKeyFile},
                               {u"listen"_s,
                                listenText(tlsListenHost.isEmpty() ? listenHost : tlsListenHost,
                                           tlsListenPort)},
                               {u"redirect_http"_s, tlsRedirectHttp},
                               {u"hsts_max_age_s"_s, tlsHstsMaxAgeS}});
    return out;
}

HealthCheckSettings EdgeConfig::defaultHealthCheck()
{
    HealthCheckSettings s;
    s.interval = std::chrono::milliseconds(250);
    s.timeout = std::chrono::milliseconds(250);
    s.rise = 2;
    s.fall = 2;
    return s;
}

OutlierSettings EdgeConfig::defaultOutlier()
{
    OutlierSettings s;
    s.consecutiveFailures = 3;
    s.baseEjection = std::chrono::milliseconds(5000);
    s.maxEjection = std::chrono::milliseconds(60000);
    s.maxEjectionPercent = 50;
    s.holdDown = std::chrono::milliseconds(30000);
    return s;
}

} // namespace Meridian
