// Kernel tests for obj::perform with kernel-memory buffers: the path the asynchronous queues
// (issue 8) will take. The same operations as do_io, the same handle and rights checks, and
// kWouldBlock with a wait queue instead of sleeping.
#include "obj/perform.hpp"

#include <keel/c/libc.hpp>
#include "obj/pipe.hpp"
#include "proc/process.hpp"
#include "test/ktest.hpp"

namespace keel::obj {
namespace {

KTEST(perform_with_kernel_buffers) {
    proc::Process* p = proc::Process::create();
    KASSERT(p != nullptr);
    Object* r = nullptr;
    Object* w = nullptr;
    KASSERT(create_pipe(&r, &w));
    const abi::Handle hr = p->handles().insert(r, abi::kRightRead);
    const abi::Handle hw = p->handles().insert(w, abi::kRightWrite);
    r->release();
    w->release();

    char in[] = "queued";
    char out[16] = {};
    Request write{abi::Op::kWrite, 0, 0, IoBuffer::kernel(in, 6), nullptr, nullptr};
    OpResult res = perform(*p, hw, write);
    KEXPECT(res.ok);
    KEXPECT_EQ(res.value, 6u);
    Request read{abi::Op::kRead, 0, 0, IoBuffer::kernel(out, sizeof out), nullptr, nullptr};
    res = perform(*p, hr, read);
    KEXPECT(res.ok && res.value == 6 && memcmp(out, "queued", 6) == 0);
    // Empty: no sleeping here, the caller gets the queue to wait on.
    res = perform(*p, hr, read);
    KEXPECT(!res.ok && res.error == abi::Error::kWouldBlock && res.wait != nullptr);
    // The same checks as do_io: rights, stale handles, unknown operations.
    res = perform(*p, hr, write);
    KEXPECT(!res.ok && res.error == abi::Error::kNoRights);
    Request close{abi::Op::kClose, 0, 0, IoBuffer::none(), nullptr, nullptr};
    KEXPECT(perform(*p, hw, close).ok);
    res = perform(*p, hw, write);
    KEXPECT(!res.ok && res.error == abi::Error::kStaleHandle);
    res = perform(*p, hr, read);  // the writer is gone: end of stream
    KEXPECT(res.ok && res.value == 0);
    Request bogus{static_cast<abi::Op>(99), 0, 0, IoBuffer::none(), nullptr, nullptr};
    res = perform(*p, hr, bogus);
    KEXPECT(!res.ok && res.error == abi::Error::kInvalidArgument);
    p->release();  // never ran: releases its handles and page tables
}

}  // namespace
}  // namespace keel::obj
