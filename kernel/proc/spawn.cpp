#include "proc/spawn.hpp"

#include <new>
#include <utility>

#include <keel/elf/elf_check.hpp>
#include "log/log.hpp"
#include "proc/spawn_args.hpp"
#include "sched/preempt.hpp"
#include "sched/scheduler.hpp"

namespace keel::proc {

namespace {

// Maps each validated segment as a private memory object holding its file bytes (the rest
// zero), with the segment's own permissions: writable only if W, executable only if X.
Result<void> load_segments(Process& p, const uint8_t* file, const elf::Image& img) {
    for (uint32_t i = 0; i < img.segment_count; ++i) {
        const elf::Segment& s = img.segments[i];
        const uint64_t first = s.vaddr & ~(mm::kPageSize - 1);
        const uint64_t end = (s.vaddr + s.memsz + mm::kPageSize - 1) & ~(mm::kPageSize - 1);
        auto m = charged_memory(&p.account(), end - first);
        if (!m.ok())
            return fail(abi::Error::kNoMemory);
        (void)(*m)->write_bytes(s.vaddr - first, file + s.file_offset, s.filesz);
        KEEL_TRY(p.map_memory(**m, first, (s.flags & elf::kSegmentWrite) != 0,
                              (s.flags & elf::kSegmentExecute) != 0));
        if (sched::preempt_check())
            return fail(abi::Error::kPeerGone);  // the caller is ending: the child never runs
    }
    return success();
}

// Everything a new process p gets before it runs: its segments, its stack (the guard page
// under it left unmapped; the argument string at the top, the initial rsp below it, aligned
// as after a call), the handles it is given, its first thread. On failure the caller drops p,
// whose destructor releases what it was given.
Result<void> populate(Process& p, const SpawnRequest& req, const uint8_t* file,
                      const elf::Image& img) {
    KEEL_TRY(load_segments(p, file, img));
    const obj::RefPtr<obj::MemoryObject> stack =
        KEEL_TRY(charged_memory(&p.account(), abi::kUserStackSize));
    const uint64_t base = abi::kUserStackTop - abi::kUserStackSize;
    const uint64_t args_space = (req.args_length + 15) & ~15ull;
    (void)stack->write_bytes(abi::kUserStackSize - args_space, req.args, req.args_length);
    const uint64_t args_at = abi::kUserStackTop - args_space;
    const uint64_t rsp = args_at - 8;
    KEEL_TRY(p.map_memory(*stack, base, true, false));
    for (uint32_t i = 0; i < req.handle_count; ++i) {
        const abi::Handle h =
            KEEL_TRY(p.handles().insert(*req.handles[i].object, req.handles[i].rights));
        if (h != abi::initial_handle(i))
            return fail(abi::Error::kNoMemory);
    }
    const sched::UserStart start{img.entry, rsp, req.handle_count, args_at, req.args_length};
    KEEL_TRY(sched::create_user_thread(p, start));
    return success();
}

}  // namespace

Result<obj::RefPtr<Process>> spawn(const SpawnRequest& req) {
    const uint64_t size = req.image->size();
    if (size > kMaxImageSize)
        return fail(abi::Error::kTooLarge);
    // The process object itself is its parent's to pay for: it outlives the child's own use
    // (an ended child stays an object while a handle holds it).
    constexpr uint64_t kProcessFrames = (sizeof(Process) + mm::kPageSize - 1) / mm::kPageSize;
    Charge object_charge = KEEL_TRY(Charge::take(req.parent_account, {kProcessFrames, 0, 0}));
    auto* file = new (std::nothrow) uint8_t[size];
    if (file == nullptr)
        return fail(abi::Error::kNoMemory);
    (void)req.image->read_bytes(0, file, size);

    elf::Image img;
    const char* why =
        elf::validate_elf_in_range(file, size, abi::kUserImageLowest, abi::kUserImageHighest,
                                   "segment outside the user image area", &img);
    if (why != nullptr) {
        log::info("spawn: program image rejected: %s", why);
        delete[] file;
        return fail(abi::Error::kBadImage);
    }

    const abi::Limits machine = Account::machine_limits();
    auto created =
        Process::create(req.parent_account, req.limits != nullptr ? *req.limits : machine);
    if (!created.ok()) {
        delete[] file;
        return fail(created.error());
    }
    obj::RefPtr<Process> p = std::move(created).value();
    p->hold(std::move(object_charge));
    if (req.name != nullptr)
        (void)p->set_name(req.name, req.name_length);  // before its thread can run
    p->set_parent_id(req.parent);
    const Result<void> r = populate(*p, req, file, img);
    delete[] file;
    KEEL_TRY(r);  // p never ran: dropping it releases what it was given
    return p;
}

Result<abi::Handle> spawn_for(Process& caller, uint64_t image_handle, const abi::SpawnArgs& args) {
    SpawnInput in;
    KEEL_TRY(read_spawn_input(caller, image_handle, args, in));
    // Room for the child's handle before it exists: a child started and then refused its
    // handle would run with nobody holding it. Nothing runs between this check and the insert.
    if (caller.handles().full())
        return fail(abi::Error::kFull);
    const abi::Limits limits =
        KEEL_TRY(caller.account().child_limits(in.limits, caller.handles().limit()));
    // Held while the child is built: loading reaches preemption points, where another thread
    // of the caller may close these handles.
    const obj::RefPtr<obj::Object> keep_image = obj::retain_ref(in.image.object);
    obj::RefPtr<obj::Object> keep_given[abi::kMaxSpawnHandles];
    for (uint32_t i = 0; i < in.handle_count; ++i)
        keep_given[i] = obj::retain_ref(in.handles[i].object);
    const obj::RefPtr<Process> child = KEEL_TRY(
        spawn({static_cast<obj::MemoryObject*>(in.image.object), in.handles, in.handle_count,
               in.args, in.args_length, in.name_length > 0 ? in.name : nullptr, in.name_length,
               caller.id(), &caller.account(), &limits}));
    return KEEL_TRY(
        caller.handles().insert(*child, abi::kRightRead | abi::kRightWrite | abi::kRightShare));
}

}  // namespace keel::proc
