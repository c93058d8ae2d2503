// IDT and interrupt dispatch. Every vector has an assembly stub (arch/interrupt_entry.S) that
// saves the general registers into an InterruptFrame and calls dispatch(); CPU exceptions go
// to arch/exceptions.cpp, other vectors to the handler registered for them.
#pragma once

#include <cstdint>

namespace keel::idt {

// The stack layout built by interrupt_entry.S (lowest address first). A handler may modify it;
// the stub restores registers from it and returns with iretq.
struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;  // 0 for vectors where the CPU pushes none
    uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(InterruptFrame) == 22 * 8);

using Handler = void (*)(InterruptFrame& frame);

inline constexpr uint8_t kTimerVector = 0x20;
inline constexpr uint8_t kSpuriousVector = 0xff;

// Fills the one IDT all CPUs share and loads it on this CPU. Double fault and NMI use their
// IST stacks (each CPU's own, through its TSS).
void init();
// Loads the shared IDT on the calling CPU (an application processor starting up).
void load();
// Installs handler for an external vector (>= 32). Called with interrupts off or before they
// are first enabled.
void set_handler(uint8_t vector, Handler handler);

}  // namespace keel::idt
