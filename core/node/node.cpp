#include "core/node/node.h"

#include "core/balancing/activehealthchecker.h"
#include "core/balancing/strategy.h"
#include "core/balancing/trafficpreview.h"
#include "core/cluster/localcluster.h"
#include "core/control/controlstore.h"
#include "core/http/httprouter.h"
#include "core/http/httpserver.h"
#include "core/http/metricsregistry.h"
#include "core/http/staticfilehandler.h"
#include "core/node/clustermonitor.h"
#include "core/node/controlservice.h"
#include "core/node/dataapi.h"
#include "core/node/delayrelay.h"
#include "core/node/edgegateway.h"
#include "core/node/peerclient.h"
#include "core/sync/hybridlogicalclock.h"
#include "core/sync/replica.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QLoggingCategory>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcNode, "meridian.node")

namespace {

HttpServerConfig serverConfig(const NodeConfig &config, qint64 maxBody)
{
    HttpServerConfig server;
    server.maxHeaderBytes = config.maxHeaderBytes;
    server.maxBodyBytes = maxBody;
    server.headerTimeout = std::chrono::milliseconds(std::min(config.requestTimeoutMs, 10000));
    server.bodyTimeout = std::chrono::milliseconds(config.requestTimeoutMs);
    server.writeTimeout = std::chrono::milliseconds(config.requestTimeoutMs);
    server.idleTimeout = std::chrono::milliseconds(config.idleTimeoutMs);
    server.serverHeader = "meridiand/" MERIDIAN_VERSION;
    return server;
}

// Monotonic milliseconds, for the access log's buffer age.
int64_t steadyMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
}

QString isoFromMs(qint64 ms)
{
    return ms <= 0 ? QString() : toIsoTime(QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC));
}

} // namespace

Node::Node(NodeConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
{
    m_drainTimer.setInterval(100);
    connect(&m_drainTimer, &QTimer::timeout, this, &Node::settleDrain);
}

Node::~Node()
{
    if (m_accessLog)
        m_accessBuffer.writeTo(*m_accessLog);
    if (m_replica)
        m_replica->close();
}

quint16 Node::controlPort() const
{
    return m_controlServer ? m_controlServer->serverPort() : 0;
}

quint16 Node::dataPort() const
{
    return m_dataServer ? m_dataServer->serverPort() : 0;
}

QString Node::startRelays()
{
    double selfLat = 0.0;
    double selfLon = 0.0;
    const RegionSpec *self = m_config.roleRegion ? m_config.regionSpec(m_config.region) : nullptr;
    if (self) {
        selfLat = self->lat;
        selfLon = self->lon;
    }
    auto relay = [this](const QString &hostPort, int delayMs, QString *error) -> QString {
        const qsizetype colon = hostPort.lastIndexOf(u':');
        auto *relay = new DelayRelay(QHostAddress(hostPort.left(colon)),
                                     quint16(hostPort.mid(colon + 1).toUInt()),
                                     delayMs,
                                     this);
        if (!relay->listen()) {
            *error = u"cannot start the WAN delay relay for %1: %2"_s.arg(hostPort,
                                                                          relay->errorString());
            return {};
        }
        return u"127.0.0.1:%1"_s.arg(relay->port());
    };
    auto viaRelay = [&](const QUrl &url, int delayMs, QString *error) {
        const QString address = relay(u"%1:%2"_s.arg(url.host()).arg(url.port()), delayMs, error);
        return address.isEmpty() ? QUrl() : QUrl(url.scheme() + u"://"_s + address);
    };
    QString error;
    for (const RegionSpec &spec : m_config.regions) {
        if (m_config.roleRegion && spec.id == m_config.region)
            continue;
        int delay = 0;
        if (m_config.simulateWan && self) {
            delay = qRound(LocalCluster::distanceKm(selfLat, selfLon, spec.lat, spec.lon) / 1000.0
                           * m_config.wanMsPer1000Km);
        }
        if (delay > 0) {
            m_syncAddressOf.insert(spec.id, relay(spec.syncAddress, delay, &error));
            m_controlUrlOf.insert(spec.id, viaRelay(spec.controlUrl, delay, &error));
            m_dataUrlOf.insert(spec.id, viaRelay(spec.dataUrl, delay, &error));
            if (!error.isEmpty())
                return error;
            qCInfo(lcNode).noquote() << "simulating" << delay << "ms one-way to" << spec.id;
        } else {
            m_syncAddressOf.insert(spec.id, spec.syncAddress);
            m_controlUrlOf.insert(spec.id, spec.controlUrl);
            m_dataUrlOf.insert(spec.id, spec.dataUrl);
        }
    }
    for (const EdgeSpec &edge : m_config.edges) {
        if (edge.id == m_config.nodeId)
            continue;
        m_syncAddressOf.insert(edge.id, edge.syncAddress);
        m_controlUrlOf.insert(edge.id, edge.controlUrl);
    }
    return {};
}

QString Node::start()
{
    if (!QDir().mkpath(m_config.dataDir))
        return u"cannot create the data directory %1"_s.arg(m_config.dataDir);
    if (const QString error = m_audit.open(QDir(m_config.dataDir).filePath(u"audit.jsonl"_s));
        !error.isEmpty()) {
        return error;
    }
    if (const QString error = startRelays(); !error.isEmpty())
        return error;

    SyncConfig sync;
    sync.regionId = m_config.nodeId;
    sync.databasePath = QDir(m_config.dataDir).filePath(u"store.db"_s);
    sync.listenHost = m_config.listenSync.host.toString();
    sync.listenPort = m_config.listenSync.port;
    sync.durability = m_config.syncDurability == u"normal"_s ? Durability::Normal
                                                             : Durability::Full;
    sync.busyTimeoutMs = m_config.syncBusyTimeoutMs;
    sync.transport = m_config.syncTransport;
    sync.nats = m_config.syncNats;
    sync.secret = m_config.syncSecret;
    sync.tls = m_config.syncTls;
    for (const auto &[field, port, tls] : m_config.presentedTls()) {
        if (tls->isEnabled()
            && QFileInfo(tls->privateKeyFile).permissions().testFlag(QFileDevice::ReadOther))
            qCWarning(lcNode).noquote() << field << "key" << tls->privateKeyFile
                                        << "is readable by every user of this machine: chmod 600";
        const QDateTime expiry = tls->certificateExpiry();
        if (expiry.isValid() && QDateTime::currentDateTimeUtc().daysTo(expiry) < 30)
            qCWarning(lcNode).noquote() << field << "certificate" << tls->certificateFile
                                        << "expires on" << expiry.toString(Qt::ISODate)
                                        << "- renew it (the new file is picked up without a "
                                           "restart)";
    }
    if (sync.secret.isEmpty() && !sync.tls.isEnabled())
        qCWarning(lcNode).noquote()
                << "replication connections on" << m_config.listenSync.toString()
                << "are not authenticated: set sync.secret_file, control.cluster_token or sync.tls";
    for (auto it = m_syncAddressOf.cbegin(); it != m_syncAddressOf.cend(); ++it) {
        const qsizetype colon = it.value().lastIndexOf(u':');
        sync.peers.append(
                {it.key(), it.value().left(colon), quint16(it.value().mid(colon + 1).toUInt())});
    }
    m_replica = new Replica(sync, this);
    if (auto r = m_replica->open(); !r)
        return u"cannot open the store %1: %2"_s.arg(sync.databasePath, r.error().message);
    m_dataApi = std::make_unique<DataApi>(m_replica, m_config.region);
    if (const QString error = m_dataApi->registerTable(); !error.isEmpty())
        return u"cannot register the kv table: %1"_s.arg(error);
    m_store = new ControlStore(m_replica, m_config.initialControlState(), 1000, this);
    if (const QString error = m_store->open(); !error.isEmpty())
        return error;
    if (auto r = m_replica->start(); !r)
        return u"cannot start replication on %1: %2"_s.arg(m_config.listenSync.toString(),
                                                           r.error().message);

    m_peers = new PeerClient(m_config.clusterToken, this);
    m_peers->addCaCertificates(m_config.controlCaCertificates);
    QList<PeerNode> peers;
    for (const RegionSpec &spec : m_config.regions) {
        if (m_controlUrlOf.contains(spec.id))
            peers.append({spec.id, true, m_controlUrlOf.value(spec.id), m_dataUrlOf.value(spec.id)});
    }
    for (const EdgeSpec &edge : m_config.edges) {
        if (m_controlUrlOf.contains(edge.id))
            peers.append({edge.id, false, m_controlUrlOf.value(edge.id), {}});
    }
    m_monitor = new ClusterMonitor(m_config.nodeId, peers, m_peers, m_config.probeIntervalMs, this);
    m_control = new ControlService(m_config, m_store, m_monitor, m_peers, this, &m_audit, this);

    setUpMetrics();

    // Control API.
    HttpRouter controlRouter;
    m_control->addRoutes(controlRouter);
    controlRouter.route("GET", u"/metrics", [this](const HttpRequest &) {
        return HttpResponse::text(200, m_metrics.render(), MetricsRegistry::contentType());
    });
    controlRouter.setFallback([](const HttpRequest &request, HttpResponder responder) {
        responder.send(HttpResponse::jsonError(404,
                                               u"not_found",
                                               u"no route %1 %2; see docs/control-api.md"_s
                                                       .arg(QString::fromLatin1(request.method()),
                                                            request.decodedPath())));
    });
    HttpServerConfig controlConfig = serverConfig(m_config, 1024 * 1024);
    controlConfig.tls = m_config.controlTls;
    m_controlServer = new HttpServer(controlConfig, this);
    m_controlServer->setHandler(controlRouter.handler());
    if (!m_controlServer->listen(m_config.listenControl.host, m_config.listenControl.port)) {
        return u"cannot listen for the control API on %1: %2"_s
                .arg(m_config.listenControl.toString(), m_controlServer->errorString());
    }
    ++m_serversRunning;
    connect(m_controlServer, &HttpServer::shutdownFinished, this, [this]() {
        if (--m_serversRunning == 0)
            finishShutdown();
    });

    // Region data port: the site and /api/kv.
    if (m_config.roleRegion) {
        HttpRouter dataRouter;
        const QByteArray region = m_config.region.toUtf8();
        auto tagged = [region](HttpResponse response) {
            response.setHeader("X-Meridian-Region", region);
            return response;
        };
        dataRouter.route("GET", u"/healthz", [this, tagged](const HttpRequest &) {
            if (m_shuttingDown)
                return tagged(HttpResponse::jsonError(503, u"unavailable", u"shutting down"));
            return tagged(HttpResponse::json(200,
                                             QJsonObject{{u"status"_s, u"ok"_s},
                                                         {u"region"_s, m_config.region}}));
        });
        m_dataApi->addRoutes(dataRouter, tagged);
        if (!m_config.staticRoot.isEmpty()) {
            StaticFileOptions options;
            options.indexFile = m_config.staticIndex;
            for (const CacheControlRule &rule : m_config.cacheControl)
                options.cacheRules.append({rule.pattern, rule.value.toUtf8()});
            m_static = std::make_shared<StaticFileHandler>(m_config.staticRoot, options);
            if (!m_static->isValid())
                return u"cannot serve %1: %2"_s.arg(m_config.staticRoot, m_static->errorString());
        }
        auto site = m_static;
        dataRouter.setFallback([site, tagged](const HttpRequest &request, HttpResponder responder) {
            if (!site) {
                responder.send(tagged(HttpResponse::jsonError(
                        404,
                        u"not_found",
                        u"this region serves no static site (static.root is not set)")));
                return;
            }
            responder.send(tagged(site->respond(request)));
        });
        HttpServerConfig dataConfig = serverConfig(m_config, m_config.maxBodyBytes);
        dataConfig.tls = m_config.dataTls;
        // Also on the server's own answers to malformed or oversized requests.
        dataConfig.defaultHeaders.append({"X-Meridian-Region", region});
        m_dataServer = new HttpServer(dataConfig, this);
        m_dataServer->setHandler(dataRouter.handler());
        if (!m_config.dataAccessLog.isEmpty()) {
            m_accessLog = std::make_unique<AccessLog>();
            if (QString error; !m_accessLog->open(m_config.dataAccessLog, &error))
                return error;
            m_accessLogFlush.setInterval(250);
            connect(&m_accessLogFlush, &QTimer::timeout, this, [this] {
                if (m_accessBuffer.due(steadyMs()))
                    m_accessBuffer.writeTo(*m_accessLog);
            });
            m_accessLogFlush.start();
        }
        m_dataServer->setRequestObserver([this, region](const HttpAccessRecord &record) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(record.duration);
            const bool healthCheck = record.path == "/healthz"
                                     || ActiveHealthChecker::isProbeUserAgent(record.userAgent);
            m_observeRequest(record.status, double(us.count()) / 1000.0, healthCheck);
            // Health checks (several a second from every edge) would drown the users' lines.
            if (m_accessLog && !healthCheck) {
                const QByteArray client = record.peerAddress.toString().toLatin1();
                AccessLog::Buffer::Entry e;
                e.client = {client.constData(), size_t(client.size())};
                e.method = {record.method.constData(), size_t(record.method.size())};
                e.target = {record.target.constData(), size_t(record.target.size())};
                e.status = record.status;
                e.bytes = quint64(record.bytesSent);
                e.durationUs = quint64(us.count());
                e.region = {region.constData(), size_t(region.size())};
                e.attempts = -1;
                m_accessBuffer.append(e, steadyMs());
            }
        });
        if (!m_dataServer->listen(m_config.listenData.host, m_config.listenData.port)) {
            return u"cannot listen for the website on %1: %2"_s.arg(m_config.listenData.toString(),
                                                                    m_dataServer->errorString());
        }
        ++m_serversRunning;
        connect(m_dataServer, &HttpServer::shutdownFinished, this, [this]() {
            if (--m_serversRunning == 0)
                finishShutdown();
        });
        m_drainTimer.start();
    }

    if (m_config.roleEdge) {
        m_edge = new EdgeGateway(m_config, this);
        m_edge->setControlState(m_store->state());
        connect(m_store,
                &ControlStore::stateChanged,
                m_edge,
                [this](const ControlState &, const ControlState &after) {
                    m_edge->setControlState(after);
                });
        connect(m_monitor, &ClusterMonitor::healthChanged, m_edge, &EdgeGateway::setRegionHealth);
        // Purges accepted before this start need nothing: the cache starts empty.
        connect(m_store, &ControlStore::actionRecorded, m_edge, [this](const Action &action) {
            if (action.kind == u"purge"_s && action.status == u"applied"_s)
                m_edge->purgeCache(action);
        });
        if (const QString error = m_edge->start(); !error.isEmpty())
            return error;
    }

    m_monitor->start();
    qCInfo(lcNode).noquote() << "node" << m_config.nodeId << "role" << m_config.roleName()
                             << "control"
                             << m_config.listenControl.host.toString() + u':'
                                        + QString::number(controlPort())
                             << (m_config.roleRegion
                                         ? u"data "_s + m_config.listenData.host.toString() + u':'
                                                   + QString::number(dataPort())
                                         : QString())
                             << "sync"
                             << m_config.listenSync.host.toString() + u':'
                                        + QString::number(m_replica->replicationPort());
    return {};
}

void Node::reopenLogs()
{
    if (const QString error = m_audit.reopen(); !error.isEmpty())
        qCWarning(lcNode).noquote() << error;
    else
        qCInfo(lcNode).noquote() << "reopened the audit log" << m_audit.path();
    if (m_accessLog) {
        m_accessBuffer.writeTo(*m_accessLog);
        if (QString error; !m_accessLog->reopen(&error))
            qCWarning(lcNode).noquote() << error;
        else
            qCInfo(lcNode).noquote() << "reopened the access log" << m_accessLog->path();
    }
    if (m_edge && !m_edge->accessLogPath().isEmpty()) {
        if (const QString error = m_edge->reopenAccessLog(); !error.isEmpty())
            qCWarning(lcNode).noquote() << error;
        else
            qCInfo(lcNode).noquote() << "reopened the access log" << m_edge->accessLogPath();
    }
    if (m_edge) {
        if (const QString error = m_edge->reloadTls(); !error.isEmpty())
            qCWarning(lcNode).noquote() << error << "- the edge goes on with the TLS files it had";
        else
            qCInfo(lcNode).noquote() << "reloaded the edge's TLS files (edge.tls, "
                                        "edge.upstream_ca_file) for new connections";
    }
}

void Node::shutdown()
{
    if (m_shuttingDown)
        return;
    m_shuttingDown = true;
    const auto deadline = std::chrono::milliseconds(m_config.shutdownTimeoutMs);
    qCInfo(lcNode) << "shutting down: finishing in-flight requests for up to"
                   << m_config.shutdownTimeoutMs << "ms";
    m_drainTimer.stop();
    if (m_monitor)
        m_monitor->stop();
    if (m_edge)
        m_edge->stop(m_config.shutdownTimeoutMs);
    if (m_control)
        m_control->closeStreams();
    if (m_serversRunning == 0) {
        QTimer::singleShot(0, this, &Node::finishShutdown);
        return;
    }
    if (m_dataServer)
        m_dataServer->shutdown(deadline);
    if (m_controlServer)
        m_controlServer->shutdown(deadline);
    // The servers cut whatever is left at the deadline; this is the last resort.
    QTimer::singleShot(deadline + std::chrono::milliseconds(2000), this, &Node::finishShutdown);
}

void Node::finishShutdown()
{
    if (!m_replica)
        return;
    if (m_dataServer)
        qCInfo(lcNode) << "requests still in flight at exit:" << m_dataServer->inFlightRequests();
    if (m_accessLog)
        m_accessBuffer.writeTo(*m_accessLog);
    m_replica->close();
    m_replica = nullptr;
    qCInfo(lcNode) << "store flushed and closed; bye";
    emit stopped();
}

void Node::settleDrain()
{
    const RegionControl control = m_store->state().regions.value(m_config.region);
    if (control.state != u"draining"_s)
        return;
    const int inFlight = m_dataServer ? int(m_dataServer->inFlightRequests()) : 0;
    // Under consistent_hash the edges keep a draining region's sessions there until the deadline.
    const bool sticky = m_store->state().strategy.name == u"consistent_hash"_s;
    if (!ActionPlanner::drainSettled(control, inFlight, QDateTime::currentDateTimeUtc(), sticky))
        return;
    m_control->settleDrain(m_config.region, control);
}

// ---------------------------------------------------------------------------------------------
// ControlBackend

QJsonArray Node::inboundLinks() const
{
    QJsonArray links;
    if (!m_replica)
        return links;
    for (const LinkStatus &status : m_replica->links()) {
        QJsonObject link = status.toJson();
        link.insert(u"last_contact"_s,
                    status.lastContactMs > 0 ? QJsonValue(isoFromMs(status.lastContactMs))
                                             : QJsonValue());
        links.append(link);
    }
    return links;
}

ControlResult<QJsonObject> Node::localDigest()
{
    if (!m_replica)
        return ControlError{503, u"unavailable"_s, u"the store is closed"_s};
    QJsonObject overwritten;
    if (auto counters = m_replica->overwrittenCounters()) {
        for (const OverwrittenCounter &counter : counters.value()) {
            QJsonObject table = overwritten.value(counter.table).toObject();
            table.insert(counter.region, counter.count);
            overwritten.insert(counter.table, table);
        }
    }
    return QJsonObject{{u"digest"_s, m_replica->digest()}, {u"overwritten"_s, overwritten}};
}

ControlResult<QJsonArray> Node::overwrittenJournal(int limit)
{
    if (!m_replica)
        return ControlError{503, u"unavailable"_s, u"the store is closed"_s};
    const auto journal = m_replica->overwrittenJournal(limit);
    if (!journal)
        return ControlError{500, u"store_error"_s, journal.error().message};
    // HLC values are 64-bit: as decimal strings, since JSON numbers lose precision past 2^53.
    auto version = [](const QString &origin, quint64 hlc) {
        return QJsonObject{{u"origin"_s, origin},
                           {u"hlc"_s, QString::number(hlc)},
                           {u"time"_s, isoFromMs(HybridLogicalClock::physicalMs(hlc))}};
    };
    QJsonArray entries;
    for (const OverwrittenWrite &w : journal.value()) {
        QJsonObject loser = version(w.loserOrigin, w.loserHlc);
        loser.insert(u"deleted"_s, w.loserDeleted);
        loser.insert(u"row"_s, w.loserDeleted ? QJsonValue() : QJsonValue(w.loserRow));
        entries.append(QJsonObject{{u"id"_s, w.id},
                                   {u"at"_s, isoFromMs(w.atMs)},
                                   {u"table"_s, w.table},
                                   {u"primary_key"_s, w.primaryKey},
                                   {u"loser"_s, loser},
                                   {u"winner"_s, version(w.winnerOrigin, w.winnerHlc)}});
    }
    return entries;
}

QJsonObject Node::localTraffic() const
{
    QJsonObject traffic = m_traffic.toJson();
    traffic.insert(u"in_flight"_s, m_dataServer ? m_dataServer->inFlightRequests() : 0);
    if (m_edge)
        traffic.insert(u"edge"_s, m_edge->trafficJson());
    return traffic;
}

QString Node::localHealth() const
{
    if (!m_config.roleRegion)
        return u"healthy"_s;
    if (m_shuttingDown || !m_dataServer || !m_dataServer->isListening())
        return u"unhealthy"_s;
    return u"healthy"_s;
}

QMap<QString, double> Node::trafficShares(const ControlState &state) const
{
    QMap<QString, QString> health;
    for (const RegionSpec &spec : m_config.regions) {
        if (m_config.roleRegion && spec.id == m_config.region)
            health.insert(spec.id, localHealth());
        else if (m_monitor)
            health.insert(spec.id, m_monitor->snapshot(spec.id).dataHealth);
    }
    const auto shares = expectedShares(balancerConfigFor(m_config, state, health));
    if (!shares) {
        QMap<QString, double> zero;
        for (const RegionSpec &spec : m_config.regions)
            zero.insert(spec.id, 0.0);
        return zero;
    }
    return shares.value().shares;
}

std::optional<QString> Node::validateStrategy(const StrategyChoice &choice) const
{
    const auto params = parseStrategyParams(choice.name, choice.params);
    if (!params)
        return params.error();
    return std::nullopt;
}

QJsonObject Node::resyncJson() const
{
    const ResyncProgress progress = m_replica ? m_replica->resyncStatus() : ResyncProgress{};
    QString state = u"running"_s;
    if (progress.phase == ResyncProgress::Phase::Done)
        state = u"done"_s;
    else if (progress.phase == ResyncProgress::Phase::Failed)
        state = u"failed"_s;
    else if (progress.phase == ResyncProgress::Phase::Cancelled)
        state = u"cancelled"_s;
    return {{u"id"_s, m_resyncId},
            {u"region"_s, m_config.region},
            {u"from"_s, progress.peer},
            {u"phase"_s, ResyncProgress::phaseName(progress.phase)},
            {u"state"_s, state},
            {u"bytes_done"_s, progress.bytesDone},
            {u"bytes_total"_s, progress.bytesTotal},
            {u"rows"_s, progress.rows},
            {u"eta_s"_s, progress.etaSeconds < 0 ? QJsonValue() : QJsonValue(progress.etaSeconds)},
            {u"error"_s, state == u"failed"_s ? QJsonValue(progress.message) : QJsonValue()}};
}

ControlResult<QJsonObject> Node::startResync(const QString &peer)
{
    if (!m_replica)
        return ControlError{503, u"unavailable"_s, u"the store is closed"_s};
    QString from = peer;
    if (from.isEmpty()) {
        // The best source: the first reachable region in failover order.
        const ControlState &state = m_store->state();
        QStringList order = state.regions.keys();
        std::sort(order.begin(), order.end(), [&state](const QString &a, const QString &b) {
            const int pa = state.regions.value(a).priority;
            const int pb = state.regions.value(b).priority;
            return pa != pb ? pa < pb : a < b;
        });
        for (const QString &id : order) {
            if (id != m_config.region && m_monitor->isReachable(id)) {
                from = id;
                break;
            }
        }
        if (from.isEmpty())
            return ControlError{503,
                                u"unavailable"_s,
                                u"no other region is reachable to resync from"_s};
    }
    const ResyncProgress current = m_replica->resyncStatus();
    if (m_resyncStarted && current.phase != ResyncProgress::Phase::Done
        && current.phase != ResyncProgress::Phase::Failed
        && current.phase != ResyncProgress::Phase::Cancelled
        && current.phase != ResyncProgress::Phase::Idle) {
        return ControlError::conflict(u"conflict"_s,
                                      u"a resync of %1 is already running (%2)"_s
                                              .arg(m_config.region, m_resyncId));
    }
    if (auto r = m_replica->startResync(from); !r)
        return ControlError{409,
                            u"conflict"_s,
                            u"cannot start the resync from %1: %2"_s.arg(from, r.error().message)};
    static int counter = 0;
    m_resyncId = u"rs-%1"_s.arg(++counter);
    m_resyncStarted = true;
    return resyncJson();
}

QJsonValue Node::localCache() const
{
    if (!m_edge)
        return QJsonValue();
    QJsonValue cache = m_edge->cacheJson();
    if (cache.isObject()) {
        QJsonObject object = cache.toObject();
        object.insert(u"through_seq"_s, double(m_store->lastActionSeq()));
        cache = object;
    }
    return cache;
}

std::optional<QJsonObject> Node::resyncProgress() const
{
    if (!m_resyncStarted)
        return std::nullopt;
    return resyncJson();
}

ControlResult<QJsonObject> Node::cancelResync()
{
    if (!m_resyncStarted || !m_replica)
        return ControlError::notFound(u"no resync of %1 is running"_s.arg(m_config.region));
    m_replica->cancelResync();
    return resyncJson();
}

// ---------------------------------------------------------------------------------------------
// Metrics

void Node::setUpMetrics()
{
    const QByteArray region = (m_config.roleRegion ? m_config.region : m_config.nodeId).toUtf8();
    auto &requests = m_metrics.counter("meridian_http_requests_total",
                                       "Data-plane requests answered, by region and status.",
                                       {"region", "status"});
    auto &latency = m_metrics.histogram("meridian_http_request_duration_seconds",
                                        "Data-plane request latency.",
                                        {"region"});
    m_observeRequest = [this, region, &requests, &latency](int status, double ms, bool healthCheck) {
        // The region's req/s and latency in the cluster view are its users' traffic: the edges'
        // and peers' health checks (several per second at idle) would read as load.
        if (!healthCheck)
            m_traffic.record(ms);
        requests.counter({region, QByteArray::number(status)}).inc();
        latency.histogram({region}).observe(ms / 1000.0);
    };
    auto &inFlight = m_metrics.gauge("meridian_http_in_flight_requests",
                                     "Data-plane requests in flight.",
                                     {"region"});
    auto &lag = m_metrics.gauge("meridian_replication_lag_seconds",
                                "Age of the oldest unapplied change per link (origin -> replica).",
                                {"origin", "replica"});
    auto &backlog = m_metrics.gauge("meridian_replication_backlog_entries",
                                    "Log entries not yet applied per link.",
                                    {"origin", "replica"});
    auto &linkState = m_metrics.gauge("meridian_replication_link_state",
                                      "1 for the current state of each link, 0 for the others.",
                                      {"origin", "replica", "state"});
    auto &storeBytes = m_metrics.gauge("meridian_store_bytes",
                                       "Size of the node's SQLite store and its WAL (the log lives "
                                       "in it).",
                                       {"region"});
    auto &resync = m_metrics.gauge("meridian_resync_progress_ratio",
                                   "Bytes done / total of the running or last resync.",
                                   {"region"});
    auto &endpointUp = m_metrics.gauge("meridian_endpoint_up",
                                       "Data endpoint health as this node sees it (1 healthy, 0 "
                                       "unhealthy; absent while unknown).",
                                       {"region", "url"});
    auto &rtt = m_metrics.gauge("meridian_peer_rtt_seconds",
                                "Probe round trip from this node to each peer.",
                                {"from", "to"});
    auto &certificateExpiry = m_metrics.gauge(
            "meridian_tls_certificate_expiry_timestamp_seconds",
            "When the certificate a port presents expires (Unix time; read from its file at each "
            "scrape, so a renewal shows at once).",
            {"port"});
    m_metrics.addCollectHook([this, &certificateExpiry] {
        certificateExpiry.clear();
        for (const auto &[field, port, tls] : m_config.presentedTls()) {
            if (const QDateTime expiry = tls->certificateExpiry(); expiry.isValid())
                certificateExpiry.gauge({port}).set(double(expiry.toSecsSinceEpoch()));
        }
    });
    if (m_config.roleEdge)
        setUpEdgeMetrics();
    m_metrics.addCollectHook([=,
                              this,
                              &inFlight,
                              &lag,
                              &backlog,
                              &linkState,
                              &storeBytes,
                              &resync,
                              &endpointUp,
                              &rtt]() {
        inFlight.gauge({region}).set(m_dataServer ? double(m_dataServer->inFlightRequests()) : 0.0);
        lag.clear();
        backlog.clear();
        linkState.clear();
        static const QList<LinkState> states = {LinkState::CaughtUp,
                                                LinkState::Lagging,
                                                LinkState::Stalled,
                                                LinkState::Disconnected,
                                                LinkState::SchemaMismatch,
                                                LinkState::NeedsResync};
        const QList<LinkStatus> links = m_replica ? m_replica->links() : QList<LinkStatus>{};
        for (const LinkStatus &link : links) {
            const QByteArray origin = link.origin.toUtf8();
            const QByteArray replica = link.replica.toUtf8();
            lag.gauge({origin, replica}).set(link.secondsBehind);
            backlog.gauge({origin, replica}).set(double(link.entriesBehind));
            for (const LinkState state : states)
                linkState.gauge({origin, replica, linkStateName(state).toUtf8()})
                        .set(link.state == state ? 1.0 : 0.0);
        }
        const QString db = QDir(m_config.dataDir).filePath(u"store.db"_s);
        storeBytes.gauge({region}).set(
                double(QFileInfo(db).size() + QFileInfo(db + u"-wal"_s).size()));
        if (m_resyncStarted && m_replica) {
            const ResyncProgress progress = m_replica->resyncStatus();
            const double done = progress.phase == ResyncProgress::Phase::Done ? 1.0 : 0.0;
            resync.gauge({region}).set(progress.bytesTotal > 0
                                               ? double(progress.bytesDone)
                                                         / double(progress.bytesTotal)
                                               : done);
        }
        endpointUp.clear();
        for (const RegionSpec &spec : m_config.regions) {
            const QString health = (m_config.roleRegion && spec.id == m_config.region)
                                           ? localHealth()
                                           : (m_monitor ? m_monitor->snapshot(spec.id).dataHealth
                                                        : u"unknown"_s);
            if (health != u"unknown"_s)
                endpointUp.gauge({spec.id.toUtf8(), spec.dataUrl.toString().toUtf8()})
                        .set(health == u"healthy"_s ? 1.0 : 0.0);
        }
        rtt.clear();
        if (m_monitor) {
            const auto row = m_monitor->rttRow();
            for (auto it = row.cbegin(); it != row.cend(); ++it)
                rtt.gauge({m_config.nodeId.toUtf8(), it.key().toUtf8()}).set(it.value() / 1000.0);
        }
    });
}

void Node::setUpEdgeMetrics()
{
    auto &requests = m_metrics.counter("meridian_edge_requests_total",
                                       "Requests the edge sent to each region, by status class "
                                       "(\"none\": no response).",
                                       {"region", "class"});
    auto &attempts = m_metrics.counter("meridian_edge_attempts_total",
                                       "Attempts the edge started at each region (requests and "
                                       "their retries).",
                                       {"region"});
    auto &failures
            = m_metrics.counter("meridian_edge_upstream_failures_total",
                                "Attempts that failed at a region (connect, reset, timeout).",
                                {"region"});
    auto &retries = m_metrics.counter("meridian_edge_retries_total",
                                      "Attempts retried away from a region.",
                                      {"region"});
    auto &rps = m_metrics.gauge("meridian_edge_requests_per_second",
                                "Requests per second the edge sent to each region (last second).",
                                {"region"});
    auto &share = m_metrics.gauge("meridian_edge_traffic_share",
                                  "Share of the edge's requests each region got (last second).",
                                  {"region"});
    // The workers' latency buckets are powers of two (and halves) of microseconds: the
    // histogram takes the powers of two from 128 us to ~1 s, so each worker bucket falls in
    // exactly one of them; the slowest worker bucket (open-ended) goes to +Inf.
    QList<double> bounds;
    for (int exp = 7; exp <= 20; ++exp)
        bounds.append(std::ldexp(1.0, exp) / 1e6);
    auto &latency = m_metrics.histogram("meridian_edge_request_duration_seconds",
                                        "Time from sending a request to a region until its "
                                        "answer was relayed, per region.",
                                        {"region"},
                                        bounds);
    auto &cacheHits = m_metrics.counter("meridian_edge_cache_hits_total",
                                        "Requests answered from the edge cache (fresh or "
                                        "revalidated).",
                                        {});
    auto &cacheMisses = m_metrics.counter("meridian_edge_cache_misses_total",
                                          "Cacheable requests the edge cache could not answer.",
                                          {});
    auto &cacheEvictions = m_metrics.counter("meridian_edge_cache_evictions_total",
                                             "Entries evicted to stay within the cache's size.",
                                             {});
    auto &cacheStale = m_metrics.counter("meridian_edge_cache_stale_total",
                                         "Requests answered with a stale cached response because "
                                         "no region could answer (stale-if-error).",
                                         {});
    auto &cacheUpdating = m_metrics.counter(
            "meridian_edge_cache_updating_total",
            "Requests answered at once with a stale cached response while the edge revalidated "
            "it in the background (stale-while-revalidate; also counted as hits).",
            {});
    auto &cachePurged = m_metrics.counter("meridian_edge_cache_purged_total",
                                          "Entries removed by cache purges (POST /v1/cache/purge).",
                                          {});
    auto &cacheBytes
            = m_metrics.gauge("meridian_edge_cache_bytes", "Bytes the edge cache holds.", {});
    auto &cacheEntries
            = m_metrics.gauge("meridian_edge_cache_entries", "Responses the edge cache holds.", {});
    auto &inFlight = m_metrics.gauge("meridian_edge_in_flight_requests",
                                     "Requests the edge has in flight at each region.",
                                     {"region"});
    auto &busyPoll = m_metrics.counter(
            "meridian_edge_busy_poll_seconds_total",
            "Time the edge's worker threads spent polling for events before sleeping "
            "(edge.busy_poll_us): the CPU that busy polling costs.",
            {});
    if (m_config.edgeTls.isEnabled()) {
        auto &handshakes = m_metrics.counter(
                "meridian_edge_tls_handshakes_total",
                "TLS handshakes on the edge's HTTPS port: full, resumed (a session ticket), "
                "failed (not TLS 1.2+, no "
                "shared cipher, or the client left), plain_http (answered 400).",
                {"result"});
        m_metrics.addCollectHook([this, &handshakes] {
            if (!m_edge)
                return;
            const EdgeLoop::TlsCounters t = m_edge->tlsCounters();
            for (const auto &[result, total] : {std::pair{"full", t.full},
                                                std::pair{"resumed", t.resumed},
                                                std::pair{"failed", t.failed},
                                                std::pair{"plain_http", t.plainHttp}}) {
                handshakes.counter({result}).advanceTo(double(total));
            }
        });
    }
    m_metrics.addCollectHook([this,
                              &requests,
                              &attempts,
                              &failures,
                              &retries,
                              &rps,
                              &share,
                              &latency,
                              &inFlight,
                              &cacheHits,
                              &cacheMisses,
                              &cacheEvictions,
                              &cachePurged,
                              &cacheStale,
                              &cacheUpdating,
                              &busyPoll,
                              &cacheBytes,
                              &cacheEntries,
                              bucketCount = bounds.size() + 1]() {
        if (!m_edge)
            return;
        static const QList<QByteArray> classes = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
        auto advance = [](MetricCounter &counter, quint64 total) {
            counter.advanceTo(double(total));
        };
        busyPoll.counter().advanceTo(m_edge->busyPollSeconds());
        for (const EdgeRegionTraffic &t : m_edge->liveCounters()) {
            const QByteArray region = t.region.toUtf8();
            for (int c = 0; c < 6; ++c)
                advance(requests.counter({region, classes[c]}), t.byClass[size_t(c)]);
            advance(attempts.counter({region}), t.requests);
            advance(failures.counter({region}), t.failures);
            advance(retries.counter({region}), t.retries);
            inFlight.gauge({region}).set(double(t.inFlight));
            QList<quint64> buckets(bucketCount, 0);
            for (int b = 0; b < kEdgeLatencyBuckets; ++b) {
                // Worker bucket b holds latencies below 2^(b/2 + 1) us.
                const qsizetype i
                        = b == kEdgeLatencyBuckets - 1
                                  ? bucketCount - 1
                                  : std::clamp<qsizetype>(b / 2 + 1 - 7, 0, bucketCount - 2);
                buckets[i] += t.latency[size_t(b)];
            }
            latency.histogram({region}).advanceTo(buckets, double(t.latencySumUs) / 1e6);
        }
        for (const EdgeRegionTraffic &t : m_edge->traffic()) {
            const QByteArray region = t.region.toUtf8();
            rps.gauge({region}).set(t.rps);
            share.gauge({region}).set(t.share);
        }
        if (const auto cache = m_edge->cacheStats()) {
            advance(cacheHits.counter({}), cache->hits);
            advance(cacheMisses.counter({}), cache->misses);
            advance(cacheEvictions.counter({}), cache->evictions);
            advance(cachePurged.counter({}), cache->purged);
            advance(cacheStale.counter({}), cache->staleServed);
            advance(cacheUpdating.counter({}), cache->updating);
            cacheBytes.gauge({}).set(double(cache->bytes));
            cacheEntries.gauge({}).set(double(cache->entries));
        }
    });
}

} // namespace Meridian
