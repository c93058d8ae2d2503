// fwtest: the firewall (servers/firewall) from a client, through the ordinary object API only.
// Run from the shell of the firewall test image (user/etc/test/firewall.conf): its /srv/net is
// the firewall, /direct/net the network server itself. Checks: names pass through (whole and
// one component at a time), denials fail NoRights, TCP over the machine's own address arrives
// byte for byte through do_io and queues (shutdown and SocketInfo included), an inbound
// connection the rules deny never reaches accept, UDP by destination (an echo on the host),
// and the hostile cases: the firewall's table filled until Full and everything coming back,
// callers that give up or die in the middle of an operation.
//
//   fwtest UDP_PORT          every test (the host's UDP echo at 10.0.2.2:UDP_PORT)
//   fwtest restart SECONDS   while the network server crashes and restarts under the firewall
//                            (user/etc/test/firewall-crash.conf): a parked read ends PeerGone,
//                            and opens through the firewall work again afterwards
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "queue.hpp"
#include "stream.hpp"
#include "testlib.hpp"

using namespace keel;
using namespace keel::user;
using namespace keel::testlib;
using namespace keel::socktest;
using abi::Error;

namespace {

Handle g_fw = 0, g_direct = 0;
uint32_t g_udp_port = 0;

Handle ns_path(const char* path) {
    const int64_t ns = open(root(), "ns");
    CHECK(ns > 0);
    const int64_t h = open_path(static_cast<Handle>(ns), path, c::length(path));
    CHECK(h > 0);
    (void)close(static_cast<uint64_t>(ns));
    return h > 0 ? static_cast<Handle>(h) : 0;
}

Handle fw() {
    if (g_fw == 0)
        g_fw = ns_path("srv/net");
    return g_fw;
}

Handle direct() {
    if (g_direct == 0)
        g_direct = ns_path("direct/net");
    return g_direct;
}

int64_t open_name(Handle dir, const char* name) {
    return sys::do_io(dir, Op::kOpen, name, c::length(name));
}

int64_t open_fmt(Handle dir, const char* fmt, uint32_t n) {
    char name[128];
    snformat(name, sizeof name, fmt, n);
    return open_name(dir, name);
}

uint8_t pattern(uint64_t i) {
    return static_cast<uint8_t>(i * 131 + (i >> 9) * 7 + 3);
}

constexpr uint64_t kBig = 256 * 1024;
uint8_t g_out[kBig], g_in[kBig];

bool contains(const char* text, size_t size, const char* needle) {
    const size_t n = c::length(needle);
    for (size_t i = 0; i + n <= size; ++i) {
        if (c::compare(text + i, needle, n) == 0)
            return true;
    }
    return false;
}

TEST(names_pass_through_whole_and_by_component) {
    const int64_t info = open_name(fw(), "info");
    CHECK(info > 0);
    char text[1024];
    const int64_t n = sys::do_io(static_cast<uint64_t>(info), Op::kRead, text, sizeof text);
    CHECK(n > 0);
    CHECK(contains(text, n > 0 ? static_cast<size_t>(n) : 0, "address 10.0.2.15\n"));
    (void)close(static_cast<uint64_t>(info));
    // One component at a time, as the runtime's open_path opens /srv/net/tcp/listen/7300.
    const int64_t l = open_path(fw(), "tcp/listen/7300", 15);
    CHECK(l > 0);
    CHECK_EQ(open_fmt(direct(), "tcp/listen/%u", 7300), err(Error::kAddressInUse));
    (void)close(static_cast<uint64_t>(l));
    BAD_INPUT(open_name(fw(), "tcp/nowhere"), kNotFound);
    BAD_INPUT(open_name(fw(), "accept"), kNotFound);
    BAD_INPUT(open_name(fw(), "tcp/connect/10.0.2.2/99999"), kNotFound);
    BAD_INPUT(sys::do_io(fw(), Op::kOpen, "", 0), kInvalidArgument);
    BAD_INPUT(sys::do_io(fw(), Op::kRead, text, 8), kIsDirectory);
    const int64_t tcp = open_name(fw(), "tcp");
    CHECK(tcp > 0);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(tcp), Op::kWrite, "x", 1), kIsDirectory);
    (void)close(static_cast<uint64_t>(tcp));
}

TEST(denied_operations_fail_no_rights) {
    // etc/firewall-test.rules: tcp to the host's ports below 1024 and ICMP to the DNS server
    // are denied; the default denies the rest (10.0.2.3's TCP).
    BAD_INPUT(open_name(fw(), "tcp/connect/10.0.2.2/80"), kNoRights);
    BAD_INPUT(open_path(fw(), "tcp/connect/10.0.2.2/9", 22), kNoRights);
    BAD_INPUT(open_name(fw(), "tcp/connect/10.0.2.3/53"), kNoRights);
    BAD_INPUT(open_name(fw(), "icmp/echo/10.0.2.3"), kNoRights);
    // The same port directly: refused by the host, not by the rules (the firewall only adds).
    CHECK_EQ(open_name(direct(), "tcp/connect/10.0.2.2/9"), err(Error::kRefused));
}

TEST(a_name_is_resolved_upstream_first) {
    // A connect to a name goes through the upstream's dns/ first (QEMU's user network here has
    // no DNS upstream, so names fail: the firewall must fail them exactly as the network
    // server does, and leave nothing open).
    const int64_t want = open_name(direct(), "tcp/connect/no-such-host.invalid/8000");
    CHECK(want < 0);
    CHECK_EQ(open_name(fw(), "tcp/connect/no-such-host.invalid/8000"), want);
    CHECK_EQ(open_path(fw(), "icmp/echo/no-such-host.invalid", 30), want);
}

// The accepting side: echoes what arrives until the end of stream, then ends it too.
void echo_once(uint64_t listener) {
    const int64_t s = open_name(static_cast<Handle>(listener), "accept");
    if (s < 0)
        sys::thread_exit(s);
    uint64_t total = 0;
    for (;;) {
        static uint8_t buf[32768];
        const int64_t r = sys::do_io(static_cast<uint64_t>(s), Op::kRead, buf, sizeof buf);
        if (r <= 0)
            break;
        if (write_fully(s, buf, static_cast<uint64_t>(r)) != r)
            break;
        total += static_cast<uint64_t>(r);
    }
    (void)sys::do_io(static_cast<uint64_t>(s), Op::kSetMeta, nullptr, 0,
                     static_cast<uint64_t>(abi::Meta::kShutdown));
    (void)close(static_cast<uint64_t>(s));
    sys::thread_exit(static_cast<int64_t>(total));
}

TEST(tcp_bytes_unchanged_through_do_io) {
    for (uint64_t i = 0; i < kBig; ++i)
        g_out[i] = pattern(i);
    // Both ends through the firewall: the listener's accepted connection is checked (10.0.2.15
    // is allowed), the connect too.
    const int64_t l = open_fmt(fw(), "tcp/listen/%u", 7310);
    CHECK(l > 0);
    const int64_t t = spawn_thread(echo_once, static_cast<uint64_t>(l));
    CHECK(t > 0);
    const int64_t c = open_fmt(fw(), "tcp/connect/10.0.2.15/%u", 7310);
    CHECK(c > 0);
    abi::SocketInfo info{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kGetMeta, &info, sizeof info,
                        static_cast<uint64_t>(abi::Meta::kSocketInfo)),
             static_cast<int64_t>(sizeof info));
    CHECK_EQ(info.remote_port, 7310u);
    CHECK_EQ(info.remote_address, 0x0a00020fu);
    CHECK(info.local_port >= 49152);
    CHECK_EQ(write_fully(c, g_out, kBig), static_cast<int64_t>(kBig));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, nullptr, 0,
                        static_cast<uint64_t>(abi::Meta::kShutdown)),
             0);
    c::fill(g_in, 0, kBig);
    CHECK_EQ(read_fully(c, g_in, kBig), static_cast<int64_t>(kBig));
    CHECK(c::compare(g_in, g_out, kBig) == 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kRead, g_in, 16), 0);
    abi::ExitInfo e{};
    CHECK_EQ(join(static_cast<Handle>(t), &e), static_cast<int64_t>(kBig));
    (void)close(static_cast<uint64_t>(c));
    (void)close(static_cast<uint64_t>(l));
}

TEST(tcp_bytes_unchanged_through_queues_in_order) {
    // Eight 32 KiB writes queued at once through the firewall on one end, eight reads queued
    // at once on the other (accepted directly): every write whole, the bytes in order.
    const int64_t l = open_fmt(direct(), "tcp/listen/%u", 7311);
    CHECK(l > 0);
    const int64_t c = open_fmt(fw(), "tcp/connect/10.0.2.15/%u", 7311);
    CHECK(c > 0);
    const int64_t s = open_name(static_cast<Handle>(l), "accept");
    CHECK(s > 0);
    check_queued_order(static_cast<Handle>(c), static_cast<Handle>(s), pattern);
    // Queued reads through the firewall the other way, after the end of stream.
    const char reply[] = "the other way";
    CHECK_EQ(write_fully(s, reinterpret_cast<const uint8_t*>(reply), sizeof reply),
             static_cast<int64_t>(sizeof reply));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(s), Op::kSetMeta, nullptr, 0,
                        static_cast<uint64_t>(abi::Meta::kShutdown)),
             0);
    Queue q;
    CHECK_EQ(q.create(4, 2, 4096), 0);
    auto b = q.client().acquire();
    CHECK(static_cast<bool>(b));
    CHECK(
        static_cast<bool>(q.submit(Op::kRead, static_cast<Handle>(c), 0, 1, std::move(*b), 4096)));
    CHECK(q.wait(1, 5'000'000'000) >= 1);
    if (auto got = q.reap()) {
        CHECK_EQ(got->status, 0);
        CHECK_EQ(got->value, sizeof reply);
        CHECK(c::compare(q.client().bytes(got->buffer).data(), reply, sizeof reply) == 0);
    } else {
        CHECK(false);
    }
    for (int64_t h : {c, s, l})
        (void)close(static_cast<uint64_t>(h));
}

TEST(inbound_connections_the_rules_deny_never_reach_accept) {
    // etc/firewall-test.rules denies tcp 10.0.2.15 7320: a listener there through the firewall
    // never hands out the direct connection; the peer sees its end.
    const int64_t l = open_fmt(fw(), "tcp/listen/%u", 7320);
    CHECK(l > 0);
    const int64_t c = open_fmt(direct(), "tcp/connect/10.0.2.15/%u", 7320);
    CHECK(c > 0);
    BAD_INPUT(sys::do_io_timeout(static_cast<uint64_t>(l), Op::kOpen, "accept", 6, 0, 300'000'000),
              kTimedOut);
    uint8_t b[4];
    const int64_t r =
        sys::do_io_timeout(static_cast<uint64_t>(c), Op::kRead, b, sizeof b, 0, 2'000'000'000);
    CHECK(r == 0 || r == err(Error::kReset));
    (void)close(static_cast<uint64_t>(c));
    (void)close(static_cast<uint64_t>(l));
}

TEST(udp_checked_by_destination) {
    const int64_t u = open_name(fw(), "udp/bind/0");
    CHECK(u > 0);
    struct {
        abi::UdpHeader h;
        char payload[32];
    } out{}, in{};
    out.h = {0x0a000202u, 9, 0};
    c::copy(out.payload, "through the firewall", 21);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(u), Op::kWrite, &out, sizeof(abi::UdpHeader) + 21),
              kNoRights);
    if (g_udp_port != 0) {
        out.h.port = static_cast<uint16_t>(g_udp_port);
        CHECK_EQ(
            sys::do_io(static_cast<uint64_t>(u), Op::kWrite, &out, sizeof(abi::UdpHeader) + 21),
            static_cast<int64_t>(sizeof(abi::UdpHeader) + 21));
        const int64_t r = sys::do_io_timeout(static_cast<uint64_t>(u), Op::kRead, &in, sizeof in, 0,
                                             5'000'000'000);
        CHECK_EQ(r, static_cast<int64_t>(sizeof(abi::UdpHeader) + 21));
        CHECK_EQ(in.h.address, 0x0a000202u);
        CHECK_EQ(uint32_t{in.h.port}, g_udp_port);
        CHECK(c::compare(in.payload, out.payload, 21) == 0);
    }
    (void)close(static_cast<uint64_t>(u));
}

// Close notices reach the firewall asynchronously: it closes its upstream handles as they come.
bool back_within_2s(const abi::MemoryInfo& before) {
    for (int i = 0; i < 200; ++i) {
        if (kernel_memory_back_to(before))
            return true;
        (void)sys::sleep_ns(10'000'000);
    }
    return false;
}

TEST(filled_until_full_then_everything_comes_back) {
    const abi::MemoryInfo before = memory_info();
    static int64_t held[256];
    uint32_t n = 0;
    int64_t last = 0;
    while (n < 250) {
        last = open_name(fw(), "info");
        if (last < 0)
            break;
        held[n++] = last;
    }
    // The firewall's table (232 objects) fills before this process's 256 handles do.
    CHECK_EQ(last, err(Error::kFull));
    CHECK(n >= 200);
    for (uint32_t i = 0; i < n; ++i)
        (void)close(static_cast<uint64_t>(held[i]));
    CHECK(back_within_2s(before));
    const int64_t again = open_name(fw(), "info");
    CHECK(again > 0);
    (void)close(static_cast<uint64_t>(again));
}

CHILD_MODE("blocked-accept") {
    // A thread blocks in an accept through the firewall; the process ends under it.
    const int64_t l = open_fmt(fw(), "tcp/listen/%u", 7330);
    if (l < 0)
        return 2;
    (void)spawn_thread(
        [](uint64_t listener) {
            (void)open_name(static_cast<Handle>(listener), "accept");
            sys::thread_exit(0);
        },
        static_cast<uint64_t>(l));
    (void)sys::sleep_ns(100'000'000);
    return 0;
}

TEST(callers_that_give_up_or_die_leave_nothing_behind) {
    const abi::MemoryInfo before = memory_info();
    const int64_t l = open_fmt(fw(), "tcp/listen/%u", 7330);
    CHECK(l > 0);
    // Accepts abandoned by their timeouts: cancelled upstream too.
    for (int i = 0; i < 20; ++i)
        BAD_INPUT(
            sys::do_io_timeout(static_cast<uint64_t>(l), Op::kOpen, "accept", 6, 0, 20'000'000),
            kTimedOut);
    // The next connection goes to the next accept, not to one of the abandoned ones (they were
    // cancelled in the network server too, not left parked there).
    const int64_t c = open_fmt(fw(), "tcp/connect/10.0.2.15/%u", 7330);
    CHECK(c > 0);
    const int64_t s =
        sys::do_io_timeout(static_cast<uint64_t>(l), Op::kOpen, "accept", 6, 0, 2'000'000'000);
    CHECK(s > 0);
    (void)close(static_cast<uint64_t>(s));
    // A queued read on a connection, its queue destroyed with the read parked in the firewall.
    {
        Queue q;
        CHECK_EQ(q.create(4, 2, 4096), 0);
        auto b = q.client().acquire();
        CHECK(static_cast<bool>(
            q.submit(Op::kRead, static_cast<Handle>(c), 0, 1, std::move(*b), 4096)));
        CHECK(q.poll() >= 0);
        (void)sys::sleep_ns(20'000'000);
    }
    (void)close(static_cast<uint64_t>(c));
    (void)close(static_cast<uint64_t>(l));
    // A process that ends while its thread waits in an accept through the firewall.
    const abi::ExitInfo e = wait_child(spawn_child("blocked-accept"));
    CHECK_EQ(e.status, 0);
    // The port is free again: nothing upstream still holds the listeners.
    bool free = false;
    for (int i = 0; i < 100 && !free; ++i) {
        const int64_t again = open_fmt(fw(), "tcp/listen/%u", 7330);
        free = again > 0;
        if (free)
            (void)close(static_cast<uint64_t>(again));
        else
            (void)sys::sleep_ns(10'000'000);
    }
    CHECK(free);
    CHECK(back_within_2s(before));
}

// The network server crashes every few seconds (firewall-crash.conf); for SECONDS: a read
// parked through the firewall must end (PeerGone or Reset), never hang, and afterwards the
// firewall must reach the restarted server.
int restart(uint64_t seconds) {
    const uint64_t end = sys::clock_ns() + seconds * 1'000'000'000;
    uint32_t gone = 0, reopened = 0;
    while (sys::clock_ns() < end && (gone == 0 || reopened == 0)) {
        const int64_t l = open_fmt(fw(), "tcp/listen/%u", 7400);
        const int64_t c = l > 0 ? open_fmt(fw(), "tcp/connect/10.0.2.15/%u", 7400) : l;
        if (c < 0) {
            if (l > 0)
                (void)close(static_cast<uint64_t>(l));
            (void)sys::sleep_ns(50'000'000);
            continue;
        }
        if (gone > 0)
            ++reopened;
        uint8_t b[16];
        // Nobody writes: the read waits until the network server goes.
        const int64_t r =
            sys::do_io_timeout(static_cast<uint64_t>(c), Op::kRead, b, sizeof b, 0, 10'000'000'000);
        print("fwtest: a parked read through the firewall ended: %s\n", error_text(r));
        if (r == err(Error::kPeerGone))
            ++gone;
        else
            CHECK_EQ(r, err(Error::kPeerGone));
        (void)close(static_cast<uint64_t>(c));
        (void)close(static_cast<uint64_t>(l));
    }
    CHECK(gone > 0);
    CHECK(reopened > 0);
    print("fwtest: restart: %u parked reads ended PeerGone, %u connections after a restart\n", gone,
          reopened);
    return 0;
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[3];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 3);
    if (count == 2 && c::compare(words[0], "restart", 8) == 0) {
        uint64_t seconds = 0;
        for (const char* p = words[1]; *p >= '0' && *p <= '9'; ++p)
            seconds = seconds * 10 + static_cast<uint64_t>(*p - '0');
        (void)restart(seconds);
        print("%lu passed, %lu failed\n", passed(), failed());
        return failed() == 0 ? 0 : 1;
    }
    // The shell's process table, bound in this program's root where testlib's memory_info
    // looks for it (the shell gives its programs only "ns").
    if (open(root(), "processes") < 0) {
        const Handle table = ns_path("processes");
        if (table != 0)
            (void)sys::do_io(root(), Op::kCreate, "processes", 9, table);
    }
    if (count == 1 && words[0][0] >= '0' && words[0][0] <= '9') {
        for (const char* p = words[0]; *p >= '0' && *p <= '9'; ++p)
            g_udp_port = g_udp_port * 10 + static_cast<uint32_t>(*p - '0');
    }
    return run(start, "fwtest");
}
