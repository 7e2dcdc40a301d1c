#include "core/balancing/keyhash.h"

#include <cstring>

namespace Meridian {

quint64 hashKey(QByteArrayView key, quint64 seed)
{
    constexpr quint64 m = 0xc6a4a7935bd1e995ULL;
    constexpr int r = 47;
    const auto *data = reinterpret_cast<const unsigned char *>(key.data());
    const auto length = static_cast<quint64>(key.size());
    quint64 h = seed ^ (length * m);
    const quint64 blocks = length / 8;
    for (quint64 i = 0; i < blocks; ++i) {
        quint64 k;
        std::memcpy(&k, data + i * 8, 8);
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    const unsigned char *tail = data + blocks * 8;
    switch (length & 7) {
    case 7:
        h ^= quint64(tail[6]) << 48;
        [[fallthrough]];
    case 6:
        h ^= quint64(tail[5]) << 40;
        [[fallthrough]];
    case 5:
        h ^= quint64(tail[4]) << 32;
        [[fallthrough]];
    case 4:
        h ^= quint64(tail[3]) << 24;
        [[fallthrough]];
    case 3:
        h ^= quint64(tail[2]) << 16;
        [[fallthrough]];
    case 2:
        h ^= quint64(tail[1]) << 8;
        [[fallthrough]];
    case 1:
        h ^= quint64(tail[0]);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

} // namespace Meridian
