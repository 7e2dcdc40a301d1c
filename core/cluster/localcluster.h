#pragma once

#include "core/util/tlsfiles.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QUrl>

#include <optional>

namespace Meridian {

// One node of a local cluster, as DIR/cluster.json records it.
struct LocalNode
{
    QString id;   // region id ("eu-west") or edge id ("edge-1")
    QString role; // "region" or "edge"
    QString name; // display name ("Dublin"); the id for edges
    double lat = 0.0;
    double lon = 0.0;
    QUrl dataUrl;    // region: the website and /api/kv; edge: the gateway's URL
    QUrl httpsUrl;   // edge of a TLS cluster: the gateway's HTTPS URL (edge.tls); else empty
    QUrl controlUrl; // the control API
    QString syncAddress;
    qint64 pid = 0; // 0 when not running
    QString configPath;
    QString logPath;

    QJsonObject toJson() const;
    static LocalNode fromJson(const QJsonObject &object);
};

struct LocalClusterOptions
{
    int regions = 5; // 1-9, taken in order from LocalCluster::knownRegions()
    int edges = 1;   // 0-4
    bool simulateWan = false;
    double wanMsPer1000Km = 10.0; // one-way delay added per 1000 km of great-circle distance
    QString meridiandPath;        // empty: meridiand next to the running executable, then PATH
    int readyTimeoutMs = 20000;   // per node, polling GET /v1/status
    // Merged into the "control" section of every node's config (e.g. min_active_regions).
    QJsonObject controlOverrides;
    // Merged into the top level of every node's config (e.g. shutdown_timeout_ms).
    QJsonObject configOverrides;
    // Merged into the `edge` section of every edge node's config (e.g. hash_key).
    QJsonObject edgeOverrides;
    // Enabled: every node serves its control API over HTTPS (https:// control URLs) and
    // replicates over mutual TLS with this certificate, key and CA (control.tls and sync.tls),
    // every region's data port serves HTTPS (http.tls, https:// data URLs), and every edge
    // serves HTTPS too (edge.tls, LocalNode::httpsUrl) and reaches the regions over it
    // (edge.upstream_ca_file); the certificate must name 127.0.0.1.
    TlsFiles tls;
};

struct LocalRegionPreset
{
    QString id;
    QString name;
    double lat;
    double lon;
};

// A cluster of real meridiand processes on free loopback ports, described by DIR/cluster.json:
// the code behind `meridianctl local up/down/kill/start`, the control room's demo mode and the
// integration tests. Each call is synchronous (it waits for readiness or exit with a deadline,
// running a local event loop), so a GUI calls it from a worker thread. Nodes run detached, so
// the cluster outlives the process that started it; stdout/stderr of each go to DIR/ID/node.log.
class LocalCluster
{
public:
    // Opens DIR (absolute or relative); nothing is read or started yet.
    explicit LocalCluster(QString dir);

    const QString &dir() const { return m_dir; }
    QString clusterFile() const;

    // Writes every node's config and cluster.json, starts all nodes and waits until each answers
    // GET /v1/status. Fails if DIR already holds a running cluster. On failure, whatever
    // started is stopped again.
    bool up(const LocalClusterOptions &options, QString *error);
    // Reads cluster.json (and refreshes which pids are still alive).
    bool load(QString *error);
    // SIGTERM every node, then SIGKILL those still alive after `graceMs`.
    bool down(int graceMs, QString *error);
    // SIGKILL one node (an outage).
    bool kill(const QString &id, QString *error);
    // SIGTERM one node and wait for it to exit (SIGKILL after `graceMs`).
    bool stop(const QString &id, int graceMs, QString *error);
    // (Re)starts one node with its existing config and waits until it is ready.
    bool start(const QString &id, QString *error);

    const QList<LocalNode> &nodes() const { return m_nodes; }
    const LocalNode *node(const QString &id) const;
    QByteArray adminToken() const { return m_adminToken; }
    QByteArray viewerToken() const { return m_viewerToken; }
    // With TLS: the CA file clients of the control URLs need (meridianctl --cacert); else empty.
    QString caFile() const { return m_tls.caFile; }
    // The full cluster.json content (nodes and tokens), what `local up -o json` prints.
    QJsonObject toJson() const;

    static const QList<LocalRegionPreset> &knownRegions();
    // meridiand at `explicitPath`, else beside QCoreApplication::applicationDirPath(), else in
    // PATH; empty if none is executable.
    static QString findMeridiand(const QString &explicitPath = {});
    static bool processAlive(qint64 pid);
    // Great-circle distance in km (haversine, mean Earth radius).
    static double distanceKm(double lat1, double lon1, double lat2, double lon2);

private:
    bool save(QString *error) const;
    bool startNode(LocalNode &node, QString *error);
    bool waitReady(const LocalNode &node, int timeoutMs, QString *error) const;
    bool waitExit(qint64 pid, int timeoutMs) const;
    // Waits (at most `timeoutMs`, then logs and gives up) until every running node reaches every
    // other running one (GET /v1/status quorum.reachable), so a control call made next finds a
    // leader with its quorum rather than a node that has not probed its peers yet.
    void waitConnected(int timeoutMs) const;
    LocalNode *mutableNode(const QString &id);

    QString m_dir;
    QString m_meridiand;
    int m_readyTimeoutMs = 20000;
    QList<LocalNode> m_nodes;
    QByteArray m_adminToken;
    QByteArray m_viewerToken;
    QByteArray m_clusterToken;
    TlsFiles m_tls;
};

} // namespace Meridian
