// TLB shootdown (issue 22, stage 2). A mapping removed or downgraded in an address space that
// another CPU has loaded must leave that CPU's TLB before the frame is reused, or a thread
// there could go on reading (or writing) a frame that now belongs to someone else.
//
// User half: each address space keeps the mask of CPUs where it is loaded (mm/paging.hpp,
// kept by mm::activate at every switch to a thread; an idle CPU keeps the space it had, and
// stays in its mask: sched/scheduler.cpp, "lazy idle"); a removal on one CPU asks every other CPU
// in the mask to flush (CR3 reload: no global pages, no PCIDs) through an IPI on kShootdownVector
// and waits until each has answered, before it returns and the caller frees the frame.
//
// Kernel half: its mappings are removed only where addresses are never handed out again
// (kernel stacks, queue windows), and kernel code runs only under the big kernel lock
// (sched/big_lock.hpp): a removal only moves a generation on, and a CPU flushes when it takes
// the lock and finds the generation moved. No IPI, and no CPU can reach a stale kernel-half
// entry meanwhile (in user mode the entries are supervisor-only; the entry stubs touch only the
// running thread's stack and the per-CPU block, which stay mapped).
#pragma once

#include <atomic>
#include <cstdint>

#include "arch/percpu.hpp"

namespace keel::tlb {

inline constexpr uint8_t kShootdownVector = 0x22;

// Hooks the shootdown vector (shared IDT). Once, on the boot CPU.
void init();
// Every CPU in `cpu_mask` (bit i = percpu index i) other than the calling one has flushed its
// TLB when this returns. The caller holds the big kernel lock (only one requester at a time),
// interrupts off. Panics when a CPU does not answer within a second (it stopped).
void shoot_down(uint32_t cpu_mask);
// Flushes this CPU's TLB if a shootdown asked it to, runs the hook set below, and answers. The
// IPI's handler, and the spin for the big kernel lock (the requester holds it and waits for
// us). Interrupts off.
void answer_shootdown();
// What a CPU does after it flushed for a shootdown and before it answers (once, at the
// scheduler's init): an idle CPU loads the kernel's tables in place of the user space it kept
// loaded (sched/scheduler.cpp, "lazy idle"), so that a shootdown to a space's CPUs leaves it
// loaded nowhere, and its tables can be freed (proc/process.cpp, Process::finish).
void set_answer_hook(void (*hook)());
// A kernel-half mapping was removed or downgraded (the caller flushed its own entry).
void kernel_half_changed();
// Flushes this CPU's TLB when kernel-half mappings were removed since it last did. On taking
// the big kernel lock, so at every kernel entry: the comparison is inline, the flush is not.
namespace detail {
extern std::atomic<uint64_t> g_kernel_generation;
void catch_up(uint64_t generation);
}  // namespace detail
inline void catch_up_kernel_half(percpu::PerCpu& c) {  // c: the calling CPU's block
    const uint64_t g = detail::g_kernel_generation.load(std::memory_order_acquire);
    if (c.kernel_tlb_seen != g) [[unlikely]]
        detail::catch_up(g);
}
// Shootdowns this CPU asked for and answered since boot (for the tests).
uint64_t requested();
uint64_t answered();

}  // namespace keel::tlb
