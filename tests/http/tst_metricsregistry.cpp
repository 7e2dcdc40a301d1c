#include "core/http/metricsregistry.h"

#include <QTest>
#include <QThread>

using namespace Qt::StringLiterals;

#include <limits>
#include <memory>
#include <vector>

using namespace Meridian;

class tst_MetricsRegistry final : public QObject
{
    Q_OBJECT

private slots:
    void counterAndGaugeText();
    void histogramText();
    void histogramAdvancesToOutsideTotals();
    void labelEscaping();
    void sameFamilyTwice();
    void misuseIsDetached();
    void formatValue_data();
    void formatValue();
    void collectHookRunsBeforeRender();
    void concurrentUpdates();
};

void tst_MetricsRegistry::counterAndGaugeText()
{
    MetricsRegistry registry;
    auto &requests = registry.counter("meridian_requests_total",
                                      "Requests answered, by region and status.",
                                      {"region", "status"});
    requests.counter({"eu-west", "200"}).inc();
    requests.counter({"eu-west", "200"}).inc(2);
    requests.counter({"us-east", "503"}).inc();
    registry.gauge("meridian_in_flight", "Requests being served.").gauge().set(3);

    const QByteArray expected
            = "# HELP meridian_requests_total Requests answered, by region and status.\n"
              "# TYPE meridian_requests_total counter\n"
              "meridian_requests_total{region=\"eu-west\",status=\"200\"} 3\n"
              "meridian_requests_total{region=\"us-east\",status=\"503\"} 1\n"
              "# HELP meridian_in_flight Requests being served.\n"
              "# TYPE meridian_in_flight gauge\n"
              "meridian_in_flight 3\n";
    QCOMPARE(registry.render(), expected);

    auto &inFlight = registry.gauge("meridian_in_flight", "Requests being served.").gauge();
    inFlight.dec(4);
    QCOMPARE(inFlight.value(), -1.0);
    requests.counter({"eu-west", "200"}).inc(-5); // ignored: counters only grow
    QCOMPARE(requests.counter({"eu-west", "200"}).value(), 3.0);
}

void tst_MetricsRegistry::histogramText()
{
    MetricsRegistry registry;
    auto &latency = registry.histogram("meridian_request_duration_seconds",
                                       "Request latency.",
                                       {"region"},
                                       {0.1, 0.01, 1}); // unsorted on purpose
    auto &h = latency.histogram({"eu-west"});
    h.observe(0.005);
    h.observe(0.01); // on the bound: le is inclusive
    h.observe(0.5);
    h.observe(7);
    const QByteArray expected
            = "# HELP meridian_request_duration_seconds Request latency.\n"
              "# TYPE meridian_request_duration_seconds histogram\n"
              "meridian_request_duration_seconds_bucket{region=\"eu-west\",le=\"0.01\"} 2\n"
              "meridian_request_duration_seconds_bucket{region=\"eu-west\",le=\"0.1\"} 2\n"
              "meridian_request_duration_seconds_bucket{region=\"eu-west\",le=\"1\"} 3\n"
              "meridian_request_duration_seconds_bucket{region=\"eu-west\",le=\"+Inf\"} 4\n"
              "meridian_request_duration_seconds_sum{region=\"eu-west\"} 7.515\n"
              "meridian_request_duration_seconds_count{region=\"eu-west\"} 4\n";
    QCOMPARE(registry.render(), expected);
    QCOMPARE(h.count(), quint64(4));
}

void tst_MetricsRegistry::histogramAdvancesToOutsideTotals()
{
    // Totals counted elsewhere (the edge workers' own buckets) are copied in at each scrape.
    MetricHistogram h({0.01, 0.1});
    h.advanceTo({1, 0, 2}, 9.5);
    QCOMPARE(h.bucketCount(0), quint64(1));
    QCOMPARE(h.bucketCount(1), quint64(0));
    QCOMPARE(h.bucketCount(2), quint64(2)); // +Inf
    QCOMPARE(h.count(), quint64(3));
    QCOMPARE(h.sum(), 9.5);
    h.advanceTo({3, 1, 2}, 10.0);
    QCOMPARE(h.bucketCount(0), quint64(3));
    QCOMPARE(h.bucketCount(1), quint64(1));
    QCOMPARE(h.count(), quint64(6));
    QCOMPARE(h.sum(), 10.0);
    h.advanceTo({0, 0, 0}, 1.0); // a counter never goes back
    QCOMPARE(h.count(), quint64(6));
    QCOMPARE(h.sum(), 10.0);
    h.advanceTo({9, 9, 9, 9}, 10.0); // extra buckets are ignored
    QCOMPARE(h.count(), quint64(27));

    // A counter does the same with its one total.
    MetricCounter c;
    c.advanceTo(2.5);
    QCOMPARE(c.value(), 2.5);
    c.advanceTo(1.0); // never back
    QCOMPARE(c.value(), 2.5);
    c.advanceTo(4.0);
    QCOMPARE(c.value(), 4.0);
}

void tst_MetricsRegistry::labelEscaping()
{
    MetricsRegistry registry;
    registry.counter("x_total", "Help with \\ and\nnewline.", {"path"}).counter({"a\"b\\c\nd"}).inc();
    const QByteArray text = registry.render();
    QVERIFY(text.contains("# HELP x_total Help with \\\\ and\\nnewline.\n"));
    QVERIFY(text.contains("x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

void tst_MetricsRegistry::sameFamilyTwice()
{
    MetricsRegistry registry;
    auto &a = registry.counter("hits_total", "Hits.", {"k"});
    auto &b = registry.counter("hits_total", "Hits.", {"k"});
    QCOMPARE(&a, &b);
    a.counter({"v"}).inc();
    QCOMPARE(&a.counter({"v"}), &b.counter({"v"})); // cells are stable
    QCOMPARE(b.counter({"v"}).value(), 1.0);
}

void tst_MetricsRegistry::misuseIsDetached()
{
    MetricsRegistry registry;
    registry.counter("ok_total", "Fine.", {"k"}).counter({"v"}).inc();
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(u"invalid metric name"_s));
    registry.counter("bad name", "x").counter().inc();
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(u"invalid label name"_s));
    registry.gauge("g", "x", {"le"}).gauge({"1"}).set(1);
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(u"another type"_s));
    registry.gauge("ok_total", "x", {"k"}).gauge({"v"}).set(5);
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(u"takes 1 label values, got 2"_s));
    registry.counter("ok_total", "Fine.", {"k"}).counter({"a", "b"}).inc();
    QTest::ignoreMessage(QtCriticalMsg, QRegularExpression(u"is not a histogram"_s));
    registry.counter("ok_total", "Fine.", {"k"}).histogram({"v"}).observe(1);
    const QByteArray expected = "# HELP ok_total Fine.\n"
                                "# TYPE ok_total counter\n"
                                "ok_total{k=\"v\"} 1\n";
    QCOMPARE(registry.render(), expected);
}

void tst_MetricsRegistry::formatValue_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<QByteArray>("text");
    QTest::addRow("zero") << 0.0 << QByteArray("0");
    QTest::addRow("integer") << 42.0 << QByteArray("42");
    QTest::addRow("negative") << -3.0 << QByteArray("-3");
    QTest::addRow("fraction") << 0.25 << QByteArray("0.25");
    QTest::addRow("tiny") << 1e-9 << QByteArray("1e-09");
    QTest::addRow("huge") << 1e20 << QByteArray("1e+20");
    QTest::addRow("inf") << std::numeric_limits<double>::infinity() << QByteArray("+Inf");
    QTest::addRow("-inf") << -std::numeric_limits<double>::infinity() << QByteArray("-Inf");
    QTest::addRow("nan") << std::numeric_limits<double>::quiet_NaN() << QByteArray("NaN");
}

void tst_MetricsRegistry::formatValue()
{
    QFETCH(double, value);
    QFETCH(QByteArray, text);
    QCOMPARE(MetricsRegistry::formatValue(value), text);
}

void tst_MetricsRegistry::collectHookRunsBeforeRender()
{
    MetricsRegistry registry;
    auto &lag = registry.gauge("lag_seconds", "Replication lag.", {"link"});
    int live = 0;
    registry.addCollectHook([&] {
        lag.clear();
        lag.gauge({"a->b"}).set(++live);
    });
    QVERIFY(registry.render().contains("lag_seconds{link=\"a->b\"} 1\n"));
    QVERIFY(registry.render().contains("lag_seconds{link=\"a->b\"} 2\n"));
}

void tst_MetricsRegistry::concurrentUpdates()
{
    MetricsRegistry registry;
    auto &family = registry.counter("c_total", "c", {"t"});
    auto &hist = registry.histogram("h_seconds", "h");
    constexpr int kThreads = 4;
    constexpr int kIterations = 20000;
    std::vector<std::unique_ptr<QThread>> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(QThread::create([&family, &hist, t] {
            for (int i = 0; i < kIterations; ++i) {
                family.counter({QByteArray::number(i % 2)}).inc();
                hist.histogram().observe(0.002);
                if (i % 1000 == 0)
                    family.counter({"t" + QByteArray::number(t)}).inc();
            }
        }));
        threads.back()->start();
    }
    // Rendering concurrently with updates must be safe.
    for (int i = 0; i < 20; ++i)
        QVERIFY(registry.render().contains("# TYPE c_total counter"));
    for (auto &t : threads)
        QVERIFY(t->wait(60000));
    QCOMPARE(family.counter({"0"}).value() + family.counter({"1"}).value(),
             double(kThreads * kIterations));
    QCOMPARE(hist.histogram().count(), quint64(kThreads * kIterations));
    QCOMPARE(hist.histogram().bucketCount(1), quint64(kThreads * kIterations)); // le=0.0025
}

QTEST_GUILESS_MAIN(tst_MetricsRegistry)
#include "tst_metricsregistry.moc"
