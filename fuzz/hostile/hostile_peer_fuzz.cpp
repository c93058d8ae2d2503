// Hostile-peer fuzz target (spec I8): a real Client and a real Server share one region, and
// between their calls the fuzzer writes arbitrary bytes into the header, ring counters and
// entries, playing whichever side is not calling. Every call must return (an error is fine),
// never crash or trip an assertion, and after every step each side's own invariants must hold
// as its public API shows them:
//   client: each buffer has exactly one owner (pool, hand, lent) and the lent ones are exactly
//     those of live operations (I1); a reaped completion names a live operation and returns
//     exactly the buffer it lent (I2, I4); credit = capacity - outstanding (I3);
//   server: queued + taken <= capacity, live <= capacity (I3); a taken operation's buffer is in
//     range, held, and held by no other taken operation (I1); its length fits the buffer; a
//     handle completes once: a stale one (completed before, its record maybe reused) is
//     refused (IPC-R-054).
// At the end both sides tear down: every operation the client submitted completes exactly once
// and every buffer comes back, whatever the peer wrote (I6).
//
// Input: 3 bytes of configuration, then operations of variable length (see the switch).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include <ipc/abi.hpp>
#include <ipc/client.hpp>
#include <ipc/layout.hpp>
#include <ipc/server.hpp>

namespace {

namespace abi = keel::ipc::abi;
using keel::ipc::Buffer;
using keel::ipc::Client;
using keel::ipc::Error;
using keel::ipc::Server;

constexpr std::uint16_t kOpLimit = abi::kFirstServiceOp + 4;

[[noreturn]] void violated(const char* what, std::size_t step) {
    std::fprintf(stderr, "hostile: invariant broken at operation %zu: %s\n", step, what);
    std::abort();
}

struct Input {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t byte() {
        if (n == 0)
            return 0;
        --n;
        return *p++;
    }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v |= std::uint32_t(byte()) << (8 * i);
        return v;
    }
};

struct Harness {
    keel::ipc::Geometry g;
    keel::ipc::Layout layout;
    std::byte* region = nullptr;
    std::vector<std::uint64_t> cstore, sstore;
    Client client;
    Server server;
    std::vector<Buffer> hand;
    struct Live {
        std::uint16_t buffer;
        bool is_cancel;
    };
    std::map<std::uint32_t, Live> live;  // tag -> what the client lent with it
    struct Taken {
        std::uint16_t buffer;
    };
    std::map<std::uint32_t, Taken> taken;  // server op handle -> its buffer
    std::vector<std::uint32_t> retired;    // handles completed since: stale (IPC-R-054)
    std::size_t step = 0;
    bool client_gone_called = false;
    bool server_closed_first = false;  // Server::close before client_gone: queued ops stay

    ~Harness() {
        hand.clear();
        std::free(region);
    }

    void check() {
        // ---- client ----
        if (client.outstanding() != live.size())
            violated("client outstanding != operations submitted and not reaped (I2)", step);
        if (client.outstanding() > client.capacity() ||
            client.credit() != client.capacity() - client.outstanding())
            violated("client credit (I3)", step);
        // Per-buffer marks (at most 8 buffers): no allocation per step.
        std::uint8_t lent[16] = {}, in_hand[16] = {};
        for (const auto& [tag, l] : live) {
            if (l.buffer == abi::kNoBuffer)
                continue;
            if (l.buffer >= g.buffer_count || lent[l.buffer]++)
                violated("two live operations lent one buffer (I1)", step);
        }
        for (const auto& b : hand) {
            if (!b.valid() || b.id() >= g.buffer_count || in_hand[b.id()]++)
                violated("a buffer is in hand twice (I1)", step);
        }
        std::uint32_t pooled = 0;
        for (std::uint16_t id = 0; id < g.buffer_count; ++id) {
            std::uint32_t st = client.buffer_state(id);
            std::uint32_t want = lent[id] ? 2u : in_hand[id] ? 1u : 0u;
            if (lent[id] && in_hand[id])
                violated("a buffer is both lent and in hand (I1)", step);
            if (st != want)
                violated("buffer owner differs from the client's own record (I1)", step);
            pooled += st == 0;
        }
        if (pooled != client.pooled_buffers())
            violated("pool count (I1)", step);
        // ---- server ----
        if (server.queued() + server.taken() > server.capacity() ||
            server.live() > server.capacity())
            violated("server holds more than capacity operations (I3)", step);
        if (server.taken() != taken.size())
            violated("server taken count", step);
        for (const auto& [id, t] : taken) {
            if (t.buffer != abi::kNoBuffer && server.buffer_held(t.buffer) != 1)
                violated("a taken operation's buffer is not held (I1)", step);
        }
        std::uint32_t held = 0;
        for (std::uint16_t id = 0; id < g.buffer_count; ++id)
            held += server.buffer_held(id);
        if (held > server.queued() + server.taken())
            violated("server holds buffers no operation accounts for (I1)", step);
    }

    void on_reaped(keel::ipc::Reaped& r) {
        auto it = live.find(r.tag);
        if (it == live.end())
            violated("reap accepted a completion for no live operation (I2)", step);
        std::uint16_t got = r.buffer.valid() ? r.buffer.id() : abi::kNoBuffer;
        if (got != it->second.buffer)
            violated("reap returned a buffer the operation did not lend (I4)", step);
        if (r.is_cancel != it->second.is_cancel)
            violated("reap: is_cancel wrong", step);
        if (!r.is_cancel && (r.status == std::uint16_t(abi::Status::InProgress) ||
                             r.status == std::uint16_t(abi::Status::NotFound)))
            violated("reap accepted a Cancel-only status for an operation (IPC-R-043)", step);
        live.erase(it);
        if (r.buffer.valid())
            hand.push_back(std::move(r.buffer));
    }

    void submit(Input& in) {
        std::uint8_t sel = in.byte();
        keel::ipc::Request req;
        req.opcode = sel & 1 ? std::uint16_t(abi::kFirstServiceOp + (sel >> 1) % 5)
                             : std::uint16_t((sel >> 1) % 3 == 0 ? 0 : 2);
        req.user_data = step;
        std::uint16_t buffer = abi::kNoBuffer;
        keel::ipc::Result<std::uint32_t> r = [&]() -> keel::ipc::Result<std::uint32_t> {
            if (!hand.empty() && (sel & 0x80)) {
                std::size_t i = in.byte() % hand.size();
                buffer = hand[i].id();
                req.length = in.byte() % 2 ? g.buffer_size : 0;
                auto x = client.submit(req, std::move(hand[i]));
                if (x)
                    hand.erase(hand.begin() + std::ptrdiff_t(i));
                else if (!hand[i].valid())
                    violated("a failed submit emptied the handle (IPC-R-031)", step);
                return x;
            }
            return client.submit(req);
        }();
        if (r) {
            if (live.count(r.value()))
                violated("submit reused the tag of a live operation", step);
            live[r.value()] = {buffer, false};
        }
    }

    void take() {
        auto r = server.take();
        if (!r)
            return;
        const abi::Submission& q = r->request;
        if (keel::ipc::Server::record_index(r->id) >= server.capacity() || taken.count(r->id) ||
            std::find(retired.begin(), retired.end(), r->id) != retired.end()) {
            violated("take returned an op handle out of range, taken, or handed out before", step);
        }
        if (q.buffer != abi::kNoBuffer) {
            if (q.buffer >= g.buffer_count || server.buffer_held(q.buffer) != 1)
                violated("take handed out a buffer that is out of range or not held", step);
            for (const auto& [id, t] : taken) {
                if (t.buffer == q.buffer)
                    violated("two taken operations hold one buffer (I1, IPC-R-051)", step);
            }
            if (q.length > g.buffer_size)
                violated("take handed out a length beyond the buffer", step);
        } else if (q.length != 0) {
            violated("take handed out a length without a buffer", step);
        }
        if (q.opcode < abi::kFirstServiceOp || q.opcode >= kOpLimit)
            violated("take handed out an opcode outside the service's range", step);
        if (server.bytes(r.value()).size() != (q.buffer == abi::kNoBuffer ? 0 : q.length))
            violated("server bytes() does not match the request", step);
        taken[r->id] = {q.buffer};
    }

    void complete(std::uint32_t id, std::uint16_t status) {
        bool was_taken = taken.count(id) != 0;
        auto r = server.complete(id, status, 0);
        bool cancel_only = status == std::uint16_t(abi::Status::InProgress) ||
                           status == std::uint16_t(abi::Status::NotFound);
        if (r) {
            if (!was_taken || cancel_only)
                violated("complete accepted an op that is not taken, or a Cancel-only status",
                         step);
            taken.erase(id);
            retired.push_back(id);
        } else if (was_taken && !cancel_only && r.error() != Error::ProtocolViolation) {
            violated("complete of a taken operation failed for no reason the peer caused", step);
        }
    }

    // Raw write into the header, ring counters or entries (not into buffers: their bytes are
    // the service's and the protocol never reads them).
    void poke(Input& in) {
        std::uint32_t span = layout.cq_entries + g.capacity * sizeof(abi::Completion);
        std::uint32_t off = (std::uint32_t(in.byte()) | std::uint32_t(in.byte()) << 8) % span;
        std::uint32_t len = 1 + in.byte() % 8;
        for (std::uint32_t i = 0; i < len && off + i < span; ++i)
            region[off + i] = std::byte(in.byte());
    }

    // A ring counter moved by a plausible or an arbitrary amount.
    void poke_counter(Input& in) {
        std::uint8_t sel = in.byte();
        auto* ring = reinterpret_cast<abi::RingHeader*>(
            region + (sel & 1 ? abi::kCqHeaderOffset : abi::kSqHeaderOffset));
        auto& c = sel & 2 ? ring->tail.value : ring->head.value;
        std::uint32_t v = sel & 4 ? in.u32() : c.load() + std::int8_t(in.byte());
        c.store(v);
    }

    // A field of one entry rewritten: tag, buffer, status/opcode, length or target.
    void poke_entry(Input& in) {
        std::uint8_t sel = in.byte();
        std::uint32_t slot = in.byte() % g.capacity;
        std::uint32_t v = in.u32();
        if (sel & 1) {
            auto* e = reinterpret_cast<abi::Completion*>(region + layout.cq_entries) + slot;
            switch ((sel >> 1) % 3) {
                case 0:
                    e->tag = v;
                    break;
                case 1:
                    e->buffer = std::uint16_t(v);
                    break;
                default:
                    e->status = std::uint16_t(v % 8);
                    break;
            }
        } else {
            auto* e = reinterpret_cast<abi::Submission*>(region + layout.sq_entries) + slot;
            switch ((sel >> 1) % 5) {
                case 0:
                    e->tag = v;
                    break;
                case 1:
                    e->buffer = std::uint16_t(v % (g.buffer_count + 2));
                    break;
                case 2:
                    e->opcode = std::uint16_t(v % (kOpLimit + 2));
                    break;
                case 3:
                    e->length = v % (g.buffer_size + 2);
                    break;
                default:
                    e->args[0] = v;
                    break;
            }
        }
    }

    void finish() {
        // The client side: teardown completes every operation exactly once (I6).
        client.peer_gone();
        for (std::uint32_t i = 0; i < 2 * g.capacity + 2; ++i) {
            auto r = client.reap();
            if (!r) {
                if (r.error() != Error::Empty)
                    violated("reap after teardown failed with something other than Empty", step);
                break;
            }
            on_reaped(r.value());
        }
        check();
        if (!live.empty() || client.outstanding() != 0)
            violated("after teardown some operation never completed (I6)", step);
        for (std::uint16_t id = 0; id < g.buffer_count; ++id) {
            if (client.buffer_state(id) == 2)
                violated("after teardown a buffer is still lent (I6)", step);
        }
        // The server side: once the client is gone every taken operation still completes.
        server.client_gone();
        client_gone_called = true;
        for (auto it = taken.begin(); it != taken.end();) {
            auto id = it->first;
            ++it;
            complete(id, std::uint16_t(abi::Status::Cancelled));
        }
        check();
        // A server that closed itself first keeps its queued records (nothing will take
        // them; the client completed them locally above).
        if (server_closed_first)
            return;
        if (server.queued() != 0 || server.taken() != 0)
            violated("server still holds operations after client_gone and completing", step);
        for (std::uint16_t id = 0; id < g.buffer_count; ++id) {
            if (server.buffer_held(id) != 0)
                violated("server still holds a buffer after teardown (I6)", step);
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in{data, size};
    Harness h;
    h.g.capacity = 1u << (in.byte() % 6);
    h.g.buffer_count = in.byte() % 9;
    h.g.buffer_size = h.g.buffer_count ? 64 : 0;
    std::uint8_t fi = in.byte();
    std::uint32_t first = fi & 1 ? 0u - (fi >> 1) : std::uint32_t(fi) << 24;
    h.layout = keel::ipc::Layout::compute(h.g).value();
    h.region =
        static_cast<std::byte*>(std::aligned_alloc(4096, (h.layout.total_size + 4095) & ~4095ull));
    std::memset(h.region, 0, h.layout.total_size);
    h.cstore.resize(Client::private_size(h.g) / 8 + 1);
    h.sstore.resize(Server::private_size(h.g) / 8 + 1);
    std::span<std::byte> shared{h.region, std::size_t(h.layout.total_size)};
    if (!h.client.create(shared, std::as_writable_bytes(std::span(h.cstore)), h.g, first) ||
        !h.server.attach(shared, std::as_writable_bytes(std::span(h.sstore)), h.g, kOpLimit)) {
        violated("set-up failed", 0);
    }
    while (in.n > 0) {
        ++h.step;
        std::uint8_t op = in.byte();
        switch (op % 16) {
            case 0: {
                auto b = h.client.acquire();
                if (b)
                    h.hand.push_back(std::move(b.value()));
                break;
            }
            case 1:
                if (!h.hand.empty()) {
                    std::size_t i = in.byte() % h.hand.size();
                    h.hand[i].reset();
                    h.hand.erase(h.hand.begin() + std::ptrdiff_t(i));
                }
                break;
            case 2:
                h.submit(in);
                break;
            case 3: {
                std::uint32_t target = in.u32();
                if (!h.live.empty() && (target & 1))
                    target =
                        std::next(h.live.begin(), std::ptrdiff_t(target % h.live.size()))->first;
                auto r = h.client.cancel(h.step, target);
                if (r) {
                    if (h.live.count(r.value()))
                        violated("cancel reused the tag of a live operation", h.step);
                    h.live[r.value()] = {abi::kNoBuffer, true};
                }
                break;
            }
            case 4:
                h.client.publish();
                break;
            case 5: {
                auto r = h.client.reap();
                if (r)
                    h.on_reaped(r.value());
                break;
            }
            case 6:
                (void)h.server.poll();
                break;
            case 7:
                h.take();
                break;
            case 8: {
                std::uint8_t sel = in.byte();
                // A taken handle, a stale one (completed before, its record maybe reused), or
                // any record index.
                std::uint32_t id =
                    (sel & 0x40) && !h.retired.empty() ? h.retired[sel % h.retired.size()]
                    : h.taken.empty() || (sel & 0x80)
                        ? sel % (2 * h.g.capacity)
                        : std::next(h.taken.begin(), std::ptrdiff_t(sel % h.taken.size()))->first;
                h.complete(id, std::uint16_t(in.byte() % 6));
                break;
            }
            case 9:
                h.server.publish();
                break;
            case 10:
            case 11:
                h.poke(in);
                break;
            case 12:
                h.poke_counter(in);
                break;
            case 13:
                h.poke_entry(in);
                break;
            case 14:
                if (op & 0x10)
                    h.client.peer_gone();
                else if (op & 0x20)
                    h.client.close();
                else
                    (void)h.server.cancel_requested(in.byte());
                break;
            default:
                if (op & 0x10) {
                    h.server.client_gone();
                    h.client_gone_called = true;
                } else if (op & 0x20) {
                    h.server_closed_first |= !h.client_gone_called;
                    h.server.close();
                } else
                    (void)h.server.cancel_requested(in.byte());
                break;
        }
        h.check();
    }
    h.finish();
    return 0;
}
