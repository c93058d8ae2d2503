// B6: request/response between two processes (parent on core 0, a forked child on core 1):
// 64-byte request, 16-byte response, one outstanding at a time.
//
//   keel_linux/block  the Linux transport (ipc/linux/: sealed memfd, futex wake-ups): the
//                   client sleeps in reap_wait, the server in poll_wait; the peer of the
//                   blocking socket and pipe rows
//   keel_linux/spin   the same endpoints, both sides busy-polling the library (the transport's
//                   publish still checks whether the peer sleeps)
//   keel_shm/spin   the bare library over a MAP_SHARED region, no transport: the floor the
//                   transport's spin row is held against
//   uds/block, pipe/block   a Unix-domain stream socket pair / two pipes, blocking read()
//   uds/spin,  pipe/spin    the same with non-blocking reads retried in a loop: the system
//                           call cost without the sleep/wake-up, the fair peer of the spin row
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <span>

#include <benchmark/benchmark.h>

#include "common.hpp"
#include "queue_fixture.hpp"

#if KEEL_BENCH_LINUX_TRANSPORT
#include <ipc/linux/client_endpoint.hpp>
#include <ipc/linux/server_endpoint.hpp>
#endif

namespace keel::bench {
namespace {

constexpr std::size_t kRequest = 64, kResponse = 16;

// Reads exactly n bytes; spin: retry EAGAIN instead of sleeping. False on EOF or error.
bool read_full(int fd, void* p, std::size_t n, bool spin) {
    auto* b = static_cast<char*>(p);
    while (n > 0) {
        ssize_t r = ::read(fd, b, n);
        if (r > 0) {
            b += r;
            n -= std::size_t(r);
        } else if (r < 0 && (errno == EINTR || (spin && errno == EAGAIN))) {
            continue;
        } else {
            return false;
        }
    }
    return true;
}
bool write_full(int fd, const void* p, std::size_t n) {
    auto* b = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t r = ::write(fd, b, n);
        if (r > 0) {
            b += r;
            n -= std::size_t(r);
        } else if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        } else {
            return false;
        }
    }
    return true;
}

void set_nonblocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void fd_round_trip(benchmark::State& state, bool use_socket, bool spin) {
    pin_to_cpu(kMainCpu);
    int req[2], resp[2];  // [0] read end, [1] write end
    if (use_socket) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            std::abort();
        req[0] = sv[1];  // child reads requests on sv[1], writes responses there
        req[1] = sv[0];
        resp[0] = sv[0];
        resp[1] = sv[1];
    } else if (::pipe(req) != 0 || ::pipe(resp) != 0) {
        std::abort();
    }
    pid_t child = ::fork();
    if (child < 0)
        std::abort();
    // Each side closes the other's ends, so that the child sees EOF when the parent closes.
    if (child == 0) {
        ::close(req[1]);
        if (!use_socket)
            ::close(resp[0]);
        pin_to_cpu(kPeerCpu);
        if (spin)
            set_nonblocking(req[0]);
        char in[kRequest] = {}, out[kResponse] = {};
        while (read_full(req[0], in, kRequest, spin)) {
            out[0] = in[0];
            if (!write_full(resp[1], out, kResponse))
                break;
        }
        ::_exit(0);
    }
    ::close(req[0]);
    if (!use_socket)
        ::close(resp[1]);
    if (spin)
        set_nonblocking(resp[0]);
    char out[kRequest] = {}, in[kResponse] = {};
    auto round_trip = [&] {
        out[0]++;
        return write_full(req[1], out, kRequest) && read_full(resp[0], in, kResponse, spin) &&
               in[0] == out[0];
    };
    bool ok = round_trip();  // untimed: the child is up and running
    Sampler sampler(state, spin ? 64 : 4, 1);
    for (auto _ : state) {
        if (!ok || !round_trip()) {
            state.SkipWithError("peer process failed");
            break;
        }
        sampler.tick();
    }
    ::close(req[1]);
    if (!use_socket)
        ::close(resp[0]);
    ::waitpid(child, nullptr, 0);
}

// The Keel queue in anonymous shared memory, inherited by the child across fork. A stop word
// after the queue tells the child to leave.
void keel_shm_round_trip(benchmark::State& state) {
    pin_to_cpu(kMainCpu);
    const ipc::Geometry g{64, 1, 64};
    const std::size_t queue_bytes = layout_of(g).total_size;
    const std::size_t bytes = queue_bytes + 4096;
    void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        std::abort();
    std::span<std::byte> region(static_cast<std::byte*>(mem), queue_bytes);
    auto* stop =
        reinterpret_cast<std::atomic<std::uint32_t>*>(static_cast<char*>(mem) + queue_bytes);
    stop->store(0);
    ClientEnd c(region, g);  // created before fork: the child attaches to a finished header
    pid_t child = ::fork();
    if (child < 0)
        std::abort();
    if (child == 0) {
        pin_to_cpu(kPeerCpu);
        ServerEnd s(region, g);
        while (stop->load(std::memory_order_relaxed) == 0) {
            if (serve_once(s.server) < 0)
                ::_exit(1);
        }
        ::_exit(0);
    }
    auto held = c.client.acquire();
    if (!held)
        std::abort();
    ipc::Buffer buf = std::move(*held);
    ipc::Request req;
    req.opcode = kServiceOp;
    req.length = 64;
    auto round_trip = [&] {
        req.user_data++;
        if (!c.client.submit(req, std::move(buf)))
            std::abort();
        c.client.publish();
        while (true) {
            auto r = c.client.reap();
            if (r) {
                buf = std::move(r->buffer);
                return;
            }
            if (r.error() != ipc::Error::Empty)
                std::abort();
        }
    };
    round_trip();  // untimed: the child is up and attached
    {
        Sampler sampler(state, 64, 1);
        for (auto _ : state) {
            round_trip();
            sampler.tick();
        }
    }
    stop->store(1);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        state.SkipWithError("server process failed");
    buf.reset();
    ::munmap(mem,
             bytes);  // after the client's last use (its destructor touches only private state)
}

#if KEEL_BENCH_LINUX_TRANSPORT
namespace lt = ipc::linux_transport;

// The child: accept the queue on its end of the socket pair and serve until the client goes.
[[noreturn]] void transport_server(int fd, bool spin) {
    pin_to_cpu(kPeerCpu);
    lt::ServerOptions options;
    options.op_limit = kServiceOp + 1;
    int error = 0;
    auto ep = lt::ServerEndpoint::accept(lt::UniqueFd(fd), options, &error);
    if (!ep)
        ::_exit(10);
    while (true) {
        if (spin) {
            auto n = ep->server().poll();
            if (!n)
                ::_exit(n.error() == ipc::Error::PeerGone ? 0 : 11);
        } else {
            auto n = ep->poll_wait(-1);
            if (!n)
                ::_exit(n.error() == ipc::Error::PeerGone ? 0 : 12);
        }
        bool took = false;
        while (auto op = ep->server().take()) {
            took = true;
            if (!ep->server().complete(op->id, std::uint16_t(ipc::abi::Status::Ok), 0)) {
                ::_exit(13);
            }
        }
        if (took)
            ep->publish();
    }
}

void transport_round_trip(benchmark::State& state, bool spin) {
    pin_to_cpu(kMainCpu);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        std::abort();
    pid_t child = ::fork();
    if (child < 0)
        std::abort();
    if (child == 0) {
        ::close(sv[0]);
        transport_server(sv[1], spin);
    }
    ::close(sv[1]);
    int error = 0;
    {
        auto ep =
            lt::ClientEndpoint::connect(lt::UniqueFd(sv[0]), ipc::Geometry{64, 1, 64}, &error);
        if (!ep) {
            state.SkipWithError("transport connect failed");
        } else {
            auto held = ep->client().acquire();
            if (!held)
                std::abort();
            ipc::Buffer buf = std::move(*held);
            ipc::Request req;
            req.opcode = kServiceOp;
            req.length = 64;
            auto round_trip = [&] {
                req.user_data++;
                if (!ep->client().submit(req, std::move(buf)))
                    std::abort();
                ep->publish();
                while (true) {
                    auto r = spin ? ep->client().reap() : ep->reap_wait(-1);
                    if (r) {
                        buf = std::move(r->buffer);
                        return;
                    }
                    if (r.error() != ipc::Error::Empty)
                        std::abort();
                }
            };
            round_trip();  // untimed: the child is up and attached
            Sampler sampler(state, spin ? 64 : 4, 1);
            for (auto _ : state) {
                round_trip();
                sampler.tick();
            }
            buf.reset();  // every Buffer goes before its endpoint
        }
    }  // the endpoint closes: the server sees PeerGone and leaves
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        state.SkipWithError("server process failed");
}

void BM_B6_KeelLinuxBlock(benchmark::State& state) {
    transport_round_trip(state, false);
}
void BM_B6_KeelLinuxSpin(benchmark::State& state) {
    transport_round_trip(state, true);
}
#endif

void BM_B6_KeelShm(benchmark::State& state) {
    keel_shm_round_trip(state);
}
void BM_B6_UdsBlock(benchmark::State& state) {
    fd_round_trip(state, true, false);
}
void BM_B6_PipeBlock(benchmark::State& state) {
    fd_round_trip(state, false, false);
}
void BM_B6_UdsSpin(benchmark::State& state) {
    fd_round_trip(state, true, true);
}
void BM_B6_PipeSpin(benchmark::State& state) {
    fd_round_trip(state, false, true);
}

}  // namespace

#if KEEL_BENCH_LINUX_TRANSPORT
BENCHMARK(BM_B6_KeelLinuxBlock)->Name("B6/keel_linux/block")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B6_KeelLinuxSpin)->Name("B6/keel_linux/spin")->Apply(spread)->UseRealTime();
#endif
BENCHMARK(BM_B6_KeelShm)->Name("B6/keel_shm/spin")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B6_UdsSpin)->Name("B6/uds/spin")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B6_PipeSpin)->Name("B6/pipe/spin")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B6_UdsBlock)->Name("B6/uds/block")->Apply(spread)->UseRealTime();
BENCHMARK(BM_B6_PipeBlock)->Name("B6/pipe/block")->Apply(spread)->UseRealTime();

}  // namespace keel::bench

BENCHMARK_MAIN();
