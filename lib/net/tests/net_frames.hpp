// Test-only frame builders for lib/net's tests: each layer written from the RFC layouts by
// hand (independently of the library's writers), and a harness holding a Stack in its storage.
#pragma once

#include <keel/net/stack.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace keel::net::testing {

using Bytes = std::vector<uint8_t>;

inline constexpr Mac kOurMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};    // QEMU's default NIC
inline constexpr Mac kSlirpMac{{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}};  // slirp's gateway
inline constexpr Ip4 kOurIp = 0x0a00020f;                              // 10.0.2.15
inline constexpr Ip4 kGateway = 0x0a000202;                            // 10.0.2.2
inline constexpr Ip4 kDns = 0x0a000203;                                // 10.0.2.3
inline constexpr Ip4 kMask = 0xffffff00;

inline void be16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void be32(Bytes& b, uint32_t v) {
    be16(b, static_cast<uint16_t>(v >> 16));
    be16(b, static_cast<uint16_t>(v));
}
inline uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t rd32(const uint8_t* p) {
    return static_cast<uint32_t>(rd16(p)) << 16 | rd16(p + 2);
}
inline void append(Bytes& b, const Bytes& more) {
    b.insert(b.end(), more.begin(), more.end());
}

// RFC 1071, written out again here: the sum of 16-bit words folded and complemented.
inline uint16_t inet_sum(const uint8_t* p, size_t n, uint32_t start = 0) {
    uint64_t s = start;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n % 2)
        s += static_cast<uint32_t>(p[n - 1] << 8);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s & 0xffff);
}

inline Bytes ethernet(const Mac& dst, const Mac& src, uint16_t type, const Bytes& payload) {
    Bytes b(dst.bytes, dst.bytes + 6);
    b.insert(b.end(), src.bytes, src.bytes + 6);
    be16(b, type);
    append(b, payload);
    return b;
}

inline Bytes arp(uint16_t op, const Mac& smac, Ip4 sip, const Mac& tmac, Ip4 tip) {
    Bytes b;
    be16(b, 1);
    be16(b, 0x0800);
    b.push_back(6);
    b.push_back(4);
    be16(b, op);
    b.insert(b.end(), smac.bytes, smac.bytes + 6);
    be32(b, sip);
    b.insert(b.end(), tmac.bytes, tmac.bytes + 6);
    be32(b, tip);
    return b;
}

// flags_offset: the raw 16-bit field (0x2000 = MF, low 13 bits the offset in 8-byte units).
inline Bytes ipv4(Ip4 src, Ip4 dst, uint8_t proto, const Bytes& payload, uint16_t id = 1,
                  uint16_t flags_offset = 0, uint8_t ttl = 64, const Bytes& options = {}) {
    Bytes b;
    b.push_back(static_cast<uint8_t>(0x40 | (5 + options.size() / 4)));
    b.push_back(0);
    be16(b, static_cast<uint16_t>(20 + options.size() + payload.size()));
    be16(b, id);
    be16(b, flags_offset);
    b.push_back(ttl);
    b.push_back(proto);
    be16(b, 0);
    be32(b, src);
    be32(b, dst);
    append(b, options);
    const uint16_t c = inet_sum(b.data(), b.size());
    b[10] = static_cast<uint8_t>(c >> 8);
    b[11] = static_cast<uint8_t>(c);
    append(b, payload);
    return b;
}

inline uint32_t pseudo(Ip4 src, Ip4 dst, uint8_t proto, size_t length) {
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto +
           static_cast<uint32_t>(length);
}

inline Bytes udp(Ip4 src, uint16_t sp, Ip4 dst, uint16_t dp, const Bytes& payload,
                 bool checksum = true) {
    Bytes b;
    be16(b, sp);
    be16(b, dp);
    be16(b, static_cast<uint16_t>(8 + payload.size()));
    be16(b, 0);
    append(b, payload);
    if (checksum) {
        uint16_t c = inet_sum(b.data(), b.size(), pseudo(src, dst, 17, b.size()));
        if (c == 0)
            c = 0xffff;
        b[6] = static_cast<uint8_t>(c >> 8);
        b[7] = static_cast<uint8_t>(c);
    }
    return b;
}

inline Bytes icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq, const Bytes& body) {
    Bytes b{type, code, 0, 0};
    be16(b, id);
    be16(b, seq);
    append(b, body);
    const uint16_t c = inet_sum(b.data(), b.size());
    b[2] = static_cast<uint8_t>(c >> 8);
    b[3] = static_cast<uint8_t>(c);
    return b;
}

// A whole frame from slirp's side to us.
inline Bytes udp_frame(Ip4 src, uint16_t sp, Ip4 dst, uint16_t dp, const Bytes& payload,
                       const Mac& to = kOurMac) {
    return ethernet(to, kSlirpMac, 0x0800, ipv4(src, dst, 17, udp(src, sp, dst, dp, payload)));
}

// A Stack in its own storage, and its output drained into a list.
struct Harness {
    explicit Harness(const Limits& l = Limits{}, const Mac& mac = kOurMac, uint64_t seed = 1,
                     uint16_t mtu = 1500)
        : size(Stack::storage_size(l, mtu)),
          storage(static_cast<uint8_t*>(::operator new (size, std::align_val_t{16}))) {
        result = stack.init(l, mac, mtu, seed, storage.get(), size);
    }
    std::vector<Bytes> drain() {
        std::vector<Bytes> out;
        uint8_t buf[9100];
        for (size_t n; (n = stack.take_frame(buf, sizeof buf)) != 0;)
            out.emplace_back(buf, buf + n);
        return out;
    }
    void feed(const Bytes& f, Time now = 0) { stack.receive(f.data(), f.size(), now); }
    // Configured as QEMU's user network, with the gateway already resolved.
    void slirp(Time now = 0) {
        stack.configure(kOurIp, kMask, kGateway, kDns);
        // slirp answers for the gateway and the DNS server with one MAC.
        feed(ethernet(kOurMac, kSlirpMac, 0x0806, arp(1, kSlirpMac, kGateway, Mac{}, kOurIp)), now);
        feed(ethernet(kOurMac, kSlirpMac, 0x0806, arp(1, kSlirpMac, kDns, Mac{}, kOurIp)), now);
        drain();
    }

    struct Free {
        void operator()(uint8_t* p) const { ::operator delete (p, std::align_val_t{16}); }
    };
    size_t size;
    std::unique_ptr<uint8_t, Free> storage;
    Stack stack;
    int64_t result = 0;
};

}  // namespace keel::net::testing
