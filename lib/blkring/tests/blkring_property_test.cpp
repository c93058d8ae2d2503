// lib/blkring (RapidCheck): a driver that follows window() against a client that consumes
// completions at random and sometimes lies about its indices. Whatever the client writes, the
// driver never has more in flight plus unread than the completion ring holds (so it never
// overwrites an unread completion), never takes a request that was not published, and a
// faulting window takes nothing. Every request check accepts exactly what the model accepts
// (inside the disk, whole blocks, inside one buffer).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/blkring/blkring.hpp>

namespace keel::blkring {
namespace {

RC_GTEST_PROP(Window, NeverOverfillsTheCompletionRing, ()) {
    const uint32_t base = *rc::gen::arbitrary<uint32_t>();
    uint32_t sq_head = base, sq_tail = base, cq_tail = base, cq_head = base, in_flight = 0;
    const int steps = *rc::gen::inRange(1, 200);
    for (int i = 0; i < steps; ++i) {
        switch (*rc::gen::inRange(0, 5)) {
            case 0: {  // the client publishes what fits its side (an honest client)
                const uint32_t n = *rc::gen::inRange<uint32_t>(0, kEntries + 1);
                if (sq_tail - sq_head + n <= kEntries)
                    sq_tail += n;
                break;
            }
            case 1: {  // the driver takes
                const Window w = window(sq_head, sq_tail, cq_tail, cq_head, in_flight);
                RC_ASSERT(w.fault == Fault::kNone);
                RC_ASSERT(w.take <= sq_tail - sq_head);
                sq_head += w.take;
                in_flight += w.take;
                break;
            }
            case 2: {  // the device completes some
                const uint32_t n = *rc::gen::inRange<uint32_t>(0, in_flight + 1);
                in_flight -= n;
                cq_tail += n;
                break;
            }
            case 3: {  // the client consumes some
                const uint32_t n = *rc::gen::inRange<uint32_t>(0, cq_tail - cq_head + 1);
                cq_head += n;
                break;
            }
            default: {  // a lie: any indices at all, looked at once
                const uint32_t lie_tail = *rc::gen::arbitrary<uint32_t>();
                const uint32_t lie_head = *rc::gen::arbitrary<uint32_t>();
                const Window w = window(sq_head, lie_tail, cq_tail, lie_head, in_flight);
                if (w.fault != Fault::kNone) {
                    RC_ASSERT(w.take == 0u);
                } else {
                    RC_ASSERT(w.take <= lie_tail - sq_head);
                    RC_ASSERT(in_flight + (cq_tail - lie_head) + w.take <= kEntries);
                }
                break;
            }
        }
        RC_ASSERT(in_flight + (cq_tail - cq_head) <= kEntries);
    }
}

RC_GTEST_PROP(Check, AcceptsExactlyTheModel, ()) {
    const uint32_t block = *rc::gen::element<uint32_t>(512, 4096);
    const uint64_t blocks = *rc::gen::inRange<uint64_t>(1, 1u << 20);
    const Disk disk{blocks * block, block, *rc::gen::arbitrary<bool>()};
    Request r{};
    r.offset = *rc::gen::oneOf(rc::gen::arbitrary<uint64_t>(),
                               rc::gen::map(rc::gen::inRange<uint64_t>(0, blocks + 2),
                                            [&](uint64_t b) { return b * block; }));
    r.length = *rc::gen::oneOf(
        rc::gen::arbitrary<uint32_t>(),
        rc::gen::map(rc::gen::inRange<uint32_t>(0, 140), [&](uint32_t b) { return b * 512u; }));
    r.buffer = *rc::gen::inRange<uint32_t>(0, kBuffers + 2);
    r.op = *rc::gen::inRange<uint32_t>(0, 4);
    r.reserved = *rc::gen::element<uint32_t>(0, 0, 0, 5);
    const bool ok = (r.op == kRead || (r.op == kWrite && !disk.read_only)) && r.reserved == 0 &&
                    r.buffer < kBuffers && r.length > 0 && r.length <= kBufferBytes &&
                    r.length % block == 0 && r.offset % block == 0 &&
                    static_cast<unsigned __int128>(r.offset) + r.length <= disk.capacity;
    RC_ASSERT((check(r, disk) == Verdict::kOk) == ok);
    if (ok)
        RC_ASSERT(data_offset(r) + r.length <= kRegionBytes);
}

}  // namespace
}  // namespace keel::blkring
