// Split virtqueue fuzz target (lib/virtio): the fuzzer is the device, and a hostile one. Input:
// one byte choosing the queue size (2^(b % 9)), then steps, each an opcode byte and its
// operands: add a chain (segment count, readable/writable split, lengths), publish, complete
// a chain honestly, write a raw used element (any id and length) and move the used index by
// any amount, scribble over the descriptor table or the available ring (driver-written memory
// a device can still overwrite), reap. The oracle is a model of what the driver added: after
// every step the descriptors are accounted for (free + held by chains in flight == size,
// in flight == model), a completion names a published chain of the model with its token and a
// length within its writable bytes; a fault leaves everything as it was, then every reap is a
// fault and every add refused until the queue is laid out again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include <keel/virtio/virtqueue.hpp>

namespace {

namespace vio = keel::virtio;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "virtqueue oracle: %s\n", what);
    std::abort();
}

struct Input {
    const uint8_t* p;
    size_t n;
    size_t at = 0;
    bool done() const { return at >= n; }
    uint32_t take(int bytes) {
        uint32_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v |= uint32_t{at < n ? p[at++] : uint8_t{0}} << (8 * i);
        return v;
    }
};

struct Chain {
    uint32_t count, writable;
    uint64_t token;
    bool published;
};

struct Harness {
    uint16_t size;
    std::vector<uint8_t> desc, avail, used;
    vio::SplitQueue q;
    std::map<uint16_t, Chain> model;
    uint32_t free_count;

    explicit Harness(uint16_t n)
        : size(n),
          desc(vio::descriptor_table_size(n)),
          avail(vio::available_ring_size(n)),
          used(vio::used_ring_size(n)),
          free_count(n) {
        reset();
    }
    void reset() {
        if (!q.init(size, desc.data(), avail.data(), used.data()))
            fail("init refused a good queue");
        model.clear();
        free_count = size;
    }
    uint16_t used_idx() const {
        uint16_t v;
        std::memcpy(&v, used.data() + 2, 2);
        return v;
    }
    void set_used_idx(uint16_t v) { std::memcpy(used.data() + 2, &v, 2); }
    void write_used(uint16_t slot, uint32_t id, uint32_t length) {
        uint8_t* e = used.data() + 4 + 8 * (slot & (size - 1));
        std::memcpy(e, &id, 4);
        std::memcpy(e + 4, &length, 4);
    }
    void check() const {
        uint32_t held = 0;
        for (const auto& [h, c] : model)
            held += c.count;
        if (q.free_descriptors() != free_count || held + free_count != size)
            fail("descriptors not accounted for");
        if (q.in_flight() != model.size())
            fail("chains in flight differ from the model");
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in{data, size};
    Harness h(static_cast<uint16_t>(1u << (in.take(1) % 9)));
    uint64_t token = 1;
    uint16_t device_used = 0;  // where the device writes its next used element
    int steps = 0;
    while (!in.done() && steps++ < 4096) {
        const uint32_t op = in.take(1) % 7;
        if (op == 0) {  // add
            const uint32_t count = 1 + in.take(1) % 10;
            const uint32_t readable = in.take(1) % (count + 1);
            vio::Segment segs[10];
            uint64_t writable = 0;
            for (uint32_t i = 0; i < count; ++i) {
                const uint32_t length = 1 + in.take(2);
                segs[i] = {0x100000ull * i, length, i >= readable};
                writable += i >= readable ? length : 0;
            }
            uint16_t head = 0;
            const bool ok = h.q.add(segs, count, token, &head);
            if (ok != (!h.q.broken() && count <= h.free_count))
                fail("add accepted or refused wrongly");
            if (ok) {
                if (head >= h.size || h.model.count(head) != 0)
                    fail("add gave a head in use or out of range");
                h.model[head] = {count, static_cast<uint32_t>(writable), token++, false};
                h.free_count -= count;
            }
        } else if (op == 1) {  // publish
            uint32_t fresh = 0;
            for (auto& [head, c] : h.model) {
                fresh += c.published ? 0 : 1;
                if (!h.q.broken())
                    c.published = true;
            }
            const uint16_t n = h.q.publish();
            if (!h.q.broken() && n != fresh)
                fail("publish count differs from the model");
        } else if (op == 2) {  // an honest completion of some published chain
            const uint32_t pick = in.take(1);
            std::vector<uint16_t> open;
            for (const auto& [head, c] : h.model) {
                if (c.published)
                    open.push_back(head);
            }
            if (open.empty())
                continue;
            const uint16_t head = open[pick % open.size()];
            h.write_used(device_used, head, in.take(4) % (h.model[head].writable + 1));
            ++device_used;
            h.set_used_idx(device_used);
        } else if (op == 3) {  // a raw used element and any index
            h.write_used(static_cast<uint16_t>(in.take(2)), in.take(4), in.take(4));
            device_used = static_cast<uint16_t>(in.take(2));
            h.set_used_idx(device_used);
        } else if (op == 4) {  // scribble over driver-written memory
            std::vector<uint8_t>& area = in.take(1) % 2 == 0 ? h.desc : h.avail;
            const size_t at = in.take(2) % area.size();
            area[at] = static_cast<uint8_t>(in.take(1));
        } else if (op == 5) {  // reap
            const bool was_broken = h.q.broken();
            vio::Completion c{};
            const auto r = h.q.reap(&c);
            if (r == vio::SplitQueue::Reaped::kCompletion) {
                if (was_broken)
                    fail("a broken queue gave a completion");
                const auto it = h.model.find(c.head);
                if (it == h.model.end() || !it->second.published)
                    fail("completion of a chain not in flight");
                if (c.token != it->second.token || c.length > it->second.writable)
                    fail("completion with the wrong token or too long");
                h.free_count += it->second.count;
                h.model.erase(it);
            } else if (r == vio::SplitQueue::Reaped::kFault) {
                if (!h.q.broken() || h.q.fault() == vio::Fault::kNone)
                    fail("a fault without a broken queue");
                if (vio::fault_text(h.q.fault())[0] == '\0')
                    fail("a fault without a text");
                const vio::Segment s{1, 1, false};
                if (h.q.add(&s, 1, 0))
                    fail("a broken queue took a chain");
            } else if (was_broken) {
                fail("a broken queue said nothing");
            }
        } else {  // the driver resets the device and lays the queue out again
            if (in.take(1) % 4 == 0) {
                h.reset();
                device_used = 0;
            }
        }
        h.check();
    }
    return 0;
}
