// Layout: where each part of a queue lives in its shared region, computed from the geometry
// alone. Each side computes it from its own copy of the geometry; neither trusts offsets the
// other wrote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>

namespace keel::ipc {

struct Geometry {
    std::uint32_t capacity = 0;      // entries per ring: a power of two in [1, abi::kMaxCapacity]
    std::uint32_t buffer_count = 0;  // owned buffers in the table: [0, abi::kMaxBuffers]
    std::uint32_t buffer_size = 0;   // bytes per buffer: a multiple of 64, at most 1 GiB
};

inline constexpr std::size_t kPageSize = 4096;

struct Layout {
    Geometry geometry;
    std::uint32_t sq_entries = 0;  // byte offsets from the region's start
    std::uint32_t cq_entries = 0;
    std::uint32_t buffers = 0;  // page aligned, so a transport can map the buffers alone
    std::uint64_t total_size = 0;

    // Cost: O(1). Errors: InvalidArgument for a geometry outside the limits above.
    static Result<Layout> compute(const Geometry& g) {
        bool pow2 = g.capacity != 0 && (g.capacity & (g.capacity - 1)) == 0;
        if (!pow2 || g.capacity > abi::kMaxCapacity || g.buffer_count > abi::kMaxBuffers ||
            g.buffer_size % 64 != 0 || g.buffer_size > (1u << 30) ||
            (g.buffer_count != 0 && g.buffer_size == 0)) {
            return fail(Error::InvalidArgument);
        }
        Layout l;
        l.geometry = g;
        l.sq_entries = abi::kSqEntriesOffset;
        l.cq_entries = l.sq_entries + g.capacity * std::uint32_t(sizeof(abi::Submission));
        std::uint64_t end = l.cq_entries + std::uint64_t(g.capacity) * sizeof(abi::Completion);
        end = (end + kPageSize - 1) & ~std::uint64_t(kPageSize - 1);
        l.buffers = std::uint32_t(end);
        l.total_size = end + std::uint64_t(g.buffer_count) * g.buffer_size;
        return l;
    }
};

// Typed pointers into a region whose size and alignment were checked against a Layout.
struct QueueView {
    abi::QueueHeader* header = nullptr;
    abi::RingHeader* sq = nullptr;
    abi::RingHeader* cq = nullptr;
    abi::Submission* sq_entries = nullptr;
    abi::Completion* cq_entries = nullptr;
    std::byte* buffers = nullptr;

    // Cost: O(1). Errors: BadLayout if the region is too small or not 64-byte aligned.
    static Result<QueueView> map(std::span<std::byte> region, const Layout& l) {
        auto base = reinterpret_cast<std::uintptr_t>(region.data());
        if (base % abi::kCacheLine != 0 || region.size() < l.total_size) {
            return fail(Error::BadLayout);
        }
        QueueView v;
        std::byte* p = region.data();
        v.header = reinterpret_cast<abi::QueueHeader*>(p);
        v.sq = reinterpret_cast<abi::RingHeader*>(p + abi::kSqHeaderOffset);
        v.cq = reinterpret_cast<abi::RingHeader*>(p + abi::kCqHeaderOffset);
        v.sq_entries = reinterpret_cast<abi::Submission*>(p + l.sq_entries);
        v.cq_entries = reinterpret_cast<abi::Completion*>(p + l.cq_entries);
        v.buffers = p + l.buffers;
        return v;
    }
};

}  // namespace keel::ipc
