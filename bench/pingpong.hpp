// B1's floor: a cache-line ping-pong between two pinned threads. Shared by bench_b1 (where it
// is the row) and bench_b3 (where it is the baseline the queue round trip is held against).
#pragma once

#include <atomic>
#include <cstdint>

#include <benchmark/benchmark.h>

#include "common.hpp"

namespace keel::bench {

// One round trip per iteration: the benchmark thread writes `ping`, the peer sees it and
// writes `pong`, the benchmark thread sees that. Each flag is alone on its line, so a round
// trip moves two lines between the cores: the least any request/response can move.
// Half of it is the usual estimate of a one-way transfer (the summary reports both).
inline void pingpong_round_trip(benchmark::State& state) {
    pin_to_cpu(kMainCpu);
    Line<std::atomic<std::uint64_t>> ping, pong;
    {
        PeerThread peer([&](std::atomic<bool>& stop) {
            std::uint64_t seen = 0;
            while (true) {
                std::uint64_t v;
                while ((v = ping.value.load(std::memory_order_acquire)) == seen) {
                    if (stop.load(std::memory_order_relaxed))
                        return;
                }
                pong.value.store(v, std::memory_order_release);
                seen = v;
            }
        });
        std::uint64_t seq = 0;
        Sampler sampler(state, 256, 1);
        for (auto _ : state) {
            ++seq;
            ping.value.store(seq, std::memory_order_release);
            while (pong.value.load(std::memory_order_acquire) != seq) {
            }
            sampler.tick();
        }
    }
}

}  // namespace keel::bench
