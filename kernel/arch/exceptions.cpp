#include "arch/exceptions.hpp"

#include "arch/cpu.hpp"
#include "arch/percpu.hpp"
#include "debug/backtrace.hpp"
#include "log/log.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"
#include "proc/process.hpp"

namespace keel::exceptions {

namespace {

struct ExtableEntry {
    uint64_t instruction;
    uint64_t fixup;
};

constexpr uint64_t kPageFault = 14;
constexpr uint64_t kPfInstructionFetch = 1u << 4;

const char* const kNames[32] = {"divide error",
                                "debug",
                                "NMI",
                                "breakpoint",
                                "overflow",
                                "bound range exceeded",
                                "invalid opcode",
                                "device not available",
                                "double fault",
                                "coprocessor overrun",
                                "invalid TSS",
                                "segment not present",
                                "stack fault",
                                "general protection",
                                "page fault",
                                "reserved",
                                "x87 floating point",
                                "alignment check",
                                "machine check",
                                "SIMD floating point",
                                "virtualization",
                                "control protection",
                                "reserved",
                                "reserved",
                                "reserved",
                                "reserved",
                                "reserved",
                                "reserved",
                                "hypervisor injection",
                                "VMM communication",
                                "security",
                                "reserved"};

RecoveredFault g_last;

}  // namespace
}  // namespace keel::exceptions

extern "C" const keel::exceptions::ExtableEntry __keel_extable_start[];
extern "C" const keel::exceptions::ExtableEntry __keel_extable_end[];

namespace keel::exceptions {

namespace {

uint64_t find_fixup(uint64_t instruction) {
    for (const ExtableEntry* e = __keel_extable_start; e < __keel_extable_end; ++e) {
        if (e->instruction == instruction)
            return e->fixup;
    }
    return 0;
}

// Resumes a probe after its fault. Only faults in kernel mode with interrupts' frame intact.
bool try_recover(idt::InterruptFrame& f, uint64_t cr2) {
    if ((f.cs & 3) != 0 || (f.vector != kPageFault && f.vector != 13))
        return false;
    uint64_t fixup = find_fixup(f.rip);
    bool pop_return = false;
    if (fixup == 0 && f.vector == kPageFault && (f.error_code & kPfInstructionFetch) != 0 &&
        cr2 == f.rip) {
        // A call through keel_probe_call landed on a non-executable page: the return address
        // is the last thing on the stack (read only if mapped: rsp may be anything here).
        if ((f.rsp & 7) != 0 || !mm::kernel_space().translate(mm::VirtAddr{f.rsp}))
            return false;
        fixup = find_fixup(*reinterpret_cast<const uint64_t*>(f.rsp));
        pop_return = true;
    }
    if (fixup == 0)
        return false;
    if (pop_return)
        f.rsp += 8;
    f.rip = fixup;
    g_last = {f.vector, cr2, f.error_code, g_last.count + 1};
    return true;
}

void dump(const idt::InterruptFrame& f, uint64_t cr2) {
    log::print("\n*** CPU exception %lu (%s), error code 0x%lx\n", f.vector, kNames[f.vector & 31],
               f.error_code);
    if (f.vector == kPageFault) {
        log::print("    faulting address cr2=0x%016lx (%s, %s, %s)\n", cr2,
                   (f.error_code & 1) != 0 ? "protection violation" : "not present",
                   (f.error_code & 2) != 0 ? "write" : "read",
                   (f.error_code & kPfInstructionFetch) != 0 ? "instruction fetch" : "data");
    }
    log::print("    rip=0x%016lx cs=0x%lx rflags=0x%lx rsp=0x%016lx ss=0x%lx\n", f.rip, f.cs,
               f.rflags, f.rsp, f.ss);
    log::print("    rax=0x%016lx rbx=0x%016lx rcx=0x%016lx rdx=0x%016lx\n", f.rax, f.rbx, f.rcx,
               f.rdx);
    log::print("    rsi=0x%016lx rdi=0x%016lx rbp=0x%016lx r8 =0x%016lx\n", f.rsi, f.rdi, f.rbp,
               f.r8);
    log::print("    r9 =0x%016lx r10=0x%016lx r11=0x%016lx r12=0x%016lx\n", f.r9, f.r10, f.r11,
               f.r12);
    log::print("    r13=0x%016lx r14=0x%016lx r15=0x%016lx cr3=0x%016lx\n", f.r13, f.r14, f.r15,
               cpu::read_cr3());
    debug::print_frame(0, f.rip);
    debug::print_backtrace(f.rbp);
}

}  // namespace

RecoveredFault last_recovered_fault() {
    return g_last;
}

NmiRecord last_nmi() {
    const percpu::PerCpu& c = percpu::current();
    const uint64_t count = c.nmi_count.load(std::memory_order_acquire);
    return {count, c.nmi_frame};
}

void handle(idt::InterruptFrame& frame) {
    const uint64_t cr2 = frame.vector == kPageFault ? cpu::read_cr2() : 0;
    if (try_recover(frame, cr2))
        return;
    if (frame.vector == 2) {
        // Nothing raises NMIs on purpose yet except the self-test; note it and carry on.
        percpu::PerCpu& c = percpu::current();
        c.nmi_frame = reinterpret_cast<uint64_t>(&frame);
        c.nmi_count.fetch_add(1, std::memory_order_release);
        log::debug("NMI received (rip 0x%lx)", frame.rip);
        return;
    }
    if ((frame.cs & 3) != 0)
        proc::user_fault(frame, cr2);  // ends that process only; does not return
    dump(frame, cr2);
    panic_after_report("unhandled CPU exception %lu (%s)", frame.vector, kNames[frame.vector & 31]);
}

}  // namespace keel::exceptions
