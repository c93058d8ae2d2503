// The per-CPU block: what each CPU owns (its index, LAPIC id, GDT + TSS, stacks, the locks it
// holds) reached through the GS base. The kernel always runs with GS pointing at its CPU's
// block: every entry from user mode swaps it in with `swapgs` (syscall_entry.S,
// interrupt_entry.S) and the NMI, double-fault and machine-check entries, which can arrive
// anywhere (even between a swapgs and the iretq/sysretq after it), decide by the GS base MSR
// itself. The boot CPU's block is set up first thing in keel_kernel_main; each application
// processor's in arch/smp.cpp before it runs any C++ that could take a lock.
#pragma once

#include <atomic>
#include <cstdint>

#include "arch/gdt.hpp"

namespace keel {
class SpinLock;
}
namespace keel::sched {
class Thread;
}
namespace keel::mm {
class AddressSpace;
}

namespace keel::percpu {

// The CPUs the kernel runs at most; further MADT processors are logged and left parked.
inline constexpr uint32_t kMaxCpus = 16;
// Locks one CPU may hold at once (deepest nesting today: 3, see kernel/README.md "Locks").
inline constexpr uint32_t kMaxHeldLocks = 8;

enum class CpuState : uint32_t { kAbsent, kStarting, kOnline, kFailed };

struct PerCpu {
    // Read by syscall_entry.S at fixed offsets: keep these three first.
    uint64_t user_rsp;    // gs:0, scratch while the system-call stub switches stacks
    uint64_t kernel_rsp;  // gs:8, the running thread's kernel stack top
    PerCpu* self;         // gs:16, how current() finds the block
    uint32_t index;       // 0 = the boot CPU, then in MADT order
    uint32_t apic_id;
    std::atomic<CpuState> state;
    const char* failure;  // why an AP that ran reported kFailed
    // When the boot CPU sent the first STARTUP and when the AP reported (lapic::now_ns).
    uint64_t started_ns;
    uint64_t reported_ns;
    // The stacks this CPU boots (and, for an AP, idles) on and its two IST stacks, each above
    // an unmapped guard page (the boot CPU's are arch/stacks.cpp's static ones).
    uint64_t boot_stack_top;
    uint64_t double_fault_stack_top;
    uint64_t nmi_stack_top;
    // The lock-order checker's record (lib/lock_order.cpp): the locks held, innermost last.
    const SpinLock* held_locks[kMaxHeldLocks];
    uint32_t held_count;
    // NMIs taken on this CPU and where the last one's frame was (on the NMI IST stack).
    std::atomic<uint64_t> nmi_count;
    uint64_t nmi_frame;

    // The scheduler's part (sched/scheduler.cpp; read and written under the big kernel lock,
    // sched/big_lock.hpp): the running thread, this CPU's idle thread (its boot context), its
    // run queue, and a thread that exited here whose stack the switch still ran on.
    sched::Thread* thread;
    sched::Thread* idle;
    sched::Thread* ready_head;
    sched::Thread* ready_tail;
    uint32_t ready_count;
    bool runs_threads;  // takes threads from the run queues (the boot CPU; APs unless smp=boot)
    uint64_t switches;  // to a thread other than its idle one (the log line at the end)
    bool holds_big_lock;
    uint64_t big_lock_taken;  // times this CPU took it (sched/big_lock's log line)
    sched::Thread* reap;
    // sched/preempt's stretch of kernel work on this CPU.
    uint64_t segment_start;  // TSC at its start
    uint64_t in_syscall;     // the running call's number + 1; 0 outside a system call
    uint32_t no_preempt;     // NoPreempt scopes open (and the interrupt window)
    // arch/lapic: when this CPU's one-shot timer was last programmed to fire.
    uint64_t timer_armed_at;
    // arch/tlb: the address space loaded in CR3 (nullptr until the first switch), and the
    // shootdown handshake: a requester raises tlb_request, this CPU flushes and copies it to
    // tlb_done; kernel_tlb_seen is the kernel-half generation this CPU last flushed for.
    mm::AddressSpace* loaded_space;
    std::atomic<uint64_t> tlb_request;
    std::atomic<uint64_t> tlb_done;
    uint64_t kernel_tlb_seen;
    gdt::CpuTables tables;
};

// Sets up the boot CPU's block (index 0, the static stacks), loads its GDT and TSS and points
// GS at it. The first thing keel_kernel_main does: everything after may use current().
void init_bsp();
// Loads `cpu`'s GDT and TSS on the calling CPU and points its GS base (and the syscall
// kernel GS, for stage 2) at it. For an application processor starting up (arch/smp.cpp).
void load(PerCpu& cpu);

// The calling CPU's block (one load through GS). Interrupts off and no switch while the
// reference is used: a thread may continue on another CPU after any switch.
inline PerCpu& current() {
    PerCpu* p;
    asm volatile("mov %%gs:16, %0" : "=r"(p));
    return *p;
}

// Block i (0 <= i < kMaxCpus), whatever its state.
PerCpu& cpu(uint32_t index);
// CPUs with a block in use (the boot CPU plus the MADT's processors that were tried).
uint32_t count();
// Claims the next block for an application processor; nullptr when kMaxCpus are in use.
PerCpu* claim(uint32_t apic_id);

}  // namespace keel::percpu
