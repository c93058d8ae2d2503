// The caller memory of one operation: a user range (do_io: every byte goes through the
// user-copy helpers) or a kernel range (the asynchronous queues' owned buffers, issue 8).
// Operations see only this, so they cannot tell, and need not care, which path called them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/result.hpp"
#include "mm/user_copy.hpp"

namespace keel::obj {

class IoBuffer {
  public:
    static IoBuffer user(mm::UserSpan<std::byte> s) { return {s.address(), s.count(), true}; }
    static IoBuffer kernel(void* data, uint64_t length) {
        return {reinterpret_cast<uint64_t>(data), length, false};
    }
    static IoBuffer none() { return {0, 0, false}; }

    uint64_t length() const { return length_; }
    // Copies n bytes at offset out of / into the buffer. kBadAddress when the range passes the
    // buffer's end or the (user) memory is bad; the kernel side may then be partly written.
    Result<void> copy_out_of(uint64_t offset, void* dst, uint64_t n) const;
    Result<void> copy_into(uint64_t offset, const void* src, uint64_t n) const;

  private:
    IoBuffer(uint64_t address, uint64_t length, bool user)
        : address_(address), length_(length), user_(user) {}

    uint64_t address_;
    uint64_t length_;
    bool user_;
};

}  // namespace keel::obj
