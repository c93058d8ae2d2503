#include "sim.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "arch/cpu.hpp"
#include "arch/stacks.hpp"
#include "arch/tlb.hpp"
#include "log/log.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "mm/user_copy.hpp"
#include "obj/device.hpp"
#include "obj/memory.hpp"
#include "panic.hpp"
#include "proc/process.hpp"
#include "sched/big_lock.hpp"
#include "sched/scheduler.hpp"

// The sanitizers' (weak: the simulation also builds without them).
extern "C" __attribute__((weak)) void __sanitizer_print_stack_trace();

// paging.cpp's init_paging names the kernel image's bounds; it is never called here.
extern "C" char __kernel_text_start[1], __kernel_text_end[1], __kernel_data_start[1],
    __kernel_end[1];
char __kernel_text_start[1], __kernel_text_end[1], __kernel_data_start[1], __kernel_end[1];

namespace keel::sim {
namespace {

constexpr uint64_t kPage = mm::kPageSize;
int g_fd = -1;
std::byte* g_arena = nullptr;
bool g_used[kFrames];
uint64_t g_in_use = 0;
uint64_t g_next = 0;  // round-robin: a freed frame is not handed out again at once
uint64_t g_frame_budget = ~0ull;
uint64_t g_heap_live = 0;
uint64_t g_heap_budget = ~0ull;

void (*g_stop)() = nullptr;

[[noreturn]] void die(const char* what) {
    report("kernel_objects simulation: %s\n", what);
    stop();
}

uint64_t phys_of(uint64_t index) {
    return reinterpret_cast<uint64_t>(g_arena) + index * kPage - boot::kDirectMapBase;
}

// The arena index of a frame address, or kFrames when it is none.
uint64_t index_of(mm::PhysAddr p) {
    const uint64_t offset = p.value + boot::kDirectMapBase - reinterpret_cast<uint64_t>(g_arena);
    if (offset % kPage != 0 || offset / kPage >= kFrames)
        return kFrames;
    return offset / kPage;
}

void protect(uint64_t index, bool usable) {
    if (mprotect(g_arena + index * kPage, kPage, usable ? PROT_READ | PROT_WRITE : PROT_NONE) != 0)
        die("mprotect");
}

// The kernel windows' host aliases: host address -> the window's kernel address.
struct Window {
    uint64_t host = 0;
    uint64_t kernel = 0;
};
constexpr int kMaxWindows = 256;
Window g_windows[kMaxWindows];

}  // namespace

void stop() {
    if (&__sanitizer_print_stack_trace != nullptr)
        __sanitizer_print_stack_trace();  // where it happened (the abort comes from elsewhere)
    if (g_stop != nullptr)
        g_stop();
    abort();
}

void set_stop(void (*f)()) {
    g_stop = f;
}

void vreport(const char* fmt, va_list args) {
    static char line[512];  // one thread reports at a time: the worker, or the fuzzer's
    const int n = vsnprintf(line, sizeof line, fmt, args);
    if (n > 0)
        (void)!write(2, line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
}

void report(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vreport(fmt, args);
    va_end(args);
}

void init() {
    if (g_arena != nullptr)
        return;
    g_fd = memfd_create("keel-frames", 0);
    if (g_fd < 0 || ftruncate(g_fd, static_cast<off_t>(kFrames * kPage)) != 0)
        die("memfd");
    void* a = mmap(nullptr, kFrames * kPage, PROT_NONE, MAP_SHARED, g_fd, 0);
    if (a == MAP_FAILED)
        die("mmap");
    g_arena = static_cast<std::byte*>(a);
    if ((phys_of(kFrames - 1) & ~0x000ffffffffff000ull) != 0)
        die("the arena's frame addresses do not fit a page-table entry");
    mm::frames().init(boot::BootInfo{});
    // The kernel's PML4, with the window region's PDPT made at boot (init_paging makes every
    // kernel-half one): the windows' tables below it come and go with the windows.
    const auto pml4 = mm::frames().alloc_zeroed();
    const auto pdpt = mm::frames().alloc_zeroed();
    if (!pml4 || !pdpt)
        die("no frames for the kernel's tables");
    mm::kernel_space().reset(*pml4);
    mm::direct_map<uint64_t>(*pml4)[(mm::kWindowBase >> 39) & 511] = pdpt->value | 3;
    cpu::sim::cr3 = pml4->value;
}

uint64_t frames_in_use() {
    return g_in_use;
}
uint64_t heap_live() {
    return g_heap_live;
}
void set_frame_budget(uint64_t n) {
    g_frame_budget = n;
}
void set_heap_budget(uint64_t n) {
    g_heap_budget = n;
}

std::byte* frame_bytes(mm::PhysAddr p) {
    const uint64_t i = index_of(p);
    return i < kFrames && g_used[i] ? g_arena + i * kPage : nullptr;
}

std::byte* alias(const mm::PhysAddr* frames, uint64_t pages) {
    void* base = mmap(nullptr, (pages + 1) * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        die("mmap");
    auto* b = static_cast<std::byte*>(base);
    for (uint64_t i = 0; i < pages; ++i) {
        const uint64_t f = index_of(frames[i]);
        if (f >= kFrames || !g_used[f])
            die("alias of a frame that is not allocated");
        if (mmap(b + i * kPage, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g_fd,
                 static_cast<off_t>(f * kPage)) == MAP_FAILED)
            die("mmap");
    }
    return b;
}

void unalias(std::byte* base, uint64_t pages) {
    munmap(base, (pages + 1) * kPage);
}

}  // namespace keel::sim

// ---- mm: frames, windows, user copies --------------------------------------------------------

namespace keel::mm {

namespace {
FrameAllocator g_frames;
}
FrameAllocator& frames() {
    return g_frames;
}

void FrameAllocator::init(const boot::BootInfo&) {
    // The arena is the simulation's (sim::g_used); the real bookkeeping stays empty.
    ranges_ = nullptr;
    range_count_ = 0;
    frame_count_ = sim::kFrames;
    hint_ = 0;
    managed_ = sim::kFrames;
    free_ = sim::kFrames;
}

std::optional<PhysAddr> FrameAllocator::alloc() {
    using namespace sim;
    if (g_frame_budget == 0)
        return std::nullopt;
    for (uint64_t n = 0; n < kFrames; ++n) {
        const uint64_t i = (g_next + n) % kFrames;
        if (g_used[i])
            continue;
        g_used[i] = true;
        g_next = i + 1;
        ++g_in_use;
        --free_;
        if (g_frame_budget != ~0ull)
            --g_frame_budget;
        protect(i, true);
        return PhysAddr{phys_of(i)};
    }
    return std::nullopt;
}

std::optional<PhysAddr> FrameAllocator::alloc_zeroed() {
    auto f = alloc();
    if (f)
        memset(direct_map(*f), 0, kPageSize);
    return f;
}

std::optional<PhysAddr> FrameAllocator::alloc_contiguous(uint64_t, uint64_t) {
    return std::nullopt;  // DMA memory: not simulated
}

void FrameAllocator::free(PhysAddr frame) {
    using namespace sim;
    const uint64_t i = index_of(frame);
    if (i >= kFrames || !g_used[i])
        panic("free of frame 0x%lx: %s", frame.value, i >= kFrames ? "not RAM" : "already free");
    g_used[i] = false;
    --g_in_use;
    ++free_;
    protect(i, false);
}

bool FrameAllocator::is_free(PhysAddr frame) const {
    const uint64_t i = sim::index_of(frame);
    return i < sim::kFrames && !sim::g_used[i];
}

bool FrameAllocator::in_usable_ram(PhysAddr frame) const {
    return sim::index_of(frame) < sim::kFrames;
}

namespace {
// Copies through the active address space's page tables (CR3), as the user-copy instructions
// would: only present user pages, writable ones to write.
Result<void> copy_user(uint64_t user, std::byte* kernel, uint64_t n, bool to_user) {
    if (n == 0)
        return success();
    if (!user_range_ok(user, n))
        return fail(abi::Error::kBadAddress);
    const AddressSpace space{PhysAddr{cpu::read_cr3() & ~0xfffull}};
    while (n > 0) {
        const auto t = space.translate(VirtAddr{user});
        const uint64_t need = kPageUser | (to_user ? kPageWritable : 0);
        if (!t || (t->flags & need) != need)
            return fail(abi::Error::kBadAddress);
        std::byte* bytes = sim::frame_bytes(PhysAddr{t->phys.value & ~(kPageSize - 1)});
        if (bytes == nullptr)
            sim::die("a user mapping of a frame that is not allocated");
        const uint64_t in_page = user % kPageSize;
        const uint64_t chunk = n < kPageSize - in_page ? n : kPageSize - in_page;
        // memmove: a user buffer may be a mapping of the very memory object being copied
        // (different addresses in the kernel, the same arena bytes here).
        if (to_user)
            memmove(bytes + in_page, kernel, chunk);
        else
            memmove(kernel, bytes + in_page, chunk);
        user += chunk;
        kernel += chunk;
        n -= chunk;
    }
    return success();
}
}  // namespace

Result<void> copy_from_user(void* dst, uint64_t user_src, uint64_t n) {
    return copy_user(user_src, static_cast<std::byte*>(dst), n, false);
}
Result<void> copy_to_user(uint64_t user_dst, const void* src, uint64_t n) {
    return copy_user(user_dst, static_cast<std::byte*>(const_cast<void*>(src)), n, true);
}

}  // namespace keel::mm

// paging.cpp's map_window/unmap_window, reached through the linker's --wrap: the real ones
// build and free the window's page tables; here each window also gets its host alias, which is
// the address the kernel is given.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreturn-type-c-linkage"
extern "C" {
std::optional<keel::mm::VirtAddr> __real__ZN4keel2mm10map_windowEPKNS0_8PhysAddrEm(
    const keel::mm::PhysAddr* frames, uint64_t pages);
void __real__ZN4keel2mm12unmap_windowENS0_8VirtAddrEm(keel::mm::VirtAddr base, uint64_t pages);

std::optional<keel::mm::VirtAddr> __wrap__ZN4keel2mm10map_windowEPKNS0_8PhysAddrEm(
    const keel::mm::PhysAddr* frames, uint64_t pages) {
    using namespace keel;
    const auto window = __real__ZN4keel2mm10map_windowEPKNS0_8PhysAddrEm(frames, pages);
    if (!window)
        return window;
    sim::Window* slot = nullptr;
    for (sim::Window& w : sim::g_windows)
        slot = slot == nullptr && w.host == 0 ? &w : slot;
    if (slot == nullptr)
        sim::die("too many kernel windows");
    // The alias follows the page tables just made: what the kernel would see there.
    mm::PhysAddr seen[64];
    if (pages > 64)
        sim::die("window too large");
    for (uint64_t i = 0; i < pages; ++i) {
        const auto t =
            mm::kernel_space().translate(mm::VirtAddr{window->value + i * mm::kPageSize});
        if (!t || t->phys != frames[i])
            panic("window page %lu does not map its frame", i);
        seen[i] = t->phys;
    }
    slot->kernel = window->value;
    slot->host = reinterpret_cast<uint64_t>(sim::alias(seen, pages));
    return mm::VirtAddr{slot->host};
}

void __wrap__ZN4keel2mm12unmap_windowENS0_8VirtAddrEm(keel::mm::VirtAddr base, uint64_t pages) {
    using namespace keel;
    for (sim::Window& w : sim::g_windows) {
        if (w.host != base.value)
            continue;
        __real__ZN4keel2mm12unmap_windowENS0_8VirtAddrEm(mm::VirtAddr{w.kernel}, pages);
        sim::unalias(reinterpret_cast<std::byte*>(w.host), pages);
        w = {};
        return;
    }
    panic("unmap of a window that was never made (0x%lx)", base.value);
}
}
#pragma clang diagnostic pop

// ---- the heap: counted, failing on demand ----------------------------------------------------

namespace {
void* counted_alloc(std::size_t n, bool may_fail) {
    using namespace keel::sim;
    if (may_fail && g_heap_budget != ~0ull) {
        if (g_heap_budget == 0)
            return nullptr;
        --g_heap_budget;
    }
    void* p = malloc(n == 0 ? 1 : n);
    if (p != nullptr)
        ++g_heap_live;
    return p;
}
void counted_free(void* p) {
    if (p != nullptr)
        --keel::sim::g_heap_live;
    free(p);
}
void* must_alloc(std::size_t n) {
    void* p = counted_alloc(n, false);
    if (p == nullptr)
        throw std::bad_alloc();
    return p;
}
}  // namespace

void* operator new(std::size_t n) {
    return must_alloc(n);
}
void* operator new[](std::size_t n) {
    return must_alloc(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n, true);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n, true);
}
void operator delete(void* p) noexcept {
    counted_free(p);
}
void operator delete[](void* p) noexcept {
    counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    counted_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    counted_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    counted_free(p);
}

// ---- the scheduler ---------------------------------------------------------------------------

namespace keel::sched {

namespace {
DeadlineList g_deadlines;
uint64_t g_now = 1;
uint64_t g_next_thread = 1;
}  // namespace

// The scheduler's side of a thread (its friend in thread.hpp).
class Scheduler {
  public:
    static void fired(Deadline& d, uint64_t) {
        wake_up(static_cast<Thread*>(d.owner()), WakeReason::kTimedOut);
    }
    static void wake_up(Thread* t, WakeReason why) {
        if (t->waiting_on != nullptr)
            t->waiting_on->remove(t);
        t->waiting_on = nullptr;
        g_deadlines.remove(t->timeout);
        t->wake_reason = why;
        if (t->state_ == ThreadState::kBlocked)
            t->state_ = ThreadState::kReady;
    }
    static void exit(Thread* t, const abi::ExitInfo& info) {
        t->exit_ = info;
        t->state_ = ThreadState::kDead;
        proc::Process* p = t->process();
        p->thread_exited(t);
        t->joiners.wake_all();
        obj::adopt_ref(t).reset();  // the scheduler's reference: the thread may go here
    }
};

Thread::Thread() : obj::Object(abi::Kind::kThread), timeout(&Scheduler::fired, this) {}
Thread::~Thread() = default;

Result<uint64_t> Thread::read(obj::Request& req) {
    return state_ == ThreadState::kDead ? obj::answer_bytes(req, &exit_, sizeof exit_)
                                        : obj::would_block(req, joiners);
}

Result<uint64_t> Thread::get_meta(obj::Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kId)
        return obj::answer_u64(req, id_);
    return fail(abi::Error::kInvalidArgument);
}

// One simulated CPU: a mask must hold CPU 0 (the kernel's set_affinity with one CPU online).
Result<uint64_t> Thread::set_meta(obj::Request& req) {
    uint64_t mask = 0;
    if (static_cast<abi::Meta>(req.arg) != abi::Meta::kAffinity ||
        req.buffer.length() != sizeof mask)
        return fail(abi::Error::kInvalidArgument);
    KEEL_TRY(req.buffer.copy_out_of(0, &mask, sizeof mask));
    if ((mask & 1) == 0)
        return fail(abi::Error::kInvalidArgument);
    affinity = mask;
    return sizeof mask;
}

Result<Thread*> create_user_thread(proc::Process& p, const UserStart& start) {
    auto* t = new (std::nothrow) Thread;
    if (t == nullptr)
        return fail(abi::Error::kNoMemory);
    t->id_ = g_next_thread++;
    t->process_ = obj::retain_ref(&p);
    t->user_start_ = start;
    p.add_thread(t);
    return t;
}

void make_ready(Thread*) {}
void log_cpu_use() {}
void kick(Thread*) {}  // one simulated CPU: nothing runs elsewhere
void yield() {}
bool others_ready() {
    return false;  // one simulated thread runs at a time
}
bool outside_affinity() {
    return false;  // one simulated CPU, in every mask set_meta lets through
}
void wake(Thread* t, WakeReason why) {
    Scheduler::wake_up(t, why);
}

WakeReason block(WaitQueue*, uint64_t) {
    const Thread* t = current();
    if (t != nullptr && t->process() != nullptr && t->process()->ending())
        return WakeReason::kInterrupted;
    return WakeReason::kTimedOut;  // never sleeps: the harness retries later
}

// No switch to make here: the waiters on `from` are woken, then this blocks as block() does.
WakeReason block_switch(WaitQueue* q, uint64_t deadline, WaitQueue& from) {
    from.wake_all();
    return block(q, deadline);
}

void exit_current(const abi::ExitInfo&) {
    panic("exit_current in the simulation");
}

uint64_t now_ns() {
    return g_now;
}
void arm_deadline(Deadline& d, uint64_t at) {
    (void)g_deadlines.insert(d, at);
}
void disarm_deadline(Deadline& d) {
    g_deadlines.remove(d);
}
uint64_t earliest_deadline() {
    return g_deadlines.earliest();
}

}  // namespace keel::sched

namespace keel::sim {

void advance(uint64_t ns) {
    sched::g_now += ns;
    (void)sched::g_deadlines.expire(sched::g_now);
}

sched::Thread* start_thread(proc::Process& p) {
    auto t = sched::create_user_thread(p, sched::UserStart{});
    return t ? *t : nullptr;
}

void exit_thread(sched::Thread* t, int64_t status) {
    if (sched::current() == t)
        set_current(nullptr);
    sched::Scheduler::exit(
        t, abi::ExitInfo{static_cast<uint32_t>(abi::ExitReason::kExited), 0, status, 0, 0});
}

void set_current(sched::Thread* t) {
    percpu::current().thread = t;
    const proc::Process* p = t != nullptr ? t->process() : nullptr;
    cpu::sim::cr3 =
        p != nullptr && !p->finished() ? p->page_tables().value : mm::kernel_space().pml4().value;
}

}  // namespace keel::sim

// ---- the rest of the kernel the object layer calls -------------------------------------------

// One simulated CPU: no other TLB to shoot down.
namespace keel::tlb {
void shoot_down(uint32_t) {}
void kernel_half_changed() {}
}  // namespace keel::tlb

namespace keel::sched::big_lock {
void let_others_in() {}  // one simulated CPU: nobody waits for the lock
}  // namespace keel::sched::big_lock

namespace keel {

void qemu_exit(QemuExit code) {
    sim::report("kernel_objects simulation: qemu_exit(0x%x)\n", static_cast<unsigned>(code));
    sim::stop();
}

void panic(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    sim::report("kernel panic: ");
    sim::vreport(fmt, args);
    sim::report("\n");
    va_end(args);
    sim::stop();
}

void panic_after_report(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    sim::vreport(fmt, args);
    va_end(args);
    sim::stop();
}

namespace log {
namespace {
// KEEL_SIM_LOG=1 shows the kernel's log lines (quiet by default: the fuzzer runs millions).
bool g_verbose = getenv("KEEL_SIM_LOG") != nullptr;
}  // namespace
void set_level(Level) {}
Level level() {
    return Level::kDebug;
}
void vprint(const char* fmt, va_list args) {
    if (g_verbose)
        sim::vreport(fmt, args);
}
void vlog(Level, const char* fmt, va_list args) {
    vprint(fmt, args);
    if (g_verbose)
        sim::report("\n");
}
#define KEEL_SIM_LOG_FN(name, body)   \
    void name(const char* fmt, ...) { \
        va_list args;                 \
        va_start(args, fmt);          \
        body;                         \
        va_end(args);                 \
    }
KEEL_SIM_LOG_FN(debug, vlog(Level::kDebug, fmt, args))
KEEL_SIM_LOG_FN(info, vlog(Level::kInfo, fmt, args))
KEEL_SIM_LOG_FN(warn, vlog(Level::kWarn, fmt, args))
KEEL_SIM_LOG_FN(error, vlog(Level::kError, fmt, args))
KEEL_SIM_LOG_FN(print, vprint(fmt, args))
#undef KEEL_SIM_LOG_FN
}  // namespace log

namespace stacks {
uint64_t top(Stack) {
    panic("no boot stacks in the simulation");
}
uint64_t guard_page(Stack) {
    panic("no boot stacks in the simulation");
}
}  // namespace stacks

}  // namespace keel

// Devices are not simulated; memory.cpp names DeviceObject (DMA memory), and UBSan's type
// checks want its type information, which comes with its first virtual function.
namespace keel::obj {
void DeviceObject::retire_dma(mm::PhysAddr, uint64_t, uint64_t, bool) {
    panic("DMA memory in the simulation");
}
DeviceObject::~DeviceObject() = default;
Result<uint64_t> DeviceObject::read(Request&) {
    panic("no devices in the simulation");
}
Result<uint64_t> DeviceObject::write(Request&) {
    panic("no devices in the simulation");
}
Result<uint64_t> DeviceObject::get_meta(Request&) {
    panic("no devices in the simulation");
}
Result<uint64_t> DeviceObject::create(Request&) {
    panic("no devices in the simulation");
}
// queue_region.cpp names it for a DMA-backed served region; the harness never asks for one.
Result<RefPtr<MemoryObject>> DeviceObject::dma_memory(uint64_t) {
    panic("DMA memory in the simulation");
}
}  // namespace keel::obj
