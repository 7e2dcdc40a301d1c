#include "core/balancing/balancersnapshot.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace Meridian::Internal {

QList<double> strategyWeights(const BalancerConfig &config,
                              StrategyKind kind,
                              const QList<int> &indices)
{
    QList<double> weights;
    weights.reserve(indices.size());
    bool byWeight = false;
    switch (kind) {
    case StrategyKind::WeightedRoundRobin:
    case StrategyKind::WeightedRandom:
    case StrategyKind::LeastConnections:
    case StrategyKind::LeastRequest:
    case StrategyKind::LatencyEwma:
    case StrategyKind::ConsistentHash:
        byWeight = true;
        break;
    default:
        break;
    }
    bool anyWeight = false;
    for (int i : indices)
        anyWeight = anyWeight || config.regions[i].weight > 0;
    for (int i : indices) {
        const Region &region = config.regions[i];
        const double weight = byWeight && anyWeight ? double(region.weight) : 1.0;
        weights.append(weight * double(region.dial));
    }
    return weights;
}

std::vector<quint16> smoothWeightedSequence(const QList<double> &weights, int maxLength)
{
    const qsizetype n = weights.size();
    std::vector<qint64> w(n);
    qint64 divisor = 0;
    for (qsizetype i = 0; i < n; ++i) {
        w[i] = std::max<qint64>(0, std::llround(weights[i]));
        divisor = std::gcd(divisor, w[i]);
    }
    if (divisor == 0)
        return {};
    qint64 total = 0;
    for (qint64 &x : w) {
        x /= divisor;
        total += x;
    }
    if (total > maxLength) {
        const double scale = double(maxLength) / double(total);
        total = 0;
        for (qint64 &x : w) {
            if (x > 0)
                x = std::max<qint64>(1, qint64(std::floor(double(x) * scale)));
            total += x;
        }
    }
    std::vector<quint16> sequence;
    sequence.reserve(total);
    std::vector<qint64> current(n, 0);
    for (qint64 step = 0; step < total; ++step) {
        qsizetype best = -1;
        for (qsizetype i = 0; i < n; ++i) {
            if (w[i] == 0)
                continue;
            current[i] += w[i];
            if (best < 0 || current[i] > current[best])
                best = i;
        }
        current[best] -= total;
        sequence.push_back(static_cast<quint16>(best));
    }
    return sequence;
}

QList<int> failoverOrder(const BalancerConfig &config, const QList<int> &indices)
{
    QList<int> order = indices;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        const Region &ra = config.regions[a];
        const Region &rb = config.regions[b];
        if (ra.priority != rb.priority)
            return ra.priority < rb.priority;
        return ra.id < rb.id;
    });
    return order;
}

MaglevTable buildHomeTable(const BalancerConfig &config, quint32 size)
{
    QList<QByteArray> names;
    QList<double> weights;
    for (const Region &region : config.regions) {
        names.append(region.id.toUtf8());
        weights.append(double(region.weight));
    }
    return MaglevTable::build(names, weights, size);
}

MaglevTable buildViewTable(const BalancerConfig &config,
                           const QList<int> &indices,
                           const QList<double> &weights,
                           quint32 size)
{
    QList<QByteArray> names;
    for (int i : indices)
        names.append(config.regions[i].id.toUtf8());
    return MaglevTable::build(names, weights, size);
}

} // namespace Meridian::Internal
