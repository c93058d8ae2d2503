// B5: instructions per submit + reap, counted by callgrind (deterministic), with and without
// the ownership bookkeeping, against boost::lockfree::spsc_queue push + pop and against Keel's
// own SpscRing. Not a Google Benchmark: run.sh runs this program under
//   valgrind --tool=callgrind --toggle-collect=<the variant's two functions>
// and divides the collected instructions by the operation count this program prints.
//
// Each measured step is an extern "C" noinline function, so that callgrind can collect
// exactly it (with its callees) and nothing of the driver loop or the server. The
// "empty_a/empty_b" pair measures what the wrappers themselves cost (call entry, return);
// run.sh subtracts it. Server-side instructions (poll) are a separate variant, for the record:
// the target is about the client's path.
//
// Usage: bench_b5_insns [ops [batch]]   (default 10000 operations, batch 1: submit, poll,
// reap one at a time; batch 32: 32 submits, one poll, 32 reaps, so the shared-counter
// refreshes are shared by 32 operations). Without valgrind it just runs, as a smoke test.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <utility>

#include <boost/lockfree/spsc_queue.hpp>
#include <ipc/spsc_ring.hpp>

#include "queue_fixture.hpp"

namespace {

using keel::bench::ClientEnd;
using keel::bench::Region;
using keel::bench::ServerEnd;
namespace ipc = keel::ipc;

// 16 bytes: the size of a completion entry, the smaller of the two B2 sizes.
struct Entry16 {
    std::uint64_t a, b;
};

constexpr std::uint32_t kCapacity = 64;
constexpr std::uint32_t kMaxBatch = 32;

struct Ctx {
    ipc::Geometry g{kCapacity, kMaxBatch, 64};
    Region region{keel::bench::layout_of(g).total_size};
    ClientEnd c{region.span(), g};
    ServerEnd s{region.span(), g};
    ipc::Request nop{};  // opcode 0: answered inside poll
    ipc::Request nop_buf{};
    ipc::Buffer bufs[kMaxBatch];  // in hand between operations
    std::uint64_t checksum = 0;

    boost::lockfree::spsc_queue<Entry16, boost::lockfree::capacity<kCapacity>> boost_q;

    ipc::abi::RingHeader ring_header;
    alignas(64) Entry16 ring_entries[kCapacity];
    ipc::SpscProducer<Entry16> producer;
    ipc::SpscConsumer<Entry16> consumer;

    Ctx() {
        nop_buf.length = 64;
        for (auto& buf : bufs) {
            auto b = c.client.acquire();
            if (!b)
                std::abort();
            buf = std::move(*b);
        }
        ipc::spsc_ring_init(ring_header);
        if (!producer.attach(ring_header, std::span(ring_entries)) ||
            !consumer.attach(ring_header, std::span(ring_entries))) {
            std::abort();
        }
    }
};

}  // namespace

// The measured steps. C linkage: plain names for --toggle-collect.
extern "C" {

__attribute__((noinline)) void b5_empty_a(Ctx& x) {
    asm volatile("" ::"r"(&x));
}
__attribute__((noinline)) void b5_empty_b(Ctx& x) {
    asm volatile("" ::"r"(&x));
}

// Without ownership: submit a Nop (no buffer) and publish; reap its completion.
__attribute__((noinline)) void b5_keel_submit(Ctx& x) {
    if (!x.c.client.submit(x.nop))
        std::abort();
    x.c.client.publish();
}
__attribute__((noinline)) void b5_keel_reap(Ctx& x) {
    auto r = x.c.client.reap();
    if (!r)
        std::abort();
    x.checksum += r->status;
}

// With ownership: a buffer in hand is lent with the Nop and comes back in hand.
__attribute__((noinline)) void b5_keel_submit_buf(Ctx& x, std::uint32_t i) {
    if (!x.c.client.submit(x.nop_buf, std::move(x.bufs[i])))
        std::abort();
    x.c.client.publish();
}
__attribute__((noinline)) void b5_keel_reap_buf(Ctx& x, std::uint32_t i) {
    auto r = x.c.client.reap();
    if (!r)
        std::abort();
    x.bufs[i] = std::move(r->buffer);
}

__attribute__((noinline)) void b5_server_poll(Ctx& x, std::uint32_t n) {
    auto r = x.s.server.poll();
    if (!r || *r != n)
        std::abort();
}

__attribute__((noinline)) void b5_boost_push(Ctx& x) {
    if (!x.boost_q.push(Entry16{x.checksum, 1}))
        std::abort();
}
__attribute__((noinline)) void b5_boost_pop(Ctx& x) {
    Entry16 e;
    if (!x.boost_q.pop(e))
        std::abort();
    x.checksum += e.b;
}

__attribute__((noinline)) void b5_ring_push(Ctx& x) {
    if (!x.producer.push(Entry16{x.checksum, 1}))
        std::abort();
}
__attribute__((noinline)) void b5_ring_pop(Ctx& x) {
    auto r = x.consumer.pop();
    if (!r)
        std::abort();
    x.checksum += r->b;
}

}  // extern "C"

int main(int argc, char** argv) {
    long ops = argc > 1 ? std::atol(argv[1]) : 10000;
    long batch = argc > 2 ? std::atol(argv[2]) : 1;
    if (ops <= 0 || batch <= 0 || batch > long(kMaxBatch) || ops % batch != 0)
        return 2;
    auto* x = new Ctx;
    const auto n = std::uint32_t(batch);
    // Every variant runs in every invocation; callgrind collects only the toggled functions.
    for (long done = 0; done < ops; done += batch) {
        for (std::uint32_t i = 0; i < n; ++i) {
            b5_empty_a(*x);
            b5_empty_b(*x);
        }
        for (std::uint32_t i = 0; i < n; ++i)
            b5_keel_submit(*x);
        b5_server_poll(*x, n);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_keel_reap(*x);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_keel_submit_buf(*x, i);
        b5_server_poll(*x, n);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_keel_reap_buf(*x, i);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_boost_push(*x);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_boost_pop(*x);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_ring_push(*x);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_ring_pop(*x);
    }
    for (auto& b : x->bufs) {
        if (!b.valid())
            return 1;
    }
    if (x->c.client.outstanding() != 0)
        return 1;
    std::printf("ops %ld batch %ld checksum %llu\n", ops, batch,
                static_cast<unsigned long long>(x->checksum));
    delete x;
    return 0;
}
