// Starting a server process that inherits its end of the transport socket (the fork-inherit
// alternative to a listening socket).
#pragma once

#include <sys/types.h>

#include <ipc/linux/unique_fd.hpp>

namespace keel::ipc::linux_transport {

// The descriptor number the spawned program finds its socket at.
inline constexpr int kInheritedSocketFd = 3;

// Runs argv[0] (a path; argv ends with nullptr) with a fresh SOCK_SEQPACKET socket as
// descriptor kInheritedSocketFd, and no other descriptor of ours beyond 0-2. On success
// returns 0, stores our end in *ours and the child's pid in *pid; else -errno.
int spawn_with_socket(char* const argv[], UniqueFd* ours, pid_t* pid);

// Starts listening on a Unix SOCK_SEQPACKET socket at `path` (at most 107 bytes; an existing
// socket file there is replaced). Returns 0 or -errno.
int listen_at(const char* path, UniqueFd* listener);
// Accepts one connection (close-on-exec). Returns 0 or -errno.
int accept_one(int listener, UniqueFd* connection);
// Connects to a listening socket at `path`. Returns 0 or -errno.
int connect_to(const char* path, UniqueFd* connection);

}  // namespace keel::ipc::linux_transport
