// Child processes: exit statuses, every kind of fault ending only the child, handles and
// memory shared with a child, a child exhausting memory, naming and sharing into a child.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

// ---- the children -----------------------------------------------------------------------

// "exit N": exits with status N (also started by spawn_bad_input and the storm test).
CHILD_MODE("exit") {
    return static_cast<int>(args.number());
}

// The faulting children: each returns 100 only if its fault did not happen.
CHILD_MODE("page-fault") {
    *reinterpret_cast<volatile uint64_t*>(0x10) = 1;
    return 100;
}
CHILD_MODE("gp-fault") {
    (void)*reinterpret_cast<volatile uint64_t*>(0x8000000000000000ull);
    return 100;
}
CHILD_MODE("invalid-opcode") {
    asm volatile("ud2");
    return 100;
}
CHILD_MODE("divide-error") {
    asm volatile("xor %%edx, %%edx; xor %%ecx, %%ecx; div %%ecx" ::: "rax", "rcx", "rdx");
    return 100;
}
CHILD_MODE("write-text") {
    *reinterpret_cast<volatile uint8_t*>(reinterpret_cast<uint64_t>(&keel_main)) = 0xc3;
    return 100;
}
CHILD_MODE("exec-stack") {
    uint8_t code[4] = {0xc3};
    reinterpret_cast<void (*)()>(reinterpret_cast<uint64_t>(code))();
    return 100;
}
CHILD_MODE("kernel-read") {
    (void)*reinterpret_cast<volatile uint64_t*>(kKernelText);
    return 100;
}
CHILD_MODE("thread-fault") {
    // A second thread blocks forever; the fault must still end the whole process.
    Handle p[2];
    (void)sys::object_new(Kind::kPipe, 0, p);
    (void)spawn_thread(
        [](uint64_t read_end) {
            char c = 0;
            (void)sys::do_io(read_end, Op::kRead, &c, 1);
        },
        p[0]);
    (void)sys::sleep_ns(5'000'000);
    *reinterpret_cast<volatile uint64_t*>(0x20) = 1;
    return 100;
}

// Recurses until the guard page under the stack stops it.
[[gnu::noinline]] uint64_t recurse(uint64_t depth) {
    volatile uint8_t frame[256];
    frame[0] = static_cast<uint8_t>(depth);
    if (depth == ~0ull)  // never: 64 KiB of stack ends long before
        return 0;
    return recurse(depth + 1) + frame[0];
}
CHILD_MODE("stack-overflow") {
    return static_cast<int>(recurse(0));
}
CHILD_MODE("privileged") {
    asm volatile("cli");  // ring 3 may not touch the interrupt flag
    return 100;
}
CHILD_MODE("breakpoint") {
    asm volatile("int3");  // every IDT gate is ring 0 only: #GP, not #BP
    return 100;
}
CHILD_MODE("kernel-gate") {
    asm volatile("int $0x20");  // the timer's vector: its gate is ring 0 only
    return 100;
}
CHILD_MODE("port-io") {
    asm volatile("outb %%al, $0xf4" ::"a"(0));  // the QEMU exit port: no I/O rights
    return 100;
}

// Writes one byte into the pipe or message pipe it was given, then faults holding it.
CHILD_MODE("hold-then-fault") {
    (void)sys::do_io(abi::initial_handle(1), Op::kWrite, "!", 1);
    (void)sys::sleep_ns(10'000'000);
    *reinterpret_cast<volatile uint64_t*>(0x30) = 1;
    return 100;
}

// Maps the memory object it was given and writes into it.
CHILD_MODE("write-shared") {
    const int64_t at = sys::do_io(abi::initial_handle(1), Op::kMap, nullptr, 0, 1);
    if (at <= 0)
        return 1;
    memcpy(reinterpret_cast<void*>(at), "written by the child", 20);
    return 0;
}

// Takes memory objects until the kernel refuses; exits with the error that stopped it.
CHILD_MODE("exhaust-memory") {
    for (;;) {
        Handle h;
        const int64_t r = sys::object_new(Kind::kMemory, abi::kMaxMemorySize, &h);
        if (r < 0)
            return static_cast<int>(-r);
    }
}

// Waits for the parent to share a pipe write end into it, writes "shared" and exits with
// Kind::kPipe (0 if nothing came).
CHILD_MODE("use-shared") {
    // The shared handle lands in the first free slot, which depends on what start-up already
    // opened: look for it.
    for (int i = 0; i < 200; ++i) {
        (void)sys::sleep_ns(1'000'000);
        for (uint32_t slot = 1; slot < 8; ++slot) {
            const Handle h = abi::initial_handle(slot);
            if (kind_of(h) == static_cast<uint64_t>(Kind::kPipe)) {
                (void)sys::do_io(h, Op::kWrite, "shared", 6);
                return static_cast<int>(Kind::kPipe);
            }
        }
    }
    return 0;
}

TEST(child_processes_and_faults) {
    // A normal exit with a status.
    int64_t c = spawn_child("exit 42");
    CHECK(c > 0);
    abi::ExitInfo info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, 42);

    // Faults end only the child; the parent sees which one.
    struct Fault {
        const char* mode;
        uint32_t vector;
    };
    const Fault faults[] = {{"page-fault", 14},  {"gp-fault", 13},     {"invalid-opcode", 6},
                            {"divide-error", 0}, {"write-text", 14},   {"exec-stack", 14},
                            {"kernel-read", 14}, {"thread-fault", 14}, {"stack-overflow", 14},
                            {"privileged", 13},  {"breakpoint", 13},   {"kernel-gate", 13},
                            {"port-io", 13}};
    for (const Fault& f : faults) {
        c = spawn_child(f.mode);
        CHECK(c > 0);
        uint64_t id = 0;
        CHECK_EQ(get_u64(static_cast<uint64_t>(c), Meta::kId, &id), 8);
        info = wait_child(c);
        CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
        CHECK_EQ(info.vector, f.vector);
        CHECK(info.address != 0);
        BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kRead, &info, sizeof info),
                  kStaleHandle);
    }

    // A child dies holding the write end of our pipe: we read end of stream. Holding the
    // other end of a message pipe: we get kPeerGone.
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    c = spawn_child("hold-then-fault", &p[1], 1);
    close(p[1]);
    char buf[8];
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 8), 1);  // the child's one byte
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 8), 0);  // then its death closes the pipe
    info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
    close(p[0]);
    Handle e[2];
    CHECK_EQ(sys::object_new(Kind::kMessagePipe, 0, e), 2);
    c = spawn_child("hold-then-fault", &e[1], 1);
    close(e[1]);
    CHECK_EQ(sys::do_io(e[0], Op::kRead, buf, 8), 1);
    BAD_INPUT(sys::do_io(e[0], Op::kRead, buf, 8), kPeerGone);
    info = wait_child(c);
    BAD_INPUT(sys::do_io(e[0], Op::kWrite, "x", 1), kPeerGone);
    close(e[0]);

    // Shared memory across processes: the child maps what we gave it and writes into it.
    Handle shared;
    const uint64_t shared_at = map_new(4096, &shared);
    CHECK(shared_at != 0);
    c = spawn_child("write-shared", &shared, 1);
    CHECK_EQ(wait_child(c).status, 0);
    CHECK(memcmp(reinterpret_cast<const void*>(shared_at), "written by the child", 20) == 0);
    CHECK_EQ(sys::unmap(shared_at), 0);
    close(shared);

    // A child that takes every frame it can gets NoMemory (the kernel survives); its end
    // gives them all back, so we can then allocate a large object ourselves.
    c = spawn_child("exhaust-memory");
    info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, static_cast<int64_t>(Error::kNoMemory));
    Handle big;
    CHECK_EQ(sys::object_new(Kind::kMemory, 32ull << 20, &big), 1);
    close(big);

    // Naming a process (set_meta), with bad input.
    c = spawn_child("exit 0");
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, "named-child", 11,
                        static_cast<uint64_t>(Meta::kName)),
             11);
    char name[40] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kGetMeta, name, sizeof name,
                        static_cast<uint64_t>(Meta::kName)),
             11);
    CHECK(memcmp(name, "named-child", 11) == 0);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, name, 33,
                         static_cast<uint64_t>(Meta::kName)),
              kTooLarge);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, "bad\n", 4,
                         static_cast<uint64_t>(Meta::kName)),
              kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(static_cast<uint64_t>(c), 4, kUnmapped, 4,
                             static_cast<uint64_t>(Meta::kName)),
              kBadAddress);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, name, 4, 999), kInvalidArgument);
    const int64_t c_read_only = share(static_cast<uint64_t>(c), 0, abi::kRightRead);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c_read_only), Op::kSetMeta, "x", 1,
                         static_cast<uint64_t>(Meta::kName)),
              kNoRights);
    close(static_cast<uint64_t>(c_read_only));
    CHECK_EQ(wait_child(c).status, 0);

    // Share into a running child; sharing into a process needs write rights on it.
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    c = spawn_child("use-shared");
    CHECK(c > 0);
    CHECK(share(p[1], static_cast<uint64_t>(c), abi::kRightWrite) > 0);
    const int64_t c_ro = share(static_cast<uint64_t>(c), 0, abi::kRightRead);
    BAD_INPUT(share(p[1], static_cast<uint64_t>(c_ro), abi::kRightWrite), kNoRights);
    close(p[1]);
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 8), 6);
    CHECK(memcmp(buf, "shared", 6) == 0);
    info = wait_child(c);
    CHECK_EQ(info.status, static_cast<int64_t>(Kind::kPipe));
    abi::ExitInfo again{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c_ro), Op::kRead, &again, sizeof again),
             static_cast<int64_t>(sizeof again));
    CHECK_EQ(again.status, info.status);
    BAD_INPUT(share(p[0], static_cast<uint64_t>(c_ro), abi::kRightRead), kNoRights);
    close(static_cast<uint64_t>(c_ro));
    close(p[0]);
}

}  // namespace
}  // namespace keel::usertest
