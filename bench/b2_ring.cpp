// B2: two-thread ring throughput, 16-byte and 64-byte entries: Keel's SpscRing (ipc's ring
// counters and rules, cached peer index) against boost::lockfree::spsc_queue, same capacity,
// same entry, same spin discipline. Each repetition moves a fixed number of entries from the
// benchmark thread (core 0) to the peer (core 1); time runs from the start signal until the
// peer has taken and checked the last entry (manual time), so a ring cannot look fast by
// filling up without being drained.
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/lockfree/spsc_queue.hpp>
#include <ipc/spsc_ring.hpp>

#include "common.hpp"

namespace keel::bench {
namespace {

constexpr std::size_t kCapacity = 1024;  // entries, both rings

template <std::size_t N>
struct Entry {
    std::uint64_t w[N / 8];
};
static_assert(sizeof(Entry<16>) == 16 && sizeof(Entry<64>) == 64);

// Short repetitions, many of them: on a shared machine a preempted repetition is an outlier
// the median ignores, where one long run would average it in.
std::uint64_t items() {
    return quick() ? 20'000 : 500'000;
}
int repetitions() {
    return quick() ? 3 : 30;
}

// Keel: the ring's header and entries as a creator would lay them out in shared memory; each
// end's private state on its own line.
template <std::size_t N>
struct KeelRing {
    using E = Entry<N>;
    ipc::abi::RingHeader header;
    alignas(64) E entries[kCapacity];
    alignas(64) ipc::SpscProducer<E> producer;
    alignas(64) ipc::SpscConsumer<E> consumer;

    KeelRing() {
        ipc::spsc_ring_init(header);
        if (!producer.attach(header, std::span(entries)) ||
            !consumer.attach(header, std::span(entries))) {
            std::abort();
        }
    }
    bool push(const E& e) { return producer.push(e).ok(); }
    bool pop(E& out) {
        auto r = consumer.pop();
        if (!r) {
            if (r.error() != ipc::Error::Empty)
                std::abort();
            return false;
        }
        out = *r;
        return true;
    }
};

template <std::size_t N>
struct BoostRing {
    using E = Entry<N>;
    boost::lockfree::spsc_queue<E, boost::lockfree::capacity<kCapacity>> q;
    bool push(const E& e) { return q.push(e); }
    bool pop(E& out) { return q.pop(out); }
};

template <class Ring>
void BM_B2_Throughput(benchmark::State& state) {
    using E = typename Ring::E;
    pin_to_cpu(kMainCpu);
    auto ring = std::make_unique<Ring>();
    const std::uint64_t n = items();
    // Producer-side blocks of kChunk pushes, timed with the TSC: in steady state the ring is
    // full or empty and the producer runs at the pair's rate; counter p50_Mps is the median
    // block (see Sampler in common.hpp for why a median of blocks).
    constexpr std::uint64_t kChunk = 4096;
    std::vector<std::uint64_t> chunks;
    chunks.reserve(n / kChunk + 1);
    for (auto _ : state) {
        Line<std::atomic<int>> go, done;
        Line<std::uint64_t> bad;  // entries that arrived out of order (must stay 0)
        {
            PeerThread consumer([&](std::atomic<bool>&) {
                while (go.value.load(std::memory_order_acquire) == 0) {
                }
                E e;
                std::uint64_t wrong = 0;
                for (std::uint64_t i = 0; i < n; ++i) {
                    while (!ring->pop(e)) {
                    }
                    wrong += e.w[0] != i;
                }
                bad.value = wrong;
                done.value.store(1, std::memory_order_release);
            });
            E e{};
            auto t0 = std::chrono::steady_clock::now();
            std::uint64_t last = __rdtsc();
            go.value.store(1, std::memory_order_release);
            for (std::uint64_t i = 0; i < n; ++i) {
                e.w[0] = i;
                while (!ring->push(e)) {
                }
                if ((i + 1) % kChunk == 0) {
                    std::uint64_t now = __rdtsc();
                    chunks.push_back(now - last);
                    last = now;
                }
            }
            while (done.value.load(std::memory_order_acquire) == 0) {
            }
            auto t1 = std::chrono::steady_clock::now();
            state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
        }
        if (bad.value != 0)
            state.SkipWithError("entries arrived out of order");
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * n));
    if (!chunks.empty()) {
        auto mid = chunks.begin() + std::ptrdiff_t(chunks.size() / 2);
        std::nth_element(chunks.begin(), mid, chunks.end());
        state.counters["p50_Mps"] = double(kChunk) / (double(*mid) * ns_per_tick()) * 1e3;
    }
    state.counters["entry_bytes"] = double(sizeof(E));
}

void setup(benchmark::internal::Benchmark* b) {
    spread(b);
    b->UseManualTime()->Iterations(1)->Repetitions(repetitions())->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(BM_B2_Throughput, KeelRing<16>)->Name("B2/keel_ring/16B")->Apply(setup);
BENCHMARK_TEMPLATE(BM_B2_Throughput, BoostRing<16>)->Name("B2/boost_spsc/16B")->Apply(setup);
BENCHMARK_TEMPLATE(BM_B2_Throughput, KeelRing<64>)->Name("B2/keel_ring/64B")->Apply(setup);
BENCHMARK_TEMPLATE(BM_B2_Throughput, BoostRing<64>)->Name("B2/boost_spsc/64B")->Apply(setup);

}  // namespace keel::bench

BENCHMARK_MAIN();
