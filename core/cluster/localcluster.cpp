#include "core/cluster/localcluster.h"

#include "core/control/tokenauth.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QProcess>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QStandardPaths>
#include <QTcpServer>
#include <QThread>
#include <QTimer>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <memory>

using namespace Qt::StringLiterals;

namespace Meridian {

Q_LOGGING_CATEGORY(lcLocalCluster, "meridian.cluster")

namespace {

constexpr double kEarthRadiusKm = 6371.0088;

QString loopbackUrl(quint16 port, bool https = false)
{
    return (https ? u"https://127.0.0.1:%1"_s : u"http://127.0.0.1:%1"_s).arg(port);
}

QJsonObject tlsJson(const TlsFiles &tls)
{
    return {{u"cert_file"_s, tls.certificateFile},
            {u"key_file"_s, tls.privateKeyFile},
            {u"ca_file"_s, tls.caFile}};
}

// The first port of the kernel's ephemeral range (outgoing connections and listen(port 0)
// draw from it).
int firstEphemeralPort()
{
    QFile file(u"/proc/sys/net/ipv4/ip_local_port_range"_s);
    if (file.open(QIODevice::ReadOnly)) {
        bool ok = false;
        const int first = file.readAll().simplified().split(' ').value(0).toInt(&ok);
        if (ok)
            return first;
    }
    return 32768;
}

// Reserves `count` distinct free loopback ports: all are bound at once, then released for the
// nodes to bind. They are drawn below the ephemeral range when it leaves room: a port from that
// range, once released, can be taken by any process's next outgoing connection before the node
// binds it (a node then fails to start with "address in use"), which ports outside it cannot.
QList<quint16> freePorts(int count, QString *error)
{
    std::vector<std::unique_ptr<QTcpServer>> servers;
    QList<quint16> ports;
    // Holds `port` (0: any) until we return; false, with `why`, when it cannot be bound.
    const auto reserve = [&](quint16 port, QString *why) {
        auto server = std::make_unique<QTcpServer>();
        if (!server->listen(QHostAddress::LocalHost, port)) {
            *why = server->errorString();
            return false;
        }
        ports.append(server->serverPort());
        servers.push_back(std::move(server));
        return true;
    };
    const int low = 10000;
    const int high = firstEphemeralPort() - 1;
    QString why;
    for (int attempt = 0; high - low > 1000 && ports.size() < count && attempt < 20 * count;
         ++attempt) {
        const auto port = quint16(QRandomGenerator::global()->bounded(low, high + 1));
        if (!ports.contains(port))
            reserve(port, &why); // in use: draw another
    }
    while (ports.size() < count) {
        if (!reserve(0, &why)) {
            *error = u"cannot find a free loopback port: %1"_s.arg(why);
            return {};
        }
    }
    return ports;
}

// What the cluster's own calls trust: the system's CAs, and the cluster's CA with TLS.
QSslConfiguration trustFor(const TlsFiles &tls)
{
    QSslConfiguration trust = QSslConfiguration::defaultConfiguration();
    if (tls.isEnabled())
        trust.addCaCertificates(QSslCertificate::fromPath(tls.caFile));
    return trust;
}

// GET with a bearer token, answered (or failed) within a second, in a local event loop.
std::unique_ptr<QNetworkReply> getAndWait(QNetworkAccessManager &manager,
                                          const QUrl &url,
                                          const QByteArray &token,
                                          const QSslConfiguration &trust)
{
    QNetworkRequest request(url);
    request.setSslConfiguration(trust);
    request.setRawHeader("Authorization", "Bearer " + token);
    request.setTransferTimeout(1000);
    std::unique_ptr<QNetworkReply> reply(manager.get(request));
    QEventLoop loop;
    QObject::connect(reply.get(), &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    return reply;
}

QString tail(const QString &path, int lines)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    const QList<QByteArray> all = file.readAll().trimmed().split('\n');
    QStringList out;
    for (qsizetype i = std::max<qsizetype>(0, all.size() - lines); i < all.size(); ++i)
        out << QString::fromUtf8(all.at(i));
    return out.join(u'\n');
}

void merge(QJsonObject &into, const QJsonObject &from)
{
    for (auto it = from.constBegin(); it != from.constEnd(); ++it)
        into.insert(it.key(), it.value());
}

const char *kDemoIndex = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meridian demo</title>
<link rel="stylesheet" href="/assets/site.css"></head>
<body><h1>Meridian demo site</h1>
<p>Served by a Meridian region node. The response header <code>X-Meridian-Region</code> names it;
<code>/api/kv/KEY</code> reads and writes the replicated store.</p></body></html>
)";

const char *kDemoCss = "body { font-family: sans-serif; margin: 3em; }\n";

} // namespace

QJsonObject LocalNode::toJson() const
{
    return {{u"id"_s, id},
            {u"role"_s, role},
            {u"name"_s, name},
            {u"lat"_s, lat},
            {u"lon"_s, lon},
            {u"data_url"_s, dataUrl.toString()},
            {u"https_url"_s, httpsUrl.toString()},
            {u"control_url"_s, controlUrl.toString()},
            {u"sync_address"_s, syncAddress},
            {u"pid"_s, pid},
            {u"config"_s, configPath},
            {u"log"_s, logPath}};
}

LocalNode LocalNode::fromJson(const QJsonObject &object)
{
    LocalNode node;
    node.id = object.value(u"id"_s).toString();
    node.role = object.value(u"role"_s).toString();
    node.name = object.value(u"name"_s).toString();
    node.lat = object.value(u"lat"_s).toDouble();
    node.lon = object.value(u"lon"_s).toDouble();
    node.dataUrl = QUrl(object.value(u"data_url"_s).toString());
    node.httpsUrl = QUrl(object.value(u"https_url"_s).toString());
    node.controlUrl = QUrl(object.value(u"control_url"_s).toString());
    node.syncAddress = object.value(u"sync_address"_s).toString();
    node.pid = object.value(u"pid"_s).toInteger();
    node.configPath = object.value(u"config"_s).toString();
    node.logPath = object.value(u"log"_s).toString();
    return node;
}

LocalCluster::LocalCluster(QString dir)
    : m_dir(QDir(dir).absolutePath())
{}

QString LocalCluster::clusterFile() const
{
    return QDir(m_dir).filePath(u"cluster.json"_s);
}

const QList<LocalRegionPreset> &LocalCluster::knownRegions()
{
    static const QList<LocalRegionPreset> regions = {
            {u"us-east"_s, u"Ashburn"_s, 39.04, -77.49},
            {u"eu-west"_s, u"Dublin"_s, 53.35, -6.26},
            {u"ap-southeast"_s, u"Singapore"_s, 1.35, 103.82},
            {u"us-west"_s, u"Oregon"_s, 45.84, -119.70},
            {u"sa-east"_s, u"S\u00e3o Paulo"_s, -23.55, -46.63},
            {u"eu-central"_s, u"Frankfurt"_s, 50.11, 8.68},
            {u"ap-northeast"_s, u"Tokyo"_s, 35.68, 139.69},
            {u"ap-south"_s, u"Mumbai"_s, 19.08, 72.88},
            {u"af-south"_s, u"Cape Town"_s, -33.92, 18.42},
    };
    return regions;
}

double LocalCluster::distanceKm(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180.0;
    const double dLat = (lat2 - lat1) * rad;
    const double dLon = (lon2 - lon1) * rad;
    const double a = std::sin(dLat / 2) * std::sin(dLat / 2)
                     + std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dLon / 2)
                               * std::sin(dLon / 2);
    return 2.0 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

QString LocalCluster::findMeridiand(const QString &explicitPath)
{
    if (!explicitPath.isEmpty())
        return QFileInfo(explicitPath).isExecutable() ? QFileInfo(explicitPath).absoluteFilePath()
                                                      : QString();
    if (QCoreApplication::instance()) {
        const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath(u"meridiand"_s);
        if (QFileInfo(beside).isExecutable())
            return beside;
        // Test executables live in build/tests, the daemon in build/bin.
        const QString sibling
                = QDir(QCoreApplication::applicationDirPath()).filePath(u"../bin/meridiand"_s);
        if (QFileInfo(sibling).isExecutable())
            return QDir::cleanPath(sibling);
    }
    return QStandardPaths::findExecutable(u"meridiand"_s);
}

bool LocalCluster::processAlive(qint64 pid)
{
    if (pid <= 0)
        return false;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        return false;
    // A zombie (exited, not yet reaped by its parent) is not alive.
    QFile stat(u"/proc/%1/stat"_s.arg(pid));
    if (stat.open(QIODevice::ReadOnly)) {
        const QByteArray line = stat.readAll();
        const qsizetype close = line.lastIndexOf(')');
        if (close > 0 && close + 2 < line.size() && line.at(close + 2) == 'Z')
            return false;
    }
    return true;
}

const LocalNode *LocalCluster::node(const QString &id) const
{
    for (const LocalNode &node : m_nodes) {
        if (node.id == id)
            return &node;
    }
    return nullptr;
}

LocalNode *LocalCluster::mutableNode(const QString &id)
{
    for (LocalNode &node : m_nodes) {
        if (node.id == id)
            return &node;
    }
    return nullptr;
}

QJsonObject LocalCluster::toJson() const
{
    QJsonArray nodes;
    for (const LocalNode &node : m_nodes)
        nodes.append(node.toJson());
    QJsonObject out{{u"version"_s, 1},
                    {u"dir"_s, m_dir},
                    {u"meridiand"_s, m_meridiand},
                    {u"admin_token"_s, QString::fromLatin1(m_adminToken)},
                    {u"viewer_token"_s, QString::fromLatin1(m_viewerToken)},
                    {u"cluster_token"_s, QString::fromLatin1(m_clusterToken)},
                    {u"ready_timeout_ms"_s, m_readyTimeoutMs},
                    {u"nodes"_s, nodes}};
    if (m_tls.isEnabled())
        out.insert(u"tls"_s, tlsJson(m_tls));
    return out;
}

bool LocalCluster::save(QString *error) const
{
    QSaveFile file(clusterFile());
    if (!file.open(QIODevice::WriteOnly)) {
        *error = u"cannot write %1: %2"_s.arg(clusterFile(), file.errorString());
        return false;
    }
    file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    file.write(QJsonDocument(toJson()).toJson());
    if (!file.commit()) {
        *error = u"cannot write %1: %2"_s.arg(clusterFile(), file.errorString());
        return false;
    }
    return true;
}

bool LocalCluster::load(QString *error)
{
    QFile file(clusterFile());
    if (!file.open(QIODevice::ReadOnly)) {
        *error = u"no local cluster in %1 (%2): start one with `meridianctl local up --dir %1`"_s
                         .arg(m_dir, file.errorString());
        return false;
    }
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (!document.isObject()) {
        *error = u"%1 is not a cluster file: %2"_s.arg(clusterFile(), parseError.errorString());
        return false;
    }
    const QJsonObject root = document.object();
    m_meridiand = root.value(u"meridiand"_s).toString();
    m_adminToken = root.value(u"admin_token"_s).toString().toLatin1();
    m_viewerToken = root.value(u"viewer_token"_s).toString().toLatin1();
    m_clusterToken = root.value(u"cluster_token"_s).toString().toLatin1();
    m_readyTimeoutMs = root.value(u"ready_timeout_ms"_s).toInt(20000);
    const QJsonObject tls = root.value(u"tls"_s).toObject();
    m_tls = {tls.value(u"cert_file"_s).toString(),
             tls.value(u"key_file"_s).toString(),
             tls.value(u"ca_file"_s).toString()};
    m_nodes.clear();
    for (const QJsonValue &value : root.value(u"nodes"_s).toArray()) {
        LocalNode node = LocalNode::fromJson(value.toObject());
        if (!processAlive(node.pid))
            node.pid = 0;
        m_nodes.append(node);
    }
    return true;
}

bool LocalCluster::up(const LocalClusterOptions &options, QString *error)
{
    if (options.regions < 1 || options.regions > knownRegions().size()) {
        *error = u"--regions must be from 1 to %1"_s.arg(knownRegions().size());
        return false;
    }
    if (options.edges < 0 || options.edges > 4) {
        *error = u"edges must be from 0 to 4"_s;
        return false;
    }
    QString loadError;
    if (QFileInfo::exists(clusterFile()) && load(&loadError)) {
        for (const LocalNode &node : std::as_const(m_nodes)) {
            if (node.pid != 0) {
                *error = u"%1 already runs a local cluster (%2 is pid %3); stop it first with "
                         "`meridianctl local down --dir %1`"_s.arg(m_dir, node.id)
                                 .arg(node.pid);
                return false;
            }
        }
    }
    m_meridiand = findMeridiand(options.meridiandPath);
    if (m_meridiand.isEmpty()) {
        *error = options.meridiandPath.isEmpty()
                         ? u"cannot find meridiand beside %1 or in PATH"_s.arg(
                                 QCoreApplication::applicationDirPath())
                         : u"%1 is not an executable meridiand"_s.arg(options.meridiandPath);
        return false;
    }
    m_readyTimeoutMs = options.readyTimeoutMs;
    m_tls = options.tls;
    if (m_tls.isEnabled()) {
        for (QString *path : {&m_tls.certificateFile, &m_tls.privateKeyFile, &m_tls.caFile})
            *path = QFileInfo(*path).absoluteFilePath();
        if (const TlsFiles::Loaded loaded = m_tls.load(); !loaded.ok()) {
            *error = u"TLS: %1"_s.arg(loaded.errorText());
            return false;
        }
    }
    if (!QDir().mkpath(m_dir)) {
        *error = u"cannot create %1"_s.arg(m_dir);
        return false;
    }

    const int nodeCount = options.regions + options.edges;
    // Three ports a node (data, control, sync), and one more an edge of a TLS cluster (HTTPS).
    const QList<quint16> ports = freePorts(nodeCount * 3 + (m_tls.isEnabled() ? options.edges : 0),
                                           error);
    if (ports.isEmpty())
        return false;

    m_adminToken = TokenAuth::generateToken();
    m_viewerToken = TokenAuth::generateToken();
    m_clusterToken = TokenAuth::generateToken();
    m_nodes.clear();
    for (int i = 0; i < nodeCount; ++i) {
        LocalNode node;
        const bool region = i < options.regions;
        if (region) {
            const LocalRegionPreset &preset = knownRegions().at(i);
            node.id = preset.id;
            node.name = preset.name;
            node.lat = preset.lat;
            node.lon = preset.lon;
            node.role = u"region"_s;
        } else {
            node.id = u"edge-%1"_s.arg(i - options.regions + 1);
            node.name = node.id;
            node.role = u"edge"_s;
            if (m_tls.isEnabled())
                node.httpsUrl = QUrl(
                        loopbackUrl(ports.at(nodeCount * 3 + i - options.regions), true));
        }
        // Regions of a TLS cluster serve their data port over HTTPS too (http.tls), so users'
        // requests cross from the edge to a region encrypted.
        node.dataUrl = QUrl(loopbackUrl(ports.at(i * 3), region && m_tls.isEnabled()));
        node.controlUrl = QUrl(loopbackUrl(ports.at(i * 3 + 1), m_tls.isEnabled()));
        node.syncAddress = u"127.0.0.1:%1"_s.arg(ports.at(i * 3 + 2));
        const QString nodeDir = QDir(m_dir).filePath(node.id);
        node.configPath = QDir(nodeDir).filePath(u"meridiand.json"_s);
        node.logPath = QDir(nodeDir).filePath(u"node.log"_s);
        m_nodes.append(node);
    }

    // The demo website every region serves.
    const QString www = QDir(m_dir).filePath(u"www"_s);
    QDir().mkpath(QDir(www).filePath(u"assets"_s));
    {
        QFile index(QDir(www).filePath(u"index.html"_s));
        QFile css(QDir(www).filePath(u"assets/site.css"_s));
        if (!index.open(QIODevice::WriteOnly) || !css.open(QIODevice::WriteOnly)) {
            *error = u"cannot write the demo site in %1"_s.arg(www);
            return false;
        }
        index.write(kDemoIndex);
        css.write(kDemoCss);
    }

    QJsonArray regions;
    QJsonArray edges;
    for (const LocalNode &node : std::as_const(m_nodes)) {
        if (node.role == u"region"_s) {
            regions.append(QJsonObject{{u"id"_s, node.id},
                                       {u"name"_s, node.name},
                                       {u"lat"_s, node.lat},
                                       {u"lon"_s, node.lon},
                                       {u"data_url"_s, node.dataUrl.toString()},
                                       {u"control_url"_s, node.controlUrl.toString()},
                                       {u"sync_address"_s, node.syncAddress}});
        } else {
            edges.append(QJsonObject{{u"id"_s, node.id},
                                     {u"url"_s, node.dataUrl.toString()},
                                     {u"control_url"_s, node.controlUrl.toString()},
                                     {u"sync_address"_s, node.syncAddress}});
        }
    }
    QJsonObject control{{u"tokens"_s,
                         QJsonArray{QJsonObject{{u"name"_s, u"admin"_s},
                                                {u"role"_s, u"admin"_s},
                                                {u"sha256"_s, TokenAuth::hashHex(m_adminToken)}},
                                    QJsonObject{{u"name"_s, u"viewer"_s},
                                                {u"role"_s, u"viewer"_s},
                                                {u"sha256"_s, TokenAuth::hashHex(m_viewerToken)}},
                                    QJsonObject{{u"name"_s, u"cluster"_s},
                                                {u"role"_s, u"admin"_s},
                                                {u"sha256"_s, TokenAuth::hashHex(m_clusterToken)}}}},
                        {u"cluster_token"_s, QString::fromLatin1(m_clusterToken)}};
    if (m_tls.isEnabled())
        control.insert(u"tls"_s, tlsJson(m_tls));
    merge(control, options.controlOverrides);

    for (const LocalNode &node : std::as_const(m_nodes)) {
        const QString nodeDir = QFileInfo(node.configPath).absolutePath();
        if (!QDir().mkpath(nodeDir)) {
            *error = u"cannot create %1"_s.arg(nodeDir);
            return false;
        }
        QJsonObject config{{u"node_id"_s, node.id},
                           {u"role"_s, node.role},
                           {u"data_dir"_s, QDir(nodeDir).filePath(u"data"_s)},
                           {u"regions"_s, regions},
                           {u"edges"_s, edges},
                           {u"control"_s, control},
                           {u"wan"_s,
                            QJsonObject{{u"simulate"_s, options.simulateWan},
                                        {u"ms_per_1000km"_s, options.wanMsPer1000Km}}}};
        QJsonObject listen{{u"control"_s, node.controlUrl.authority()},
                           {u"sync"_s, node.syncAddress}};
        if (node.role == u"region"_s) {
            config.insert(u"region"_s, node.id);
            listen.insert(u"data"_s, node.dataUrl.authority());
            if (m_tls.isEnabled())
                config.insert(u"http"_s,
                              QJsonObject{{u"tls"_s,
                                           QJsonObject{{u"cert_file"_s, m_tls.certificateFile},
                                                       {u"key_file"_s, m_tls.privateKeyFile}}}});
            config.insert(
                    u"static"_s,
                    QJsonObject{{u"root"_s, www},
                                {u"cache_control"_s,
                                 // Assets: fresh for an hour, then refreshed
                                 // in the background while the copy answers.
                                 QJsonArray{QJsonObject{{u"pattern"_s, u"/assets/*"_s},
                                                        {u"value"_s,
                                                         u"public, max-age=3600, "
                                                         "stale-while-revalidate=86400, "
                                                         "stale-if-error=86400"_s}},
                                            // Revalidated at every use while a
                                            // region answers; kept up when none can.
                                            QJsonObject{{u"pattern"_s, u"*.html"_s},
                                                        {u"value"_s,
                                                         u"no-cache, stale-if-error=86400"_s}}}}});
        } else {
            QJsonObject edge{{u"listen"_s, node.dataUrl.authority()}};
            if (m_tls.isEnabled()) {
                edge.insert(u"tls"_s,
                            QJsonObject{{u"cert_file"_s, m_tls.certificateFile},
                                        {u"key_file"_s, m_tls.privateKeyFile},
                                        {u"listen"_s, node.httpsUrl.authority()}});
                edge.insert(u"upstream_ca_file"_s, m_tls.caFile);
            }
            merge(edge, options.edgeOverrides);
            config.insert(u"edge"_s, edge);
        }
        config.insert(u"listen"_s, listen);
        if (m_tls.isEnabled())
            config.insert(u"sync"_s, QJsonObject{{u"tls"_s, tlsJson(m_tls)}});
        merge(config, options.configOverrides);
        QSaveFile file(node.configPath);
        if (!file.open(QIODevice::WriteOnly)) {
            *error = u"cannot write %1: %2"_s.arg(node.configPath, file.errorString());
            return false;
        }
        file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        file.write(QJsonDocument(config).toJson());
        if (!file.commit()) {
            *error = u"cannot write %1: %2"_s.arg(node.configPath, file.errorString());
            return false;
        }
    }

    for (LocalNode &node : m_nodes) {
        if (!startNode(node, error)) {
            QString ignored;
            save(&ignored);
            down(2000, &ignored);
            return false;
        }
    }
    if (!save(error))
        return false;
    for (const LocalNode &node : std::as_const(m_nodes)) {
        if (!waitReady(node, m_readyTimeoutMs, error)) {
            QString ignored;
            down(2000, &ignored);
            return false;
        }
    }
    waitConnected(m_readyTimeoutMs);
    return true;
}

bool LocalCluster::startNode(LocalNode &node, QString *error)
{
    QProcess process;
    process.setProgram(m_meridiand);
    process.setArguments({u"--config"_s, node.configPath});
    process.setStandardOutputFile(node.logPath, QIODevice::Append);
    process.setStandardErrorFile(node.logPath, QIODevice::Append);
    process.setStandardInputFile(QProcess::nullDevice());
    process.setWorkingDirectory(QFileInfo(node.configPath).absolutePath());
    qint64 pid = 0;
    if (!process.startDetached(&pid)) {
        *error = u"cannot start %1 for %2: %3"_s.arg(m_meridiand, node.id, process.errorString());
        return false;
    }
    node.pid = pid;
    qCInfo(lcLocalCluster) << "started" << node.id << "pid" << pid;
    return true;
}

bool LocalCluster::waitReady(const LocalNode &node, int timeoutMs, QString *error) const
{
    QNetworkAccessManager manager;
    QDeadlineTimer deadline(timeoutMs);
    QUrl url = node.controlUrl;
    url.setPath(u"/v1/status"_s);
    const QSslConfiguration trust = trustFor(m_tls); // read once, not at every poll
    while (!deadline.hasExpired()) {
        if (!processAlive(node.pid)) {
            *error = u"%1 exited during start-up; the end of %2:\n%3"_s.arg(node.id,
                                                                            node.logPath,
                                                                            tail(node.logPath, 10));
            return false;
        }
        const std::unique_ptr<QNetworkReply> reply = getAndWait(manager, url, m_viewerToken, trust);
        if (reply->error() == QNetworkReply::NoError
            && reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200) {
            return true;
        }
        // Not listening yet: try again shortly (a bounded poll, not a sleep-for-correctness).
        QEventLoop pause;
        QTimer::singleShot(50, &pause, &QEventLoop::quit);
        pause.exec();
    }
    *error = u"%1 did not answer %2 within %3 ms; the end of %4:\n%5"_s.arg(node.id, url.toString())
                     .arg(timeoutMs)
                     .arg(node.logPath, tail(node.logPath, 10));
    return false;
}

void LocalCluster::waitConnected(int timeoutMs) const
{
    QList<const LocalNode *> running;
    for (const LocalNode &node : m_nodes) {
        if (processAlive(node.pid))
            running.append(&node);
    }
    QNetworkAccessManager manager;
    QDeadlineTimer deadline(timeoutMs);
    const QSslConfiguration trust = trustFor(m_tls);
    for (const LocalNode *node : std::as_const(running)) {
        QUrl url = node->controlUrl;
        url.setPath(u"/v1/status"_s);
        while (true) {
            const std::unique_ptr<QNetworkReply> reply
                    = getAndWait(manager, url, m_viewerToken, trust);
            const QJsonObject quorum = QJsonDocument::fromJson(reply->readAll())
                                               .object()
                                               .value(u"quorum"_s)
                                               .toObject();
            if (reply->error() == QNetworkReply::NoError
                && (quorum.isEmpty() || quorum.value(u"reachable"_s).toInt() >= running.size())) {
                break;
            }
            if (deadline.hasExpired()) {
                qCWarning(lcLocalCluster).noquote()
                        << node->id << "does not reach every running node yet:"
                        << QJsonDocument(quorum).toJson(QJsonDocument::Compact);
                return;
            }
            // Probes run every probe_interval_ms: poll again shortly (bounded by the deadline).
            QEventLoop pause;
            QTimer::singleShot(50, &pause, &QEventLoop::quit);
            pause.exec();
        }
    }
}

bool LocalCluster::waitExit(qint64 pid, int timeoutMs) const
{
    QDeadlineTimer deadline(timeoutMs);
    while (processAlive(pid)) {
        if (deadline.hasExpired())
            return false;
        QThread::msleep(20);
    }
    return true;
}

bool LocalCluster::down(int graceMs, QString *error)
{
    if (m_nodes.isEmpty() && !load(error))
        return false;
    for (const LocalNode &node : std::as_const(m_nodes)) {
        if (processAlive(node.pid))
            ::kill(static_cast<pid_t>(node.pid), SIGTERM);
    }
    QDeadlineTimer deadline(graceMs);
    for (LocalNode &node : m_nodes) {
        if (node.pid == 0)
            continue;
        if (!waitExit(node.pid, int(std::max<qint64>(0, deadline.remainingTime())))) {
            qCWarning(lcLocalCluster)
                    << node.id << "did not stop within" << graceMs << "ms; sending SIGKILL";
            ::kill(static_cast<pid_t>(node.pid), SIGKILL);
            waitExit(node.pid, 5000);
        }
        node.pid = 0;
    }
    return save(error);
}

bool LocalCluster::kill(const QString &id, QString *error)
{
    if (m_nodes.isEmpty() && !load(error))
        return false;
    LocalNode *node = mutableNode(id);
    if (!node) {
        *error = u"no node '%1' in %2"_s.arg(id, clusterFile());
        return false;
    }
    if (!processAlive(node->pid)) {
        *error = u"%1 is not running"_s.arg(id);
        return false;
    }
    ::kill(static_cast<pid_t>(node->pid), SIGKILL);
    waitExit(node->pid, 5000);
    node->pid = 0;
    return save(error);
}

bool LocalCluster::stop(const QString &id, int graceMs, QString *error)
{
    if (m_nodes.isEmpty() && !load(error))
        return false;
    LocalNode *node = mutableNode(id);
    if (!node) {
        *error = u"no node '%1' in %2"_s.arg(id, clusterFile());
        return false;
    }
    if (processAlive(node->pid)) {
        ::kill(static_cast<pid_t>(node->pid), SIGTERM);
        if (!waitExit(node->pid, graceMs)) {
            ::kill(static_cast<pid_t>(node->pid), SIGKILL);
            waitExit(node->pid, 5000);
        }
    }
    node->pid = 0;
    return save(error);
}

bool LocalCluster::start(const QString &id, QString *error)
{
    if (m_nodes.isEmpty() && !load(error))
        return false;
    LocalNode *node = mutableNode(id);
    if (!node) {
        *error = u"no node '%1' in %2"_s.arg(id, clusterFile());
        return false;
    }
    if (processAlive(node->pid)) {
        *error = u"%1 is already running (pid %2)"_s.arg(id).arg(node->pid);
        return false;
    }
    if (!QFileInfo(m_meridiand).isExecutable()) {
        *error = u"%1 (recorded in %2) is not executable"_s.arg(m_meridiand, clusterFile());
        return false;
    }
    if (!startNode(*node, error) || !save(error))
        return false;
    if (!waitReady(*node, m_readyTimeoutMs, error))
        return false;
    waitConnected(m_readyTimeoutMs);
    return true;
}

} // namespace Meridian
