// drivers/virtio-blk: the device half of the virtio-blk driver as a library (keel_virtio_blk):
// set-up of one virtio 1.x block device and its request queue, and virtio requests handed to it
// and reaped from it. The driver process (virtio_blk.cpp) builds its served object, slots,
// merging and shared-memory sessions on it; a program that holds a device itself links the same
// library (user/levelbench's integrated level). Not thread-safe: one caller at a time (the
// driver calls it under its lock).
#pragma once

#include <keel/virtio/blk.hpp>
#include <keel/virtio/virtqueue.hpp>

#include "runtime.hpp"
#include "virtio_device.hpp"

namespace keel::drivers::virtio_blk {

inline constexpr uint32_t kMaxQueue = keel::virtio::kMaxQueueSize;
inline constexpr uint32_t kMaxDataSegments = 16;  // per virtio request of one transfer
// Per virtio request that carries several transfers adjacent on the disk (the driver merges).
inline constexpr uint32_t kMaxMergeSegments = 64;

class BlockDevice {
  public:
    // Resets and initialises the device (virtio 1.x 3.1.1, through drivers/virtio-common) with
    // one request queue in DMA memory and MSI-X vector 0 (else INTx) for it (a caller that only
    // polls turns its interrupts off with set_interrupts). `max_transfer`: the most bytes one
    // transfer carries from one contiguous buffer (max_piece() derives from it). nullptr or why.
    const char* init(user::Handle device, uint32_t max_transfer);

    // A free request record (its header and status byte), or -1 when all are in flight.
    int32_t free_record() const;
    // Hands one request to the device (seen at the next kick()): record r (free), type
    // (blk::kTypeIn, kTypeOut, kTypeFlush), sector, and its data segments (device addresses;
    // written by the device for kTypeIn). False when the queue has no descriptors for it
    // (nothing changed). The record's id comes back from reap() as the completion's token.
    bool add(uint32_t r, uint32_t type, uint64_t sector, const keel::virtio::Segment* data,
             uint32_t n);
    // Appends the segments for `bytes` at device address `at`, cut at segment_bytes(); their
    // count. `out` has room for them (bytes <= max_piece() needs at most kMaxDataSegments).
    uint32_t cut(uint64_t at, uint32_t bytes, bool device_writes, keel::virtio::Segment* out) const;
    // The next completion (lib/virtio's validated reap); a kCompletion frees its record, whose
    // status says how it went: ok().
    keel::virtio::SplitQueue::Reaped reap(keel::virtio::Completion* out);
    bool ok(uint32_t r) const { return meta_[status_at_ + r] == keel::virtio::blk::kStatusOk; }
    // Publishes what was added and notifies the device if anything was.
    void kick();
    void set_interrupts(bool on) { queue_.set_interrupts(on); }

    drivers::virtio::Device& device() { return device_; }
    const keel::virtio::SplitQueue& queue() const { return queue_; }
    const keel::virtio::blk::Geometry& geometry() const { return geometry_; }
    bool flush() const { return flush_; }
    uint32_t max_piece() const { return max_piece_; }          // data bytes per request
    uint32_t segment_bytes() const { return segment_bytes_; }  // data bytes per descriptor
    uint32_t merge_segments() const { return merge_segments_; }

  private:
    const char* read_geometry(uint64_t features);

    drivers::virtio::Device device_;
    volatile uint16_t* notify_ = nullptr;
    keel::virtio::SplitQueue queue_;
    keel::virtio::blk::Geometry geometry_{};
    bool flush_ = false;
    uint32_t max_piece_ = 0, segment_bytes_ = 0, merge_segments_ = 0;
    // DMA: the rings, then the request headers and status bytes, indexed by record.
    uint8_t* meta_ = nullptr;
    uint64_t meta_device_ = 0;
    uint32_t header_at_ = 0, status_at_ = 0;
    bool busy_[kMaxQueue] = {};
};

}  // namespace keel::drivers::virtio_blk
