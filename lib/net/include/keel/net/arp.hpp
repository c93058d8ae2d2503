// ARP for IPv4 over Ethernet (RFC 826): the 28-byte packet. The cache and its timers live in
// the Stack (stack.hpp); see lib/net/README.md for the policy.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"
#include "time.hpp"

namespace keel::net {

inline constexpr size_t kArpSize = 28;
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

// How long a resolved entry lives, how often a pending one is asked again, and how many times
// it is asked again before the frames queued behind it are dropped.
inline constexpr Time kArpEntryLifetime = 60 * kSecond;
inline constexpr Time kArpRetryInterval = kSecond;
inline constexpr uint32_t kArpRetries = 3;

struct ArpPacket {
    uint16_t operation;
    Mac sender_mac;
    Ip4 sender_ip;
    Mac target_mac;
    Ip4 target_ip;
};

// true and *out for an Ethernet/IPv4 request or reply (hardware type 1, protocol 0x0800,
// lengths 6 and 4, operation 1 or 2); bytes past the 28 (link padding) are ignored.
bool parse_arp(const uint8_t* data, size_t size, ArpPacket* out);
// Writes kArpSize bytes at out.
void write_arp(uint8_t* out, const ArpPacket& packet);

}  // namespace keel::net
