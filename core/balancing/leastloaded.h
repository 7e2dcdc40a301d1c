#pragma once

#include <QtGlobal>

#include <atomic>

namespace Meridian::Internal {

// least_connections' scan: the position k in [0, n) with the smallest counts[k] ×
// inverseWeight[k], and among equal ones the first in cyclic order from `start` (so that a
// rotating start spreads ties). Scores are compared to 36 significant bits (ties closer than
// 1.5e-11 relative count as ties). Positions whose inverse weight is +infinity never win; -1
// when every position is such.
//
// Vectorised: both arrays must be readable up to n rounded up to a multiple of 16 (pad the
// inverse weights with +infinity), and the counts must be >= 0. The counts are read with plain
// vector loads, not one relaxed atomic load each: an aligned 4-byte counter never tears, and a
// value a moment old is what a scan of changing counters gets either way. n is at most 65,536.
qsizetype leastLoaded(const std::atomic<int> *counts,
                      const double *inverseWeight,
                      qsizetype n,
                      qsizetype start);
// The same without AVX2, whatever the CPU has (for tests).
qsizetype leastLoadedPortable(const std::atomic<int> *counts,
                              const double *inverseWeight,
                              qsizetype n,
                              qsizetype start);

} // namespace Meridian::Internal
