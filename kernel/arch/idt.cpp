#include "arch/idt.hpp"

#include "arch/exceptions.hpp"
#include "arch/gdt.hpp"
#include "arch/tlb.hpp"
#include "log/log.hpp"
#include "panic.hpp"
#include "proc/process.hpp"
#include "sched/big_lock.hpp"

extern "C" const char keel_interrupt_stubs[];
extern "C" const char keel_interrupt_stubs_end[];

namespace keel::idt {

namespace {

struct [[gnu::packed]] Gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] Pointer {
    uint16_t limit;
    uint64_t base;
};

constexpr uint8_t kInterruptGate = 0x8e;  // present, ring 0, 64-bit interrupt gate (IF cleared)
constexpr uint64_t kStubSize = 16;

alignas(16) Gate g_idt[256];
Handler g_handlers[256];

}  // namespace

void load() {
    const Pointer ptr{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt)};
    asm volatile("lidt %0" ::"m"(ptr));
}

void init() {
    KEEL_ASSERT(keel_interrupt_stubs_end - keel_interrupt_stubs == 256 * kStubSize);
    for (int v = 0; v < 256; ++v) {
        const uint64_t addr = reinterpret_cast<uint64_t>(keel_interrupt_stubs) + v * kStubSize;
        uint8_t ist = 0;
        if (v == 8)
            ist = gdt::kIstDoubleFault;
        if (v == 2)
            ist = gdt::kIstNmi;
        g_idt[v] = Gate{static_cast<uint16_t>(addr),
                        gdt::kKernelCode,
                        ist,
                        kInterruptGate,
                        static_cast<uint16_t>(addr >> 16),
                        static_cast<uint32_t>(addr >> 32),
                        0};
    }
    load();
}

void set_handler(uint8_t vector, Handler handler) {
    KEEL_ASSERT(vector >= 32);
    g_handlers[vector] = handler;
}

}  // namespace keel::idt

namespace {
// The vectors that never take the big kernel lock (sched/big_lock.hpp): the NMI, double fault
// and machine check arrive anywhere (also on the holder, at any instruction), and the TLB
// shootdown's requester holds the lock while it waits for the answer.
bool takes_big_lock(uint64_t vector) {
    return vector != 2 && vector != 8 && vector != 18 && vector != keel::tlb::kShootdownVector;
}
}  // namespace

// Called by interrupt_entry.S with interrupts off (all gates are interrupt gates).
extern "C" void keel_interrupt_dispatch(keel::idt::InterruptFrame* frame) {
    using namespace keel;
    if (!takes_big_lock(frame->vector)) {
        if (frame->vector < 32)
            exceptions::handle(*frame);
        else if (idt::Handler h = idt::g_handlers[frame->vector]; h != nullptr)
            h(*frame);
        return;
    }
    // Taken here unless this CPU holds it (an interrupt in a preemption point's window, or in
    // the kernel tests): from user mode always, and on a halted idle CPU. A handler may switch
    // threads; whoever switches back to this one holds the lock then, on whatever CPU, and
    // this frame lets it go as it returns (to user mode, or to the idle loop's halt).
    const bool take = !sched::big_lock::held();
    if (take)
        sched::big_lock::acquire();
    if (frame->vector < 32) {
        exceptions::handle(*frame);
    } else if (idt::Handler h = idt::g_handlers[frame->vector]; h != nullptr) {
        h(*frame);
    } else if (frame->vector != idt::kSpuriousVector) {
        log::warn("unexpected interrupt vector %lu", frame->vector);
    }
    // A thread whose process is ending never goes back to user mode.
    if ((frame->cs & 3) != 0)
        proc::before_user_return();
    if (take)
        sched::big_lock::release();
}
