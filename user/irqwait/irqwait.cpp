// irqwait: a driver waiting for its interrupt through its asynchronous queue. The kernel test
// interrupt_edu_msi_queue_read (kernel/obj/interrupt_test.cpp) spawns it from its boot module
// with one handle, an interrupt object (Read|Write), and raises the interrupt once it sleeps.
// It queues a read of the interrupt, sleeps in queue_wait until the interrupt handler's wake-up
// lets the kernel complete the read, then acknowledges with a queued write, and exits with
// the count the read gave (negative: the step that failed). It has no console (handle 0 is
// not a root).
#include <utility>

#include <keel/c/libc.hpp>
#include "queue.hpp"
#include "runtime.hpp"

using namespace keel;
using namespace keel::user;

namespace {
constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
constexpr uint64_t kTimeoutNs = 5'000'000'000;
}  // namespace

int keel_main(const StartInfo& start) {
    if (start.handle_count != 1)
        return -1;
    const Handle irq = abi::initial_handle(0);
    Queue q;
    if (q.create(4, 2, 64) != 0)
        return -2;
    auto buffer = q.client().acquire();
    if (!buffer)
        return -3;
    if (!q.submit(Op::kRead, irq, 0, 1, std::move(*buffer), 8))
        return -4;
    if (q.wait(1, kTimeoutNs) != 1)
        return -5;
    auto read = q.reap();
    if (!read || read->user_data != 1 || read->status != kOk || read->value != 8)
        return -6;
    uint64_t count = 0;
    memcpy(&count, q.client().bytes(read->buffer).data(), sizeof count);
    read->buffer.reset();
    if (!q.submit(Op::kWrite, irq, 0, 2) || q.wait(1, kTimeoutNs) != 1)
        return -7;
    auto ack = q.reap();
    if (!ack || ack->user_data != 2 || ack->status != kOk)
        return -8;
    return static_cast<int>(count);
}
