// A consumer of the installed package's Linux transport (component linux, keel::ipc_linux):
// two processes share one queue. The client lends buffers holding lower-case words; the server
// upper-cases them in place, in its own process, and completes; the client reaps, checks every
// result and that every buffer came back, then closes, and the server must exit 0.
//
//   linux_consumer                client: once with this program spawned as its server (the
//                                 socket inherited), once with a forked server reached through
//                                 a listening socket
//   linux_consumer --serve-fd N   server on an inherited socket (what the client spawns)
//
// Exit status 0 only if every check held in both processes. The Platform comes from
// keel::ipc_host_platform (pkg-config: keel_ipc_host_platform).
#include <ipc/linux/client_endpoint.hpp>
#include <ipc/linux/server_endpoint.hpp>
#include <ipc/linux/spawn.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "uppercase.hpp"

namespace {

using namespace keel::ipc;
using namespace keel::ipc::linux_transport;
using namespace keel::examples::consumer;

constexpr std::uint16_t kOpLimit = kUppercase + 1;  // kOpLimit itself is refused: BadRequest
constexpr std::uint64_t kRefused = 99;              // user_data of the refused operation

// ---- server ----

// Serves kUppercase until the client closes. Returns the exit status: 0 if it went cleanly.
int serve(UniqueFd socket) {
    ServerOptions options;
    options.op_limit = kOpLimit;
    int error = 0;
    auto ep = ServerEndpoint::accept(std::move(socket), options, &error);
    if (!ep) {
        std::fprintf(stderr, "linux_consumer server: handshake: %s\n", std::strerror(error));
        return 1;
    }
    for (;;) {
        auto polled = ep->poll_wait(-1);
        if (!polled) {
            return polled.error() == Error::PeerGone ? 0 : 1;
        }
        while (auto op = ep->server().take()) {
            std::uint64_t value = uppercase(ep->server().bytes(*op));
            if (!ep->server().complete(op->id, std::uint16_t(abi::Status::Ok), value)) {
                return 1;
            }
        }
        ep->publish();
    }
}

// ---- client ----

// Several rounds over one queue: every buffer lent at once, plus one refused opcode.
void round_trips(UniqueFd socket, const char* how) {
    const Geometry g{.capacity = 8, .buffer_count = 4, .buffer_size = 64};
    int error = 0;
    auto ep = ClientEndpoint::connect(std::move(socket), g, &error);
    if (!ep) {
        std::fprintf(stderr, "linux_consumer: handshake (%s): %s\n", how, std::strerror(error));
        ++failures;
        return;
    }
    check(ep->op_limit() == kOpLimit, "the server announces its opcodes");
    Client& client = ep->client();
    constexpr int kRounds = 25;
    constexpr int kPerRound = int(kWordCount) + 1;
    int completed = 0;
    for (int round = 0; round < kRounds && failures == 0; ++round) {
        for (std::uint64_t i = 0; i < kWordCount; ++i) {
            if (!submit_word(client, i)) {
                return;
            }
        }
        check(client.submit(Request{.user_data = kRefused, .opcode = kOpLimit}).ok(),
              "submit an opcode the server refuses");
        ep->publish();
        for (int k = 0; k < kPerRound; ++k) {
            auto done = ep->reap_wait(5000);
            check(done.ok(), "reap_wait");
            if (!done) {
                return;
            }
            ++completed;
            if (done->user_data == kRefused) {
                check(done->status == std::uint16_t(abi::Status::BadRequest), "BadRequest");
            } else {
                check_uppercased(client, *done);
            }
        }  // each completion's buffer returns to the pool here
        check(client.pooled_buffers() == g.buffer_count, "every buffer back in the pool");
    }
    check(completed == kRounds * kPerRound, "every operation completed once");
    check(client.outstanding() == 0, "nothing outstanding");
    if (failures == 0) {
        std::printf("linux_consumer: %d operations round-tripped between two processes (%s)\n",
                    completed, how);
    }
}  // the endpoint closes: the server sees it and exits

int wait_exit(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// This very program as the server, its socket inherited (spawn_with_socket).
void spawned_server() {
    std::string fd = std::to_string(kInheritedSocketFd);
    char* args[] = {const_cast<char*>("/proc/self/exe"), const_cast<char*>("--serve-fd"), fd.data(),
                    nullptr};
    UniqueFd socket;
    pid_t server = -1;
    if (int r = spawn_with_socket(args, &socket, &server); r != 0) {
        std::fprintf(stderr, "linux_consumer: spawn: %s\n", std::strerror(-r));
        ++failures;
        return;
    }
    round_trips(std::move(socket), "spawned server, inherited socket");
    check(wait_exit(server) == 0, "the spawned server exits 0 after the client closed");
}

// A forked server that accepts one connection on a listening socket.
void listening_server() {
    char dir[] = "/tmp/keel_linux_consumer.XXXXXX";
    if (::mkdtemp(dir) == nullptr) {
        std::fprintf(stderr, "linux_consumer: mkdtemp: %s\n", std::strerror(errno));
        ++failures;
        return;
    }
    std::string path = std::string(dir) + "/socket";
    UniqueFd listener;
    int r = listen_at(path.c_str(), &listener);
    pid_t server = r == 0 ? ::fork() : -1;
    if (server == 0) {
        UniqueFd connection;
        int accepted = accept_one(listener.get(), &connection);
        listener.reset();
        ::_exit(accepted == 0 ? serve(std::move(connection)) : 1);
    }
    listener.reset();
    UniqueFd socket;
    if (r == 0 && server > 0) {
        r = connect_to(path.c_str(), &socket);
    }
    if (r != 0 || server < 0) {
        std::fprintf(stderr, "linux_consumer: listen/fork/connect at %s failed (%s)\n",
                     path.c_str(), std::strerror(r != 0 ? -r : errno));
        ++failures;
    } else {
        round_trips(std::move(socket), "forked server, listening socket");
    }
    if (server > 0) {
        check(wait_exit(server) == 0, "the listening server exits 0 after the client closed");
    }
    ::unlink(path.c_str());
    ::rmdir(dir);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--serve-fd") == 0) {
        return serve(UniqueFd(std::atoi(argv[2])));
    }
    if (argc != 1) {
        std::fprintf(stderr, "usage: linux_consumer [--serve-fd N]\n");
        return 2;
    }
    spawned_server();
    listening_server();
    return failures == 0 ? 0 : 1;
}
