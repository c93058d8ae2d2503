// socktest: sockets served by the network server (servers/net), through the ordinary object
// API only, as every program uses them. Run from the shell of a system with a NIC (QEMU's user
// network): the address from DHCP, names refused, TCP over the machine's own address (listen,
// accept, connect, a megabyte both ways, shutdown, end of stream, reset, refused, address in
// use, many connections and connect/close loops that must not use up the tables), a TCP
// connection refused by the host, ping to the gateway, and the objects' meta data. Prints
// "N passed, N failed" and exits 0 only when nothing failed.
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

bool contains(const char* text, const char* needle) {
    const size_t n = c::length(needle), size = c::length(text);
    for (size_t i = 0; i + n <= size; ++i) {
        if (c::compare(text + i, needle, n) == 0)
            return true;
    }
    return false;
}

Handle g_net = 0;

// srv/net from the shell's name space, opened once.
Handle net() {
    if (g_net == 0) {
        const int64_t ns = open(root(), "ns");
        CHECK(ns > 0);
        const int64_t h = open_path(static_cast<Handle>(ns), "srv/net", 7);
        CHECK(h > 0);
        (void)close(static_cast<uint64_t>(ns));
        g_net = h > 0 ? static_cast<Handle>(h) : 0;
    }
    return g_net;
}

int64_t open_name(Handle dir, const char* name) {
    return sys::do_io(dir, Op::kOpen, name, c::length(name));
}

int64_t open_net(const char* fmt, uint32_t n) {
    char name[128];
    snformat(name, sizeof name, fmt, n);
    return open_name(net(), name);
}

uint8_t pattern(uint64_t i) {
    return static_cast<uint8_t>(i * 131 + (i >> 9));
}

constexpr uint64_t kBig = 1024 * 1024;
uint8_t g_out[kBig], g_in[kBig], g_echo[kBig];

// An echo server on a listener: accepts one connection, reads until its end, writes back
// everything it read, closes. Its thread's exit status: bytes echoed, or -1.
int64_t g_listener = 0;
void echo_once(uint64_t) {
    const int64_t c = open_name(static_cast<Handle>(g_listener), "accept");
    if (c < 0)
        sys::thread_exit(-1);
    const int64_t n = read_fully(c, g_echo, kBig);
    const int64_t w = n > 0 ? write_fully(c, g_echo, static_cast<uint64_t>(n)) : n;
    (void)close(static_cast<uint64_t>(c));
    sys::thread_exit(w);
}

}  // namespace

TEST(address_from_dhcp) {
    // DHCP takes a moment after boot: wait for it, then the interface is QEMU's 10.0.2.15.
    char text[1024] = {};
    for (int i = 0; i < 100; ++i) {
        const int64_t h = open_name(net(), "info");
        CHECK(h > 0);
        const int64_t n = sys::do_io(static_cast<uint64_t>(h), Op::kRead, text, sizeof text - 1);
        (void)close(static_cast<uint64_t>(h));
        CHECK(n > 0);
        text[n > 0 ? n : 0] = '\0';
        if (contains(text, "configured yes"))
            break;
        (void)sys::sleep_ns(100'000'000);
    }
    CHECK(contains(text, "configured yes"));
    CHECK(contains(text, "address 10.0.2.15\n"));
    CHECK(contains(text, "gateway 10.0.2.2\n"));
    CHECK(contains(text, "dns 10.0.2.3\n"));
}

TEST(names_refused) {
    for (const char* bad :
         {"tcp/listen/0", "tcp/listen/65536", "tcp/listen/08", "bogus", "tcp/connect/10.0.2.2/0",
          "udp/bind/x", "dns/a_b", "accept", "info/x"}) {
        CHECK_EQ(open_name(net(), bad), err(Error::kNotFound));
    }
    CHECK_EQ(sys::do_io(net(), Op::kOpen, nullptr, 0), err(Error::kInvalidArgument));
    // Component by component, as open_path does it, reaches the same objects.
    const int64_t tcp = open_name(net(), "tcp");
    CHECK(tcp > 0);
    const int64_t listen = open_name(static_cast<Handle>(tcp), "listen");
    CHECK(listen > 0);
    CHECK_EQ(open_name(static_cast<Handle>(listen), "nope"), err(Error::kNotFound));
    const int64_t l = open_name(static_cast<Handle>(listen), "7100");
    CHECK(l > 0);
    CHECK_EQ(open_net("tcp/listen/%u", 7100), err(Error::kAddressInUse));
    // A listener takes no data; a prefix neither.
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(l), Op::kWrite, "x", 1), err(Error::kIsDirectory));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(tcp), Op::kRead, g_in, 1), err(Error::kIsDirectory));
    for (int64_t h : {l, listen, tcp})
        (void)close(static_cast<uint64_t>(h));
    // Closed, the port is free again.
    const int64_t again = open_net("tcp/listen/%u", 7100);
    CHECK(again > 0);
    (void)close(static_cast<uint64_t>(again));
}

TEST(tcp_megabyte_both_ways_over_own_address) {
    for (uint64_t i = 0; i < kBig; ++i)
        g_out[i] = pattern(i);
    for (const char* to : {"10.0.2.15", "127.0.0.1"}) {
        g_listener = open_net("tcp/listen/%u", 7200);
        CHECK(g_listener > 0);
        const int64_t t = spawn_thread(echo_once, 0);
        CHECK(t > 0);
        char name[64];
        snformat(name, sizeof name, "tcp/connect/%s/7200", to);
        const int64_t c = open_name(net(), name);
        CHECK(c > 0);
        abi::SocketInfo info{};
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kGetMeta, &info, sizeof info,
                            static_cast<uint64_t>(abi::Meta::kSocketInfo)),
                 static_cast<int64_t>(sizeof info));
        CHECK_EQ(info.remote_port, 7200u);
        CHECK(info.local_port >= 49152);
        CHECK_EQ(write_fully(c, g_out, kBig), static_cast<int64_t>(kBig));
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, nullptr, 0,
                            static_cast<uint64_t>(abi::Meta::kShutdown)),
                 0);
        // After shutdown this side writes nothing more.
        CHECK(sys::do_io(static_cast<uint64_t>(c), Op::kWrite, "x", 1) < 0);
        c::fill(g_in, 0, kBig);
        CHECK_EQ(read_fully(c, g_in, kBig), static_cast<int64_t>(kBig));
        CHECK(c::compare(g_in, g_out, kBig) == 0);
        // Then the end of the stream, again and again.
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kRead, g_in, 16), 0);
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kRead, g_in, 16), 0);
        abi::ExitInfo e{};
        CHECK_EQ(join(static_cast<Handle>(t), &e), static_cast<int64_t>(kBig));
        (void)close(static_cast<uint64_t>(c));
        (void)close(static_cast<uint64_t>(g_listener));
    }
}

TEST(tcp_queued_writes_and_reads_keep_their_order) {
    // The asynchronous level: eight writes of 32 KiB queued at once on one end (more than the
    // send buffer holds), eight reads queued at once on the other. Every write completes whole;
    // the bytes arrive in the order the writes were queued.
    const int64_t l = open_net("tcp/listen/%u", 7250);
    CHECK(l > 0);
    const int64_t c = open_net("tcp/connect/10.0.2.15/%u", 7250);
    CHECK(c > 0);
    const int64_t s = open_name(static_cast<Handle>(l), "accept");
    CHECK(s > 0);
    check_queued_order(static_cast<Handle>(c), static_cast<Handle>(s), pattern);
    for (int64_t h : {c, s, l})
        (void)close(static_cast<uint64_t>(h));
}

TEST(tcp_parked_reads_keep_their_order_when_slots_free_up) {
    // The network server keeps parked operations in a table and retries them slot by slot. Four
    // reads on an idle connection take the first slots, reads 0-3 on the tested connection the
    // next ones; the idle connection's reads are then answered (freeing the first slots) and
    // reads 4-7 take them. When the bytes come, the older reads must still go first, though
    // the newer ones sit in earlier slots (servers/net's Sockets::behind).
    constexpr uint32_t kReads = 8, kPiece = 4096;
    const int64_t l = open_net("tcp/listen/%u", 7260);
    CHECK(l > 0);
    const int64_t c = open_net("tcp/connect/10.0.2.15/%u", 7260);
    CHECK(c > 0);
    const int64_t s = open_name(static_cast<Handle>(l), "accept");
    CHECK(s > 0);
    const int64_t idle_c = open_net("tcp/connect/10.0.2.15/%u", 7260);
    CHECK(idle_c > 0);
    const int64_t idle_s = open_name(static_cast<Handle>(l), "accept");
    CHECK(idle_s > 0);
    Queue early, r;
    CHECK_EQ(early.create(8, 4, 64), 0);
    CHECK_EQ(r.create(16, kReads, kPiece), 0);
    auto read_on = [](Queue& q, int64_t object, uint64_t tag, uint32_t size) {
        auto b = q.client().acquire();
        CHECK(static_cast<bool>(b));
        CHECK(static_cast<bool>(
            q.submit(Op::kRead, static_cast<Handle>(object), 0, tag, std::move(*b), size)));
        CHECK(q.poll() >= 0);
    };
    for (uint32_t i = 0; i < 4; ++i)
        read_on(early, idle_s, 100 + i, 64);
    for (uint32_t i = 0; i < 4; ++i)
        read_on(r, s, i, kPiece);
    for (uint32_t i = 0; i < 4; ++i) {  // one byte at a time: one idle read each
        const uint8_t byte = 'a';
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(idle_c), Op::kWrite, &byte, 1), 1);
        CHECK_EQ(early.wait(1, 5'000'000'000), 1);
        auto done = early.reap();
        CHECK(static_cast<bool>(done));
        CHECK_EQ(done->status, 0);
        CHECK_EQ(done->user_data, uint64_t{100 + i});
        done->buffer.reset();
    }
    for (uint32_t i = 4; i < kReads; ++i)
        read_on(r, s, i, kPiece);
    for (uint32_t k = 0; k < sizeof g_out && k < kReads * kPiece; ++k)
        g_out[k] = pattern(k);
    CHECK_EQ(write_fully(c, g_out, kReads * kPiece), int64_t{kReads * kPiece});
    uint64_t received = 0;
    uint32_t next = 0;
    while (next < kReads) {
        if (r.wait(1, 5'000'000'000) <= 0)
            break;
        while (auto got = r.reap()) {
            CHECK_EQ(got->status, 0);
            CHECK_EQ(got->user_data, uint64_t{next});  // the oldest read first
            const auto bytes = r.client().bytes(got->buffer);
            bool in_order = true;
            for (uint64_t k = 0; k < got->value; ++k)
                in_order = in_order && static_cast<uint8_t>(bytes[k]) == pattern(received + k);
            CHECK(in_order);  // the next bytes of the stream
            received += got->value;
            got->buffer.reset();
            ++next;
        }
    }
    CHECK_EQ(next, kReads);
    (void)r.destroy();
    (void)early.destroy();
    for (int64_t h : {c, s, idle_c, idle_s, l})
        (void)close(static_cast<uint64_t>(h));
}

TEST(tcp_refused_and_reset) {
    // Nobody listens on 7999: the engine answers the SYN with a reset.
    CHECK_EQ(open_net("tcp/connect/10.0.2.15/%u", 7999), err(Error::kRefused));
    // Nobody listens on the host's port 1 either: QEMU's user network refuses for it.
    CHECK_EQ(open_net("tcp/connect/10.0.2.2/%u", 1), err(Error::kRefused));
    // A peer that closes with data unread resets the connection.
    const int64_t l = open_net("tcp/listen/%u", 7300);
    CHECK(l > 0);
    const int64_t c = open_net("tcp/connect/127.0.0.1/%u", 7300);
    CHECK(c > 0);
    const int64_t s = open_name(static_cast<Handle>(l), "accept");
    CHECK(s > 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kWrite, "unread", 6), 6);
    (void)sys::sleep_ns(20'000'000);
    (void)close(static_cast<uint64_t>(s));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kRead, g_in, 16), err(Error::kReset));
    (void)close(static_cast<uint64_t>(c));
    (void)close(static_cast<uint64_t>(l));
}

TEST(tcp_connect_close_loops_do_not_use_up_the_tables) {
    // Far more connections than the engine has slots (128), each closed by both sides: the
    // slots of closed connections (TIME_WAIT included) must come back.
    const int64_t l = open_net("tcp/listen/%u", 7400);
    CHECK(l > 0);
    int failures = 0;
    for (uint32_t i = 0; i < 300 && failures == 0; ++i) {
        const int64_t c = open_net("tcp/connect/10.0.2.15/%u", 7400);
        const int64_t s = c > 0 ? open_name(static_cast<Handle>(l), "accept") : c;
        if (c < 0 || s < 0) {
            print("socktest: connection %u: %s\n", i, error_text(c < 0 ? c : s));
            ++failures;
        }
        if (s > 0) {
            (void)sys::do_io(static_cast<uint64_t>(s), Op::kWrite, "bye", 3);
            (void)close(static_cast<uint64_t>(s));
        }
        if (c > 0) {
            char b[8];
            (void)sys::do_io(static_cast<uint64_t>(c), Op::kRead, b, sizeof b);
            (void)close(static_cast<uint64_t>(c));
        }
    }
    CHECK_EQ(failures, 0);
    (void)close(static_cast<uint64_t>(l));
}

TEST(tcp_many_connections_at_once) {
    constexpr uint32_t kCount = 32;
    const int64_t l = open_net("tcp/listen/%u", 7500);
    CHECK(l > 0);
    int64_t clients[kCount], servers[kCount];
    for (uint32_t i = 0; i < kCount; ++i) {
        clients[i] = open_net("tcp/connect/10.0.2.15/%u", 7500);
        CHECK(clients[i] > 0);
        servers[i] = open_name(static_cast<Handle>(l), "accept");
        CHECK(servers[i] > 0);
    }
    for (uint32_t i = 0; i < kCount; ++i) {
        char msg[16];
        const size_t n = snformat(msg, sizeof msg, "client %u", i);
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(clients[i]), Op::kWrite, msg, n),
                 static_cast<int64_t>(n));
    }
    for (uint32_t i = 0; i < kCount; ++i) {
        char want[16], got[16] = {};
        const size_t n = snformat(want, sizeof want, "client %u", i);
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(servers[i]), Op::kRead, got, sizeof got),
                 static_cast<int64_t>(n));
        CHECK(c::compare(got, want, n) == 0);
    }
    for (uint32_t i = 0; i < kCount; ++i) {
        (void)close(static_cast<uint64_t>(clients[i]));
        (void)close(static_cast<uint64_t>(servers[i]));
    }
    (void)close(static_cast<uint64_t>(l));
}

TEST(ping_the_gateway) {
    const int64_t e = open_name(net(), "icmp/echo/10.0.2.2");
    CHECK(e > 0);
    const char payload[] = "keel ping payload";
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(e), Op::kWrite, payload, sizeof payload),
             static_cast<int64_t>(sizeof payload));
    char reply[64] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(e), Op::kRead, reply, sizeof reply),
             static_cast<int64_t>(sizeof payload));
    CHECK(c::compare(reply, payload, sizeof payload) == 0);
    (void)close(static_cast<uint64_t>(e));
}

TEST(names_resolve_dotted_quads_and_objects_are_freed) {
    const int64_t d = open_name(net(), "dns/10.0.2.2");
    CHECK(d > 0);
    char text[32] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(d), Op::kRead, text, sizeof text), 9);
    CHECK(c::compare(text, "10.0.2.2\n", 9) == 0);
    (void)close(static_cast<uint64_t>(d));
    // Open and close far more objects than the server holds at once (512).
    for (uint32_t i = 0; i < 2000; ++i) {
        const int64_t h = open_name(net(), (i & 1) != 0 ? "info" : "udp/bind/0");
        if (h < 0) {
            print("socktest: open %u of 2000: %s\n", i, error_text(h));
            CHECK(h > 0);
            break;
        }
        (void)close(static_cast<uint64_t>(h));
    }
}

// With a port (socktest PORT), the host runs a UDP echo there (kernel/tests/net_peer.py).
uint32_t g_udp_port = 0;

TEST(udp_through_the_host) {
    const int64_t u = open_name(net(), "udp/bind/0");
    CHECK(u > 0);
    abi::SocketInfo info{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(u), Op::kGetMeta, &info, sizeof info,
                        static_cast<uint64_t>(abi::Meta::kSocketInfo)),
             static_cast<int64_t>(sizeof info));
    CHECK(info.local_port >= 49152);
    uint8_t out[sizeof(abi::UdpHeader) + 1473] = {};
    // No header, port 0, a payload above the MTU: refused, nothing sent.
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(u), Op::kWrite, out, 4),
             err(Error::kInvalidArgument));
    abi::UdpHeader h{0x0a000202, 0, 0};
    c::copy(out, &h, sizeof h);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(u), Op::kWrite, out, sizeof h + 8),
             err(Error::kInvalidArgument));
    if (g_udp_port == 0) {
        (void)close(static_cast<uint64_t>(u));
        return;
    }
    h.port = static_cast<uint16_t>(g_udp_port);
    c::copy(out, &h, sizeof h);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(u), Op::kWrite, out, sizeof out),
             err(Error::kInvalidArgument));
    for (uint32_t size : {1u, 100u, 1472u}) {
        for (uint32_t i = 0; i < size; ++i)
            out[sizeof h + i] = pattern(i + size);
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(u), Op::kWrite, out, sizeof h + size),
                 static_cast<int64_t>(sizeof h + size));
        uint8_t in[sizeof(abi::UdpHeader) + 1500] = {};
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(u), Op::kRead, in, sizeof in),
                 static_cast<int64_t>(sizeof h + size));
        abi::UdpHeader from{};
        c::copy(&from, in, sizeof from);
        CHECK_EQ(from.address, 0x0a000202u);
        CHECK_EQ(from.port, g_udp_port);
        CHECK(c::compare(in + sizeof h, out + sizeof h, size) == 0);
    }
    // A read buffer without room for the header.
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(u), Op::kRead, out, 4), err(Error::kBufferTooSmall));
    (void)close(static_cast<uint64_t>(u));
}

int keel_main(const StartInfo& start) {
    const bool child = start.args_length > 6 && c::compare(start.args, "child ", 6) == 0;
    if (!child) {
        for (uint64_t i = 0; i < start.args_length; ++i) {
            if (start.args[i] >= '0' && start.args[i] <= '9' && g_udp_port < 65536)
                g_udp_port = g_udp_port * 10 + static_cast<uint32_t>(start.args[i] - '0');
        }
    }
    return run(start, "socktest");
}
