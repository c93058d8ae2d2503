// netcrash: TCP clients of srv/net while the network server is crashed again and again (issue
// 21; run from the shell of the net-crash test image, etc/test/net-crash.conf: init starts
// servers/net with --crash-after-ms, so it faults at a random point 300-500 ms after each start,
// and restarts it; the virtio-net driver under it stays up). Arguments: CRASHES SECONDS
// [HOSTPORT]: run until the server crashed CRASHES times (as the monitor below sees it), failing
// when that takes more than SECONDS; HOSTPORT: an echo server on the host's loopback, reached
// through QEMU's user network as 10.0.2.2 (kernel/tests/qemu-net-crash.sh starts it).
//
// The threads:
//   - kEchoes echo servers in the guest, each with a listener of its own (port kBasePort + e):
//     accept, echo everything back until the end of the stream; after a PeerGone (the server
//     died) the listener is opened again (NotFound or PeerGone while the server is down);
//   - kLoopClients do_io clients, each to its echo over 127.0.0.1, and kHostClients to the
//     host's echo (when HOSTPORT is given): connection after connection, each a random number
//     of rounds of a write of 1..kMaxChunk bytes and reads until all of it came back;
//   - one queue client to the last echo over 127.0.0.1: up to kDepth - 1 writes and one read
//     in flight at once in owned buffers (a queue's operations on one connection are performed
//     in the order submitted, so the one read's place in the stream is known);
//   - the monitor: every 2 ms opens srv/net/info and reads it; the service is *up* when that
//     works and says `configured yes` (the restarted server has its address again by DHCP). It
//     counts crashes (the first failure after an up) and the time until up again.
// Outcomes, exactly one per operation (every connect, read, write and accept counts as one):
//   ok; PeerGone (the server died with the operation in flight or the handle was of the dead
//   server: the connection is dropped and a new one made); *down*, for a connect or a listen
//   only: NotFound (init removed srv/net, the server is not back yet) or Refused (loopback:
//   the echo's listener is not open again yet); anything else is `other` and fails the test.
// Byte i of connection n of client c is pattern(c, n, i): every byte read back is compared.
// Fails on: an operation not completed exactly once (counts that do not add up, a queue
// completion for nothing pending), an `other` outcome, a byte that differs, a queue buffer not
// back in its pool, a client without progress for 10 s (a hang), fewer crashes than asked for,
// and a client whose last connection (made after the last crash it saw) did not complete
// cleanly: new connections succeed after every restart.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include <atomic>
#include <utility>

#include "crash.hpp"
#include "queue.hpp"
#include "testlib.hpp"

namespace keel::netcrash {

namespace {

using namespace keel::user;

constexpr int kLoopClients = 2;
constexpr int kHostClients = 2;
constexpr int kQueueClient = kLoopClients + kHostClients;
constexpr int kClients = kQueueClient + 1;
constexpr int kEchoes = kLoopClients + 1;  // one per loopback client and the queue client
constexpr uint32_t kBasePort = 7000;
constexpr uint64_t kMaxChunk = 4096;
constexpr uint32_t kDepth = 8;
constexpr uint64_t kHangNs = 10'000'000'000;
constexpr uint64_t kPauseNs = 2'000'000;
const int64_t kPeerGone = -static_cast<int64_t>(abi::Error::kPeerGone);
const int64_t kNotFound = -static_cast<int64_t>(abi::Error::kNotFound);
const int64_t kRefused = -static_cast<int64_t>(abi::Error::kRefused);
const int64_t kShort = -static_cast<int64_t>(abi::Error::kIo);  // a short write, an early end

uint8_t pattern(uint64_t client, uint64_t connection, uint64_t i) {
    return static_cast<uint8_t>((i * 7 + client * 31 + connection * 13 + (i >> 8) * 3) % 251);
}

struct Counts {
    uint64_t issued = 0, ok = 0, gone = 0, down = 0, other = 0;
};

struct Client {
    Counts n;
    uint64_t connections = 0, clean = 0;  // made; completed without PeerGone
    uint64_t compared = 0, bad_bytes = 0;
    uint64_t twice = 0, buffers_back = 0;  // queue client
    bool last_clean = false, hung = false;
    std::atomic<uint64_t> progress{0};  // clock of the last successful operation
    uint8_t out[kMaxChunk], in[kMaxChunk];
};
struct Echo {
    Counts n;
    uint64_t listens = 0, accepted = 0;
    std::atomic<bool> done{false};
    uint8_t buf[kMaxChunk];
};
Client g_clients[kClients];
Echo g_echoes[kEchoes];
std::atomic<bool> g_stop{false}, g_stop_monitor{false}, g_stop_echoes{false};
testlib::CrashLog g_log;
uint32_t g_host_port = 0;

const char* kind_of(int client) {
    return client < kLoopClients ? "loopback" : client < kQueueClient ? "host" : "queue";
}

// Counts a do_io's or open's outcome; `may_be_down`: NotFound and Refused mean the service or
// the echo's listener is not back yet. Whether it was ok.
bool count(Counts& n, int64_t r, bool may_be_down, const char* who, int index, const char* what) {
    ++n.issued;
    if (r >= 0) {
        ++n.ok;
        return true;
    }
    if (r == kPeerGone) {
        ++n.gone;
    } else if (may_be_down && (r == kNotFound || r == kRefused)) {
        ++n.down;
    } else {
        if (n.other == 0)
            print("netcrash: %s %d: %s: %s\n", who, index, what, error_text(r));
        ++n.other;
    }
    return false;
}

int path_of(char (&path)[64], int client) {
    if (client >= kLoopClients && client < kQueueClient)
        return snformat(path, sizeof path, "ns/srv/net/tcp/connect/10.0.2.2/%u", g_host_port);
    const uint32_t port = kBasePort + (client < kLoopClients ? client : kLoopClients);
    return snformat(path, sizeof path, "ns/srv/net/tcp/connect/127.0.0.1/%u", port);
}

// A new connection for the client, waiting while the service is down; 0 when none came within
// kHangNs (the client hangs).
Handle connect(Client& c, int client) {
    char path[64];
    const int length = path_of(path, client);
    const uint64_t until = sys::clock_ns() + kHangNs;
    for (;;) {
        const int64_t h = open_path(root(), path, static_cast<uint64_t>(length));
        if (count(c.n, h, true, kind_of(client), client, "connect")) {
            ++c.connections;
            c.progress.store(sys::clock_ns());
            return static_cast<Handle>(h);
        }
        if (sys::clock_ns() > until) {
            print("netcrash: %s %d: no connection for %lu s\n", kind_of(client), client,
                  kHangNs / 1'000'000'000);
            c.hung = true;
            return 0;
        }
        (void)sys::sleep_ns(kPauseNs);
    }
}

void compare(Client& c, int client, uint64_t connection, uint64_t at, const uint8_t* bytes,
             uint64_t length) {
    uint64_t bad = 0;
    for (uint64_t i = 0; i < length; ++i)
        bad += bytes[i] == pattern(static_cast<uint64_t>(client), connection, at + i) ? 0 : 1;
    if (bad != 0 && c.bad_bytes == 0)
        print("netcrash: %s %d: connection %lu: %lu of %lu bytes at %lu differ\n", kind_of(client),
              client, connection, bad, length, at);
    c.bad_bytes += bad;
    c.compared += length;
}

// One connection of a do_io client: rounds of a write and the reads that bring it back. Whether
// it completed without PeerGone (any other failure counts as `other`).
bool stream_once(Client& c, int client, Handle h, testlib::Random& rng) {
    const uint64_t connection = c.connections;
    const uint64_t rounds = 1 + rng.below(16);
    uint64_t sent = 0, got = 0;
    for (uint64_t round = 0; round < rounds; ++round) {
        const uint64_t k = 1 + rng.below(kMaxChunk);
        for (uint64_t i = 0; i < k; ++i)
            c.out[i] = pattern(static_cast<uint64_t>(client), connection, sent + i);
        const int64_t w = sys::do_io(h, Op::kWrite, c.out, k);
        if (!count(c.n, w == static_cast<int64_t>(k) || w < 0 ? w : kShort, false, kind_of(client),
                   client, "write"))
            return false;
        c.progress.store(sys::clock_ns());
        sent += k;
        while (got < sent) {
            const int64_t r = sys::do_io(h, Op::kRead, c.in, sent - got);
            // 0 (the end of the stream) before everything came back: `other`.
            if (!count(c.n, r == 0 ? kShort : r, false, kind_of(client), client, "read"))
                return false;
            compare(c, client, connection, got, c.in, static_cast<uint64_t>(r));
            got += static_cast<uint64_t>(r);
            c.progress.store(sys::clock_ns());
        }
    }
    return true;
}

void stream_client(uint64_t arg) {
    const int client = static_cast<int>(arg);
    Client& c = g_clients[client];
    testlib::Random rng(700 + arg);
    // Until told to stop and the last connection (made after every crash this client saw)
    // completed cleanly.
    while (!(g_stop.load() && c.last_clean)) {
        const Handle h = connect(c, client);
        if (h == 0)
            break;
        c.last_clean = stream_once(c, client, h, rng);
        c.clean += c.last_clean ? 1 : 0;
        (void)testlib::close(h);
    }
    sys::thread_exit(0);
}

// The queue client's connection: writes (at most kDepth - 1) and one read in flight. Whether it
// completed without PeerGone.
bool queue_once(Client& c, int client, Queue& q, Handle h, testlib::Random& rng) {
    struct Pending {
        bool busy;
        bool write;
        uint64_t length;
    };
    static Pending pending[256];  // by serial % 256: at most kDepth busy
    static uint64_t serial = 0;
    const uint64_t connection = c.connections;
    const uint64_t total = 1 + rng.below(64 * 1024);
    uint64_t submitted = 0, got = 0, in_flight = 0;
    bool read_busy = false, alive = true;
    while (in_flight > 0 || (alive && got < total)) {
        while (alive && submitted < total && in_flight < kDepth - 1 &&
               !pending[serial % 256].busy) {
            auto b = q.client().acquire();
            if (!b)
                break;
            const uint64_t left = total - submitted;
            const uint64_t k = 1 + rng.below(left < kMaxChunk ? left : kMaxChunk);
            auto bytes = q.client().bytes(*b);
            for (uint64_t i = 0; i < k; ++i)
                bytes[i] = static_cast<std::byte>(
                    pattern(static_cast<uint64_t>(client), connection, submitted + i));
            if (!q.submit(Op::kWrite, h, 0, serial, std::move(*b), static_cast<uint32_t>(k))) {
                print("netcrash: queue submit refused\n");
                ++c.n.other;
                alive = false;
                break;
            }
            pending[serial % 256] = {true, true, k};
            ++serial;
            ++c.n.issued;
            ++in_flight;
            submitted += k;
        }
        // The read asks for what was submitted and not yet back: the writes ahead of it in
        // the queue are performed first, so it never waits for bytes nobody sends.
        if (alive && !read_busy && got < submitted && !pending[serial % 256].busy) {
            if (auto b = q.client().acquire()) {
                const uint64_t want = submitted - got < kMaxChunk ? submitted - got : kMaxChunk;
                if (q.submit(Op::kRead, h, 0, serial, std::move(*b), static_cast<uint32_t>(want))) {
                    pending[serial % 256] = {true, false, want};
                    ++serial;
                    ++c.n.issued;
                    ++in_flight;
                    read_busy = true;
                } else {
                    print("netcrash: queue submit refused\n");
                    ++c.n.other;
                    alive = false;
                }
            }
        }
        if (in_flight == 0)
            break;
        if (q.wait(1, kHangNs) < 0) {
            print("netcrash: queue client: no completion in %lu s, %lu in flight\n",
                  kHangNs / 1'000'000'000, in_flight);
            c.hung = true;
            return false;
        }
        while (auto r = q.reap()) {
            if (r->is_cancel)
                continue;
            Pending& p = pending[r->user_data % 256];
            if (r->user_data >= serial || !p.busy) {
                ++c.twice;
                r->buffer.reset();
                continue;
            }
            p.busy = false;
            --in_flight;
            read_busy = read_busy && p.write;
            if (r->status == 0 && (p.write ? r->value == p.length : r->value > 0)) {
                ++c.n.ok;
                if (!p.write) {
                    compare(c, client, connection, got,
                            reinterpret_cast<const uint8_t*>(q.client().bytes(r->buffer).data()),
                            r->value);
                    got += r->value;
                }
                c.progress.store(sys::clock_ns());
            } else if (r->status == abi::queue_error_status(abi::Error::kPeerGone)) {
                ++c.n.gone;
                alive = false;
            } else {
                if (c.n.other == 0)
                    print("netcrash: queue client: %s of %lu: status 0x%x value %lu\n",
                          p.write ? "write" : "read", p.length, r->status, r->value);
                ++c.n.other;
                alive = false;
            }
            r->buffer.reset();
        }
    }
    return alive;
}

void queue_client(uint64_t arg) {
    const int client = static_cast<int>(arg);
    Client& c = g_clients[client];
    testlib::Random rng(900 + arg);
    Queue q;
    if (q.create(64, kDepth, kMaxChunk) != 0) {
        print("netcrash: no queue\n");
        c.hung = true;
        sys::thread_exit(0);
    }
    while (!(g_stop.load() && c.last_clean) && !c.hung) {
        const Handle h = connect(c, client);
        if (h == 0)
            break;
        c.last_clean = queue_once(c, client, q, h, rng);
        c.clean += c.last_clean ? 1 : 0;
        (void)testlib::close(h);
    }
    c.buffers_back = q.client().pooled_buffers();
    sys::thread_exit(0);
}

// An echo server: its listener (opened again after the server's restart), one connection at a
// time echoed until its end.
void echo(uint64_t arg) {
    const int e = static_cast<int>(arg);
    Echo& s = g_echoes[e];
    char path[64];
    const int length = snformat(path, sizeof path, "ns/srv/net/tcp/listen/%u",
                                kBasePort + static_cast<uint32_t>(e));
    Handle listener = 0;
    while (!g_stop_echoes.load()) {
        if (listener == 0) {
            const int64_t h = open_path(root(), path, static_cast<uint64_t>(length));
            if (!count(s.n, h, true, "echo", e, "listen")) {
                (void)sys::sleep_ns(kPauseNs);
                continue;
            }
            listener = static_cast<Handle>(h);
            ++s.listens;
        }
        const int64_t a = sys::do_io(listener, Op::kOpen, "accept", 6, 0);
        if (!count(s.n, a, false, "echo", e, "accept")) {
            (void)testlib::close(listener);
            listener = 0;
            continue;
        }
        ++s.accepted;
        const auto connection = static_cast<Handle>(a);
        for (;;) {
            const int64_t r = sys::do_io(connection, Op::kRead, s.buf, kMaxChunk);
            if (!count(s.n, r, false, "echo", e, "read") || r == 0)
                break;
            const int64_t w = sys::do_io(connection, Op::kWrite, s.buf, static_cast<uint64_t>(r));
            if (!count(s.n, w == r || w < 0 ? w : kShort, false, "echo", e, "write"))
                break;
        }
        (void)testlib::close(connection);
    }
    if (listener != 0)
        (void)testlib::close(listener);
    s.done.store(true);
    sys::thread_exit(0);
}

bool contains(const char* text, uint64_t length, const char* word) {
    const uint64_t n = c::length(word);
    for (uint64_t i = 0; i + n <= length; ++i) {
        if (c::compare(text + i, word, n) == 0)
            return true;
    }
    return false;
}

// Up: srv/net/info opens, reads, and says the server has its address.
bool probe() {
    static char text[1024];
    const int64_t h = open_path(root(), "ns/srv/net/info", 15);
    if (h < 0)
        return false;
    const int64_t r = sys::do_io(static_cast<uint64_t>(h), Op::kRead, text, sizeof text, 0);
    (void)testlib::close(static_cast<uint64_t>(h));
    return r > 0 && contains(text, static_cast<uint64_t>(r), "configured yes");
}

void monitor(uint64_t) {
    // The first up before counting anything: the server may still be taking its address.
    const uint64_t until = sys::clock_ns() + kHangNs;
    while (!probe() && sys::clock_ns() < until)
        (void)sys::sleep_ns(kPauseNs);
    while (!g_stop_monitor.load()) {
        g_log.observe(probe());
        (void)sys::sleep_ns(kPauseNs);
    }
    sys::thread_exit(0);
}

void add(Counts& total, const Counts& n) {
    total.issued += n.issued;
    total.ok += n.ok;
    total.gone += n.gone;
    total.down += n.down;
    total.other += n.other;
}

uint64_t g_want = 20;
uint64_t g_seconds = 25;

bool active(int client) {
    return g_host_port != 0 || client < kLoopClients || client >= kQueueClient;
}

TEST(connections_survive_crashes) {
    print("netcrash: until %lu crashes, at most %lu s; %s\n", g_want, g_seconds,
          g_host_port != 0 ? "with the host's echo" : "loopback only");
    const uint64_t start = sys::clock_ns();
    int64_t echoes[kEchoes];
    for (int e = 0; e < kEchoes; ++e) {
        echoes[e] = spawn_thread(echo, static_cast<uint64_t>(e));
        CHECK(echoes[e] > 0);
    }
    int64_t threads[kClients] = {};
    for (int i = 0; i < kClients; ++i) {
        g_clients[i].progress.store(start);
        if (!active(i))
            continue;
        threads[i] = spawn_thread(i == kQueueClient ? queue_client : stream_client,
                                  static_cast<uint64_t>(i));
        CHECK(threads[i] > 0);
    }
    const int64_t watcher = spawn_thread(monitor, 0);
    CHECK(watcher > 0);
    uint64_t ran_ms = 0;
    const bool hang = !g_log.wait(
        "netcrash", g_want, g_seconds, kClients,
        [](int i) { return active(i) ? g_clients[i].progress.load() : sys::clock_ns(); }, kHangNs,
        &ran_ms);
    g_stop.store(true);
    CHECK(!hang);
    if (hang)
        return;  // a thread stuck in the kernel would never join; the process ends with it
    // Each client ends after a clean connection (new connections succeed after the crashes).
    for (int i = 0; i < kClients; ++i) {
        if (threads[i] > 0)
            CHECK_EQ(join(static_cast<Handle>(threads[i])), 0);
    }
    g_stop_monitor.store(true);
    CHECK_EQ(join(static_cast<Handle>(watcher)), 0);
    // The echoes wait in accept: a connection each (retried across a crash) wakes them.
    g_stop_echoes.store(true);
    const uint64_t until = sys::clock_ns() + kHangNs;
    for (int e = 0; e < kEchoes; ++e) {
        char path[64];
        const int length = snformat(path, sizeof path, "ns/srv/net/tcp/connect/127.0.0.1/%u",
                                    kBasePort + static_cast<uint32_t>(e));
        while (!g_echoes[e].done.load() && sys::clock_ns() < until) {
            const int64_t h = open_path(root(), path, static_cast<uint64_t>(length));
            if (h > 0)
                (void)testlib::close(static_cast<uint64_t>(h));
            (void)sys::sleep_ns(kPauseNs);
        }
        CHECK(g_echoes[e].done.load());
        if (g_echoes[e].done.load() && echoes[e] > 0)
            CHECK_EQ(join(static_cast<Handle>(echoes[e])), 0);
    }
    const int crashes = g_log.crashes();
    print("netcrash: %d crashes in %lu ms\n", crashes, ran_ms);
    CHECK(static_cast<uint64_t>(crashes) >= g_want);
    Counts total;
    uint64_t connections = 0, clean = 0, compared = 0, bad = 0;
    for (int i = 0; i < kClients; ++i) {
        const Client& c = g_clients[i];
        if (!active(i))
            continue;
        print(
            "netcrash: client %d (%s): %lu issued, %lu ok, %lu PeerGone, %lu down, %lu other; "
            "%lu connections, %lu clean; %lu bytes compared\n",
            i, kind_of(i), c.n.issued, c.n.ok, c.n.gone, c.n.down, c.n.other, c.connections,
            c.clean, c.compared);
        CHECK(!c.hung);
        CHECK_EQ(c.n.issued, c.n.ok + c.n.gone + c.n.down + c.n.other);  // each completed once
        CHECK_EQ(c.n.other, 0u);
        CHECK_EQ(c.twice, 0u);
        CHECK_EQ(c.bad_bytes, 0u);
        CHECK(c.last_clean);
        CHECK(c.clean > 0);
        add(total, c.n);
        connections += c.connections;
        clean += c.clean;
        compared += c.compared;
        bad += c.bad_bytes;
    }
    for (int e = 0; e < kEchoes; ++e) {
        const Echo& s = g_echoes[e];
        print(
            "netcrash: echo %d: %lu issued, %lu ok, %lu PeerGone, %lu down, %lu other; "
            "%lu listens, %lu accepted\n",
            e, s.n.issued, s.n.ok, s.n.gone, s.n.down, s.n.other, s.listens, s.accepted);
        CHECK_EQ(s.n.issued, s.n.ok + s.n.gone + s.n.down + s.n.other);
        CHECK_EQ(s.n.other, 0u);
        add(total, s.n);
    }
    const Client& q = g_clients[kQueueClient];
    CHECK_EQ(q.buffers_back, uint64_t{kDepth});
    print(
        "netcrash: operations: %lu issued, %lu ok, %lu PeerGone, %lu down, %lu other; queue "
        "buffers back: %lu of %u\n",
        total.issued, total.ok, total.gone, total.down, total.other, q.buffers_back, kDepth);
    print(
        "netcrash: %lu connections, %lu completed, the rest ended by PeerGone; %lu bytes "
        "echoed and compared, %lu differ\n",
        connections, clean, compared, bad);
    CHECK(total.gone > 0);                // the crashes reached operations in flight
    CHECK(g_log.report("netcrash") > 0);  // crash to service restored: median, worst
}

}  // namespace

}  // namespace keel::netcrash

int keel_main(const keel::user::StartInfo& start) {
    char word[8];
    if (!keel::testlib::crash_args(start, &keel::netcrash::g_want, &keel::netcrash::g_seconds, word,
                                   sizeof word)) {
        keel::user::print("netcrash: usage: netcrash [CRASHES [SECONDS [HOSTPORT]]]\n");
        return 2;
    }
    uint32_t port = 0;
    const char* p = word;
    while (*p >= '0' && *p <= '9' && port < 65536)
        port = port * 10 + static_cast<uint32_t>(*p++ - '0');
    if (word[0] != '\0' && (*p != '\0' || port == 0 || port > 65535)) {
        keel::user::print("netcrash: HOSTPORT: a port number 1..65535\n");
        return 2;
    }
    keel::netcrash::g_host_port = port;
    return keel::testlib::run(start, "netcrash");
}
