// The client half of the file-read service over a ClientEndpoint: open, read a whole file with
// every buffer in flight at once, close. Each returns 0 or an errno value: the server's
// (kStatusOsError), EPIPE (the server is gone), EIO (a result that cannot be), EAGAIN (no
// credit or no buffer).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <ipc/linux/client_endpoint.hpp>

namespace keel::examples::file_read {

using keel::ipc::linux_transport::ClientEndpoint;

// Preconditions for all three: no other operation of the client is outstanding.
int open_remote(ClientEndpoint& ep, std::string_view path, std::uint32_t* handle);
int read_remote(ClientEndpoint& ep, std::uint32_t handle, std::vector<std::byte>* data);
int close_remote(ClientEndpoint& ep, std::uint32_t handle);

// 64-bit FNV-1a, to print a short digest of what was read.
std::uint64_t fnv1a(const std::vector<std::byte>& data);

}  // namespace keel::examples::file_read
