// ClientEndpoint: the client side of a queue shared with another Linux process.
//
// connect() creates the queue in a sealed memfd (wake page + queue region), sends the Hello
// with the memfd over the socket and waits for the server's answer. Afterwards the socket
// carries nothing: it only tells, by closing, that the server is gone.
//
// Threading: one thread at a time, like the Client inside. Every Buffer handed out by client()
// must be dropped before the endpoint is destroyed (Buffers point at the Client).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ipc/client.hpp>
#include <ipc/linux/hello.hpp>
#include <ipc/linux/shared_region.hpp>
#include <ipc/linux/unique_fd.hpp>
#include <ipc/linux/wake_page.hpp>

namespace keel::ipc::linux_transport {

struct ClientOptions {
    int handshake_timeout_ms = 5000;
    // A sleeping client re-checks the socket for the server's death at least this often:
    // a futex cannot be woken by a process that no longer exists.
    int death_check_ms = 20;
};

class ClientEndpoint {
  public:
    ClientEndpoint(const ClientEndpoint&) = delete;
    ClientEndpoint& operator=(const ClientEndpoint&) = delete;
    // Announces closing (Client::close) so a live server lets go; then unmaps.
    ~ClientEndpoint();

    // Takes ownership of a connected SOCK_SEQPACKET socket. On failure returns null and sets
    // *error to an errno value: ECONNREFUSED (the server refused; *refusal says why, if
    // given), EPROTO (the server's answer did not parse), ETIMEDOUT, EINVAL (bad geometry), or
    // what a system call failed with.
    static std::unique_ptr<ClientEndpoint> connect(UniqueFd socket, const Geometry& geometry,
                                                   int* error, const ClientOptions& options = {},
                                                   ReplyStatus* refusal = nullptr);

    // The queue's client. submit() through it, then call publish() here, not on the Client.
    Client& client() { return client_; }
    // Service opcodes the server accepts: [abi::kFirstServiceOp, op_limit()).
    std::uint16_t op_limit() const { return op_limit_; }

    // Client::publish, then wakes the server if it may be asleep and something new was
    // published. O(1); a futex_wake system call only when the server sleeps.
    void publish();

    // The next completion, sleeping up to timeout_ms (< 0: no limit) while there is none.
    // Notices the server's death (socket closed) or close (shared header) and turns it into
    // Client::peer_gone(), so every pending operation then completes, exactly once, with
    // PeerGone (or its real result if the server had posted it). Errors: Empty (timed out,
    // or torn down and fully drained), ProtocolViolation (call peer_gone(): the server wrote
    // something impossible), Closed.
    Result<Reaped> reap_wait(int timeout_ms);

    // Checks the socket and the shared header now; on the server's death or close, calls
    // Client::peer_gone(). Returns true if the client is torn down. Never blocks.
    bool check_peer();

    // Tears down as after the server's death (e.g. after a ProtocolViolation). Idempotent.
    void peer_gone() { client_.peer_gone(); }

    int socket() const { return socket_.get(); }

  private:
    ClientEndpoint() = default;

    UniqueFd socket_;
    SharedRegion region_;
    std::vector<std::uint64_t> storage_;  // the Client's private bookkeeping, 8-byte aligned
    WakePage* wake_ = nullptr;
    abi::RingHeader* sq_ = nullptr;
    abi::RingHeader* cq_ = nullptr;
    std::uint32_t woken_at_ = 0;  // sq tail when we last looked at the server's flag
    std::uint16_t op_limit_ = 0;
    int death_check_ms_ = 20;
    Client client_;
};

}  // namespace keel::ipc::linux_transport
