// Shared helpers for the benchmark binaries: core pinning, the quick (smoke) mode, the spread
// statistics every row reports, and a pinned helper thread for the two-thread rows.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

namespace keel::bench {

// Cores of the two-thread rows: the benchmark thread on 0, its peer on 1 (issue 9, B1).
inline constexpr int kMainCpu = 0;
inline constexpr int kPeerCpu = 1;

// Best effort: on a one-core machine the pin fails and the run still works (slowly).
inline void pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// KEEL_BENCH_QUICK=1 (the bench_smoke test): tiny sizes, only to prove each row still runs.
inline bool quick() {
    const char* q = std::getenv("KEEL_BENCH_QUICK");
    return q != nullptr && q[0] == '1';
}

// Min and max next to Google Benchmark's mean/median/stddev/cv: the spread the README shows.
// Use as BENCHMARK(f)->Apply(spread).
inline void spread(benchmark::internal::Benchmark* b) {
    b->ComputeStatistics("min", [](const std::vector<double>& v) {
         return *std::min_element(v.begin(), v.end());
     })->ComputeStatistics("max", [](const std::vector<double>& v) {
        return *std::max_element(v.begin(), v.end());
    });
}

// Nanoseconds per time-stamp-counter tick, measured once against steady_clock (constant_tsc).
inline double ns_per_tick() {
    static const double value = [] {
        auto t0 = std::chrono::steady_clock::now();
        std::uint64_t c0 = __rdtsc();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(20)) {
        }
        std::uint64_t c1 = __rdtsc();
        auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0);
        return ns.count() / double(c1 - c0);
    }();
    return value;
}

// Why: the cores are shared with other people's builds, and a spinning pair of threads whose
// peer is descheduled waits milliseconds. Google Benchmark's time is the mean over the whole
// repetition, which such a stall dominates. The sampler also times every `every` iterations
// with the TSC and reports the median block as counter p50_ns (per operation): a block that
// was preempted is an outlier the median ignores. Both numbers land in the JSON; the summary
// leads with p50_ns and shows the mean-based time beside it.
class Sampler {
  public:
    Sampler(benchmark::State& state, std::uint32_t every, double ops_per_iteration)
        : state_(state), every_(every), ops_(ops_per_iteration) {
        samples_.reserve(std::size_t(state.max_iterations / every + 1));
        last_ = __rdtsc();
    }
    // Once per iteration, at its end.
    void tick() {
        if (++n_ == every_) {
            std::uint64_t now = __rdtsc();
            samples_.push_back(now - last_);
            last_ = now;
            n_ = 0;
        }
    }
    ~Sampler() {
        if (samples_.empty())
            return;
        auto mid = samples_.begin() + std::ptrdiff_t(samples_.size() / 2);
        std::nth_element(samples_.begin(), mid, samples_.end());
        state_.counters["p50_ns"] = double(*mid) * ns_per_tick() / (double(every_) * ops_);
    }
    Sampler(const Sampler&) = delete;
    Sampler& operator=(const Sampler&) = delete;

  private:
    benchmark::State& state_;
    std::uint32_t every_;
    double ops_;
    std::uint32_t n_ = 0;
    std::uint64_t last_;
    std::vector<std::uint64_t> samples_;
};

// One variable alone on its cache line, so that two of them never share one.
template <class T>
struct alignas(64) Line {
    T value{};
};

// A peer thread pinned to kPeerCpu that runs `body(stop)` until `stop` turns true; joined by
// the destructor. The constructor returns only once the peer runs on its core, so that no
// timed loop pays for thread start-up. Every two-thread row spins without pause on both sides,
// baselines too.
class PeerThread {
  public:
    template <class F>
    explicit PeerThread(F body)
        : thread_([this, body]() mutable {
              pin_to_cpu(kPeerCpu);
              ready_.value.store(true, std::memory_order_release);
              body(stop_.value);
          }) {
        while (!ready_.value.load(std::memory_order_acquire)) {
        }
    }
    PeerThread(const PeerThread&) = delete;
    PeerThread& operator=(const PeerThread&) = delete;
    ~PeerThread() {
        stop_.value.store(true, std::memory_order_relaxed);
        thread_.join();
    }

  private:
    Line<std::atomic<bool>> stop_;
    Line<std::atomic<bool>> ready_;
    std::thread thread_;
};

}  // namespace keel::bench
