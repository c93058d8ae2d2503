// The engine's one error shape: functions that can fail return int64_t, a value >= 0 or
// -static_cast<int64_t>(Error). The server maps these to the ABI's errors (lib/net knows
// nothing of the ABI).
#pragma once

#include <stdint.h>

namespace keel::net {

enum class Error : int64_t {
    kWouldBlock = 1,    // nothing to take now (no data, no connection, no room): try later
    kInvalid = 2,       // an argument out of range (port 0, a bad id, a closed socket)
    kNoRoom = 3,        // the caller's storage is full (sockets, connections, queue)
    kRefused = 4,       // TCP: a RST answered our SYN; UDP: ICMP port unreachable
    kReset = 5,         // the peer reset an established connection
    kTimedOut = 6,      // retransmissions, a DNS query or a connection attempt gave up
    kUnreachable = 7,   // no address, no route, no ARP answer
    kAddressInUse = 8,  // the port is bound or listened on already
    kNotConnected = 9,  // a send before the connection is established, or after shutdown
    kClosed = 10,       // the connection ended in order (for a send: the peer is gone)
    kNotFound = 11,     // DNS: the name does not exist
    kMalformed = 12,    // a received message breaks its format (counted and dropped)
};

constexpr int64_t fail(Error e) {
    return -static_cast<int64_t>(e);
}

}  // namespace keel::net
