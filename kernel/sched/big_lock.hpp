// The big kernel lock (issue 22, stage 2): the first SMP kernel runs user code on every CPU at
// once but kernel code on one CPU at a time, so the scheduler, wait queues, objects and
// processes keep the rule they were written for ("one CPU runs kernel code, interrupts off").
//
// A CPU takes it on every entry into the kernel from user mode (system call, interrupt,
// exception: arch/idt.cpp, syscall/syscalls.cpp), and its idle loop takes it to look for work;
// it lets go on every return to user mode and before it halts. A switch inside the kernel
// (a block, a yield, a preemption point) keeps it: the thread switched to continues holding it
// on this CPU. An interrupt taken in kernel mode by the holder (a preemption point's window,
// the kernel tests) needs nothing more; one arriving on another CPU waits for it, except the
// NMI, the double fault, the machine check and the TLB shootdown IPI, which never take it.
// While a CPU spins for it, it answers TLB shootdowns (arch/tlb.hpp): the holder may be
// waiting for exactly that CPU's answer.
//
// It is a SpinLock of rank LockRank::kBigKernel, outermost: the lock-order checker does not
// record it (it is taken at every kernel entry) but reports taking or releasing it with any
// other lock held, and a switch with any other lock held is reported.
#pragma once

namespace keel::sched::big_lock {

// Interrupts off (they stay off). Not while this CPU holds it.
void acquire();
// Interrupts off. This CPU must hold it.
void release();
// Whether this CPU holds it.
bool held();
// At a preemption point (sched/preempt.hpp), whose contract already lets other kernel code run:
// when another CPU waits for the lock, lets go of it until one took it (or 20 µs passed), then
// takes it again. A long system call does not keep the other CPUs out of the kernel.
void let_others_in();
// Logs how often it was taken, how often a CPU had to wait and how long all waits took (when
// init ends, before the machine stops). Holding it.
void log_stats();

}  // namespace keel::sched::big_lock
