// TCP engine fuzz target (lib/net): the fuzzer is every peer of one engine (10.0.0.1). Setup,
// scripted: a listener on port 80, an active connection to 10.0.0.2:443 completed by a
// SYN-ACK, a passive one on port 80 completed by SYN and ACK and accepted. Input: one byte of
// limits (buffer sizes, reassembly ranges, MSS), then steps, each an opcode byte and operands:
// a raw segment (any bytes), a crafted segment with a right checksum (the fields chosen
// relative to the numbers the engine last sent on that connection, so they land near its
// windows; flags, window, payload length, options bytes from the input), the API calls (send,
// receive, shutdown, close, abort, connect, accept, set_keepalive, close_listener, listen),
// an ICMP error quoting a segment the engine sent, and time moving on (poll).
// The oracle: every emitted segment parses back (length, data offset, options, checksum with
// the pseudo header, from one of our addresses, no SYN with RST, a payload within the MSS we
// allow and never on a bare RST); counters only grow; slots and ranges within the limits;
// readable never above the receive buffer; poll's deadline is never in the past; calls return
// only the errors tcp.hpp names for them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <vector>

#include <keel/net/error.hpp>
#include <keel/net/tcp.hpp>
#include <keel/net/wire.hpp>

namespace {

namespace net = keel::net;
namespace tcp = keel::net::tcp;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "tcp oracle: %s\n", what);
    std::abort();
}

constexpr net::Ip4 kUs = net::ip4(10, 0, 0, 1);
constexpr net::Ip4 kPeer = net::ip4(10, 0, 0, 2);
constexpr uint8_t kFin = 1, kSyn = 2, kRst = 4, kAck = 16;

struct Input {
    const uint8_t* p;
    size_t n;
    size_t at = 0;
    bool done() const { return at >= n; }
    uint32_t take(int bytes) {
        uint32_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v |= uint32_t{at < n ? p[at++] : uint8_t{0}} << (8 * i);
        return v;
    }
};

struct Sent {
    net::Ip4 source, destination;
    std::vector<uint8_t> bytes;
};

// What the engine last told a peer on a 4-tuple: where its windows are.
struct Known {
    uint16_t local_port, remote_port;
    uint32_t seq, ack;
};

struct Harness {
    tcp::Limits limits;
    uint8_t* aligned = nullptr;
    tcp::Engine engine;
    std::deque<Sent> out;
    std::vector<Sent> history;  // the last few segments, for ICMP quotes
    std::vector<Known> known;
    std::vector<int64_t> ids;
    int64_t listener = -1;
    net::Time now = 1'000'000'000;
    uint64_t counters[sizeof(tcp::Counters) / 8] = {};

    static bool capture(void* context, net::Ip4 s, net::Ip4 d, uint8_t protocol, const uint8_t* p,
                        size_t n) {
        auto* h = static_cast<Harness*>(context);
        if (protocol != net::kProtocolTcp)
            fail("a segment with another protocol number");
        h->out.push_back(Sent{s, d, std::vector<uint8_t>(p, p + n)});
        return true;
    }

    bool init(uint8_t shape) {
        limits.connections = 1 + shape % 6;
        limits.listeners = 2;
        limits.backlog = 1 + shape % 3;
        limits.receive_buffer = (shape & 8) != 0 ? 2048 : 65536;
        limits.send_buffer = (shape & 16) != 0 ? 1024 : 8192;
        limits.out_of_order_ranges = 1 + (shape >> 5) % 4;
        limits.mss = (shape & 128) != 0 ? 536 : 100;
        const size_t size = tcp::Engine::storage_size(limits);
        if (size == 0)
            fail("storage_size refused good limits");
        // One buffer for every input, allocated once: init() lays out and clears the tables,
        // and the engine never reads a ring byte it did not write.
        static std::vector<uint8_t> storage;
        if (storage.size() < size + 16)
            storage.resize(size + 16);
        aligned = storage.data() + (16 - reinterpret_cast<uintptr_t>(storage.data()) % 16) % 16;
        net::IpOutput o;
        o.context = this;
        o.send = capture;
        return engine.init(limits, o, shape, aligned, size) == 0;
    }

    void check_segment(const Sent& s) {
        const auto& b = s.bytes;
        if (s.source != kUs)
            fail("a segment from an address not ours");
        if (b.size() < 20 || b.size() > 65535)
            fail("a segment of an impossible size");
        const size_t header = static_cast<size_t>(b[12] >> 4) * 4;
        if (header < 20 || header > b.size())
            fail("a segment with a bad data offset");
        for (size_t i = 20; i < header;) {
            if (b[i] == 0)
                break;
            if (b[i] == 1) {
                ++i;
                continue;
            }
            if (i + 1 >= header || b[i + 1] < 2 || i + b[i + 1] > header)
                fail("an option running off the header");
            if (b[i] == 2 && (b[i + 1] != 4 || net::get16(&b[i + 2]) != limits.mss))
                fail("an MSS option that is not ours");
            if (b[i] == 3 && (b[i + 1] != 3 || b[i + 2] > 14))
                fail("a window scale option out of range");
            if ((b[i] == 2 || b[i] == 3) && (b[13] & kSyn) == 0)
                fail("a SYN option on a segment without SYN");
            i += b[i + 1];
        }
        const uint32_t sum =
            net::checksum_add(net::pseudo_header_sum(s.source, s.destination, net::kProtocolTcp,
                                                     static_cast<uint16_t>(b.size())),
                              b.data(), b.size());
        if (net::checksum_fold(sum) != 0)
            fail("a segment with a wrong checksum");
        const uint8_t flags = b[13];
        if ((flags & kSyn) != 0 && (flags & (kRst | kFin)) != 0)
            fail("SYN together with RST or FIN");
        const size_t payload = b.size() - header;
        if (payload > limits.mss)
            fail("a payload above the MSS");
        if ((flags & kRst) != 0 && payload != 0)
            fail("data on a RST");
        if ((flags & kSyn) != 0 && payload != 0)
            fail("data on a SYN");
        if (net::get16(&b[0]) == 0 || net::get16(&b[2]) == 0)
            fail("port 0");
        // Remember where this connection's numbers are.
        const uint16_t lp = net::get16(&b[0]), rp = net::get16(&b[2]);
        Known k{lp, rp, net::get32(&b[4]) + static_cast<uint32_t>(payload), net::get32(&b[8])};
        for (auto& e : known)
            if (e.local_port == lp && e.remote_port == rp) {
                e = k;
                return;
            }
        if (known.size() < 16)
            known.push_back(k);
    }

    void drain() {
        while (!out.empty()) {
            check_segment(out.front());
            history.push_back(out.front());
            if (history.size() > 8)
                history.erase(history.begin());
            out.pop_front();
        }
    }

    void check_invariants() {
        drain();
        uint64_t now_counters[sizeof(tcp::Counters) / 8];
        std::memcpy(now_counters, &engine.counters(), sizeof now_counters);
        for (size_t i = 0; i < sizeof now_counters / 8; ++i)
            if (now_counters[i] < counters[i])
                fail("a counter went down");
        std::memcpy(counters, now_counters, sizeof counters);
        if (engine.slots_in_use() > limits.connections)
            fail("more slots in use than there are");
        if (engine.ranges_in_use() > limits.connections * limits.out_of_order_ranges)
            fail("more ranges than the limits allow");
        for (int64_t id : ids)
            if (engine.readable(id) > limits.receive_buffer)
                fail("more readable than the buffer holds");
    }

    void give(const std::vector<uint8_t>& segment) {
        engine.input(kPeer, kUs, segment.data(), segment.size(), now);
    }

    static std::vector<uint8_t> build(uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack,
                                      uint8_t flags, uint16_t window, const uint8_t* options,
                                      size_t options_size, size_t payload) {
        const size_t header = 20 + (options_size + 3) / 4 * 4;
        std::vector<uint8_t> b(header + payload, 0);
        net::put16(&b[0], sp);
        net::put16(&b[2], dp);
        net::put32(&b[4], seq);
        net::put32(&b[8], ack);
        b[12] = static_cast<uint8_t>(header / 4 << 4);
        b[13] = flags;
        net::put16(&b[14], window);
        if (options_size > 0)
            std::memcpy(&b[20], options, options_size);
        for (size_t i = 0; i < payload; ++i)
            b[header + i] = static_cast<uint8_t>(i * 13 + 7);
        const uint32_t sum = net::checksum_add(
            net::pseudo_header_sum(kPeer, kUs, net::kProtocolTcp, static_cast<uint16_t>(b.size())),
            b.data(), b.size());
        net::put16(&b[16], net::checksum_fold(sum));
        return b;
    }

    // The scripted start: an active and a passive connection, both established.
    void setup() {
        listener = engine.listen(0, 80, limits.backlog);
        if (listener < 0)
            fail("listen refused on a fresh engine");
        const int64_t active = engine.connect(kUs, kPeer, 443, now);
        if (active < 0)
            fail("connect refused on a fresh engine");
        ids.push_back(active);
        if (out.empty())
            fail("connect sent no SYN");
        const Sent syn = out.front();
        drain();
        const uint16_t port = net::get16(&syn.bytes[0]);
        const uint32_t iss = net::get32(&syn.bytes[4]);
        const uint8_t mss[4] = {2, 4, 0x05, 0xb4};
        give(build(443, port, 1000, iss + 1, kSyn | kAck, 65535, mss, 4, 0));
        if (limits.connections >= 2) {
            give(build(5555, 80, 7000, 0, kSyn, 65535, mss, 4, 0));
            drain();
            uint32_t their_iss = 0;
            for (const Known& k : known)
                if (k.remote_port == 5555)
                    their_iss = k.seq;
            give(build(5555, 80, 7001, their_iss + 1, kAck, 65535, nullptr, 0, 0));
            const int64_t passive = engine.accept(listener);
            if (passive >= 0)
                ids.push_back(passive);
        }
        check_invariants();
    }

    // The results tcp.hpp allows a call to return besides a count: one of the errors it names.
    static bool allowed(int64_t r, std::initializer_list<net::Error> errors) {
        if (r >= 0)
            return true;
        for (net::Error e : errors)
            if (r == net::fail(e))
                return true;
        return false;
    }
    static constexpr auto kFailures = {net::Error::kRefused, net::Error::kReset,
                                       net::Error::kTimedOut, net::Error::kUnreachable};

    void expect(int64_t r, std::initializer_list<net::Error> errors, const char* what) {
        if (allowed(r, errors))
            return;
        for (net::Error e : kFailures)
            if (r == net::fail(e))
                return;
        fail(what);
    }

    int64_t pick(Input& in) {
        if (ids.empty())
            return static_cast<int64_t>(in.take(1));
        const uint32_t k = in.take(1);
        return k >= 250 ? static_cast<int64_t>(k) * 977 : ids[k % ids.size()];
    }

    void step(Input& in) {
        const uint32_t op = in.take(1) % 16;
        switch (op) {
            case 0: {  // raw bytes as a segment
                const uint32_t n = in.take(1);
                std::vector<uint8_t> b;
                for (uint32_t i = 0; i < n && !in.done(); ++i)
                    b.push_back(static_cast<uint8_t>(in.take(1)));
                engine.input(kPeer, kUs, b.data(), b.size(), now);
                break;
            }
            case 1:
            case 2:
            case 3:
            case 4: {  // a crafted segment with a right checksum, near a connection's windows
                Known k{static_cast<uint16_t>(in.take(2)), 80, in.take(4), in.take(4)};
                const uint32_t which = in.take(1);
                if (!known.empty() && which < 240) {
                    k = known[which % known.size()];
                    k.seq += static_cast<uint32_t>(
                        static_cast<int32_t>(static_cast<int16_t>(in.take(2))));
                    k.ack += static_cast<uint32_t>(static_cast<int8_t>(in.take(1)));
                }
                const auto flags = static_cast<uint8_t>(in.take(1));
                const auto window = static_cast<uint16_t>(in.take(2));
                const uint32_t payload = in.take(1) * (op == 4 ? 8u : 1u);
                const uint32_t options = in.take(1) % 12;
                uint8_t opt[12] = {};
                for (uint32_t i = 0; i < options; ++i)
                    opt[i] = static_cast<uint8_t>(in.take(1));
                // From the peer's side: its seq is what we acknowledged, its ack our seq.
                give(build(k.remote_port, k.local_port, k.ack, k.seq, flags, window, opt, options,
                           payload));
                break;
            }
            case 5: {
                const int64_t id = pick(in);
                static uint8_t data[4096];
                const int64_t r = engine.send(id, data, in.take(2) % sizeof data, now);
                expect(r,
                       {net::Error::kInvalid, net::Error::kWouldBlock, net::Error::kNotConnected},
                       "send returned an error it does not name");
                if (r > 0 && static_cast<size_t>(r) > sizeof data)
                    fail("send took more than it was given");
                break;
            }
            case 6: {
                uint8_t buffer[2048];
                const size_t cap = in.take(2) % sizeof buffer;
                const int64_t id = pick(in);
                const size_t before = engine.readable(id);
                const int64_t r = engine.receive(id, buffer, cap, now);
                expect(r, {net::Error::kInvalid, net::Error::kWouldBlock},
                       "receive returned an error it does not name");
                if (r > 0 && (static_cast<size_t>(r) > cap || static_cast<size_t>(r) > before))
                    fail("receive returned more than there was");
                break;
            }
            case 7:
                expect(engine.shutdown(pick(in), now),
                       {net::Error::kInvalid, net::Error::kNotConnected},
                       "shutdown returned an error it does not name");
                break;
            case 8:
                engine.close(pick(in), now);
                break;
            case 9:
                engine.abort(pick(in), now);
                break;
            case 10: {
                const int64_t id =
                    engine.connect(kUs, kPeer, static_cast<uint16_t>(in.take(2)), now);
                if (id >= 0 && ids.size() < 32)
                    ids.push_back(id);
                break;
            }
            case 11: {
                const int64_t id = engine.accept(listener);
                if (id >= 0 && ids.size() < 32)
                    ids.push_back(id);
                break;
            }
            case 12:
                engine.set_keepalive(pick(in), (in.take(1) & 1) != 0);
                break;
            case 13: {  // an ICMP error quoting something we sent
                const uint8_t type = (in.take(1) & 1) != 0 ? 3 : 11;
                const auto code = static_cast<uint8_t>(in.take(1) % 16);
                if (!history.empty()) {
                    const Sent& s = history[in.take(1) % history.size()];
                    engine.icmp_error(type, code, s.destination, s.bytes.data(),
                                      std::min<size_t>(s.bytes.size(), 8 + in.take(1) % 32), now);
                }
                break;
            }
            case 14: {  // time moves on: a small step, or to the next deadline
                const uint32_t how = in.take(1);
                const net::Time next = engine.poll(now);
                if (next != net::kNever && next < now)
                    fail("poll returned a deadline in the past");
                if (how < 128)
                    now += static_cast<net::Time>(how) * 5'000'000;
                else if (next != net::kNever)
                    now = next;
                engine.poll(now);
                break;
            }
            case 15: {
                const uint32_t what = in.take(1);
                if (what < 128) {
                    engine.close_listener(listener, now);
                    listener = engine.listen(0, 80, 1 + what % 4);
                } else {
                    engine.info(pick(in), nullptr);
                    tcp::Info info{};
                    engine.info(pick(in), &info);
                    const int64_t st = engine.status(pick(in));
                    if (st > 1)
                        fail("status above 1");
                    expect(st, {net::Error::kInvalid, net::Error::kClosed},
                           "status returned an error it does not name");
                }
                break;
            }
        }
        check_invariants();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    Input in{data, size};
    // One engine per input, laid out afresh: nothing carries over.
    Harness harness;
    Harness* h = &harness;
    if (!h->init(static_cast<uint8_t>(in.take(1))))
        fail("init refused good limits");
    h->setup();
    for (int steps = 0; steps < 2000 && !in.done(); ++steps)
        h->step(in);
    // The end: a long time later every timer has run and the deadlines are sane.
    for (int k = 0; k < 64; ++k) {
        const net::Time next = h->engine.poll(h->now);
        h->check_invariants();
        if (next == net::kNever)
            break;
        if (next < h->now)
            fail("poll returned a deadline in the past");
        h->now = next;
    }
    return 0;
}
