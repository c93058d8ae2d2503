// B1: the physical floor between the two cores: a cache-line ping-pong round trip, and a
// one-way transfer timed directly with the time-stamp counter.
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "common.hpp"
#include "pingpong.hpp"

namespace keel::bench {
namespace {

// One-way: the benchmark thread stamps the line with rdtsc and publishes it; the peer reads
// rdtsc as soon as it sees the new value and keeps the difference, then acknowledges on a
// second line so that only one transfer is in flight. This needs the two cores' TSCs in step
// (constant_tsc, one socket; true on these machines); half the ping-pong is the cross-check
// that does not. Counter p50_ns: the median transfer (a transfer during which the peer was
// preempted is an outlier the median ignores).
struct Stamp {
    std::atomic<std::uint64_t> seq{0};
    std::atomic<std::uint64_t> tsc{0};
};

void BM_B1_OneWay(benchmark::State& state) {
    pin_to_cpu(kMainCpu);
    Line<Stamp> line;
    Line<std::atomic<std::uint64_t>> ack;
    std::vector<std::uint64_t> deltas;  // the peer's, read after join
    deltas.reserve(std::size_t(state.max_iterations));
    {
        PeerThread peer([&](std::atomic<bool>& stop) {
            std::uint64_t seen = 0;
            while (true) {
                std::uint64_t v;
                while ((v = line.value.seq.load(std::memory_order_acquire)) == seen) {
                    if (stop.load(std::memory_order_relaxed))
                        return;
                }
                std::uint64_t now = __rdtsc();
                deltas.push_back(now - line.value.tsc.load(std::memory_order_relaxed));
                ack.value.store(v, std::memory_order_release);
                seen = v;
            }
        });
        std::uint64_t seq = 0;
        for (auto _ : state) {
            ++seq;
            line.value.tsc.store(__rdtsc(), std::memory_order_relaxed);
            line.value.seq.store(seq, std::memory_order_release);
            while (ack.value.load(std::memory_order_acquire) != seq) {
            }
        }
    }
    if (!deltas.empty()) {
        auto mid = deltas.begin() + std::ptrdiff_t(deltas.size() / 2);
        std::nth_element(deltas.begin(), mid, deltas.end());
        state.counters["p50_ns"] = double(*mid) * ns_per_tick();
    }
}

void BM_B1_PingPong(benchmark::State& state) {
    pingpong_round_trip(state);
}

}  // namespace

BENCHMARK(BM_B1_PingPong)->Name("B1/pingpong_rtt")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B1_OneWay)->Name("B1/oneway_tsc")->Apply(spread)->UseRealTime();

}  // namespace keel::bench

BENCHMARK_MAIN();
