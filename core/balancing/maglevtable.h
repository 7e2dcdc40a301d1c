#pragma once

#include <QByteArray>
#include <QList>

#include <vector>

namespace Meridian {

// Maglev's consistent-hash lookup table (Eisenbud et al., NSDI 2016), with Envoy's weighted
// population: each backend walks its own permutation of the table and claims free entries in
// turns proportional to its weight, so every backend owns close to weight/total of the entries
// and a change of backends moves few keys. Entries are backend indices (at most 65,535 backends).
class MaglevTable
{
public:
    MaglevTable() = default;

    // `size` must be a prime larger than the number of backends; weights are >= 0 and a backend
    // of weight 0 gets no entry (if every weight is 0, all count as equal).
    static MaglevTable build(const QList<QByteArray> &names,
                             const QList<double> &weights,
                             quint32 size);

    bool isEmpty() const { return m_entries.empty(); }
    quint32 size() const { return static_cast<quint32>(m_entries.size()); }
    // The backend index for a key's 64-bit hash.
    quint16 lookup(quint64 hash) const
    {
        return m_entries[static_cast<quint32>(((hash >> 32) * m_entries.size()) >> 32)];
    }
    const std::vector<quint16> &entries() const { return m_entries; }

private:
    std::vector<quint16> m_entries;
};

} // namespace Meridian
