#include "core/balancing/leastloaded.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace Meridian::Internal {

namespace {

// GCC/Clang vector extensions: SSE2 on any x86-64, AVX2 through the clone below, NEON on ARM.
typedef double V4d __attribute__((vector_size(32)));
typedef qint64 V4l __attribute__((vector_size(32)));
typedef qint32 V4i __attribute__((vector_size(16), aligned(4)));

// A score's key: its bits with the low 16 replaced by the position, so that the smallest key
// is the smallest score at the lowest position. Scores are >= 0 or NaN (0 × infinity): a
// positive double orders as its bits, and NaN is never smaller than anything.
constexpr qint64 PositionBits = 0xffff;

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
quint64
minKey(const std::atomic<int> *counts, const double *inverseWeight, qsizetype n, qsizetype start)
{
    // The position part of a key is (k - start) mod 65,536: positions from the start come
    // first, then those before it (n <= 65,536), so the smallest key is the first in cyclic
    // order among the smallest scores.
    const auto *raw = reinterpret_cast<const char *>(counts);
    constexpr double Infinity = std::numeric_limits<double>::infinity();
    const V4d infinity = {Infinity, Infinity, Infinity, Infinity};
    V4d best0 = infinity, best1 = infinity, best2 = infinity, best3 = infinity;
    V4l position = {-start, 1 - start, 2 - start, 3 - start};
    const V4l four = {4, 4, 4, 4};
    const V4l scoreMask = {~PositionBits, ~PositionBits, ~PositionBits, ~PositionBits};
    const V4l positionMask = {PositionBits, PositionBits, PositionBits, PositionBits};
    const auto step = [&](qsizetype k, V4d &best) {
        V4i c;
        std::memcpy(&c, raw + k * sizeof(int), sizeof c);
        V4d w;
        std::memcpy(&w, inverseWeight + k, sizeof w);
        const V4d score = __builtin_convertvector(c, V4d) * w;
        const V4d key = (V4d) (((V4l) score & scoreMask) | (position & positionMask));
        position += four;
        // NaN keys (infinite or NaN scores) are never smaller, so they never get in.
        best = key < best ? key : best;
    };
    // Blocks of 16 into four minima, so that consecutive minimum operations do not wait for
    // each other.
    for (qsizetype k = 0; k < n; k += 16) {
        step(k, best0);
        step(k + 4, best1);
        step(k + 8, best2);
        step(k + 12, best3);
    }
    best0 = best0 < best1 ? best0 : best1;
    best2 = best2 < best3 ? best2 : best3;
    best0 = best0 < best2 ? best0 : best2;
    quint64 result = std::numeric_limits<quint64>::max();
    for (int lane = 0; lane < 4; ++lane) {
        if (best0[lane] < Infinity)
            result = std::min(result, std::bit_cast<quint64>(best0[lane]));
    }
    return result;
}

} // namespace

qsizetype leastLoaded(const std::atomic<int> *counts,
                      const double *inverseWeight,
                      qsizetype n,
                      qsizetype start)
{
    static_assert(sizeof(std::atomic<int>) == sizeof(int) && alignof(std::atomic<int>) == 4);
    const quint64 key = minKey(counts, inverseWeight, n, start);
    if (key == std::numeric_limits<quint64>::max())
        return -1;
    return qsizetype((key + quint64(start)) & quint64(PositionBits));
}

} // namespace Meridian::Internal
