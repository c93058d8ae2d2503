// DHCP client messages (RFC 2131, options RFC 2132): building DISCOVER and REQUEST, parsing
// OFFER, ACK and NAK with every option bounded. The client's state machine lives in the
// Stack (stack.hpp); its timing is here.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"
#include "time.hpp"

namespace keel::net {

inline constexpr uint16_t kDhcpServerPort = 67;
inline constexpr uint16_t kDhcpClientPort = 68;
inline constexpr size_t kDhcpFixed = 236;  // op .. file, before the magic cookie
inline constexpr uint32_t kDhcpMagic = 0x63825363;
// What we send: the fixed part, the cookie and at most this much of options.
inline constexpr size_t kDhcpMaxMessage = kDhcpFixed + 4 + 64;

inline constexpr uint8_t kDhcpDiscover = 1;
inline constexpr uint8_t kDhcpOffer = 2;
inline constexpr uint8_t kDhcpRequest = 3;
inline constexpr uint8_t kDhcpAck = 5;
inline constexpr uint8_t kDhcpNak = 6;

// Retransmission (RFC 2131 section 4.1): 4 s doubling up to 64 s, each +-1 s at random.
inline constexpr Time kDhcpFirstRetry = 4 * kSecond;
inline constexpr Time kDhcpMaxRetry = 64 * kSecond;

struct DhcpMessage {
    uint8_t type;  // option 53; 0 when absent
    uint32_t xid;
    Ip4 your_address;  // yiaddr
    Ip4 server_id;     // option 54; 0 when absent
    Ip4 netmask;       // option 1; 0 when absent
    Ip4 router;        // option 3, the first; 0 when absent
    Ip4 dns;           // option 6, the first; 0 when absent
    uint32_t lease;    // option 51 in seconds; 0 when absent
    uint32_t t1;       // option 58; 0 when absent
    uint32_t t2;       // option 59; 0 when absent
};

// A BOOTREPLY for our hardware address: op 2, htype 1, hlen 6, chaddr == mac, the magic
// cookie, options well-formed up to END (each length inside the message; the fixed-size ones
// of their size). true and *out, or false.
bool parse_dhcp(const uint8_t* data, size_t size, const Mac& mac, DhcpMessage* out);

// Writes a client message (DISCOVER or REQUEST) at out (at least kDhcpMaxMessage bytes):
// its size. requested/server 0 leave options 50/54 out; client (ciaddr) is set when renewing.
size_t write_dhcp(uint8_t* out, uint8_t type, uint32_t xid, const Mac& mac, Ip4 client,
                  Ip4 requested, Ip4 server, uint16_t seconds);

}  // namespace keel::net
