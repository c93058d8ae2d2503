// Physical frame allocator: one bit per 4 KiB frame below the highest usable address, built
// from the BootInfo memory map (usable RAM only). The bitmap itself lives in the first usable
// range large enough to hold it and is marked used.
#pragma once

#include <optional>

#include "lib/spin_lock.hpp"
#include "mm/address.hpp"

namespace keel::mm {

class FrameAllocator {
  public:
    // Adopts every range of info's memory map. Called once, before any allocation.
    void init(const boot::BootInfo& info);

    // One frame, contents unspecified. O(frames / 64) worst case, O(1) typical (a moving
    // hint). Returns nullopt when memory is exhausted. Any context; takes the allocator lock.
    std::optional<PhysAddr> alloc();
    // Like alloc(), zero-filled through the direct map.
    std::optional<PhysAddr> alloc_zeroed();
    // `count` physically contiguous frames, the first at `base` (the lowest free run found),
    // all below `limit`; NOT zero-filled (the caller zeroes them: obj/memory.cpp's create_dma,
    // page by page between preemption points). For DMA memory. O(frames) per call: rare,
    // driver set-up.
    std::optional<PhysAddr> alloc_contiguous(uint64_t count, uint64_t limit);
    // Returns a frame from alloc(). Panics on a double free or a frame outside usable RAM:
    // both are kernel bugs.
    void free(PhysAddr frame);

    bool is_free(PhysAddr frame) const;
    uint64_t free_frames() const { return free_; }
    uint64_t managed_frames() const { return managed_; }

  private:
    bool test(uint64_t frame) const { return (bitmap_[frame / 64] >> (frame % 64)) & 1; }
    bool in_usable_ram(PhysAddr frame) const;

    SpinLock lock_{"frames", LockRank::kFrames};
    const boot::MemoryRange* ranges_ = nullptr;  // BootInfo's usable map (stays valid)
    uint32_t range_count_ = 0;
    uint64_t* bitmap_ = nullptr;  // bit set = used (or not RAM)
    uint64_t frame_count_ = 0;    // frames covered by the bitmap
    uint64_t managed_ = 0;
    uint64_t free_ = 0;
    uint64_t hint_ = 0;  // word index where the next search starts
};

FrameAllocator& frames();

}  // namespace keel::mm
