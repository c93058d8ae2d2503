// nettest: the virtio-net driver (drivers/virtio-net) from a client's side, through the link
// object it serves (ns/srv/net0, run from the shell of a system whose init.conf starts the
// driver, on QEMU's user network: ci/qemu-boot.sh --net). Frames are built by hand: an ARP
// request for the gateway 10.0.2.2 (slirp answers as 52:55:0a:00:02:02), an ICMP echo request
// to it (slirp answers pings to its own address), the link's errors, and a burst of 1000 frames
// of a local experimental EtherType (0x88b5, which slirp ignores) through a queue, after which
// a second ping shows the link still works, and batches (abi::kLinkBatch): malformed ones
// refused, 40 pings in one write and their replies in batched reads. Receiving is a queue that
// keeps four reads waiting at the driver, with queue_wait's timeout as the deadline.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/net/frame_batch.hpp>
#include <keel/net/wire.hpp>

#include <new>
#include <utility>

#include "queue.hpp"
#include "testlib.hpp"

namespace keel::nettest {

namespace {

using namespace keel::user;
using abi::Meta;

constexpr uint8_t kMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};         // qemu-boot.sh --net
constexpr uint8_t kGatewayMac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};  // slirp's
constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint32_t kGuest = 0x0a00020f;    // 10.0.2.15
constexpr uint32_t kGateway = 0x0a000202;  // 10.0.2.2
constexpr uint16_t kEtherArp = 0x0806, kEtherIp = 0x0800, kEtherLocal = 0x88b5;
constexpr uint32_t kMaxFrame = 1514;
constexpr uint64_t kTimeoutNs = 5'000'000'000;
constexpr uint32_t kReadsWaiting = 4;

Handle g_link = 0;
uint8_t g_gateway[6] = {};

int64_t send(const void* frame, uint64_t length) {
    return sys::do_io(g_link, Op::kWrite, frame, length);
}

// Ethernet header: 14 bytes.
void ethernet(uint8_t* f, const uint8_t* to, uint16_t type) {
    c::copy(f, to, 6);
    c::copy(f + 6, kMac, 6);
    net::put16(f + 12, type);
}

// The receiving side: a queue with kReadsWaiting reads of the link always waiting.
struct Receiver {
    Queue q;
    bool ready = false;

    bool submit_read() {
        auto b = q.client().acquire();
        return b && q.submit(Op::kRead, g_link, 0, 0, std::move(*b), kMaxFrame);
    }
    bool start() {
        if (q.create(16, 8, 2048) != 0)
            return false;
        for (uint32_t i = 0; i < kReadsWaiting; ++i) {
            if (!submit_read())
                return false;
        }
        ready = true;
        return true;
    }
    // The next frame into out (kMaxFrame bytes), waiting until `deadline` (clock_ns): its
    // length, -1 on timeout, -2 when a read failed.
    int64_t next(uint8_t* out, uint64_t deadline) {
        for (;;) {
            if (auto r = q.reap()) {
                const bool ok = r->status == 0 && r->value <= kMaxFrame;
                const uint64_t n = r->value;
                if (ok)
                    c::copy(out, q.client().bytes(r->buffer).data(), n);
                else
                    print("nettest: a read failed: status 0x%x\n", r->status);
                r->buffer.reset();
                (void)submit_read();
                return ok ? static_cast<int64_t>(n) : -2;
            }
            const uint64_t now = sys::clock_ns();
            if (now >= deadline)
                return -1;
            (void)q.wait(1, deadline - now);
        }
    }
};
Receiver* g_rx = nullptr;

Receiver* new_receiver() {
    // Never destroyed (a static with a destructor would need __cxa_atexit).
    void* storage = allocate(sizeof(Receiver));
    if (storage == nullptr)
        return nullptr;
    auto* rx = new (storage) Receiver;
    return rx->start() ? rx : nullptr;
}
uint8_t g_frame[kMaxFrame];

// Answers slirp's ARP request for our address (it may ask before it replies to us).
void answer_arp(const uint8_t* f, int64_t n) {
    if (n < 42 || net::get16(f + 12) != kEtherArp || net::get16(f + 20) != 1 ||
        net::get32(f + 38) != kGuest) {
        return;
    }
    uint8_t reply[60] = {};
    ethernet(reply, f + 6, kEtherArp);
    net::put16(reply + 14, 1);
    net::put16(reply + 16, kEtherIp);
    reply[18] = 6;
    reply[19] = 4;
    net::put16(reply + 20, 2);
    c::copy(reply + 22, kMac, 6);
    net::put32(reply + 28, kGuest);
    c::copy(reply + 32, f + 22, 10);  // the asker's hardware and protocol address
    (void)send(reply, sizeof reply);
}

// The link, published by the driver (which init starts alongside the shell): waited for.
TEST(link_appears) {
    for (int i = 0; i < 200 && g_link == 0; ++i) {
        const int64_t h = open_path(root(), "ns/srv/net0", 11);
        if (h > 0)
            g_link = static_cast<Handle>(h);
        else
            (void)sys::sleep_ns(50'000'000);
    }
    CHECK(g_link != 0);
    g_rx = new_receiver();
    CHECK(g_rx != nullptr);
}

TEST(link_info) {
    abi::LinkInfo info{};
    CHECK_EQ(sys::do_io(g_link, Op::kGetMeta, &info, sizeof info,
                        static_cast<uint64_t>(Meta::kLinkInfo)),
             sizeof info);
    CHECK_EQ(c::compare(info.mac, kMac, 6), 0);
    CHECK_EQ(info.mtu, 1500u);
    CHECK_EQ(info.flags, abi::kLinkUp);
    print("nettest: link %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, %s\n", info.mac[0], info.mac[1],
          info.mac[2], info.mac[3], info.mac[4], info.mac[5], info.mtu,
          (info.flags & abi::kLinkUp) != 0 ? "up" : "down");
}

// Each refused with its error, and the link serves on afterwards.
TEST(bad_requests) {
    uint8_t small[100] = {};
    c::fill(g_frame, 0, sizeof g_frame);
    ethernet(g_frame, kBroadcast, kEtherLocal);
    BAD_INPUT(send(g_frame, 13), kInvalidArgument);  // shorter than an Ethernet header
    static uint8_t big[1515];
    c::copy(big, g_frame, 14);
    BAD_INPUT(send(big, sizeof big), kInvalidArgument);  // mtu + 15
    BAD_INPUT(sys::do_io(g_link, Op::kRead, small, sizeof small), kBufferTooSmall);
    BAD_INPUT(sys::do_io(g_link, Op::kRead, g_frame, 1513), kBufferTooSmall);
    BAD_INPUT(sys::do_io(g_link, Op::kSeek, nullptr, 0, 0), kNotSupported);
    BAD_INPUT(sys::do_io(g_link, Op::kSync), kNotSupported);
    uint64_t v = 0;
    BAD_INPUT(sys::do_io(g_link, Op::kGetMeta, &v, 8, static_cast<uint64_t>(Meta::kLinkInfo)),
              kBufferTooSmall);
    BAD_INPUT(sys::do_io(g_link, Op::kGetMeta, &v, 8, static_cast<uint64_t>(Meta::kBlockInfo)),
              kInvalidArgument);
    // The shortest and the longest frames go.
    CHECK_EQ(send(g_frame, 14), 14);
    CHECK_EQ(send(big, 1514), 1514);
}

// Who has 10.0.2.2? Tell 10.0.2.15.
TEST(arp_gateway) {
    uint8_t f[60] = {};
    ethernet(f, kBroadcast, kEtherArp);
    net::put16(f + 14, 1);         // Ethernet
    net::put16(f + 16, kEtherIp);  // IPv4
    f[18] = 6;
    f[19] = 4;
    net::put16(f + 20, 1);  // request
    c::copy(f + 22, kMac, 6);
    net::put32(f + 28, kGuest);
    net::put32(f + 38, kGateway);
    const uint64_t start = sys::clock_ns();
    CHECK_EQ(send(f, sizeof f), 60);
    bool answered = false;
    while (!answered) {
        const int64_t n = g_rx->next(g_frame, start + kTimeoutNs);
        if (n < 0)
            break;
        if (n >= 42 && net::get16(g_frame + 12) == kEtherArp && net::get16(g_frame + 20) == 2 &&
            net::get32(g_frame + 28) == kGateway && net::get32(g_frame + 38) == kGuest) {
            answered = true;
            c::copy(g_gateway, g_frame + 22, 6);
            CHECK_EQ(c::compare(g_frame + 6, g_gateway, 6), 0);
            CHECK_EQ(c::compare(g_frame + 32, kMac, 6), 0);
        }
    }
    CHECK(answered);
    CHECK_EQ(c::compare(g_gateway, kGatewayMac, 6), 0);
    print("nettest: ARP: 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x (%lu us)\n", g_gateway[0],
          g_gateway[1], g_gateway[2], g_gateway[3], g_gateway[4], g_gateway[5],
          (sys::clock_ns() - start) / 1000);
}

constexpr uint32_t kEchoData = 56, kIp = 20, kIcmp = 8 + kEchoData;
constexpr uint32_t kEchoFrame = 14 + kIp + kIcmp;
constexpr uint16_t kEchoId = 0x4b45;

uint8_t echo_byte(uint16_t seq, uint32_t i) {
    return static_cast<uint8_t>(i * 3 + seq);
}

// Writes an ICMP echo request to 10.0.2.2 with sequence number `seq` into f (kEchoFrame bytes).
void make_echo(uint8_t* f, uint16_t seq) {
    c::fill(f, 0, kEchoFrame);
    ethernet(f, g_gateway, kEtherIp);
    uint8_t* ip = f + 14;
    ip[0] = 0x45;
    net::put16(ip + 2, kIp + kIcmp);
    net::put16(ip + 4, seq);
    net::put16(ip + 6, 0x4000);  // don't fragment
    ip[8] = 64;
    ip[9] = 1;  // ICMP
    net::put32(ip + 12, kGuest);
    net::put32(ip + 16, kGateway);
    net::put16(ip + 10, net::checksum_fold(net::checksum_add(0, ip, kIp)));
    uint8_t* icmp = ip + kIp;
    icmp[0] = 8;  // echo request
    net::put16(icmp + 4, kEchoId);
    net::put16(icmp + 6, seq);
    for (uint32_t i = 0; i < kEchoData; ++i)
        icmp[8 + i] = echo_byte(seq, i);
    net::put16(icmp + 2, net::checksum_fold(net::checksum_add(0, icmp, kIcmp)));
}

// Sends an ICMP echo request to 10.0.2.2 with sequence number `seq`. Whether it went.
bool send_echo(uint16_t seq) {
    uint8_t f[kEchoFrame];
    make_echo(f, seq);
    return send(f, sizeof f) == static_cast<int64_t>(sizeof f);
}

// The sequence number of a frame that is an echo reply from 10.0.2.2 to us (our identifier),
// its checksums and data checked; -1 for any other frame.
int32_t echo_reply(const uint8_t* f, int64_t n) {
    const uint8_t* ip = f + 14;
    if (n < static_cast<int64_t>(kEchoFrame) || net::get16(f + 12) != kEtherIp || ip[0] != 0x45 ||
        ip[9] != 1 || net::get32(ip + 12) != kGateway || net::get32(ip + 16) != kGuest) {
        return -1;
    }
    const uint8_t* icmp = ip + kIp;
    if (icmp[0] != 0 || net::get16(icmp + 4) != kEchoId)
        return -1;
    const uint16_t seq = net::get16(icmp + 6);
    CHECK_EQ(net::checksum_fold(net::checksum_add(0, ip, kIp)), 0);
    CHECK_EQ(net::checksum_fold(net::checksum_add(0, icmp, kIcmp)), 0);
    CHECK_EQ(c::compare(f, kMac, 6), 0);
    uint32_t same = 0;
    for (uint32_t i = 0; i < kEchoData; ++i)
        same += icmp[8 + i] == echo_byte(seq, i) ? 1 : 0;
    CHECK_EQ(same, kEchoData);
    return seq;
}

// A ping to 10.0.2.2 and its reply (slirp answers pings to its own address). Whether it came.
bool ping(uint16_t seq) {
    const uint64_t start = sys::clock_ns();
    if (!send_echo(seq))
        return false;
    for (;;) {
        const int64_t n = g_rx->next(g_frame, start + kTimeoutNs);
        if (n < 0)
            return false;
        answer_arp(g_frame, n);
        if (echo_reply(g_frame, n) != seq)
            continue;
        print("nettest: ping 10.0.2.2 seq %u: reply in %lu us\n", seq,
              (sys::clock_ns() - start) / 1000);
        return true;
    }
}

TEST(ping_gateway) {
    CHECK(ping(1));
}

// 1000 frames through a queue, up to 32 writes in flight at the driver.
TEST(burst_1000) {
    constexpr uint32_t kFrames = 1000, kDepth = 32, kLength = 60;
    Queue q;
    CHECK_EQ(q.create(64, kDepth, 64), 0);
    const uint64_t start = sys::clock_ns();
    uint32_t submitted = 0, done = 0, bad = 0;
    while (done < kFrames) {
        while (submitted < kFrames && submitted - done < kDepth) {
            auto b = q.client().acquire();
            if (!b)
                break;
            auto bytes = q.client().bytes(*b);
            uint8_t* f = reinterpret_cast<uint8_t*>(bytes.data());
            c::fill(f, 0, kLength);
            ethernet(f, g_gateway, kEtherLocal);
            net::put32(f + 14, submitted);
            if (!q.submit(Op::kWrite, g_link, 0, submitted, std::move(*b), kLength)) {
                ++bad;
                break;
            }
            ++submitted;
        }
        if (q.wait(1, 10'000'000'000) < 0) {
            ++bad;
            break;
        }
        while (auto r = q.reap()) {
            ++done;
            if (r->status != 0 || r->value != kLength)
                ++bad;
            r->buffer.reset();
        }
        if (bad > 0)
            break;
    }
    CHECK_EQ(bad, 0u);
    CHECK_EQ(done, kFrames);
    print("nettest: burst: %u frames of %u bytes sent in %lu ms\n", done, kLength,
          (sys::clock_ns() - start) / 1'000'000);
}

// Echo replies counted against a run of sequence numbers [first, first + count): how many
// came, whether in order, and how many other frames came between them.
struct Replies {
    uint16_t first, count;
    uint32_t got = 0, others = 0;
    int32_t last = -1;
    bool in_order = true;
    void see(int32_t seq) {
        if (seq < first || seq >= first + count) {
            ++others;  // an ARP request from slirp, say
            return;
        }
        ++got;
        in_order = in_order && seq > last;
        last = seq;
    }
};

// Frames that arrive while no read waits are held by the driver in its receive buffers, and
// once those are all held the device keeps the rest: the receiver's waiting reads are cancelled
// with its queue (the driver ends them), 160 pings go out (more than the 128 buffers), their
// replies arrive with nobody reading, then a new receiver gets every one, oldest first.
TEST(frames_held_while_no_read_waits) {
    constexpr uint16_t kFirst = 100, kCount = 160;
    CHECK_EQ(g_rx->q.destroy(), 0);
    for (uint16_t i = 0; i < kCount; ++i)
        CHECK(send_echo(static_cast<uint16_t>(kFirst + i)));
    (void)sys::sleep_ns(1'500'000'000);  // slirp answers at once; a loaded host is slow
    g_rx = new_receiver();
    CHECK(g_rx != nullptr);
    Replies r{kFirst, kCount};
    const uint64_t deadline = sys::clock_ns() + 2'000'000'000;
    while (r.got < kCount) {
        const int64_t n = g_rx->next(g_frame, deadline);
        if (n < 0)
            break;
        r.see(echo_reply(g_frame, n));
    }
    CHECK_EQ(r.got, kCount);
    CHECK(r.in_order);
    print("nettest: %u echo replies with no read waiting: %u received, in order\n", kCount, r.got);
}

// Batches (abi::kLinkBatch), as the network server uses the link: malformed ones refused whole
// with nothing sent, then 40 pings in one write while no read waits, and the replies in
// batched reads (nearly always one), in order.
uint8_t g_batch[16 * 1024];

TEST(batches) {
    const uint64_t batch = abi::kLinkBatch;
    uint8_t f[kEchoFrame];
    make_echo(f, 999);
    size_t used = 0;
    CHECK(net::batch_put(g_batch, sizeof g_batch, &used, f, sizeof f));
    BAD_INPUT(sys::do_io(g_link, Op::kWrite, g_batch, used, 2), kInvalidArgument);  // arg
    BAD_INPUT(sys::do_io(g_link, Op::kRead, g_batch, sizeof g_batch, 2), kInvalidArgument);
    BAD_INPUT(sys::do_io(g_link, Op::kWrite, g_batch, used - 1, batch), kInvalidArgument);  // cut
    BAD_INPUT(sys::do_io(g_link, Op::kWrite, g_batch, used + 1, batch), kInvalidArgument);
    size_t runt = used;
    CHECK(net::batch_put(g_batch, sizeof g_batch, &runt, f, 13));  // after a good frame
    BAD_INPUT(sys::do_io(g_link, Op::kWrite, g_batch, runt, batch), kInvalidArgument);
    BAD_INPUT(sys::do_io(g_link, Op::kRead, g_batch, kMaxFrame + 1, batch), kBufferTooSmall);
    CHECK_EQ(g_rx->q.destroy(), 0);
    constexpr uint16_t kFirst = 400, kCount = 40;
    used = 0;
    for (uint16_t i = 0; i < kCount; ++i) {
        make_echo(f, static_cast<uint16_t>(kFirst + i));
        CHECK(net::batch_put(g_batch, sizeof g_batch, &used, f, sizeof f));
    }
    CHECK_EQ(sys::do_io(g_link, Op::kWrite, g_batch, used, batch), static_cast<int64_t>(used));
    (void)sys::sleep_ns(1'500'000'000);  // slirp answers at once; a loaded host is slow
    // The replies held now come in batched reads, nearly always all in the first: read until
    // all 40 came (3 s at most) through a queue of one batched read. No reply to the refused
    // batches' echo 999.
    Queue q;
    CHECK_EQ(q.create(4, 1, sizeof g_batch), 0);
    Replies r{kFirst, kCount};
    uint32_t refused_sent = 0, reads = 0, most = 0;
    const uint64_t deadline = sys::clock_ns() + 3'000'000'000;
    while (r.got < kCount) {
        auto b = q.client().acquire();
        CHECK(b && q.submit(Op::kRead, g_link, batch, 0, std::move(*b), sizeof g_batch));
        const uint64_t now = sys::clock_ns();
        if (now >= deadline || q.wait(1, deadline - now) <= 0)
            break;
        auto c = q.reap();
        CHECK(c && c->status == 0);
        const auto* data = reinterpret_cast<const uint8_t*>(q.client().bytes(c->buffer).data());
        const auto n = static_cast<size_t>(c->value);
        const int64_t frames = net::batch_check(data, n, 14, kMaxFrame);
        CHECK(frames > 0);
        ++reads;
        most = static_cast<uint32_t>(frames) > most ? static_cast<uint32_t>(frames) : most;
        size_t offset = 0;
        const uint8_t* frame = nullptr;
        size_t length = 0;
        while (net::batch_next(data, n, &offset, &frame, &length)) {
            const int32_t seq = echo_reply(frame, static_cast<int64_t>(length));
            refused_sent += seq == 999 ? 1 : 0;
            r.see(seq);
        }
        c->buffer.reset();
    }
    CHECK_EQ(q.destroy(), 0);
    CHECK_EQ(r.got, kCount);
    CHECK(r.in_order);
    CHECK_EQ(refused_sent, 0u);
    CHECK(most > 1);  // frames that waited together came together
    g_rx = new_receiver();
    CHECK(g_rx != nullptr);
    print(
        "nettest: a batch of %u pings in one write, %u replies (and %u other frames) in %u "
        "batched read(s), at most %u frames in one\n",
        kCount, r.got, r.others, reads, most);
}

// The link still answers after all that.
TEST(ping_after_burst) {
    CHECK(ping(2));
}

}  // namespace

}  // namespace keel::nettest

int keel_main(const keel::user::StartInfo& start) {
    return keel::testlib::run(start, "nettest");
}
