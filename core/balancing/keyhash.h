#pragma once

#include <QByteArrayView>
#include <QtGlobal>

namespace Meridian {

// A fast, well-mixed 64-bit hash of a key (MurmurHash64A): stable across processes and
// versions, so that every gateway maps a key to the same region.
quint64 hashKey(QByteArrayView key, quint64 seed = 0);

// The splitmix64 finaliser: a bijective mix of 64 bits, used to derive independent values.
// Inline: several picks per strategy call it.
inline quint64 mix64(quint64 value)
{
    value ^= value >> 30;
    value *= 0xbf58476d1ce4e5b9ULL;
    value ^= value >> 27;
    value *= 0x94d049bb133111ebULL;
    value ^= value >> 31;
    return value;
}

// Maps a 32-bit uniform value onto 0..range-1 without a division (Lemire's fast range).
inline quint32 fastRange(quint32 value, quint32 range)
{
    return static_cast<quint32>((static_cast<quint64>(value) * range) >> 32);
}

} // namespace Meridian
