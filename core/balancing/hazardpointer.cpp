#include "core/balancing/hazardpointer.h"

namespace Meridian::Internal {

namespace {

constexpr int SlotCount = 512;

struct alignas(64) Slot
{
    std::atomic<const void *> pointer{nullptr};
    std::atomic<bool> taken{false};
};

Slot g_slots[SlotCount];
std::atomic<int> g_highWater{0}; // slots at or above this index have never been taken

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

std::atomic<const void *> *HazardPointer::threadSlot()
{
    thread_local ThreadSlot slot;
    return slot.slot ? &slot.slot->pointer : nullptr;
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
