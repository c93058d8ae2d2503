// Kernel tests for obj::perform with kernel-memory buffers: the path the asynchronous queues
// (issue 8) will take. The same operations as do_io, the same handle and rights checks, and
// kWouldBlock with a wait queue instead of sleeping.
#include "obj/perform.hpp"

#include <utility>

#include <keel/c/libc.hpp>
#include "obj/pipe.hpp"
#include "proc/process.hpp"
#include "test/ktest.hpp"

namespace keel::obj {
namespace {

KTEST(perform_with_kernel_buffers) {
    auto created = proc::Process::create();
    KASSERT(created.ok());
    const RefPtr<proc::Process> p = std::move(created).value();
    auto pipe = create_pipe();
    KASSERT(pipe.ok());
    const abi::Handle hr = *p->handles().insert(*pipe->first, abi::kRightRead);
    const abi::Handle hw = *p->handles().insert(*pipe->second, abi::kRightWrite);
    pipe->first.reset();
    pipe->second.reset();

    char in[] = "queued";
    char out[16] = {};
    Request write{abi::Op::kWrite, 0, 0, IoBuffer::kernel(in, 6), nullptr, nullptr};
    Request read{abi::Op::kRead, 0, 0, IoBuffer::kernel(out, sizeof out), nullptr, nullptr};
    // The value of a success, or -error.
    auto run = [&](abi::Handle h, Request& req) {
        const Result<uint64_t> res = perform(*p, h, req);
        return res.ok() ? static_cast<int64_t>(res.value()) : -static_cast<int64_t>(res.error());
    };
    auto error = [](abi::Error e) { return -static_cast<int64_t>(e); };
    KEXPECT_EQ(run(hw, write), 6);
    KEXPECT_EQ(run(hr, read), 6);
    KEXPECT(memcmp(out, "queued", 6) == 0);
    // Empty: no sleeping here, the caller gets the queue to wait on.
    read.wait = nullptr;
    KEXPECT_EQ(run(hr, read), error(abi::Error::kWouldBlock));
    KEXPECT(read.wait != nullptr);
    // The same checks as do_io: rights, stale handles, unknown operations.
    KEXPECT_EQ(run(hr, write), error(abi::Error::kNoRights));
    Request close{abi::Op::kClose, 0, 0, IoBuffer::none(), nullptr, nullptr};
    KEXPECT(perform(*p, hw, close).ok());
    KEXPECT_EQ(run(hw, write), error(abi::Error::kStaleHandle));
    KEXPECT_EQ(run(hr, read), 0);  // the writer is gone: end of stream
    Request bogus{static_cast<abi::Op>(99), 0, 0, IoBuffer::none(), nullptr, nullptr};
    KEXPECT_EQ(run(hr, bogus), error(abi::Error::kInvalidArgument));
    // p never ran: dropping it releases its handles and page tables.
}

}  // namespace
}  // namespace keel::obj
