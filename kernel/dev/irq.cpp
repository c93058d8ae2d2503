#include "dev/irq.hpp"

#include "arch/idt.hpp"
#include "arch/lapic.hpp"
#include "log/log.hpp"
#include "panic.hpp"
#include "sched/scheduler.hpp"

namespace keel::dev::irq {

namespace {

struct Slot {
    Handler handler;  // nullptr: free
    void* context;
};

Slot g_slots[kVectorCount];
uint32_t g_in_use = 0;
uint64_t g_stray = 0;

void dispatch(idt::InterruptFrame& frame) {
    const uint64_t v = frame.vector;
    KEEL_ASSERT(v >= kFirstVector && v <= kLastVector);
    const Slot& s = g_slots[v - kFirstVector];
    bool woke = false;
    if (s.handler != nullptr) {
        woke = s.handler(s.context);
    } else {
        ++g_stray;
        log::debug("irq: vector 0x%lx arrived with no owner", v);
    }
    // The handler has masked a level-triggered input before this EOI, so the broadcast that
    // clears its remote IRR cannot re-raise it at once.
    lapic::eoi();
    // As the tick does: only user code is preempted (sched/scheduler.hpp); the idle loop
    // schedules by itself when its hlt ends, a long system call at its next preemption point
    // (sched/preempt.hpp).
    if (woke && (frame.cs & 3) != 0)
        sched::yield();
}

}  // namespace

void init() {
    for (uint32_t v = kFirstVector; v <= kLastVector; ++v)
        idt::set_handler(static_cast<uint8_t>(v), dispatch);
}

Result<uint8_t> allocate_vector(Handler handler, void* context) {
    KEEL_ASSERT(handler != nullptr);
    for (uint32_t i = 0; i < kVectorCount; ++i) {
        if (g_slots[i].handler == nullptr) {
            g_slots[i] = Slot{handler, context};
            ++g_in_use;
            return static_cast<uint8_t>(kFirstVector + i);
        }
    }
    return fail(abi::Error::kFull);
}

void free_vector(uint8_t vector) {
    KEEL_ASSERT(vector >= kFirstVector && vector <= kLastVector);
    Slot& s = g_slots[vector - kFirstVector];
    KEEL_ASSERT(s.handler != nullptr);
    s = Slot{nullptr, nullptr};
    --g_in_use;
}

uint32_t vectors_in_use() {
    return g_in_use;
}

uint64_t stray_interrupts() {
    return g_stray;
}

}  // namespace keel::dev::irq
