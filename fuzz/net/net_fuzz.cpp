// Network stack fuzz target (lib/net). The harness brings a Stack (small Limits) to a busy
// state first: an address leased by DHCP from replies laid out like QEMU's user network, two
// UDP sockets open, a DNS query and a ping outstanding; the first input byte's bit 0 then moves
// time to T1, so a DHCP renewal is in progress too. The rest of the input is records: two bytes
// of length (big-endian), one byte of time step (units of 100 ms), then the frame. Every frame
// is fed to receive(); after each, the harness drains take_frame() and checks every frame the
// stack produced by its own reading at the formats' offsets (our MAC as source, a known
// EtherType, ARP from our addresses, IPv4 version/IHL 0x45 with a verifying header checksum,
// TTL 64, total length inside the frame, ICMP and UDP checksums verifying, UDP length equal to
// the IP payload), that no counter ever decreases, that no table holds more than its Limits,
// and that queued data never exceeds what the caller may receive. With the first byte's bit 1
// the stack also has a LinkOutput (frames built straight into the link's buffer, as the
// network server's): each record's time byte's low two bits give it that many free buffers,
// and every frame committed there is checked as a drained one. With bit 2 each record is a
// link batch (lib/net's frame_batch.hpp) instead of one frame, fed frame by frame when
// batch_check accepts it. Seeds: fuzz/corpus/net.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <keel/net/addr.hpp>
#include <keel/net/frame_batch.hpp>
#include <keel/net/stack.hpp>
#include <keel/net/wire.hpp>

namespace {

namespace net = keel::net;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "net oracle: %s\n", what);
    std::abort();
}

constexpr net::Mac kMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr net::Mac kServerMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};
constexpr net::Ip4 kAddress = 0x0a00020f, kGateway = 0x0a000202;
constexpr uint16_t kMtu = 1500;

net::Limits limits() {
    net::Limits l;
    l.arp_entries = 4;
    l.pending_frames = 8;
    l.udp_sockets = 3;
    l.udp_queue = 2;
    l.reassembly_slots = 2;
    l.reassembly_bytes = 2048;
    l.dns_queries = 2;
    l.pings = 2;
    l.udp_datagram = 512;
    return l;
}

using net::get16;
using net::get32;

void wr16(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void wr32(uint8_t* p, uint32_t v) {
    wr16(p, v >> 16);
    wr16(p + 2, v);
}

// The library's RFC 1071 arithmetic (wire.hpp, checked against RFC 1071's example in
// lib/net/tests/wire_test.cpp): a message verifies when its folded sum is 0.
uint16_t sum(const uint8_t* p, size_t n, uint32_t start = 0) {
    return net::checksum_fold(net::checksum_add(start, p, n));
}
uint32_t pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t length) {
    return net::pseudo_header_sum(src, dst, proto, static_cast<uint16_t>(length));
}

// A DHCP reply from the server to the broadcast address, slirp's layout (see
// lib/net/tests/dhcp_test.cpp): Ethernet, IPv4, UDP 67 -> 68, BOOTP, options.
size_t dhcp_reply(uint8_t* f, uint8_t type, uint32_t xid) {
    std::memset(f, 0, 600);
    std::memset(f, 0xff, 6);
    std::memcpy(f + 6, kServerMac.bytes, 6);
    wr16(f + 12, 0x0800);
    uint8_t* ip = f + 14;
    uint8_t* udp = ip + 20;
    uint8_t* d = udp + 8;
    d[0] = 2;
    d[1] = 1;
    d[2] = 6;
    wr32(d + 4, xid);
    wr32(d + 16, kAddress);
    wr32(d + 20, kGateway);
    std::memcpy(d + 28, kMac.bytes, 6);
    wr32(d + 236, 0x63825363);
    const uint8_t options[] = {53, 1,    type, 54, 4, 10,  0,   2,   2, 51, 4, 0,
                               1,  0x51, 0x80, 1,  4, 255, 255, 255, 0, 3,  4, 10,
                               0,  2,    2,    6,  4, 10,  0,   2,   3, 255};
    std::memcpy(d + 240, options, sizeof options);
    const size_t dhcp = 300;
    wr16(udp, 67);
    wr16(udp + 2, 68);
    wr16(udp + 4, static_cast<uint32_t>(8 + dhcp));
    wr16(udp + 6, sum(udp, 8 + dhcp, pseudo(kGateway, 0xffffffff, 17, 8 + dhcp)));
    ip[0] = 0x45;
    wr16(ip + 2, static_cast<uint32_t>(20 + 8 + dhcp));
    ip[8] = 64;
    ip[9] = 17;
    wr32(ip + 12, kGateway);
    wr32(ip + 16, 0xffffffff);
    wr16(ip + 10, sum(ip, 20));
    return 14 + 20 + 8 + dhcp;
}

alignas(16) uint8_t storage[1 << 16];
uint8_t frame[net::kIpv4MaxDatagram];

struct Snapshot {
    uint64_t values[sizeof(net::Counters) / sizeof(uint64_t)];
};

Snapshot snapshot(const net::Stack& s) {
    Snapshot out;
    std::memcpy(out.values, &s.counters(), sizeof out.values);
    return out;
}

void check_frame(const net::Stack& s, const uint8_t* f, size_t n) {
    if (n < 60 || n > 14 + kMtu)
        fail("a frame shorter than 60 bytes or longer than the MTU");
    if (std::memcmp(f + 6, kMac.bytes, 6) != 0)
        fail("a frame not from our MAC");
    const uint16_t type = get16(f + 12);
    const net::Interface& i = s.interface();
    if (type == 0x0806) {
        const uint8_t* a = f + 14;
        if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 ||
            (get16(a + 6) != 1 && get16(a + 6) != 2))
            fail("a malformed ARP packet");
        if (std::memcmp(a + 8, kMac.bytes, 6) != 0 || get32(a + 14) != i.address)
            fail("ARP not from our addresses");
        return;
    }
    if (type != 0x0800)
        fail("an unknown EtherType");
    const uint8_t* ip = f + 14;
    const size_t total = get16(ip + 2);
    if (ip[0] != 0x45 || total < 20 || total > n - 14 || sum(ip, 20) != 0 || ip[8] != 64 ||
        (get16(ip + 6) & 0xbfff) != 0)
        fail("a malformed IPv4 header");
    const uint32_t src = get32(ip + 12), dst = get32(ip + 16);
    if (src != i.address && src != 0)
        fail("IPv4 from an address not ours");
    const uint8_t* p = ip + 20;
    const size_t size = total - 20;
    if (ip[9] == 1) {
        if (size < 8 || sum(p, size) != 0)
            fail("a bad ICMP checksum");
    } else if (ip[9] == 17) {
        if (size < 8 || get16(p + 4) != size || get16(p + 6) == 0 ||
            sum(p, size, pseudo(src, dst, 17, size)) != 0)
            fail("a bad UDP length or checksum");
    }
}

// The link output: `room` free buffers; every frame committed is checked.
struct FuzzLink {
    const net::Stack* stack = nullptr;
    int room = 0;
    bool busy = false;  // acquired and not yet committed
    uint8_t buffer[net::kIpv4MaxDatagram];
    static uint8_t* acquire(void* context, size_t size) {
        auto* l = static_cast<FuzzLink*>(context);
        if (l->busy)
            fail("acquire before the last commit");
        if (l->room == 0 || size > sizeof l->buffer)
            return nullptr;
        --l->room;
        l->busy = true;
        return l->buffer;
    }
    static void commit(void* context, uint8_t* f, size_t n) {
        auto* l = static_cast<FuzzLink*>(context);
        if (!l->busy || f != l->buffer || n > sizeof l->buffer)
            fail("a commit of no acquired buffer");
        l->busy = false;
        check_frame(*l->stack, f, n);
    }
};
FuzzLink link;

void drain(net::Stack& s) {
    for (size_t n; (n = s.take_frame(frame, sizeof frame)) != 0;)
        check_frame(s, frame, n);
    if (s.frames_pending())
        fail("frames pending after a drain");
}

void check_bounds(const net::Stack& s, const Snapshot& before) {
    const Snapshot now = snapshot(s);
    for (size_t k = 0; k < sizeof now.values / sizeof now.values[0]; ++k)
        if (now.values[k] < before.values[k])
            fail("a counter went down");
    const net::Limits l = limits();
    if (s.arp_entries_in_use() > l.arp_entries || s.frames_in_use() > l.pending_frames ||
        s.reassembly_in_use() > l.reassembly_slots)
        fail("a table beyond its limit");
}

// The busy state the input starts from (see the top of the file). The xid is found in the
// DISCOVER the stack sent.
void setup(net::Stack& s, bool renewing, int64_t* sockets, int64_t* query) {
    if (s.init(limits(), kMac, kMtu, 0x5eed, storage, sizeof storage) != 0)
        fail("init refused the harness's limits");
    s.start_dhcp(0);
    size_t n = s.take_frame(frame, sizeof frame);
    if (n < 14 + 20 + 8 + 8)
        fail("no DISCOVER");
    const uint32_t xid = get32(frame + 14 + 20 + 8 + 4);
    uint8_t reply[600];
    n = dhcp_reply(reply, 2, xid);
    s.receive(reply, n, 0);
    drain(s);
    n = dhcp_reply(reply, 5, xid);
    s.receive(reply, n, 0);
    if (!s.interface().configured)
        fail("the harness's lease was refused");
    sockets[0] = s.udp_open(5000);
    sockets[1] = s.udp_open(0);
    *query = s.dns_start("example.com", 11, 0);
    const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    s.ping_send(kGateway, 0x77, 1, data, sizeof data, 0);
    if (renewing)
        s.poll(43200 * net::kSecond);
    drain(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static net::Stack stack;
    if (size < 1)
        return 0;
    int64_t sockets[2];
    int64_t query = 0;
    const bool renewing = data[0] & 1;
    setup(stack, renewing, sockets, &query);
    link = FuzzLink{};
    link.stack = &stack;
    if (data[0] & 2)
        stack.set_link_output(net::LinkOutput{&link, &FuzzLink::acquire, &FuzzLink::commit});
    net::Time now = renewing ? 43200 * net::kSecond : 0;
    Snapshot before = snapshot(stack);
    size_t i = 1;
    uint8_t buffer[600];
    while (size - i >= 3) {
        const size_t length = get16(data + i);
        const uint8_t step = data[i + 2];
        now += step * 100 * net::kMillisecond;
        i += 3;
        link.room = step & 3;
        const size_t n = length < size - i ? length : size - i;
        if (data[0] & 4) {
            // The record is a link batch, as the network server receives them from its driver
            // (servers/net/link.cpp): checked whole, then each frame to the stack; every frame
            // batch_next gives lies inside the record, and there are as many as batch_check said.
            const int64_t frames = net::batch_check(data + i, n, 1, 1536);
            int64_t seen = 0;
            size_t offset = 0;
            const uint8_t* one = nullptr;
            size_t length_out = 0;
            while (net::batch_next(data + i, n, &offset, &one, &length_out)) {
                if (one < data + i || one + length_out > data + i + n)
                    fail("a batch's frame outside the batch");
                if (frames >= 0)
                    stack.receive(one, length_out, now);
                ++seen;
            }
            if (frames >= 0 && (seen != frames || offset != n))
                fail("batch_check and batch_next disagree");
        } else {
            stack.receive(data + i, n, now);
        }
        i += n;
        check_bounds(stack, before);
        drain(stack);
        if (step != 0)
            stack.poll(now);
        drain(stack);
        for (int64_t id : sockets) {
            net::Ip4 from;
            uint16_t port;
            for (int64_t got;
                 (got = stack.udp_receive(id, &from, &port, buffer, sizeof buffer)) >= 0;)
                if (static_cast<uint64_t>(got) > limits().udp_datagram)
                    fail("a datagram larger than the queue keeps");
        }
        uint16_t sequence;
        net::Ip4 from;
        while (stack.ping_receive(0x77, &sequence, &from, buffer, sizeof buffer) >= 0) {
        }
        net::Ip4 address;
        const int64_t r = stack.dns_result(query, &address);
        if (r != net::fail(net::Error::kWouldBlock) && r != 0 &&
            r != net::fail(net::Error::kNotFound) && r != net::fail(net::Error::kTimedOut) &&
            r != net::fail(net::Error::kUnreachable) && r != net::fail(net::Error::kInvalid))
            fail("dns_result outside its contract");
        check_bounds(stack, before);
        before = snapshot(stack);
    }
    return 0;
}
