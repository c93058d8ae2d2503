#include "proc/spawn.hpp"

#include <new>

#include <keel/elf/elf_check.hpp>
#include "log/log.hpp"
#include "sched/scheduler.hpp"

namespace keel::proc {

namespace {

// Maps each validated segment as a private memory object holding its file bytes (the rest
// zero), with the segment's own permissions: writable only if W, executable only if X.
obj::OpResult load_segments(Process& p, const uint8_t* file, const elf::Image& img) {
    for (uint32_t i = 0; i < img.segment_count; ++i) {
        const elf::Segment& s = img.segments[i];
        const uint64_t first = s.vaddr & ~(mm::kPageSize - 1);
        const uint64_t end = (s.vaddr + s.memsz + mm::kPageSize - 1) & ~(mm::kPageSize - 1);
        obj::MemoryObject* m = obj::MemoryObject::create(end - first);
        if (m == nullptr)
            return obj::OpResult::fail(abi::Error::kNoMemory);
        (void)m->write_bytes(s.vaddr - first, file + s.file_offset, s.filesz);
        const obj::OpResult r = p.map_memory(*m, first, (s.flags & elf::kSegmentWrite) != 0,
                                             (s.flags & elf::kSegmentExecute) != 0);
        m->release();
        if (!r.ok)
            return r;
    }
    return obj::OpResult::success(0);
}

}  // namespace

obj::OpResult spawn(const SpawnRequest& req, Process** out) {
    const uint64_t size = req.image->size();
    if (size > kMaxImageSize)
        return obj::OpResult::fail(abi::Error::kTooLarge);
    auto* file = new (std::nothrow) uint8_t[size];
    if (file == nullptr)
        return obj::OpResult::fail(abi::Error::kNoMemory);
    (void)req.image->read_bytes(0, file, size);

    elf::Image img;
    const char* why =
        elf::validate_elf_in_range(file, size, abi::kUserImageLowest, abi::kUserImageHighest,
                                   "segment outside the user image area", &img);
    if (why != nullptr) {
        log::info("spawn: program image rejected: %s", why);
        delete[] file;
        return obj::OpResult::fail(abi::Error::kBadImage);
    }

    Process* p = Process::create();
    if (p == nullptr) {
        delete[] file;
        return obj::OpResult::fail(abi::Error::kNoMemory);
    }
    if (req.name != nullptr)
        (void)p->set_name(req.name, req.name_length);  // before its thread can run
    obj::OpResult r = load_segments(*p, file, img);
    delete[] file;

    // The stack, below its top, with the guard page under it left unmapped; the argument
    // string sits at the top, the initial rsp below it (aligned as after a call).
    obj::MemoryObject* stack = r.ok ? obj::MemoryObject::create(abi::kUserStackSize) : nullptr;
    if (r.ok && stack == nullptr)
        r = obj::OpResult::fail(abi::Error::kNoMemory);
    uint64_t args_at = 0, rsp = 0;
    if (r.ok) {
        const uint64_t base = abi::kUserStackTop - abi::kUserStackSize;
        const uint64_t args_space = (req.args_length + 15) & ~15ull;
        (void)stack->write_bytes(abi::kUserStackSize - args_space, req.args, req.args_length);
        args_at = abi::kUserStackTop - args_space;
        rsp = args_at - 8;
        r = p->map_memory(*stack, base, true, false);
    }
    if (stack != nullptr)
        stack->release();
    for (uint32_t i = 0; r.ok && i < req.handle_count; ++i) {
        if (p->handles().insert(req.handles[i].object, req.handles[i].rights) !=
            abi::initial_handle(i)) {
            r = obj::OpResult::fail(abi::Error::kNoMemory);
        }
    }
    if (r.ok) {
        const sched::UserStart start{img.entry, rsp, req.handle_count, args_at, req.args_length};
        if (sched::create_user_thread(*p, start) == nullptr)
            r = obj::OpResult::fail(abi::Error::kNoMemory);
    }
    if (!r.ok) {
        p->release();  // never ran: its destructor releases what it was given
        return r;
    }
    *out = p;
    return obj::OpResult::success(p->id());
}

}  // namespace keel::proc
