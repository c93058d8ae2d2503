// The queue system-call fuzzer: a child ("child fuzz SEED COUNT") makes random queue calls;
// the test runs it with a fresh seed and logs a replay line.
#include "queuetest.hpp"
#include "timer.hpp"

namespace keel::queuetest {
namespace {

Random g_rng(1);
uint64_t next() {
    return g_rng.next();
}

uint64_t pick_address(uint8_t* region, uint64_t size, void* good) {
    static const uint64_t bad[] = {kNull, 8, kKernel, kKernelText, kNearTop, kHuge, kUnmapped};
    switch (next() % 4) {
        case 0:
            return bad[next() % (sizeof bad / sizeof bad[0])];
        case 1:
            return addr(region) + next() % (size + 64);
        default:
            return addr(good);
    }
}

// Random queue submissions (through the client and forged in the ring) and random queue system
// calls with adversarial arguments. The kernel must answer each with a result, never fault.
//
// `flags` (testlib::Exhaust) run it with memory or handles running out once it is set up: then
// calls that allocate fail mid-way (counted as refusals), and a queue or port it cannot rebuild
// ends the run early but cleanly; in a normal run that is a failure (status 5, 7).
int fuzz(uint64_t seed, uint64_t count, uint64_t flags) {
    g_rng = Random(seed);
    Handle p[2], m = 0, mp[2];
    (void)sys::object_new(Kind::kPipe, 0, p);
    (void)sys::object_new(Kind::kMemory, 8192, &m);
    (void)sys::object_new(Kind::kMessagePipe, 0, mp);
    Queue* q = heap_queue(16, 8);
    if (q == nullptr)
        return 3;
    // This process also serves an object (a hostile server now and then): its queue submissions
    // on it are forwarded to itself (never do_io on it: that would wait for itself).
    ServePort* sp = new (allocate(sizeof(ServePort))) ServePort;
    if (sp->create(8, 4, 4096) != 0)
        return 6;
    // A timer, armed now and then with a past deadline (expires at once: the run stays the same
    // for a seed, whatever the timing), so parked reads of it end. A random TimerSet is almost
    // always far in the future: its reads park until the next re-arm.
    const auto t = static_cast<Handle>(timer::create());
    (void)timer::arm(t, 1);
    uint64_t pool[] = {0,          console() + (1u << 16),
                       root(),     p[0],
                       p[1],       m,
                       mp[0],      mp[1],
                       0xffff,     q->handle(),
                       1ull << 40, sp->served(),
                       t};
    if ((flags & kExhaustMemory) != 0 && take_memory_leaving(kExhaustLeft) == 0)
        return 8;
    if ((flags & kExhaustHandles) != 0 && fill_handle_table() == 0)
        return 9;
    // A refusal of what running out refuses: counted, and when a rebuild is refused, the end.
    uint64_t refused = 0;
    const auto out_of = [&](int64_t r) {
        const bool out = r == err(abi::Error::kNoMemory) || r == err(abi::Error::kFull);
        refused += out ? 1 : 0;
        return out && flags != 0;
    };
    uint64_t calls = 0, errors = 0, completions = 0;
    uint64_t served = 0, scribbles = 0, restarts = 0;
    abi::QueueGeometry geometry{};
    abi::QueueInfo info{};
    for (uint64_t i = 0; i < count; ++i) {
        const uint64_t what = next() % 16;
        if (what < 9) {  // a client submission with random fields
            ipc::Request r;
            r.user_data = next();
            r.opcode = static_cast<uint16_t>(next() % 4 == 0 ? next() % 40
                                                             : abi::kQueueOpBase + next() % 12);
            if (r.opcode == static_cast<uint16_t>(ipc::abi::Op::Cancel))
                r.opcode = 0;
            r.object = static_cast<uint32_t>(pool[next() % (sizeof pool / sizeof pool[0])]);
            // Never close or map through the fuzzer's own fixed handles (keeps it going).
            const uint16_t op = r.opcode - abi::kQueueOpBase;
            if (op == static_cast<uint16_t>(Op::kClose) || op == static_cast<uint16_t>(Op::kMap) ||
                op == static_cast<uint16_t>(Op::kDestroy))
                r.opcode = abi::kQueueOpBase + static_cast<uint16_t>(Op::kGetMeta);
            r.args[0] = next() % 3 == 0 ? next() : next() % 8;
            r.length = static_cast<uint32_t>(next() % 5000);
            if (r.object == t && op == static_cast<uint16_t>(Op::kWrite) && next() % 2 == 0)
                r.length = 16;  // a TimerSet of random bytes
            auto b = q->client().acquire();
            if (b && r.length <= 4096 && next() % 4 != 0) {
                auto bytes = q->client().bytes(*b);
                for (uint32_t k = 0; k < 16; ++k)
                    bytes[k] = static_cast<std::byte>(next());
                if (q->client().submit(r, std::move(*b)))
                    ++calls;
            } else {
                r.length = 0;
                if (q->client().submit(r))
                    ++calls;
            }
        } else if (what < 10) {  // cancel something
            if (q->client().cancel(next(), static_cast<uint32_t>(next() % 3 == 0 ? next() : 0)))
                ++calls;
        } else if (what < 11) {  // forge a raw entry
            auto* sq =
                reinterpret_cast<ipc::abi::RingHeader*>(q->region() + ipc::abi::kSqHeaderOffset);
            auto* e = reinterpret_cast<uint64_t*>(q->region() + ipc::abi::kSqEntriesOffset);
            e[next() % (16 * 8)] = next();
            if (next() % 8 == 0)
                sq->tail.value.store(static_cast<uint32_t>(next()));
        } else if (what < 12) {  // raw create with adversarial arguments
            geometry = {static_cast<uint32_t>(1u << (next() % 12)),
                        static_cast<uint32_t>(next() % 300),
                        static_cast<uint32_t>(next() % 3) * 4096, next() % 8 == 0 ? 1u : 0u};
            const int64_t h = syscall(abi::Syscall::kQueueCreate,
                                      pick_address(q->region(), q->region_size(), &geometry),
                                      pick_address(q->region(), q->region_size(), &info));
            ++calls;
            if (h > 0) {
                if (next() % 2 == 0)
                    (void)sys::queue_poll(h);  // a region nobody laid out
                (void)sys::queue_destroy(h);
                (void)sys::unmap(info.address);
            } else {
                ++errors;
                (void)out_of(h);
            }
        } else if (what < 13) {  // queue calls on random handles
            const uint64_t h = pool[next() % (sizeof pool / sizeof pool[0])];
            if (h != q->handle()) {
                ++calls;
                const auto n = static_cast<abi::Syscall>(
                    static_cast<uint64_t>(abi::Syscall::kQueueDestroy) + next() % 3);
                if (syscall(n, h, next() % 4, 1000) < 0)
                    ++errors;
            }
        } else if (what == 15 && next() % 2 == 0) {  // serve: complete, scribble, or restart
            const uint64_t how = next() % 32;
            ++calls;
            if (how < 28) {
                if (sp->sync(next() % 2 == 0, 1'000'000) < 0)
                    ++errors;
                (void)sp->server().poll();
                while (auto op = sp->server().take()) {
                    ++served;
                    const uint16_t status =
                        next() % 4 == 0
                            ? static_cast<uint16_t>(next())
                            : (next() % 2 == 0 ? kOk : static_cast<uint16_t>(0x100 + next() % 20));
                    const uint64_t value = next() % 2 == 0 ? next() : next() % 64;
                    if (!sp->server().complete(op->id, status, value))
                        (void)sp->server().complete(op->id, kOk, 0);
                }
                (void)sp->sync(false);
            } else if (how < 31) {  // a hostile server writes anywhere in its region
                const uint64_t at = next() % (sp->region_size() / 8);
                reinterpret_cast<volatile uint64_t*>(sp->region())[at] = next();
                ++scribbles;
            } else {  // the server leaves: everything forwarded completes PeerGone
                (void)sp->destroy();
                sp->~ServePort();
                new (sp) ServePort;
                if (const int64_t made = sp->create(8, 4, 4096); made != 0) {
                    if (out_of(made))
                        break;
                    return 7;
                }
                pool[11] = sp->served();
                ++restarts;
            }
        } else {  // let the kernel run the batch
            const int64_t r = next() % 2 == 0 ? q->poll() : q->wait(1 + next() % 4, 2'000'000);
            ++calls;
            if (r < 0) {
                ++errors;
                // A forged tail makes every later poll fail: the client gives up on this queue.
                q->client().peer_gone();
            }
            for (;;) {
                auto c = q->reap();
                if (!c) {
                    if (c.error() == ipc::Error::ProtocolViolation)
                        q->client().peer_gone();  // forged entries made a completion impossible
                    else
                        break;
                } else {
                    ++completions;
                }
            }
            if (q->client().torn_down()) {
                (void)q->destroy();
                q->~Queue();
                new (q) Queue;
                if (const int64_t made = q->create(16, 8, 4096); made != 0) {
                    if (out_of(made))
                        break;
                    return 5;
                }
            }
        }
        // Keep something readable now and then so parked reads finish.
        // (do_io would block on a full pipe: only while there is room.)
        uint64_t buffered = abi::kPipeCapacity;
        if (next() % 8 == 0 &&
            sys::do_io(p[0], Op::kGetMeta, &buffered, 8, static_cast<uint64_t>(Meta::kSize)) == 8 &&
            buffered + 4 <= abi::kPipeCapacity) {
            (void)sys::do_io(p[1], Op::kWrite, "fuzz", 4);
        }
        if (next() % 32 == 0)
            (void)timer::arm(t, 1);
    }
    print("queuetest: fuzz seed %lu: %lu calls, %lu errors, %lu completions\n", seed, calls, errors,
          completions);
    if (flags != 0) {
        print("queuetest: fuzz seed %lu flags %lu: %lu refused NoMemory or Full\n", seed, flags,
              refused);
        if (refused == 0)
            return 10;  // running out must have been met, not just set up
    }
    print(
        "queuetest: fuzz seed %lu: served %lu forwarded operations, %lu server scribbles, %lu "
        "server restarts\n",
        seed, served, scribbles, restarts);
    return 0;
}

// "fuzz SEED COUNT [FLAGS]" (COUNT 0 or missing: 1000), also run directly as a boot module to
// replay.
CHILD_MODE("fuzz") {
    const uint64_t seed = args.number();
    const uint64_t count = args.number();
    return fuzz(seed, count == 0 ? 1000 : count, args.number());
}

// The fuzzer in a child with `flags` (testlib::Exhaust).
void run_fuzzer(uint64_t flags) {
    const uint64_t seed = sys::clock_ns() ^ 0x5eed;
    char args[64];
    snformat(args, sizeof args, "fuzz %lu 3000 %lu", seed, flags);
    print(
        "queuetest: fuzz seed %lu (replay: --module \"build/kernel/user/queuetest.elf child "
        "%s\")\n",
        seed, args);
    // A child first, so that the kernel heap has grown for one before the count is taken.
    CHECK_EQ(wait_child(spawn_child("fuzz 1 1")).status, 0);
    const abi::MemoryInfo before = memory_info();
    const int64_t c = spawn_child_limited(args, exhaust_limits(flags));
    CHECK(c > 0);
    const abi::ExitInfo info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, 0);
    // Everything the fuzzer made (queues, served ports, objects) went with it (issue 25).
    CHECK(kernel_memory_back_to(before));
}

TEST(queue_syscall_fuzzer) {
    run_fuzzer(0);
}

// The exhaustion suite (issue 25): the fuzzer with its memory limit nearly reached, then with
// its handle table full.
TEST(queue_syscall_fuzzer_low_memory) {
    run_fuzzer(kExhaustMemory);
}

TEST(queue_syscall_fuzzer_full_handle_table) {
    run_fuzzer(kExhaustHandles);
}

}  // namespace
}  // namespace keel::queuetest
