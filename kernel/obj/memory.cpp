#include "obj/memory.hpp"

#include <new>

#include <keel/c/libc.hpp>
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "obj/device.hpp"
#include "proc/process.hpp"
#include "sched/preempt.hpp"

namespace keel::obj {

MemoryObject::MemoryObject() : Object(abi::Kind::kMemory) {}

// A new object of `pages` pages with an empty frame table (pages_ stays 0 until frames are in:
// the destructor frees only what pages_ counts). kNoMemory.
Result<RefPtr<MemoryObject>> MemoryObject::with_frame_table(uint64_t pages, Backing backing) {
    RefPtr<MemoryObject> m = adopt_ref(new (std::nothrow) MemoryObject);
    if (!m)
        return fail(Error::kNoMemory);
    m->frames_ = new (std::nothrow) mm::PhysAddr[pages];
    if (m->frames_ == nullptr)
        return fail(Error::kNoMemory);
    m->backing_ = backing;
    return m;
}

// The page count for `size` bytes of at most `limit`: kInvalidArgument (0), kTooLarge.
static Result<uint64_t> pages_for(uint64_t size, uint64_t limit) {
    if (size == 0 || size > limit)
        return fail(size == 0 ? Error::kInvalidArgument : Error::kTooLarge);
    return (size + mm::kPageSize - 1) / mm::kPageSize;
}

Result<RefPtr<MemoryObject>> MemoryObject::create(uint64_t size) {
    const uint64_t pages = KEEL_TRY(pages_for(size, abi::kMaxMemorySize));
    RefPtr<MemoryObject> m = KEEL_TRY(with_frame_table(pages, Backing::kRam));
    for (uint64_t i = 0; i < pages; ++i) {
        auto f = mm::frames().alloc_zeroed();
        if (!f)
            return fail(Error::kNoMemory);  // m's release frees the pages_ frames so far
        m->frames_[i] = *f;
        m->pages_ = i + 1;
        // m is this call's alone until it returns: another thread may run meanwhile.
        if (sched::preempt_check())
            return fail(Error::kPeerGone);  // the caller is ending: m's release frees them
    }
    m->bytes_ = size;
    return m;
}

Result<RefPtr<MemoryObject>> MemoryObject::create_device(mm::PhysAddr base, uint64_t pages,
                                                         uint64_t cache) {
    RefPtr<MemoryObject> m = KEEL_TRY(with_frame_table(pages, Backing::kDevice));
    m->cache_ = cache;
    for (uint64_t i = 0; i < pages; ++i)
        m->frames_[i] = mm::PhysAddr{base.value + i * mm::kPageSize};
    m->pages_ = pages;
    m->bytes_ = pages * mm::kPageSize;
    return m;
}

Result<RefPtr<MemoryObject>> MemoryObject::create_dma(uint64_t size, RefPtr<DeviceObject> owner) {
    const uint64_t pages = KEEL_TRY(pages_for(size, abi::kMaxDmaMemory));
    // A RAM object until the frames are in, so that a failure frees nothing it does not have.
    RefPtr<MemoryObject> m = KEEL_TRY(with_frame_table(pages, Backing::kRam));
    constexpr uint64_t k4GiB = 1ull << 32;  // devices with 32-bit DMA addresses reach it
    const auto first = mm::frames().alloc_contiguous(pages, k4GiB);
    if (!first)
        return fail(Error::kNoMemory);
    for (uint64_t i = 0; i < pages; ++i)
        m->frames_[i] = mm::PhysAddr{first->value + i * mm::kPageSize};
    m->pages_ = pages;
    // Zeroed here, a page at a time (up to 4 MiB): m is this call's alone, and while it is
    // still a RAM object a caller that is ending leaves its release to free the frames.
    for (uint64_t i = 0; i < pages; ++i) {
        memset(mm::direct_map(m->frames_[i]), 0, mm::kPageSize);
        if (sched::preempt_check())
            return fail(Error::kPeerGone);
    }
    m->bytes_ = size;
    m->backing_ = Backing::kDma;
    m->dma_owner_ = std::move(owner);  // device_address_ stays 0 until the device maps it
    return m;
}

MemoryObject::~MemoryObject() {
    if (parent_)
        return;  // a subrange: the parent (released with parent_) owns the frames
    if (backing_ == Backing::kDma) {
        // The device may still be reaching these frames: its object decides when they are free.
        const bool reachable =
            !lent_only_ || (device_may_write_ && dma_owner_->quiesced() == marked_at_);
        dma_owner_->retire_dma(frames_[0], pages_, device_address_, reachable);
    } else if (backing_ == Backing::kRam) {
        // Nothing reaches this object any more (its count is 0): another thread may run between
        // two pages (its own releases meanwhile go to its own queue: Object::release_last).
        for (uint64_t i = 0; i < pages_; ++i) {
            mm::frames().free(frames_[i]);
            (void)sched::preempt_check();
        }
    }
    delete[] frames_;
}

void MemoryObject::mark_device_may_write() {
    device_may_write_ = true;
    marked_at_ = dma_owner_->quiesced();
}

Result<void> MemoryObject::write_bytes(uint64_t offset, const void* src, uint64_t n) {
    if (is_device())
        return fail(Error::kNotSupported);
    if (offset > size() || n > size() - offset)
        return fail(Error::kInvalidArgument);
    const auto* s = static_cast<const uint8_t*>(src);
    while (n > 0) {
        const uint64_t in_page = offset % mm::kPageSize;
        const uint64_t chunk = n < mm::kPageSize - in_page ? n : mm::kPageSize - in_page;
        memcpy(mm::direct_map<uint8_t>(frames_[offset / mm::kPageSize]) + in_page, s, chunk);
        s += chunk;
        offset += chunk;
        n -= chunk;
        (void)sched::preempt_check();  // callers hold the object and the source
    }
    return success();
}

Result<void> MemoryObject::read_bytes(uint64_t offset, void* dst, uint64_t n) const {
    if (is_device())
        return fail(Error::kNotSupported);
    if (offset > size() || n > size() - offset)
        return fail(Error::kInvalidArgument);
    auto* d = static_cast<uint8_t*>(dst);
    while (n > 0) {
        const uint64_t in_page = offset % mm::kPageSize;
        const uint64_t chunk = n < mm::kPageSize - in_page ? n : mm::kPageSize - in_page;
        memcpy(d, mm::direct_map<uint8_t>(frames_[offset / mm::kPageSize]) + in_page, chunk);
        d += chunk;
        offset += chunk;
        n -= chunk;
        (void)sched::preempt_check();  // callers hold the object and the destination
    }
    return success();
}

// Moves bytes between the object (from `from`: the position, or read_at's offset) and the
// request's buffer, page by page through the direct map. The position moves only when every
// byte arrived.
Result<uint64_t> MemoryObject::transfer(Request& req, uint64_t from, bool to_buffer, bool advance) {
    if (is_device())
        return fail(Error::kNotSupported);  // device registers: through a mapping only
    const uint64_t avail = from < size() ? size() - from : 0;
    const uint64_t n = req.buffer.length() < avail ? req.buffer.length() : avail;
    // Held across the preemption points: another thread may close the handle meanwhile.
    const RefPtr<MemoryObject> keep = retain_ref(this);
    uint64_t done = 0;
    while (done < n) {
        const uint64_t at = from + done;
        const uint64_t in_page = at % mm::kPageSize;
        const uint64_t chunk =
            n - done < mm::kPageSize - in_page ? n - done : mm::kPageSize - in_page;
        uint8_t* bytes = mm::direct_map<uint8_t>(frames_[at / mm::kPageSize]) + in_page;
        const bool ok = to_buffer ? req.buffer.copy_into(done, bytes, chunk).ok()
                                  : req.buffer.copy_out_of(done, bytes, chunk).ok();
        if (!ok)
            return fail(Error::kBadAddress);
        done += chunk;
        if (sched::preempt_check())
            return fail(Error::kPeerGone);  // the caller is ending (the position stays)
    }
    if (advance)
        position_ += n;
    return Result<uint64_t>(n);
}

Result<uint64_t> MemoryObject::read(Request& req) {
    return transfer(req, position_, true, true);
}
Result<uint64_t> MemoryObject::peek(Request& req) {
    return transfer(req, position_, true, false);
}
Result<uint64_t> MemoryObject::read_at(Request& req) {
    return transfer(req, req.arg, true, false);  // past the end: 0 bytes, as a read there
}
Result<uint64_t> MemoryObject::write(Request& req) {
    if (req.buffer.length() > 0 && position_ >= size())
        return fail(Error::kTooLarge);
    return transfer(req, position_, false, true);
}

Result<uint64_t> MemoryObject::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
        return answer_u64(req, size());
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kStat)
        return answer_stat(req, abi::NodeType::kFile, size());
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kDeviceAddress && root().is_dma()) {
        const uint64_t offset = (frames_[0].value - root().frames_[0].value);
        return answer_u64(req, root().device_address_ + offset);
    }
    return fail(Error::kInvalidArgument);
}

Result<uint64_t> MemoryObject::seek(Request& req) {
    if (req.arg > size())
        return fail(Error::kInvalidArgument);
    position_ = req.arg;
    return Result<uint64_t>(position_);
}

Result<uint64_t> MemoryObject::create(Request& req) {
    uint64_t range[2];
    if (req.buffer.length() != sizeof range)
        return fail(Error::kInvalidArgument);
    KEEL_TRY(req.buffer.copy_out_of(0, range, sizeof range));
    const uint64_t offset = range[0], length = range[1];
    if (offset % mm::kPageSize != 0 || length == 0 || offset > size() || length > size() - offset) {
        return fail(Error::kInvalidArgument);
    }
    RefPtr<MemoryObject> sub = adopt_ref(new (std::nothrow) MemoryObject);
    if (!sub)
        return fail(Error::kNoMemory);
    sub->parent_ = parent_ ? parent_ : retain_ref(this);
    sub->backing_ = backing_;
    sub->cache_ = cache_;
    sub->frames_ = frames_ + offset / mm::kPageSize;
    sub->pages_ = (length + mm::kPageSize - 1) / mm::kPageSize;
    sub->bytes_ = length;
    return KEEL_TRY(req.caller->handles().insert(*sub, req.rights));
}

Result<uint64_t> MemoryObject::map(Request& req) {
    const bool writable = (req.arg & 1) != 0;
    if (writable && (req.rights & abi::kRightWrite) == 0)
        return fail(Error::kNoRights);
    if (req.arg > 1)
        return fail(Error::kInvalidArgument);
    return req.caller->map_memory(*this, 0, writable, false);
}

std::optional<mm::VirtAddr> MemoryObject::map_kernel_window() const {
    if (is_device())
        return std::nullopt;
    return mm::map_window(frames_, pages_);
}

}  // namespace keel::obj
