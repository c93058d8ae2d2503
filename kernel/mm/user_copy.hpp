// The only way the kernel touches user memory. A user address is a plain integer here, never
// a pointer: it is range-checked (null page, kernel half, wrap-around) and then copied with an
// instruction listed in the exception table, so an unmapped or read-only user page makes the
// copy fail instead of faulting the kernel. Interrupts may be on or off; the active address
// space must be the user's.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

namespace keel::mm {

// True when [addr, addr + length) is non-empty, does not wrap, starts above the null page and
// ends inside the user half. Says nothing about what is mapped there.
bool user_range_ok(uint64_t addr, uint64_t length);

// Copy n bytes; false (and possibly a partial copy into dst) on any bad or unmapped byte.
// n == 0 always succeeds without looking at the address.
[[nodiscard]] bool copy_from_user(void* dst, uint64_t user_src, uint64_t n);
[[nodiscard]] bool copy_to_user(uint64_t user_dst, const void* src, uint64_t n);

// Typed views: the one-object case of the copies above.
template <typename T>
class UserIn {
    static_assert(std::is_trivially_copyable_v<T>);

  public:
    explicit UserIn(uint64_t addr) : addr_(addr) {}
    std::optional<T> read() const {
        T value;
        if (!copy_from_user(&value, addr_, sizeof(T)))
            return std::nullopt;
        return value;
    }
    uint64_t address() const { return addr_; }

  private:
    uint64_t addr_;
};

template <typename T>
class UserOut {
    static_assert(std::is_trivially_copyable_v<T>);

  public:
    explicit UserOut(uint64_t addr) : addr_(addr) {}
    [[nodiscard]] bool write(const T& value) const {
        return copy_to_user(addr_, &value, sizeof(T));
    }
    uint64_t address() const { return addr_; }

  private:
    uint64_t addr_;
};

}  // namespace keel::mm
