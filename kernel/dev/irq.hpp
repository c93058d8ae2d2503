// Device interrupt vectors: the range kFirstVector..kLastVector of the boot CPU's IDT, handed
// out one at a time to interrupt sources (an I/O APIC input shared by its holders, or one MSI
// or MSI-X message), and the one dispatch path they all arrive through.
//
// Dispatch (interrupts off, on the interrupted thread's kernel stack): the owner's handler
// runs, then the LAPIC gets its EOI, then, when the handler woke a thread and the interrupt
// came from user mode, the scheduler runs (the woken driver runs at once instead of at the
// next tick). A vector with no owner (an interrupt latched before its source was masked and
// the vector freed) is counted, logged at debug level and EOI'd: it cannot reach a freed owner.
#pragma once

#include <cstdint>

#include "lib/result.hpp"

namespace keel::dev::irq {

inline constexpr uint8_t kFirstVector = 0x30;
inline constexpr uint8_t kLastVector = 0xef;  // 0xf0-0xff: the masked 8259s, spurious
inline constexpr uint32_t kVectorCount = kLastVector - kFirstVector + 1;

// Called for each arrival of the vector, before the EOI, with the owner's context. Answers
// whether it woke a thread. Interrupts off; it must not block or allocate.
using Handler = bool (*)(void* context);

// Installs the dispatch for every vector of the range. Once, after the IDT and the LAPIC.
void init();

// A free vector, now dispatched to handler(context). kFull when every vector is taken.
Result<uint8_t> allocate_vector(Handler handler, void* context);
// Unhooks the vector (its handler is never called again) and returns it to the pool. The
// caller first masks the source.
void free_vector(uint8_t vector);

uint32_t vectors_in_use();
uint64_t stray_interrupts();  // arrivals on a vector with no owner

}  // namespace keel::dev::irq
