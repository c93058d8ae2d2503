#include "proc/process_table.hpp"

#include <new>

#include <keel/c/libc.hpp>
#include "mm/frame_allocator.hpp"
#include "mm/heap.hpp"
#include "proc/process.hpp"
#include "proc/spawn.hpp"
#include "sched/preempt.hpp"

namespace keel::proc {

namespace {

uint64_t count() {
    uint64_t n = 0;
    for (const Process* p = Process::first(); p != nullptr; p = p->next())
        ++n;
    return n;
}

abi::ProcessEntry entry_of(const Process& p) {
    abi::ProcessEntry e{};
    e.id = p.id();
    e.parent = p.parent_id();
    e.threads = p.live_threads();
    const abi::ExitInfo& exit = p.exit_info();
    if (!p.finished() || exit.reason == static_cast<uint32_t>(abi::ExitReason::kRunning)) {
        e.state = static_cast<uint32_t>(abi::ProcessState::kRunning);
    } else if (exit.reason == static_cast<uint32_t>(abi::ExitReason::kFault)) {
        e.state = static_cast<uint32_t>(abi::ProcessState::kFault);
        e.status = exit.vector;
    } else {
        e.state = static_cast<uint32_t>(abi::ProcessState::kExited);
        e.status = exit.status;
    }
    const uint64_t n = strlen(p.name());
    memcpy(e.name, p.name(), n < sizeof e.name ? n : sizeof e.name);
    return e;
}

}  // namespace

Result<obj::RefPtr<ProcessTable>> ProcessTable::create() {
    auto* t = new (std::nothrow) ProcessTable;
    if (t == nullptr)
        return fail(abi::Error::kNoMemory);
    return obj::adopt_ref(t);
}

Result<uint64_t> ProcessTable::read(obj::Request& req) {
    const uint64_t n = count();
    if (req.buffer.length() < n * sizeof(abi::ProcessEntry))
        return fail(abi::Error::kBufferTooSmall);
    uint64_t at = 0;
    for (const Process* p = Process::first(); p != nullptr; p = p->next()) {
        const abi::ProcessEntry e = entry_of(*p);
        KEEL_TRY(req.buffer.copy_into(at, &e, sizeof e));
        at += sizeof e;
    }
    return at;
}

Result<uint64_t> ProcessTable::get_meta(obj::Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
        return obj::answer_u64(req, count());
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kCpus) {
        return obj::answer_u64(req, sched::cpus_running_threads());
    }
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kMemoryInfo) {
        const heap::Stats h = heap::stats();
        const abi::MemoryInfo m{mm::frames().managed_frames(), mm::frames().free_frames(),
                                h.mapped_bytes / mm::kPageSize, h.live_allocations,
                                obj::Object::live()};
        return obj::answer_bytes(req, &m, sizeof m);
    }
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kLimits && req.caller != nullptr) {
        const abi::ResourceUsage u = req.caller->usage();
        return obj::answer_bytes(req, &u, sizeof u);
    }
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kKernelTime) {
        const abi::KernelTime k = sched::kernel_time();
        const Result<uint64_t> r = obj::answer_bytes(req, &k, sizeof k);
        if (r.ok())
            sched::reset_kernel_time();  // the next read covers what follows this one
        return r;
    }
    return fail(abi::Error::kInvalidArgument);
}

Result<uint64_t> ProcessTable::create(obj::Request& req) {
    abi::TableSpawn s{};
    if (req.buffer.length() != sizeof s)
        return fail(abi::Error::kInvalidArgument);
    KEEL_TRY(req.buffer.copy_out_of(0, &s, sizeof s));
    if (s.reserved != 0)
        return fail(abi::Error::kInvalidArgument);
    return KEEL_TRY(spawn_for(*req.caller, s.image, s.args));
}

}  // namespace keel::proc
