#pragma once

#include "core/control/actionplanner.h"
#include "core/control/controlstate.h"
#include "core/control/tokenauth.h"
#include "core/sync/syncconfig.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QList>
#include <QSslCertificate>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>
#include <variant>

namespace Meridian {

// A listening address ("127.0.0.1:8080").
struct ListenAddress
{
    QHostAddress host;
    quint16 port = 0;
    bool isSet() const { return !host.isNull(); }
    QString toString() const;
};

// One region of the cluster as every node's configuration describes it.
struct RegionSpec
{
    QString id;
    QString name;
    double lat = 0.0;
    double lon = 0.0;
    QUrl dataUrl;
    QUrl controlUrl;
    QString syncAddress; // host:port of its replication listener
    int weight = 100;
    int priority = 1;
};

// An edge node of the cluster: it shares the control state, so it is a replication peer too.
struct EdgeSpec
{
    QString id;
    QUrl url; // where clients reach the gateway (informational: cluster view, meridianctl)
    QUrl controlUrl;
    QString syncAddress;
};

struct CacheControlRule
{
    QString pattern; // glob on the URL path, e.g. "/assets/*" or "*.html"
    QString value;   // the Cache-Control header value
};

// The whole configuration of one meridiand, read from a JSON file (docs/configuration.md lists
// every option and its default). Validation names the file, the field and what is wrong.
struct NodeConfig
{
    QString file;
    QString nodeId;
    bool roleRegion = true;
    bool roleEdge = false;
    QString region;
    QString dataDir;

    ListenAddress listenData;
    ListenAddress listenControl;
    ListenAddress listenSync;

    QString staticRoot;
    QString staticIndex = QStringLiteral("index.html");
    QList<CacheControlRule> cacheControl;

    QList<RegionSpec> regions;
    QList<EdgeSpec> edges;

    QList<TokenEntry> tokens;
    QByteArray clusterToken;
    // control.tls: HTTPS on the control port (certificate and key; client certificates are not
    // asked for) and the CA (ca_file) this node trusts, besides the system's, when it calls
    // other nodes' https:// control URLs.
    TlsFiles controlTls;
    QList<QSslCertificate> controlCaCertificates;
    SafetyPolicy safety;
    int probeIntervalMs = 1000;
    int forwardTimeoutMs = 3000;
    // control.leader_quorum: true for "majority" (a node without a strict majority of the
    // cluster's nodes, regions and edges, in reach has no control leader), false for "none".
    bool leaderQuorum = true;
    StrategyChoice initialStrategy{QStringLiteral("weighted_round_robin"), {}};
    QString initialPrimary;

    // The `edge` section, read by the edge gateway (core/edge's EdgeConfig::fromJson).
    QJsonObject edgeSection;

    QString syncDurability = QStringLiteral("full");
    int syncBusyTimeoutMs = 250; // sync.busy_timeout_ms
    TransportKind syncTransport = TransportKind::Tcp;
    NatsConfig syncNats; // sync.nats, used when syncTransport is Nats
    // sync.secret_file's content, else control.cluster_token: replication and snapshot
    // connections prove they know it. Empty: they are not authenticated.
    QByteArray syncSecret;
    // http.tls: HTTPS on a region's data port (certificate and key); not enabled: plain HTTP.
    TlsFiles dataTls;
    // edge.tls's certificate and key (parsed from edgeSection) for warnings and metrics.
    TlsFiles edgeTls;
    TlsFiles syncTls; // sync.tls: mutual TLS on the replication port; not enabled: plain TCP

    int maxHeaderBytes = 16384;
    qint64 maxBodyBytes = 1024 * 1024 + 4096;
    int requestTimeoutMs = 30000;
    int idleTimeoutMs = 60000;
    QString dataAccessLog; // http.access_log: the region's data port, one JSON line per request
    int shutdownTimeoutMs = 10000;

    bool simulateWan = false;
    double wanMsPer1000Km = 10.0;

    const RegionSpec *regionSpec(const QString &id) const;
    // The initial control state: configured weights, priorities, strategy and primary.
    ControlState initialControlState() const;
    QString roleName() const;

    // Every TLS section that presents a certificate: its field ("sync.tls"), the port it
    // serves ("sync", the `port` label of the expiry metric) and its files. Start-up warnings,
    // /metrics and --check all go through this one list.
    struct PresentedTls
    {
        const char *field;
        const char *port;
        const TlsFiles *files;
    };
    QList<PresentedTls> presentedTls() const;
};

struct ConfigError
{
    QString file;
    QString field;
    QString message;
    QString toString() const;
};

class NodeConfigLoader
{
public:
    // Reads and validates `path`. Relative paths inside it are resolved against its folder.
    static std::variant<NodeConfig, ConfigError> load(const QString &path);
    static std::variant<NodeConfig, ConfigError> parse(const QByteArray &json, const QString &file);
};

} // namespace Meridian
