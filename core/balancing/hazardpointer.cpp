#include "core/balancing/hazardpointer.h"

#include <QtGlobal>

#include <mutex>

#ifdef Q_OS_LINUX
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace Meridian::Internal {

std::atomic<bool> HazardPointer::s_asymmetric{false};

namespace {

constexpr int SlotCount = 512;

struct alignas(64) Slot
{
    std::atomic<const void *> pointer{nullptr};
    std::atomic<bool> taken{false};
};

Slot g_slots[SlotCount];
std::atomic<int> g_highWater{0}; // slots at or above this index have never been taken
std::once_flag g_fenceChosen;

struct ThreadSlot
{
    Slot *slot = nullptr;

    ThreadSlot()
    {
        for (int i = 0; i < SlotCount; ++i) {
            bool expected = false;
            if (g_slots[i].taken.compare_exchange_strong(expected, true)) {
                slot = &g_slots[i];
                int high = g_highWater.load();
                while (high < i + 1 && !g_highWater.compare_exchange_weak(high, i + 1)) {
                }
                return;
            }
        }
    }
    ~ThreadSlot()
    {
        if (slot) {
            slot->pointer.store(nullptr);
            slot->taken.store(false);
        }
    }
};

} // namespace

void HazardPointer::chooseFence()
{
    std::call_once(g_fenceChosen, [] {
#ifdef Q_OS_LINUX
        const long supported = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
        if (supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0
            && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
            s_asymmetric.store(true);
        }
#endif
    });
}

std::atomic<const void *> *HazardPointer::threadSlot()
{
    thread_local ThreadSlot slot = [] {
        chooseFence(); // before this thread publishes anything
        return ThreadSlot();
    }();
    return slot.slot ? &slot.slot->pointer : nullptr;
}

bool HazardPointer::retireFence()
{
    chooseFence();
    if (!s_asymmetric.load(std::memory_order_relaxed)) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        return true;
    }
#ifdef Q_OS_LINUX
    // Every thread of the process that is running now executes a full barrier before this
    // returns (threads not running have been switched out, which is one): a reader's plain
    // publication is then either visible to the scan that follows, or its re-read of the shared
    // pointer comes after the writer's swap and sees the new one.
    return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
    return false;
#endif
}

bool HazardPointer::isProtected(const void *pointer)
{
    const int high = g_highWater.load();
    for (int i = 0; i < high; ++i) {
        if (g_slots[i].pointer.load() == pointer)
            return true;
    }
    return false;
}

} // namespace Meridian::Internal
