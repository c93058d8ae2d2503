// Memory objects: page-granular, zero-filled RAM. A private object is one process's; sharing a
// handle shares the frames (both sides map the same pages); create() makes a subrange view of
// the same frames; the rights of each handle are its permission mask (map needs kRightMap, a
// writable mapping also kRightWrite). read/write/peek/seek reach the bytes without mapping
// them (the position is the object's, shared by every handle).
//
// Two more kinds of memory object are made for drivers by device objects (obj/device.hpp):
// - device memory: a BAR's physical pages, never freed, mapped uncached or write-combining;
//   pages the driver must not reach (an MSI-X table) are holes, left unmapped. The bytes are
//   reached only through a mapping (read/write here would go through the cached direct map).
// - DMA memory: physically contiguous RAM reachable by one device at device_address(). When
//   the last reference goes, the frames go back to that device (DeviceObject::retire_dma),
//   which frees them only once the device can no longer reach them.
#pragma once

#include <optional>

#include "mm/address.hpp"
#include "obj/object.hpp"

namespace keel::obj {

class DeviceObject;

class MemoryObject final : public Object {
  public:
    // size rounded up to pages: kInvalidArgument (0), kTooLarge (above abi::kMaxMemorySize),
    // kNoMemory.
    static Result<RefPtr<MemoryObject>> create(uint64_t size);
    // A view of `pages` device pages from `base`, mapped with `cache` (mm::kPageUncached or
    // mm::kPageWriteCombining). kNoMemory.
    static Result<RefPtr<MemoryObject>> create_device(mm::PhysAddr base, uint64_t pages,
                                                      uint64_t cache);
    // Makes page `page` of device memory a hole: never mapped.
    void punch_hole(uint64_t page) { frames_[page] = kHole; }
    // `size` bytes of contiguous zeroed RAM below 4 GiB for `device`; the device object sets
    // the device address (0 until it does: retire_dma then has nothing to unmap). kInvalidArgument
    // (0), kTooLarge (above abi::kMaxDmaMemory), kNoMemory (no run of free frames that long).
    static Result<RefPtr<MemoryObject>> create_dma(uint64_t size, RefPtr<DeviceObject> owner);
    void set_device_address(uint64_t address) { device_address_ = address; }
    // Where the device reaches the first byte (DMA memory; 0 for any other).
    uint64_t device_address() const { return device_address_; }
    // The device DMA memory was made for (nullptr for any other memory).
    DeviceObject* dma_owner() const { return dma_owner_.get(); }
    // DMA memory the device reaches only through operations the kernel forwards to its driver
    // (a kQueueDeviceData queue's region): at its end it is freed at once, unless an operation
    // was still in flight when the driver went (mark_device_may_write) and no driver has
    // turned the device's bus mastering off since: then it goes through the device's
    // quarantine like any DMA memory.
    void set_lent_only() { lent_only_ = true; }
    void mark_device_may_write();

    Result<uint64_t> read(Request& req) override;
    Result<uint64_t> peek(Request& req) override;
    Result<uint64_t> read_at(Request& req) override;
    Result<uint64_t> write(Request& req) override;
    Result<uint64_t> get_meta(Request& req) override;
    Result<uint64_t> seek(Request& req) override;
    Result<uint64_t> create(Request& req) override;  // buffer = {u64 offset, u64 size}: a subrange
    Result<uint64_t> map(Request& req) override;

    uint64_t pages() const { return pages_; }
    // The byte length it was made with (Meta::kSize; reads and writes stop there); the object
    // holds whole pages, and a mapping shows them all.
    uint64_t size() const { return bytes_; }
    mm::PhysAddr frame(uint64_t page) const { return frames_[page]; }
    static constexpr mm::PhysAddr kHole{~0ull};
    // Extra page-table flags for mappings of this object (the cache type of device memory).
    uint64_t cache_flags() const { return cache_; }
    bool is_device() const { return backing_ == Backing::kDevice; }
    bool is_dma() const { return backing_ == Backing::kDma; }
    // Maps every page into a new kernel window (mm::map_window); nullopt when out of window
    // space or page tables. The caller unmaps it with mm::unmap_window(base, pages()).
    std::optional<mm::VirtAddr> map_kernel_window() const;
    // Kernel-side access (program loading): kInvalidArgument when the range is outside the
    // object.
    Result<void> write_bytes(uint64_t offset, const void* src, uint64_t n);
    Result<void> read_bytes(uint64_t offset, void* dst, uint64_t n) const;

  private:
    enum class Backing : uint8_t { kRam, kDevice, kDma };
    MemoryObject();  // in memory.cpp, where DeviceObject is complete
    ~MemoryObject() override;
    static Result<RefPtr<MemoryObject>> with_frame_table(uint64_t pages, Backing backing);
    Result<uint64_t> transfer(Request& req, uint64_t from, bool to_buffer, bool advance);

    // The object whose frames these are: this one, or the parent of a subrange.
    const MemoryObject& root() const { return parent_ ? *parent_ : *this; }

    Backing backing_ = Backing::kRam;
    uint64_t cache_ = 0;
    uint64_t device_address_ = 0;  // DMA memory: where its device reaches the first frame
    bool lent_only_ = false;
    bool device_may_write_ = false;
    uint64_t marked_at_ = 0;  // the device's quiesced() when marked
    RefPtr<DeviceObject> dma_owner_;
    mm::PhysAddr* frames_ = nullptr;  // owned unless parent_ is set (then a slice of it)
    uint64_t pages_ = 0;
    uint64_t bytes_ = 0;
    RefPtr<MemoryObject> parent_;  // subranges keep their parent (and its frames) alive
    uint64_t position_ = 0;
};

}  // namespace keel::obj
