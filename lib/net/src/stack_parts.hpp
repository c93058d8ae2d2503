// The Stack's private tables, shared by its source files (stack*.cpp). Each lives in the
// caller's storage, carved by Stack::init; see stack.cpp for the layout.
#pragma once

#include <keel/net/dns.hpp>
#include <keel/net/stack.hpp>

namespace keel::net {

constexpr size_t align16(size_t n) {
    return (n + 15) & ~static_cast<size_t>(15);
}

// Ids handed out for sockets and queries: a generation above the slot index, so an id kept
// after its slot was freed and taken again no longer matches.
inline int64_t make_id(uint32_t generation, uint32_t index) {
    return static_cast<int64_t>(generation & 0x7fffffu) << 16 | index;
}

// The slot index an id names, if it is in [0, count): the generation is checked by the caller.
inline bool id_index(int64_t id, uint32_t count, uint32_t* index) {
    if (id < 0 || static_cast<uint32_t>(id & 0xffff) >= count)
        return false;
    *index = static_cast<uint32_t>(id & 0xffff);
    return true;
}

struct Stack::ArpEntry {
    enum State : uint8_t { kFree, kPending, kResolved } state;
    uint8_t tries;  // pending: retries sent so far
    Ip4 address;
    Mac mac;
    Time deadline;  // resolved: expiry; pending: the next retry
};

struct Stack::FrameSlot {
    enum State : uint8_t { kFree, kWaiting, kReady } state;
    Ip4 next_hop;       // kWaiting: the address ARP is resolving
    uint64_t sequence;  // kReady: transmission order
    uint32_t size;
    // The frame's bytes follow at align16(sizeof(FrameSlot)).
};

struct Stack::Socket {
    bool open;
    bool refused;  // an ICMP port unreachable answered a datagram it sent: reported once
    uint16_t port;
    uint32_t generation;
    uint32_t head;  // the oldest queued datagram
    uint32_t count;
    // udp_queue entries follow at align16(sizeof(Socket)), each a QueuedDatagram and its data.
};

struct QueuedDatagram {
    Ip4 source;
    uint16_t port;
    uint32_t size;
};

struct Stack::Query {
    enum State : uint8_t { kFree, kPending, kDone } state;
    uint8_t sends;
    uint16_t id;    // the DNS message id
    uint16_t port;  // our source port
    uint32_t generation;
    int64_t result;
    Ip4 address;
    Time deadline;
    Time wait;  // the current retransmission interval
    uint8_t qname_size;
    uint8_t qname[kDnsMaxName];
};

struct Stack::PingReply {
    bool used;
    uint16_t identifier, sequence;
    Ip4 from;
    uint32_t size;
    uint64_t order;
    uint8_t data[Stack::kPingData];
};

}  // namespace keel::net
