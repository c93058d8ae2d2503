// A split virtqueue (virtio 1.x, 2.7 "Split Virtqueues") driven from the driver's side over
// memory the caller provides: the descriptor table, the available ring (the driver area) and
// the used ring (the device area), each at the address the device reaches it by. The device is
// untrusted: the queue's own bookkeeping (free list, chain links, lengths, tokens) is private
// and never read back from shared memory, and the used ring is validated before anything of it
// is believed: an index that jumps past what is in flight, an id out of range or not the head
// of a published chain, a length larger than the chain's device-writable bytes are faults.
// A fault is reported, nothing of it is consumed, and the queue stays broken (every later reap
// reports it again, adds are refused) until the driver resets the device and re-inits the
// queue. No allocation, no globals, built-in headers only; not thread-safe (one caller at a
// time, or the caller's lock).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::virtio {

inline constexpr uint16_t kMaxQueueSize = 256;  // the largest queue this class drives

// Descriptor flags.
inline constexpr uint16_t kDescNext = 1;
inline constexpr uint16_t kDescWrite = 2;  // device-writable
// Available ring flag: the driver asks for no interrupts (a hint the device may ignore).
inline constexpr uint16_t kAvailNoInterrupt = 1;
// Used ring flag: the device asks not to be notified (it is working through the available
// ring already; virtio 1.1 2.7.10: without VIRTIO_F_EVENT_IDX the driver SHOULD NOT notify then).
inline constexpr uint16_t kUsedNoNotify = 1;

struct Descriptor {
    uint64_t address;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);
struct UsedElement {
    uint32_t id;
    uint32_t length;
};
static_assert(sizeof(UsedElement) == 8);

// Bytes and alignment of each area for a queue of `n` entries (event fields included).
constexpr size_t descriptor_table_size(uint32_t n) {
    return 16 * static_cast<size_t>(n);
}
constexpr size_t available_ring_size(uint32_t n) {
    return 6 + 2 * static_cast<size_t>(n);
}
constexpr size_t used_ring_size(uint32_t n) {
    return 6 + 8 * static_cast<size_t>(n);
}
inline constexpr size_t kDescriptorAlign = 16, kAvailableAlign = 2, kUsedAlign = 4;

// One buffer of a chain, at a device address.
struct Segment {
    uint64_t address;
    uint32_t length;     // at least 1
    bool device_writes;  // the device writes it (a read's data, a status byte)
};

enum class Fault : uint8_t {
    kNone,
    kIndexJump,       // the used index moved further than chains are in flight
    kIdOutOfRange,    // a used id >= the queue size
    kNotInFlight,     // a used id that is not the head of a published chain
    kLengthTooLarge,  // a used length above the chain's device-writable bytes
};
// A static, readable text for a fault.
const char* fault_text(Fault f);

struct Completion {
    uint64_t token;   // what add() was given
    uint32_t length;  // bytes the device says it wrote (<= the chain's writable bytes)
    uint16_t head;
};

class SplitQueue {
  public:
    enum class Reaped : uint8_t { kNothing, kCompletion, kFault };

    // Lays a queue of `size` entries (a power of two, 1..kMaxQueueSize) over the three areas
    // (driver-side pointers, aligned as above), zeroing them and making every descriptor free.
    // False, and the queue unusable, for a bad size or a null or misaligned area. O(size).
    bool init(uint16_t size, void* descriptors, void* available, void* used);

    uint16_t size() const { return size_; }
    uint16_t free_descriptors() const { return free_count_; }
    uint16_t in_flight() const { return in_flight_; }  // chains added and not yet reaped
    bool broken() const { return fault_ != Fault::kNone; }
    Fault fault() const { return fault_; }

    // Adds a chain of `count` segments, device-readable ones first (the spec's order), to be
    // given to the device at the next publish(); `token` comes back with its completion and
    // *head (if not null) is its head descriptor. Validate, then commit: false and nothing
    // changed for count 0, fewer free descriptors than count, a zero-length segment, a
    // readable segment after a writable one, writable bytes over 4 GiB, or a broken queue.
    // O(count).
    bool add(const Segment* segments, uint32_t count, uint64_t token, uint16_t* head = nullptr);

    // Makes the chains added since the last publish visible to the device (a release store of
    // the available index, then a full fence). The number published (0 on a broken queue); the
    // caller notifies the device if > 0 and notify_wanted().
    uint16_t publish();

    // Whether the device wants a notification for what publish() just showed it: false while
    // its used ring's flags say kUsedNoNotify (read after publish's fence, so a device that
    // clears the flag and then looks at the available index again sees the new chains; QEMU
    // does). A notification is an exit to the device under an emulator, so a driver publishing
    // frame after frame saves one per publish while the device is busy. A device that sets the
    // flag and never looks again only stalls itself, as one that ignores notifications would.
    bool notify_wanted() const;

    // Takes one completion from the used ring: kCompletion with *out filled and its
    // descriptors free again, kNothing when the device has completed nothing new, or kFault
    // (see the file comment: nothing consumed, the queue broken). O(chain length).
    Reaped reap(Completion* out);

    // Asks the device not to interrupt (a hint: used while the driver polls anyway).
    void set_interrupts(bool on);

  private:
    enum : uint8_t { kFree, kAdded, kPublished };

    volatile Descriptor* descriptors_ = nullptr;
    volatile uint16_t* available_ = nullptr;  // flags, idx, ring[size], used_event
    volatile uint16_t* used_ = nullptr;       // flags, idx, then UsedElement ring[size]
    uint16_t size_ = 0;
    uint16_t free_head_ = 0;
    uint16_t free_count_ = 0;
    uint16_t in_flight_ = 0;    // added or published, not reaped
    uint16_t published_ = 0;    // published, not reaped
    uint16_t next_avail_ = 0;   // the available index the next add writes at (free-running)
    uint16_t shown_avail_ = 0;  // the available index the device has been shown
    uint16_t last_used_ = 0;    // the used index reaped up to (free-running)
    Fault fault_ = Fault::kNone;
    // Private per-descriptor state: links (a chain, or the free list), and per head the chain's
    // length, device-writable bytes, token and state.
    uint16_t next_[kMaxQueueSize];
    uint16_t chain_[kMaxQueueSize];
    uint32_t writable_[kMaxQueueSize];
    uint64_t token_[kMaxQueueSize];
    uint8_t state_[kMaxQueueSize];
    uint16_t added_[kMaxQueueSize];  // the heads of the available ring, by index
};

}  // namespace keel::virtio
