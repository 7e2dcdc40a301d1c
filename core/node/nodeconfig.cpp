#include "core/node/nodeconfig.h"

#include "core/edge/edgeconfig.h"
#include "core/edge/edgetraffic.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QSslCertificate>

#include <cmath>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

// Thrown only inside this file, to unwind the recursive reader to NodeConfigLoader::parse.
struct FieldError
{
    QString field;
    QString message;
};

QString join(const QString &prefix, const QString &key)
{
    return prefix.isEmpty() ? key : prefix + u'.' + key;
}

// Reads typed fields of one JSON object, naming the full field path in every error and
// refusing keys it was not asked about (so a misspelt option is an error, not a silent default).
class ObjectReader
{
public:
    ObjectReader(QJsonObject object, QString path)
        : m_object(std::move(object))
        , m_path(std::move(path))
    {}

    bool has(const QString &key)
    {
        m_known.insert(key);
        return m_object.contains(key) && !m_object.value(key).isNull();
    }

    QString field(const QString &key) const { return join(m_path, key); }

    [[noreturn]] void fail(const QString &key, const QString &message) const
    {
        throw FieldError{field(key), message};
    }

    QString string(const QString &key, const QString &fallback, bool required = false)
    {
        if (!has(key)) {
            if (required)
                fail(key, u"is required"_s);
            return fallback;
        }
        const QJsonValue value = m_object.value(key);
        if (!value.isString())
            fail(key, u"must be a string"_s);
        if (value.toString().isEmpty())
            fail(key, u"must not be empty"_s);
        return value.toString();
    }

    double number(const QString &key, double fallback, double min, double max, bool required = false)
    {
        if (!has(key)) {
            if (required)
                fail(key, u"is required"_s);
            return fallback;
        }
        const QJsonValue value = m_object.value(key);
        if (!value.isDouble())
            fail(key, u"must be a number"_s);
        const double number = value.toDouble();
        if (number < min || number > max)
            fail(key, u"must be from %1 to %2 (got %3)"_s.arg(min).arg(max).arg(number));
        return number;
    }

    int integer(const QString &key, int fallback, int min, int max)
    {
        if (!has(key))
            return fallback;
        const QJsonValue value = m_object.value(key);
        const double number = value.toDouble(std::nan(""));
        if (!value.isDouble() || number != std::floor(number))
            fail(key, u"must be a whole number"_s);
        if (number < min || number > max)
            fail(key, u"must be from %1 to %2 (got %3)"_s.arg(min).arg(max).arg(number));
        return static_cast<int>(number);
    }

    bool boolean(const QString &key, bool fallback)
    {
        if (!has(key))
            return fallback;
        const QJsonValue value = m_object.value(key);
        if (!value.isBool())
            fail(key, u"must be true or false"_s);
        return value.toBool();
    }

    QJsonObject object(const QString &key)
    {
        if (!has(key))
            return {};
        const QJsonValue value = m_object.value(key);
        if (!value.isObject())
            fail(key, u"must be a JSON object"_s);
        return value.toObject();
    }

    QJsonArray array(const QString &key, bool required = false)
    {
        if (!has(key)) {
            if (required)
                fail(key, u"is required"_s);
            return {};
        }
        const QJsonValue value = m_object.value(key);
        if (!value.isArray())
            fail(key, u"must be a JSON array"_s);
        return value.toArray();
    }

    ListenAddress address(const QString &key, const QString &fallback)
    {
        const QString text = string(key, fallback);
        ListenAddress address;
        if (text.isEmpty())
            return address;
        const qsizetype colon = text.lastIndexOf(u':');
        bool ok = false;
        const int port = colon > 0 ? text.mid(colon + 1).toInt(&ok) : -1;
        QString host = colon > 0 ? text.left(colon) : QString();
        if (host.startsWith(u'[') && host.endsWith(u']'))
            host = host.mid(1, host.size() - 2);
        address.host = QHostAddress(host);
        if (!ok || port < 0 || port > 65535 || address.host.isNull())
            fail(key,
                 u"must be HOST:PORT with a numeric IP address and a port 0-65535 (got \"%1\")"_s
                         .arg(text));
        address.port = static_cast<quint16>(port);
        return address;
    }

    QUrl url(const QString &key, bool required)
    {
        const QString text = string(key, QString(), required);
        if (text.isEmpty())
            return {};
        const QUrl url(text, QUrl::StrictMode);
        if (!url.isValid() || (url.scheme() != u"http"_s && url.scheme() != u"https"_s)
            || url.host().isEmpty() || url.port() <= 0) {
            fail(key,
                 u"must be an http:// or https:// URL with a host and a port (got \"%1\")"_s.arg(
                         text));
        }
        return url;
    }

    // Call last: every key must have been asked for.
    void finish() const
    {
        for (auto it = m_object.constBegin(); it != m_object.constEnd(); ++it) {
            if (!m_known.contains(it.key()))
                throw FieldError{join(m_path, it.key()),
                                 u"unknown option (see docs/configuration.md)"_s};
        }
    }

private:
    QJsonObject m_object;
    QString m_path;
    QSet<QString> m_known;
};

bool validId(const QString &id)
{
    if (id.isEmpty() || id.size() > 63)
        return false;
    for (const QChar c : id) {
        if (!(c.isLower() && c.isLetter() && c.unicode() < 128) && !c.isDigit() && c != u'-'
            && c != u'_') {
            return false;
        }
    }
    return true;
}

QString resolvePath(const QString &path, const QString &file)
{
    if (path.isEmpty() || QDir::isAbsolutePath(path))
        return path;
    return QDir::cleanPath(QFileInfo(file).absoluteDir().filePath(path));
}

// The trimmed content of the secret file named by `key` (relative to the config file); an
// unreadable file fails that key.
QByteArray readSecretFile(const ObjectReader &reader,
                          const QString &key,
                          const QString &path,
                          const QString &configFile)
{
    QFile file(resolvePath(path, configFile));
    if (!file.open(QIODevice::ReadOnly)) {
        reader.fail(key, u"cannot be read: %1"_s.arg(file.errorString()));
        return {};
    }
    return file.readAll().trimmed();
}

void readRegions(ObjectReader &root, NodeConfig &config)
{
    const QJsonArray regions = root.array(u"regions"_s, true);
    if (regions.isEmpty())
        root.fail(u"regions"_s, u"must list at least one region"_s);
    if (regions.size() > EdgeTraffic::kMaxRegions) // an edge's routing table has fixed slots
        root.fail(u"regions"_s,
                  u"lists %1 regions; a cluster has at most %2"_s.arg(regions.size())
                          .arg(EdgeTraffic::kMaxRegions));
    QSet<QString> ids;
    for (qsizetype i = 0; i < regions.size(); ++i) {
        const QString path = u"regions[%1]"_s.arg(i);
        if (!regions.at(i).isObject())
            throw FieldError{path, u"must be a JSON object"_s};
        ObjectReader reader(regions.at(i).toObject(), path);
        RegionSpec spec;
        spec.id = reader.string(u"id"_s, {}, true);
        if (!validId(spec.id))
            reader.fail(u"id"_s, u"must be 1-63 characters of a-z, 0-9, '-' and '_'"_s);
        if (ids.contains(spec.id))
            reader.fail(u"id"_s, u"'%1' is listed twice"_s.arg(spec.id));
        ids.insert(spec.id);
        spec.name = reader.string(u"name"_s, spec.id);
        spec.lat = reader.number(u"lat"_s, 0.0, -90.0, 90.0, true);
        spec.lon = reader.number(u"lon"_s, 0.0, -180.0, 180.0, true);
        spec.dataUrl = reader.url(u"data_url"_s, true);
        spec.controlUrl = reader.url(u"control_url"_s, true);
        spec.syncAddress = reader.address(u"sync_address"_s, {}).toString();
        if (spec.syncAddress.isEmpty())
            reader.fail(u"sync_address"_s, u"is required"_s);
        spec.weight = reader.integer(u"weight"_s, 100, 0, 1000000);
        spec.priority = reader.integer(u"priority"_s, static_cast<int>(i) + 1, 0, 1000000);
        reader.finish();
        config.regions.append(spec);
    }
    const QJsonArray edges = root.array(u"edges"_s);
    for (qsizetype i = 0; i < edges.size(); ++i) {
        const QString path = u"edges[%1]"_s.arg(i);
        if (!edges.at(i).isObject())
            throw FieldError{path, u"must be a JSON object"_s};
        ObjectReader reader(edges.at(i).toObject(), path);
        EdgeSpec spec;
        spec.id = reader.string(u"id"_s, {}, true);
        if (!validId(spec.id))
            reader.fail(u"id"_s, u"must be 1-63 characters of a-z, 0-9, '-' and '_'"_s);
        if (ids.contains(spec.id))
            reader.fail(u"id"_s, u"'%1' is already a region or edge id"_s.arg(spec.id));
        ids.insert(spec.id);
        spec.url = reader.url(u"url"_s, false);
        spec.controlUrl = reader.url(u"control_url"_s, true);
        spec.syncAddress = reader.address(u"sync_address"_s, {}).toString();
        if (spec.syncAddress.isEmpty())
            reader.fail(u"sync_address"_s, u"is required"_s);
        reader.finish();
        config.edges.append(spec);
    }
}

// sync.nats: where the NATS JetStream transport connects and how its streams are kept.
void readNats(const QJsonObject &object, const QString &file, NatsConfig *nats)
{
    ObjectReader reader(object, u"sync.nats"_s);
    const QJsonArray servers = reader.array(u"servers"_s, true);
    for (qsizetype i = 0; i < servers.size(); ++i) {
        if (!servers.at(i).isString())
            reader.fail(u"servers"_s, u"must be a list of nats:// URLs"_s);
        nats->servers.append(servers.at(i).toString());
    }
    nats->cluster = reader.string(u"cluster"_s, nats->cluster);
    nats->subjectPrefix = reader.string(u"subject_prefix"_s, nats->subjectPrefix);
    nats->credentialsFile = resolvePath(reader.string(u"credentials_file"_s, {}), file);
    if (!nats->credentialsFile.isEmpty() && !QFileInfo(nats->credentialsFile).isReadable())
        reader.fail(u"credentials_file"_s,
                    u"'%1' is not a readable file"_s.arg(nats->credentialsFile));
    nats->replicas = reader.integer(u"replicas"_s, nats->replicas, 1, 5);
    constexpr double kMaxInt64 = 9.0e18;
    nats->maxAgeMs = qint64(reader.number(u"max_age_ms"_s, double(nats->maxAgeMs), 0, kMaxInt64));
    nats->maxBytes = qint64(reader.number(u"max_bytes"_s, double(nats->maxBytes), -1, kMaxInt64));
    nats->maxMsgs = qint64(reader.number(u"max_msgs"_s, double(nats->maxMsgs), -1, kMaxInt64));
    nats->duplicateWindowMs = qint64(reader.number(u"duplicate_window_ms"_s,
                                                   double(nats->duplicateWindowMs),
                                                   1000,
                                                   kMaxInt64));
    nats->fetchBatch = reader.integer(u"fetch_batch"_s, nats->fetchBatch, 1, 10000);
    reader.finish();
    if (const auto problem = SyncConfig::natsConfigProblem(*nats))
        reader.fail(problem->field, problem->message);
}

void readControl(ObjectReader &root, NodeConfig &config)
{
    ObjectReader reader(root.object(u"control"_s), u"control"_s);
    const QJsonArray tokens = reader.array(u"tokens"_s);
    QSet<QString> names;
    for (qsizetype i = 0; i < tokens.size(); ++i) {
        const QString path = u"control.tokens[%1]"_s.arg(i);
        if (!tokens.at(i).isObject())
            throw FieldError{path, u"must be a JSON object"_s};
        ObjectReader token(tokens.at(i).toObject(), path);
        TokenEntry entry;
        entry.name = token.string(u"name"_s, {}, true);
        if (names.contains(entry.name))
            token.fail(u"name"_s, u"'%1' is used twice"_s.arg(entry.name));
        names.insert(entry.name);
        const auto role = TokenAuth::roleFromName(token.string(u"role"_s, {}, true));
        if (!role)
            token.fail(u"role"_s, u"must be \"admin\" or \"viewer\""_s);
        entry.role = *role;
        const QString hex = token.string(u"sha256"_s, {}, true).toLower();
        entry.sha256 = QByteArray::fromHex(hex.toLatin1());
        if (hex.size() != 64 || entry.sha256.size() != 32
            || QString::fromLatin1(entry.sha256.toHex()) != hex) {
            token.fail(u"sha256"_s,
                       u"must be the 64 hex digits of the token's SHA-256 (sha256sum of the "
                       "token without a newline)"_s);
        }
        token.finish();
        config.tokens.append(entry);
    }
    const QString clusterToken = reader.string(u"cluster_token"_s, {});
    const QString clusterTokenFile = reader.string(u"cluster_token_file"_s, {});
    if (!clusterTokenFile.isEmpty()) {
        config.clusterToken
                = readSecretFile(reader, u"cluster_token_file"_s, clusterTokenFile, config.file);
    } else {
        config.clusterToken = clusterToken.toUtf8();
    }
    if (!config.clusterToken.isEmpty()) {
        TokenAuth auth;
        auth.setTokens(config.tokens);
        const auto entry = auth.verify(config.clusterToken);
        if (!entry || entry->role != TokenRole::Admin) {
            reader.fail(clusterTokenFile.isEmpty() ? u"cluster_token"_s : u"cluster_token_file"_s,
                        u"must be the secret of one of control.tokens with role admin (nodes "
                        "forward control calls with it)"_s);
        }
    }
    config.safety.minActiveRegions = reader.integer(u"min_active_regions"_s, 1, 0, 1000);
    config.safety.maxPromoteLagS = reader.number(u"max_promote_lag_s"_s, 5.0, 0.0, 86400.0);
    config.safety.defaultDrainDeadlineS
            = reader.number(u"default_drain_deadline_s"_s, 30.0, 0.001, 86400.0);
    const QJsonArray approval = reader.array(u"approval_required"_s);
    const QStringList kinds = {u"drain"_s,
                               u"activate"_s,
                               u"promote"_s,
                               u"dial"_s,
                               u"weight"_s,
                               u"strategy"_s,
                               u"purge"_s,
                               u"revert"_s};
    for (const QJsonValue &kind : approval) {
        if (!kinds.contains(kind.toString()))
            reader.fail(u"approval_required"_s,
                        u"entries must be action kinds: %1"_s.arg(kinds.join(u", "_s)));
        config.safety.approvalRequired.append(kind.toString());
    }
    if (const QJsonObject tlsObject = reader.object(u"tls"_s); !tlsObject.isEmpty()) {
        ObjectReader tls(tlsObject, u"control.tls"_s);
        config.controlTls.certificateFile = resolvePath(tls.string(u"cert_file"_s, {}, true),
                                                        config.file);
        config.controlTls.privateKeyFile = resolvePath(tls.string(u"key_file"_s, {}, true),
                                                       config.file);
        config.controlTls.caFile = resolvePath(tls.string(u"ca_file"_s, {}), config.file);
        tls.finish();
        if (const TlsFiles::Loaded loaded = config.controlTls.load(
                    TlsFiles::PeerCertificate::NotRequested);
            !loaded.ok()) {
            tls.fail(loaded.field, loaded.problem);
        }
        if (!config.controlTls.caFile.isEmpty()) {
            QString problem;
            config.controlCaCertificates = TlsFiles::readCertificates(config.controlTls.caFile,
                                                                      &problem);
            if (!problem.isEmpty())
                tls.fail(u"ca_file"_s, config.controlTls.caFile + u": "_s + problem);
        }
    }
    config.probeIntervalMs = reader.integer(u"probe_interval_ms"_s, 1000, 50, 600000);
    config.forwardTimeoutMs = reader.integer(u"forward_timeout_ms"_s, 3000, 100, 600000);
    const QString quorum = reader.string(u"leader_quorum"_s, u"majority"_s);
    if (quorum != u"majority"_s && quorum != u"none"_s)
        reader.fail(u"leader_quorum"_s,
                    u"must be \"majority\" (a node elects a leader only while it reaches a "
                    "strict majority of the cluster's nodes) or \"none\" (no quorum: both "
                    "sides of a partition may elect one)"_s);
    config.leaderQuorum = quorum == u"majority"_s;
    reader.finish();
}

void readInitial(ObjectReader &root, NodeConfig &config)
{
    ObjectReader reader(root.object(u"initial"_s), u"initial"_s);
    if (reader.has(u"strategy"_s)) {
        ObjectReader strategy(reader.object(u"strategy"_s), u"initial.strategy"_s);
        config.initialStrategy.name = strategy.string(u"name"_s, {}, true);
        if (!ControlState::strategyNames().contains(config.initialStrategy.name))
            strategy.fail(u"name"_s,
                          u"unknown strategy; known: %1"_s.arg(
                                  ControlState::strategyNames().join(u", "_s)));
        config.initialStrategy.params = strategy.object(u"params"_s);
        strategy.finish();
    }
    config.initialPrimary = reader.string(u"primary"_s, config.regions.first().id);
    if (!config.regionSpec(config.initialPrimary))
        reader.fail(u"primary"_s, u"'%1' is not one of regions[].id"_s.arg(config.initialPrimary));
    reader.finish();
}

} // namespace

QString ListenAddress::toString() const
{
    if (host.isNull())
        return {};
    const QString text = host.toString();
    return (host.protocol() == QAbstractSocket::IPv6Protocol ? u'[' + text + u']' : text) + u':'
           + QString::number(port);
}

const RegionSpec *NodeConfig::regionSpec(const QString &id) const
{
    for (const RegionSpec &spec : regions) {
        if (spec.id == id)
            return &spec;
    }
    return nullptr;
}

ControlState NodeConfig::initialControlState() const
{
    ControlState state;
    for (const RegionSpec &spec : regions) {
        RegionControl control;
        control.weight = spec.weight;
        control.priority = spec.priority;
        state.regions.insert(spec.id, control);
    }
    state.strategy = initialStrategy;
    state.primary = initialPrimary;
    return state;
}

QString NodeConfig::roleName() const
{
    if (roleRegion && roleEdge)
        return u"region+edge"_s;
    return roleEdge ? u"edge"_s : u"region"_s;
}

QList<NodeConfig::PresentedTls> NodeConfig::presentedTls() const
{
    return {{"sync.tls", "sync", &syncTls},
            {"control.tls", "control", &controlTls},
            {"http.tls", "data", &dataTls},
            {"edge.tls", "edge", &edgeTls}};
}

QString ConfigError::toString() const
{
    if (field.isEmpty())
        return u"%1: %2"_s.arg(file, message);
    return u"%1: %2: %3"_s.arg(file, field, message);
}

std::variant<NodeConfig, ConfigError> NodeConfigLoader::load(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return ConfigError{path, {}, u"cannot read the file: %1"_s.arg(file.errorString())};
    return parse(file.readAll(), QFileInfo(path).absoluteFilePath());
}

std::variant<NodeConfig, ConfigError> NodeConfigLoader::parse(const QByteArray &json,
                                                              const QString &file)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        const qsizetype line = json.left(parseError.offset).count('\n') + 1;
        return ConfigError{file,
                           {},
                           u"not valid JSON: %1 (line %2)"_s.arg(parseError.errorString()).arg(line)};
    }
    if (!document.isObject())
        return ConfigError{file, {}, u"must hold a JSON object"_s};

    NodeConfig config;
    config.file = file;
    try {
        ObjectReader root(document.object(), {});
        const QString role = root.string(u"role"_s, u"region"_s);
        if (role == u"region"_s) {
            config.roleRegion = true;
        } else if (role == u"edge"_s) {
            config.roleRegion = false;
            config.roleEdge = true;
        } else if (role == u"region+edge"_s) {
            config.roleRegion = config.roleEdge = true;
        } else {
            root.fail(u"role"_s,
                      u"must be \"region\", \"edge\" or \"region+edge\" (got \"%1\")"_s.arg(role));
        }
        readRegions(root, config);
        config.region = root.string(u"region"_s, {}, config.roleRegion);
        if (config.roleRegion && !config.regionSpec(config.region))
            root.fail(u"region"_s, u"'%1' is not one of regions[].id"_s.arg(config.region));
        config.nodeId = root.string(u"node_id"_s, config.roleRegion ? config.region : QString());
        if (config.nodeId.isEmpty())
            root.fail(u"node_id"_s, u"is required for an edge-only node"_s);
        if (!config.roleRegion) {
            bool listed = false;
            for (const EdgeSpec &edge : std::as_const(config.edges))
                listed = listed || edge.id == config.nodeId;
            if (!listed)
                root.fail(u"node_id"_s,
                          u"an edge node's node_id must be one of edges[].id (got '%1')"_s.arg(
                                  config.nodeId));
        }
        config.dataDir = resolvePath(root.string(u"data_dir"_s, {}, true), file);

        ObjectReader listen(root.object(u"listen"_s), u"listen"_s);
        config.listenControl = listen.address(u"control"_s, u"127.0.0.1:9090"_s);
        config.listenSync = listen.address(u"sync"_s, u"127.0.0.1:7070"_s);
        if (config.roleRegion)
            config.listenData = listen.address(u"data"_s, u"127.0.0.1:8080"_s);
        else if (listen.has(u"data"_s))
            listen.fail(u"data"_s, u"is only for nodes with the region role"_s);
        listen.finish();

        ObjectReader staticReader(root.object(u"static"_s), u"static"_s);
        config.staticRoot = resolvePath(staticReader.string(u"root"_s, {}), file);
        if (!config.staticRoot.isEmpty() && !QFileInfo(config.staticRoot).isDir())
            staticReader.fail(u"root"_s, u"'%1' is not a directory"_s.arg(config.staticRoot));
        config.staticIndex = staticReader.string(u"index"_s, config.staticIndex);
        const QJsonArray rules = staticReader.array(u"cache_control"_s);
        for (qsizetype i = 0; i < rules.size(); ++i) {
            const QString path = u"static.cache_control[%1]"_s.arg(i);
            if (!rules.at(i).isObject())
                throw FieldError{path, u"must be a JSON object"_s};
            ObjectReader rule(rules.at(i).toObject(), path);
            config.cacheControl.append(
                    {rule.string(u"pattern"_s, {}, true), rule.string(u"value"_s, {}, true)});
            rule.finish();
        }
        staticReader.finish();

        readControl(root, config);
        // The other nodes call this one at its control_url: its scheme must match control.tls,
        // or every call between nodes fails.
        const auto checkScheme = [&](const QString &field, const QString &id, const QUrl &url) {
            if (id != config.nodeId)
                return;
            if (const bool https = url.scheme() == u"https"_s;
                https != config.controlTls.isEnabled()) {
                throw FieldError{field,
                                 https ? u"is https:// but control.tls is not set: this node "
                                         "serves plain HTTP"_s
                                       : u"is http:// but control.tls is set: this node serves "
                                         "HTTPS; list it as https://"_s};
            }
        };
        for (qsizetype i = 0; i < config.regions.size(); ++i)
            checkScheme(u"regions[%1].control_url"_s.arg(i),
                        config.regions.at(i).id,
                        config.regions.at(i).controlUrl);
        for (qsizetype i = 0; i < config.edges.size(); ++i)
            checkScheme(u"edges[%1].control_url"_s.arg(i),
                        config.edges.at(i).id,
                        config.edges.at(i).controlUrl);
        readInitial(root, config);

        config.edgeSection = root.object(u"edge"_s);
        // The files the edge opens are named relative to this file, as every other path here
        // (under systemd the working directory is /).
        for (const QString &key : {u"maxmind_database"_s, u"access_log"_s, u"upstream_ca_file"_s}) {
            if (const QJsonValue v = config.edgeSection.value(key); v.isString())
                config.edgeSection.insert(key, resolvePath(v.toString(), file));
        }
        if (QJsonObject tls = config.edgeSection.value(u"tls"_s).toObject(); !tls.isEmpty()) {
            for (const QString &key : {u"cert_file"_s, u"key_file"_s}) {
                if (const QJsonValue v = tls.value(key); v.isString())
                    tls.insert(key, resolvePath(v.toString(), file));
            }
            config.edgeSection.insert(u"tls"_s, tls);
        }
        if (!config.roleEdge && !config.edgeSection.isEmpty())
            root.fail(u"edge"_s, u"is only for nodes with the edge role"_s);
        QString why;
        const auto edge = config.roleEdge ? EdgeConfig::fromJson(config.edgeSection, &why)
                                          : std::nullopt;
        if (config.roleEdge && !edge) {
            // "edge.FIELD: what is wrong"
            const qsizetype colon = why.indexOf(u": "_s);
            root.fail(colon > 0 ? why.left(colon) : u"edge"_s, why.mid(colon + 2));
        }
        if (edge && !edge->upstreamCaFile.isEmpty()) {
            QString problem;
            TlsFiles::readCertificates(edge->upstreamCaFile, &problem);
            if (!problem.isEmpty())
                root.fail(u"edge.upstream_ca_file"_s, edge->upstreamCaFile + u": "_s + problem);
        }
        if (edge && edge->tlsEnabled()) {
            config.edgeTls = edge->tls;
            if (const TlsFiles::Loaded loaded = edge->tls.load(
                        TlsFiles::PeerCertificate::NotRequested);
                !loaded.ok())
                root.fail(u"edge.tls."_s + loaded.field, loaded.problem);
        }

        ObjectReader sync(root.object(u"sync"_s), u"sync"_s);
        config.syncDurability = sync.string(u"durability"_s, config.syncDurability);
        if (config.syncDurability != u"full"_s && config.syncDurability != u"normal"_s)
            sync.fail(u"durability"_s, u"must be \"full\" or \"normal\""_s);
        config.syncBusyTimeoutMs
                = sync.integer(u"busy_timeout_ms"_s, config.syncBusyTimeoutMs, 0, 60000);
        const auto transport = SyncConfig::parseTransport(sync.string(u"transport"_s, u"tcp"_s));
        if (!transport)
            sync.fail(u"transport"_s, u"must be \"tcp\" or \"nats\""_s);
        config.syncTransport = *transport;
        const QJsonObject natsObject = sync.object(u"nats"_s);
        if (config.syncTransport == TransportKind::Nats)
            readNats(natsObject, file, &config.syncNats);
        else if (!natsObject.isEmpty())
            sync.fail(u"nats"_s, u"is only read with \"transport\": \"nats\""_s);
        if (const QString secretFile = sync.string(u"secret_file"_s, {}); !secretFile.isEmpty()) {
            config.syncSecret = readSecretFile(sync, u"secret_file"_s, secretFile, config.file);
            if (config.syncSecret.size() < 16)
                sync.fail(u"secret_file"_s,
                          u"holds %1 bytes; use at least 16 random ones, e.g. `head -c 32 "
                          "/dev/urandom | base64 > FILE`"_s.arg(config.syncSecret.size()));
        } else {
            // The nodes' shared control token is a secret every node already holds.
            config.syncSecret = config.clusterToken;
        }
        if (const QJsonObject tlsObject = sync.object(u"tls"_s); !tlsObject.isEmpty()) {
            ObjectReader tls(tlsObject, u"sync.tls"_s);
            config.syncTls.certificateFile = resolvePath(tls.string(u"cert_file"_s, {}, true), file);
            config.syncTls.privateKeyFile = resolvePath(tls.string(u"key_file"_s, {}, true), file);
            config.syncTls.caFile = resolvePath(tls.string(u"ca_file"_s, {}, true), file);
            tls.finish();
            // Checked now so a bad file stops the start with exit 2, not every connection later.
            if (const TlsFiles::Loaded loaded = config.syncTls.load(); !loaded.ok())
                tls.fail(loaded.field, loaded.problem);
        }
        sync.finish();

        ObjectReader http(root.object(u"http"_s), u"http"_s);
        config.maxHeaderBytes
                = http.integer(u"max_header_bytes"_s, config.maxHeaderBytes, 1024, 1 << 20);
        config.maxBodyBytes
                = http.integer(u"max_body_bytes"_s, int(config.maxBodyBytes), 1024, 1 << 30);
        config.requestTimeoutMs
                = http.integer(u"request_timeout_ms"_s, config.requestTimeoutMs, 100, 3600000);
        config.idleTimeoutMs
                = http.integer(u"idle_timeout_ms"_s, config.idleTimeoutMs, 100, 3600000);
        config.dataAccessLog = resolvePath(http.string(u"access_log"_s, {}), file);
        if (!config.dataAccessLog.isEmpty() && !config.roleRegion)
            http.fail(u"access_log"_s,
                      u"logs a region's data port; an edge logs with edge.access_log"_s);
        if (const QJsonObject tlsObject = http.object(u"tls"_s); !tlsObject.isEmpty()) {
            ObjectReader tls(tlsObject, u"http.tls"_s);
            config.dataTls.certificateFile = resolvePath(tls.string(u"cert_file"_s, {}, true), file);
            config.dataTls.privateKeyFile = resolvePath(tls.string(u"key_file"_s, {}, true), file);
            tls.finish();
            if (!config.roleRegion)
                http.fail(u"tls"_s,
                          u"is for a region's data port; an edge serves HTTPS with edge.tls"_s);
            if (const TlsFiles::Loaded loaded = config.dataTls.load(
                        TlsFiles::PeerCertificate::NotRequested);
                !loaded.ok())
                tls.fail(loaded.field, loaded.problem);
        }
        // Edges reach this region at its data_url: with http.tls it must say https:// (an
        // https:// URL without it may name a TLS terminator in front of the region).
        for (qsizetype i = 0; config.roleRegion && i < config.regions.size(); ++i) {
            if (config.regions.at(i).id == config.region && config.dataTls.isEnabled()
                && config.regions.at(i).dataUrl.scheme() != u"https"_s)
                throw FieldError{u"regions[%1].data_url"_s.arg(i),
                                 u"is http:// but http.tls is set: this region serves HTTPS; "
                                 "list it as https://"_s};
        }
        http.finish();

        config.shutdownTimeoutMs
                = root.integer(u"shutdown_timeout_ms"_s, config.shutdownTimeoutMs, 0, 3600000);

        ObjectReader wan(root.object(u"wan"_s), u"wan"_s);
        config.simulateWan = wan.boolean(u"simulate"_s, false);
        config.wanMsPer1000Km = wan.number(u"ms_per_1000km"_s, config.wanMsPer1000Km, 0.0, 1000.0);
        wan.finish();

        root.finish();
    } catch (const FieldError &error) {
        return ConfigError{file, error.field, error.message};
    }
    return config;
}

} // namespace Meridian
