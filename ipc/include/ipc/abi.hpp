// The shared-memory ABI of a Keel queue: defined here once, included by kernel, user code,
// transports and tests alike. Fixed-width fields, explicit padding, layout pinned by
// static_asserts. Everything in these structs may be written by a hostile peer at any time:
// read each field once into a local, validate it, then use the local.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace keel::ipc::abi {

inline constexpr std::uint32_t kMagic = 0x4c45454b;  // "KEEL" in memory order
inline constexpr std::uint16_t kVersion = 1;
inline constexpr std::size_t kCacheLine = 64;

// Ring capacities are powers of two in [1, kMaxCapacity]. 2^15 keeps a pending-slot index in
// the low 16 bits of a tag, leaving 16 bits of generation.
inline constexpr std::uint32_t kMaxCapacity = 1u << 15;
inline constexpr std::uint32_t kMaxBuffers = 0xFFFE;
inline constexpr std::uint16_t kNoBuffer = 0xFFFF;
inline constexpr std::uint32_t kNoTag = 0xFFFF'FFFF;

// A free-running 32-bit counter alone on its cache line: the producer's tail and the
// consumer's head never share a line, so publishing one does not steal the other.
struct alignas(kCacheLine) RingCounter {
    std::atomic<std::uint32_t> value;
    std::uint8_t pad[kCacheLine - sizeof(std::atomic<std::uint32_t>)];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == 4);
static_assert(sizeof(RingCounter) == 64 && alignof(RingCounter) == 64);

// head: written only by the consumer (count of entries consumed, free-running).
// tail: written only by the producer (count of entries produced, free-running).
// Entry i lives in slot i & (capacity - 1).
struct RingHeader {
    RingCounter head;
    RingCounter tail;
};
static_assert(sizeof(RingHeader) == 128);
static_assert(offsetof(RingHeader, head) == 0 && offsetof(RingHeader, tail) == 64);

// Opcodes the protocol itself interprets. Everything from kFirstServiceOp up is the service's
// (for the kernel: object operations); the server validates those against its own limit.
enum class Op : std::uint16_t {
    Nop = 0,     // completes Ok at once, in the server library; for tests and benchmarks
    Cancel = 1,  // args[0] = tag of the target submission
};
inline constexpr std::uint16_t kFirstServiceOp = 16;

// Completion statuses the protocol defines. kFirstServiceStatus and up are the service's.
enum class Status : std::uint16_t {
    Ok = 0,
    Cancelled = 1,   // the target was cancelled before the server took it (or it gave up early)
    InProgress = 2,  // result of a Cancel whose target was already taken: it completes later
    NotFound = 3,    // result of a Cancel whose target is unknown or already completed
    PeerGone = 4,    // the server closed or died before completing the operation
    BadRequest = 5,  // the server refused a malformed submission (bad buffer id, opcode, ...)
};
inline constexpr std::uint16_t kFirstServiceStatus = 0x100;

// Client to server. 64 bytes, one cache line.
struct Submission {
    std::uint64_t user_data;  // the client's cookie; servers may log it, the protocol ignores it
    std::uint32_t tag;        // names the client's pending slot: slot | generation << 16
    std::uint16_t opcode;     // Op or a service opcode
    std::uint16_t buffer;     // buffer lent with this operation, or kNoBuffer
    std::uint32_t object;     // the service's object handle
    std::uint32_t length;     // bytes of the buffer the operation may use
    std::uint64_t offset;     // service-defined (e.g. file offset)
    std::uint64_t args[3];    // service-defined; Cancel: args[0] = target tag
    std::uint32_t flags;      // service-defined
    std::uint32_t reserved0;  // zero
};
static_assert(sizeof(Submission) == 64);
static_assert(offsetof(Submission, tag) == 8 && offsetof(Submission, opcode) == 12);
static_assert(offsetof(Submission, buffer) == 14 && offsetof(Submission, object) == 16);
static_assert(offsetof(Submission, length) == 20 && offsetof(Submission, offset) == 24);
static_assert(offsetof(Submission, args) == 32 && offsetof(Submission, flags) == 56);

// A submission's first 24 bytes, the fields the protocol reads: what the server copies before
// it knows whether it needs the rest (only an operation it queues keeps the service's fields).
struct SubmissionHead {
    std::uint64_t user_data;
    std::uint32_t tag;
    std::uint16_t opcode;
    std::uint16_t buffer;
    std::uint32_t object;
    std::uint32_t length;
};
static_assert(sizeof(SubmissionHead) == 24 && offsetof(SubmissionHead, tag) == 8 &&
              offsetof(SubmissionHead, opcode) == 12 && offsetof(SubmissionHead, buffer) == 14 &&
              offsetof(SubmissionHead, object) == 16 && offsetof(SubmissionHead, length) == 20);

// The rest: the service's fields.
struct SubmissionRest {
    std::uint64_t offset;
    std::uint64_t args[3];
    std::uint32_t flags;
    std::uint32_t reserved0;
};
static_assert(sizeof(SubmissionHead) + sizeof(SubmissionRest) == sizeof(Submission) &&
              offsetof(Submission, offset) == sizeof(SubmissionHead));

// Server to client. 16 bytes, four to a cache line.
struct Completion {
    std::uint32_t tag;     // the tag of the submission this completes
    std::uint16_t status;  // Status or a service status
    std::uint16_t buffer;  // the buffer returned with it, or kNoBuffer
    std::uint64_t value;   // result (e.g. bytes transferred)
};
static_assert(sizeof(Completion) == 16);
static_assert(offsetof(Completion, status) == 4 && offsetof(Completion, buffer) == 6 &&
              offsetof(Completion, value) == 8);

// Written by the client when it creates the queue; the server reads it once at attach and
// keeps private copies. `flags` bits are set by either side to announce closing.
struct QueueHeader {
    std::uint32_t magic;
    std::uint16_t version;
    std::uint16_t header_size;                // sizeof(QueueHeader)
    std::uint32_t capacity;                   // entries per ring, power of two
    std::uint32_t buffer_count;               // buffers in the table
    std::uint32_t buffer_size;                // bytes per buffer
    std::uint32_t sq_entries;                 // byte offset of the submission entries
    std::uint32_t cq_entries;                 // byte offset of the completion entries
    std::uint32_t buffers;                    // byte offset of buffer 0
    std::uint64_t total_size;                 // bytes of the whole region
    std::atomic<std::uint32_t> client_state;  // kEndpointOpen / kEndpointClosed
    std::atomic<std::uint32_t> server_state;
    std::uint8_t pad[8];
};
inline constexpr std::uint32_t kEndpointOpen = 1;
inline constexpr std::uint32_t kEndpointClosed = 2;
static_assert(sizeof(QueueHeader) == 56);
static_assert(offsetof(QueueHeader, capacity) == 8 && offsetof(QueueHeader, total_size) == 32);
static_assert(offsetof(QueueHeader, client_state) == 40 &&
              offsetof(QueueHeader, server_state) == 44);

// Region layout: [QueueHeader | pad to 64][sq RingHeader][cq RingHeader][sq entries]
// [cq entries][buffers]. Offsets are computed by ipc::Layout and recorded in the header.
inline constexpr std::uint32_t kSqHeaderOffset = 64;
inline constexpr std::uint32_t kCqHeaderOffset = kSqHeaderOffset + sizeof(RingHeader);
inline constexpr std::uint32_t kSqEntriesOffset = kCqHeaderOffset + sizeof(RingHeader);

}  // namespace keel::ipc::abi
