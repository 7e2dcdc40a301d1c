#include "core/balancing/leastloaded.h"

#include <QTest>

#include <bit>
#include <limits>
#include <memory>
#include <random>
#include <vector>

using namespace Meridian;
using namespace Meridian::Internal;

namespace {

constexpr double Infinity = std::numeric_limits<double>::infinity();

// What the scan promises, one position at a time: the smallest score (compared to 36
// significant bits), the first in cyclic order from `start` among equal ones.
qsizetype reference(const std::vector<int> &counts,
                    const std::vector<double> &inverseWeight,
                    qsizetype n,
                    qsizetype start)
{
    const auto truncated = [](double score) {
        return std::bit_cast<quint64>(score) & ~quint64(0xffff);
    };
    qsizetype found = -1;
    quint64 best = 0;
    for (qsizetype step = 0; step < n; ++step) {
        const qsizetype k = (start + step) % n;
        if (inverseWeight[k] == Infinity)
            continue;
        const quint64 score = truncated(double(counts[k]) * inverseWeight[k]);
        if (found < 0 || score < best) {
            best = score;
            found = k;
        }
    }
    return found;
}

struct Arrays
{
    std::unique_ptr<std::atomic<int>[]> counts;
    std::vector<double> inverseWeight;
};

Arrays pad(const std::vector<int> &counts, const std::vector<double> &inverseWeight)
{
    const size_t padded = (counts.size() + 15) & ~size_t(15);
    Arrays arrays{std::make_unique<std::atomic<int>[]>(padded), inverseWeight};
    for (size_t k = 0; k < padded; ++k)
        arrays.counts[k].store(k < counts.size() ? counts[k] : 7 + int(k));
    arrays.inverseWeight.resize(padded, Infinity);
    return arrays;
}

} // namespace

class tst_LeastLoaded final : public QObject
{
    Q_OBJECT

private slots:
    void matchesTheReference_data();
    void matchesTheReference();
    void tiesRotateWithTheStart();
    void nothingFiniteIsMinusOne();
};

void tst_LeastLoaded::matchesTheReference_data()
{
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("maxCount");
    QTest::addColumn<bool>("gaps");
    for (int n : {1, 3, 15, 16, 17, 31, 128, 1000, 65'536}) {
        QTest::addRow("%d, many ties", n) << n << 3 << false;
        QTest::addRow("%d, spread", n) << n << 100'000 << false;
        QTest::addRow("%d, gaps", n) << n << 5 << true;
    }
}

void tst_LeastLoaded::matchesTheReference()
{
    QFETCH(int, n);
    QFETCH(int, maxCount);
    QFETCH(bool, gaps);
    std::mt19937_64 random(quint64(n) * 1000 + quint64(maxCount) + (gaps ? 1 : 0));
    const int rounds = n > 10'000 ? 20 : 500;
    for (int round = 0; round < rounds; ++round) {
        std::vector<int> counts(n);
        std::vector<double> inverseWeight(n);
        for (int k = 0; k < n; ++k) {
            counts[k] = int(random() % quint64(maxCount + 1));
            // Weights as the balancer makes them: weight × dial, a few distinct ones.
            const double weight = double(1 + random() % 4) * 100.0 * double(1 + random() % 100);
            inverseWeight[k] = gaps && random() % 3 == 0 ? Infinity : 1.0 / weight;
        }
        const Arrays arrays = pad(counts, inverseWeight);
        const qsizetype start = qsizetype(random() % quint64(n));
        const qsizetype expected = reference(counts, inverseWeight, n, start);
        QCOMPARE(leastLoaded(arrays.counts.get(), arrays.inverseWeight.data(), n, start), expected);
        QCOMPARE(leastLoadedPortable(arrays.counts.get(), arrays.inverseWeight.data(), n, start),
                 expected);
    }
}

void tst_LeastLoaded::tiesRotateWithTheStart()
{
    // Every position idle and equally weighted: the start itself wins, so a rotating start
    // spreads ties evenly. Two least loaded among busier ones: the first at or after the start.
    const int n = 40;
    std::vector<int> counts(n, 0);
    std::vector<double> inverseWeight(n, 1.0 / 100.0);
    Arrays arrays = pad(counts, inverseWeight);
    for (int start = 0; start < n; ++start)
        QCOMPARE(leastLoaded(arrays.counts.get(), arrays.inverseWeight.data(), n, start), start);
    for (int k = 0; k < n; ++k)
        arrays.counts[k].store(k == 5 || k == 30 ? 1 : 2);
    for (int start = 0; start < n; ++start) {
        const qsizetype expected = start > 5 && start <= 30 ? 30 : 5;
        QCOMPARE(leastLoaded(arrays.counts.get(), arrays.inverseWeight.data(), n, start), expected);
    }
}

void tst_LeastLoaded::nothingFiniteIsMinusOne()
{
    std::vector<int> counts{0, 3, 0};
    std::vector<double> inverseWeight(3, Infinity);
    const Arrays arrays = pad(counts, inverseWeight);
    QCOMPARE(leastLoaded(arrays.counts.get(), arrays.inverseWeight.data(), 3, 1), qsizetype(-1));
    QCOMPARE(leastLoadedPortable(arrays.counts.get(), arrays.inverseWeight.data(), 3, 0),
             qsizetype(-1));
}

QTEST_GUILESS_MAIN(tst_LeastLoaded)
#include "tst_leastloaded.moc"
