// ServerEndpoint: the server side of a queue a client process created (see ClientEndpoint).
//
// accept() receives the Hello and the memfd, checks both against this server's limits,
// maps the region and attaches. The memfd must be sealed against shrinking and growing, so
// the client cannot make our accesses fault by truncating it.
//
// Threading: one thread at a time, like the Server inside.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ipc/linux/hello.hpp>
#include <ipc/linux/shared_region.hpp>
#include <ipc/linux/unique_fd.hpp>
#include <ipc/linux/wake_page.hpp>
#include <ipc/server.hpp>

namespace keel::ipc::linux_transport {

struct ServerOptions {
    // The largest queue this server accepts (it allocates private storage to match).
    Geometry max{.capacity = 1024, .buffer_count = 1024, .buffer_size = 1u << 20};
    std::uint64_t max_region_size = 256ull << 20;
    std::uint16_t op_limit = abi::kFirstServiceOp;  // service opcodes: [kFirstServiceOp, op_limit)
    int handshake_timeout_ms = 5000;
    // A sleeping server re-checks the socket for the client's death at least this often.
    int death_check_ms = 20;
};

class ServerEndpoint {
  public:
    ServerEndpoint(const ServerEndpoint&) = delete;
    ServerEndpoint& operator=(const ServerEndpoint&) = delete;
    // Announces closing (Server::close) and unmaps.
    ~ServerEndpoint();

    // Takes ownership of a connected SOCK_SEQPACKET socket and runs the handshake. The
    // client is told why it was refused. On failure returns null and sets *error: EPROTO (bad
    // Hello: truncated, unparsable, no memfd), E2BIG (beyond options.max), EPERM (memfd not
    // sealed), EINVAL (memfd of the wrong size), EBADMSG (Server::attach refused the header),
    // ETIMEDOUT, ECONNRESET (the client closed first) or what a system call failed with.
    static std::unique_ptr<ServerEndpoint> accept(UniqueFd socket, const ServerOptions& options,
                                                  int* error);

    Server& server() { return server_; }
    const Geometry& geometry() const { return geometry_; }

    // Server::poll, sleeping up to timeout_ms (< 0: no limit) until it drains something or
    // an operation is queued for take(). Completions that poll posted itself (Nop, Cancel,
    // BadRequest) are published and the client woken. On the client's death or close (checked
    // whenever nothing new was drained) it calls Server::client_gone(), which drops queued
    // operations, and returns PeerGone. Errors: Empty (timed out), PeerGone,
    // ProtocolViolation (the client wrote an impossible counter: drop it), Closed.
    Result<std::uint32_t> poll_wait(int timeout_ms);

    // Server::publish, then wakes the client if it may be asleep and something new was
    // published. O(1); a futex_wake system call only when the client sleeps.
    void publish();

    // Checks the socket now; on the client's death calls Server::client_gone(). Returns true
    // if the client is gone. Never blocks.
    bool check_peer();

    int socket() const { return socket_.get(); }

  private:
    ServerEndpoint() = default;

    UniqueFd socket_;
    SharedRegion region_;
    std::vector<std::uint64_t> storage_;
    Geometry geometry_{};
    WakePage* wake_ = nullptr;
    abi::RingHeader* sq_ = nullptr;
    abi::RingHeader* cq_ = nullptr;
    std::uint32_t woken_at_ = 0;  // cq tail when we last looked at the client's flag
    int death_check_ms_ = 20;
    bool gone_ = false;
    Server server_;
};

}  // namespace keel::ipc::linux_transport
