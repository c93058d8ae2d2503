// jobtest: servers/jobs from a client's side (qemu_jobs_hostile). It starts two job servers of
// its own (bin/jobs from the shell's name space): one plain, one with --gather, each publishing
// in a root only this program holds, and spawns its jobs (copies of itself in child modes)
// through them: exit status and faults as a process handle gives them, the table's entries,
// the file table, and the hostile cases (bad requests, callers that close early, give up or
// die, a full table, a create loop that must give every byte back).
#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>

#include "testlib.hpp"

using namespace keel;
using namespace keel::user;
using namespace keel::testlib;

namespace {

// One job server of this test's: its published object and the roots it was given.
struct Server {
    Handle table = 0;   // srv/jobs: the served process table
    Handle gather = 0;  // the gather directory (a root), 0 without --gather
};
Server g_plain;
Server g_gathering;

uint64_t meta(Handle h, abi::Meta key) {
    uint64_t v = 0;
    const int64_t r = sys::do_io(h, Op::kGetMeta, &v, sizeof v, static_cast<uint64_t>(key));
    return r < 0 ? static_cast<uint64_t>(r) : v;
}

Handle new_root() {
    Handle r = 0;
    CHECK_EQ(sys::object_new(abi::Kind::kRoot, 0, &r), 1);
    return r;
}

void bind(Handle dir, const char* name, Handle h) {
    CHECK_EQ(sys::do_io(dir, Op::kCreate, name, strlen(name), h), 0);
}

// Starts bin/jobs with ARGS, publishing in a root of its own; waits for srv/jobs.
Server start_server(const char* args, bool gather) {
    Server s;
    const int64_t ns = open(root(), "ns");
    CHECK(ns > 0);
    const int64_t image = open_path(static_cast<Handle>(ns), "bin/jobs", 8);
    CHECK(image > 0);
    const Handle server_root = new_root();
    const Handle srv = new_root();
    bind(server_root, "srv", srv);
    bind(server_root, "console", console());
    const int64_t processes = open(static_cast<Handle>(ns), "processes");
    if (processes > 0) {
        bind(server_root, "processes", static_cast<Handle>(processes));
        testlib::close(static_cast<uint64_t>(processes));
    }
    if (gather) {
        s.gather = new_root();
        bind(server_root, "g", s.gather);
    }
    const Handle given[] = {server_root};
    const abi::SpawnArgs sa{addr(given), 1, addr(args), strlen(args), addr("jobs"), 4, 0};
    const int64_t p = sys::spawn(static_cast<Handle>(image), &sa);
    CHECK(p > 0);
    testlib::close(static_cast<uint64_t>(p));  // it serves as long as the machine runs
    for (int i = 0; i < 500 && s.table == 0; ++i) {
        const int64_t t = open(srv, "jobs");
        if (t > 0)
            s.table = static_cast<Handle>(t);
        else
            (void)sys::sleep_ns(10'000'000);
    }
    CHECK(s.table != 0);
    testlib::close(server_root);
    testlib::close(srv);
    testlib::close(static_cast<uint64_t>(image));
    testlib::close(static_cast<uint64_t>(ns));
    return s;
}

// A job's request: this program in child mode MODE, its root `job_root` and one extra handle.
struct Request {
    Handle handles[2];
    char args[64];
    abi::TableSpawn table;
};
void make_request(Request& r, Handle image, Handle job_root, Handle extra, const char* mode,
                  const char* name) {
    r.handles[0] = job_root;
    r.handles[1] = extra;
    const uint64_t n = snformat(r.args, sizeof r.args, "child %s", mode);
    r.table = {image, 0,
               abi::SpawnArgs{addr(r.handles), extra != 0 ? 2u : 1u, addr(r.args), n, addr(name),
                              strlen(name), 0}};
}

// A job root as the shell gives one: console, self and cwd (`cwd`).
Handle job_root(Handle cwd) {
    const Handle r = new_root();
    bind(r, "console", console());
    bind(r, "self", self());
    bind(r, "cwd", cwd);
    return r;
}

int64_t create_job(Handle table, const char* mode, Handle extra = 0, Handle cwd = 0) {
    const Handle c = cwd != 0 ? cwd : new_root();
    const Handle jr = job_root(c);
    Request r;
    make_request(r, self(), jr, extra, mode, "job");
    const int64_t j = sys::do_io(table, Op::kCreate, &r.table, sizeof r.table);
    testlib::close(jr);
    if (cwd == 0)
        testlib::close(c);
    return j;
}

abi::ExitInfo wait_job(int64_t job) {
    abi::ExitInfo info{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(job), Op::kRead, &info, sizeof info),
             static_cast<int64_t>(sizeof info));
    return info;
}

// How many jobs the table knows, once it holds `want` (waiting up to about 5 s: a job's end
// reaches the server a moment after its waiter saw it).
uint64_t table_size_becomes(Handle table, uint64_t want) {
    uint64_t n = meta(table, abi::Meta::kSize);
    for (int i = 0; i < 500 && n != want; ++i) {
        (void)sys::sleep_ns(10'000'000);
        n = meta(table, abi::Meta::kSize);
    }
    return n;
}

bool bound_in(Handle dir, const char* name) {
    const int64_t h = open(dir, name);
    if (h < 0)
        return false;
    testlib::close(static_cast<uint64_t>(h));
    return true;
}

}  // namespace

CHILD_MODE("exit") {
    return static_cast<int>(args.number());
}

CHILD_MODE("fault") {
    *reinterpret_cast<volatile uint64_t*>(0x18) = 1;
    return 100;
}

// Waits for a byte (or the end) on its handle 1, then exits 5.
CHILD_MODE("hold") {
    char x;
    (void)sys::do_io(abi::initial_handle(1), Op::kRead, &x, 1);
    return 5;
}

// Binds its console as "made-by-job" in its "cwd": what a job writing a relative path does.
CHILD_MODE("write-cwd") {
    const int64_t cwd = open(root(), "cwd");
    if (cwd < 0)
        return 1;
    return sys::do_io(static_cast<uint64_t>(cwd), Op::kCreate, "made-by-job", 11, console()) == 0
               ? 0
               : 2;
}

// Creates a job ("hold", given its handle 2) through the table at handle 1 and ends at once.
CHILD_MODE("create and leave") {
    Request r;
    const Handle jr = job_root(root());
    make_request(r, self(), jr, abi::initial_handle(2), "hold", "left");
    const int64_t j = sys::do_io(abi::initial_handle(1), Op::kCreate, &r.table, sizeof r.table);
    return j > 0 ? 0 : 1;
}

TEST(jobs_start) {
    g_plain = start_server("", false);
    g_gathering = start_server("--gather g", true);
    CHECK_EQ(meta(g_plain.table, abi::Meta::kSize), 0u);
    CHECK_EQ(meta(g_plain.table, abi::Meta::kKind), static_cast<uint64_t>(abi::Kind::kServed));
}

// A job's exit status and a fault come back exactly as a process handle gives them.
TEST(jobs_exit_and_fault_as_a_process) {
    const int64_t j = create_job(g_plain.table, "exit 7");
    CHECK(j > 0);
    CHECK_EQ(meta(static_cast<Handle>(j), abi::Meta::kRights),
             uint64_t{abi::kRightRead | abi::kRightShare});
    const abi::ExitInfo e = wait_job(j);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(e.status, 7);
    abi::ExitInfo again{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(j), Op::kGetMeta, &again, sizeof again,
                        static_cast<uint64_t>(abi::Meta::kExit)),
             static_cast<int64_t>(sizeof again));
    CHECK_EQ(again.status, 7);
    CHECK(meta(static_cast<Handle>(j), abi::Meta::kId) >= 1);
    char name[8] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(j), Op::kGetMeta, name, sizeof name,
                        static_cast<uint64_t>(abi::Meta::kName)),
             3);
    CHECK(memcmp(name, "job", 3) == 0);
    testlib::close(static_cast<uint64_t>(j));

    const int64_t direct = spawn_child("fault");
    CHECK(direct > 0);
    const abi::ExitInfo want = wait_child(direct);
    const int64_t f = create_job(g_plain.table, "fault");
    CHECK(f > 0);
    const abi::ExitInfo got = wait_job(f);
    CHECK_EQ(got.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
    CHECK_EQ(got.reason, want.reason);
    CHECK_EQ(got.vector, want.vector);
    CHECK_EQ(got.address, want.address);
    CHECK_EQ(got.cr2, want.cr2);
    testlib::close(static_cast<uint64_t>(f));
    CHECK_EQ(table_size_becomes(g_plain.table, 0), 0u);
    print("jobtest: exit status 7 and a page fault (vector %u) came back as from a process\n",
          got.vector);
}

// The table lists its jobs (oldest first, running or ended while held) for `ps`.
TEST(jobs_table_lists_jobs) {
    Handle p[2];
    CHECK_EQ(sys::object_new(abi::Kind::kPipe, 0, p), 2);
    const int64_t a = create_job(g_plain.table, "hold", p[0]);
    const int64_t b = create_job(g_plain.table, "exit 3");
    CHECK(a > 0 && b > 0);
    CHECK_EQ(wait_job(b).status, 3);
    CHECK_EQ(meta(g_plain.table, abi::Meta::kSize), 2u);
    abi::ProcessEntry e[10] = {};
    CHECK_EQ(sys::do_io(g_plain.table, Op::kRead, e, sizeof e),
             static_cast<int64_t>(2 * sizeof(abi::ProcessEntry)));
    CHECK(e[0].id < e[1].id);
    CHECK_EQ(e[0].state, static_cast<uint32_t>(abi::ProcessState::kRunning));
    CHECK_EQ(e[1].state, static_cast<uint32_t>(abi::ProcessState::kExited));
    CHECK_EQ(e[1].status, 3);
    CHECK(memcmp(e[0].name, "job", 4) == 0);
    CHECK_EQ(e[0].id, meta(static_cast<Handle>(a), abi::Meta::kId));
    BAD_INPUT(sys::do_io(g_plain.table, Op::kRead, e, sizeof(abi::ProcessEntry)), kBufferTooSmall);
    testlib::close(static_cast<uint64_t>(b));
    CHECK_EQ(table_size_becomes(g_plain.table, 1), 1u);
    CHECK_EQ(sys::do_io(p[1], Op::kWrite, "x", 1), 1);
    CHECK_EQ(wait_job(a).status, 5);
    testlib::close(static_cast<uint64_t>(a));
    testlib::close(p[0]);
    testlib::close(p[1]);
    CHECK_EQ(table_size_becomes(g_plain.table, 0), 0u);
}

// The file table: through the gathering server a job's "cwd" is the gather directory, not the
// one it was lent; through the plain one it is the caller's.
TEST(jobs_gather_directory) {
    const Handle mine = new_root();
    const int64_t g = create_job(g_gathering.table, "write-cwd", 0, mine);
    CHECK(g > 0);
    CHECK_EQ(wait_job(g).status, 0);
    testlib::close(static_cast<uint64_t>(g));
    CHECK(bound_in(g_gathering.gather, "made-by-job"));
    CHECK(!bound_in(mine, "made-by-job"));
    const int64_t p = create_job(g_plain.table, "write-cwd", 0, mine);
    CHECK(p > 0);
    CHECK_EQ(wait_job(p).status, 0);
    testlib::close(static_cast<uint64_t>(p));
    CHECK(bound_in(mine, "made-by-job"));
    testlib::close(mine);
    print("jobtest: the gathering server's job wrote into the gather directory, not its cwd\n");
}

// Requests the job server refuses with a clear error, and operations a job object does not have.
TEST(jobs_bad_requests) {
    // An image that fails to spawn: the same error as a direct spawn.
    Handle junk = 0;
    CHECK_EQ(sys::object_new(abi::Kind::kMemory, 8192, &junk), 1);
    const Handle c = new_root();
    const Handle jr = job_root(c);
    Request r;
    make_request(r, junk, jr, 0, "exit 0", "junk");
    const int64_t direct = sys::spawn(junk, &r.table.args);
    CHECK_EQ(direct, err(abi::Error::kBadImage));
    BAD_INPUT(sys::do_io(g_plain.table, Op::kCreate, &r.table, sizeof r.table), kBadImage);
    BAD_INPUT(sys::do_io(g_gathering.table, Op::kCreate, &r.table, sizeof r.table), kBadImage);
    // The gathering server needs a root to rebuild: none given, or a pipe in its place.
    make_request(r, self(), jr, 0, "exit 0", "x");
    r.table.args.handle_count = 0;
    BAD_INPUT(sys::do_io(g_gathering.table, Op::kCreate, &r.table, sizeof r.table),
              kInvalidArgument);
    Handle p[2];
    CHECK_EQ(sys::object_new(abi::Kind::kPipe, 0, p), 2);
    make_request(r, self(), p[0], 0, "exit 0", "x");
    BAD_INPUT(sys::do_io(g_gathering.table, Op::kCreate, &r.table, sizeof r.table),
              kInvalidArgument);
    // A root with no names at all is rebuilt as a root holding only "cwd": the job runs (with
    // no console). One with every place taken has no room for "cwd": Full, nothing started.
    const Handle empty = new_root();
    make_request(r, self(), empty, 0, "exit 3", "bare");
    const int64_t bare = sys::do_io(g_gathering.table, Op::kCreate, &r.table, sizeof r.table);
    CHECK(bare > 0);
    CHECK_EQ(wait_job(bare).status, 3);
    testlib::close(static_cast<uint64_t>(bare));
    char name[8];
    int64_t bound = 0;
    for (int i = 0; bound == 0; ++i) {
        snformat(name, sizeof name, "n%d", i);
        bound = sys::do_io(empty, Op::kCreate, name, strlen(name), console());
    }
    CHECK_EQ(bound, err(abi::Error::kFull));
    BAD_INPUT(sys::do_io(g_gathering.table, Op::kCreate, &r.table, sizeof r.table), kFull);
    testlib::close(empty);
    // Not a TableSpawn (the kernel refuses it before the server sees it).
    BAD_INPUT(sys::do_io(g_plain.table, Op::kCreate, &r.table, sizeof r.table - 8),
              kInvalidArgument);
    // Opening names in the table is the server's own business.
    BAD_INPUT(open(g_plain.table, "job 0"), kNotSupported);
    BAD_INPUT(sys::do_io(g_plain.table, Op::kWrite, "x", 1), kNotSupported);
    // A job object: reads too small for an ExitInfo, writes, unknown meta keys.
    const int64_t j = create_job(g_plain.table, "exit 1");
    CHECK(j > 0);
    uint64_t small = 0;
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(j), Op::kRead, &small, sizeof small),
              kBufferTooSmall);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(j), Op::kWrite, "x", 1), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(j), Op::kGetMeta, &small, sizeof small,
                         static_cast<uint64_t>(abi::Meta::kBlockInfo)),
              kInvalidArgument);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(j), Op::kSeek, nullptr, 0, 0), kNotSupported);
    CHECK_EQ(wait_job(j).status, 1);
    testlib::close(static_cast<uint64_t>(j));
    testlib::close(junk);
    testlib::close(jr);
    testlib::close(c);
    testlib::close(p[0]);
    testlib::close(p[1]);
    CHECK_EQ(table_size_becomes(g_plain.table, 0), 0u);
    CHECK_EQ(table_size_becomes(g_gathering.table, 0), 0u);
}

// Callers that go away: a job object closed while its job runs, a waiter that gives up, a
// client that dies right after its create. The job runs on; the server keeps its record until
// it ends.
TEST(jobs_callers_that_leave) {
    Handle p[2];
    CHECK_EQ(sys::object_new(abi::Kind::kPipe, 0, p), 2);
    const int64_t j = create_job(g_plain.table, "hold", p[0]);
    CHECK(j > 0);
    abi::ExitInfo info{};
    BAD_INPUT(
        sys::do_io_timeout(static_cast<uint64_t>(j), Op::kRead, &info, sizeof info, 0, 30'000'000),
        kTimedOut);
    testlib::close(static_cast<uint64_t>(j));
    const Handle extra[] = {g_plain.table, p[0]};
    const int64_t c = spawn_child("create and leave", extra, 2);
    CHECK(c > 0);
    CHECK_EQ(wait_child(c).status, 0);
    // Both jobs still run, known to the table.
    CHECK_EQ(meta(g_plain.table, abi::Meta::kSize), 2u);
    abi::ProcessEntry e[4] = {};
    CHECK_EQ(sys::do_io(g_plain.table, Op::kRead, e, sizeof e),
             static_cast<int64_t>(2 * sizeof(abi::ProcessEntry)));
    CHECK_EQ(e[0].state, static_cast<uint32_t>(abi::ProcessState::kRunning));
    CHECK_EQ(e[1].state, static_cast<uint32_t>(abi::ProcessState::kRunning));
    CHECK(memcmp(e[1].name, "left", 5) == 0);
    CHECK_EQ(sys::do_io(p[1], Op::kWrite, "xy", 2), 2);  // both end
    testlib::close(p[0]);
    testlib::close(p[1]);
    CHECK_EQ(table_size_becomes(g_plain.table, 0), 0u);
    print("jobtest: a closed job object, a waiter that gave up and a dead client: jobs ran on\n");
}

// A full table: Full for the next create, nothing lost, and room again once jobs end.
// Fills the table with jobs that wait on a pipe: the next create is refused Full; then every
// job ends and the table empties.
void fill_the_table() {
    constexpr uint32_t kJobs = 32;  // servers/jobs kMaxJobs
    Handle p[2];
    CHECK_EQ(sys::object_new(abi::Kind::kPipe, 0, p), 2);
    int64_t held[kJobs];
    for (uint32_t i = 0; i < kJobs; ++i) {
        held[i] = create_job(g_plain.table, "hold", p[0]);
        CHECK(held[i] > 0);
    }
    CHECK_EQ(meta(g_plain.table, abi::Meta::kSize), uint64_t{kJobs});
    BAD_INPUT(create_job(g_plain.table, "exit 0"), kFull);
    testlib::close(p[0]);
    testlib::close(p[1]);  // every job's read ends
    for (uint32_t i = 0; i < kJobs; ++i) {
        CHECK_EQ(wait_job(held[i]).status, 5);
        testlib::close(static_cast<uint64_t>(held[i]));
    }
    CHECK_EQ(table_size_becomes(g_plain.table, 0), 0u);
}

// A full table: Full for the next create, nothing lost, and room again once jobs end. The
// second fill (the server's 32 worker threads made by the first) gives every kernel object
// and byte back.
TEST(jobs_table_full) {
    fill_the_table();
    const abi::MemoryInfo before = memory_info();
    fill_the_table();
    CHECK(kernel_memory_back_to(before));
    const int64_t j = create_job(g_plain.table, "exit 4");
    CHECK(j > 0);
    CHECK_EQ(wait_job(j).status, 4);
    testlib::close(static_cast<uint64_t>(j));
    print(
        "jobtest: 32 jobs filled the table, the next create was refused Full (twice, memory "
        "back)\n");
}

// Creates, waits and closes in a loop (both servers): the kernel's memory and objects come back.
TEST(jobs_create_loop_leaks_nothing) {
    constexpr int kRounds = 20;
    const uint32_t handles_before = my_usage().used.handles;
    const abi::MemoryInfo before = memory_info();
    for (int i = 0; i < kRounds; ++i) {
        const int64_t j = create_job(i % 2 == 0 ? g_plain.table : g_gathering.table, "exit 0");
        CHECK(j > 0);
        CHECK_EQ(wait_job(j).status, 0);
        testlib::close(static_cast<uint64_t>(j));
        // Forgotten before the next one: it reuses the same slot and worker thread (a worker
        // made now would be memory the loop did not give back).
        CHECK_EQ(table_size_becomes(i % 2 == 0 ? g_plain.table : g_gathering.table, 0), 0u);
    }
    CHECK(kernel_memory_back_to(before));
    CHECK_EQ(my_usage().used.handles, handles_before);
    print("jobtest: %d jobs created and waited for: the kernel's memory and objects came back\n",
          kRounds);
}

namespace {

// `jobtest bench N` (bench/jobs.sh): the same request (this program's "exit 0", a fresh job
// root) spawned directly and created through a plain job server, interleaved, N times each;
// prints the median and 90th percentile of spawn-to-exit-status for each. No test: a figure.
constexpr int kMaxRounds = 200;
uint64_t g_direct[kMaxRounds];
uint64_t g_served[kMaxRounds];

uint64_t percentile(uint64_t* v, int n, int pct) {
    for (int i = 1; i < n; ++i) {
        for (int k = i; k > 0 && v[k - 1] > v[k]; --k) {
            const uint64_t t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    }
    return v[(n - 1) * pct / 100];
}

int bench(int rounds) {
    const Server s = start_server("", false);
    for (int i = 0; i < rounds; ++i) {
        const Handle c = new_root();
        const Handle jr = job_root(c);
        Request r;
        make_request(r, self(), jr, 0, "exit 0", "bench");
        uint64_t t0 = sys::clock_ns();
        const int64_t p = spawn_with(0, self(), r.table.args);
        abi::ExitInfo info{};
        const bool direct_ok =
            p > 0 && sys::do_io(static_cast<uint64_t>(p), Op::kRead, &info, sizeof info) ==
                         static_cast<int64_t>(sizeof info);
        g_direct[i] = sys::clock_ns() - t0;
        t0 = sys::clock_ns();
        const int64_t j = sys::do_io(s.table, Op::kCreate, &r.table, sizeof r.table);
        const bool served_ok =
            j > 0 && sys::do_io(static_cast<uint64_t>(j), Op::kRead, &info, sizeof info) ==
                         static_cast<int64_t>(sizeof info);
        g_served[i] = sys::clock_ns() - t0;
        testlib::close(static_cast<uint64_t>(p));
        testlib::close(static_cast<uint64_t>(j));
        testlib::close(jr);
        testlib::close(c);
        if (!direct_ok || !served_ok) {
            print("jobtest: bench: round %d failed (%ld, %ld)\n", i, p, j);
            return 1;
        }
        (void)table_size_becomes(s.table, 0);  // the record gone: the next job reuses its slot
    }
    print(
        "jobtest: bench: spawn to exit status, %d rounds each: direct median %lu us (p90 %lu), "
        "through the job server median %lu us (p90 %lu)\n",
        rounds, percentile(g_direct, rounds, 50) / 1000, percentile(g_direct, rounds, 90) / 1000,
        percentile(g_served, rounds, 50) / 1000, percentile(g_served, rounds, 90) / 1000);
    return 0;
}

}  // namespace

int keel_main(const StartInfo& start) {
    char storage[64];
    const char* words[2];
    if (split_args(start.args, start.args_length, storage, sizeof storage, words, 2) == 2 &&
        memcmp(words[0], "bench", 6) == 0) {
        uint64_t n = 0;
        for (const char* d = words[1]; *d >= '0' && *d <= '9' && n <= kMaxRounds; ++d)
            n = n * 10 + static_cast<uint64_t>(*d - '0');
        return bench(n > 0 && n <= kMaxRounds ? static_cast<int>(n) : 50);
    }
    return run(start, "jobtest");
}
