// The remote-run wire protocol (docs/remote-run.md): what a caller and an agent on another
// machine send each other over one TCP connection. Every frame is a 16-byte header and a
// bounded payload, little-endian, at any alignment. Both ends parse what the other sent, so
// every field of every frame is checked here, in one place compiled unchanged into the agent,
// the client library and the host tests; nothing here allocates or makes a system call.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::remote {

inline constexpr uint16_t kMagic = 0x4a52;  // "RJ" on the wire: a stream that is not ours
inline constexpr uint32_t kVersion = 1;

// Bytes carried by one operation either way: a served queue's buffer (servers and the
// runtime use 32 KiB) and so the most one do_io forwarded to the caller can move.
inline constexpr uint32_t kMaxData = 32 * 1024;
// The payload of the largest message (an Op or Done with kMaxData bytes) and a whole frame.
inline constexpr uint32_t kHeaderSize = 16;
inline constexpr uint32_t kOpFixed = 20, kDoneFixed = 20;
inline constexpr uint32_t kMaxPayload = kMaxData + kDoneFixed;
inline constexpr uint32_t kMaxFrame = kHeaderSize + kMaxPayload;
// A spawn's limits: the kernel's own (docs/syscalls.md, process_spawn), so that what passes
// here is refused by nothing but the image's contents.
inline constexpr uint32_t kMaxImage = 16u << 20;
inline constexpr uint32_t kMaxName = 32;
inline constexpr uint32_t kMaxArgs = 1024;
// Root entries proxied for one job (console, input, cwd, ns and a few more).
inline constexpr uint32_t kMaxEntries = 8;

enum class Type : uint8_t {
    kHello = 1,      // both ways, first: version and the most data a side takes
    kSpawn = 2,      // caller -> agent: start a job (then its image in kImage chunks)
    kImage = 3,      // caller -> agent: the next bytes of the job's image
    kStarted = 4,    // agent -> caller: the job's process id, or -Error: it did not start
    kOp = 5,         // agent -> caller: an operation the job made on a proxied object
    kDone = 6,       // caller -> agent: that operation's completion
    kExit = 7,       // agent -> caller: the job ended (its ExitInfo)
    kHeartbeat = 8,  // both ways, at least every kHeartbeatNs while the connection lives
    kCancel = 9,     // agent -> caller: the job gave up an operation (its Done is still due)
};
inline constexpr uint8_t kTypeCount = 10;  // types are 1..9

// A side that hears nothing (no frame at all) for kPeerSilenceNs takes the peer for dead;
// each sends a heartbeat when it sent nothing else for kHeartbeatNs.
inline constexpr uint64_t kHeartbeatNs = 1'000'000'000;
inline constexpr uint64_t kPeerSilenceNs = 4'000'000'000;

// The object operations an Op may carry: docs/syscalls.md's numbers (read 0 ... read_at 13)
// minus create, share and map, which a proxied object does not offer (create carries handles,
// share and map never leave the kernel).
bool op_allowed(uint8_t op);

// Which way an allowed operation's bytes travel: in with its Op (write, set_meta, and a name for
// open and destroy), out with its Done (read, peek, get_meta, read_at), or neither (seek, close,
// sync). An Op carries data only in, asks for room (out_capacity) only out.
enum class Flow : uint8_t { kNone, kIn, kOut };
Flow op_flow(uint8_t op);

struct Entry {
    uint32_t object;   // the caller's id for it (not 0)
    const char* name;  // a root name, 1..kMaxName printable bytes, not '/'
    uint8_t name_length;
};

// One decoded message: `type` says which fields mean something; pointers point into the bytes
// it was decoded from (valid while they are).
struct Message {
    Type type;
    uint32_t job;     // the caller's job id (every message but Hello; not 0)
    uint32_t object;  // Op and Done: the caller's object id (not 0)
    // Hello
    uint32_t version, max_data;
    // Spawn
    uint32_t image_length;
    const char* name;
    uint32_t name_length;
    const char* args;
    uint32_t args_length;
    Entry entries[kMaxEntries];
    uint32_t entry_count;
    // Op (tag, op, arg, out_capacity, data in), Done (tag, status, value, new_object, data
    // out), Cancel (tag), Image (data)
    uint32_t tag;
    uint8_t op;
    uint64_t arg;
    uint32_t out_capacity;
    uint32_t status;  // Done: 0, or the abi::Error number the job's operation fails with
    uint64_t value;
    uint32_t new_object;  // Done of an open: the caller's id for what it opened
    const uint8_t* data;
    uint32_t data_length;
    // Started (value as i64), Exit (ExitInfo)
    int64_t started;
    uint32_t exit_reason, exit_vector;
    int64_t exit_status;
    uint64_t exit_address, exit_cr2;
};

// Writes m as one frame into out (cap bytes). The frame's length, or 0 when m breaks a rule
// decode() checks (so an encoder never sends what its peer refuses) or does not fit.
size_t encode(const Message& m, uint8_t* out, size_t cap);

enum class Decoded { kNeedMore, kMessage, kBad };
struct DecodeResult {
    Decoded status;
    size_t consumed;     // kMessage: the frame's length
    const char* reason;  // kBad: why (static text)
};
// Decodes the frame at the start of data[0..size). kNeedMore when more bytes are needed (never
// more than kMaxFrame in all); kBad as soon as the bytes so far cannot start a valid frame (a
// bad magic, type or length is seen in the header, before its payload arrives). A message is
// canonical: encode() of a decoded message gives back exactly its bytes.
DecodeResult decode(const uint8_t* data, size_t size, Message* out);

// A connection's receiving side: the caller reads from the socket into space() and says how
// much arrived with produced(); next() decodes the next frame. A message stays valid until the
// next call of next() or space(). After kBad the stream cannot be framed again: drop it.
class Reader {
  public:
    uint8_t* space();  // where to receive into: room() bytes (room for a whole frame at least
    size_t room() const { return sizeof buffer_ - used_; }  // after next() said kNeedMore)
    void produced(size_t n);
    DecodeResult next(Message* out);
    size_t buffered() const { return used_ - taken_; }

  private:
    void compact();
    uint8_t buffer_[kMaxFrame];
    size_t used_ = 0;
    size_t taken_ = 0;  // the last message's bytes, dropped at the next call
};

}  // namespace keel::remote
