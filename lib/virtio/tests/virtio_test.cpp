// lib/virtio on the host: capability layouts like QEMU's (and broken ones), feature
// negotiation, the split virtqueue against a device played by the test (in order, out of
// order, and lying in each way the queue must catch), and the block request arithmetic.
#include <gtest/gtest.h>
#include <keel/virtio/blk.hpp>
#include <keel/virtio/pci.hpp>
#include <keel/virtio/virtqueue.hpp>

#include <cstring>
#include <vector>

#include "fake_device.hpp"

namespace keel::virtio {
namespace {

// A configuration space with a capability list; caps appended in order.
struct Config {
    uint8_t bytes[256] = {};
    uint8_t next_at = 0x40;
    uint8_t* last_next = &bytes[0x34];
    Config() { bytes[6] = 0x10; }  // status: capability list present
    uint8_t add(uint8_t id, uint8_t length) {
        const uint8_t at = next_at;
        bytes[at] = id;
        bytes[at + 2] = length;
        *last_next = at;
        last_next = &bytes[at + 1];
        next_at = static_cast<uint8_t>(at + ((length + 3) & ~3));
        return at;
    }
    void put32(uint32_t at, uint32_t v) { std::memcpy(bytes + at, &v, 4); }
    uint8_t virtio(uint8_t type, uint8_t bar, uint32_t offset, uint32_t length,
                   uint32_t multiplier = 4) {
        const uint8_t at = add(0x09, type == kCapNotify ? 20 : 16);
        bytes[at + 3] = type;
        bytes[at + 4] = bar;
        put32(at + 8, offset);
        put32(at + 12, length);
        if (type == kCapNotify)
            put32(at + 16, multiplier);
        return at;
    }
};

constexpr uint64_t kBars[6] = {0, 4096, 0, 0, 16384, 0};  // BAR1 MSI-X, BAR4 the registers

// What QEMU's modern virtio-pci lays out: MSI-X, then common, ISR, device, notify in BAR4.
Config qemu_like() {
    Config c;
    c.add(0x11, 12);
    c.virtio(kCapCommon, 4, 0x0000, 0x1000);
    c.virtio(kCapIsr, 4, 0x1000, 0x1000);
    c.virtio(kCapDevice, 4, 0x2000, 0x1000);
    c.virtio(kCapNotify, 4, 0x3000, 0x1000, 4);
    return c;
}

TEST(Layout, QemuLike) {
    Config c = qemu_like();
    Layout l{};
    ASSERT_EQ(find_layout(c.bytes, sizeof c.bytes, kBars, &l), nullptr);
    EXPECT_EQ(l.common.bar, 4);
    EXPECT_EQ(l.common.offset, 0u);
    EXPECT_EQ(l.isr.offset, 0x1000u);
    EXPECT_TRUE(l.has_device);
    EXPECT_EQ(l.device.offset, 0x2000u);
    EXPECT_EQ(l.notify.offset, 0x3000u);
    EXPECT_EQ(l.notify_multiplier, 4u);
    uint32_t off = 0;
    ASSERT_EQ(notify_offset(l, 3, &off), nullptr);
    EXPECT_EQ(off, 12u);
    EXPECT_NE(notify_offset(l, 1024, &off), nullptr);  // 4096 + 2 > 4096
    EXPECT_EQ(notify_offset(l, 1023, &off), nullptr);  // 4092 + 2
}

TEST(Layout, LegacyOnlyAndBrokenLists) {
    Layout l{};
    Config none;
    none.add(0x11, 12);
    EXPECT_STREQ(find_layout(none.bytes, 256, kBars, &l),
                 "no usable common configuration capability (a legacy-only device?)");
    Config nolist;
    nolist.bytes[6] = 0;
    EXPECT_STREQ(find_layout(nolist.bytes, 256, kBars, &l), "no capability list");
    Config loop = qemu_like();
    loop.bytes[0x40 + 1] = 0x40;  // the first capability points at itself
    EXPECT_STREQ(find_layout(loop.bytes, 256, kBars, &l), "capability list loops");
    Config header = qemu_like();
    header.bytes[0x34] = 0x10;
    EXPECT_STREQ(find_layout(header.bytes, 256, kBars, &l),
                 "capability pointer outside the capability area");
    Config past = qemu_like();
    past.bytes[0x34] = 0xfe;  // masked to 0xfc: a 4-byte header fits, nothing else
    EXPECT_NE(find_layout(past.bytes, 256, kBars, &l), nullptr);
    EXPECT_NE(find_layout(past.bytes, 255, kBars, &l), nullptr);
}

TEST(Layout, RegionsMustFitTheirBar) {
    Layout l{};
    // A common region running past BAR4's end, one in an I/O BAR, one with a reserved BAR:
    // each skipped; a good one later is taken.
    Config c;
    c.virtio(kCapCommon, 4, 16384 - 8, 56);
    c.virtio(kCapCommon, 0, 0, 56);
    c.virtio(kCapCommon, 7, 0, 56);
    c.virtio(kCapCommon, 4, 0xffffffff, 0xffffffff);  // overflow in 32 bits
    c.virtio(kCapCommon, 4, 0, 40);                   // too short
    c.virtio(kCapIsr, 4, 0x1000, 1);
    c.virtio(kCapNotify, 4, 0x3000, 2, 0);
    EXPECT_STREQ(find_layout(c.bytes, 256, kBars, &l),
                 "no usable common configuration capability (a legacy-only device?)");
    c.virtio(kCapCommon, 4, 0x100, 56);
    ASSERT_EQ(find_layout(c.bytes, 256, kBars, &l), nullptr);
    EXPECT_EQ(l.common.offset, 0x100u);
    EXPECT_FALSE(l.has_device);
    uint32_t off = 1;
    EXPECT_EQ(notify_offset(l, 500, &off), nullptr);  // multiplier 0: every queue at 0
    EXPECT_EQ(off, 0u);
    // A notify capability shorter than 20 bytes is not one.
    Config shortn;
    shortn.virtio(kCapCommon, 4, 0, 56);
    shortn.virtio(kCapIsr, 4, 0x1000, 1);
    const uint8_t at = shortn.add(0x09, 16);
    shortn.bytes[at + 3] = kCapNotify;
    shortn.bytes[at + 4] = 4;
    shortn.put32(at + 12, 4);
    EXPECT_STREQ(find_layout(shortn.bytes, 256, kBars, &l), "no usable notify capability");
}

TEST(Features, Negotiate) {
    uint64_t accepted = 1;
    const uint64_t blk = blk::kFeatureSegMax | blk::kFeatureFlush | blk::kFeatureBlockSize;
    EXPECT_STREQ(negotiate(blk, kFeatureVersion1, blk, &accepted),
                 "device does not offer VIRTIO_F_VERSION_1 (legacy only)");
    EXPECT_EQ(accepted, 0u);
    const uint64_t offered = kFeatureVersion1 | blk::kFeatureSegMax | kFeatureEventIdx |
                             kFeatureIndirectDesc | (1ull << 40);
    ASSERT_EQ(negotiate(offered, kFeatureVersion1, blk, &accepted), nullptr);
    EXPECT_EQ(accepted, kFeatureVersion1 | blk::kFeatureSegMax);
    EXPECT_STREQ(negotiate(kFeatureVersion1, kFeatureVersion1 | blk::kFeatureFlush, 0, &accepted),
                 "device lacks a required feature");
}

// The three areas of a queue, as a device would see them.
struct Rings {
    explicit Rings(uint16_t n)
        : size(n),
          desc(descriptor_table_size(n) / 8 + 1),
          avail(available_ring_size(n) / 2 + 1),
          used(used_ring_size(n) / 4 + 1) {}
    uint16_t size;
    std::vector<uint64_t> desc;
    std::vector<uint16_t> avail;
    std::vector<uint32_t> used;
    Descriptor d(uint16_t i) const {
        Descriptor out;
        std::memcpy(&out, reinterpret_cast<const uint8_t*>(desc.data()) + 16 * i, 16);
        return out;
    }
    uint16_t avail_idx() const { return avail[1]; }
    uint16_t avail_ring(uint16_t i) const { return avail[2 + (i & (size - 1))]; }
    // The device completes a chain: one used element and the index moved.
    void complete(uint32_t id, uint32_t length) {
        testing::device_completes(used, size, id, length);
    }
    void set_used_idx(uint16_t v) { reinterpret_cast<uint16_t*>(used.data())[1] = v; }
    void set_used_flags(uint16_t v) { reinterpret_cast<uint16_t*>(used.data())[0] = v; }
    bool init(SplitQueue& q) { return q.init(size, desc.data(), avail.data(), used.data()); }
};

TEST(SplitQueue, InitRefusesBadSizesAndAreas) {
    Rings r(8);
    SplitQueue q;
    EXPECT_FALSE(q.init(0, r.desc.data(), r.avail.data(), r.used.data()));
    EXPECT_FALSE(q.init(6, r.desc.data(), r.avail.data(), r.used.data()));
    EXPECT_FALSE(q.init(512, r.desc.data(), r.avail.data(), r.used.data()));
    EXPECT_FALSE(
        q.init(8, reinterpret_cast<uint8_t*>(r.desc.data()) + 8, r.avail.data(), r.used.data()));
    EXPECT_FALSE(
        q.init(8, r.desc.data(), reinterpret_cast<uint8_t*>(r.avail.data()) + 1, r.used.data()));
    EXPECT_FALSE(q.init(8, r.desc.data(), r.avail.data(), nullptr));
    Segment s{0x1000, 16, false};
    EXPECT_FALSE(q.add(&s, 1, 0));
    ASSERT_TRUE(r.init(q));
    EXPECT_EQ(q.free_descriptors(), 8);
}

TEST(SplitQueue, ChainsAreWrittenPublishedAndReaped) {
    Rings r(8);
    SplitQueue q;
    ASSERT_TRUE(r.init(q));
    const Segment read[] = {{0x1000, 16, false}, {0x2000, 4096, true}, {0x3000, 1, true}};
    uint16_t h1 = 99, h2 = 99;
    ASSERT_TRUE(q.add(read, 3, 111, &h1));
    ASSERT_TRUE(q.add(read, 2, 222, &h2));
    EXPECT_EQ(q.free_descriptors(), 3);
    EXPECT_EQ(r.avail_idx(), 0);  // nothing shown before publish
    EXPECT_EQ(q.publish(), 2);
    EXPECT_EQ(q.publish(), 0);
    EXPECT_EQ(r.avail_idx(), 2);
    EXPECT_EQ(r.avail_ring(0), h1);
    EXPECT_EQ(r.avail_ring(1), h2);
    // The first chain as the device walks it.
    Descriptor d = r.d(h1);
    EXPECT_EQ(d.address, 0x1000u);
    EXPECT_EQ(d.length, 16u);
    EXPECT_EQ(d.flags, kDescNext);
    d = r.d(d.next);
    EXPECT_EQ(d.address, 0x2000u);
    EXPECT_EQ(d.flags, kDescNext | kDescWrite);
    d = r.d(d.next);
    EXPECT_EQ(d.address, 0x3000u);
    EXPECT_EQ(d.flags, kDescWrite);
    // Out of order completion.
    Completion c{};
    EXPECT_EQ(q.reap(&c), SplitQueue::Reaped::kNothing);
    r.complete(h2, 4096);
    r.complete(h1, 4097);
    ASSERT_EQ(q.reap(&c), SplitQueue::Reaped::kCompletion);
    EXPECT_EQ(c.token, 222u);
    EXPECT_EQ(c.length, 4096u);
    ASSERT_EQ(q.reap(&c), SplitQueue::Reaped::kCompletion);
    EXPECT_EQ(c.token, 111u);
    EXPECT_EQ(c.length, 4097u);
    EXPECT_EQ(q.reap(&c), SplitQueue::Reaped::kNothing);
    EXPECT_EQ(q.free_descriptors(), 8);
    EXPECT_EQ(q.in_flight(), 0);
    // Many rounds through the wrap of both rings and the 16-bit indices.
    for (int round = 0; round < 70000; ++round) {
        uint16_t h = 0;
        ASSERT_TRUE(q.add(read, 3, static_cast<uint64_t>(round), &h));
        ASSERT_EQ(q.publish(), 1);
        r.complete(h, 1);
        ASSERT_EQ(q.reap(&c), SplitQueue::Reaped::kCompletion);
        ASSERT_EQ(c.token, static_cast<uint64_t>(round));
    }
    EXPECT_EQ(q.free_descriptors(), 8);
}

TEST(SplitQueue, AddValidatesThenCommits) {
    Rings r(4);
    SplitQueue q;
    ASSERT_TRUE(r.init(q));
    const Segment bad_order[] = {{0x1000, 1, true}, {0x2000, 1, false}};
    EXPECT_FALSE(q.add(bad_order, 2, 0));
    const Segment empty[] = {{0x1000, 0, false}};
    EXPECT_FALSE(q.add(empty, 1, 0));
    EXPECT_FALSE(q.add(empty, 0, 0));
    const Segment huge[] = {{0, 0xffffffff, true}, {0, 2, true}};
    EXPECT_FALSE(q.add(huge, 2, 0));
    const Segment five[5] = {
        {1, 1, false}, {1, 1, false}, {1, 1, false}, {1, 1, false}, {1, 1, false}};
    EXPECT_FALSE(q.add(five, 5, 0));
    EXPECT_EQ(q.free_descriptors(), 4);
    EXPECT_EQ(q.in_flight(), 0);
    EXPECT_TRUE(q.add(five, 4, 0));
    EXPECT_FALSE(q.add(five, 1, 0));
}

// Each lie of the device: reported, nothing consumed, the queue broken from then on.
TEST(SplitQueue, UntrustedUsedRing) {
    const Segment seg[] = {{0x1000, 16, false}, {0x2000, 512, true}, {0x3000, 1, true}};
    struct Case {
        const char* what;
        void (*lie)(Rings&, uint16_t head, uint16_t unpublished);
        Fault fault;
    };
    const Case cases[] = {
        {"index jump", [](Rings& r, uint16_t, uint16_t) { r.set_used_idx(3); }, Fault::kIndexJump},
        {"index backwards", [](Rings& r, uint16_t, uint16_t) { r.set_used_idx(0xffff); },
         Fault::kIndexJump},
        {"id out of range", [](Rings& r, uint16_t, uint16_t) { r.complete(8, 0); },
         Fault::kIdOutOfRange},
        {"huge id", [](Rings& r, uint16_t, uint16_t) { r.complete(0x80000000u, 0); },
         Fault::kIdOutOfRange},
        {"id of a middle descriptor",
         [](Rings& r, uint16_t head, uint16_t) { r.complete(r.d(head).next, 0); },
         Fault::kNotInFlight},
        {"id of an unpublished chain",
         [](Rings& r, uint16_t, uint16_t unpublished) { r.complete(unpublished, 0); },
         Fault::kNotInFlight},
        {"length too large", [](Rings& r, uint16_t head, uint16_t) { r.complete(head, 514); },
         Fault::kLengthTooLarge},
    };
    for (const Case& k : cases) {
        SCOPED_TRACE(k.what);
        Rings r(8);
        SplitQueue q;
        ASSERT_TRUE(r.init(q));
        uint16_t head = 0, unpublished = 0;
        ASSERT_TRUE(q.add(seg, 3, 1, &head));
        ASSERT_EQ(q.publish(), 1);
        ASSERT_TRUE(q.add(seg, 3, 2, &unpublished));
        k.lie(r, head, unpublished);
        Completion c{};
        EXPECT_EQ(q.reap(&c), SplitQueue::Reaped::kFault);
        EXPECT_EQ(q.fault(), k.fault);
        EXPECT_TRUE(q.broken());
        EXPECT_EQ(q.free_descriptors(), 2);
        EXPECT_EQ(q.in_flight(), 2);
        // Still broken even once the ring looks right again.
        r.set_used_idx(0);
        r.complete(head, 0);
        EXPECT_EQ(q.reap(&c), SplitQueue::Reaped::kFault);
        EXPECT_FALSE(q.add(seg, 1, 3));
        // A re-init starts clean.
        ASSERT_TRUE(r.init(q));
        EXPECT_FALSE(q.broken());
        EXPECT_EQ(q.free_descriptors(), 8);
    }
    // A chain completed twice: the second is not in flight.
    Rings r(8);
    SplitQueue q;
    ASSERT_TRUE(r.init(q));
    uint16_t a = 0, b = 0;
    ASSERT_TRUE(q.add(seg, 3, 1, &a));
    ASSERT_TRUE(q.add(seg, 3, 2, &b));
    ASSERT_EQ(q.publish(), 2);
    r.complete(a, 1);
    r.complete(a, 1);
    Completion c{};
    EXPECT_EQ(q.reap(&c), SplitQueue::Reaped::kCompletion);
    EXPECT_EQ(q.reap(&c), SplitQueue::Reaped::kFault);
    EXPECT_EQ(q.fault(), Fault::kNotInFlight);
    EXPECT_STREQ(fault_text(q.fault()), "used id is not a chain in flight");
}

TEST(SplitQueue, InterruptHint) {
    Rings r(4);
    SplitQueue q;
    ASSERT_TRUE(r.init(q));
    q.set_interrupts(false);
    EXPECT_EQ(r.avail[0], kAvailNoInterrupt);
    q.set_interrupts(true);
    EXPECT_EQ(r.avail[0], 0);
}

// The device's "do not notify me" flag is followed, and only that bit of the untrusted flags
// word counts; a broken or uninitialised queue never asks for a notification.
TEST(SplitQueue, NotifySuppression) {
    SplitQueue idle;
    EXPECT_FALSE(idle.notify_wanted());
    Rings r(4);
    SplitQueue q;
    ASSERT_TRUE(r.init(q));
    const Segment s{0x1000, 64, false};
    ASSERT_TRUE(q.add(&s, 1, 7));
    EXPECT_EQ(q.publish(), 1);
    EXPECT_TRUE(q.notify_wanted());
    r.set_used_flags(kUsedNoNotify);
    EXPECT_FALSE(q.notify_wanted());
    r.set_used_flags(0xfffe);  // every other bit: still wants one
    EXPECT_TRUE(q.notify_wanted());
    r.set_used_flags(0xffff);
    EXPECT_FALSE(q.notify_wanted());
    r.set_used_flags(0);
    r.set_used_idx(9);  // more completions than in flight: the queue breaks
    Completion c{};
    EXPECT_EQ(q.reap(&c), SplitQueue::Reaped::kFault);
    EXPECT_FALSE(q.notify_wanted());
}

TEST(Blk, Geometry) {
    blk::Geometry g{};
    ASSERT_EQ(blk::check_geometry(0, 2048, 0, 0, 0, &g), nullptr);
    EXPECT_EQ(g.capacity_bytes, 1u << 20);
    EXPECT_EQ(g.block_size, 512u);
    EXPECT_EQ(g.size_max, UINT32_MAX);
    EXPECT_EQ(g.seg_max, UINT32_MAX);
    EXPECT_FALSE(g.read_only);
    const uint64_t all =
        blk::kFeatureBlockSize | blk::kFeatureSizeMax | blk::kFeatureSegMax | blk::kFeatureReadOnly;
    ASSERT_EQ(blk::check_geometry(all, 2049, 4096, 8, 4096, &g), nullptr);
    EXPECT_EQ(g.block_size, 4096u);
    EXPECT_EQ(g.capacity_bytes, 1u << 20);  // the odd sector cut off
    EXPECT_TRUE(g.read_only);
    ASSERT_EQ(blk::check_geometry(blk::kFeatureBlockSize, 8, 0, 0, 3000, &g), nullptr);
    EXPECT_EQ(g.block_size, 512u);  // nonsense block size: sectors
    EXPECT_NE(blk::check_geometry(blk::kFeatureSizeMax, 8, 100, 0, 0, &g), nullptr);
    EXPECT_NE(blk::check_geometry(blk::kFeatureSegMax, 8, 0, 0, 0, &g), nullptr);
    EXPECT_NE(blk::check_geometry(0, UINT64_MAX / 256, 0, 0, 0, &g), nullptr);
}

TEST(Blk, Requests) {
    blk::Geometry g{};
    ASSERT_EQ(blk::check_geometry(0, 2048, 0, 0, 0, &g), nullptr);
    using blk::Check;
    EXPECT_EQ(blk::check_request(g, 0, 512), Check::kOk);
    EXPECT_EQ(blk::check_request(g, (1 << 20) - 512, 512), Check::kOk);
    EXPECT_EQ(blk::check_request(g, 0, 1 << 20), Check::kOk);
    EXPECT_EQ(blk::check_request(g, 0, 0), Check::kInvalid);
    EXPECT_EQ(blk::check_request(g, 1, 512), Check::kInvalid);
    EXPECT_EQ(blk::check_request(g, 0, 513), Check::kInvalid);
    EXPECT_EQ(blk::check_request(g, 1 << 20, 512), Check::kOutOfRange);
    EXPECT_EQ(blk::check_request(g, (1 << 20) - 512, 1024), Check::kOutOfRange);
    EXPECT_EQ(blk::check_request(g, UINT64_MAX - 511, 512), Check::kOutOfRange);
    EXPECT_EQ(blk::check_request(g, 512, UINT64_MAX - 511), Check::kOutOfRange);
    EXPECT_EQ(blk::max_request_bytes(g, 65536), 65536u);
    ASSERT_EQ(
        blk::check_geometry(blk::kFeatureSizeMax | blk::kFeatureSegMax, 2048, 4096 + 100, 3, 0, &g),
        nullptr);
    EXPECT_EQ(blk::max_request_bytes(g, 65536), 12288u);  // 3 * 4196 = 12588, whole blocks
    ASSERT_EQ(blk::check_geometry(blk::kFeatureSizeMax | blk::kFeatureSegMax, 2048, 512, 1, 0, &g),
              nullptr);
    EXPECT_EQ(blk::max_request_bytes(g, 65536), 512u);
    EXPECT_EQ(blk::max_request_bytes(g, 100), 512u);  // at least a block
}

}  // namespace
}  // namespace keel::virtio
