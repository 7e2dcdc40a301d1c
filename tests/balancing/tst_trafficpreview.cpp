#include "core/balancing/balancer.h"
#include "core/balancing/trafficpreview.h"

#include <QTest>

using namespace Meridian;
using namespace Qt::StringLiterals;

namespace {

Region makeRegion(
        const QString &id, int weight = 100, int priority = 1, double lat = 0, double lon = 0)
{
    Region region;
    region.id = id;
    region.lat = lat;
    region.lon = lon;
    region.weight = weight;
    region.priority = priority;
    region.endpoints.append({u"http://%1.example:80"_s.arg(id), HealthState::Healthy});
    return region;
}

BalancerConfig makeConfig(const QString &strategy)
{
    BalancerConfig config;
    config.strategy = strategy;
    config.regions = {makeRegion(u"a"_s, 100, 1, 51.5, -0.13),
                      makeRegion(u"b"_s, 200, 2, 40.7, -74.0),
                      makeRegion(u"c"_s, 100, 3, 35.7, 139.7)};
    return config;
}

bool near(double actual, double expected, double tolerance = 1e-9)
{
    return std::abs(actual - expected) <= tolerance;
}

QString describe(const TrafficShares &shares)
{
    QStringList parts;
    for (auto it = shares.shares.begin(); it != shares.shares.end(); ++it)
        parts.append(u"%1=%2"_s.arg(it.key()).arg(it.value()));
    return parts.join(u", "_s);
}

} // namespace

class tst_TrafficPreview final : public QObject
{
    Q_OBJECT

private slots:
    void sharesOfEachStrategy_data();
    void sharesOfEachStrategy();
    void previewOfActions_data();
    void previewOfActions();
    void panicAndRefusal();
    void invalidChangeIsAnError();
    void previewMatchesPicks_data();
    void previewMatchesPicks();
};

void tst_TrafficPreview::sharesOfEachStrategy_data()
{
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<QList<double>>("expected");
    QTest::addColumn<bool>("approximate");
    QTest::addRow("round_robin") << u"round_robin"_s << QList<double>{1. / 3, 1. / 3, 1. / 3}
                                 << false;
    QTest::addRow("random") << u"random"_s << QList<double>{1. / 3, 1. / 3, 1. / 3} << false;
    QTest::addRow("weighted_round_robin")
            << u"weighted_round_robin"_s << QList<double>{0.25, 0.5, 0.25} << false;
    QTest::addRow("weighted_random")
            << u"weighted_random"_s << QList<double>{0.25, 0.5, 0.25} << false;
    QTest::addRow("least_connections")
            << u"least_connections"_s << QList<double>{0.25, 0.5, 0.25} << true;
    QTest::addRow("least_request") << u"least_request"_s << QList<double>{0.25, 0.5, 0.25} << true;
    QTest::addRow("latency_ewma") << u"latency_ewma"_s << QList<double>{0.25, 0.5, 0.25} << true;
    QTest::addRow("failover") << u"failover"_s << QList<double>{1, 0, 0} << false;
    // Each region is its own nearest: equal demand from three places.
    QTest::addRow("geo_proximity")
            << u"geo_proximity"_s << QList<double>{1. / 3, 1. / 3, 1. / 3} << true;
}

void tst_TrafficPreview::sharesOfEachStrategy()
{
    QFETCH(QString, strategy);
    QFETCH(QList<double>, expected);
    QFETCH(bool, approximate);
    const auto shares = expectedShares(makeConfig(strategy));
    QVERIFY2(shares, qPrintable(shares.error()));
    QCOMPARE(shares.value().note.isEmpty(), !approximate);
    QVERIFY(!shares.value().panic);
    const QStringList ids{u"a"_s, u"b"_s, u"c"_s};
    for (int i = 0; i < 3; ++i)
        QVERIFY2(near(shares.value().shares.value(ids[i]), expected[i]),
                 qPrintable(describe(shares.value())));
}

void tst_TrafficPreview::previewOfActions_data()
{
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<QList<ConfigChange>>("changes");
    QTest::addColumn<QList<double>>("expected");
    QTest::addRow("drain a, weighted")
            << u"weighted_round_robin"_s << QList<ConfigChange>{ConfigChange::drain(u"a"_s)}
            << QList<double>{0, 2. / 3, 1. / 3};
    QTest::addRow("dial b to 30 pct, weighted")
            << u"weighted_random"_s << QList<ConfigChange>{ConfigChange::setDial(u"b"_s, 30)}
            << QList<double>{100. / 260, 60. / 260, 100. / 260};
    QTest::addRow("strategy failover")
            << u"round_robin"_s << QList<ConfigChange>{ConfigChange::setStrategy(u"failover"_s)}
            << QList<double>{1, 0, 0};
    QTest::addRow("promote c") << u"failover"_s
                               << QList<ConfigChange>{ConfigChange::promote(u"c"_s)}
                               << QList<double>{0, 0, 1};
    QTest::addRow("dial a to 30 pct, failover")
            << u"failover"_s << QList<ConfigChange>{ConfigChange::setDial(u"a"_s, 30)}
            << QList<double>{0.3, 0.7, 0};
    QTest::addRow("standby a") << u"round_robin"_s
                               << QList<ConfigChange>{ConfigChange::setState(u"a"_s,
                                                                             AdminState::Standby)}
                               << QList<double>{0, 0.5, 0.5};
    QTest::addRow("weight c to 300") << u"weighted_round_robin"_s
                                     << QList<ConfigChange>{ConfigChange::setWeight(u"c"_s, 300)}
                                     << QList<double>{1. / 6, 2. / 6, 3. / 6};
}

void tst_TrafficPreview::previewOfActions()
{
    QFETCH(QString, strategy);
    QFETCH(QList<ConfigChange>, changes);
    QFETCH(QList<double>, expected);
    const BalancerConfig config = makeConfig(strategy);
    const auto shares = preview(config, changes);
    QVERIFY2(shares, qPrintable(shares.error()));
    const QStringList ids{u"a"_s, u"b"_s, u"c"_s};
    for (int i = 0; i < 3; ++i)
        QVERIFY2(near(shares.value().shares.value(ids[i]), expected[i]),
                 qPrintable(describe(shares.value())));
}

void tst_TrafficPreview::panicAndRefusal()
{
    BalancerConfig config = makeConfig(u"weighted_random"_s);
    for (Region &region : config.regions)
        region.endpoints[0].health = HealthState::Unhealthy;
    auto shares = expectedShares(config);
    QVERIFY(shares);
    QVERIFY(shares.value().panic);
    QVERIFY(near(shares.value().shares.value(u"b"_s), 0.5));

    config.panicMode = PanicMode::Refuse;
    shares = expectedShares(config);
    QVERIFY(shares);
    QCOMPARE(shares.value().refusal, Refusal::NoEligibleRegion);
    for (double share : shares.value().shares)
        QCOMPARE(share, 0.0);
}

void tst_TrafficPreview::invalidChangeIsAnError()
{
    const BalancerConfig config = makeConfig(u"round_robin"_s);
    auto shares = preview(config, ConfigChange::drain(u"zz"_s));
    QVERIFY(!shares);
    QVERIFY2(shares.error().contains(u"drain zz"_s), qPrintable(shares.error()));
    shares = preview(config, ConfigChange::setStrategy(u"fastest"_s));
    QVERIFY(!shares);
    QVERIFY(shares.error().contains(u"unknown strategy"_s));
    shares = preview(config, ConfigChange::setDial(u"a"_s, 101));
    QVERIFY(!shares);
}

void tst_TrafficPreview::previewMatchesPicks_data()
{
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<QList<ConfigChange>>("changes");
    QTest::addRow("consistent_hash") << u"consistent_hash"_s << QList<ConfigChange>{};
    QTest::addRow("consistent_hash, a drained, b dialled")
            << u"consistent_hash"_s
            << QList<ConfigChange>{ConfigChange::setState(u"a"_s, AdminState::Drained),
                                   ConfigChange::setDial(u"b"_s, 40)};
    QTest::addRow("failover, dials") << u"failover"_s
                                     << QList<ConfigChange>{ConfigChange::setDial(u"a"_s, 50),
                                                            ConfigChange::setDial(u"b"_s, 50)};
    QTest::addRow("weighted_round_robin, dial")
            << u"weighted_round_robin"_s << QList<ConfigChange>{ConfigChange::setDial(u"c"_s, 10)};
}

void tst_TrafficPreview::previewMatchesPicks()
{
    QFETCH(QString, strategy);
    QFETCH(QList<ConfigChange>, changes);
    BalancerConfig config = makeConfig(strategy);
    for (const ConfigChange &change : changes)
        config = change.applyTo(config).value();
    const auto shares = expectedShares(config);
    QVERIFY(shares);
    Balancer balancer(Clock::steady(), 11);
    QVERIFY(balancer.setConfig(config));
    constexpr int picks = 40'000;
    QMap<QString, int> counts;
    for (int i = 0; i < picks; ++i) {
        const QByteArray key = "user-" + QByteArray::number(i);
        PickRequest request;
        request.hashKey = key;
        ++counts[balancer.pick(request).regionId()];
    }
    for (auto it = shares.value().shares.begin(); it != shares.value().shares.end(); ++it) {
        const double observed = double(counts.value(it.key())) / picks;
        QVERIFY2(std::abs(observed - it.value()) < 0.015,
                 qPrintable(
                         u"%1: preview %2, picked %3"_s.arg(it.key()).arg(it.value()).arg(observed)));
    }
}

QTEST_GUILESS_MAIN(tst_TrafficPreview)
#include "tst_trafficpreview.moc"
