#include "core/balancing/maglevtable.h"

#include "core/balancing/keyhash.h"

#include <algorithm>

namespace Meridian {

MaglevTable MaglevTable::build(const QList<QByteArray> &names,
                               const QList<double> &weights,
                               quint32 size)
{
    MaglevTable table;
    const auto count = static_cast<quint32>(names.size());
    if (count == 0 || size <= count || count > 65'535)
        return table;

    struct Entry
    {
        quint32 next; // current position in this backend's permutation
        quint32 skip;
        double weight; // normalised to the largest weight
        double target; // claims so far, in units of weight turns
        quint16 index;
    };
    double maxWeight = 0.0;
    for (quint32 i = 0; i < count; ++i)
        maxWeight = std::max(maxWeight, i < quint32(weights.size()) ? weights[i] : 1.0);
    const bool equal = maxWeight <= 0.0;

    std::vector<Entry> entries;
    entries.reserve(count);
    for (quint32 i = 0; i < count; ++i) {
        const double w = equal ? 1.0 : (i < quint32(weights.size()) ? weights[i] : 1.0) / maxWeight;
        if (w <= 0.0)
            continue;
        const quint64 h1 = hashKey(names[i], 0x4d41474c45564f46ULL); // "MAGLEVOF"
        const quint64 h2 = hashKey(names[i], 0x4d41474c4556534bULL); // "MAGLEVSK"
        entries.push_back({static_cast<quint32>(h1 % size),
                           static_cast<quint32>(h2 % (size - 1)) + 1,
                           w,
                           0.0,
                           static_cast<quint16>(i)});
    }

    constexpr quint16 empty = 0xffff;
    std::vector<quint16> cells(size, empty);
    // Backend indices are < 65,535, so 0xffff marks a free entry.
    quint32 filled = 0;
    for (quint64 iteration = 1; filled < size; ++iteration) {
        for (Entry &entry : entries) {
            if (static_cast<double>(iteration) * entry.weight < entry.target)
                continue;
            entry.target += 1.0;
            while (cells[entry.next] != empty) {
                entry.next += entry.skip;
                if (entry.next >= size)
                    entry.next -= size;
            }
            cells[entry.next] = entry.index;
            entry.next += entry.skip;
            if (entry.next >= size)
                entry.next -= size;
            if (++filled == size)
                break;
        }
    }
    table.m_entries = std::move(cells);
    return table;
}

} // namespace Meridian
