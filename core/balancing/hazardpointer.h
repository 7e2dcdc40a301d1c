#pragma once

#include <atomic>

namespace Meridian::Internal {

// Hazard pointers (Michael, 2004) for the balancer's lock-free pick path: a reader publishes
// the snapshot it is about to read in its thread's slot; a writer that has swapped a snapshot
// out frees it only once no slot holds it. One process-wide set of slots; a thread claims one
// on first use and gives it back when it exits.
class HazardPointer
{
public:
    // This thread's slot, or nullptr when all slots are taken (the caller then uses a slower,
    // locked path).
    static std::atomic<const void *> *threadSlot();
    // Whether any thread's slot holds `pointer` right now.
    static bool isProtected(const void *pointer);
};

} // namespace Meridian::Internal
