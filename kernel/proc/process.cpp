#include "proc/process.hpp"

#include <new>
#include <utility>

#include <keel/c/libc.hpp>
#include "arch/cpu.hpp"
#include "arch/tlb.hpp"
#include "log/log.hpp"
#include "obj/memory.hpp"
#include "obj/served.hpp"
#include "panic.hpp"
#include "sched/preempt.hpp"
#include "sched/scheduler.hpp"

namespace keel::proc {

namespace {
uint64_t g_next_id = 1;
Process* g_first = nullptr;  // every process, oldest first (interrupts off: no lock)
Process* g_last = nullptr;

const char* const kVectorNames[32] = {"divide error",
                                      "debug",
                                      "NMI",
                                      "breakpoint",
                                      "overflow",
                                      "bound range",
                                      "invalid opcode",
                                      "device not available",
                                      "double fault",
                                      "coprocessor",
                                      "invalid TSS",
                                      "segment not present",
                                      "stack fault",
                                      "general protection",
                                      "page fault",
                                      "reserved",
                                      "x87",
                                      "alignment check",
                                      "machine check",
                                      "SIMD",
                                      "virtualization",
                                      "control protection",
                                      "reserved",
                                      "reserved",
                                      "reserved",
                                      "reserved",
                                      "reserved",
                                      "reserved",
                                      "hypervisor",
                                      "VMM communication",
                                      "security",
                                      "reserved"};
}  // namespace

Result<obj::RefPtr<Process>> Process::create(Account* parent, const abi::Limits& limits) {
    obj::RefPtr<Account> account = KEEL_TRY(Account::create(parent, limits));
    auto tables = mm::create_user_tables();
    if (!tables)
        return fail(abi::Error::kNoMemory);
    auto* p = new (std::nothrow) Process;
    if (p == nullptr) {
        mm::destroy_user_tables(*tables);
        return fail(abi::Error::kNoMemory);
    }
    p->space_.reset(*tables);
    p->account_ = std::move(account);
    p->handles_.set_limit(limits.handles);
    p->id_ = g_next_id++;
    p->all_prev_ = g_last;
    (g_last != nullptr ? g_last->all_next_ : g_first) = p;
    g_last = p;
    return obj::adopt_ref(p);
}

Process* Process::first() {
    return g_first;
}

Process::~Process() {
    (all_prev_ != nullptr ? all_prev_->all_next_ : g_first) = all_next_;
    (all_next_ != nullptr ? all_next_->all_prev_ : g_last) = all_prev_;
    // A process that never ran a thread still owns what spawn gave it.
    if (!finishing_)
        finish();
}

Result<uint64_t> Process::read(obj::Request& req) {
    if (!finished_)
        return obj::would_block(req, waiters_);
    return obj::answer_bytes(req, &exit_, sizeof exit_);
}

Result<uint64_t> Process::get_meta(obj::Request& req) {
    switch (static_cast<abi::Meta>(req.arg)) {
        case abi::Meta::kId:
            return obj::answer_u64(req, id_);
        case abi::Meta::kExit: {
            abi::ExitInfo info = finished_ ? exit_ : abi::ExitInfo{};
            return obj::answer_bytes(req, &info, sizeof info);
        }
        case abi::Meta::kName:
            return obj::answer_bytes(req, name_, strlen(name_));
        case abi::Meta::kLimits: {
            const abi::ResourceUsage u = usage();
            return obj::answer_bytes(req, &u, sizeof u);
        }
        default:
            return fail(abi::Error::kInvalidArgument);
    }
}

Result<uint64_t> Process::set_meta(obj::Request& req) {
    if (static_cast<abi::Meta>(req.arg) != abi::Meta::kName)
        return fail(abi::Error::kInvalidArgument);
    const uint64_t n = req.buffer.length();
    if (n > abi::kMaxNameLength)
        return fail(abi::Error::kTooLarge);
    char name[abi::kMaxNameLength];
    KEEL_TRY(req.buffer.copy_out_of(0, name, n));
    KEEL_TRY(set_name(name, n));
    return n;
}

abi::ResourceUsage Process::usage() const {
    const Usage& used = account_->used();
    return {account_->limits(),
            {used.frames * mm::kPageSize, handles_.count(), used.queues, used.threads, 0}};
}

Result<void> Process::set_name(const char* name, uint64_t length) {
    if (length == 0 || length > abi::kMaxNameLength)
        return fail(abi::Error::kInvalidArgument);
    for (uint64_t i = 0; i < length; ++i) {
        if (name[i] < 0x20 || name[i] > 0x7e)
            return fail(abi::Error::kInvalidArgument);
    }
    memcpy(name_, name, length);
    name_[length] = '\0';
    return success();
}

Result<uint64_t> Process::map_memory(obj::MemoryObject& m, uint64_t at, bool writable,
                                     bool executable) {
    if (finishing_)
        return fail(abi::Error::kPeerGone);
    // Held across the preemption points (the caller's handle may be closed meanwhile).
    obj::RefPtr<obj::MemoryObject> memory = obj::retain_ref(&m);
    const uint64_t bytes = m.pages() * mm::kPageSize;
    uint64_t base = at;
    if (base == 0) {
        if (next_map_ + bytes + mm::kPageSize > abi::kUserStackTop - abi::kUserStackSize)
            return fail(abi::Error::kNoMemory);
        base = next_map_;
    }
    // A mapping is charged a frame per started 2 MiB of address space it takes (its guard page
    // included): its page tables and its record. A process cannot grow the kernel's memory by
    // mapping one object many times.
    Charge charge = KEEL_TRY(Charge::take(account_.get(), {(m.pages() + 1 + 511) / 512, 0, 0}));
    auto* mapping = new (std::nothrow) Mapping{base, 0, nullptr, nullptr, {}};
    if (mapping == nullptr)
        return fail(abi::Error::kNoMemory);
    mapping->charge = std::move(charge);
    // The range is taken before the loop: another thread's map may run at a preemption point.
    if (at == 0)
        next_map_ = base + bytes + mm::kPageSize;  // the page after stays unmapped: a guard
    const uint64_t flags = mm::kPageUser | (writable ? mm::kPageWritable : 0) |
                           (executable ? 0 : mm::kPageNoExecute) | m.cache_flags();
    for (uint64_t i = 0; i < m.pages(); ++i) {
        // A hole in device memory (an MSI-X table) stays unmapped: touching it faults.
        if (m.frame(i) != obj::MemoryObject::kHole &&
            !space_.map(mm::VirtAddr{base + i * mm::kPageSize}, m.frame(i), flags)) {
            unmap_pages(*mapping);
            delete mapping;
            return fail(abi::Error::kNoMemory);
        }
        mapping->pages = i + 1;
        if (sched::preempt_check()) {  // the caller is ending: nobody will use the mapping
            unmap_pages(*mapping);
            delete mapping;
            return fail(abi::Error::kPeerGone);
        }
    }
    mapping->memory = std::move(memory);
    mapping->next = mappings_;  // published whole
    mappings_ = mapping;
    return Result<uint64_t>(base);
}

void Process::unmap_pages(const Mapping& m) {
    // m is unlinked (or not yet linked) and its range is never handed out again (next_map_
    // only grows), so another thread running at a preemption point cannot reach it.
    for (uint64_t i = 0; i < m.pages; ++i) {
        (void)space_.unmap(mm::VirtAddr{m.base + i * mm::kPageSize});
        (void)sched::preempt_check();
    }
}

Result<uint64_t> Process::unmap(uint64_t address) {
    for (Mapping** p = &mappings_; *p != nullptr; p = &(*p)->next) {
        Mapping* m = *p;
        if (m->base != address)
            continue;
        *p = m->next;
        unmap_pages(*m);
        delete m;  // and its reference to the memory object
        return Result<uint64_t>(0);
    }
    return fail(abi::Error::kInvalidArgument);
}

void Process::end(const abi::ExitInfo& why) {
    if (ending_)
        return;
    ending_ = true;
    exit_ = why;
    for (sched::Thread* t = threads_; t != nullptr; t = t->next_in_process) {
        if (t->state() == sched::ThreadState::kBlocked)
            sched::wake(t, sched::WakeReason::kInterrupted);
        else if (t->state() == sched::ThreadState::kRunning)
            sched::kick(t);  // running user code on another CPU: into the kernel, and out
    }
}

void Process::add_thread(sched::Thread* t) {
    t->next_in_process = threads_;
    threads_ = t;
    ++live_threads_;
}

void Process::thread_exited(sched::Thread* t) {
    obj::Served::thread_gone(*t);  // a direct call it holds is answered PeerGone
    for (sched::Thread** p = &threads_; *p != nullptr; p = &(*p)->next_in_process) {
        if (*p == t) {
            *p = t->next_in_process;
            break;
        }
    }
    KEEL_ASSERT(live_threads_ > 0);
    if (--live_threads_ == 0) {
        if (!ending_)
            end(t->exit_info());  // the last thread's own exit ends the process
        finish();
    }
}

void Process::finish() {
    if (finishing_)
        return;
    // Finished (what its waiters and kExit see) only once everything is given back: the
    // teardown reaches preemption points, and a parent that read the exit meanwhile would
    // find the child's handles still open (a server would not have its cancels yet).
    finishing_ = true;
    handles_.clear();
    // The page tables go last, and not while loaded: this thread runs on in the kernel half.
    if ((cpu::read_cr3() & ~0xfffull) == space_.pml4().value)
        mm::activate(mm::kernel_space());
    // Its threads have all left; a CPU that ran one and went idle keeps the tables loaded
    // (lazy idle, sched/scheduler.cpp) until a shootdown's answer unloads them.
    if (const uint32_t cpus = space_.loaded_on(); cpus != 0)
        tlb::shoot_down(cpus);
    KEEL_ASSERT(space_.loaded_on() == 0);
    while (mappings_ != nullptr) {
        Mapping* m = mappings_;
        mappings_ = m->next;
        delete m;                      // and its reference to the memory object
        (void)sched::preempt_check();  // the list is consistent between entries
    }
    mm::destroy_user_tables(space_.pml4());
    space_.reset(mm::PhysAddr{0});
    finished_ = true;
    waiters_.wake_all();
    if (exit_.reason == static_cast<uint32_t>(abi::ExitReason::kFault)) {
        log::debug("process %lu ended by fault (vector %u at 0x%lx)", id_, exit_.vector,
                   exit_.address);
    } else {
        log::debug("process %lu exited with status %ld", id_, exit_.status);
    }
    if (machine_owner_) {
        sched::log_cpu_use();
        log::info("init ended (reason %u, status %ld): stopping the machine", exit_.reason,
                  exit_.status);
        const bool ok =
            exit_.reason == static_cast<uint32_t>(abi::ExitReason::kExited) && exit_.status == 0;
        qemu_exit(ok ? QemuExit::kSuccess : QemuExit::kFailure);
    }
}

void user_fault(const idt::InterruptFrame& frame, uint64_t cr2) {
    Process* p = current_process();
    KEEL_ASSERT(p != nullptr);
    log::print("process %lu (%s) thread %lu: %s (vector %lu) at rip 0x%lx", p->id(), p->name(),
               sched::current()->id(), kVectorNames[frame.vector & 31], frame.vector, frame.rip);
    if (frame.vector == 14)
        log::print(", address 0x%lx", cr2);
    log::print(": process ended\n");
    const abi::ExitInfo info{static_cast<uint32_t>(abi::ExitReason::kFault),
                             static_cast<uint32_t>(frame.vector), -1, frame.rip, cr2};
    p->end(info);
    sched::exit_current(p->exit_info());
}

void before_user_return_slow() {
    Process* p = current_process();
    if (p != nullptr && p->ending())
        sched::exit_current(p->exit_info());
}

}  // namespace keel::proc
