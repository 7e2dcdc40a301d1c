#include "ui/democluster.h"

#include <QDir>
#include <QJsonArray>
#include <QLoggingCategory>

namespace Meridian {

Q_LOGGING_CATEGORY(lcDemo, "meridian.ui.demo")

namespace Internal {

DemoWorker::~DemoWorker() = default;

void DemoWorker::up(const LocalClusterOptions &options)
{
    m_cluster = std::make_unique<LocalCluster>(m_dir);
    QString error;
    if (!m_cluster->up(options, &error)) {
        emit upFinished(false, error, {});
        return;
    }
    emit upFinished(true, {}, m_cluster->toJson());
}

void DemoWorker::kill(const QString &id)
{
    QString error;
    const bool ok = m_cluster && m_cluster->kill(id, &error);
    emit regionChanged(id, !ok, ok ? QString() : error);
}

void DemoWorker::restart(const QString &id)
{
    QString error;
    const bool ok = m_cluster && m_cluster->start(id, &error);
    emit regionChanged(id, ok, ok ? QString() : error);
}

void DemoWorker::down()
{
    if (!m_cluster)
        return;
    QString error;
    if (!m_cluster->down(3000, &error))
        qCWarning(lcDemo) << "stopping the demo cluster:" << error;
    m_cluster.reset();
}

} // namespace Internal

DemoCluster::DemoCluster(QObject *parent)
    : QObject(parent)
{
    qRegisterMetaType<Meridian::LocalClusterOptions>();
    m_clusterThread.setObjectName(QStringLiteral("demo-cluster"));
    m_trafficThread.setObjectName(QStringLiteral("demo-traffic"));
}

DemoCluster::~DemoCluster()
{
    shutdown();
}

void DemoCluster::start(const DemoOptions &options)
{
    if (m_worker || m_shutDown)
        return;
    m_options = options;
    const QString base = options.baseDir.isEmpty() ? QDir::tempPath() : options.baseDir;
    m_dir = std::make_unique<QTemporaryDir>(base + QStringLiteral("/meridian-demo-XXXXXX"));
    if (!m_dir->isValid()) {
        const QString error = tr("cannot create a directory for the demo cluster in %1: %2")
                                      .arg(base, m_dir->errorString());
        QMetaObject::invokeMethod(
                this, [this, error] { emit failed(error); }, Qt::QueuedConnection);
        return;
    }
    m_worker = new Internal::DemoWorker(m_dir->path());
    m_worker->moveToThread(&m_clusterThread);
    connect(&m_clusterThread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &Internal::DemoWorker::upFinished, this, &DemoCluster::onUp);
    connect(m_worker,
            &Internal::DemoWorker::regionChanged,
            this,
            [this](const QString &id, bool running, const QString &error) {
                if (error.isEmpty()) {
                    if (running)
                        m_down.removeAll(id);
                    else if (!m_down.contains(id))
                        m_down.append(id);
                }
                emit regionChanged(id, running, error);
            });
    m_clusterThread.start();

    LocalClusterOptions local;
    local.regions = options.regions;
    local.edges = options.edges;
    local.simulateWan = options.simulateWan;
    local.meridiandPath = options.meridiandPath;
    QMetaObject::invokeMethod(m_worker,
                              "up",
                              Qt::QueuedConnection,
                              Q_ARG(Meridian::LocalClusterOptions, local));
}

void DemoCluster::onUp(bool ok, const QString &error, const QJsonObject &cluster)
{
    if (m_shutDown)
        return;
    if (!ok) {
        emit failed(error);
        return;
    }
    m_nodes.clear();
    for (const QJsonValue &value : cluster.value(QStringLiteral("nodes")).toArray())
        m_nodes.append(LocalNode::fromJson(value.toObject()));
    m_adminToken = cluster.value(QStringLiteral("admin_token")).toString();
    m_ready = true;

    if (m_options.trafficRatePerS > 0) {
        QUrl edgeUrl;
        QList<TrafficGenerator::Target> targets;
        for (const LocalNode &node : std::as_const(m_nodes)) {
            if (node.role == u"edge" && edgeUrl.isEmpty())
                edgeUrl = node.dataUrl;
            else if (node.role == u"region")
                targets.append({node.id, node.dataUrl, node.lat, node.lon});
        }
        m_traffic = new TrafficGenerator;
        m_traffic->moveToThread(&m_trafficThread);
        connect(&m_trafficThread, &QThread::finished, m_traffic, &QObject::deleteLater);
        connect(m_traffic, &TrafficGenerator::statsChanged, this, &DemoCluster::trafficStatsChanged);
        m_trafficThread.start();
        QMetaObject::invokeMethod(m_traffic,
                                  "start",
                                  Qt::QueuedConnection,
                                  Q_ARG(QUrl, edgeUrl),
                                  Q_ARG(QList<Meridian::TrafficGenerator::Target>, targets),
                                  Q_ARG(double, m_options.trafficRatePerS),
                                  Q_ARG(int, m_options.trafficMaxInFlight));
    }
    emit ready(controlEndpoints(), m_adminToken);
}

void DemoCluster::shutdown()
{
    if (m_shutDown)
        return;
    m_shutDown = true;
    if (m_traffic) {
        QMetaObject::invokeMethod(m_traffic, "stop", Qt::BlockingQueuedConnection);
        m_trafficThread.quit();
        m_trafficThread.wait();
        m_traffic = nullptr;
    }
    if (m_worker) {
        // Waits for whatever the worker is doing (an up() in progress included), then stops
        // every node.
        QMetaObject::invokeMethod(m_worker, "down", Qt::BlockingQueuedConnection);
        m_clusterThread.quit();
        m_clusterThread.wait();
        m_worker = nullptr;
    }
    m_dir.reset();
    m_ready = false;
}

QStringList DemoCluster::controlEndpoints() const
{
    // Regions first (any of them answers for the cluster), the edge last.
    QStringList regions;
    QStringList edges;
    for (const LocalNode &node : m_nodes)
        (node.role == u"edge" ? edges : regions).append(node.controlUrl.toString());
    return regions + edges;
}

QStringList DemoCluster::regionIds() const
{
    QStringList ids;
    for (const LocalNode &node : m_nodes) {
        if (node.role == u"region")
            ids.append(node.id);
    }
    return ids;
}

void DemoCluster::simulateOutage(const QString &id)
{
    if (m_worker && m_ready)
        QMetaObject::invokeMethod(m_worker, "kill", Qt::QueuedConnection, Q_ARG(QString, id));
}

void DemoCluster::restartRegion(const QString &id)
{
    if (m_worker && m_ready)
        QMetaObject::invokeMethod(m_worker, "restart", Qt::QueuedConnection, Q_ARG(QString, id));
}

} // namespace Meridian
