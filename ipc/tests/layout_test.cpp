// Layout::compute (geometry limits, offsets) and QueueView::map (size and alignment checks).
#include <gtest/gtest.h>

#include <cstdint>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using test::AlignedBytes;

TEST(Layout, OffsetsFollowTheAbi) {
    for (std::uint32_t cap : {1u, 2u, 64u, abi::kMaxCapacity}) {
        auto l = Layout::compute(Geometry{cap, 3, 128});
        ASSERT_TRUE(l.ok()) << cap;
        EXPECT_EQ(l->sq_entries, abi::kSqEntriesOffset);
        EXPECT_EQ(l->cq_entries, abi::kSqEntriesOffset + cap * sizeof(abi::Submission));
        std::uint64_t cq_end = l->cq_entries + std::uint64_t(cap) * sizeof(abi::Completion);
        EXPECT_EQ(l->buffers % kPageSize, 0u);
        EXPECT_GE(l->buffers, cq_end);
        EXPECT_LT(l->buffers - cq_end, kPageSize);  // no more padding than page alignment needs
        EXPECT_EQ(l->total_size, std::uint64_t(l->buffers) + 3 * 128);
        EXPECT_EQ(l->sq_entries % abi::kCacheLine, 0u);
        EXPECT_EQ(l->cq_entries % abi::kCacheLine, 0u);
    }
    // The header and both ring headers come first, each on its own cache lines.
    EXPECT_GE(abi::kSqHeaderOffset, sizeof(abi::QueueHeader));
}

TEST(Layout, AcceptsTheLimits) {
    EXPECT_TRUE(Layout::compute(Geometry{abi::kMaxCapacity, abi::kMaxBuffers, 64}).ok());
    EXPECT_TRUE(Layout::compute(Geometry{1, 1, 1u << 30}).ok());
    auto big = Layout::compute(Geometry{1, abi::kMaxBuffers, 1u << 30});
    ASSERT_TRUE(big.ok());
    // 64 Ki buffers of 1 GiB overflow 32 bits: total_size must be computed in 64.
    EXPECT_GT(big->total_size, std::uint64_t(1) << 45);
    EXPECT_TRUE(Layout::compute(Geometry{1, 0, 0}).ok());  // no buffers at all
}

TEST(Layout, RejectsBadGeometry) {
    const Geometry bad[] = {
        {0, 1, 64},                      // capacity zero
        {3, 1, 64},                      // not a power of two
        {6, 1, 64},                      //
        {abi::kMaxCapacity * 2, 1, 64},  // above the maximum
        {0x8000'0000u, 1, 64},           //
        {4, abi::kMaxBuffers + 1, 64},   // too many buffers (kNoBuffer must stay free)
        {4, 1, 65},                      // buffer size not a multiple of 64
        {4, 1, 32},                      //
        {4, 1, (1u << 30) + 64},         // buffer above 1 GiB
        {4, 1, 0},                       // buffers of no size
    };
    for (const auto& g : bad) {
        auto l = Layout::compute(g);
        ASSERT_FALSE(l.ok()) << g.capacity << ' ' << g.buffer_count << ' ' << g.buffer_size;
        EXPECT_EQ(l.error(), Error::InvalidArgument);
    }
}

TEST(QueueView, MapsEachPartAtItsOffset) {
    auto l = Layout::compute(Geometry{8, 2, 64});
    ASSERT_TRUE(l.ok());
    AlignedBytes region(l->total_size);
    auto v = QueueView::map(region.span(), *l);
    ASSERT_TRUE(v.ok());
    auto* base = region.data();
    EXPECT_EQ(reinterpret_cast<std::byte*>(v->header), base);
    EXPECT_EQ(reinterpret_cast<std::byte*>(v->sq), base + abi::kSqHeaderOffset);
    EXPECT_EQ(reinterpret_cast<std::byte*>(v->cq), base + abi::kCqHeaderOffset);
    EXPECT_EQ(reinterpret_cast<std::byte*>(v->sq_entries), base + l->sq_entries);
    EXPECT_EQ(reinterpret_cast<std::byte*>(v->cq_entries), base + l->cq_entries);
    EXPECT_EQ(v->buffers, base + l->buffers);
}

TEST(QueueView, RejectsShortOrMisalignedRegions) {
    auto l = Layout::compute(Geometry{8, 2, 64});
    ASSERT_TRUE(l.ok());
    AlignedBytes region(l->total_size + 64);
    auto shorter = region.span().first(l->total_size - 1);
    auto r = QueueView::map(shorter, *l);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::BadLayout);
    for (std::size_t skew : {1u, 8u, 32u}) {
        auto misaligned = region.span().subspan(skew, l->total_size);
        auto m = QueueView::map(misaligned, *l);
        ASSERT_FALSE(m.ok()) << skew;
        EXPECT_EQ(m.error(), Error::BadLayout);
    }
    // 64-byte alignment is enough, and the exact size is enough.
    EXPECT_TRUE(QueueView::map(region.span().subspan(64, l->total_size), *l).ok());
    auto empty = QueueView::map(std::span<std::byte>{}, *l);
    EXPECT_FALSE(empty.ok());
}

}  // namespace
}  // namespace keel::ipc
