// The Linux transport between two real processes (fork): handshake, futex wake-ups in both
// directions, the client's death as seen by the server, and every way a handshake is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipc/linux/client_endpoint.hpp>
#include <ipc/linux/server_endpoint.hpp>
#include <ipc/linux/socket_io.hpp>

namespace keel::ipc::linux_transport {
namespace {

constexpr std::uint16_t kReverse = abi::kFirstServiceOp;  // reverses the lent bytes in place
constexpr std::uint16_t kOpLimit = kReverse + 1;

// Runs `body` in a forked child that plays the server on `socket`; returns the child's pid.
// The child's exit status is body's return value (99: the handshake failed).
// `client_end` is closed in the child, so that only the parent holds the client's end.
pid_t fork_server(UniqueFd socket, UniqueFd& client_end, const ServerOptions& options,
                  std::function<int(ServerEndpoint&)> body) {
    pid_t pid = ::fork();
    if (pid == 0) {
        client_end.reset();
        int error = 0;
        auto ep = ServerEndpoint::accept(std::move(socket), options, &error);
        int status = ep ? body(*ep) : 99;
        ep.reset();
        ::_exit(status);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Serves kReverse until the client goes. Exit 0 if it went away cleanly.
int reverse_server(ServerEndpoint& ep) {
    for (;;) {
        auto n = ep.poll_wait(-1);
        if (!n) {
            return n.error() == Error::PeerGone ? 0 : 1;
        }
        while (auto op = ep.server().take()) {
            auto bytes = ep.server().bytes(*op);
            std::reverse(bytes.begin(), bytes.end());
            if (!ep.server().complete(op->id, 0, bytes.size())) {
                return 2;
            }
        }
        ep.publish();
    }
}

ServerOptions reverse_options(int death_check_ms = 20) {
    ServerOptions o;
    o.op_limit = kOpLimit;
    o.death_check_ms = death_check_ms;
    return o;
}

TEST(LinuxTransport, RoundTripBetweenProcesses) {
    UniqueFd mine, theirs;
    ASSERT_EQ(socket_pair(&mine, &theirs), 0);
    pid_t pid = fork_server(std::move(theirs), mine, reverse_options(), reverse_server);
    ASSERT_GT(pid, 0);
    theirs.reset();
    {
        int error = -1;
        const Geometry g{.capacity = 8, .buffer_count = 4, .buffer_size = 64};
        auto ep = ClientEndpoint::connect(std::move(mine), g, &error);
        ASSERT_TRUE(ep) << std::strerror(error);
        EXPECT_EQ(ep->op_limit(), kOpLimit);
        Client& c = ep->client();
        for (int round = 0; round < 50; ++round) {
            for (std::uint64_t i = 0; i < 4; ++i) {
                auto b = c.acquire();
                ASSERT_TRUE(b.ok());
                auto bytes = c.bytes(*b);
                for (std::size_t k = 0; k < 10; ++k) {
                    bytes[k] = std::byte(i * 16 + k);
                }
                ASSERT_TRUE(c.submit(Request{.user_data = i, .opcode = kReverse, .length = 10},
                                     std::move(*b)));
            }
            ep->publish();
            for (int k = 0; k < 4; ++k) {
                auto done = ep->reap_wait(5000);
                ASSERT_TRUE(done.ok()) << error_name(done.error());
                ASSERT_EQ(done->status, 0);
                ASSERT_EQ(done->value, 10u);
                auto bytes = c.bytes(done->buffer);
                for (std::size_t j = 0; j < 10; ++j) {
                    ASSERT_EQ(bytes[j], std::byte(done->user_data * 16 + 9 - j));
                }
            }
            ASSERT_EQ(c.pooled_buffers(), 4u);
        }
    }  // closing the endpoint is how the server learns to stop
    EXPECT_EQ(wait_exit(pid), 0);
}

// With death checks every 5 s, only futex wake-ups can make these round trips fast: the
// server sleeps on the submission tail, the client on the completion tail. A missed wake-up
// costs 5 s and fails the 1.5 s bound of that round trip.
TEST(LinuxTransport, SleepersAreWokenByFutex) {
    UniqueFd mine, theirs;
    ASSERT_EQ(socket_pair(&mine, &theirs), 0);
    pid_t pid = fork_server(std::move(theirs), mine, reverse_options(5000), reverse_server);
    ASSERT_GT(pid, 0);
    {
        int error = -1;
        ClientOptions co;
        co.death_check_ms = 5000;
        auto ep = ClientEndpoint::connect(std::move(mine), {2, 1, 64}, &error, co);
        ASSERT_TRUE(ep) << std::strerror(error);
        auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < 20; ++i) {
            // Let the server fall asleep first, so each submission has to wake it.
            ::usleep(5000);
            auto b = ep->client().acquire();
            ASSERT_TRUE(b.ok());
            ASSERT_TRUE(
                ep->client().submit(Request{.opcode = kReverse, .length = 8}, std::move(*b)));
            ep->publish();
            auto done = ep->reap_wait(1500);
            ASSERT_TRUE(done.ok()) << error_name(done.error());
        }
        auto elapsed = std::chrono::steady_clock::now() - start;
        // 20 round trips with 100 ms of deliberate sleep.
        EXPECT_LT(elapsed, std::chrono::seconds(3));
    }  // the endpoint's close wakes the server asleep on the submission tail: it exits now
    auto closing = std::chrono::steady_clock::now();
    EXPECT_EQ(wait_exit(pid), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - closing, std::chrono::seconds(3));
}

// Thousands of one-at-a-time round trips: each side falls asleep between them, so each one
// races a sleeper against a waker on both rings. Death checks are 5 s away, so a single lost
// wake-up fails the 2 s bound on that round trip.
TEST(LinuxTransport, ManyRoundTripsLoseNoWakeUp) {
    UniqueFd mine, theirs;
    ASSERT_EQ(socket_pair(&mine, &theirs), 0);
    pid_t pid = fork_server(std::move(theirs), mine, reverse_options(5000), reverse_server);
    ASSERT_GT(pid, 0);
    {
        int error = -1;
        ClientOptions co;
        co.death_check_ms = 5000;
        auto ep = ClientEndpoint::connect(std::move(mine), {1, 1, 64}, &error, co);
        ASSERT_TRUE(ep) << std::strerror(error);
        for (std::uint64_t i = 0; i < 20000; ++i) {
            auto b = ep->client().acquire();
            ASSERT_TRUE(b.ok());
            ep->client().bytes(*b)[0] = std::byte(i);
            ASSERT_TRUE(ep->client().submit(
                Request{.user_data = i, .opcode = kReverse, .length = 1}, std::move(*b)));
            ep->publish();
            auto done = ep->reap_wait(2000);
            ASSERT_TRUE(done.ok()) << "round trip " << i << ": " << error_name(done.error());
            ASSERT_EQ(done->user_data, i);
            ASSERT_EQ(ep->client().bytes(done->buffer)[0], std::byte(i));
        }
    }
    EXPECT_EQ(wait_exit(pid), 0);
}

// The server closes (gracefully) while the client sleeps with an operation pending: the close
// wakes the client at once (its death check is 5 s away) and the operation completes with
// PeerGone, buffer returned. The server process stays alive meanwhile, so the socket says
// nothing: only the close flag and its wake-up can.
TEST(LinuxTransport, ServerCloseWakesSleepingClient) {
    UniqueFd mine, theirs;
    ASSERT_EQ(socket_pair(&mine, &theirs), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        mine.reset();
        int error = 0;
        auto ep = ServerEndpoint::accept(std::move(theirs), reverse_options(), &error);
        if (!ep) {
            ::_exit(1);
        }
        auto n = ep->poll_wait(5000);  // the operation is queued, and never served
        if (!n || ep->server().queued() != 1) {
            ::_exit(2);
        }
        ::usleep(200'000);  // the client is asleep by now
        ep.reset();         // close, and wake the client
        ::sleep(10);        // keep the socket open: the parent kills us
        ::_exit(0);
    }
    ASSERT_GT(pid, 0);
    theirs.reset();
    {
        int error = -1;
        ClientOptions co;
        co.death_check_ms = 5000;
        auto ep = ClientEndpoint::connect(std::move(mine), {4, 1, 64}, &error, co);
        ASSERT_TRUE(ep) << std::strerror(error);
        auto b = ep->client().acquire();
        ASSERT_TRUE(b.ok());
        ASSERT_TRUE(ep->client().submit(Request{.opcode = kReverse, .length = 8}, std::move(*b)));
        ep->publish();
        auto start = std::chrono::steady_clock::now();
        auto done = ep->reap_wait(1500);
        ASSERT_TRUE(done.ok()) << error_name(done.error());
        EXPECT_EQ(done->status, std::uint16_t(abi::Status::PeerGone));
        EXPECT_TRUE(done->buffer.valid());
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
        EXPECT_TRUE(ep->client().torn_down());
    }
    ::kill(pid, SIGKILL);
    EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
}

// The client dies with operations queued and taken: the server sees PeerGone, completes the
// taken ones into the void, and exits cleanly.
TEST(LinuxTransport, ServerSurvivesClientDeath) {
    UniqueFd mine, theirs;
    ASSERT_EQ(socket_pair(&mine, &theirs), 0);
    pid_t client = ::fork();
    if (client == 0) {
        theirs.reset();
        int error = 0;
        auto ep = ClientEndpoint::connect(std::move(mine), {8, 4, 64}, &error);
        if (!ep) {
            ::_exit(1);
        }
        for (int i = 0; i < 4; ++i) {
            auto b = ep->client().acquire();
            if (!b ||
                !ep->client().submit(Request{.opcode = kReverse, .length = 4}, std::move(*b))) {
                ::_exit(2);
            }
        }
        ep->publish();
        ::_exit(0);  // dies without closing: no destructor runs
    }
    ASSERT_GT(client, 0);
    mine.reset();
    int error = -1;
    auto ep = ServerEndpoint::accept(std::move(theirs), reverse_options(), &error);
    ASSERT_TRUE(ep) << std::strerror(error);
    EXPECT_EQ(wait_exit(client), 0);
    // Take one operation, then notice the death, then complete it: nothing is posted.
    std::uint32_t taken = 0;
    bool took = false;
    while (!took) {
        auto n = ep->poll_wait(5000);
        ASSERT_TRUE(n.ok()) << error_name(n.error());
        if (auto op = ep->server().take()) {
            taken = op->id;
            took = true;
        }
    }
    auto gone = ep->poll_wait(5000);
    ASSERT_FALSE(gone.ok()) << "queued " << ep->server().queued();
    EXPECT_EQ(gone.error(), Error::PeerGone);
    EXPECT_EQ(ep->server().queued(), 0u);
    EXPECT_TRUE(ep->server().cancel_requested(taken));
    std::uint32_t tail = ep->server().cq_tail();
    EXPECT_TRUE(ep->server().complete(taken, 0, 0));
    EXPECT_EQ(ep->server().cq_tail(), tail);
    EXPECT_EQ(ep->server().taken(), 0u);
}

// ---- refused handshakes: both ends in this process, messages queued in the socket ----

struct Refusal {
    int server_error;
    ReplyStatus reply;
};

// Sends `hello` (with `fd`, if >= 0) and runs accept; returns its error and the reply.
Refusal handshake(std::span<const std::byte> hello, int fd, const ServerOptions& options = {}) {
    UniqueFd mine, theirs;
    EXPECT_EQ(socket_pair(&mine, &theirs), 0);
    EXPECT_EQ(send_message(mine.get(), hello, fd), 0);
    Refusal out{-1, ReplyStatus::Accepted};
    auto ep = ServerEndpoint::accept(std::move(theirs), options, &out.server_error);
    EXPECT_FALSE(ep);
    std::byte answer[kReplySize];
    Received rx;
    EXPECT_EQ(receive_message(mine.get(), answer, &rx, 1000), 0);
    auto reply = parse_reply(std::span<const std::byte>(answer, rx.size));
    EXPECT_TRUE(reply.ok());
    if (reply) {
        out.reply = reply->status;
    }
    return out;
}

int sealed_memfd(std::size_t size, bool seal) {
    int fd = ::memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::ftruncate(fd, off_t(size)), 0);
    if (seal) {
        EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    }
    return fd;
}

const Geometry kG{.capacity = 8, .buffer_count = 2, .buffer_size = 4096};
std::size_t region_size() {
    return kQueueOffset + Layout::compute(kG)->total_size;
}

TEST(LinuxHandshake, RefusesGarbage) {
    std::byte junk[kHelloSize] = {};
    UniqueFd fd(sealed_memfd(region_size(), true));
    auto r = handshake(junk, fd.get());
    EXPECT_EQ(r.server_error, EPROTO);
    EXPECT_EQ(r.reply, ReplyStatus::BadHello);
}

TEST(LinuxHandshake, RefusesHelloWithoutMemfd) {
    auto r = handshake(encode_hello(Hello{kG, region_size()}), -1);
    EXPECT_EQ(r.server_error, EPROTO);
    EXPECT_EQ(r.reply, ReplyStatus::BadHello);
}

TEST(LinuxHandshake, RefusesGeometryBeyondLimits) {
    Geometry big{.capacity = 8, .buffer_count = 2, .buffer_size = 1u << 21};
    UniqueFd fd(sealed_memfd(4096, true));
    auto r = handshake(encode_hello(Hello{big, kQueueOffset + Layout::compute(big)->total_size}),
                       fd.get());
    EXPECT_EQ(r.server_error, E2BIG);
    EXPECT_EQ(r.reply, ReplyStatus::TooLarge);
}

// A memfd the client could still shrink would let it turn our accesses into SIGBUS.
TEST(LinuxHandshake, RefusesUnsealedMemfd) {
    UniqueFd fd(sealed_memfd(region_size(), false));
    auto r = handshake(encode_hello(Hello{kG, region_size()}), fd.get());
    EXPECT_EQ(r.server_error, EPERM);
    EXPECT_EQ(r.reply, ReplyStatus::BadRegion);
}

TEST(LinuxHandshake, RefusesMemfdOfWrongSize) {
    UniqueFd fd(sealed_memfd(region_size() + 4096, true));
    auto r = handshake(encode_hello(Hello{kG, region_size()}), fd.get());
    EXPECT_EQ(r.server_error, EINVAL);
    EXPECT_EQ(r.reply, ReplyStatus::BadRegion);
}

TEST(LinuxHandshake, RefusesRegionWithoutQueueHeader) {
    UniqueFd fd(sealed_memfd(region_size(), true));  // all zeros: no magic
    auto r = handshake(encode_hello(Hello{kG, region_size()}), fd.get());
    EXPECT_EQ(r.server_error, EBADMSG);
    EXPECT_EQ(r.reply, ReplyStatus::BadQueue);
}

// The client's side of a bad handshake: the answer is queued before connect() reads it.
int client_error_for(std::span<const std::byte> answer, bool close_instead,
                     ReplyStatus* refusal = nullptr) {
    UniqueFd mine, theirs;
    EXPECT_EQ(socket_pair(&mine, &theirs), 0);
    if (close_instead) {
        theirs.reset();
    } else {
        EXPECT_EQ(send_message(theirs.get(), answer, -1), 0);
    }
    int error = 0;
    auto ep = ClientEndpoint::connect(std::move(mine), kG, &error, {}, refusal);
    EXPECT_FALSE(ep);
    return error;
}

TEST(LinuxHandshake, ClientRefusesBadAnswers) {
    std::byte junk[kReplySize] = {};
    EXPECT_EQ(client_error_for(junk, false), EPROTO);
    auto good = encode_reply(HelloReply{ReplyStatus::Accepted, 20});
    EXPECT_EQ(client_error_for(std::span(good).first(kReplySize - 1), false), EPROTO);
    ReplyStatus why = ReplyStatus::Accepted;
    EXPECT_EQ(client_error_for(encode_reply(HelloReply{ReplyStatus::TooLarge, 0}), false, &why),
              ECONNREFUSED);
    EXPECT_EQ(why, ReplyStatus::TooLarge);
    // A closed peer: the Hello cannot even be sent (EPIPE), or the answer is EOF.
    int e = client_error_for({}, true);
    EXPECT_TRUE(e == EPIPE || e == ECONNRESET) << std::strerror(e);
}

}  // namespace
}  // namespace keel::ipc::linux_transport
