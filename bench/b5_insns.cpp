// B5: instructions per submit + reap, counted by callgrind (deterministic), with and without
// the ownership bookkeeping, against boost::lockfree::spsc_queue push + pop and against Keel's
// own SpscRing. Not a Google Benchmark: run.py runs this program under
//   valgrind --tool=callgrind --toggle-collect=<the variant's two functions>
// and divides the collected instructions by the operation count this program prints.
//
// Each measured step is an extern "C" noinline function, so that callgrind can collect
// exactly it (with its callees) and nothing of the driver loop or the server. The
// "empty_a/empty_b" pair measures what the wrappers themselves cost (call entry, return);
// report.py subtracts it. Server-side instructions (poll) are a separate variant, for the
// record: the target is about the client's path. So is B4's whole cycle (both sides, one
// thread).
//
// Three client APIs are measured: one call per operation (submit + publish, reap), the
// batched one (submit_batch + publish, reap_batch: one call per batch; at batch 1, one call
// per operation too), and in-place submission (prepare + commit per operation, one publish per
// batch; reaped with reap one at a time and reap_batch in batches).
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

// One queue with both endpoints and kMaxBatch buffers in hand. Each group of variants has its
// own, so that one group's traffic never shifts when another's counters wrap or refresh.
struct QueuePair {
    ipc::Geometry g{kCapacity, kMaxBatch, 64};
    Region region{keel::bench::layout_of(g).total_size};
    ClientEnd c{region.span(), g};
    ServerEnd s{region.span(), g};
    ipc::Buffer bufs[kMaxBatch];    // in hand between operations
    ipc::Reaped reaped[kMaxBatch];  // reap_batch's output
    QueuePair() {
        for (auto& buf : bufs) {
            auto b = c.client.acquire();
            if (!b)
                std::abort();
            buf = std::move(*b);
        }
    }
    bool idle() const {
        for (auto& b : bufs) {
            if (!b.valid())
                return false;
        }
        return c.client.outstanding() == 0;
    }
};

struct Ctx {
    QueuePair one;       // submit / reap, one call per operation
    QueuePair batch;     // submit_batch / reap_batch
    QueuePair cycle;     // B4's whole cycle
    QueuePair inplace;   // prepare / commit
    ipc::Request nop{};  // opcode 0: answered inside poll
    ipc::Request nop_buf{};
    ipc::Request nops[kMaxBatch]{};
    ipc::Request nop_bufs[kMaxBatch]{};
    ipc::Request svc_bufs[kMaxBatch]{};  // a service op: take_id / take and complete
    std::uint64_t checksum = 0;

    boost::lockfree::spsc_queue<Entry16, boost::lockfree::capacity<kCapacity>> boost_q;

    ipc::abi::RingHeader ring_header;
    alignas(64) Entry16 ring_entries[kCapacity];
    ipc::SpscProducer<Entry16> producer;
    ipc::SpscConsumer<Entry16> consumer;

    Ctx() {
        nop_buf.length = 64;
        for (auto& r : nop_bufs)
            r.length = 64;
        for (auto& r : svc_bufs) {
            r.length = 64;
            r.opcode = keel::bench::kServiceOp;
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
    if (!x.one.c.client.submit(x.nop))
        std::abort();
    x.one.c.client.publish();
}
__attribute__((noinline)) void b5_keel_reap(Ctx& x) {
    auto r = x.one.c.client.reap();
    if (!r)
        std::abort();
    x.checksum += r->status;
}

// With ownership: a buffer in hand is lent with the Nop and comes back in hand.
__attribute__((noinline)) void b5_keel_submit_buf(Ctx& x, std::uint32_t i) {
    if (!x.one.c.client.submit(x.nop_buf, std::move(x.one.bufs[i])))
        std::abort();
    x.one.c.client.publish();
}
__attribute__((noinline)) void b5_keel_reap_buf(Ctx& x, std::uint32_t i) {
    auto r = x.one.c.client.reap();
    if (!r)
        std::abort();
    x.one.bufs[i] = std::move(r->buffer);
}

// The batched API: one call per batch (batch 1: one per operation).
__attribute__((noinline)) void b5_keel_submit_batch(Ctx& x, std::uint32_t n) {
    auto r = x.batch.c.client.submit_batch(std::span<const ipc::Request>(x.nops, n));
    if (!r || *r != n)
        std::abort();
    x.batch.c.client.publish();
}
__attribute__((noinline)) void b5_keel_reap_batch(Ctx& x, std::uint32_t n) {
    auto r = x.batch.c.client.reap_batch(std::span(x.batch.reaped, n));
    if (!r || *r != n)
        std::abort();
    for (std::uint32_t i = 0; i < n; ++i)
        x.checksum += x.batch.reaped[i].status;
}
__attribute__((noinline)) void b5_keel_submit_batch_buf(Ctx& x, std::uint32_t n) {
    auto r = x.batch.c.client.submit_batch(std::span<const ipc::Request>(x.nop_bufs, n),
                                           std::span(x.batch.bufs, n));
    if (!r || *r != n)
        std::abort();
    x.batch.c.client.publish();
}
__attribute__((noinline)) void b5_keel_reap_batch_buf(Ctx& x, std::uint32_t n) {
    auto r = x.batch.c.client.reap_batch(std::span(x.batch.reaped, n));
    if (!r || *r != n)
        std::abort();
    for (std::uint32_t i = 0; i < n; ++i)
        x.batch.bufs[i] = std::move(x.batch.reaped[i].buffer);
}

// In-place submission: the caller is handed the ring entry and passes the protocol's fields to
// the commit (a Nop writes no service field). n operations, one publish; reaped one at a time
// (batch 1) or with reap_batch.
__attribute__((noinline)) void b5_inplace_submit(Ctx& x, std::uint32_t n) {
    ipc::Client& c = x.inplace.c.client;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto e = c.prepare();
        if (!e || !c.commit(*e, i, 0))
            std::abort();
    }
    c.publish();
}
__attribute__((noinline)) void b5_inplace_submit_buf(Ctx& x, std::uint32_t n) {
    ipc::Client& c = x.inplace.c.client;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto e = c.prepare();
        if (!e || !c.commit(*e, i, 0, 64, std::move(x.inplace.bufs[i])))
            std::abort();
    }
    c.publish();
}
__attribute__((noinline)) void b5_inplace_reap(Ctx& x, std::uint32_t n) {
    if (n == 1) {
        auto r = x.inplace.c.client.reap();
        if (!r)
            std::abort();
        x.checksum += r->status;
        return;
    }
    auto r = x.inplace.c.client.reap_batch(std::span(x.inplace.reaped, n));
    if (!r || *r != n)
        std::abort();
    for (std::uint32_t i = 0; i < n; ++i)
        x.checksum += x.inplace.reaped[i].status;
}
__attribute__((noinline)) void b5_inplace_reap_buf(Ctx& x, std::uint32_t n) {
    if (n == 1) {
        auto r = x.inplace.c.client.reap();
        if (!r)
            std::abort();
        x.inplace.bufs[0] = std::move(r->buffer);
        return;
    }
    auto r = x.inplace.c.client.reap_batch(std::span(x.inplace.reaped, n));
    if (!r || *r != n)
        std::abort();
    for (std::uint32_t i = 0; i < n; ++i)
        x.inplace.bufs[i] = std::move(x.inplace.reaped[i].buffer);
}
__attribute__((noinline)) void b5_server_poll_inplace(Ctx& x, std::uint32_t n) {
    auto r = x.inplace.s.server.poll();
    if (!r || *r != n)
        std::abort();
}

__attribute__((noinline)) void b5_server_poll(Ctx& x, std::uint32_t n) {
    auto r = x.one.s.server.poll();
    if (!r || *r != n)
        std::abort();
}
// The server's side of the batched variants: not measured (the poll row is b5_server_poll).
__attribute__((noinline)) void b5_server_poll_batch(Ctx& x, std::uint32_t n) {
    auto r = x.batch.s.server.poll();
    if (!r || *r != n)
        std::abort();
}

// B4's whole cycle in one thread, both sides, for the record (B4 times it): n operations, each
// lending a buffer, submitted, served (a Nop inside poll, or a service op through take and
// complete), published and reaped: with B4's fastest calls (in-place submission, reap_batch,
// take_batch / complete_batch) or one call per operation (the server taking by id).
__attribute__((noinline)) void b5_cycle_batch(Ctx& x, std::uint32_t n, const ipc::Request* reqs) {
    QueuePair& q = x.cycle;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto e = q.c.client.prepare();
        if (!e || !q.c.client.commit(*e, i, reqs[i].opcode, reqs[i].length, std::move(q.bufs[i])))
            std::abort();
    }
    q.c.client.publish();
    if (keel::bench::serve_batch(q.s.server) != int(n))
        std::abort();
    auto got = q.c.client.reap_batch(std::span(q.reaped, n));
    if (!got || *got != n)
        std::abort();
    for (std::uint32_t i = 0; i < n; ++i)
        q.bufs[i] = std::move(q.reaped[i].buffer);
}
__attribute__((noinline)) void b5_cycle_single(Ctx& x, std::uint32_t n, const ipc::Request* reqs) {
    QueuePair& q = x.cycle;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!q.c.client.submit(reqs[i], std::move(q.bufs[i])))
            std::abort();
    }
    q.c.client.publish();
    if (keel::bench::serve_once(q.s.server, true) != int(n))
        std::abort();
    for (std::uint32_t i = 0; i < n; ++i) {
        auto r = q.c.client.reap();
        if (!r)
            std::abort();
        q.bufs[i] = std::move(r->buffer);
    }
}
__attribute__((noinline)) void b5_cycle_nop_batch(Ctx& x, std::uint32_t n) {
    b5_cycle_batch(x, n, x.nop_bufs);
}
__attribute__((noinline)) void b5_cycle_svc_batch(Ctx& x, std::uint32_t n) {
    b5_cycle_batch(x, n, x.svc_bufs);
}
__attribute__((noinline)) void b5_cycle_nop_single(Ctx& x, std::uint32_t n) {
    b5_cycle_single(x, n, x.nop_bufs);
}
__attribute__((noinline)) void b5_cycle_svc_single(Ctx& x, std::uint32_t n) {
    b5_cycle_single(x, n, x.svc_bufs);
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
        b5_keel_submit_batch(*x, n);
        b5_server_poll_batch(*x, n);
        b5_keel_reap_batch(*x, n);
        b5_keel_submit_batch_buf(*x, n);
        b5_server_poll_batch(*x, n);
        b5_keel_reap_batch_buf(*x, n);
        b5_inplace_submit(*x, n);
        b5_server_poll_inplace(*x, n);
        b5_inplace_reap(*x, n);
        b5_inplace_submit_buf(*x, n);
        b5_server_poll_inplace(*x, n);
        b5_inplace_reap_buf(*x, n);
        b5_cycle_nop_batch(*x, n);
        b5_cycle_svc_batch(*x, n);
        b5_cycle_nop_single(*x, n);
        b5_cycle_svc_single(*x, n);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_boost_push(*x);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_boost_pop(*x);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_ring_push(*x);
        for (std::uint32_t i = 0; i < n; ++i)
            b5_ring_pop(*x);
    }
    if (!x->one.idle() || !x->batch.idle() || !x->cycle.idle() || !x->inplace.idle())
        return 1;
    std::printf("ops %ld batch %ld checksum %llu\n", ops, batch,
                static_cast<unsigned long long>(x->checksum));
    delete x;
    return 0;
}
