// The host machine under the kernel's object layer (fuzz/kernel_objects): what the kernel
// files compiled unchanged for the host expect of mm/ and sched/, simulated.
//
// - Physical memory: an arena of kFrames frames in a memfd. A frame's physical address is
//   chosen so that the kernel's own mm::direct_map (kDirectMapBase + address, wrapping) lands
//   on its bytes in the arena, and still fits the 52 bits a page-table entry keeps. A free
//   frame is made inaccessible in the direct map, so touching one faults.
// - Page tables: kernel/mm/paging.cpp itself, on arena frames. Kernel windows (map_window) get
//   a host alias as well (the same frames mapped again, contiguously, at a host address), which
//   is what map_window returns: the kernel reads queue regions through it as through the real
//   window. The linker routes the calls here (--wrap).
// - Heap: operator new/delete counted (and failing on demand).
// - Scheduler: threads are records of the harness; sched::block never sleeps (kTimedOut, or
//   kInterrupted once the process is ending): the harness retries later instead.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "mm/address.hpp"
#include "sched/thread.hpp"

namespace keel::proc {
class Process;
}

namespace keel::sim {

inline constexpr uint64_t kFrames = 1024;

// Writes a line to stderr with little stack (the inputs run on a 16 KiB stack, where stdio's
// unbuffered stderr path alone needs more): printf formats, at most 511 bytes.
void report(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vreport(const char* fmt, va_list args);

// Ends the run after a failure was reported: abort(), or what set_stop installed (the harness
// hands the abort to a thread with a large stack: libFuzzer's crash report would not fit in
// the 16 KiB the inputs run on).
[[noreturn]] void stop();
void set_stop(void (*stop)());

// Once per process: the arena, the kernel's page tables (PML4 with the window region's PDPT).
void init();

// Frames allocated now (the kernel's PML4 and window PDPT included), live heap allocations,
// and INVLPGs so far.
uint64_t frames_in_use();
uint64_t heap_live();
// Allocations allowed from now on before each kind fails (~0: no limit).
void set_frame_budget(uint64_t n);
void set_heap_budget(uint64_t n);
// The frame behind a physical address, or nullptr outside the arena.
std::byte* frame_bytes(mm::PhysAddr p);

// `pages` frames mapped contiguously at a new host address (an unmapped page after them); the
// frames must stay allocated while the alias is used. unalias takes it away.
std::byte* alias(const mm::PhysAddr* frames, uint64_t pages);
void unalias(std::byte* base, uint64_t pages);

// Simulated time: advances the clock and fires the deadlines that came due.
void advance(uint64_t ns);

// Threads: a user thread of p (as create_user_thread), its exit (as the scheduler's: the
// process ends with its last thread, its joiners wake, the scheduler's reference goes).
sched::Thread* start_thread(proc::Process& p);
void exit_thread(sched::Thread* t, int64_t status);
// The thread whose system call runs now (current_process()); also loads its page tables.
void set_current(sched::Thread* t);

}  // namespace keel::sim
