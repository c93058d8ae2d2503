#include "obj/object.hpp"

#include <keel/c/libc.hpp>
#include "mm/user_copy.hpp"
#include "panic.hpp"

namespace keel::obj {

namespace {
// Objects whose last reference went while another was being destroyed, and whether a
// destruction is under way. Interrupts are off in the kernel, so one CPU's list is enough.
Object* g_dying = nullptr;
bool g_destroying = false;
}  // namespace

// A destructor releases what the object held, which may be the last reference to another
// object, whose destructor releases more: done as calls, a chain of objects a program built
// (roots bound in roots, 460 deep) overflowed the kernel stack. The outermost release destroys
// in a loop instead; releases inside it only queue the object. Every object still goes before
// the outermost release returns. A destructor may reach a preemption point (a memory object
// freeing its frames, sched/preempt.hpp): a release by another thread meanwhile queues its
// object here too, and this loop destroys it.
void Object::release_last() {
    KEEL_ASSERT(refs_ > 0);
    if (--refs_ != 0)
        return;
    next_dying_ = g_dying;
    g_dying = this;
    if (g_destroying)
        return;
    g_destroying = true;
    while (g_dying != nullptr) {
        Object* o = g_dying;
        g_dying = o->next_dying_;
        delete o;
    }
    g_destroying = false;
}

Result<void> IoBuffer::copy_out_of(uint64_t offset, void* dst, uint64_t n) const {
    if (offset > length_ || n > length_ - offset)
        return fail(abi::Error::kBadAddress);
    if (n == 0)
        return success();
    if (user_)
        return mm::copy_from_user(dst, address_ + offset, n);
    memcpy(dst, reinterpret_cast<const void*>(address_ + offset), n);
    return success();
}

Result<void> IoBuffer::copy_into(uint64_t offset, const void* src, uint64_t n) const {
    if (offset > length_ || n > length_ - offset)
        return fail(abi::Error::kBadAddress);
    if (n == 0)
        return success();
    if (user_)
        return mm::copy_to_user(address_ + offset, src, n);
    memcpy(reinterpret_cast<void*>(address_ + offset), src, n);
    return success();
}

Result<uint64_t> answer_bytes(Request& req, const void* data, uint64_t size) {
    if (req.buffer.length() < size)
        return fail(Error::kBufferTooSmall);
    KEEL_TRY(req.buffer.copy_into(0, data, size));
    return Result<uint64_t>(size);
}

Result<uint64_t> answer_u64(Request& req, uint64_t value) {
    return answer_bytes(req, &value, sizeof value);
}

Result<uint64_t> answer_stat(Request& req, abi::NodeType type, uint64_t size) {
    const abi::Stat st{static_cast<uint32_t>(type), 0, size};
    return answer_bytes(req, &st, sizeof st);
}

}  // namespace keel::obj
