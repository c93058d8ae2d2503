// The CPU's protections of the kernel against user memory, where the CPU has them (CPUID leaf
// 7): SMEP (the kernel never executes a user page), SMAP (the kernel touches user pages only
// inside keel_user_copy, which opens them with stac and closes them with clac) and UMIP (user
// code cannot read the GDT, IDT, LDT and task register bases with sgdt/sidt/sldt/str, nor CR0
// with smsw). QEMU's TCG has all three; ci/qemu-boot.sh asks for them.
#pragma once

#include <cstdint>

// Set when SMAP is on: the assembly (probe.S, interrupt_entry.S) executes stac/clac only then
// (they are invalid opcodes on a CPU without SMAP).
extern "C" uint8_t keel_smap_on;

namespace keel::cpu {

struct Protections {
    bool smep, smap, umip;
};

// Turns on each protection the CPU has, before any user page exists; what it turned on.
Protections enable_protections();
// What enable_protections() turned on.
Protections protections();

}  // namespace keel::cpu
