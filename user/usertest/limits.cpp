// Per-process resource limits (issue 25): children spawned with small limits try to pass each
// of them, as a hostile program would, and must be refused with the limit's error (kNoMemory
// for memory, kFull for handles, queues and threads) with nothing changed; the parent is not
// affected, and everything a child used is given back when it ends. Each child mode reports
// what it saw through its exit status: 0 when every check held, else the number of the check
// that failed (printed too).
#include "usertest.hpp"

namespace keel::usertest {
namespace {

constexpr uint64_t kPage = 4096;

// A child's failed check: prints it and gives the status to exit with.
int failed(int which, const char* what, int64_t value) {
    print("limits child: check %d failed: %s (%ld)\n", which, what, value);
    return which;
}

// Makes objects of `kind` (object_new with `arg`) until refused: how many were made, and the
// refusal in *error. They stay open.
uint64_t make_until_refused(Kind kind, uint64_t arg, int64_t* error) {
    uint64_t made = 0;
    Handle h = 0;
    while ((*error = sys::object_new(kind, arg, &h)) > 0)
        ++made;
    return made;
}

bool same(const abi::Limits& a, const abi::Limits& b) {
    return a.memory == b.memory && a.handles == b.handles && a.queues == b.queues &&
           a.threads == b.threads;
}

bool all_zero(const abi::Limits& u) {
    return u.memory == 0 && u.handles == 0 && u.queues == 0 && u.threads == 0;
}

// Waits for a child, then checks that its account is empty (everything given back) before
// closing its handle. Its exit status.
int64_t wait_and_check_empty(int64_t child) {
    CHECK(child > 0);
    abi::ExitInfo info{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(child), Op::kRead, &info, sizeof info),
             static_cast<int64_t>(sizeof info));
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    const abi::ResourceUsage after = usage_of(static_cast<Handle>(child));
    if (!all_zero(after.used))
        print("limits: child still uses memory %lu, handles %u, queues %u, threads %u\n",
              after.used.memory, after.used.handles, after.used.queues, after.used.threads);
    CHECK(all_zero(after.used));
    CHECK(after.limits.memory != 0);  // it did answer
    CHECK_EQ(close(static_cast<uint64_t>(child)), 0);
    return info.status;
}

// ---- memory ------------------------------------------------------------------------------

constexpr uint64_t kMemoryLimit = 1ull << 20;
constexpr uint64_t kChunk = 64 * 1024;

// Allocates 64 KiB memory objects until refused; the refusal must be kNoMemory, leave the use
// as it was and come at the limit (less than a chunk left).
CHILD_MODE("limit-memory") {
    const abi::ResourceUsage start = my_usage();
    if (start.limits.memory != kMemoryLimit)
        return failed(1, "memory limit as spawned", static_cast<int64_t>(start.limits.memory));
    if (start.used.memory == 0 || start.used.memory > start.limits.memory)
        return failed(2, "memory in use at start", static_cast<int64_t>(start.used.memory));
    int64_t r = 0;
    const uint64_t made = make_until_refused(Kind::kMemory, kChunk, &r);
    if (r != err(abi::Error::kNoMemory))
        return failed(3, "refusal error", r);
    const abi::ResourceUsage full = my_usage();
    if (full.used.memory != start.used.memory + made * kChunk)
        return failed(4, "use after the allocations", static_cast<int64_t>(full.used.memory));
    if (full.used.memory + kChunk <= full.limits.memory)
        return failed(5, "refused below the limit", static_cast<int64_t>(full.used.memory));
    // One object larger than what is left, though under kMaxMemorySize: refused as well.
    Handle big = 0;
    r = sys::object_new(Kind::kMemory, 2 * kMemoryLimit, &big);
    if (r != err(abi::Error::kNoMemory))
        return failed(6, "a single object above the limit", r);
    // A thread needs a stack and a kernel stack: refused too, with the limit's error.
    r = spawn_thread([](uint64_t) {}, 0);
    if (r != err(abi::Error::kNoMemory))
        return failed(7, "a thread at the memory limit", r);
    if (my_usage().used.memory != full.used.memory)
        return failed(8, "use changed by refused calls",
                      static_cast<int64_t>(my_usage().used.memory));
    print("limits: memory: %lu chunks of 64 KiB under 1 MiB (%lu KiB at start), then NoMemory\n",
          made, start.used.memory / 1024);
    return 0;  // exits holding everything: the end gives it back
}

TEST(limit_memory_refused_and_given_back) {
    CHECK_EQ(wait_child(spawn_child("exit 0")).status, 0);  // the heap has grown for a child
    const abi::MemoryInfo before = memory_info();
    const abi::ResourceUsage mine = my_usage();
    const abi::Limits limits{kMemoryLimit, 0, 0, 0, 0};
    CHECK_EQ(wait_and_check_empty(spawn_child_limited("limit-memory", limits)), 0);
    CHECK(kernel_memory_back_to(before));
    // The parent was not affected: its limits are the same and it can still allocate.
    CHECK(same(my_usage().limits, mine.limits));
    Handle m = 0;
    CHECK_EQ(sys::object_new(Kind::kMemory, 2 * kMemoryLimit, &m), 1);
    CHECK_EQ(close(m), 0);
}

// Memory the kernel spends on a process's behalf is charged too: mapping one small object over
// and over (page tables and mapping records), and roots bound inside roots with every handle
// closed (objects kept only by other objects). Both are refused at the limit, and unmapping or
// closing gives it back.
CHILD_MODE("limit-kernel-memory") {
    const abi::ResourceUsage start = my_usage();
    Handle m = 0;
    if (sys::object_new(Kind::kMemory, kPage, &m) != 1)
        return failed(1, "a page", 0);
    static uint64_t at[1024];
    uint64_t maps = 0;
    int64_t r = 0;
    while (maps < sizeof at / sizeof at[0] && (r = sys::do_io(m, Op::kMap, nullptr, 0, 1)) > 0)
        at[maps++] = static_cast<uint64_t>(r);
    if (r != err(abi::Error::kNoMemory))
        return failed(2, "mapping refused", r);
    const uint64_t mapped_use = my_usage().used.memory;
    for (uint64_t i = 0; i < maps; ++i)
        (void)sys::unmap(at[i]);
    const uint64_t unmapped_use = my_usage().used.memory;
    if (unmapped_use + maps * kPage > mapped_use)
        return failed(3, "use after unmapping", static_cast<int64_t>(unmapped_use));
    // A chain of roots, each bound in the next and its own handle closed.
    Handle prev = 0;
    uint64_t roots = 0;
    for (;;) {
        Handle root_made = 0;
        r = sys::object_new(Kind::kRoot, 0, &root_made);
        if (r < 0)
            break;
        if (prev != 0) {
            if (sys::do_io(root_made, Op::kCreate, "r", 1, prev) != 0)
                return failed(4, "bind", 0);
            (void)close(prev);
        }
        prev = root_made;
        ++roots;
    }
    if (r != err(abi::Error::kNoMemory))
        return failed(5, "a root past the limit", r);
    (void)close(prev);  // the whole chain goes
    if (my_usage().used.memory != unmapped_use)
        return failed(6, "use after the chain went", static_cast<int64_t>(my_usage().used.memory));
    print(
        "limits: %lu mappings of one page, %lu roots in roots, then NoMemory (%lu KiB at start)\n",
        maps, roots, start.used.memory / 1024);
    return 0;
}

TEST(limit_kernel_memory_of_mappings_and_objects) {
    CHECK_EQ(wait_child(spawn_child("exit 0")).status, 0);
    const abi::MemoryInfo before = memory_info();
    CHECK_EQ(wait_and_check_empty(
                 spawn_child_limited("limit-kernel-memory", {kMemoryLimit, 0, 0, 0, 0})),
             0);
    CHECK(kernel_memory_back_to(before));
}

// A shared memory object stays charged to its creator: a child given a 2 MiB object (above its
// own 1 MiB limit) maps it and pays only for the mapping.
CHILD_MODE("limit-shared") {
    const Handle shared = abi::initial_handle(1);
    const uint64_t before = my_usage().used.memory;
    const int64_t at = sys::do_io(shared, Op::kMap, nullptr, 0, 1);
    if (at <= 0)
        return failed(1, "mapping the parent's object", at);
    reinterpret_cast<volatile uint8_t*>(at)[2 * kMemoryLimit - 1] = 7;  // it is all there
    const uint64_t after = my_usage().used.memory;
    if (after - before > 2 * kPage)
        return failed(2, "charged for the parent's frames", static_cast<int64_t>(after - before));
    return 0;
}

TEST(limit_shared_memory_stays_charged_to_its_creator) {
    Handle m = 0;
    CHECK_EQ(sys::object_new(Kind::kMemory, 2 * kMemoryLimit, &m), 1);
    const uint64_t mine = my_usage().used.memory;
    CHECK_EQ(wait_and_check_empty(
                 spawn_child_limited("limit-shared", {kMemoryLimit, 0, 0, 0, 0}, &m, 1)),
             0);
    CHECK_EQ(my_usage().used.memory, mine);  // still this process's, no more, no less
    uint8_t byte = 0;
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 2 * kMemoryLimit - 1), 2 * kMemoryLimit - 1);
    CHECK_EQ(sys::do_io(m, Op::kRead, &byte, 1), 1);
    CHECK_EQ(byte, 7);  // the child wrote into this process's frames
    CHECK_EQ(close(m), 0);
    CHECK_EQ(my_usage().used.memory, mine - 2 * kMemoryLimit);
}

// ---- threads, queues, handles ------------------------------------------------------------

constexpr uint32_t kThreadLimit = 3;
uint32_t g_park = 0;

void park(uint64_t) {
    for (;;)
        (void)sys::futex_wait(&g_park, 0, 0);
}

CHILD_MODE("limit-threads") {
    if (my_usage().limits.threads != kThreadLimit)
        return failed(1, "thread limit as spawned", my_usage().limits.threads);
    for (uint32_t i = 1; i < kThreadLimit; ++i) {
        const int64_t t = spawn_thread(park, 0);
        if (t <= 0)
            return failed(2, "a thread under the limit", t);
    }
    const abi::ResourceUsage full = my_usage();
    if (full.used.threads != kThreadLimit)
        return failed(3, "threads in use", full.used.threads);
    const int64_t r = spawn_thread(park, 0);
    if (r != err(abi::Error::kFull))
        return failed(4, "thread N+1", r);
    if (!same(my_usage().used, full.used))
        return failed(5, "use changed by the refused thread", my_usage().used.threads);
    return 0;  // ends every thread
}

constexpr uint32_t kQueueLimit = 2;

CHILD_MODE("limit-queues") {
    if (my_usage().limits.queues != kQueueLimit)
        return failed(1, "queue limit as spawned", my_usage().limits.queues);
    const abi::QueueGeometry g{8, 2, 4096, 0};
    abi::QueueInfo qi{};
    const int64_t q = sys::queue_create(&g, &qi);
    if (q <= 0)
        return failed(2, "the first queue", q);
    abi::ServeInfo si{};
    const int64_t s = sys::serve_create(&g, &si);  // a served port counts as a queue
    if (s != 0)
        return failed(3, "a served port as the second queue", s);
    const abi::ResourceUsage full = my_usage();
    if (full.used.queues != kQueueLimit)
        return failed(4, "queues in use", full.used.queues);
    abi::QueueInfo more{};
    int64_t r = sys::queue_create(&g, &more);
    if (r != err(abi::Error::kFull))
        return failed(5, "queue N+1", r);
    abi::ServeInfo more_served{};
    r = sys::serve_create(&g, &more_served);
    if (r != err(abi::Error::kFull))
        return failed(6, "served port N+1", r);
    const abi::ResourceUsage after = my_usage();
    if (!same(after.used, full.used))
        return failed(7, "use changed by the refused queues", after.used.queues);
    // Destroying one gives its place back; its region stays charged while it is mapped.
    if (sys::queue_destroy(static_cast<uint64_t>(q)) != 0)
        return failed(8, "destroy", q);
    if (my_usage().used.queues != kQueueLimit - 1)
        return failed(9, "queues after a destroy", my_usage().used.queues);
    if (sys::unmap(qi.address) != 0 || my_usage().used.memory >= after.used.memory)
        return failed(10, "the region's frames after unmapping", my_usage().used.memory);
    r = sys::queue_create(&g, &more);
    if (r <= 0)
        return failed(11, "a queue in the freed place", r);
    return 0;
}

constexpr uint32_t kHandleLimit = 12;

CHILD_MODE("limit-handles") {
    const abi::ResourceUsage start = my_usage();
    if (start.limits.handles != kHandleLimit)
        return failed(1, "handle limit as spawned", start.limits.handles);
    // The table fills with timers (one handle each) up to the limit.
    int64_t r = 0;
    const uint64_t made = make_until_refused(Kind::kTimer, 0, &r);
    if (r != err(abi::Error::kFull))
        return failed(2, "handle N+1", r);
    const abi::ResourceUsage full = my_usage();
    if (full.used.handles != kHandleLimit || start.used.handles + made != kHandleLimit)
        return failed(3, "handles in use", full.used.handles);
    // Everything that would give a handle is refused the same way, and changes nothing.
    Handle pipe[2] = {0, 0};
    if ((r = sys::object_new(Kind::kPipe, 0, pipe)) != err(abi::Error::kFull))
        return failed(4, "a pipe in a full table", r);
    if ((r = sys::thread_spawn(park, 0x7000'0000, 0)) != err(abi::Error::kFull))
        return failed(5, "a thread in a full table", r);
    if ((r = share(root(), 0, abi::kRightRead)) != err(abi::Error::kFull))
        return failed(6, "a share into a full table", r);
    if (!same(my_usage().used, full.used))
        return failed(7, "use changed by the refusals", my_usage().used.handles);
    return 0;
}

TEST(limit_threads_queues_handles_refuse_n_plus_one) {
    CHECK_EQ(wait_child(spawn_child("exit 0")).status, 0);
    const abi::MemoryInfo before = memory_info();
    CHECK_EQ(wait_and_check_empty(spawn_child_limited("limit-threads", {0, 0, 0, kThreadLimit, 0})),
             0);
    CHECK_EQ(wait_and_check_empty(spawn_child_limited("limit-queues", {0, 0, kQueueLimit, 0, 0})),
             0);
    CHECK_EQ(wait_and_check_empty(spawn_child_limited("limit-handles", {0, kHandleLimit, 0, 0, 0})),
             0);
    CHECK(kernel_memory_back_to(before));
}

// ---- a child cannot give more than it has ------------------------------------------------

constexpr abi::Limits kMiddle{2ull << 20, 16, 2, 4, 0};

// A grandchild: reports its limits through its status (a bit per check). Given a pipe's read
// end, it first waits for a byte on it (its parent looks at its own use meanwhile).
CHILD_MODE("limit-grandchild") {
    char byte = 0;
    (void)sys::do_io(abi::initial_handle(1), Op::kRead, &byte, 1);
    const abi::ResourceUsage u = my_usage();
    int status = 0;
    if (u.limits.memory == 0 || u.limits.memory > kMiddle.memory)
        status |= 1;
    if (u.limits.handles == 0 || u.limits.handles > kMiddle.handles)
        status |= 2;
    if (u.limits.queues > kMiddle.queues)
        status |= 4;
    if (u.limits.threads == 0 || u.limits.threads >= kMiddle.threads)  // its parent runs one
        status |= 8;
    return status;
}

// Spawns "limit-grandchild" with `limits` (and `wait_on` if not 0); the spawn's result (a
// handle or -Error).
int64_t spawn_grandchild(const abi::Limits& limits, Handle wait_on = 0) {
    return spawn_child_limited("limit-grandchild", limits, &wait_on, wait_on != 0 ? 1 : 0);
}

CHILD_MODE("limit-middle") {
    (void)self();  // opened now: the handle it takes is not a change the spawns made
    const abi::ResourceUsage u = my_usage();
    if (!same(u.limits, kMiddle))
        return failed(1, "limits as spawned", static_cast<int64_t>(u.limits.memory));
    const uint64_t left = u.limits.memory - u.used.memory;
    struct Case {
        abi::Limits limits;
        abi::Error error;
    };
    const Case refused[] = {
        {{kMiddle.memory + kPage, 0, 0, 0, 0}, abi::Error::kNoMemory},  // more than its limit
        {{left + kPage, 0, 0, 0, 0}, abi::Error::kNoMemory},            // more than is left
        {{0, kMiddle.handles + 1, 0, 0, 0}, abi::Error::kFull},
        {{0, 0, kMiddle.queues + 1, 0, 0}, abi::Error::kFull},
        {{0, 0, 0, kMiddle.threads, 0}, abi::Error::kFull},  // it runs one thread itself
        {{0, 0, 0, 0, 1}, abi::Error::kInvalidArgument},     // a reserved field
    };
    const abi::MemoryInfo before = memory_info();
    int which = 10;
    for (const Case& c : refused) {
        const int64_t r = spawn_grandchild(c.limits);
        if (r != err(c.error))
            return failed(which, "a grandchild given more than is left", r);
        ++which;
    }
    if (!same(my_usage().used, u.used) || !kernel_memory_back_to(before))
        return failed(2, "refused spawns changed something", 0);
    // A bad address for the limits is the address's error.
    const abi::SpawnArgs bad{0, 0, 0, 0, 0, 0, kKernel};
    int64_t r = sys::spawn(self(), &bad);
    if (r != err(abi::Error::kBadAddress))
        return failed(3, "limits at a kernel address", r);
    // Nothing asked: the grandchild gets what is left (within every bound above).
    Handle pipe[2] = {0, 0};
    if (sys::object_new(Kind::kPipe, 0, pipe) != 2)
        return failed(4, "a pipe", 0);
    r = spawn_grandchild({0, 0, 0, 0, 0}, pipe[0]);
    if (r <= 0)
        return failed(4, "a grandchild with what is left", r);
    // Its use counts in this process's own (accounts nest): its image, stacks and thread.
    const abi::ResourceUsage with_child = my_usage();
    (void)sys::do_io(pipe[1], Op::kWrite, "go", 1);
    abi::ExitInfo info{};
    (void)sys::do_io(static_cast<uint64_t>(r), Op::kRead, &info, sizeof info);
    (void)close(static_cast<uint64_t>(r));
    if (info.status != 0)
        return failed(5, "the grandchild's limits (bits)", info.status);
    if (with_child.used.memory <= u.used.memory + 64 * 1024 ||
        with_child.used.threads != u.used.threads + 1)
        return failed(6, "the grandchild's use in the parent's", with_child.used.threads);
    // Exactly what is left is allowed.
    const abi::ResourceUsage now = my_usage();
    r = spawn_grandchild({now.limits.memory - now.used.memory, 0, 0, 0, 0});
    if (r <= 0)
        return failed(7, "a grandchild with exactly what is left", r);
    (void)sys::do_io(static_cast<uint64_t>(r), Op::kRead, &info, sizeof info);
    (void)close(static_cast<uint64_t>(r));
    return 0;
}

// "limit-nest N": spawns "limit-nest N+1" and waits for it, until a spawn is refused; exits
// with how deep it got below itself (the refusal must be kFull, from abi::kMaxProcessDepth).
CHILD_MODE("limit-nest") {
    const uint64_t depth = args.number();
    char mode[32];
    snformat(mode, sizeof mode, "limit-nest %lu", depth + 1);
    const int64_t c = spawn_child(mode);
    if (c < 0)
        return c == err(abi::Error::kFull) ? 0 : 100;
    abi::ExitInfo info{};
    (void)sys::do_io(static_cast<uint64_t>(c), Op::kRead, &info, sizeof info);
    return info.status >= 100 ? 100 : static_cast<int>(info.status) + 1;
}

TEST(limit_process_nesting_depth) {
    const abi::MemoryInfo before = memory_info();
    const int64_t c = spawn_child("limit-nest 1");
    CHECK(c > 0);
    // usertest runs at depth 2 (init is 1), its child at 3: the last one spawned is at
    // kMaxProcessDepth, and the child counts the levels below it.
    CHECK_EQ(wait_child(c).status, static_cast<int64_t>(abi::kMaxProcessDepth) - 3);
    CHECK(kernel_memory_back_to(before));
}

TEST(limit_child_cannot_give_more_than_it_has) {
    CHECK_EQ(wait_child(spawn_child("exit 0")).status, 0);
    const abi::MemoryInfo before = memory_info();
    CHECK_EQ(wait_and_check_empty(spawn_child_limited("limit-middle", kMiddle)), 0);
    CHECK(kernel_memory_back_to(before));
    // Nor can this process: more than its own limits is refused.
    const abi::ResourceUsage mine = my_usage();
    CHECK(mine.limits.memory > 0 && mine.limits.handles > 0 && mine.limits.threads > 0);
    CHECK(mine.used.memory > 0 && mine.used.handles > 0 && mine.used.threads > 0);
    CHECK(mine.limits.handles <= abi::kMaxHandles - 1);
    CHECK(mine.limits.threads <= abi::kMachineThreads);
    CHECK(mine.limits.queues <= abi::kMachineQueues);
    CHECK_EQ(spawn_child_limited("exit 0", {mine.limits.memory + kPage, 0, 0, 0, 0}),
             err(abi::Error::kNoMemory));
    CHECK_EQ(spawn_child_limited("exit 0", {0, abi::kMaxHandles, 0, 0, 0}), err(abi::Error::kFull));
    CHECK_EQ(spawn_child_limited("exit 0", {0, 0, 0, abi::kMachineThreads + 1, 0}),
             err(abi::Error::kFull));
}

}  // namespace
}  // namespace keel::usertest
