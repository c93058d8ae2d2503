// B3: round trip through a Keel queue across the two cores: the client (core 0) submits and
// publishes, the server (core 1, spinning on poll) completes, the client spins on reap until
// the completion arrives. Held against B1's cache-line ping-pong, run interleaved in this
// process. Two flavours: a Nop (the server library answers it inside poll) and a service
// operation (poll, take, complete, publish: what a real server does).
#include <atomic>
#include <cstdint>
#include <cstdlib>

#include <benchmark/benchmark.h>

#include "common.hpp"
#include "pingpong.hpp"
#include "queue_fixture.hpp"

namespace keel::bench {
namespace {

void queue_round_trip(benchmark::State& state, std::uint16_t opcode) {
    pin_to_cpu(kMainCpu);
    const ipc::Geometry g{64, 0, 0};
    Region region(layout_of(g).total_size);
    ClientEnd c(region.span(), g);
    ServerEnd s(region.span(), g);
    Line<std::atomic<int>> server_failed;
    {
        PeerThread server([&](std::atomic<bool>& stop) {
            while (!stop.load(std::memory_order_relaxed)) {
                if (serve_once(s.server) < 0) {
                    server_failed.value.store(1);
                    return;
                }
            }
        });
        ipc::Request req;
        req.opcode = opcode;
        auto round_trip = [&] {
            req.user_data++;
            if (!c.client.submit(req))
                std::abort();
            c.client.publish();
            while (true) {
                auto r = c.client.reap();
                if (r) {
                    if (r->status != std::uint16_t(ipc::abi::Status::Ok))
                        std::abort();
                    return;
                }
                if (r.error() != ipc::Error::Empty || server_failed.value.load())
                    std::abort();
            }
        };
        round_trip();  // untimed: the server has seen the queue once
        Sampler sampler(state, 256, 1);
        for (auto _ : state) {
            round_trip();
            sampler.tick();
        }
    }
}

void BM_B3_Floor(benchmark::State& state) {
    pingpong_round_trip(state);
}
void BM_B3_Nop(benchmark::State& state) {
    queue_round_trip(state, 0);
}
void BM_B3_ServiceOp(benchmark::State& state) {
    queue_round_trip(state, kServiceOp);
}

}  // namespace

BENCHMARK(BM_B3_Floor)->Name("B3/floor_pingpong_rtt")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B3_Nop)->Name("B3/keel_queue_rtt/nop")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B3_ServiceOp)->Name("B3/keel_queue_rtt/service_op")->Apply(spread)->UseRealTime();

}  // namespace keel::bench

BENCHMARK_MAIN();
