#include "mm/user_copy.hpp"

#include <keel/syscall_abi.hpp>

#include "mm/address.hpp"

extern "C" bool keel_user_copy(void* dst, const void* src, uint64_t n);

namespace keel::mm {

Result<void> copy_from_user(void* dst, uint64_t user_src, uint64_t n) {
    if (n == 0)
        return success();
    if (!user_range_ok(user_src, n) ||
        !keel_user_copy(dst, reinterpret_cast<const void*>(user_src), n))
        return fail(abi::Error::kBadAddress);
    return success();
}

Result<void> copy_to_user(uint64_t user_dst, const void* src, uint64_t n) {
    if (n == 0)
        return success();
    if (!user_range_ok(user_dst, n) || !keel_user_copy(reinterpret_cast<void*>(user_dst), src, n))
        return fail(abi::Error::kBadAddress);
    return success();
}

}  // namespace keel::mm
