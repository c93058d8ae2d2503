#include "obj/object.hpp"

#include <keel/c/libc.hpp>
#include "mm/user_copy.hpp"
#include "panic.hpp"

namespace keel::obj {

void Object::release_last() {
    KEEL_ASSERT(refs_ > 0);
    if (--refs_ == 0)
        delete this;
}

bool IoBuffer::copy_out_of(uint64_t offset, void* dst, uint64_t n) const {
    if (offset > length_ || n > length_ - offset)
        return false;
    if (n == 0)
        return true;
    if (user_)
        return mm::copy_from_user(dst, address_ + offset, n);
    memcpy(dst, reinterpret_cast<const void*>(address_ + offset), n);
    return true;
}

bool IoBuffer::copy_into(uint64_t offset, const void* src, uint64_t n) const {
    if (offset > length_ || n > length_ - offset)
        return false;
    if (n == 0)
        return true;
    if (user_)
        return mm::copy_to_user(address_ + offset, src, n);
    memcpy(reinterpret_cast<void*>(address_ + offset), src, n);
    return true;
}

OpResult answer_bytes(Request& req, const void* data, uint64_t size) {
    if (req.buffer.length() < size)
        return OpResult::fail(Error::kBufferTooSmall);
    if (!req.buffer.copy_into(0, data, size))
        return OpResult::fail(Error::kBadAddress);
    return OpResult::success(size);
}

OpResult answer_u64(Request& req, uint64_t value) {
    return answer_bytes(req, &value, sizeof value);
}

}  // namespace keel::obj
