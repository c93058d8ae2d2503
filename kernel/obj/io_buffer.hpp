// The caller memory of one operation: a user range (do_io: every byte goes through the
// user-copy helpers) or a kernel range (the asynchronous queues' owned buffers, issue 8).
// Operations see only this, so they cannot tell, and need not care, which path called them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/result.hpp"
#include "mm/user_copy.hpp"

namespace keel::obj {

class MemoryObject;

class IoBuffer {
  public:
    static IoBuffer user(mm::UserSpan<std::byte> s) { return {s.address(), s.count(), true}; }
    static IoBuffer kernel(void* data, uint64_t length) {
        return {reinterpret_cast<uint64_t>(data), length, false};
    }
    // A kernel range inside DMA memory (a kQueueDeviceData queue's owned buffer), which its
    // device reaches at device_address: a served object of that device's driver hands the
    // device this address instead of copying (obj/served.cpp).
    static IoBuffer device_data(void* data, uint64_t length, MemoryObject& memory,
                                uint64_t device_address) {
        IoBuffer b{reinterpret_cast<uint64_t>(data), length, false};
        b.memory_ = &memory;
        b.device_address_ = device_address;
        return b;
    }
    static IoBuffer none() { return {0, 0, false}; }

    uint64_t length() const { return length_; }
    // The DMA memory holding the range and where its device reaches it (device_data only).
    MemoryObject* device_memory() const { return memory_; }
    uint64_t device_address() const { return device_address_; }
    // Copies n bytes at offset out of / into the buffer. kBadAddress when the range passes the
    // buffer's end or the (user) memory is bad; the kernel side may then be partly written.
    // Inline for a user range within the buffer (every copy of do_io's): one call, the user
    // copy's; the rest (a kernel range, a refusal) out of line.
    Result<void> copy_out_of(uint64_t offset, void* dst, uint64_t n) const {
        if (user_ && offset <= length_ && n <= length_ - offset) [[likely]]
            return mm::copy_from_user(dst, address_ + offset, n);
        return copy_out_of_slow(offset, dst, n);
    }
    Result<void> copy_into(uint64_t offset, const void* src, uint64_t n) const {
        if (user_ && offset <= length_ && n <= length_ - offset) [[likely]]
            return mm::copy_to_user(address_ + offset, src, n);
        return copy_into_slow(offset, src, n);
    }

  private:
    Result<void> copy_out_of_slow(uint64_t offset, void* dst, uint64_t n) const;
    Result<void> copy_into_slow(uint64_t offset, const void* src, uint64_t n) const;
    IoBuffer(uint64_t address, uint64_t length, bool user)
        : address_(address), length_(length), user_(user) {}

    uint64_t address_;
    uint64_t length_;
    bool user_;
    MemoryObject* memory_ = nullptr;  // held by the caller (the queue's region) meanwhile
    uint64_t device_address_ = 0;
};

}  // namespace keel::obj
