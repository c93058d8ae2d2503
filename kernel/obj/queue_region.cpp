#include "obj/queue_region.hpp"

#include <new>
#include <utility>

#include "mm/paging.hpp"
#include "obj/device.hpp"
#include "obj/queue_geometry.hpp"
#include "proc/process.hpp"

namespace keel::obj {

Result<QueueRegion> QueueRegion::create(const abi::QueueGeometry& g, uint32_t min_capacity,
                                        PrivateSize private_size, DeviceObject* device,
                                        uint32_t flags_allowed) {
    const ipc::Layout layout = KEEL_TRY(check_queue_geometry(g, min_capacity, flags_allowed));
    // One queue and the region's frames, charged to the process asking (proc/account.hpp).
    proc::Account* account = proc::current_account();
    QueueRegion r;
    r.charge_ = KEEL_TRY(proc::Charge::take(account, {0, 1, 0}));
    r.geometry_ = layout.geometry;
    r.size_ = layout.total_size;
    r.storage_size_ = private_size(r.geometry_);
    r.storage_ = new (std::nothrow) std::byte[r.storage_size_];
    if (r.storage_ == nullptr)
        return fail(Error::kNoMemory);
    // DMA memory is zeroed like any new memory object: the kernel's client lays the queue out
    // over zeros, as over ordinary memory. Its frames are charged as the ordinary region's are.
    if (device != nullptr) {
        const uint64_t frames = (r.size_ + mm::kPageSize - 1) / mm::kPageSize;
        proc::Charge c = KEEL_TRY(proc::Charge::take(account, {frames, 0, 0}));
        r.memory_ = KEEL_TRY(device->dma_memory(r.size_));
        r.memory_->hold(std::move(c));
    } else
        r.memory_ = KEEL_TRY(proc::charged_memory(account, r.size_));
    const auto window = r.memory_->map_kernel_window();
    if (!window)
        return fail(Error::kNoMemory);
    r.window_ = *window;
    r.pages_ = r.memory_->pages();
    return r;
}

Result<uint64_t> QueueRegion::map_user(proc::Process& owner) {
    user_address_ = KEEL_TRY(owner.map_memory(*memory_, 0, true, false));
    return user_address_;
}

QueueRegion::QueueRegion(QueueRegion&& o) noexcept {
    *this = std::move(o);
}

QueueRegion& QueueRegion::operator=(QueueRegion&& o) noexcept {
    if (this != &o) {
        reset();
        memory_ = std::move(o.memory_);
        window_ = o.window_;
        pages_ = std::exchange(o.pages_, 0);
        size_ = o.size_;
        geometry_ = o.geometry_;
        storage_ = std::exchange(o.storage_, nullptr);
        storage_size_ = o.storage_size_;
        user_address_ = o.user_address_;
        charge_ = std::move(o.charge_);
    }
    return *this;
}

QueueRegion::~QueueRegion() {
    reset();
}

void QueueRegion::reset() {
    if (pages_ != 0)
        mm::unmap_window(window_, pages_);
    pages_ = 0;
    memory_.reset();
    delete[] storage_;
    storage_ = nullptr;
}

void QueueRegion::unmap_user(proc::Process& owner) const {
    (void)owner.unmap(user_address_);
}

}  // namespace keel::obj
