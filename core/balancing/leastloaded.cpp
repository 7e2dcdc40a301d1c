#include "core/balancing/leastloaded.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace Meridian::Internal {

namespace {

// GCC/Clang vector extensions of 16 bytes: SSE2 on any x86-64, NEON on ARM; AVX2 below.
typedef double V2d __attribute__((vector_size(16)));
typedef qint64 V2l __attribute__((vector_size(16)));
typedef qint32 V2i __attribute__((vector_size(8), aligned(4)));

// A score's key: its bits with the low 16 replaced by the position, so that the smallest key
// is the smallest score at the lowest position. Scores are >= 0 or NaN (0 × infinity): a
// positive double orders as its bits, and NaN is never smaller than anything.
constexpr qint64 PositionBits = 0xffff;

quint64 minKey(const std::atomic<int> *counts,
               const double *inverseWeight,
               qsizetype n,
               qsizetype start)
{
    // The position part of a key is (k - start) mod 65,536: positions from the start come
    // first, then those before it (n <= 65,536), so the smallest key is the first in cyclic
    // order among the smallest scores. Two lanes per vector: native on SSE2 and NEON.
    const auto *raw = reinterpret_cast<const char *>(counts);
    constexpr double Infinity = std::numeric_limits<double>::infinity();
    const V2d infinity = {Infinity, Infinity};
    V2d best[8];
    for (V2d &b : best)
        b = infinity;
    V2l position = {-start, 1 - start};
    const V2l two = {2, 2};
    const V2l scoreMask = {~PositionBits, ~PositionBits};
    const V2l positionMask = {PositionBits, PositionBits};
    // Blocks of 16 into eight minima, so that consecutive minimum operations do not wait for
    // each other (the loop is unrolled by the compiler).
    for (qsizetype k = 0; k < n; k += 16) {
        for (int part = 0; part < 8; ++part) {
            V2i c;
            std::memcpy(&c, raw + (k + 2 * part) * sizeof(int), sizeof c);
            V2d w;
            std::memcpy(&w, inverseWeight + k + 2 * part, sizeof w);
            const V2d score = __builtin_convertvector(c, V2d) * w;
            const V2d key = (V2d) (((V2l) score & scoreMask) | (position & positionMask));
            position += two;
            // NaN keys (infinite or NaN scores) are never smaller, so they never get in.
            best[part] = key < best[part] ? key : best[part];
        }
    }
    for (int part = 1; part < 8; ++part)
        best[0] = best[part] < best[0] ? best[part] : best[0];
    quint64 result = std::numeric_limits<quint64>::max();
    for (int lane = 0; lane < 2; ++lane) {
        if (best[0][lane] < Infinity)
            result = std::min(result, std::bit_cast<quint64>(best[0][lane]));
    }
    return result;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define MERIDIAN_AVX2_SCAN 1

// The same with AVX2 intrinsics (GCC 12 splits the generic conversions into several
// instructions): four counters per instruction, converted in one. Only the block holding the
// start needs its positions wrapped by a mask; the others get them from an offset.
template<bool Wrap>
__attribute__((target("avx2"), always_inline)) inline __m256d avx2Key(const char *raw,
                                                                      const double *inverseWeight,
                                                                      qsizetype k,
                                                                      __m256i &position)
{
    const __m256d scoreMask = _mm256_castsi256_pd(_mm256_set1_epi64x(~PositionBits));
    const __m256d count = _mm256_cvtepi32_pd(
            _mm_loadu_si128(reinterpret_cast<const __m128i *>(raw + k * sizeof(int))));
    const __m256d score = _mm256_mul_pd(count, _mm256_loadu_pd(inverseWeight + k));
    const __m256i bits = Wrap ? _mm256_and_si256(position, _mm256_set1_epi64x(PositionBits))
                              : position;
    const __m256d key = _mm256_or_pd(_mm256_and_pd(score, scoreMask), _mm256_castsi256_pd(bits));
    position = _mm256_add_epi64(position, _mm256_set1_epi64x(4));
    return key;
}

struct Avx2Minima
{
    __m256d best0, best1, best2, best3;
};

// Blocks of 16 from `from` to `to`, position of k = k + offset.
template<bool Wrap>
__attribute__((target("avx2"), always_inline)) inline void avx2Blocks(const char *raw,
                                                                      const double *inverseWeight,
                                                                      qsizetype from,
                                                                      qsizetype to,
                                                                      qint64 offset,
                                                                      Avx2Minima &m)
{
    __m256i position = _mm256_setr_epi64x(from + offset,
                                          from + 1 + offset,
                                          from + 2 + offset,
                                          from + 3 + offset);
    for (qsizetype k = from; k < to; k += 16) {
        // min_pd(a, b) is a < b ? a : b, so NaN keys never get in.
        m.best0 = _mm256_min_pd(avx2Key<Wrap>(raw, inverseWeight, k, position), m.best0);
        m.best1 = _mm256_min_pd(avx2Key<Wrap>(raw, inverseWeight, k + 4, position), m.best1);
        m.best2 = _mm256_min_pd(avx2Key<Wrap>(raw, inverseWeight, k + 8, position), m.best2);
        m.best3 = _mm256_min_pd(avx2Key<Wrap>(raw, inverseWeight, k + 12, position), m.best3);
    }
}

__attribute__((target("avx2"))) quint64 minKeyAvx2(const std::atomic<int> *counts,
                                                   const double *inverseWeight,
                                                   qsizetype n,
                                                   qsizetype start)
{
    const auto *raw = reinterpret_cast<const char *>(counts);
    constexpr double Infinity = std::numeric_limits<double>::infinity();
    const __m256d infinity = _mm256_set1_pd(Infinity);
    Avx2Minima m{infinity, infinity, infinity, infinity};
    const qsizetype startBlock = start & ~qsizetype(15);
    // Positions (k - start) mod 65,536: after the start's block k - start, before it
    // k - start + 65,536, and wrapped by the mask in the block itself.
    avx2Blocks<true>(raw, inverseWeight, startBlock, startBlock + 16, -start, m);
    avx2Blocks<false>(raw, inverseWeight, startBlock + 16, n, -start, m);
    avx2Blocks<false>(raw, inverseWeight, 0, startBlock, (PositionBits + 1) - start, m);
    const __m256d best = _mm256_min_pd(_mm256_min_pd(m.best0, m.best1),
                                       _mm256_min_pd(m.best2, m.best3));
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, best);
    quint64 result = std::numeric_limits<quint64>::max();
    for (double lane : lanes) {
        if (lane < Infinity)
            result = std::min(result, std::bit_cast<quint64>(lane));
    }
    return result;
}
#endif

} // namespace

qsizetype leastLoaded(const std::atomic<int> *counts,
                      const double *inverseWeight,
                      qsizetype n,
                      qsizetype start)
{
    static_assert(sizeof(std::atomic<int>) == sizeof(int) && alignof(std::atomic<int>) == 4);
#ifdef MERIDIAN_AVX2_SCAN
    static const bool avx2 = __builtin_cpu_supports("avx2");
    const quint64 key = avx2 ? minKeyAvx2(counts, inverseWeight, n, start)
                             : minKey(counts, inverseWeight, n, start);
#else
    const quint64 key = minKey(counts, inverseWeight, n, start);
#endif
    if (key == std::numeric_limits<quint64>::max())
        return -1;
    return qsizetype((key + quint64(start)) & quint64(PositionBits));
}

qsizetype leastLoadedPortable(const std::atomic<int> *counts,
                              const double *inverseWeight,
                              qsizetype n,
                              qsizetype start)
{
    const quint64 key = minKey(counts, inverseWeight, n, start);
    if (key == std::numeric_limits<quint64>::max())
        return -1;
    return qsizetype((key + quint64(start)) & quint64(PositionBits));
}

} // namespace Meridian::Internal
