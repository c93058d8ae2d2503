// levelbench's hostile client of the shared ring (the test qemu_levels): requests the driver
// must refuse, each with its error; garbage written over the ring by a second thread while
// the first publishes and rings; an impossible index. Afterwards the driver must still serve
// the disk (the host checks the image is unchanged: nothing here may write to it).
#include <keel/blkring/blkring.hpp>

#include "disk.hpp"
#include "runtime.hpp"

using namespace keel;
using namespace keel::user;
namespace br = keel::blkring;

namespace {

br::Header* g_ring = nullptr;
uint64_t g_size = 0;
volatile bool g_storm = false;

struct Session {
    Handle disk = 0, session = 0;
    uint8_t* region = nullptr;
};

const char* open_session(Session* s) {
    s->disk = blktest::wait_for_disk();
    // One session at a time: the last one ends when the kernel's close notice reaches the
    // driver, which may come after this open (Exists meanwhile).
    int64_t h = -1;
    for (int tries = 0; s->disk != 0 && tries < 200; ++tries) {
        h = sys::do_io(s->disk, Op::kOpen, "shm", 3);
        if (h != -static_cast<int64_t>(abi::Error::kExists))
            break;
        (void)sys::sleep_ns(10'000'000);
    }
    if (h < 0)
        return "open shm refused";
    s->session = static_cast<Handle>(h);
    const int64_t m = open_path(root(), "ns/srv/blk0.shm", 15);
    const int64_t at = m < 0 ? m : sys::do_io(static_cast<uint64_t>(m), Op::kMap, nullptr, 0, 1);
    if (m >= 0)
        (void)sys::do_io(static_cast<uint64_t>(m), Op::kClose);
    if (at <= 0)
        return "cannot map srv/blk0.shm";
    s->region = reinterpret_cast<uint8_t*>(at);
    if (sys::do_io(s->session, Op::kSync) != 0)
        return "doorbell refused";
    // The first doorbell unbound the name: nobody else can map this session's memory now.
    if (open_path(root(), "ns/srv/blk0.shm", 15) != -static_cast<int64_t>(abi::Error::kNotFound))
        return "srv/blk0.shm still bound after the doorbell";
    return nullptr;
}

void close_session(Session& s) {
    (void)sys::unmap(reinterpret_cast<uint64_t>(s.region));
    (void)sys::do_io(s.session, Op::kClose);
}

// Garbage over the request entries until told to stop; never an in-range write (the host
// checks the image afterwards).
void storm(uint64_t seed) {
    uint64_t x = seed | 1;
    while (g_storm) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        br::Request& r = g_ring->sq[x % br::kEntries];
        r.offset = x % 3 == 0 ? x : (x >> 8) % (g_size / 4096) * 4096;
        r.length = x % 5 == 0 ? static_cast<uint32_t>(x >> 20) : 4096u << (x >> 40) % 5;
        r.buffer = static_cast<uint32_t>(x >> 33) % (br::kBuffers + 4);
        r.op = x % 7 == 0 ? static_cast<uint32_t>(x >> 11) : br::kRead;
        if (r.op == br::kWrite)
            r.op = br::kRead;
        r.reserved = x % 11 == 0 ? 1 : 0;
        r.tag = x;
    }
}

// The dying client's waiter: parks a wait for a completion after index 0 (none yet).
void park_wait(uint64_t session) {
    (void)sys::do_io(session, Op::kSync, nullptr, 0, 1);
}

// Runs this program again as "levelbench die SIZE" (its image is "self" in the root the shell
// gave it); the child's exit status, or -1.
int64_t run_dying_child(uint64_t size) {
    const int64_t image = open(root(), "self");
    if (image < 0)
        return -1;
    char args[40] = "die ";
    uint64_t n = 4;
    char digits[20];
    uint32_t d = 0;
    for (uint64_t v = size; v != 0 || d == 0; v /= 10)
        digits[d++] = static_cast<char>('0' + v % 10);
    while (d > 0)
        args[n++] = digits[--d];
    const Handle handles[1] = {root()};
    const abi::SpawnArgs sa{reinterpret_cast<uint64_t>(handles),
                            1,
                            reinterpret_cast<uint64_t>(args),
                            n,
                            reinterpret_cast<uint64_t>("levelbench-die"),
                            14,
                            0};
    const int64_t child = sys::spawn(static_cast<Handle>(image), &sa);
    (void)sys::do_io(static_cast<uint64_t>(image), Op::kClose);
    if (child < 0)
        return -1;
    abi::ExitInfo info{};
    const int64_t r = sys::do_io(static_cast<uint64_t>(child), Op::kRead, &info, sizeof info);
    (void)sys::do_io(static_cast<uint64_t>(child), Op::kClose);
    return r == sizeof info ? info.status : -1;
}

// The kernel's frames in use outside its heap and its live objects (get_meta kMemoryInfo on
// the shell's process table, ns/processes), once two readings 2 ms apart agree (a session's
// end may still be on its way through the kernel); {0, 0} without the table.
struct Held {
    uint64_t frames, objects;
    bool operator==(const Held&) const = default;
};
Held kernel_held() {
    const int64_t table = open_path(root(), "ns/processes", 12);
    const auto read = [table] {
        abi::MemoryInfo m{};
        if (table >= 0)
            (void)sys::do_io(static_cast<uint64_t>(table), Op::kGetMeta, &m, sizeof m,
                             static_cast<uint64_t>(abi::Meta::kMemoryInfo));
        return Held{m.total_frames - m.free_frames - m.heap_frames, m.objects};
    };
    Held h = read();
    for (int i = 0; i < 100; ++i) {
        (void)sys::sleep_ns(2'000'000);
        const Held next = read();
        if (next == h)
            break;
        h = next;
    }
    if (table >= 0)
        (void)sys::do_io(static_cast<uint64_t>(table), Op::kClose);
    return h;
}

// Sessions opened and ended one after another keep the kernel's memory where it was: the
// driver reuses one region (DMA memory it let go would stay in quarantine, 2 MiB a session).
// The reading before is taken with no session open, as is the one after.
bool sessions_hold_no_memory(uint32_t count, Held* before, Held* after) {
    *before = kernel_held();
    for (uint32_t i = 0; i < count; ++i) {
        Session s;
        if (open_session(&s) != nullptr)
            return false;
        close_session(s);
    }
    // The last one ends when the kernel's close notice reaches the driver: wait until a
    // session can open again, then end that one too without mapping anything.
    Session probe;
    probe.disk = blktest::wait_for_disk();
    int64_t h = -static_cast<int64_t>(abi::Error::kExists);
    for (int tries = 0; tries < 200 && h == -static_cast<int64_t>(abi::Error::kExists); ++tries) {
        h = sys::do_io(probe.disk, Op::kOpen, "shm", 3);
        if (h == -static_cast<int64_t>(abi::Error::kExists))
            (void)sys::sleep_ns(10'000'000);
    }
    if (h < 0)
        return false;
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    (void)sys::sleep_ns(20'000'000);  // its close notice reaches the driver
    *after = kernel_held();
    return *after == *before;
}

}  // namespace

// levelbench die SIZE: a client that ends abruptly with a wait parked in the driver and a full
// ring of reads in flight (the driver must finish them, answer or drop the wait, and end the
// session: the parent then opens a new one).
int hostile_die(uint64_t size) {
    g_size = size;
    Session s;
    if (const char* why = open_session(&s)) {
        print("levelbench: die: %s\n", why);
        return 1;
    }
    br::Header& h = *reinterpret_cast<br::Header*>(s.region);
    if (spawn_thread(park_wait, s.session) < 0)
        return 1;
    (void)sys::sleep_ns(20'000'000);  // the wait is parked by now (no completion can come)
    uint32_t tail = br::load(&h.sq_tail);
    for (uint32_t i = 0; i < br::kEntries; ++i)
        h.sq[tail++ % br::kEntries] = {uint64_t{i} * 65536 % size, 65536, i, br::kRead, 0, i};
    br::store(&h.sq_tail, tail);
    br::fence();
    (void)sys::do_io(s.session, Op::kSync);
    sys::process_exit(7);  // everything in flight, nothing read back
}

int hostile_ring(uint64_t size) {
    g_size = size;
    Session s;
    if (const char* why = open_session(&s)) {
        print("levelbench: hostile: %s\n", why);
        return 1;
    }
    g_ring = reinterpret_cast<br::Header*>(s.region);
    br::Header& h = *g_ring;
    // Requests the driver must refuse, each completed with its error.
    struct Bad {
        br::Request r;
        abi::Error want;
    };
    const uint64_t end = size;
    const Bad bad[] = {
        {{0, 4096, br::kBuffers, br::kRead, 0, 0}, abi::Error::kInvalidArgument},
        {{0, 4096, 0xffffffffu, br::kRead, 0, 1}, abi::Error::kInvalidArgument},
        {{0, 0, 0, br::kRead, 0, 2}, abi::Error::kInvalidArgument},
        {{0, 100, 0, br::kRead, 0, 3}, abi::Error::kInvalidArgument},
        {{0, 128 * 1024, 0, br::kRead, 0, 4}, abi::Error::kInvalidArgument},
        {{end, 4096, 0, br::kRead, 0, 5}, abi::Error::kOutOfRange},
        {{~0ull - 4095, 8192, 0, br::kRead, 0, 6}, abi::Error::kOutOfRange},
        {{0, 4096, 0, 7, 0, 7}, abi::Error::kInvalidArgument},
        {{end - 4096, 8192, 1, br::kWrite, 0, 8}, abi::Error::kOutOfRange},
        {{0, 4096, 0, br::kRead, 3, 9}, abi::Error::kInvalidArgument},
    };
    constexpr uint32_t kBad = sizeof bad / sizeof bad[0];
    uint32_t tail = br::load(&h.sq_tail), head = br::load(&h.cq_head);
    for (const Bad& b : bad)
        h.sq[tail++ % br::kEntries] = b.r;
    br::store(&h.sq_tail, tail);
    uint32_t right = 0;
    for (uint32_t got = 0; got < kBad;) {
        if (br::load(&h.cq_tail) == head &&
            sys::do_io(s.session, Op::kSync, nullptr, 0, 1 + uint64_t{head}) < 0) {
            print("levelbench: hostile: the driver gave up on an honest ring\n");
            return 1;
        }
        while (br::load(&h.cq_tail) != head && got < kBad) {
            const br::Completion c = h.cq[head % br::kEntries];
            br::store(&h.cq_head, ++head);
            ++got;
            right += c.tag < kBad && c.result == -static_cast<int64_t>(bad[c.tag].want);
        }
    }

    // Garbage: a thread rewrites the entries while this one publishes what the ring can hold,
    // consumes completions and rings, for 300 ms.
    g_storm = true;
    const int64_t t = spawn_thread(storm, sys::clock_ns());
    uint64_t answered = 0;
    const uint64_t until = sys::clock_ns() + 300'000'000;
    while (t >= 0 && sys::clock_ns() < until) {
        const uint32_t unread = br::load(&h.cq_tail) - head;
        const uint32_t pending = tail - br::load(&h.sq_head);
        if (unread + pending < br::kEntries)
            br::store(&h.sq_tail, ++tail);
        while (br::load(&h.cq_tail) != head) {
            br::store(&h.cq_head, ++head);
            ++answered;
        }
        (void)sys::do_io(s.session, Op::kSync);
    }
    g_storm = false;
    if (t >= 0)
        (void)join(static_cast<Handle>(t));
    // An impossible index: the driver gives up on this ring, and says so (a wait it can answer
    // with a completion still in flight from the storm comes back first: read them, ask again).
    br::store(&h.sq_tail, br::load(&h.sq_head) + 1000);
    int64_t lie = 0;
    for (int tries = 0; tries < 100; ++tries) {
        lie = sys::do_io(s.session, Op::kSync, nullptr, 0, 1 + uint64_t{head});
        if (lie < 0)
            break;
        head = br::load(&h.cq_tail);
        br::store(&h.cq_head, head);
    }
    const uint32_t fault = br::load(&h.fault);
    close_session(s);

    // The driver still serves: a read through srv/blk0 with the host's pattern, and a new
    // session opens.
    uint64_t word = 0;
    static uint8_t block[4096];
    const bool serves = sys::do_io(s.disk, Op::kRead, block, 4096, 8192) == 4096;
    for (uint32_t i = 0; i < 8; ++i)
        word |= uint64_t{block[i]} << (8 * i);
    // A client that dies with a parked wait and a full ring in flight: afterwards a new session
    // opens (open_session waits out the driver's Exists until the old one ended).
    const int64_t died = run_dying_child(size);
    Session again;
    const char* why = open_session(&again);
    const bool ok = right == kBad && answered > 0 &&
                    lie == -static_cast<int64_t>(abi::Error::kProtocol) && fault != 0 && serves &&
                    word == 8192 * 0x9e3779b97f4a7c15ull && why == nullptr && died == 7;
    print(
        "levelbench: hostile ring: %u of %u bad requests refused with their errors, %lu garbage "
        "requests answered, an impossible index %s, a client dead mid-ring %s, the driver %s\n",
        right, kBad, answered,
        lie == -static_cast<int64_t>(abi::Error::kProtocol) ? "refused (Protocol)" : "NOT refused",
        died == 7 ? "cleaned up" : "NOT RUN", serves && why == nullptr ? "still serves" : "BROKEN");
    if (why == nullptr)
        close_session(again);
    Held before{}, after{};
    const bool kept = why == nullptr && sessions_hold_no_memory(16, &before, &after);
    print(
        "levelbench: 16 sessions opened and ended: kernel frames in use %lu -> %lu, objects "
        "%lu -> %lu%s\n",
        before.frames, after.frames, before.objects, after.objects, kept ? "" : " (LEAK)");
    return ok && kept ? 0 : 1;
}
