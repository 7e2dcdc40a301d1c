#pragma once

#include "core/cluster/localcluster.h"
#include "ui/trafficgenerator.h"

#include <QObject>
#include <QStringList>
#include <QTemporaryDir>
#include <QThread>

#include <memory>

namespace Meridian {

namespace Internal {
class DemoWorker;
}

struct DemoOptions
{
    int regions = 5;
    int edges = 1;
    bool simulateWan = true;
    double trafficRatePerS = 25; // synthetic requests per second; 0 for none
    int trafficMaxInFlight = 16;
    QString baseDir;       // where the temporary cluster directory goes; empty: the system temp dir
    QString meridiandPath; // empty: beside the executable, then PATH
};

// The control room's demo: a LocalCluster (the code of `meridianctl local up`) in a temporary
// directory, started and steered on a worker thread because LocalCluster is synchronous, plus
// synthetic traffic from world cities on a second thread. shutdown() (also run by the
// destructor) stops the traffic, takes the cluster down and removes the directory.
class DemoCluster final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DemoCluster)

public:
    explicit DemoCluster(QObject *parent = nullptr);
    ~DemoCluster() override;

    // Starts the cluster in the background; ready() or failed() follows.
    void start(const DemoOptions &options = {});
    // Stops traffic and every node and removes the directory; blocks until done. Idempotent.
    void shutdown();

    bool isReady() const { return m_ready; }
    QString dir() const { return m_dir ? m_dir->path() : QString(); }
    const QList<LocalNode> &nodes() const { return m_nodes; }
    QStringList controlEndpoints() const;
    QString adminToken() const { return m_adminToken; }
    QStringList regionIds() const;
    // Regions this demo killed and not yet restarted.
    QStringList downRegions() const { return m_down; }

public slots:
    // Kills region `id`'s node (SIGKILL): an outage. regionChanged() follows.
    void simulateOutage(const QString &id);
    // Starts region `id`'s node again with its config and waits for it to be ready.
    void restartRegion(const QString &id);

signals:
    void ready(const QStringList &controlEndpoints, const QString &token);
    void failed(const QString &error);
    // After simulateOutage/restartRegion: whether the node now runs, or why the step failed.
    void regionChanged(const QString &id, bool running, const QString &error);
    void trafficStatsChanged(const Meridian::TrafficStats &stats);

private:
    void onUp(bool ok, const QString &error, const QJsonObject &cluster);

    std::unique_ptr<QTemporaryDir> m_dir;
    QThread m_clusterThread;
    QThread m_trafficThread;
    Internal::DemoWorker *m_worker = nullptr;
    TrafficGenerator *m_traffic = nullptr;
    DemoOptions m_options;
    QList<LocalNode> m_nodes;
    QStringList m_down;
    QString m_adminToken;
    bool m_ready = false;
    bool m_shutDown = false;
};

namespace Internal {

// Runs LocalCluster's blocking calls on the demo's cluster thread.
class DemoWorker final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DemoWorker)

public:
    explicit DemoWorker(QString dir)
        : m_dir(std::move(dir))
    {}
    ~DemoWorker() override;

public slots:
    void up(const Meridian::LocalClusterOptions &options);
    void kill(const QString &id);
    void restart(const QString &id);
    void down();

signals:
    void upFinished(bool ok, const QString &error, const QJsonObject &cluster);
    void regionChanged(const QString &id, bool running, const QString &error);

private:
    QString m_dir;
    std::unique_ptr<LocalCluster> m_cluster;
};

} // namespace Internal
} // namespace Meridian

Q_DECLARE_METATYPE(Meridian::LocalClusterOptions)
