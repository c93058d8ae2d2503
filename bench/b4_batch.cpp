// B4: submit + complete + reap with owned buffers, in one thread, at batch 1 and 32, against
// io_uring NOPs at the same batch sizes (liburing). Both sides do the whole cycle per
// iteration; the summary reports time per operation (iteration time / batch).
//
// Keel: each operation lends a buffer the client holds, the server completes it and the
// buffer comes back in hand with the completion. "nop" is answered by the server library
// inside poll (the analogue of an io_uring NOP); "service_op" goes through take/complete.
// "keel" uses the fastest calls: in-place submission (prepare / commit, one publish) and, for a
// batch, reap_batch on the client and take_batch / complete_batch on the server (one call per
// batch, as io_uring submits a batch with one call); take_id + request view for a single
// operation; "keel_single" the one-at-a-time calls (submit, take with its copy, reap), for
// reference.
#include <liburing.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <utility>

#include <benchmark/benchmark.h>

#include "common.hpp"
#include "queue_fixture.hpp"

namespace keel::bench {
namespace {

constexpr std::uint32_t kMaxBatch = 32;

// best: the fastest calls for the batch size: in-place submission; reap_batch and the server's
// take_batch / complete_batch for a batch (one call per batch), reap and take_id with the
// request viewed in place (no copy) for a single operation (where a batch loop's set-up costs
// more than it saves). Else the one-at-a-time calls with the copying take (what B4 measured
// before), for reference.
void keel_batch(benchmark::State& state, std::uint16_t opcode, bool best) {
    pin_to_cpu(kMainCpu);
    const auto batch = std::uint32_t(state.range(0));
    const bool batched = best && batch > 1;
    const ipc::Geometry g{kMaxBatch, kMaxBatch, 64};
    Region region(layout_of(g).total_size);
    ClientEnd c(region.span(), g);
    ServerEnd s(region.span(), g);
    ipc::Buffer bufs[kMaxBatch];
    for (auto& b : bufs) {
        auto r = c.client.acquire();
        if (!r)
            std::abort();
        b = std::move(*r);
    }
    ipc::Request reqs[kMaxBatch];
    for (std::uint32_t i = 0; i < kMaxBatch; ++i) {
        reqs[i].opcode = opcode;
        reqs[i].length = 64;
        reqs[i].user_data = i;
    }
    ipc::Reaped reaped[kMaxBatch];
    Sampler sampler(state, 256 / batch, batch);
    for (auto _ : state) {
        if (best) {
            for (std::uint32_t i = 0; i < batch; ++i) {
                auto e = c.client.prepare();
                if (!e || !c.client.commit(*e, i, opcode, 64, std::move(bufs[i])))
                    std::abort();
            }
        } else {
            for (std::uint32_t i = 0; i < batch; ++i) {
                if (!c.client.submit(reqs[i], std::move(bufs[i])))
                    std::abort();
            }
        }
        c.client.publish();
        if ((batched ? serve_batch(s.server) : serve_once(s.server, best)) != int(batch))
            std::abort();
        if (batched) {
            auto n = c.client.reap_batch(std::span(reaped, batch));
            if (!n || *n != batch)
                std::abort();
            for (std::uint32_t i = 0; i < batch; ++i)
                bufs[i] = std::move(reaped[i].buffer);
        } else {
            for (std::uint32_t i = 0; i < batch; ++i) {
                auto r = c.client.reap();
                if (!r || !r->buffer.valid())
                    std::abort();
                bufs[i] = std::move(r->buffer);
            }
        }
        for (std::uint32_t i = 0; i < batch; ++i) {
            if (!bufs[i].valid())
                std::abort();
        }
        sampler.tick();
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * batch));
    state.counters["batch"] = batch;
}

void BM_B4_KeelNop(benchmark::State& state) {
    keel_batch(state, 0, true);
}
void BM_B4_KeelServiceOp(benchmark::State& state) {
    keel_batch(state, kServiceOp, true);
}
void BM_B4_KeelSingleNop(benchmark::State& state) {
    keel_batch(state, 0, false);
}
void BM_B4_KeelSingleServiceOp(benchmark::State& state) {
    keel_batch(state, kServiceOp, false);
}

void BM_B4_UringNop(benchmark::State& state) {
    pin_to_cpu(kMainCpu);
    const auto batch = std::uint32_t(state.range(0));
    io_uring ring;
    if (io_uring_queue_init(64, &ring, 0) < 0) {
        state.SkipWithError("io_uring_queue_init failed");
        return;
    }
    Sampler sampler(state, 256 / batch, batch);
    for (auto _ : state) {
        for (std::uint32_t i = 0; i < batch; ++i) {
            io_uring_sqe* sqe = io_uring_get_sqe(&ring);
            io_uring_prep_nop(sqe);
            sqe->user_data = i;
        }
        if (io_uring_submit_and_wait(&ring, batch) != int(batch))
            std::abort();
        unsigned head, seen = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&ring, head, cqe) {
            if (cqe->res != 0)
                std::abort();
            ++seen;
        }
        if (seen != batch)
            std::abort();
        io_uring_cq_advance(&ring, seen);
        sampler.tick();
    }
    io_uring_queue_exit(&ring);
    state.SetItemsProcessed(std::int64_t(state.iterations() * batch));
    state.counters["batch"] = batch;
}

void sizes(benchmark::internal::Benchmark* b) {
    spread(b);
    b->Arg(1)->Arg(kMaxBatch);
}

}  // namespace

BENCHMARK(BM_B4_KeelNop)->Name("B4/keel/nop")->Apply(sizes);
BENCHMARK(BM_B4_KeelServiceOp)->Name("B4/keel/service_op")->Apply(sizes);
BENCHMARK(BM_B4_KeelSingleNop)->Name("B4/keel_single/nop")->Apply(sizes);
BENCHMARK(BM_B4_KeelSingleServiceOp)->Name("B4/keel_single/service_op")->Apply(sizes);
BENCHMARK(BM_B4_UringNop)->Name("B4/io_uring/nop")->Apply(sizes);

}  // namespace keel::bench

BENCHMARK_MAIN();
