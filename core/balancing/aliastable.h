#pragma once

#include <QList>
#include <QtGlobal>

#include <vector>

namespace Meridian {

// Vose's alias method: samples an index with probability proportional to its weight in O(1)
// from one 64-bit random value, so weighted random picks cost the same at 3 or 1,000 regions.
class AliasTable
{
public:
    AliasTable() = default;

    // Weights are >= 0; if all are 0 (or the list is empty) every index is equally likely.
    static AliasTable build(const QList<double> &weights);

    bool isEmpty() const { return m_alias.empty(); }
    quint32 size() const { return static_cast<quint32>(m_alias.size()); }

    quint32 sample(quint64 random) const
    {
        const auto n = static_cast<quint32>(m_alias.size());
        const auto index = static_cast<quint32>((static_cast<quint64>(quint32(random)) * n) >> 32);
        return quint32(random >> 32) < m_threshold[index] ? index : m_alias[index];
    }

private:
    std::vector<quint32> m_threshold; // keep `index` when the coin (32 bits) is below this
    std::vector<quint32> m_alias;
};

} // namespace Meridian
