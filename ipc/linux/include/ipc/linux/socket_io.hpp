// The transport's socket: a connected AF_UNIX SOCK_SEQPACKET socket (message boundaries kept,
// EOF when the peer's last descriptor closes). It carries the handshake and, by closing, the
// news that the peer is gone. Nothing else ever travels on it.
#pragma once

#include <cstddef>
#include <span>

#include <ipc/linux/unique_fd.hpp>

namespace keel::ipc::linux_transport {

// Sends one message, with `fd` attached as SCM_RIGHTS unless it is < 0. Never raises SIGPIPE.
// Returns 0 or -errno.
int send_message(int socket, std::span<const std::byte> message, int fd);

struct Received {
    std::size_t size = 0;  // bytes received; 0 with eof set means the peer closed
    bool eof = false;
    bool truncated = false;  // the message or its control data did not fit: refuse it
    UniqueFd fd;             // the one descriptor attached, if any
};

// Receives one message into `buffer`, waiting at most timeout_ms (< 0: no limit). Descriptors
// beyond the first are closed and mark the message truncated. Returns 0 (see `out`),
// -ETIMEDOUT or -errno.
int receive_message(int socket, std::span<std::byte> buffer, Received* out, int timeout_ms);

// True if the peer has closed its end (or the socket failed), or sent anything after the
// handshake, which this transport never does. Never blocks. O(1) system call.
bool peer_closed(int socket);

// A connected SOCK_SEQPACKET pair, both close-on-exec. Returns 0 or -errno.
int socket_pair(UniqueFd* a, UniqueFd* b);

}  // namespace keel::ipc::linux_transport
