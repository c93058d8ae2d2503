// CPU exceptions: a fault at an instruction listed in the exception table (a probe) is
// recovered by resuming at its fixup; any other exception prints the registers and a
// symbolised backtrace, then panics.
#pragma once

#include <cstdint>

#include "arch/idt.hpp"

namespace keel::exceptions {

void handle(idt::InterruptFrame& frame);

// The last fault recovered through the exception table (for tests and, later, user copies).
struct RecoveredFault {
    uint64_t vector;
    uint64_t address;  // cr2 for page faults
    uint64_t error_code;
    uint64_t count;  // total recoveries since boot
};
RecoveredFault last_recovered_fault();

// NMIs seen so far on this CPU and where the last one's frame was (it must be on this CPU's
// NMI IST stack).
struct NmiRecord {
    uint64_t count;
    uint64_t frame_address;
};
NmiRecord last_nmi();

// Probes (arch/probe.S): one memory access that returns false instead of crashing when it
// faults. They are the only kernel code allowed to fault.
extern "C" bool keel_probe_read_u64(const volatile uint64_t* addr, uint64_t* out);
extern "C" bool keel_probe_write_u64(volatile uint64_t* addr, uint64_t value);
// Calls a function at addr (it must return): faults if addr is not executable.
extern "C" bool keel_probe_call(uint64_t addr);

}  // namespace keel::exceptions
