// blkcrash: clients of srv/blk0 while the virtio-blk driver is crashed again and again (issue
// 21; run from the shell of the blk-crash test image, etc/test/blk-crash.conf: init starts the
// driver with --crash-after-ms, so it faults at a random point 300-500 ms after each start,
// and restarts it). Arguments: CRASHES SECONDS: run until the driver crashed CRASHES times (as
// seen by the monitor below), failing when that takes more than SECONDS.
//
// The clients, each on a region of the disk of its own, in 4 KiB slots at explicit offsets:
//   - kDoIoClients threads with blocking do_io: random reads and writes;
//   - one thread with a queue of kDepth operations in flight (owned buffers, device data: the
//     device reads and writes them), never two on one slot at once;
//   - the monitor: a GetMeta every 2 ms; it counts crashes (the first PeerGone after a success)
//     and the time until an operation succeeds again (crash to service restored).
// Each counts operations issued, completed OK, completed PeerGone and otherwise; after a
// PeerGone it reopens srv/blk0 (NotFound while the driver is down: init removes the dead name)
// and carries on. A slot's expected content is the seed of its last acknowledged write (zeros
// before any); a write that completed PeerGone may or may not have reached the disk, so its
// slot is not checked until the next acknowledged write. Every read of a known slot is checked,
// and at the end every known slot is read back once more.
// Fails on: an operation not completed exactly once (a queue completion seen twice or never,
// a do_io client's counts that do not add up), an error other than PeerGone, a buffer not back
// in the queue's pool, a client without progress for 10 s (a hang), data that differs, fewer
// crashes than asked for in the time.
#include <keel/c/mem.hpp>

#include <atomic>
#include <utility>

#include "crash.hpp"
#include "queue.hpp"
#include "reopen.hpp"
#include "testlib.hpp"

namespace keel::blkcrash {

namespace {

using namespace keel::user;

constexpr uint64_t kSlot = 4096;
constexpr uint32_t kSlots = 256;  // 1 MiB a client
constexpr uint64_t kBase = 2ull << 20;
constexpr int kDoIoClients = 3;
constexpr int kQueueClient = kDoIoClients;
constexpr int kReader = kQueueClient + 1;
constexpr int kClients = kReader + 1;
constexpr uint32_t kDepth = 8;
constexpr uint64_t kUncertain = ~0ull;  // a slot whose last write ended PeerGone
constexpr uint64_t kHangNs = 10'000'000'000;
const int64_t kPeerGone = -static_cast<int64_t>(abi::Error::kPeerGone);

uint8_t pattern(uint64_t client, uint64_t seed, uint64_t i) {
    if (seed == 0)
        return 0;  // never written: the fresh image's zeros
    return static_cast<uint8_t>((i * 131 + seed * 17 + client * 71 + (i >> 9) * 29) ^ (seed >> 5));
}

struct Client {
    uint64_t issued = 0, ok = 0, gone = 0, other = 0;
    uint64_t bad_bytes = 0;     // bytes read that differ from the slot's expected content
    uint64_t twice = 0;         // queue completions for an operation not (or no longer) pending
    uint64_t buffers_back = 0;  // queue: buffers in the pool at the end
    uint64_t checked = 0;       // final read-back: slots compared
    uint64_t reopens = 0;
    uint64_t retried = 0;       // reader: reads Reopening sent again
    uint64_t ok_at_reopen = 0;  // c.ok when the handle was last opened
    bool hung = false;
    std::atomic<uint64_t> progress{0};  // clock of the last completion
    uint64_t expected[kSlots] = {};
    uint8_t buf[kSlot];
};
Client g_clients[kClients];
std::atomic<bool> g_stop{false};
testlib::CrashLog g_log;

uint64_t offset_of(int client, uint32_t slot) {
    return kBase + (uint64_t{static_cast<uint32_t>(client)} << 20) + slot * kSlot;
}

// srv/blk0 opened again after a PeerGone (or at start): NotFound while the driver is down.
// 0 when it did not come back within kHangNs.
// A handle that failed before any success since it was opened was the dead object still bound
// (init removes the name moments after the crash): a pause then, not a busy loop.
Handle reopen(Client& c, Handle old) {
    if (old != 0) {
        (void)testlib::close(old);
        if (c.ok == c.ok_at_reopen)
            (void)sys::sleep_ns(2'000'000);
    }
    c.ok_at_reopen = c.ok;
    const uint64_t until = sys::clock_ns() + kHangNs;
    while (sys::clock_ns() < until) {
        const int64_t h = open_path(root(), "ns/srv/blk0", 11);
        if (h > 0) {
            ++c.reopens;
            return static_cast<Handle>(h);
        }
        (void)sys::sleep_ns(2'000'000);
    }
    c.hung = true;
    return 0;
}

void check_slot(Client& c, int client, uint32_t slot, const uint8_t* bytes) {
    const uint64_t seed = c.expected[slot];
    if (seed == kUncertain)
        return;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < kSlot; ++i)
        bad += bytes[i] == pattern(static_cast<uint64_t>(client), seed, i) ? 0 : 1;
    if (bad != 0 && c.bad_bytes == 0) {
        print("blkcrash: client %d slot %u: %lu bytes differ from write %lu\n", client, slot, bad,
              seed);
    }
    c.bad_bytes += bad;
}

// One blocking do_io at a slot: the result, after counting it. PeerGone reopens *h.
int64_t do_io_counted(Client& c, Handle* h, Op op, uint32_t slot, int client) {
    ++c.issued;
    const int64_t r = sys::do_io(*h, op, c.buf, kSlot, offset_of(client, slot));
    if (r == static_cast<int64_t>(kSlot)) {
        ++c.ok;
    } else if (r == kPeerGone) {
        ++c.gone;
    } else {
        if (c.other == 0)
            print("blkcrash: client %d: %s at slot %u: %s\n", client,
                  op == Op::kRead ? "read" : "write", slot, error_text(r));
        ++c.other;
    }
    c.progress.store(sys::clock_ns());
    if (r == kPeerGone)
        *h = reopen(c, *h);
    return r;
}

// Every slot with a known content read back (retried across crashes).
void read_back(Client& c, Handle* h, int client) {
    for (uint32_t slot = 0; slot < kSlots && *h != 0; ++slot) {
        if (c.expected[slot] == kUncertain)
            continue;
        int64_t r = kPeerGone;
        while (r == kPeerGone && *h != 0)
            r = do_io_counted(c, h, Op::kRead, slot, client);
        if (r == static_cast<int64_t>(kSlot)) {
            check_slot(c, client, slot, c.buf);
            ++c.checked;
        }
    }
}

void do_io_client(uint64_t arg) {
    const int client = static_cast<int>(arg);
    Client& c = g_clients[client];
    testlib::Random rng(1000 + arg);
    Handle h = reopen(c, 0);
    uint64_t writes = 0;
    while (!g_stop.load() && h != 0) {
        const auto slot = static_cast<uint32_t>(rng.below(kSlots));
        if (rng.below(2) == 0) {
            const uint64_t seed = (arg << 40) + ++writes;
            for (uint64_t i = 0; i < kSlot; ++i)
                c.buf[i] = pattern(arg, seed, i);
            const int64_t r = do_io_counted(c, &h, Op::kWrite, slot, client);
            c.expected[slot] = r == static_cast<int64_t>(kSlot) ? seed : kUncertain;
        } else if (do_io_counted(c, &h, Op::kRead, slot, client) == static_cast<int64_t>(kSlot)) {
            check_slot(c, client, slot, c.buf);
        }
    }
    read_back(c, &h, client);
    if (h != 0)
        (void)testlib::close(h);
    sys::thread_exit(0);
}

// The queue client: kDepth operations in flight, each on a slot no other pending one has.
void queue_client(uint64_t arg) {
    const int client = static_cast<int>(arg);
    Client& c = g_clients[client];
    testlib::Random rng(2000 + arg);
    Handle h = reopen(c, 0);
    // Device data (abi::kQueueDeviceData): the device reads and writes the queue's buffers, so
    // a crash leaves operations in flight at the device in this memory (the kernel then keeps
    // it from reuse until the next driver resets the device). The queue outlives the driver:
    // the restarted one serves the same device.
    Queue q;
    if (h == 0 || q.create(64, kDepth, kSlot, abi::kQueueDeviceData, h) != 0) {
        print("blkcrash: no queue\n");
        c.hung = true;
        sys::thread_exit(0);
    }
    print("blkcrash: the queue client's buffers are device data\n");
    struct Pending {
        bool busy;
        bool write;
        uint32_t slot;
        uint64_t seed;
    };
    static Pending pending[256];  // by user_data % 256: at most kDepth of them busy
    bool slot_busy[kSlots] = {};
    uint64_t serial = 0, in_flight = 0, seed = 0;
    bool gone = false;  // a PeerGone seen: submit nothing until in_flight drains, then reopen
    while (h != 0 && (!g_stop.load() || in_flight > 0)) {
        if (gone && in_flight == 0) {
            h = reopen(c, h);
            gone = false;
            continue;
        }
        while (!gone && !g_stop.load() && in_flight < kDepth && !pending[serial % 256].busy) {
            auto b = q.client().acquire();
            if (!b)
                break;
            uint32_t slot = static_cast<uint32_t>(rng.below(kSlots));
            while (slot_busy[slot])
                slot = (slot + 1) % kSlots;
            const bool write = rng.below(2) == 0;
            const uint64_t s = write ? (arg << 40) + ++seed : 0;
            auto bytes = q.client().bytes(*b);
            for (uint64_t i = 0; i < kSlot; ++i)
                bytes[i] = static_cast<std::byte>(write ? pattern(arg, s, i) : 0);
            if (!q.submit(write ? Op::kWrite : Op::kRead, h, offset_of(client, slot), serial,
                          std::move(*b), kSlot)) {
                print("blkcrash: queue submit refused\n");
                ++c.other;
                break;
            }
            pending[serial % 256] = {true, write, slot, s};
            slot_busy[slot] = true;
            ++serial;
            ++c.issued;
            ++in_flight;
        }
        if (q.wait(1, kHangNs) < 0 && in_flight > 0) {
            print("blkcrash: queue client: no completion in %lu s, %lu in flight\n",
                  kHangNs / 1'000'000'000, in_flight);
            c.hung = true;
            break;
        }
        while (auto r = q.reap()) {
            Pending& p = pending[r->user_data % 256];
            if (r->user_data >= serial || !p.busy) {
                ++c.twice;
                r->buffer.reset();
                continue;
            }
            p.busy = false;
            slot_busy[p.slot] = false;
            --in_flight;
            if (r->status == 0 && r->value == kSlot) {
                ++c.ok;
                if (p.write) {
                    c.expected[p.slot] = p.seed;
                } else {
                    check_slot(
                        c, client, p.slot,
                        reinterpret_cast<const uint8_t*>(q.client().bytes(r->buffer).data()));
                }
            } else if (r->status == abi::queue_error_status(abi::Error::kPeerGone)) {
                ++c.gone;
                gone = true;
                if (p.write)
                    c.expected[p.slot] = kUncertain;
            } else {
                if (c.other == 0)
                    print("blkcrash: queue op at slot %u: status 0x%x value %lu\n", p.slot,
                          r->status, r->value);
                ++c.other;
            }
            r->buffer.reset();
            c.progress.store(sys::clock_ns());
        }
    }
    c.buffers_back = q.client().pooled_buffers();
    read_back(c, &h, client);
    if (h != 0)
        (void)testlib::close(h);
    sys::thread_exit(0);
}

// The runtime's Reopening with retried reads: its region written once (each write again until
// acknowledged: here the program decides a write that ended PeerGone is simply repeated), then
// only reads at explicit offsets, which Reopening sends again across crashes: the program
// never sees PeerGone, and every read returns what was written.
void reader(uint64_t arg) {
    const int client = static_cast<int>(arg);
    Client& c = g_clients[client];
    testlib::Random rng(3000 + arg);
    Reopening disk;
    const uint64_t until = sys::clock_ns() + kHangNs;
    while (disk.open(root(), "ns/srv/blk0", 11, Reopening::Retry::kReads) < 0 &&
           sys::clock_ns() < until)
        (void)sys::sleep_ns(2'000'000);
    for (uint32_t slot = 0; slot < kSlots && disk.handle() != 0 && !c.hung; ++slot) {
        for (uint64_t i = 0; i < kSlot; ++i)
            c.buf[i] = pattern(arg, slot + 1, i);
        int64_t r = kPeerGone;
        const uint64_t give_up = sys::clock_ns() + kHangNs;
        while (r == kPeerGone && sys::clock_ns() < give_up) {
            ++c.issued;
            r = disk.io(Op::kWrite, c.buf, kSlot, offset_of(client, slot));
            if (r == kPeerGone)
                ++c.gone;
        }
        if (r == static_cast<int64_t>(kSlot)) {
            ++c.ok;
            c.expected[slot] = slot + 1;
        } else {
            print("blkcrash: reader: write at slot %u: %s\n", slot, error_text(r));
            c.other += r == kPeerGone ? 0 : 1;
            c.hung = r == kPeerGone;
        }
        c.progress.store(sys::clock_ns());
    }
    const uint64_t writes_gone = c.gone;
    while (!g_stop.load() && disk.handle() != 0 && !c.hung) {
        const auto slot = static_cast<uint32_t>(rng.below(kSlots));
        ++c.issued;
        const int64_t r = disk.io(Op::kRead, c.buf, kSlot, offset_of(client, slot));
        if (r == static_cast<int64_t>(kSlot)) {
            ++c.ok;
            ++c.checked;
            check_slot(c, client, slot, c.buf);
        } else if (r == kPeerGone) {
            ++c.gone;  // a retried read ends so only when the driver stayed away 10 s
            c.hung = true;
        } else {
            if (c.other == 0)
                print("blkcrash: reader: read at slot %u: %s\n", slot, error_text(r));
            ++c.other;
        }
        c.progress.store(sys::clock_ns());
    }
    c.retried = disk.retries();
    c.reopens = disk.reopens();
    print(
        "blkcrash: reader: %lu reads sent again after a crash; PeerGone seen by the program: "
        "%lu (writes), %lu (reads)\n",
        c.retried, writes_gone, c.gone - writes_gone);
    sys::thread_exit(0);
}

// Counts crashes (the first PeerGone after a success) and times each until a GetMeta succeeds
// again; the crash is seen at most 2 ms (a poll) after it happened.
void monitor(uint64_t) {
    Client scratch;
    Handle h = reopen(scratch, 0);
    while (!g_stop.load()) {
        uint64_t size = 0;
        const int64_t r =
            h == 0 ? kPeerGone
                   : sys::do_io(h, Op::kGetMeta, &size, 8, static_cast<uint64_t>(abi::Meta::kSize));
        g_log.observe(r == 8);
        if (r != 8) {
            if (h != 0)
                (void)testlib::close(h);
            const int64_t n = open_path(root(), "ns/srv/blk0", 11);
            h = n > 0 ? static_cast<Handle>(n) : 0;
        }
        (void)sys::sleep_ns(2'000'000);
    }
    if (h != 0)
        (void)testlib::close(h);
    sys::thread_exit(0);
}

uint64_t g_want = 20;
uint64_t g_seconds = 25;

TEST(clients_survive_crashes) {
    print("blkcrash: until %lu crashes, at most %lu s\n", g_want, g_seconds);
    int64_t threads[kClients + 1];
    const uint64_t start = sys::clock_ns();
    for (int i = 0; i < kClients; ++i) {
        g_clients[i].progress.store(start);
        threads[i] = spawn_thread(i < kDoIoClients    ? do_io_client
                                  : i == kQueueClient ? queue_client
                                                      : reader,
                                  static_cast<uint64_t>(i));
        CHECK(threads[i] > 0);
    }
    threads[kClients] = spawn_thread(monitor, 0);
    CHECK(threads[kClients] > 0);
    // Until enough crashes, the time is up, or a client stops making progress.
    uint64_t ran_ms = 0;
    const bool hang = !g_log.wait(
        "blkcrash", g_want, g_seconds, kClients, [](int i) { return g_clients[i].progress.load(); },
        kHangNs, &ran_ms);
    g_stop.store(true);
    CHECK(!hang);
    if (hang)
        return;  // a thread stuck in the kernel would never join; the process ends with it
    for (int i = 0; i <= kClients; ++i) {
        if (threads[i] > 0)
            CHECK_EQ(join(static_cast<Handle>(threads[i])), 0);
    }
    const int crashes = g_log.crashes();
    print("blkcrash: %d crashes in %lu ms\n", crashes, ran_ms);
    CHECK(static_cast<uint64_t>(crashes) >= g_want);
    Client total;
    for (int i = 0; i < kClients; ++i) {
        const Client& c = g_clients[i];
        print(
            "blkcrash: client %d (%s): %lu issued, %lu ok, %lu PeerGone, %lu other, %lu "
            "reopens, %lu slots read back\n",
            i,
            i < kDoIoClients    ? "do_io"
            : i == kQueueClient ? "queue"
                                : "reopening reader",
            c.issued, c.ok, c.gone, c.other, c.reopens, c.checked);
        CHECK(!c.hung);
        CHECK_EQ(c.issued, c.ok + c.gone + c.other);  // each completed exactly once
        CHECK_EQ(c.other, 0u);
        CHECK_EQ(c.twice, 0u);
        CHECK_EQ(c.bad_bytes, 0u);
        CHECK(c.ok > 0);
        total.issued += c.issued;
        total.ok += c.ok;
        total.gone += c.gone;
        total.other += c.other;
        total.bad_bytes += c.bad_bytes;
        total.checked += c.checked;
    }
    const Client& q = g_clients[kQueueClient];
    CHECK_EQ(q.buffers_back, uint64_t{kDepth});
    // The reader's reads: sent again across the crashes (never PeerGone to it: checked above
    // through `hung`).
    CHECK(g_clients[kReader].retried > 0);
    print(
        "blkcrash: operations: %lu issued, %lu ok, %lu PeerGone, %lu other; queue buffers "
        "back: %lu of %u\n",
        total.issued, total.ok, total.gone, total.other, q.buffers_back, kDepth);
    CHECK(total.gone > 0);  // the crashes reached operations in flight
    print("blkcrash: acknowledged data: %lu slots read back, %lu bytes differ\n", total.checked,
          total.bad_bytes);
    CHECK(g_log.report("blkcrash") > 0);  // crash to service restored: median, worst
}

}  // namespace

}  // namespace keel::blkcrash

int keel_main(const keel::user::StartInfo& start) {
    char word[1];
    if (!keel::testlib::crash_args(start, &keel::blkcrash::g_want, &keel::blkcrash::g_seconds, word,
                                   sizeof word)) {
        keel::user::print("blkcrash: usage: blkcrash [CRASHES [SECONDS]]\n");
        return 2;
    }
    return keel::testlib::run(start, "blkcrash");
}
