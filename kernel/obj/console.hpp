// The console: writes go to the serial port (COM1), unchanged, each whole (a write preempted in
// the middle, sched/preempt.hpp, makes the next writer wait); reads take what was typed on it.
// Input arrives by COM1's interrupt (init_console_input) into one ring the kernel keeps for the
// whole machine (there is one UART): every console object reads from it, in arrival order.
#pragma once

#include "obj/object.hpp"

namespace keel::obj {

class Console final : public Object {
  public:
    static Result<RefPtr<Console>> create();  // kNoMemory
    Console() : Object(abi::Kind::kConsole) {}
    Result<uint64_t> write(Request& req) override;
    // The bytes typed so far (at least one; waits for one), at most the buffer's length.
    Result<uint64_t> read(Request& req) override;
    Result<uint64_t> get_meta(Request& req) override;  // kSize: bytes waiting to be read
};

// Routes COM1's interrupt (ISA IRQ 4 through the I/O APIC) to the input ring. Once, after the
// interrupt dispatch is up; without an I/O APIC it logs that the console has no input.
void init_console_input();

}  // namespace keel::obj
