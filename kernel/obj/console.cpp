#include "obj/console.hpp"

#include <new>

#include "arch/lapic.hpp"
#include "dev/ioapic.hpp"
#include "dev/irq.hpp"
#include "log/log.hpp"
#include "log/serial.hpp"
#include "sched/preempt.hpp"
#include "sched/wait_queue.hpp"

namespace keel::obj {

namespace {

// Typed bytes not read yet. When the ring is full the bytes stay in the UART, whose FIFO then
// holds QEMU (or the line) back: nothing typed is dropped, and the next read takes them.
constexpr uint32_t kInputSize = 4096;
uint8_t g_input[kInputSize];
uint32_t g_head = 0, g_count = 0;
sched::WaitQueue g_readers;
// A write in progress (it may be off the CPU at a preemption point): the next one waits, so
// that each write reaches the UART whole, as when writes could not be preempted.
bool g_writing = false;
sched::WaitQueue g_writers;

bool take_input() {
    bool got = false;
    uint8_t byte;
    while (g_count < kInputSize && serial::receive(&byte)) {
        got = true;
        g_input[(g_head + g_count++) % kInputSize] = byte;
    }
    return got;
}

bool on_receive(void*) {
    if (!take_input())
        return false;
    return g_readers.wake_all() > 0;
}

}  // namespace

void init_console_input() {
    if (!dev::ioapic::available()) {
        log::warn("console: no I/O APIC, so no input interrupt: the console cannot be read");
        return;
    }
    const auto vector = dev::irq::allocate_vector(on_receive, nullptr);
    if (!vector.ok()) {
        log::warn("console: no interrupt vector for input");
        return;
    }
    const dev::ioapic::Route r = dev::ioapic::isa_route(serial::kIrq);
    dev::ioapic::route(r.gsi, *vector, r.trigger, lapic::id());
    dev::ioapic::unmask(r.gsi);
    serial::enable_receive_interrupt();
    (void)take_input();  // what was typed before (the interrupt fires only for what follows)
}

Result<uint64_t> Console::read(Request& req) {
    (void)take_input();
    if (g_count == 0)
        return would_block(req, g_readers);
    const uint64_t n = req.buffer.length() < g_count ? req.buffer.length() : g_count;
    // Up to the ring's end, then from its start; consumed only once all of it was copied (a bad
    // buffer takes nothing).
    const uint64_t first = n < kInputSize - g_head ? n : kInputSize - g_head;
    KEEL_TRY(req.buffer.copy_into(0, g_input + g_head, first));
    if (n > first)
        KEEL_TRY(req.buffer.copy_into(first, g_input, n - first));
    g_head = static_cast<uint32_t>((g_head + n) % kInputSize);
    g_count -= static_cast<uint32_t>(n);
    (void)take_input();  // what waited in the UART while the ring was full
    return n;
}

Result<uint64_t> Console::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
        return answer_u64(req, g_count);
    return fail(Error::kInvalidArgument);
}

Result<RefPtr<Console>> Console::create() {
    auto* c = new (std::nothrow) Console;
    if (c == nullptr)
        return fail(Error::kNoMemory);
    return adopt_ref(c);
}

Result<uint64_t> Console::write(Request& req) {
    if (g_writing)
        return would_block(req, g_writers);
    g_writing = true;
    struct Done {
        ~Done() {
            g_writing = false;
            g_writers.wake_all();
        }
    } const done_writing;
    // In chunks through a kernel buffer: the bytes are copied in before any is printed, chunk
    // by chunk, so a bad address ends the write at a chunk boundary.
    char chunk[128];
    uint64_t done = 0;
    while (done < req.buffer.length()) {
        const uint64_t left = req.buffer.length() - done;
        const uint64_t n = left < sizeof chunk ? left : sizeof chunk;
        if (!req.buffer.copy_out_of(done, chunk, n))
            return done == 0 ? fail(Error::kBadAddress) : Result<uint64_t>(done);
        // Per byte, and while the UART is busy: the host may hold a byte for a long time.
        for (uint64_t i = 0; i < n; ++i) {
            serial::put(chunk[i], [] { (void)sched::preempt_check(); });
            if (sched::preempt_check())
                return Result<uint64_t>(done + i + 1);  // the caller is ending
        }
        done += n;
    }
    return Result<uint64_t>(done);
}

}  // namespace keel::obj
