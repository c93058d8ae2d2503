// lib/blkring: the shared-memory block ring of the virtio-blk driver's third I/O level
// (docs/io-levels.md): its layout, and the checks the driver makes on what the client writes
// there. The client is untrusted: every index and request it wrote is read once and checked
// here before the driver acts on it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::blkring {

inline constexpr uint32_t kMagic = 0x52424c4b;  // "KLBR", written by the driver at set-up
inline constexpr uint32_t kEntries = 32;        // requests, and completions (a power of two)
inline constexpr uint32_t kBuffers = 32;        // data buffers
inline constexpr uint32_t kBufferBytes = 64 * 1024;
inline constexpr uint64_t kDataAt = 4096;  // buffer i at kDataAt + i * kBufferBytes
inline constexpr uint64_t kRegionBytes = kDataAt + uint64_t{kBuffers} * kBufferBytes;

// What a request asks for.
enum Op : uint32_t { kRead = 1, kWrite = 2 };

// A request, written by the client at sq[index % kEntries].
struct Request {
    uint64_t offset;  // byte offset on the disk
    uint32_t length;  // bytes, in buffer `buffer` from its start
    uint32_t buffer;  // 0 .. kBuffers - 1
    uint32_t op;      // Op
    uint32_t reserved;
    uint64_t tag;  // handed back in the completion
};
static_assert(sizeof(Request) == 32);

// A completion, written by the driver at cq[index % kEntries].
struct Completion {
    uint64_t tag;
    int64_t result;  // bytes transferred, or -Error (lib/abi's numbers)
};
static_assert(sizeof(Completion) == 16);

// The start of the shared region. Indices run free (u32, wrapping); each is written by one side
// only, with release stores, and read by the other with acquire loads (the functions below).
struct Header {
    uint32_t magic, entries, buffers, buffer_bytes;  // the driver's, at set-up
    uint32_t sq_tail;                                // client: requests published
    uint32_t sq_head;                                // driver: requests taken
    uint32_t cq_tail;                                // driver: completions published
    uint32_t cq_head;                                // client: completions consumed
    uint32_t driver_idle;  // driver: 1 while it sleeps (the client rings the doorbell)
    uint32_t fault;        // driver: a Fault once it gave up on this ring (0: none)
    uint32_t reserved[6];
    Request sq[kEntries];
    Completion cq[kEntries];
};
static_assert(sizeof(Header) <= kDataAt);

inline uint32_t load(const uint32_t* p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
inline void store(uint32_t* p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

// Between a side's store of its index and its load of the other's flag (the doorbell's
// handshake: the client publishes sq_tail then reads driver_idle; the driver sets driver_idle
// then reads sq_tail): x86 may reorder a store with a later load, so a full fence.
inline void fence() {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// Why the driver gave up on a ring: the client's indices are impossible.
enum class Fault : uint32_t {
    kNone = 0,
    kSubmissions = 1,  // sq_tail more than kEntries ahead of sq_head (or behind it)
    kCompletions = 2,  // cq_head ahead of cq_tail, or more than kEntries behind it
};

// How many new requests the driver may take now, given its own sq_head, cq_tail and requests
// in flight (taken, not yet completed), and the client's sq_tail and cq_head (each read once).
// It never takes more than the completion ring can hold once everything in flight completes,
// so a completion always has room: in_flight + (cq_tail - cq_head) + take <= kEntries.
struct Window {
    uint32_t take;
    Fault fault;
};
Window window(uint32_t sq_head, uint32_t sq_tail, uint32_t cq_tail, uint32_t cq_head,
              uint32_t in_flight);

// The disk a request is checked against.
struct Disk {
    uint64_t capacity;  // bytes
    uint32_t block_size;
    bool read_only;
    uint32_t max_length = kBufferBytes;  // bytes one request may carry (at most kBufferBytes)
};

// What the driver makes of one request (a copy it took of the client's entry).
enum class Verdict : uint8_t {
    kOk,
    kBadOp,       // not kRead or kWrite, or reserved not 0: InvalidArgument
    kBadBuffer,   // buffer >= kBuffers: InvalidArgument
    kBadLength,   // 0, not whole blocks, above max_length or kBufferBytes; offset not whole blocks
    kOutOfRange,  // ends past the disk (overflow-safe): OutOfRange
    kReadOnly,    // a write to a read-only disk: NoRights
};
Verdict check(const Request& r, const Disk& disk);

// Where request r's data lies in the region (valid only for kOk): [data_offset, + r.length),
// always inside [kDataAt, kRegionBytes).
inline uint64_t data_offset(const Request& r) {
    return kDataAt + uint64_t{r.buffer} * kBufferBytes;
}

// The driver's side of one ring. It keeps its own indices and count in flight, never reads them
// back from the shared memory, reads each request once into a copy and checks it, and writes
// only the header's driver fields and the completion ring. Once the client's indices are
// impossible it gives up on the ring for good (fault(), also published in the header).
class DriverRing {
  public:
    // Lays the ring over a fresh region of kRegionBytes (the driver's set-up).
    void attach(Header* h);
    Header* header() const { return h_; }
    Fault fault() const { return fault_; }
    uint32_t in_flight() const { return in_flight_; }

    // Takes the requests the window allows, oldest first. A good one goes to issue(copy), which
    // returns false when it cannot be handed to the device now (it then stays in the ring and
    // taking stops); a bad one to reject(copy, verdict), which must complete it at once. The
    // number taken.
    template <class Issue, class Reject>
    uint32_t take(const Disk& disk, Issue&& issue, Reject&& reject) {
        if (fault_ != Fault::kNone) {
            // Published again each time: the client may have scribbled over the header's copy
            // (fuzz/blkring found it answering 0 after a fault).
            store(&h_->fault, static_cast<uint32_t>(fault_));
            return 0;
        }
        const Window w =
            window(sq_head_, load(&h_->sq_tail), cq_tail_, load(&h_->cq_head), in_flight_);
        if (w.fault != Fault::kNone) {
            fault_ = w.fault;
            store(&h_->fault, static_cast<uint32_t>(w.fault));
            return 0;
        }
        uint32_t taken = 0;
        while (taken < w.take) {
            const Request r = read_entry(sq_head_ % kEntries);
            const Verdict v = check(r, disk);
            if (v == Verdict::kOk && !issue(r))
                break;
            ++sq_head_;
            ++in_flight_;
            ++taken;
            store(&h_->sq_head, sq_head_);
            if (v != Verdict::kOk)
                reject(r, v);
        }
        return taken;
    }
    // Completes one taken request: writes the completion and publishes it. Always has room
    // (the window saw to it).
    void complete(uint64_t tag, int64_t result);
    // Whether a completion is unread after the client's `seen` (its cq_head as it said).
    bool published_after(uint32_t seen) const { return cq_tail_ != seen; }
    void set_idle(bool idle) {
        store(&h_->driver_idle, idle ? 1u : 0u);
        fence();
    }

  private:
    Request read_entry(uint32_t index) const;

    Header* h_ = nullptr;
    uint32_t sq_head_ = 0, cq_tail_ = 0, in_flight_ = 0;
    Fault fault_ = Fault::kNone;
};

}  // namespace keel::blkring
