// A process: an address space, a handle table, its threads and its mappings. Processes are
// objects (Kind::kProcess): reading one waits for its end and returns its ExitInfo.
//
// How a process ends: end() records why (exit status or fault) and interrupts its blocked
// threads; every thread leaves at its next return towards user mode (sched::block returns
// kInterrupted, the system-call and interrupt return paths call before_user_return()). The
// last thread to leave releases the handles (peers see the pipe ends close), the mappings and
// the page tables, and wakes whoever waits for the process.
#pragma once

#include <keel/syscall_abi.hpp>

#include "arch/idt.hpp"
#include "mm/paging.hpp"
#include "obj/object.hpp"
#include "proc/account.hpp"
#include "proc/handle_table.hpp"
#include "sched/scheduler.hpp"
#include "sched/thread.hpp"

namespace keel::obj {
class MemoryObject;
}

namespace keel::proc {

class Process final : public obj::Object {
  public:
    // An empty process (no threads, nothing mapped) with an account under `parent` (nullptr:
    // init's, at the root) holding `limits` (checked by the caller); kNoMemory.
    static Result<obj::RefPtr<Process>> create(Account* parent, const abi::Limits& limits);
    // One with an account of its own with the machine's limits (the kernel's tests).
    static Result<obj::RefPtr<Process>> create() {
        return create(nullptr, Account::machine_limits());
    }

    Result<uint64_t> read(obj::Request& req) override;      // wait for the end: ExitInfo
    Result<uint64_t> get_meta(obj::Request& req) override;  // kId, kExit, kName, kLimits
    Result<uint64_t> set_meta(obj::Request& req) override;  // kName

    uint64_t id() const { return id_; }
    const char* name() const { return name_; }
    // kInvalidArgument (nothing changed) unless 1..kMaxNameLength printable bytes: names go to
    // the log.
    Result<void> set_name(const char* name, uint64_t length);
    HandleTable& handles() { return handles_; }
    // What it may use and uses (proc/account.hpp); usage() is get_meta kLimits' answer.
    Account& account() { return *account_; }
    abi::ResourceUsage usage() const;
    mm::PhysAddr page_tables() const { return space_.pml4(); }
    mm::AddressSpace& address_space() { return space_; }
    bool ending() const { return ending_; }
    const abi::ExitInfo& exit_info() const { return exit_; }

    // Maps all of m at `at` (0: the next free place above abi::kUserMapBase, one unmapped
    // guard page after each mapping) and returns the address. The mapping holds a reference.
    Result<uint64_t> map_memory(obj::MemoryObject& m, uint64_t at, bool writable, bool executable);
    // Removes the mapping that starts at address.
    Result<uint64_t> unmap(uint64_t address);

    // Starts the end (first reason wins) and interrupts the blocked threads.
    void end(const abi::ExitInfo& why);

    // For the scheduler.
    void add_thread(sched::Thread* t);
    void thread_exited(sched::Thread* t);

    // The process whose end stops the machine (init).
    void set_machine_owner() { machine_owner_ = true; }

    // The process table's view (proc/process_table.hpp): every process that exists as an
    // object (running, or ended and still held), oldest first.
    static Process* first();
    Process* next() const { return all_next_; }
    uint64_t parent_id() const { return parent_id_; }
    void set_parent_id(uint64_t id) { parent_id_ = id; }
    uint32_t live_threads() const { return live_threads_; }
    bool finished() const { return finished_; }
    // finish() began: its handle table is being emptied, nothing may be added to it.
    bool finishing() const { return finishing_; }

  private:
    struct Mapping {
        uint64_t base;
        uint64_t pages;
        obj::RefPtr<obj::MemoryObject> memory;  // the mapping's reference
        Mapping* next;
        Charge charge;  // its record and page tables (map_memory)
    };

    Process() : obj::Object(abi::Kind::kProcess), space_(mm::PhysAddr{0}) {}
    ~Process() override;
    void finish();
    void unmap_pages(const Mapping& m);

    uint64_t id_ = 0;
    mm::AddressSpace space_;
    HandleTable handles_;
    obj::RefPtr<Account> account_;
    sched::Thread* threads_ = nullptr;
    uint32_t live_threads_ = 0;
    Mapping* mappings_ = nullptr;
    uint64_t next_map_ = abi::kUserMapBase;
    bool ending_ = false;
    bool finishing_ = false;  // finish() began: the teardown may be at a preemption point
    bool finished_ = false;   // finish() ended: everything given back, the exit visible
    bool machine_owner_ = false;
    char name_[abi::kMaxNameLength + 1] = "unnamed";  // until its parent names it
    abi::ExitInfo exit_{};
    sched::WaitQueue waiters_;
    uint64_t parent_id_ = 0;
    Process* all_next_ = nullptr;  // the list of every process (first())
    Process* all_prev_ = nullptr;
};

inline Process* current_process() {
    return sched::current()->process();
}

// The account to charge for what the running thread makes: its process's, or nullptr in a
// kernel thread (the kernel's own objects are charged to nobody).
inline Account* current_account() {
    const sched::Thread* t = sched::current();
    return t != nullptr && t->process() != nullptr ? &t->process()->account() : nullptr;
}

// A CPU exception in user mode: reports it on the log, ends the current process with a fault
// status and the current thread with it. Never returns.
[[noreturn]] void user_fault(const idt::InterruptFrame& frame, uint64_t cr2);

// Called on every return to user mode (system call or interrupt): a thread whose process is
// ending leaves here instead.
void before_user_return_slow();
inline void before_user_return(const Process* p) {  // p: the current thread's process
    if (p != nullptr && p->ending()) [[unlikely]]
        before_user_return_slow();
}
inline void before_user_return() {
    before_user_return(current_process());
}

}  // namespace keel::proc
