// The Stack's UDP: sockets bound to ports, each with a bounded queue of received datagrams.
#include <keel/net/dhcp.hpp>
#include <keel/net/dns.hpp>
#include <keel/net/udp.hpp>
#include <keel/net/wire.hpp>

#include "stack_parts.hpp"

namespace keel::net {

Stack::Socket* Stack::socket(int64_t id) const {
    uint32_t index = 0;
    if (!id_index(id, limits_.udp_sockets, &index))
        return nullptr;
    Socket* s = reinterpret_cast<Socket*>(sockets_ + index * socket_stride_);
    return s->open && make_id(s->generation, index) == id ? s : nullptr;
}

uint8_t* Stack::socket_entry(const Socket* s, uint32_t index) const {
    return const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(s)) + align16(sizeof(Socket)) +
           index * entry_stride_;
}

bool Stack::port_in_use(uint16_t port) const {
    for (uint32_t i = 0; i < limits_.udp_sockets; ++i) {
        const Socket* s = reinterpret_cast<const Socket*>(sockets_ + i * socket_stride_);
        if (s->open && s->port == port)
            return true;
    }
    for (uint32_t i = 0; i < limits_.dns_queries; ++i)
        if (queries_[i].state == Query::kPending && queries_[i].port == port)
            return true;
    return false;
}

uint16_t Stack::ephemeral_port() {
    // A random start (RFC 6056's simple randomisation), then the next free one.
    constexpr uint32_t span = kEphemeralLast - kEphemeralFirst + 1;
    const uint32_t start = static_cast<uint32_t>(random() % span);
    for (uint32_t i = 0; i < span; ++i) {
        const uint16_t port = static_cast<uint16_t>(kEphemeralFirst + (start + i) % span);
        if (!port_in_use(port))
            return port;
    }
    return 0;  // unreachable with at most kMaxCount sockets and queries
}

int64_t Stack::udp_open(uint16_t port) {
    if (port != 0 && port_in_use(port))
        return fail(Error::kAddressInUse);
    for (uint32_t i = 0; i < limits_.udp_sockets; ++i) {
        Socket* s = reinterpret_cast<Socket*>(sockets_ + i * socket_stride_);
        if (s->open)
            continue;
        if (port == 0)
            port = ephemeral_port();
        *s = Socket{true, false, port, ++generation_, 0, 0};
        return make_id(s->generation, i);
    }
    return fail(Error::kNoRoom);
}

uint16_t Stack::udp_port(int64_t id) const {
    const Socket* s = socket(id);
    return s != nullptr ? s->port : 0;
}

void Stack::udp_close(int64_t id) {
    Socket* s = socket(id);
    if (s != nullptr)
        s->open = false;
}

bool Stack::send_udp(Ip4 source, uint16_t source_port, Ip4 destination, uint16_t port,
                     const uint8_t* data, size_t size) {
    if (size > mtu_ - kIpv4Header - kUdpHeader) {
        last_drop_ = Error::kInvalid;
        return false;
    }
    // The checksum covers the source address, so it is settled here rather than in send_ip.
    if (source == 0)
        source = interface_.address;
    write_udp(scratch_, source, source_port, destination, port, data, size);
    return send_ip(source, destination, kProtocolUdp, scratch_, kUdpHeader + size);
}

int64_t Stack::udp_send(int64_t id, Ip4 destination, uint16_t port, const uint8_t* data,
                        size_t size, Time now) {
    now_ = now;
    const Socket* s = socket(id);
    if (s == nullptr || port == 0 || size > mtu_ - kIpv4Header - kUdpHeader)
        return fail(Error::kInvalid);
    if (!send_udp(0, s->port, destination, port, data, size))
        return fail(last_drop_);
    return static_cast<int64_t>(size);
}

int64_t Stack::udp_receive(int64_t id, Ip4* source, uint16_t* port, uint8_t* buffer,
                           size_t capacity) {
    Socket* s = socket(id);
    if (s == nullptr)
        return fail(Error::kInvalid);
    if (s->count == 0) {
        if (s->refused) {
            s->refused = false;
            return fail(Error::kRefused);
        }
        return fail(Error::kWouldBlock);
    }
    const uint8_t* e = socket_entry(s, s->head);
    QueuedDatagram d;
    __builtin_memcpy(&d, e, sizeof d);
    const size_t n = d.size < capacity ? d.size : capacity;
    if (n != 0)
        __builtin_memcpy(buffer, e + sizeof(QueuedDatagram), n);
    if (source != nullptr)
        *source = d.source;
    if (port != nullptr)
        *port = d.port;
    s->head = (s->head + 1) % limits_.udp_queue;
    --s->count;
    return static_cast<int64_t>(n);
}

void Stack::udp_unreachable(uint16_t source_port) {
    for (uint32_t i = 0; i < limits_.udp_sockets; ++i) {
        Socket* s = reinterpret_cast<Socket*>(sockets_ + i * socket_stride_);
        if (s->open && s->port == source_port) {
            s->refused = true;
            ++events_;
        }
    }
}

void Stack::udp_input(const Ipv4Packet& p, Time now) {
    UdpDatagram d;
    switch (parse_udp(p.payload, p.size, p.source, p.destination, &d)) {
        case UdpParse::kOk:
            break;
        case UdpParse::kMalformed:
            ++counters_.malformed_udp;
            return;
        case UdpParse::kBadChecksum:
            ++counters_.bad_udp_checksum;
            return;
    }
    if (d.source_port == 0 || d.destination_port == 0) {
        ++counters_.malformed_udp;  // port 0 is reserved: nothing legitimate comes from it
        return;
    }
    if (dhcp_ != Dhcp::kOff && d.destination_port == kDhcpClientPort &&
        d.source_port == kDhcpServerPort) {
        dhcp_input(d.payload, d.size, now);
        return;
    }
    if (d.source_port == kDnsPort &&
        dns_input(p.source, d.source_port, d.destination_port, d.payload, d.size))
        return;
    for (uint32_t i = 0; i < limits_.udp_sockets; ++i) {
        Socket* s = reinterpret_cast<Socket*>(sockets_ + i * socket_stride_);
        if (!s->open || s->port != d.destination_port)
            continue;
        if (d.size > limits_.udp_datagram) {
            ++counters_.udp_too_large;
            return;
        }
        if (s->count == limits_.udp_queue) {
            ++counters_.udp_queue_full;
            return;
        }
        uint8_t* e = socket_entry(s, (s->head + s->count) % limits_.udp_queue);
        const QueuedDatagram q{p.source, d.source_port, static_cast<uint32_t>(d.size)};
        __builtin_memcpy(e, &q, sizeof q);
        if (d.size != 0)
            __builtin_memcpy(e + sizeof(QueuedDatagram), d.payload, d.size);
        ++s->count;
        ++counters_.udp_delivered;
        ++events_;
        return;
    }
    ++counters_.udp_no_socket;
}

}  // namespace keel::net
