// The system-call table (abi::Syscall). keel_syscall_dispatch is called by
// arch/syscall_entry.S with the user's registers in an idt::InterruptFrame, interrupts off.
#pragma once

#include <cstdint>

#include "arch/idt.hpp"

extern "C" void keel_syscall_dispatch(keel::idt::InterruptFrame* frame);
