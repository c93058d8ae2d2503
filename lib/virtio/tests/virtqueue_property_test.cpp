// lib/virtio's split queue (RapidCheck) against a model: random sequences of adds (chains of
// 1..6 segments, some refused for lack of descriptors), publishes, completions by a device
// that takes published chains in any order and writes any honest length, and reaps. After
// every step the descriptors are accounted for (free + those of chains in flight == size), a
// refused add changed nothing, and each reap gives exactly the completion the device wrote
// next. A lying device (one bad used element at a random point) is caught as a fault, with
// nothing consumed.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/virtio/virtqueue.hpp>

#include <cstring>
#include <deque>
#include <map>
#include <vector>

#include "fake_device.hpp"

namespace keel::virtio {
namespace {

struct Chain {
    uint32_t count;
    uint32_t writable;
    bool published;
};

struct Harness {
    uint16_t size;
    std::vector<uint64_t> desc;
    std::vector<uint16_t> avail;
    std::vector<uint32_t> used;
    SplitQueue q;
    std::map<uint16_t, Chain> model;  // by head
    std::map<uint16_t, uint64_t> tokens;
    std::deque<Completion> expected;  // what the device wrote, in order
    uint32_t model_free;

    explicit Harness(uint16_t n)
        : size(n),
          desc(descriptor_table_size(n) / 8),
          avail(available_ring_size(n) / 2 + 1),
          used(used_ring_size(n) / 4 + 1),
          model_free(n) {
        RC_ASSERT(q.init(n, desc.data(), avail.data(), used.data()));
    }
    void device_writes(uint32_t id, uint32_t length) {
        testing::device_completes(used, size, id, length);
    }
    void check_accounting() const {
        uint32_t held = 0;
        for (const auto& [head, c] : model)
            held += c.count;
        RC_ASSERT(q.free_descriptors() == model_free);
        RC_ASSERT(held + model_free == size);
        RC_ASSERT(q.in_flight() == model.size());
    }
};

RC_GTEST_PROP(SplitQueueModel, DescriptorAccounting, ()) {
    const auto size = static_cast<uint16_t>(1u << *rc::gen::inRange(0, 7));
    Harness h(size);
    uint64_t next_token = 1;
    const bool lie = *rc::gen::arbitrary<bool>();
    const int lie_at = *rc::gen::inRange(0, 200);
    const int steps = *rc::gen::inRange(1, 300);
    for (int step = 0; step < steps; ++step) {
        const int what = *rc::gen::inRange(0, 4);
        if (what == 0) {
            const uint32_t n = *rc::gen::inRange<uint32_t>(1, 7);
            const uint32_t readable = *rc::gen::inRange<uint32_t>(0, n + 1);
            std::vector<Segment> segs;
            uint32_t writable = 0;
            for (uint32_t i = 0; i < n; ++i) {
                const uint32_t len = *rc::gen::inRange<uint32_t>(1, 70000);
                segs.push_back({0x10000ull * i, len, i >= readable});
                if (i >= readable)
                    writable += len;
            }
            uint16_t head = 0;
            const bool ok = h.q.add(segs.data(), n, next_token, &head);
            RC_ASSERT(ok == (n <= h.model_free));
            if (ok) {
                RC_ASSERT(h.model.count(head) == 0);
                h.model[head] = {n, writable, false};
                h.tokens[head] = next_token++;
                h.model_free -= n;
            }
        } else if (what == 1) {
            uint16_t fresh = 0;
            for (auto& [head, c] : h.model) {
                fresh += c.published ? 0 : 1;
                c.published = true;
            }
            RC_ASSERT(h.q.publish() == fresh);
        } else if (what == 2) {
            // The device completes a published chain not yet completed, any of them.
            std::vector<uint16_t> open;
            for (const auto& [head, c] : h.model) {
                bool done = false;
                for (const Completion& e : h.expected)
                    done = done || e.head == head;
                if (c.published && !done)
                    open.push_back(head);
            }
            if (open.empty())
                continue;
            const uint16_t head = open[*rc::gen::inRange<size_t>(0, open.size())];
            const uint32_t len = *rc::gen::inRange<uint32_t>(0, h.model[head].writable + 1);
            h.device_writes(head, len);
            h.expected.push_back({h.tokens[head], len, head});
        } else {
            Completion c{};
            const auto r = h.q.reap(&c);
            if (h.expected.empty()) {
                RC_ASSERT(r == SplitQueue::Reaped::kNothing);
            } else {
                RC_ASSERT(r == SplitQueue::Reaped::kCompletion);
                const Completion e = h.expected.front();
                h.expected.pop_front();
                RC_ASSERT(c.token == e.token);
                RC_ASSERT(c.length == e.length);
                RC_ASSERT(c.head == e.head);
                h.model_free += h.model[c.head].count;
                h.model.erase(c.head);
                h.tokens.erase(c.head);
            }
        }
        h.check_accounting();
        if (lie && step == lie_at && h.expected.empty()) {
            // One lie: an id that is no published head (or out of range), or a length past
            // the writable bytes of a real one.
            uint32_t id = *rc::gen::inRange<uint32_t>(0, 2u * size + 1);
            uint32_t len = 0;
            bool honest = h.model.count(static_cast<uint16_t>(id)) != 0 && id < size &&
                          h.model[static_cast<uint16_t>(id)].published;
            if (honest) {
                len = h.model[static_cast<uint16_t>(id)].writable + 1;
                honest = false;
            }
            h.device_writes(id, len);
            Completion c{};
            RC_ASSERT(h.q.reap(&c) == SplitQueue::Reaped::kFault);
            RC_ASSERT(h.q.broken());
            h.check_accounting();  // nothing consumed
            return;
        }
    }
}

}  // namespace
}  // namespace keel::virtio
