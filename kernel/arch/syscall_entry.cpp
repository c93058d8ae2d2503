#include "arch/syscall_entry.hpp"

#include "arch/cpu.hpp"
#include "arch/gdt.hpp"
#include "arch/percpu.hpp"

extern "C" void keel_syscall_entry();

namespace keel::syscall_entry {

namespace {

constexpr uint32_t kEfer = 0xc0000080;
constexpr uint32_t kStar = 0xc0000081;
constexpr uint32_t kLstar = 0xc0000082;
constexpr uint32_t kSfmask = 0xc0000084;
constexpr uint64_t kEferSyscall = 1;

// Flags cleared on entry: TF (no single-step into the kernel), IF (the stub runs with
// interrupts off until it is on the kernel stack; the kernel then keeps them off, see
// sched/scheduler.hpp), DF (the ABI wants it clear), NT, AC.
constexpr uint64_t kMaskedFlags = (1u << 8) | (1u << 9) | (1u << 10) | (1u << 14) | (1u << 18);

}  // namespace

void init() {
    cpu::wrmsr(kEfer, cpu::rdmsr(kEfer) | kEferSyscall);
    // syscall: CS = STAR[47:32], SS = +8. sysret: SS = STAR[63:48] + 8, CS = + 16 (RPL 3):
    // hence user data (0x18) just below user code (0x20) in the GDT.
    const uint64_t sysret_base = gdt::kUserData - 8 - 3;
    cpu::wrmsr(kStar, (sysret_base << 48) | (uint64_t{gdt::kKernelCode} << 32));
    cpu::wrmsr(kLstar, reinterpret_cast<uint64_t>(&keel_syscall_entry));
    cpu::wrmsr(kSfmask, kMaskedFlags);
}

}  // namespace keel::syscall_entry
