#include "mm/frame_allocator.hpp"

#include <keel/c/libc.hpp>
#include "panic.hpp"

namespace keel::mm {

namespace {
FrameAllocator g_frames;
}

FrameAllocator& frames() {
    return g_frames;
}

void FrameAllocator::init(const boot::BootInfo& info) {
    ranges_ = info.memory_ranges;
    range_count_ = info.memory_range_count;
    uint64_t top = 0;
    for (uint32_t i = 0; i < info.memory_range_count; ++i) {
        const boot::MemoryRange& r = info.memory_ranges[i];
        if (r.base + r.size > top)
            top = r.base + r.size;
    }
    if (top > info.direct_map_size)
        top = info.direct_map_size;  // unreachable beyond that
    frame_count_ = top / kPageSize;
    const uint64_t words = (frame_count_ + 63) / 64;
    const uint64_t bitmap_bytes = (words * 8 + kPageSize - 1) & ~(kPageSize - 1);

    PhysAddr bitmap_phys{0};
    for (uint32_t i = 0; i < info.memory_range_count; ++i) {
        if (info.memory_ranges[i].size >= bitmap_bytes && info.memory_ranges[i].base < top) {
            bitmap_phys = PhysAddr{info.memory_ranges[i].base};
            break;
        }
    }
    if (bitmap_phys.value == 0)
        panic("no usable range can hold the frame bitmap (%lu bytes)", bitmap_bytes);
    bitmap_ = direct_map<uint64_t>(bitmap_phys);
    memset(bitmap_, 0xff, words * 8);

    for (uint32_t i = 0; i < info.memory_range_count; ++i) {
        const boot::MemoryRange& r = info.memory_ranges[i];
        for (uint64_t f = r.base / kPageSize; f < (r.base + r.size) / kPageSize && f < frame_count_;
             ++f) {
            bitmap_[f / 64] &= ~(1ull << (f % 64));
            ++managed_;
        }
    }
    for (uint64_t off = 0; off < bitmap_bytes; off += kPageSize) {
        const uint64_t f = (bitmap_phys.value + off) / kPageSize;
        bitmap_[f / 64] |= 1ull << (f % 64);
    }
    free_ = managed_ - bitmap_bytes / kPageSize;
}

std::optional<PhysAddr> FrameAllocator::alloc() {
    LockGuard guard(lock_);
    const uint64_t words = (frame_count_ + 63) / 64;
    for (uint64_t n = 0; n < words; ++n) {
        const uint64_t w = (hint_ + n) % words;
        if (bitmap_[w] == ~0ull)
            continue;
        const uint64_t bit = static_cast<uint64_t>(__builtin_ctzll(~bitmap_[w]));
        const uint64_t frame = w * 64 + bit;
        if (frame >= frame_count_)
            continue;
        bitmap_[w] |= 1ull << bit;
        --free_;
        hint_ = w;
        return PhysAddr{frame * kPageSize};
    }
    return std::nullopt;
}

std::optional<PhysAddr> FrameAllocator::alloc_zeroed() {
    auto frame = alloc();
    if (frame) {
        // One string store of 512 words: keel::c::fill is a byte loop, 8 times the stores
        // (a server's start allocates megabytes of zeroed pages: issue 21's restart time).
        void* d = direct_map(*frame);
        uint64_t n = kPageSize / 8;
        asm volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
    }
    return frame;
}

std::optional<PhysAddr> FrameAllocator::alloc_contiguous(uint64_t count, uint64_t limit) {
    if (count == 0)
        return std::nullopt;
    std::optional<PhysAddr> found;
    {
        LockGuard guard(lock_);
        const uint64_t end = limit / kPageSize < frame_count_ ? limit / kPageSize : frame_count_;
        uint64_t run = 0;
        for (uint64_t f = 0; f < end; ++f) {
            if (test(f)) {
                run = 0;
                if ((f % 64) == 0 && f + 64 <= end && bitmap_[f / 64] == ~0ull)
                    f += 63;  // a whole used word
                continue;
            }
            if (++run < count)
                continue;
            const uint64_t first = f + 1 - count;
            for (uint64_t g = first; g <= f; ++g)
                bitmap_[g / 64] |= 1ull << (g % 64);
            free_ -= count;
            found = PhysAddr{first * kPageSize};
            break;
        }
    }
    return found;  // not zeroed: up to 4 MiB, which the caller zeroes between preemption points
}

void FrameAllocator::free(PhysAddr frame) {
    LockGuard guard(lock_);
    const uint64_t f = frame.value / kPageSize;
    if (frame.value % kPageSize != 0 || f >= frame_count_ || !in_usable_ram(frame)) {
        panic("frame allocator: freeing 0x%lx, which it does not manage", frame.value);
    }
    if (!test(f))
        panic("frame allocator: double free of frame 0x%lx", frame.value);
    bitmap_[f / 64] &= ~(1ull << (f % 64));
    ++free_;
}

bool FrameAllocator::in_usable_ram(PhysAddr frame) const {
    for (uint32_t i = 0; i < range_count_; ++i) {
        if (frame.value >= ranges_[i].base && frame.value - ranges_[i].base < ranges_[i].size) {
            return true;
        }
    }
    return false;
}

bool FrameAllocator::is_free(PhysAddr frame) const {
    const uint64_t f = frame.value / kPageSize;
    return f < frame_count_ && !test(f);
}

}  // namespace keel::mm
