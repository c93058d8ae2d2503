// The seam between the transport engines (TCP, and anything else above IPv4) and the layer that
// sends IPv4 datagrams. TCP builds a segment and hands it down through this; the stack (or a
// test's simulated link) wraps it in IPv4 and Ethernet, resolving the next hop. A function
// pointer and a context rather than a virtual class: no vtables or RTTI in freestanding code.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"

namespace keel::net {

struct IpOutput {
    void* context = nullptr;
    // Sends payload[0, size) as one IPv4 datagram of `protocol` from source to destination.
    // true if it was sent or queued (for example behind an ARP request); false if it was
    // dropped (no route, no memory): the caller treats that like a loss on the wire.
    bool (*send)(void* context, Ip4 source, Ip4 destination, uint8_t protocol,
                 const uint8_t* payload, size_t size) = nullptr;

    // Writes a datagram's payload where it is to go: called with the place for `size` bytes.
    using Fill = void (*)(void* fill_context, uint8_t* payload, size_t size);
    // Optional: sends one IPv4 datagram of `size` payload bytes, which fill() writes straight
    // into the outgoing frame (or wherever the datagram is kept), so a transport that builds
    // its segment there saves a copy of every byte it sends. fill is called at most once, and
    // not when the datagram is refused before it is built (no route, no room). The same
    // result as send. Without it, callers build the payload themselves and use send.
    bool (*build)(void* context, Ip4 source, Ip4 destination, uint8_t protocol, size_t size,
                  Fill fill, void* fill_context) = nullptr;

    bool operator()(Ip4 source, Ip4 destination, uint8_t protocol, const uint8_t* payload,
                    size_t size) const {
        return send != nullptr && send(context, source, destination, protocol, payload, size);
    }
};

inline constexpr uint8_t kProtocolIcmp = 1;
inline constexpr uint8_t kProtocolTcp = 6;
inline constexpr uint8_t kProtocolUdp = 17;

}  // namespace keel::net
