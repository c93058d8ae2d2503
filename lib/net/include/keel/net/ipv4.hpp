// IPv4 (RFC 791): header parsing and writing, and fragment reassembly in fixed slots. The
// Stack (stack.hpp) decides what is for us and routes output; output never fragments.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"
#include "time.hpp"

namespace keel::net {

inline constexpr size_t kIpv4Header = 20;  // without options: all we send
inline constexpr uint8_t kIpv4Ttl = 64;    // on output (RFC 1700's default)
inline constexpr Time kReassemblyTimeout = 30 * kSecond;
// The largest datagram the reassembler can hold (the total-length field's limit).
inline constexpr uint32_t kIpv4MaxDatagram = 65535;

struct Ipv4Packet {
    uint8_t header_size;  // IHL * 4, 20..60; options are skipped, never interpreted
    uint8_t ttl;
    uint8_t protocol;
    bool more_fragments;
    uint16_t identification;
    uint16_t fragment_offset;  // in bytes (the field * 8)
    Ip4 source;
    Ip4 destination;
    const uint8_t* payload;  // inside the buffer handed to parse_ipv4, excluding link padding
    size_t size;             // total length - header size
};

enum class Ipv4Parse : uint8_t {
    kOk,
    kMalformed,    // truncated, version != 4, IHL < 5, total length beyond the buffer or below
                   // the header, the reserved flag, a fragment running past 65535
    kBadChecksum,  // the header checksum does not verify
};

Ipv4Parse parse_ipv4(const uint8_t* data, size_t size, Ipv4Packet* out);
// Writes a 20-byte header (no options, DF clear, TTL kIpv4Ttl) with its checksum; payload_size
// must be at most 65515.
void write_ipv4_header(uint8_t* out, Ip4 source, Ip4 destination, uint8_t protocol,
                       uint16_t identification, size_t payload_size);

// Fragment reassembly (RFC 791 section 3.2, RFC 815's idea with a bitmap of 8-byte blocks).
// Each slot holds one datagram keyed by (source, destination, protocol, identification) in
// caller storage: `capacity` bytes of data plus a bitmap. Fragments that overlap data already
// held must carry the same bytes there (a duplicate is harmless); a fragment that contradicts
// what is held, a second differing end, a piece past the end or past the capacity, or a
// non-final fragment whose length is not a multiple of 8 drops the whole datagram (RFC 5722's
// reasoning for IPv6 applied to IPv4: overlaps are an attack or a fault, never repaired).
class Reassembly {
  public:
    struct Result {
        enum Kind : uint8_t { kHeld, kComplete, kDropped } kind;
        const uint8_t* data;  // kComplete: the whole payload, valid until the next add/expire
        size_t size;
        uint32_t fragments_dropped;  // how many fragments (this one included) were thrown away
    };

    // Bytes of storage for `slots` slots of `capacity` bytes (capacity a multiple of 8).
    static size_t storage_size(uint32_t slots, uint32_t capacity);
    void init(uint32_t slots, uint32_t capacity, void* storage);
    // Adds one fragment (a packet with more_fragments or a non-zero offset).
    Result add(const Ipv4Packet& fragment, Time now);
    // Frees slots older than kReassemblyTimeout: how many fragments they held.
    uint32_t expire(Time now);
    // The earliest expiry, or kNever.
    Time deadline() const;
    uint32_t slots_in_use() const;

  private:
    struct Slot;
    Slot* slot(uint32_t i) const;
    void release(Slot* s);

    uint8_t* storage_ = nullptr;
    uint32_t slots_ = 0;
    uint32_t capacity_ = 0;
    size_t slot_size_ = 0;
};

}  // namespace keel::net
