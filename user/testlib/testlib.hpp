// testlib: tests for Keel user programs. A test registers itself where it is written:
//
//     TEST(byte_pipes) { CHECK_EQ(...); }
//
// and a child mode (what this program does when a test starts it again as "child MODE ...")
// is written next to the test that spawns it:
//
//     CHILD_MODE("page-fault") { *reinterpret_cast<volatile uint64_t*>(0x10) = 1; return 100; }
//
// The program's keel_main is `return testlib::run(start, "name");`: started with arguments
// "child MODE ..." it runs that mode and exits with its result; otherwise it runs every test
// in registration order, prints "name: N bad-input cases" and "N passed, N failed", and exits
// 0 only when no check failed.
//
// Registration is by global constructor: the runtime runs .init_array before keel_main (see
// runtime.cpp), C++ initialises one file's globals in declaration order, and lld keeps the
// .init_array of the objects in link order, so tests run in the order of the source list
// and, within a file, top to bottom. (A linker section, as KTEST uses, would need a change to
// user.ld, which every program shares, and has no defined order within a file.) run() fails
// when nothing registered, so a runtime that stopped running constructors cannot pass.
#pragma once

#include "check.hpp"
#include "runtime.hpp"

namespace keel::testlib {

// Addresses a test hands the kernel instead of a good pointer.
inline constexpr uint64_t kNull = 0;
inline constexpr uint64_t kKernel = 0xffff800000000000ull;      // the kernel half
inline constexpr uint64_t kKernelText = 0xffffffff80001000ull;  // the kernel image
inline constexpr uint64_t kUnmapped = 0x200000000000ull;        // user half, never mapped
inline constexpr uint64_t kNearTop = 0x7ffffffff000ull;         // + 0x2000 runs past the user half
inline constexpr uint64_t kHuge = 1ull << 63;

inline uint64_t addr(const void* p) {
    return reinterpret_cast<uint64_t>(p);
}
inline int64_t close(uint64_t h) {
    return user::sys::do_io(h, user::Op::kClose);
}

// The arguments after a child mode's name ("child fuzz 7 3000": "7 3000" for mode "fuzz").
class Args {
  public:
    Args(const char* text, uint64_t length) : text_(text), length_(length) {}
    const char* text() const { return text_; }
    uint64_t length() const { return length_; }
    // The next decimal number (spaces skipped), 0 when there is none; consumes it.
    uint64_t number();

  private:
    const char* text_;
    uint64_t length_;
};

// A seeded xorshift64 generator: the same seed gives the same sequence on every run, so a
// logged seed replays a randomised test. Seeds are made odd (0 would stay 0).
class Random {
  public:
    explicit Random(uint64_t seed) : state_(seed | 1) {}
    uint64_t next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        return state_;
    }
    // Uniform enough for tests in [0, bound); bound > 0.
    uint64_t below(uint64_t bound) { return next() % bound; }

  private:
    uint64_t state_;
};

// This program's image ("self" in the root), opened on first use; 0 when the root has none.
user::Handle self();

// The kernel's account of memory and objects (get_meta kMemoryInfo on "processes" in the
// root, opened on first use), once it reads the same twice 2 ms apart (a process that just
// ended may still be tearing down); all zero when the root has none.
abi::MemoryInfo memory_info();
// Whether the kernel holds what it held at `before`: the same live objects, live heap
// allocations and frames in use outside the heap (the heap keeps what it grew by).
bool kernel_memory_back_to(const abi::MemoryInfo& before);

// The CPUs that run threads (get_meta kCpus on "processes"; 0 when the root has none).
uint64_t cpus();

// Resource limits and use (abi::ResourceUsage, get_meta kLimits): this process's own (through
// "processes" in the root; all zero when the root has none), or a process object's.
abi::ResourceUsage my_usage();
abi::ResourceUsage usage_of(user::Handle process);

// The exhaustion suite (issue 25): a child that must run with memory or handles running out.
// take_memory_leaving() makes one memory object (kept open) so that less than `leave` bytes are
// left under this process's memory limit; fill_handle_table() opens duplicates of the root
// until the table is full (kFull). Each returns how much it took (bytes, handles).
uint64_t take_memory_leaving(uint64_t leave);
uint64_t fill_handle_table();
// What the exhaustion children are told ("... FLAGS" in their mode's arguments).
enum Exhaust : uint64_t {
    kExhaustMemory = 1,   // take_memory_leaving(kExhaustLeft) after setting up
    kExhaustHandles = 2,  // fill_handle_table() after setting up
};
inline constexpr uint64_t kExhaustLeft = 48 * 1024;
// The limits such a child is spawned with for `flags`: kExhaustMemory adds a 1 MiB memory limit
// (the child takes most of it itself) and 3 queues; else none.
abi::Limits exhaust_limits(uint64_t flags);

// Starts a copy of this program as "child MODE" with handles {root(), extra...} (the child sees
// them as abi::initial_handle(0..)); the process is named after MODE (spaces as '-') in the
// kernel's fault reports. The process handle, or -Error.
int64_t spawn_child(const char* mode, const user::Handle* extra = nullptr,
                    uint64_t extra_count = 0);
// The same with `child_root` as the child's root instead of this program's own (a child that
// must see only what was bound there for it, such as a driver given one device).
int64_t spawn_child_rooted(const char* mode, user::Handle child_root,
                           const user::Handle* extra = nullptr, uint64_t extra_count = 0);
// The same as spawn_child with the child's resource limits (SpawnArgs::limits).
int64_t spawn_child_limited(const char* mode, const abi::Limits& limits,
                            const user::Handle* extra = nullptr, uint64_t extra_count = 0);
// Waits for a process (or thread) to end, closes its handle and returns how it ended;
// reading the exit record and closing are checks of the running test.
abi::ExitInfo wait_child(int64_t process);

// Runs the child mode named in start's arguments, or every test (see the top of this file).
int run(const user::StartInfo& start, const char* program);

// ---- registration (use the macros) -----------------------------------------------------------

struct Test {
    Test(const char* name, void (*fn)(), const char* file, int line);
    const char* name;
    void (*fn)();
    const char* file;
    int line;
    Test* next = nullptr;
};

struct ChildMode {
    ChildMode(const char* mode, int (*fn)(Args));
    const char* mode;  // matches "MODE" and "MODE ARGS..."; the longest match wins
    int (*fn)(Args);
    ChildMode* next = nullptr;
};

}  // namespace keel::testlib

#define TESTLIB_CAT2(a, b) a##b
#define TESTLIB_CAT(a, b) TESTLIB_CAT2(a, b)

// TEST(name) { body }: a test, run once by testlib::run() and reported as "[ RUN  ] name".
#define TEST(name)                                                                               \
    static void testlib_test_##name();                                                           \
    static ::keel::testlib::Test testlib_test_entry_##name{#name, testlib_test_##name, __FILE__, \
                                                           __LINE__};                            \
    static void testlib_test_##name()

// CHILD_MODE("mode") { body returning the exit status; `args` holds what follows the mode }.
#define CHILD_MODE(mode)                                                           \
    static int TESTLIB_CAT(testlib_child_, __LINE__)(::keel::testlib::Args);       \
    static ::keel::testlib::ChildMode TESTLIB_CAT(testlib_child_entry_, __LINE__){ \
        mode, TESTLIB_CAT(testlib_child_, __LINE__)};                              \
    static int TESTLIB_CAT(testlib_child_, __LINE__)([[maybe_unused]] ::keel::testlib::Args args)
