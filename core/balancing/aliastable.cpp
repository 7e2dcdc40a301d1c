#include "core/balancing/aliastable.h"

#include <cmath>

namespace Meridian {

AliasTable AliasTable::build(const QList<double> &weights)
{
    AliasTable table;
    const auto n = static_cast<quint32>(weights.size());
    if (n == 0)
        return table;
    double total = 0.0;
    for (double w : weights)
        total += w > 0.0 ? w : 0.0;
    std::vector<double> scaled(n);
    for (quint32 i = 0; i < n; ++i)
        scaled[i] = total > 0.0 ? std::max(weights[i], 0.0) * n / total : 1.0;

    std::vector<quint32> small;
    std::vector<quint32> large;
    for (quint32 i = 0; i < n; ++i)
        (scaled[i] < 1.0 ? small : large).push_back(i);
    table.m_threshold.assign(n, 0);
    table.m_alias.resize(n);
    for (quint32 i = 0; i < n; ++i)
        table.m_alias[i] = i;

    constexpr double full = 4294967296.0; // 2^32
    auto threshold = [&](double probability) {
        const double t = std::floor(probability * full);
        return t >= full ? 0xffffffffU : static_cast<quint32>(std::max(t, 0.0));
    };
    while (!small.empty() && !large.empty()) {
        const quint32 s = small.back();
        small.pop_back();
        const quint32 l = large.back();
        table.m_threshold[s] = threshold(scaled[s]);
        table.m_alias[s] = l;
        scaled[l] = (scaled[l] + scaled[s]) - 1.0;
        if (scaled[l] < 1.0) {
            large.pop_back();
            small.push_back(l);
        }
    }
    // What is left has probability 1 up to rounding: always keep the index.
    for (quint32 i : large)
        table.m_threshold[i] = 0xffffffffU, table.m_alias[i] = i;
    for (quint32 i : small)
        table.m_threshold[i] = 0xffffffffU, table.m_alias[i] = i;
    return table;
}

} // namespace Meridian
