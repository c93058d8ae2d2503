// Test-only helpers for the TCP engine's tests: an engine with its storage and a captured
// output, an independent segment builder and reader (its own checksum check through wire.hpp's
// primitives), and a wire between two engines.
#pragma once

#include <keel/net/tcp.hpp>
#include <keel/net/wire.hpp>

#include <cstdlib>
#include <deque>
#include <memory>
#include <vector>

namespace keel::net::tcp::testing {

inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

struct Packet {
    Ip4 source, destination;
    std::vector<uint8_t> bytes;
};

// A segment as the test reads it back.
struct Seg {
    bool ok = false;  // length, data offset, options and checksum all right
    uint16_t source_port = 0, destination_port = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;
    uint16_t window = 0;
    uint16_t mss = 0;
    int window_scale = -1;  // the option's shift, -1 when absent
    std::vector<uint8_t> data;
    bool has(uint8_t f) const { return (flags & f) == f; }
};

inline Seg read(const Packet& p) {
    Seg s;
    const auto& b = p.bytes;
    if (b.size() < 20)
        return s;
    const size_t header = static_cast<size_t>(b[12] >> 4) * 4;
    if (header < 20 || header > b.size())
        return s;
    const uint32_t sum =
        checksum_add(pseudo_header_sum(p.source, p.destination, 6, static_cast<uint16_t>(b.size())),
                     b.data(), b.size());
    if (checksum_fold(sum) != 0)
        return s;
    for (size_t i = 20; i < header;) {
        if (b[i] == 0)
            break;
        if (b[i] == 1) {
            ++i;
            continue;
        }
        if (i + 1 >= header || b[i + 1] < 2 || i + b[i + 1] > header)
            return s;
        if (b[i] == 2 && b[i + 1] == 4)
            s.mss = get16(&b[i + 2]);
        if (b[i] == 3 && b[i + 1] == 3)
            s.window_scale = b[i + 2];
        i += b[i + 1];
    }
    s.source_port = get16(&b[0]);
    s.destination_port = get16(&b[2]);
    s.seq = get32(&b[4]);
    s.ack = get32(&b[8]);
    s.flags = b[13];
    s.window = get16(&b[14]);
    s.data.assign(b.begin() + static_cast<long>(header), b.end());
    s.ok = true;
    return s;
}

inline std::vector<uint8_t> build(Ip4 source, Ip4 destination, uint16_t source_port,
                                  uint16_t destination_port, uint32_t seq, uint32_t ack,
                                  uint8_t flags, uint16_t window,
                                  const std::vector<uint8_t>& data = {}, uint16_t mss = 0,
                                  int window_scale = -1) {
    const size_t header = 20 + (mss != 0 ? 4 : 0) + (window_scale >= 0 ? 4 : 0);
    std::vector<uint8_t> b(header + data.size(), 0);
    put16(&b[0], source_port);
    put16(&b[2], destination_port);
    put32(&b[4], seq);
    put32(&b[8], ack);
    b[12] = static_cast<uint8_t>(header / 4 << 4);
    b[13] = flags;
    put16(&b[14], window);
    if (mss != 0) {
        b[20] = 2;
        b[21] = 4;
        put16(&b[22], mss);
    }
    if (window_scale >= 0) {
        b[header - 4] = 1;
        b[header - 3] = 3;
        b[header - 2] = 3;
        b[header - 1] = static_cast<uint8_t>(window_scale);
    }
    for (size_t i = 0; i < data.size(); ++i)
        b[header + i] = data[i];
    const uint32_t sum =
        checksum_add(pseudo_header_sum(source, destination, 6, static_cast<uint16_t>(b.size())),
                     b.data(), b.size());
    put16(&b[16], checksum_fold(sum));
    return b;
}

// An engine, its storage and everything it sent.
struct Host {
    Limits limits;
    Ip4 address;
    Engine engine;
    std::deque<Packet> sent;
    uint64_t built = 0;  // segments sent through IpOutput::build
    std::unique_ptr<uint8_t, decltype(&std::free)> storage{nullptr, &std::free};

    // in_place: the output offers IpOutput::build (as the Stack's does), so the engine writes
    // each segment straight into the packet kept here; otherwise only send (its scratch path).
    explicit Host(Ip4 addr, Limits l = Limits{}, uint64_t seed = 1, bool in_place = false)
        : limits(l), address(addr) {
        const size_t size = Engine::storage_size(l);
        storage.reset(static_cast<uint8_t*>(std::aligned_alloc(16, (size + 15) / 16 * 16)));
        IpOutput out;
        out.context = this;
        out.send = [](void* context, Ip4 s, Ip4 d, uint8_t protocol, const uint8_t* p, size_t n) {
            auto* self = static_cast<Host*>(context);
            if (protocol != 6)
                std::abort();
            self->sent.push_back(Packet{s, d, std::vector<uint8_t>(p, p + n)});
            return true;
        };
        if (in_place)
            out.build = [](void* context, Ip4 s, Ip4 d, uint8_t protocol, size_t n,
                           IpOutput::Fill fill, void* fill_context) {
                auto* self = static_cast<Host*>(context);
                if (protocol != 6)
                    std::abort();
                // Poisoned first: a byte fill() leaves unwritten shows in the checksum.
                Packet p{s, d, std::vector<uint8_t>(n, 0xa5)};
                fill(fill_context, p.bytes.data(), n);
                self->sent.push_back(std::move(p));
                ++self->built;
                return true;
            };
        if (engine.init(l, out, seed, storage.get(), size) != 0)
            std::abort();
    }
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    Seg take() {
        if (sent.empty())
            return Seg{};
        Packet p = sent.front();
        sent.pop_front();
        return read(p);
    }
    void give(Ip4 from, const std::vector<uint8_t>& bytes, Time now) {
        engine.input(from, address, bytes.data(), bytes.size(), now);
    }
};

}  // namespace keel::net::tcp::testing
