#include "obj/object.hpp"

#include <keel/c/libc.hpp>
#include "mm/user_copy.hpp"
#include "panic.hpp"
#include "sched/scheduler.hpp"

namespace keel::obj {

namespace {
// The queue of releases made with no thread running: the boot's own work before the first
// thread, or a CPU that has none yet. Shared, but only ever used under the big kernel lock.
DestroyQueue g_boot_queue;

DestroyQueue& current_queue() {
    sched::Thread* t = sched::current();
    return t != nullptr ? t->destroy_queue : g_boot_queue;
}
}  // namespace

// A destructor releases what the object held, which may be the last reference to another
// object, whose destructor releases more: done as calls, a chain of objects a program built
// (roots bound in roots, 460 deep) overflowed the kernel stack. The outermost release destroys
// in a loop instead; releases inside it only queue the object. Every object still goes before
// the outermost release returns.
//
// The queue is the running thread's. A destructor may reach a preemption point (a memory object
// freeing its frames, a process's table closing its handles: sched/preempt.hpp); with one queue
// for the CPU, every other thread's last releases meanwhile only queued their objects until
// this thread ran again: a client closed a handle, the server's close notice waited for the
// thread tearing down an exited process, and the client's next open found the server's table
// still full (qemu_net_sockets, under load). With its own queue each thread destroys what it
// released before its call returns. The current thread's object cannot go meanwhile: the
// scheduler holds it while it runs.
void Object::release_last() {
    KEEL_ASSERT(refs_ > 0);
    if (--refs_ != 0)
        return;
    DestroyQueue& q = current_queue();
    next_dying_ = q.dying;
    q.dying = this;
    if (q.destroying)
        return;
    q.destroying = true;
    while (q.dying != nullptr) {
        Object* o = q.dying;
        q.dying = o->next_dying_;
        delete o;
    }
    q.destroying = false;
}

Result<void> IoBuffer::copy_out_of_slow(uint64_t offset, void* dst, uint64_t n) const {
    if (offset > length_ || n > length_ - offset)
        return fail(abi::Error::kBadAddress);
    if (n == 0)
        return success();
    if (user_)
        return mm::copy_from_user(dst, address_ + offset, n);
    memcpy(dst, reinterpret_cast<const void*>(address_ + offset), n);
    return success();
}

Result<void> IoBuffer::copy_into_slow(uint64_t offset, const void* src, uint64_t n) const {
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
