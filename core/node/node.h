#pragma once

#include "core/control/auditlog.h"
#include "core/control/controlbackend.h"
#include "core/http/accesslog.h"
#include "core/http/metricsregistry.h"
#include "core/node/nodeconfig.h"
#include "core/node/trafficstats.h"

#include <QObject>
#include <QTimer>

#include <memory>

namespace Meridian {

class ClusterMonitor;
class ControlService;
class ControlStore;
class DataApi;
class DelayRelay;
class EdgeGateway;
class HttpServer;
class PeerClient;
class Replica;
class StaticFileHandler;

// One running meridiand: the replicated store (sync core) with its replication listener, the
// shared control state, the control API with probing of the other nodes, and per role the
// region's data port (static site + /api/kv) and the edge gateway. Everything runs on the thread
// that owns the Node (the main thread of meridiand).
class Node final
    : public QObject
    , public ControlBackend
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Node)

public:
    explicit Node(NodeConfig config, QObject *parent = nullptr);
    ~Node() override;

    // Opens the store and starts every listener; returns an error message on failure.
    QString start();
    // Graceful stop: stop accepting, let in-flight requests finish up to shutdown_timeout_ms,
    // flush the store; emits stopped() when done.
    void shutdown();
    // SIGHUP: reopen the files this node appends to (the audit log), for logrotate.
    void reopenLogs();

    const NodeConfig &config() const { return m_config; }
    quint16 controlPort() const;
    quint16 dataPort() const;

    // ControlBackend
    QJsonArray inboundLinks() const override;
    ControlResult<QJsonObject> localDigest() override;
    ControlResult<QJsonArray> overwrittenJournal(int limit) override;
    QJsonObject localTraffic() const override;
    QString localHealth() const override;
    QMap<QString, double> trafficShares(const ControlState &state) const override;
    std::optional<QString> validateStrategy(const StrategyChoice &choice) const override;
    ControlResult<QJsonObject> startResync(const QString &peer) override;
    std::optional<QJsonObject> resyncProgress() const override;
    ControlResult<QJsonObject> cancelResync() override;
    QJsonValue localCache() const override;

signals:
    void stopped();

private:
    QString startRelays();
    void setUpMetrics();
    void setUpEdgeMetrics();
    void settleDrain();
    void finishShutdown();
    QJsonObject resyncJson() const;

    NodeConfig m_config;
    AuditLog m_audit;
    TrafficStats m_traffic;
    MetricsRegistry m_metrics;
    std::function<void(int status, double ms, bool healthCheck)> m_observeRequest;
    Replica *m_replica = nullptr;
    ControlStore *m_store = nullptr;
    PeerClient *m_peers = nullptr;
    ClusterMonitor *m_monitor = nullptr;
    ControlService *m_control = nullptr;
    EdgeGateway *m_edge = nullptr;
    HttpServer *m_controlServer = nullptr;
    HttpServer *m_dataServer = nullptr;
    std::unique_ptr<DataApi> m_dataApi;
    std::shared_ptr<StaticFileHandler> m_static;
    QMap<QString, QString> m_syncAddressOf; // node id -> host:port (relay when simulated)
    QMap<QString, QUrl> m_controlUrlOf;     // node id -> control URL (relay when simulated)
    QMap<QString, QUrl> m_dataUrlOf;        // region id -> data URL (relay when simulated)
    QTimer m_drainTimer;
    // http.access_log: lines of the data port, written when 64 KiB or a second old.
    std::unique_ptr<AccessLog> m_accessLog;
    AccessLog::Buffer m_accessBuffer;
    QTimer m_accessLogFlush;
    bool m_shuttingDown = false;
    int m_serversRunning = 0;
    QString m_resyncId;
    bool m_resyncStarted = false;
};

} // namespace Meridian
