// Memory objects: page-granular, zero-filled RAM. A private object is one process's; sharing a
// handle shares the frames (both sides map the same pages); create() makes a subrange view of
// the same frames; the rights of each handle are its permission mask (map needs kRightMap, a
// writable mapping also kRightWrite). read/write/peek/seek reach the bytes without mapping
// them (the position is the object's, shared by every handle).
#pragma once

#include <optional>

#include "mm/address.hpp"
#include "obj/object.hpp"

namespace keel::obj {

class MemoryObject final : public Object {
  public:
    // size rounded up to pages: kInvalidArgument (0), kTooLarge (above abi::kMaxMemorySize),
    // kNoMemory.
    static Result<RefPtr<MemoryObject>> create(uint64_t size);

    abi::Kind kind() const override { return abi::Kind::kMemory; }
    Result<uint64_t> read(Request& req) override;
    Result<uint64_t> peek(Request& req) override;
    Result<uint64_t> write(Request& req) override;
    Result<uint64_t> get_meta(Request& req) override;
    Result<uint64_t> seek(Request& req) override;
    Result<uint64_t> create(Request& req) override;  // buffer = {u64 offset, u64 size}: a subrange
    Result<uint64_t> map(Request& req) override;

    uint64_t pages() const { return pages_; }
    uint64_t size() const { return pages_ * mm::kPageSize; }
    mm::PhysAddr frame(uint64_t page) const { return frames_[page]; }
    // Maps every page into a new kernel window (mm::map_window); nullopt when out of window
    // space or page tables. The caller unmaps it with mm::unmap_window(base, pages()).
    std::optional<mm::VirtAddr> map_kernel_window() const;
    // Kernel-side access (program loading): kInvalidArgument when the range is outside the
    // object.
    Result<void> write_bytes(uint64_t offset, const void* src, uint64_t n);
    Result<void> read_bytes(uint64_t offset, void* dst, uint64_t n) const;

  private:
    MemoryObject() = default;
    ~MemoryObject() override;
    Result<uint64_t> transfer(Request& req, bool to_buffer, bool advance);

    mm::PhysAddr* frames_ = nullptr;  // owned unless parent_ is set (then a slice of it)
    uint64_t pages_ = 0;
    RefPtr<MemoryObject> parent_;  // subranges keep their parent (and its frames) alive
    uint64_t position_ = 0;
};

}  // namespace keel::obj
