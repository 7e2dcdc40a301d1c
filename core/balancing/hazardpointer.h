#pragma once

#include <atomic>

namespace Meridian::Internal {

// Hazard pointers (Michael, 2004) for the balancer's lock-free pick path: a reader publishes
// the snapshot it is about to read in its thread's slot; a writer that has swapped a snapshot
// out frees it only once no slot holds it. One process-wide set of slots; a thread claims one
// on first use and gives it back when it exits.
//
// The reader's publication must be ordered before its re-read of the shared pointer. Where the
// kernel offers membarrier(2) (Linux ≥ 4.14) that order is paid for by the writer, as in
// folly's hazard pointers: the reader's store is plain and the writer forces a full barrier on
// every running thread of the process before it scans the slots (retireFence). Elsewhere the
// reader's store is sequentially consistent and retireFence is an ordinary fence.
class HazardPointer
{
public:
    // This thread's slot, or nullptr when all slots are taken (the caller then uses a slower,
    // locked path).
    static std::atomic<const void *> *threadSlot();
    // Publishes `pointer` in this thread's `slot` (from threadSlot()), ordered before the
    // caller's following load of the shared pointer as retireFence() requires.
    static void publish(std::atomic<const void *> *slot, const void *pointer)
    {
        if (s_asymmetric.load(std::memory_order_relaxed)) {
            // Release: a writer that sees this value knows this thread's reads of what it
            // published before are over. The compiler keeps the store before the next load.
            slot->store(pointer, std::memory_order_release);
            std::atomic_signal_fence(std::memory_order_seq_cst);
        } else {
            slot->store(pointer, std::memory_order_seq_cst);
        }
    }
    // A writer calls this after unlinking a pointer and before isProtected(); false when the
    // barrier could not be made, and then nothing may be freed this time.
    static bool retireFence();
    // Whether any thread's slot holds `pointer` right now.
    static bool isProtected(const void *pointer);

private:
    static void chooseFence();
    // Set once, before the first slot is handed out and before the first retireFence().
    static std::atomic<bool> s_asymmetric;
};

} // namespace Meridian::Internal
