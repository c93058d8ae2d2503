// The memory behind one ipc queue, shared by the asynchronous queues (obj/queue.hpp: the kernel
// is the region's ipc::Server) and the served objects (obj/served.hpp: the kernel is its
// ipc::Client): a memory object holding the region, its kernel window (the only way the kernel
// touches the region), its read-write user mapping in the process that asked for it, and the
// kernel endpoint's private storage, which that process cannot reach.
//
// create() makes the memory object, the window and the storage, or nothing; map_user() adds the
// user mapping, as the owner's last step (nothing after it can fail, so no caller has to take a
// mapping back except the system call that fails to tell the process: unmap_user()). The
// destructor gives back the window, the memory object's reference and the storage; the user
// mapping is then the process's (it holds its own reference to the memory object, and the
// process may already have unmapped or remapped it): it lives until the process unmaps it or
// ends. The kernel endpoint over the region must be closed before the region goes: declare the
// QueueRegion member before the endpoint.
#pragma once

#include <keel/syscall_abi.hpp>

#include <ipc/layout.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

#include "mm/address.hpp"
#include "obj/memory.hpp"

namespace keel::proc {
class Process;
}

namespace keel::obj {

class DeviceObject;

class QueueRegion {
  public:
    // The private storage the kernel's endpoint needs for a geometry
    // (ipc::Server::private_size or ipc::Client::private_size).
    using PrivateSize = std::size_t (*)(const ipc::Geometry&);

    // A region for geometry g (checked: check_queue_geometry with min_capacity and the flags the
    // caller accepts; a served object's region accepts none). Errors:
    // kInvalidArgument, kTooLarge (geometry), kNoMemory. With `device` the region is that
    // device's DMA memory (DeviceObject::dma_memory: contiguous, below 4 GiB, in its IOMMU
    // domain), so the device reaches the owned buffers at device_address() + their offset;
    // kNotSupported for a legacy device. Its frames are charged to the process like an ordinary
    // region's; its end goes through the device (DeviceObject::retire_dma: quarantine).
    static Result<QueueRegion> create(const abi::QueueGeometry& g, uint32_t min_capacity,
                                      PrivateSize private_size, DeviceObject* device = nullptr,
                                      uint32_t flags_allowed = 0);
    // Maps the region read-write into owner; its address. kNoMemory, kPeerGone (ending).
    Result<uint64_t> map_user(proc::Process& owner);

    QueueRegion() = default;
    QueueRegion(QueueRegion&& o) noexcept;
    QueueRegion& operator=(QueueRegion&& o) noexcept;
    QueueRegion(const QueueRegion&) = delete;
    QueueRegion& operator=(const QueueRegion&) = delete;
    ~QueueRegion();

    // The region through the kernel window, and the endpoint's private storage.
    std::span<std::byte> shared() const { return {window_.as<std::byte>(), size_}; }
    std::span<std::byte> storage() const { return {storage_, storage_size_}; }
    const ipc::Geometry& geometry() const { return geometry_; }
    uint64_t size() const { return size_; }
    uint64_t user_address() const { return user_address_; }
    // Where the device reaches the region's first byte (0: ordinary memory, no device).
    uint64_t device_address() const { return memory_ ? memory_->device_address() : 0; }
    // The memory object holding the region (its DMA owner says whose device reaches it).
    MemoryObject& memory() const { return *memory_; }
    // Removes the user mapping (for a caller that fails before the process learns of it).
    void unmap_user(proc::Process& owner) const;

  private:
    void reset();

    RefPtr<MemoryObject> memory_;
    mm::VirtAddr window_{0};
    uint64_t pages_ = 0;  // of the window; 0: none
    uint64_t size_ = 0;
    ipc::Geometry geometry_{};
    std::byte* storage_ = nullptr;
    uint64_t storage_size_ = 0;
    uint64_t user_address_ = 0;
    proc::Charge charge_;  // one queue, to the creator's account (the frames: memory_'s)
};

}  // namespace keel::obj
