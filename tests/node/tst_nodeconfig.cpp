// Node configuration: defaults, and every invalid input names the file, the field and the problem.
#include "core/node/nodeconfig.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <optional>

using namespace Qt::StringLiterals;
using namespace Meridian;

namespace {

const QString kAdminHash = TokenAuth::hashHex("admin-secret");

QJsonObject minimalConfig()
{
    return QJsonObject{{u"region"_s, u"us-east"_s},
                       {u"data_dir"_s, u"data"_s},
                       {u"regions"_s,
                        QJsonArray{QJsonObject{{u"id"_s, u"us-east"_s},
                                               {u"lat"_s, 39.04},
                                               {u"lon"_s, -77.49},
                                               {u"data_url"_s, u"http://127.0.0.1:41001"_s},
                                               {u"control_url"_s, u"http://127.0.0.1:42001"_s},
                                               {u"sync_address"_s, u"127.0.0.1:43001"_s}},
                                   QJsonObject{{u"id"_s, u"eu-west"_s},
                                               {u"name"_s, u"Dublin"_s},
                                               {u"lat"_s, 53.35},
                                               {u"lon"_s, -6.26},
                                               {u"data_url"_s, u"http://127.0.0.1:41002"_s},
                                               {u"control_url"_s, u"http://127.0.0.1:42002"_s},
                                               {u"sync_address"_s, u"127.0.0.1:43002"_s}}}},
                       {u"control"_s,
                        QJsonObject{{u"tokens"_s,
                                     QJsonArray{QJsonObject{{u"name"_s, u"ops"_s},
                                                            {u"role"_s, u"admin"_s},
                                                            {u"sha256"_s, kAdminHash}}}},
                                    {u"cluster_token"_s, u"admin-secret"_s}}}};
}

// Sets a value at a dotted path ("control.min_active_regions", "regions[1].lat").
void setPath(QJsonObject &root, const QString &path, const QJsonValue &value)
{
    const qsizetype dot = path.indexOf(u'.');
    const QString head = dot < 0 ? path : path.left(dot);
    const QString rest = dot < 0 ? QString() : path.mid(dot + 1);
    const qsizetype bracket = head.indexOf(u'[');
    if (bracket >= 0) {
        const QString key = head.left(bracket);
        const int index = head.mid(bracket + 1, head.size() - bracket - 2).toInt();
        QJsonArray array = root.value(key).toArray();
        QJsonObject element = array.at(index).toObject();
        setPath(element, rest, value);
        array[index] = element;
        root.insert(key, array);
        return;
    }
    if (rest.isEmpty()) {
        if (value.isUndefined())
            root.remove(head);
        else
            root.insert(head, value);
        return;
    }
    QJsonObject child = root.value(head).toObject();
    setPath(child, rest, value);
    root.insert(head, child);
}

// Parses `config` as if it were a file in this test's folder: relative paths (the TLS files
// under ../sync/tls) resolve from there.
std::variant<NodeConfig, ConfigError> parseHere(const QJsonObject &config)
{
    return NodeConfigLoader::parse(QJsonDocument(config).toJson(), QStringLiteral(SRCDIR "n.json"));
}

// Makes `section` ("control.tls") present the test certificate (tests/sync/tls/node.pem), named
// relative to this folder as parseHere() reads it.
void presentTestCertificate(QJsonObject &config, const QString &section)
{
    setPath(config, section + u".cert_file"_s, u"../sync/tls/node.pem"_s);
    setPath(config, section + u".key_file"_s, u"../sync/tls/node.key"_s);
}

// `config` as parsed here; nothing, with the test failed and the error said, when refused.
std::optional<NodeConfig> acceptedHere(const QJsonObject &config)
{
    const auto result = parseHere(config);
    if (const auto *error = std::get_if<ConfigError>(&result)) {
        QTest::qFail(qPrintable(error->toString()), __FILE__, __LINE__);
        return std::nullopt;
    }
    return std::get<NodeConfig>(result);
}

// `config` is refused at `field` with a message that says `what`.
void expectRefusedAt(const QJsonObject &config, const QString &field, const QString &what)
{
    const auto result = parseHere(config);
    QVERIFY(std::holds_alternative<ConfigError>(result));
    const ConfigError error = std::get<ConfigError>(result);
    QCOMPARE(error.field, field);
    QVERIFY2(error.message.contains(what), qPrintable(error.toString()));
}

} // namespace

class tst_NodeConfig final : public QObject
{
    Q_OBJECT

private slots:
    void defaults();
    void invalid_data();
    void invalid();
    void edgeSectionIsCheckedAtLoad();
    void natsTransport_data();
    void natsTransport();
    void syncSecret();
    void syncTls();
    void controlTlsMatchesTheControlUrl();
    void dataAndEdgeTls();
    void unreadableFile();
    void malformedJson();
};

void tst_NodeConfig::defaults()
{
    const auto result = NodeConfigLoader::parse(QJsonDocument(minimalConfig()).toJson(),
                                                u"/etc/meridian/us-east.json"_s);
    if (const auto *error = std::get_if<ConfigError>(&result))
        QFAIL(qPrintable(error->toString()));
    const NodeConfig config = std::get<NodeConfig>(result);
    QCOMPARE(config.nodeId, u"us-east"_s);
    QVERIFY(config.roleRegion);
    QVERIFY(!config.roleEdge);
    QCOMPARE(config.dataDir, u"/etc/meridian/data"_s);
    QCOMPARE(config.listenControl.toString(), u"127.0.0.1:9090"_s);
    QCOMPARE(config.listenData.toString(), u"127.0.0.1:8080"_s);
    QCOMPARE(config.safety.minActiveRegions, 1);
    QCOMPARE(config.safety.maxPromoteLagS, 5.0);
    QCOMPARE(config.regions.size(), 2);
    QCOMPARE(config.regions.at(0).name, u"us-east"_s);
    QCOMPARE(config.regions.at(1).priority, 2);
    QCOMPARE(config.initialPrimary, u"us-east"_s);
    const ControlState state = config.initialControlState();
    QCOMPARE(state.activeCount(), 2);
    QCOMPARE(state.strategy.name, u"weighted_round_robin"_s);
    QCOMPARE(config.tokens.size(), 1);
    QCOMPARE(config.clusterToken, QByteArray("admin-secret"));
    QVERIFY(config.leaderQuorum);
    QCOMPARE(config.syncBusyTimeoutMs, 250);

    QJsonObject noQuorum = minimalConfig();
    setPath(noQuorum, u"control.leader_quorum"_s, u"none"_s);
    const auto none = NodeConfigLoader::parse(QJsonDocument(noQuorum).toJson(), u"n.json"_s);
    QVERIFY(std::holds_alternative<NodeConfig>(none));
    QVERIFY(!std::get<NodeConfig>(none).leaderQuorum);
}

void tst_NodeConfig::invalid_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("problem");
    const QJsonValue none(QJsonValue::Undefined);
    QTest::addRow("unknown role") << u"role"_s << QJsonValue(u"router"_s) << u"role"_s
                                  << u"must be"_s;
    QTest::addRow("missing region") << u"region"_s << none << u"region"_s << u"required"_s;
    QTest::addRow("region not listed")
            << u"region"_s << QJsonValue(u"mars"_s) << u"region"_s << u"not one of"_s;
    QTest::addRow("missing data_dir") << u"data_dir"_s << none << u"data_dir"_s << u"required"_s;
    QTest::addRow("bad listen") << u"listen.control"_s << QJsonValue(u"localhost"_s)
                                << u"listen.control"_s << u"HOST:PORT"_s;
    QTest::addRow("port too big") << u"listen.data"_s << QJsonValue(u"127.0.0.1:70000"_s)
                                  << u"listen.data"_s << u"HOST:PORT"_s;
    QTest::addRow("latitude") << u"regions[1].lat"_s << QJsonValue(91) << u"regions[1].lat"_s
                              << u"from -90 to 90"_s;
    QTest::addRow("duplicate id") << u"regions[1].id"_s << QJsonValue(u"us-east"_s)
                                  << u"regions[1].id"_s << u"twice"_s;
    QTest::addRow("bad id") << u"regions[1].id"_s << QJsonValue(u"EU West"_s) << u"regions[1].id"_s
                            << u"a-z"_s;
    QTest::addRow("bad url") << u"regions[0].data_url"_s << QJsonValue(u"ftp://x"_s)
                             << u"regions[0].data_url"_s << u"http://"_s;
    QTest::addRow("misspelt option") << u"control.min_active_region"_s << QJsonValue(2)
                                     << u"control.min_active_region"_s << u"unknown option"_s;
    QTest::addRow("min_active negative") << u"control.min_active_regions"_s << QJsonValue(-1)
                                         << u"control.min_active_regions"_s << u"from 0"_s;
    QTest::addRow("min_active fraction") << u"control.min_active_regions"_s << QJsonValue(1.5)
                                         << u"control.min_active_regions"_s << u"whole number"_s;
    QTest::addRow("lag type") << u"control.max_promote_lag_s"_s << QJsonValue(u"5s"_s)
                              << u"control.max_promote_lag_s"_s << u"number"_s;
    QTest::addRow("token role") << u"control.tokens[0].role"_s << QJsonValue(u"root"_s)
                                << u"control.tokens[0].role"_s << u"admin"_s;
    QTest::addRow("token hash") << u"control.tokens[0].sha256"_s << QJsonValue(u"abc"_s)
                                << u"control.tokens[0].sha256"_s << u"64 hex"_s;
    QTest::addRow("cluster token") << u"control.cluster_token"_s << QJsonValue(u"wrong"_s)
                                   << u"control.cluster_token"_s << u"role admin"_s;
    QTest::addRow("leader quorum") << u"control.leader_quorum"_s << QJsonValue(u"all"_s)
                                   << u"control.leader_quorum"_s << u"\"majority\""_s;
    QTest::addRow("leader quorum type") << u"control.leader_quorum"_s << QJsonValue(true)
                                        << u"control.leader_quorum"_s << u"string"_s;
    QTest::addRow("strategy") << u"initial.strategy.name"_s << QJsonValue(u"fastest"_s)
                              << u"initial.strategy.name"_s << u"unknown strategy"_s;
    QTest::addRow("primary") << u"initial.primary"_s << QJsonValue(u"mars"_s)
                             << u"initial.primary"_s << u"not one of"_s;
    QTest::addRow("durability") << u"sync.durability"_s << QJsonValue(u"none"_s)
                                << u"sync.durability"_s << u"full"_s;
    QTest::addRow("busy timeout") << u"sync.busy_timeout_ms"_s << QJsonValue(60001)
                                  << u"sync.busy_timeout_ms"_s << u"60000"_s;
    QTest::addRow("transport") << u"sync.transport"_s << QJsonValue(u"kafka"_s)
                               << u"sync.transport"_s << u"\"nats\""_s;
    QTest::addRow("nats without transport")
            << u"sync.nats"_s << QJsonValue(QJsonObject{{u"cluster"_s, u"x"_s}}) << u"sync.nats"_s
            << u"transport"_s;
    QTest::addRow("approval kind")
            << u"control.approval_required"_s << QJsonValue(QJsonArray{u"nuke"_s})
            << u"control.approval_required"_s << u"action kinds"_s;
    QTest::addRow("static root") << u"static.root"_s << QJsonValue(u"/nonexistent/www"_s)
                                 << u"static.root"_s << u"not a directory"_s;
    QTest::addRow("edge section on region")
            << u"edge"_s << QJsonValue(QJsonObject{{u"workers"_s, 1}}) << u"edge"_s
            << u"edge role"_s;
    QTest::addRow("empty regions")
            << u"regions"_s << QJsonValue(QJsonArray{}) << u"regions"_s << u"at least one"_s;
    QJsonArray many = minimalConfig().value(u"regions"_s).toArray();
    for (int i = 0; many.size() < 65; ++i) {
        QJsonObject region = many.at(0).toObject();
        region.insert(u"id"_s, u"r%1"_s.arg(i));
        many.append(region);
    }
    QTest::addRow("65 regions") << u"regions"_s << QJsonValue(many) << u"regions"_s
                                << u"at most 64"_s;
}

void tst_NodeConfig::invalid()
{
    QFETCH(QString, path);
    QFETCH(QJsonValue, value);
    QFETCH(QString, field);
    QFETCH(QString, problem);
    QJsonObject config = minimalConfig();
    setPath(config, path, value);
    const QString file = u"/etc/meridian/bad.json"_s;
    const auto result = NodeConfigLoader::parse(QJsonDocument(config).toJson(), file);
    QVERIFY(std::holds_alternative<ConfigError>(result));
    const ConfigError error = std::get<ConfigError>(result);
    QCOMPARE(error.file, file);
    QCOMPARE(error.field, field);
    QVERIFY2(error.message.contains(problem), qPrintable(error.toString()));
    QVERIFY(error.toString().startsWith(file + u": "_s + field + u": "_s));
}

void tst_NodeConfig::edgeSectionIsCheckedAtLoad()
{
    QJsonObject config = minimalConfig();
    config.insert(u"role"_s, u"region+edge"_s);
    config.insert(u"edge"_s, QJsonObject{{u"workers"_s, 2}, {u"health_check"_s, QJsonObject{}}});
    const auto good = NodeConfigLoader::parse(QJsonDocument(config).toJson(), u"e.json"_s);
    QVERIFY(std::holds_alternative<NodeConfig>(good));
    QVERIFY(std::get<NodeConfig>(good).roleEdge);

    // A relative file name in the edge section is relative to the configuration file.
    config.insert(u"edge"_s, QJsonObject{{u"maxmind_database"_s, u"geo/city.mmdb"_s}});
    const auto relative = NodeConfigLoader::parse(QJsonDocument(config).toJson(),
                                                  u"/etc/meridian/e.json"_s);
    QVERIFY(std::holds_alternative<NodeConfig>(relative));
    QCOMPARE(std::get<NodeConfig>(relative).edgeSection.value(u"maxmind_database"_s).toString(),
             u"/etc/meridian/geo/city.mmdb"_s);

    config.insert(u"edge"_s, QJsonObject{{u"health_check"_s, QJsonObject{{u"interval_ms"_s, 1}}}});
    const auto bad = NodeConfigLoader::parse(QJsonDocument(config).toJson(), u"e.json"_s);
    QVERIFY(std::holds_alternative<ConfigError>(bad));
    const ConfigError error = std::get<ConfigError>(bad);
    QCOMPARE(error.field, u"edge.health_check"_s);
    QVERIFY2(error.message.contains(u"interval_ms"_s), qPrintable(error.toString()));
}

void tst_NodeConfig::natsTransport_data()
{
    QTest::addColumn<QJsonObject>("nats");
    QTest::addColumn<QString>("field"); // empty: valid
    QTest::addColumn<QString>("problem");
    const QJsonArray servers{u"nats://10.0.0.5:4222"_s, u"nats://10.0.0.6:4222"_s};
    QTest::addRow("valid") << QJsonObject{{u"servers"_s, servers},
                                          {u"cluster"_s, u"prod"_s},
                                          {u"max_age_ms"_s, 3600000},
                                          {u"max_msgs"_s, 1000000},
                                          {u"replicas"_s, 3}}
                           << QString() << QString();
    QTest::addRow("no servers") << QJsonObject{} << u"sync.nats.servers"_s << u"required"_s;
    QTest::addRow("bad url") << QJsonObject{{u"servers"_s, QJsonArray{u"http://x:4222"_s}}}
                             << u"sync.nats.servers"_s << u"not a NATS URL"_s;
    QTest::addRow("bad cluster") << QJsonObject{{u"servers"_s, servers}, {u"cluster"_s, u"a.b"_s}}
                                 << u"sync.nats.cluster"_s << u"letters"_s;
    QTest::addRow("replicas") << QJsonObject{{u"servers"_s, servers}, {u"replicas"_s, 7}}
                              << u"sync.nats.replicas"_s << u"from 1 to 5"_s;
    QTest::addRow("no messages") << QJsonObject{{u"servers"_s, servers}, {u"max_msgs"_s, 0}}
                                 << u"sync.nats.max_msgs"_s << u"positive"_s;
    QTest::addRow("window over age") << QJsonObject{{u"servers"_s, servers},
                                                    {u"max_age_ms"_s, 5000},
                                                    {u"duplicate_window_ms"_s, 10000}}
                                     << u"sync.nats.duplicate_window_ms"_s << u"max_age_ms"_s;
    QTest::addRow("unknown key") << QJsonObject{{u"servers"_s, servers}, {u"stream"_s, u"X"_s}}
                                 << u"sync.nats.stream"_s << u"unknown option"_s;
}

void tst_NodeConfig::natsTransport()
{
    QFETCH(QJsonObject, nats);
    QFETCH(QString, field);
    QFETCH(QString, problem);
    QJsonObject config = minimalConfig();
    setPath(config, u"sync.transport"_s, u"nats"_s);
    setPath(config, u"sync.nats"_s, nats);
    const auto result = NodeConfigLoader::parse(QJsonDocument(config).toJson(), u"n.json"_s);
    if (field.isEmpty()) {
        if (const auto *error = std::get_if<ConfigError>(&result))
            QFAIL(qPrintable(error->toString()));
        const NodeConfig c = std::get<NodeConfig>(result);
        QCOMPARE(c.syncTransport, TransportKind::Nats);
        QCOMPARE(c.syncNats.servers.size(), 2);
        QCOMPARE(c.syncNats.cluster, u"prod"_s);
        QCOMPARE(c.syncNats.maxAgeMs, 3600000);
        QCOMPARE(c.syncNats.maxMsgs, 1000000);
        QCOMPARE(c.syncNats.maxBytes, -1);
        QCOMPARE(c.syncNats.replicas, 3);
        return;
    }
    QVERIFY(std::holds_alternative<ConfigError>(result));
    const ConfigError error = std::get<ConfigError>(result);
    QCOMPARE(error.field, field);
    QVERIFY2(error.message.contains(problem), qPrintable(error.toString()));
}

void tst_NodeConfig::syncSecret()
{
    const auto parse = [](const QJsonObject &config) {
        return NodeConfigLoader::parse(QJsonDocument(config).toJson(), u"n.json"_s);
    };
    // By default the nodes' control token authenticates replication too.
    const auto byDefault = parse(minimalConfig());
    QVERIFY(std::holds_alternative<NodeConfig>(byDefault));
    QCOMPARE(std::get<NodeConfig>(byDefault).syncSecret, QByteArray("admin-secret"));

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto writeSecret = [&](const QByteArray &content) {
        QFile file(dir.filePath(u"sync.secret"_s));
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(content);
    };
    QJsonObject config = minimalConfig();
    setPath(config, u"sync.secret_file"_s, dir.filePath(u"sync.secret"_s));
    writeSecret("Zm9vYmFyYmF6cXV4cXV1eGNvcmdl\n");
    const auto fromFile = parse(config);
    if (const auto *error = std::get_if<ConfigError>(&fromFile))
        QFAIL(qPrintable(error->toString()));
    QCOMPARE(std::get<NodeConfig>(fromFile).syncSecret, QByteArray("Zm9vYmFyYmF6cXV4cXV1eGNvcmdl"));

    writeSecret("short\n");
    const auto tooShort = parse(config);
    QVERIFY(std::holds_alternative<ConfigError>(tooShort));
    QCOMPARE(std::get<ConfigError>(tooShort).field, u"sync.secret_file"_s);
    QVERIFY(std::get<ConfigError>(tooShort).message.contains(u"at least 16"_s));

    setPath(config, u"sync.secret_file"_s, dir.filePath(u"missing"_s));
    const auto missing = parse(config);
    QVERIFY(std::holds_alternative<ConfigError>(missing));
    QCOMPARE(std::get<ConfigError>(missing).field, u"sync.secret_file"_s);
    QVERIFY(std::get<ConfigError>(missing).message.contains(u"cannot be read"_s));
}

// sync.tls names three PEM files, relative to the configuration file; each is checked at load.
void tst_NodeConfig::syncTls()
{
    QVERIFY(!std::get<NodeConfig>(parseHere(minimalConfig())).syncTls.isEnabled());

    QJsonObject config = minimalConfig();
    presentTestCertificate(config, u"sync.tls"_s);
    setPath(config, u"sync.tls.ca_file"_s, QStringLiteral(SRCDIR "../sync/tls/ca.pem"));
    const auto good = acceptedHere(config);
    if (!good)
        return;
    const TlsFiles tls = good->syncTls;
    QVERIFY(tls.isEnabled());
    QCOMPARE(tls.certificateFile, QDir::cleanPath(QStringLiteral(SRCDIR "../sync/tls/node.pem")));
    QVERIFY(tls.load().ok());

    QJsonObject keyIsCertificate = config;
    setPath(keyIsCertificate, u"sync.tls.key_file"_s, u"../sync/tls/ca.pem"_s);
    expectRefusedAt(keyIsCertificate, u"sync.tls.key_file"_s, u"private key"_s);
    QJsonObject noCa = config;
    QJsonObject tlsObject = noCa.value(u"sync"_s).toObject().value(u"tls"_s).toObject();
    tlsObject.remove(u"ca_file"_s);
    setPath(noCa, u"sync.tls"_s, tlsObject);
    expectRefusedAt(noCa, u"sync.tls.ca_file"_s, u"is required"_s);
    QJsonObject unknownKey = config;
    setPath(unknownKey, u"sync.tls.verify"_s, false);
    expectRefusedAt(unknownKey, u"sync.tls.verify"_s, u"unknown"_s);
}

// A node with control.tls serves HTTPS, so the control_url the other nodes call it at must say
// https://, and the other way round.
void tst_NodeConfig::controlTlsMatchesTheControlUrl()
{
    QJsonObject tls = minimalConfig();
    presentTestCertificate(tls, u"control.tls"_s);
    expectRefusedAt(tls, u"regions[0].control_url"_s, u"is http:// but control.tls is set"_s);
    setPath(tls, u"regions[0].control_url"_s, u"https://127.0.0.1:42001"_s);
    const auto good = acceptedHere(tls);
    if (!good)
        return;
    QVERIFY(good->controlTls.isEnabled());

    QJsonObject plain = minimalConfig();
    setPath(plain, u"regions[0].control_url"_s, u"https://127.0.0.1:42001"_s);
    expectRefusedAt(plain, u"regions[0].control_url"_s, u"control.tls is not set"_s);
    // Another node's scheme is its own business.
    setPath(plain, u"regions[0].control_url"_s, u"http://127.0.0.1:42001"_s);
    setPath(plain, u"regions[1].control_url"_s, u"https://127.0.0.1:42002"_s);
    QVERIFY(std::holds_alternative<NodeConfig>(parseHere(plain)));
}

void tst_NodeConfig::dataAndEdgeTls()
{
    // http.tls: HTTPS on the region's data port; the files relative to the configuration.
    QJsonObject data = minimalConfig();
    presentTestCertificate(data, u"http.tls"_s);
    expectRefusedAt(data, u"regions[0].data_url"_s, u"is http:// but http.tls is set"_s);
    setPath(data, u"regions[0].data_url"_s, u"https://127.0.0.1:41001"_s);
    const auto good = acceptedHere(data);
    if (!good)
        return;
    QCOMPARE(good->dataTls.certificateFile,
             QDir::cleanPath(QStringLiteral(SRCDIR "../sync/tls/node.pem")));
    setPath(data, u"http.tls.key_file"_s, u"../sync/tls/stranger.key"_s);
    expectRefusedAt(data, u"http.tls.key_file"_s, u"stranger.key"_s);
    // An https:// data URL without http.tls may name a TLS terminator in front of the region.
    QJsonObject fronted = minimalConfig();
    setPath(fronted, u"regions[0].data_url"_s, u"https://www.example.test:443"_s);
    QVERIFY(std::holds_alternative<NodeConfig>(parseHere(fronted)));

    // An edge node: edge.tls and edge.upstream_ca_file beside the file; http.tls is not its.
    QJsonObject edge = minimalConfig();
    edge.remove(u"region"_s);
    setPath(edge, u"node_id"_s, u"edge-1"_s);
    setPath(edge, u"role"_s, u"edge"_s);
    setPath(edge,
            u"edges"_s,
            QJsonArray{QJsonObject{{u"id"_s, u"edge-1"_s},
                                   {u"control_url"_s, u"http://127.0.0.1:42009"_s},
                                   {u"sync_address"_s, u"127.0.0.1:43009"_s}}});
    presentTestCertificate(edge, u"edge.tls"_s);
    setPath(edge, u"edge.upstream_ca_file"_s, u"../sync/tls/ca.pem"_s);
    const auto parsedEdge = acceptedHere(edge);
    if (!parsedEdge)
        return;
    const NodeConfig &edgeConfig = *parsedEdge;
    QCOMPARE(edgeConfig.edgeTls.privateKeyFile,
             QDir::cleanPath(QStringLiteral(SRCDIR "../sync/tls/node.key")));
    QCOMPARE(edgeConfig.edgeSection.value(u"upstream_ca_file"_s).toString(),
             QDir::cleanPath(QStringLiteral(SRCDIR "../sync/tls/ca.pem")));
    setPath(edge, u"edge.upstream_ca_file"_s, u"../sync/tls/node.key"_s);
    expectRefusedAt(edge, u"edge.upstream_ca_file"_s, u"holds no PEM certificate"_s);
    setPath(edge, u"edge.upstream_ca_file"_s, u"../sync/tls/ca.pem"_s);
    setPath(edge, u"edge.tls.key_file"_s, u"../sync/tls/missing.key"_s);
    expectRefusedAt(edge, u"edge.tls.key_file"_s, u"missing.key"_s);
    setPath(edge, u"edge.tls.key_file"_s, u"../sync/tls/node.key"_s);
    presentTestCertificate(edge, u"http.tls"_s);
    expectRefusedAt(edge, u"http.tls"_s, u"an edge serves HTTPS with edge.tls"_s);
}

void tst_NodeConfig::unreadableFile()
{
    const auto result = NodeConfigLoader::load(u"/nonexistent/meridian.json"_s);
    QVERIFY(std::holds_alternative<ConfigError>(result));
    QVERIFY(std::get<ConfigError>(result).toString().startsWith(u"/nonexistent/meridian.json: "_s));
}

void tst_NodeConfig::malformedJson()
{
    const auto result = NodeConfigLoader::parse("{\n  \"region\": \"us-east\",\n  oops\n}",
                                                u"x.json"_s);
    QVERIFY(std::holds_alternative<ConfigError>(result));
    QVERIFY2(std::get<ConfigError>(result).message.contains(u"line 3"_s),
             qPrintable(std::get<ConfigError>(result).toString()));
}

QTEST_GUILESS_MAIN(tst_NodeConfig)
#include "tst_nodeconfig.moc"
