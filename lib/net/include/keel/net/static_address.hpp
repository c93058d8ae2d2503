// A static IPv4 configuration from the network server's options (`--address=A.B.C.D/N`,
// `--gateway=A.B.C.D`), parsed here so that host tests see exactly what the server runs: the
// text comes from a configuration file (init.conf) and is not trusted.
#pragma once

#include <stddef.h>

#include "addr.hpp"

namespace keel::net {

struct StaticAddress {
    Ip4 address, netmask, gateway;  // gateway 0: none (only the link's own subnet is reached)
};

// ADDRESS is "a.b.c.d/N" with N in 8..30 (a host address on a subnet with room for two hosts
// or more); the address must be neither the subnet's own address nor its broadcast, nor in
// 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0 and above. GATEWAY (nullptr/0: none) is a dotted quad on
// that subnet, another host than the address. Exactly the given sizes are read (no NUL needed).
// nullptr and *out filled, or a static reason and *out unchanged.
const char* parse_static_address(const char* address, size_t address_size, const char* gateway,
                                 size_t gateway_size, StaticAddress* out);

}  // namespace keel::net
