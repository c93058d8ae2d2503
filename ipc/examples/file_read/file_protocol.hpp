// The file-read service: what its opcodes mean and what its completions carry. Paths are
// resolved beneath the server's root directory and can never leave it.
#pragma once

#include <cstdint>

#include <ipc/abi.hpp>

namespace keel::examples::file_read {

namespace abi = keel::ipc::abi;

// buffer: the path, `length` bytes, relative to the server's root. value: a handle.
inline constexpr std::uint16_t kOpOpen = abi::kFirstServiceOp;
// object: a handle; offset: file offset; buffer: `length` bytes to fill. value: bytes read
// (less than `length` only at the end of the file).
inline constexpr std::uint16_t kOpRead = abi::kFirstServiceOp + 1;
// object: a handle.
inline constexpr std::uint16_t kOpClose = abi::kFirstServiceOp + 2;
inline constexpr std::uint16_t kOpLimit = abi::kFirstServiceOp + 3;

// The operation failed in the server's system call; value: the errno.
inline constexpr std::uint16_t kStatusOsError = abi::kFirstServiceStatus;

inline constexpr std::uint32_t kMaxHandles = 64;
inline constexpr std::uint32_t kMaxPath = 4095;

}  // namespace keel::examples::file_read
