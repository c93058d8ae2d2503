// The only way the kernel touches user memory. A user address is never a pointer here: system
// calls receive it as a typed UserPtr<T> / UserSpan<T> (made once, from the raw register, in the
// system-call table), and the only things the kernel can do with one are range-check it and copy
// through it. Each copy is range-checked (null page, kernel half, wrap-around) and then done
// with an instruction listed in the exception table, so an unmapped or read-only user page
// makes the copy fail (kBadAddress) instead of faulting the kernel. Interrupts may be on or
// off; the active address space must be the user's.
#pragma once

#include <cstdint>
#include <type_traits>

#include <keel/syscall_abi.hpp>

#include "lib/result.hpp"
#include "mm/address.hpp"

namespace keel::mm {

// True when [addr, addr + length) is non-empty, does not wrap, starts above the null page and
// ends inside the user half. Says nothing about what is mapped there. Inline: every system call
// with a buffer checks one.
inline bool user_range_ok(uint64_t addr, uint64_t length) {
    if (length == 0 || addr < kPageSize)
        return false;
    return addr < abi::kUserTop && length <= abi::kUserTop - addr;  // not the kernel half, no wrap
}

// Copy n bytes; kBadAddress (and possibly a partial copy into dst) on any bad or unmapped
// byte. n == 0 always succeeds without looking at the address.
Result<void> copy_from_user(void* dst, uint64_t user_src, uint64_t n);
Result<void> copy_to_user(uint64_t user_dst, const void* src, uint64_t n);

// count objects of type T at a user address.
template <typename T>
class UserSpan {
    static_assert(std::is_trivially_copyable_v<T>);

  public:
    UserSpan(uint64_t address, uint64_t count) : address_(address), count_(count) {}

    // count * sizeof(T) bytes, or ~0 when that overflows (no range then passes the checks).
    uint64_t size_bytes() const { return count_ > ~0ull / sizeof(T) ? ~0ull : count_ * sizeof(T); }
    // The range check alone (see user_range_ok), for a call that must refuse a bad address
    // before it changes anything. An empty span always passes.
    bool range_ok() const { return count_ == 0 || user_range_ok(address_, size_bytes()); }
    Result<void> read(T* dst) const { return copy_from_user(dst, address_, size_bytes()); }
    Result<void> write(const T* src) const { return copy_to_user(address_, src, size_bytes()); }

    uint64_t address() const { return address_; }
    uint64_t count() const { return count_; }

  private:
    uint64_t address_;
    uint64_t count_;
};

// One object of type T at a user address.
template <typename T>
class UserPtr {
    static_assert(std::is_trivially_copyable_v<T>);

  public:
    explicit UserPtr(uint64_t address) : address_(address) {}

    bool range_ok() const { return user_range_ok(address_, sizeof(T)); }
    Result<T> read() const {
        T value;
        KEEL_TRY(copy_from_user(&value, address_, sizeof(T)));
        return value;
    }
    Result<void> write(const T& value) const { return copy_to_user(address_, &value, sizeof(T)); }
    // count objects from here on.
    UserSpan<T> span(uint64_t count) const { return {address_, count}; }

    uint64_t address() const { return address_; }

  private:
    uint64_t address_;
};

}  // namespace keel::mm
