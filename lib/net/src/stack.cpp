// The Stack's core: storage, the link (frames in and out), ARP, IPv4 input and output, ICMP
// and the timers. UDP, DHCP and DNS are in stack_udp.cpp, stack_dhcp.cpp and stack_dns.cpp.
#include <keel/net/arp.hpp>
#include <keel/net/ethernet.hpp>
#include <keel/net/icmp.hpp>
#include <keel/net/ipv4.hpp>
#include <keel/net/udp.hpp>
#include <keel/net/wire.hpp>

#include "stack_parts.hpp"

namespace keel::net {

namespace {

constexpr uint32_t kMaxCount = 4096;  // any one Limits count: keeps storage_size from wrapping
constexpr size_t kMinFrame = 60;      // Ethernet's minimum without the CRC: we pad to it

uint32_t reassembly_capacity(const Limits& l) {
    const uint32_t b =
        l.reassembly_bytes > kIpv4MaxDatagram ? kIpv4MaxDatagram : l.reassembly_bytes;
    return (b + 7) & ~7u;
}

}  // namespace

size_t Stack::frame_stride(uint16_t mtu) {
    return align16(sizeof(FrameSlot)) + align16(kEthernetHeader + mtu);
}

size_t Stack::storage_size(const Limits& l, uint16_t mtu) {
    const size_t entry = align16(sizeof(QueuedDatagram) + l.udp_datagram);
    return align16(l.arp_entries * sizeof(ArpEntry)) + l.pending_frames * frame_stride(mtu) +
           l.udp_sockets * (align16(sizeof(Socket)) + l.udp_queue * entry) +
           Reassembly::storage_size(l.reassembly_slots, reassembly_capacity(l)) +
           align16(l.dns_queries * sizeof(Query)) + align16(l.pings * sizeof(PingReply)) +
           align16(l.pings * sizeof(uint32_t)) + align16(kEthernetHeader + mtu);
}

int64_t Stack::init(const Limits& l, const Mac& mac, uint16_t mtu, uint64_t seed, void* storage,
                    size_t size) {
    if (mtu < 576 || mtu > 9000 || l.pending_frames == 0 || l.arp_entries == 0 ||
        l.arp_entries > kMaxCount || l.pending_frames > kMaxCount || l.udp_sockets > kMaxCount ||
        l.udp_queue > kMaxCount || (l.udp_sockets != 0 && l.udp_queue == 0) ||
        l.reassembly_slots > kMaxCount || l.dns_queries > kMaxCount || l.pings > kMaxCount ||
        l.udp_datagram > kIpv4MaxDatagram || (reinterpret_cast<uintptr_t>(storage) & 15) != 0)
        return fail(Error::kInvalid);
    if (storage == nullptr || size < storage_size(l, mtu))
        return fail(Error::kNoRoom);
    *this = Stack{};
    limits_ = l;
    mac_ = mac;
    mtu_ = mtu;
    rng_ = seed ^ 0x9e3779b97f4a7c15ull;
    // The IPv4 identification starts from the seed, so fragments of ours (should a router cut
    // them) do not line up across restarts; taken without advancing the random stream.
    ip_id_ = static_cast<uint16_t>(seed >> 48 ^ seed);
    interface_.lease_end = kNever;

    uint8_t* p = static_cast<uint8_t*>(storage);
    arp_ = reinterpret_cast<ArpEntry*>(p);
    p += align16(l.arp_entries * sizeof(ArpEntry));
    frames_ = p;
    frame_stride_ = frame_stride(mtu);
    p += l.pending_frames * frame_stride_;
    sockets_ = p;
    entry_stride_ = align16(sizeof(QueuedDatagram) + l.udp_datagram);
    socket_stride_ = align16(sizeof(Socket)) + l.udp_queue * entry_stride_;
    p += l.udp_sockets * socket_stride_;
    reassembly_.init(l.reassembly_slots, reassembly_capacity(l), p);
    p += Reassembly::storage_size(l.reassembly_slots, reassembly_capacity(l));
    queries_ = reinterpret_cast<Query*>(p);
    p += align16(l.dns_queries * sizeof(Query));
    ping_replies_ = reinterpret_cast<PingReply*>(p);
    p += align16(l.pings * sizeof(PingReply));
    ping_ids_ = reinterpret_cast<uint32_t*>(p);
    p += align16(l.pings * sizeof(uint32_t));
    scratch_ = p;

    for (uint32_t i = 0; i < l.arp_entries; ++i)
        arp_[i] = ArpEntry{};
    for (uint32_t i = 0; i < l.pending_frames; ++i)
        *frame(i) = FrameSlot{};
    for (uint32_t i = 0; i < l.udp_sockets; ++i)
        *reinterpret_cast<Socket*>(sockets_ + i * socket_stride_) = Socket{};
    for (uint32_t i = 0; i < l.dns_queries; ++i)
        queries_[i].state = Query::kFree;
    for (uint32_t i = 0; i < l.pings; ++i) {
        ping_replies_[i].used = false;
        ping_ids_[i] = 0;
    }
    return 0;
}

uint64_t Stack::random() {
    // splitmix64: the seed is the only entropy; the caller supplies a good one.
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

const Interface& Stack::interface() const {
    return interface_;
}
const Counters& Stack::counters() const {
    return counters_;
}
uint64_t Stack::events() const {
    return events_;
}

void Stack::configure(Ip4 address, Ip4 netmask, Ip4 gateway, Ip4 dns) {
    dhcp_ = Dhcp::kOff;
    dhcp_retry_at_ = dhcp_t1_ = dhcp_t2_ = kNever;
    if (interface_.configured && (address != interface_.address || netmask != interface_.netmask))
        forget_neighbours();
    interface_ = Interface{true, address, netmask, gateway, dns, kNever};
    ++events_;
}

void Stack::forget_neighbours() {
    // Frames waiting for ARP carry the old source address and the neighbours may be on another
    // subnet now: both go (counted as ARP drops), rather than leave later with a stale source.
    for (uint32_t i = 0; i < limits_.pending_frames; ++i) {
        if (frame(i)->state == FrameSlot::kWaiting) {
            frame(i)->state = FrameSlot::kFree;
            ++counters_.frames_dropped_arp;
        }
    }
    for (uint32_t i = 0; i < limits_.arp_entries; ++i)
        arp_[i].state = ArpEntry::kFree;
}

bool Stack::on_link(Ip4 address) const {
    return (address & interface_.netmask) == (interface_.address & interface_.netmask);
}

// ---- frames ----------------------------------------------------------------------------------

Stack::FrameSlot* Stack::frame(uint32_t i) const {
    return reinterpret_cast<FrameSlot*>(frames_ + i * frame_stride_);
}

uint8_t* Stack::frame_bytes(FrameSlot* f) {
    return reinterpret_cast<uint8_t*>(f) + align16(sizeof(FrameSlot));
}

Stack::FrameSlot* Stack::new_frame() {
    for (uint32_t i = 0; i < limits_.pending_frames; ++i)
        if (frame(i)->state == FrameSlot::kFree)
            return frame(i);
    ++counters_.frames_dropped_queue;
    return nullptr;
}

size_t Stack::take_frame(uint8_t* out, size_t capacity) {
    FrameSlot* oldest = nullptr;
    for (uint32_t i = 0; i < limits_.pending_frames; ++i) {
        FrameSlot* f = frame(i);
        if (f->state == FrameSlot::kReady && (oldest == nullptr || f->sequence < oldest->sequence))
            oldest = f;
    }
    if (oldest == nullptr || capacity < oldest->size)
        return 0;
    __builtin_memcpy(out, frame_bytes(oldest), oldest->size);
    oldest->state = FrameSlot::kFree;
    ++counters_.frames_out;
    return oldest->size;
}

void Stack::set_link_output(const LinkOutput& link) {
    link_ = link;
}

bool Stack::frames_pending() const {
    for (uint32_t i = 0; i < limits_.pending_frames; ++i)
        if (frame(i)->state == FrameSlot::kReady)
            return true;
    return false;
}

uint32_t Stack::frames_in_use() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < limits_.pending_frames; ++i)
        n += frame(i)->state != FrameSlot::kFree ? 1 : 0;
    return n;
}

// ---- ARP -------------------------------------------------------------------------------------

Stack::ArpEntry* Stack::arp_find(Ip4 address) {
    for (uint32_t i = 0; i < limits_.arp_entries; ++i)
        if (arp_[i].state != ArpEntry::kFree && arp_[i].address == address)
            return &arp_[i];
    return nullptr;
}

Stack::ArpEntry* Stack::arp_new(Ip4 address, Time now) {
    ArpEntry* victim = nullptr;
    for (uint32_t i = 0; i < limits_.arp_entries; ++i) {
        ArpEntry* e = &arp_[i];
        if (e->state == ArpEntry::kFree) {
            victim = e;
            break;
        }
        // A full cache gives up the resolved entry nearest its expiry; pending ones have
        // frames waiting on them and stay.
        if (e->state == ArpEntry::kResolved &&
            (victim == nullptr || e->deadline < victim->deadline))
            victim = e;
    }
    if (victim == nullptr) {
        ++counters_.arp_cache_full;
        return nullptr;
    }
    *victim = ArpEntry{ArpEntry::kPending, 0, address, {}, now + kArpRetryInterval};
    return victim;
}

uint32_t Stack::arp_entries_in_use() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < limits_.arp_entries; ++i)
        n += arp_[i].state != ArpEntry::kFree ? 1 : 0;
    return n;
}

static void pad_frame(uint8_t* bytes, uint32_t* size) {
    if (*size < kMinFrame) {
        __builtin_memset(bytes + *size, 0, kMinFrame - *size);
        *size = kMinFrame;
    }
}

void Stack::arp_request(Ip4 address) {
    FrameSlot* f = new_frame();
    if (f == nullptr)
        return;  // the retry timer asks again
    uint8_t* b = frame_bytes(f);
    write_ethernet(b, kBroadcastMac, mac_, kEtherTypeArp);
    write_arp(b + kEthernetHeader,
              ArpPacket{kArpRequest, mac_, interface_.address, Mac{}, address});
    f->size = kEthernetHeader + kArpSize;
    pad_frame(b, &f->size);
    f->state = FrameSlot::kReady;
    f->sequence = frame_sequence_++;
    ++counters_.arp_requests_sent;
}

void Stack::arp_resolved(ArpEntry* e, const Mac& mac, Time now) {
    e->state = ArpEntry::kResolved;
    e->mac = mac;
    e->deadline = now + kArpEntryLifetime;
    for (uint32_t i = 0; i < limits_.pending_frames; ++i) {
        FrameSlot* f = frame(i);
        if (f->state == FrameSlot::kWaiting && f->next_hop == e->address) {
            __builtin_memcpy(frame_bytes(f), mac.bytes, 6);
            f->state = FrameSlot::kReady;
            f->sequence = frame_sequence_++;
        }
    }
}

void Stack::arp_failed(ArpEntry* e) {
    ++counters_.arp_failures;
    for (uint32_t i = 0; i < limits_.pending_frames; ++i) {
        FrameSlot* f = frame(i);
        if (f->state == FrameSlot::kWaiting && f->next_hop == e->address) {
            f->state = FrameSlot::kFree;
            ++counters_.frames_dropped_arp;
        }
    }
    e->state = ArpEntry::kFree;
}

void Stack::arp_input(const uint8_t* data, size_t size, Time now) {
    ArpPacket p;
    if (!parse_arp(data, size, &p)) {
        ++counters_.malformed_arp;
        return;
    }
    if (!interface_.configured)
        return;  // no address to answer for or to resolve from
    // A sender we must never map: no address (a probe), a broadcast or multicast address, our
    // own address (a conflict, not a neighbour), or a group MAC.
    if (p.sender_ip == 0 || p.sender_ip == kBroadcastIp4 || p.sender_ip >= ip4(224, 0, 0, 0) ||
        p.sender_ip == interface_.address || (p.sender_mac.bytes[0] & 1)) {
        ++counters_.malformed_arp;
        return;
    }
    // RFC 826's merge: refresh what we hold; add only when the packet is for us.
    ArpEntry* e = arp_find(p.sender_ip);
    if (e != nullptr) {
        arp_resolved(e, p.sender_mac, now);
    } else if (p.target_ip == interface_.address && p.operation == kArpRequest) {
        e = arp_new(p.sender_ip, now);
        if (e != nullptr)
            arp_resolved(e, p.sender_mac, now);
    } else if (p.operation == kArpReply) {
        ++counters_.arp_unsolicited_ignored;
    }
    if (p.operation == kArpRequest && p.target_ip == interface_.address) {
        FrameSlot* f = new_frame();
        if (f == nullptr)
            return;
        uint8_t* b = frame_bytes(f);
        write_ethernet(b, p.sender_mac, mac_, kEtherTypeArp);
        write_arp(b + kEthernetHeader,
                  ArpPacket{kArpReply, mac_, interface_.address, p.sender_mac, p.sender_ip});
        f->size = kEthernetHeader + kArpSize;
        pad_frame(b, &f->size);
        f->state = FrameSlot::kReady;
        f->sequence = frame_sequence_++;
        ++counters_.arp_replies_sent;
    }
}

// ---- IPv4 output -----------------------------------------------------------------------------

IpOutput Stack::ip_output() {
    IpOutput o;
    o.context = this;
    o.send = &Stack::output_thunk;
    o.build = &Stack::build_thunk;
    return o;
}

bool Stack::output_thunk(void* context, Ip4 source, Ip4 destination, uint8_t protocol,
                         const uint8_t* payload, size_t size) {
    return static_cast<Stack*>(context)->send_ip(source, destination, protocol, payload, size);
}

bool Stack::build_thunk(void* context, Ip4 source, Ip4 destination, uint8_t protocol, size_t size,
                        IpOutput::Fill fill, void* fill_context) {
    return static_cast<Stack*>(context)->build_ip(source, destination, protocol, size, fill,
                                                  fill_context);
}

namespace {

struct CopyFrom {
    const uint8_t* payload;
};

void copy_payload(void* context, uint8_t* payload, size_t size) {
    if (size != 0)
        __builtin_memcpy(payload, static_cast<const CopyFrom*>(context)->payload, size);
}

}  // namespace

bool Stack::send_ip(Ip4 source, Ip4 destination, uint8_t protocol, const uint8_t* payload,
                    size_t size) {
    CopyFrom from{payload};
    return build_ip(source, destination, protocol, size, &copy_payload, &from);
}

bool Stack::build_ip(Ip4 source, Ip4 destination, uint8_t protocol, size_t size,
                     IpOutput::Fill fill, void* fill_context) {
    // No fragmentation on output: transports size their segments to the MTU.
    if (size > mtu_ - kIpv4Header) {
        ++counters_.output_too_large;
        last_drop_ = Error::kInvalid;
        return false;
    }
    const bool broadcast = destination == kBroadcastIp4 ||
                           (interface_.configured && interface_.netmask != kBroadcastIp4 &&
                            destination == (interface_.address | ~interface_.netmask));
    Ip4 next_hop = destination;
    if (!broadcast) {
        // Before an address is configured only DHCP's broadcasts leave.
        if (!interface_.configured || destination == 0 || destination == interface_.address ||
            destination >= ip4(224, 0, 0, 0)) {
            ++counters_.output_no_route;
            last_drop_ = Error::kUnreachable;
            return false;
        }
        if (!on_link(destination)) {
            next_hop = interface_.gateway;
            if (next_hop == 0 || !on_link(next_hop)) {
                ++counters_.output_no_route;
                last_drop_ = Error::kUnreachable;
                return false;
            }
        }
    }
    if (link_.acquire != nullptr && !frames_pending()) {
        const ArpEntry* e = broadcast ? nullptr : arp_find(next_hop);
        const bool resolved =
            broadcast || (e != nullptr && e->state == ArpEntry::kResolved && e->deadline > now_);
        uint32_t size_out = static_cast<uint32_t>(kEthernetHeader + kIpv4Header + size);
        uint8_t* b = resolved
                         ? link_.acquire(link_.context, size_out < kMinFrame ? kMinFrame : size_out)
                         : nullptr;
        if (b != nullptr) {
            write_ethernet(b, broadcast ? kBroadcastMac : e->mac, mac_, kEtherTypeIpv4);
            write_ipv4_header(b + kEthernetHeader, source != 0 ? source : interface_.address,
                              destination, protocol, ip_id_++, size);
            fill(fill_context, b + kEthernetHeader + kIpv4Header, size);
            pad_frame(b, &size_out);
            link_.commit(link_.context, b, size_out);
            ++counters_.frames_out;
            return true;
        }
    }
    FrameSlot* f = new_frame();
    if (f == nullptr) {
        last_drop_ = Error::kNoRoom;
        return false;
    }
    uint8_t* b = frame_bytes(f);
    write_ethernet(b, kBroadcastMac, mac_, kEtherTypeIpv4);
    write_ipv4_header(b + kEthernetHeader, source != 0 ? source : interface_.address, destination,
                      protocol, ip_id_++, size);
    fill(fill_context, b + kEthernetHeader + kIpv4Header, size);
    f->size = static_cast<uint32_t>(kEthernetHeader + kIpv4Header + size);
    pad_frame(b, &f->size);
    f->next_hop = next_hop;
    if (broadcast) {
        f->state = FrameSlot::kReady;
        f->sequence = frame_sequence_++;
        return true;
    }
    ArpEntry* e = arp_find(next_hop);
    if (e != nullptr && e->state == ArpEntry::kResolved && e->deadline > now_) {
        __builtin_memcpy(b, e->mac.bytes, 6);
        f->state = FrameSlot::kReady;
        f->sequence = frame_sequence_++;
        return true;
    }
    f->state = FrameSlot::kWaiting;
    if (e == nullptr || e->state == ArpEntry::kResolved) {
        if (e != nullptr)
            e->state = ArpEntry::kFree;  // expired: resolve afresh
        e = arp_new(next_hop, now_);
        if (e == nullptr) {
            f->state = FrameSlot::kFree;
            ++counters_.frames_dropped_arp;
            last_drop_ = Error::kNoRoom;
            return false;
        }
        arp_request(next_hop);
    }
    return true;
}

// ---- input -----------------------------------------------------------------------------------

void Stack::receive(const uint8_t* data, size_t size, Time now) {
    now_ = now;
    ++counters_.frames_in;
    EthernetFrame frame;
    switch (parse_ethernet(data, size, &frame)) {
        case EthernetParse::kOk:
            break;
        case EthernetParse::kVlan:
            ++counters_.vlan_dropped;
            return;
        case EthernetParse::kLengthField:
            ++counters_.unknown_ethertype;
            return;
        case EthernetParse::kTruncated:
            ++counters_.malformed_ethernet;
            return;
    }
    if (!(frame.destination == mac_) && !(frame.destination == kBroadcastMac)) {
        ++counters_.not_for_our_mac;
        return;
    }
    if (frame.type == kEtherTypeArp)
        arp_input(frame.payload, frame.size, now);
    else if (frame.type == kEtherTypeIpv4)
        ipv4_input(frame.payload, frame.size, now);
    else
        ++counters_.unknown_ethertype;
}

void Stack::ipv4_input(const uint8_t* data, size_t size, Time now) {
    Ipv4Packet p;
    switch (parse_ipv4(data, size, &p)) {
        case Ipv4Parse::kOk:
            break;
        case Ipv4Parse::kMalformed:
            ++counters_.malformed_ipv4;
            return;
        case Ipv4Parse::kBadChecksum:
            ++counters_.bad_ipv4_checksum;
            return;
    }
    // A source that cannot send (broadcast, multicast, class E) would turn any answer into a
    // broadcast: such datagrams are refused outright.
    if (p.source >= ip4(224, 0, 0, 0)) {
        ++counters_.malformed_ipv4;
        return;
    }
    if (interface_.configured) {
        const bool directed = interface_.netmask != kBroadcastIp4 &&
                              p.destination == (interface_.address | ~interface_.netmask);
        if (p.destination != interface_.address && p.destination != kBroadcastIp4 && !directed) {
            ++counters_.not_for_us;
            return;
        }
    }
    // Unconfigured, anything goes: a DHCP server may unicast the OFFER to the offered address.
    if (p.ttl == 0) {
        ++counters_.ttl_zero;
        return;
    }
    if (p.more_fragments || p.fragment_offset != 0) {
        ++counters_.fragments_received;
        const Reassembly::Result r = reassembly_.add(p, now);
        if (r.kind == Reassembly::Result::kDropped) {
            counters_.fragments_dropped += r.fragments_dropped;
            return;
        }
        if (r.kind == Reassembly::Result::kHeld)
            return;
        ++counters_.fragments_reassembled;
        p.payload = r.data;
        p.size = r.size;
        p.more_fragments = false;
        p.fragment_offset = 0;
    }
    deliver(p, now);
}

void Stack::deliver(const Ipv4Packet& p, Time now) {
    if (p.protocol == kProtocolIcmp) {
        icmp_input(p, now);
        return;
    }
    if (p.protocol == kProtocolUdp) {
        udp_input(p, now);
        return;
    }
    for (const Transport& t : transports_) {
        if (t.input != nullptr && t.protocol == p.protocol) {
            t.input(t.context, p.source, p.destination, p.payload, p.size, now);
            return;
        }
    }
    ++counters_.unknown_protocol;
}

void Stack::set_transport(uint8_t protocol, TransportInput input, TransportError error,
                          void* context) {
    if (protocol == kProtocolIcmp || protocol == kProtocolUdp)
        return;
    Transport* slot = nullptr;
    for (Transport& t : transports_) {
        if (t.input != nullptr && t.protocol == protocol) {
            slot = &t;
            break;
        }
        if (t.input == nullptr && slot == nullptr)
            slot = &t;
    }
    if (slot != nullptr)
        *slot = Transport{protocol, input, error, context};
}

// ---- ICMP ------------------------------------------------------------------------------------

void Stack::icmp_input(const Ipv4Packet& p, Time now) {
    IcmpMessage m;
    if (!parse_icmp(p.payload, p.size, &m)) {
        ++counters_.malformed_icmp;
        return;
    }
    if (m.type == kIcmpEchoRequest && m.code == 0) {
        // Only requests to our own address: answering broadcasts amplifies attacks.
        if (!interface_.configured || p.destination != interface_.address ||
            m.size > mtu_ - kIpv4Header - kIcmpHeader)
            return;
        write_icmp_echo(scratch_, kIcmpEchoReply, m.identifier, m.sequence, m.body, m.size);
        if (send_ip(0, p.source, kProtocolIcmp, scratch_, kIcmpHeader + m.size))
            ++counters_.icmp_echo_answered;
        return;
    }
    if (m.type == kIcmpEchoReply && m.code == 0) {
        bool watched = false;
        for (uint32_t i = 0; i < limits_.pings; ++i)
            watched |= ping_ids_[i] == (0x10000u | m.identifier);
        PingReply* slot = nullptr;
        for (uint32_t i = 0; i < limits_.pings && slot == nullptr; ++i)
            if (!ping_replies_[i].used)
                slot = &ping_replies_[i];
        if (!watched || slot == nullptr) {
            ++counters_.icmp_replies_dropped;
            return;
        }
        const uint32_t n = m.size < kPingData ? static_cast<uint32_t>(m.size) : kPingData;
        slot->used = true;
        slot->identifier = m.identifier;
        slot->sequence = m.sequence;
        slot->from = p.source;
        slot->size = n;
        slot->order = ping_order_++;
        if (n != 0)
            __builtin_memcpy(slot->data, m.body, n);
        ++counters_.icmp_replies_kept;
        ++events_;
        return;
    }
    if (m.type == kIcmpUnreachable || m.type == kIcmpTimeExceeded) {
        // The body: the original datagram's header and at least 8 bytes of what it carried.
        if (m.size < kIpv4Header || m.body[0] >> 4 != 4 || (m.body[0] & 0xf) < 5 ||
            (m.body[0] & 0xfu) * 4u + 8u > m.size) {
            ++counters_.malformed_icmp;
            return;
        }
        const size_t header = (m.body[0] & 0xfu) * 4u;
        const uint8_t protocol = m.body[9];
        const Ip4 source = get32(m.body + 12), destination = get32(m.body + 16);
        if (interface_.configured && source != interface_.address) {
            ++counters_.malformed_icmp;  // about a datagram we did not send
            return;
        }
        ++counters_.icmp_errors;
        const uint8_t* transport = m.body + header;
        const size_t transport_size = m.size - header;
        if (protocol == kProtocolUdp) {
            if (m.type == kIcmpUnreachable) {
                dns_unreachable(destination, get16(transport), get16(transport + 2));
                if (m.code == kIcmpPortUnreachable)
                    udp_unreachable(get16(transport));
            }
            return;
        }
        for (const Transport& t : transports_)
            if (t.input != nullptr && t.protocol == protocol && t.error != nullptr)
                t.error(t.context, m.type, m.code, destination, transport, transport_size, now);
    }
}

// ---- ping ------------------------------------------------------------------------------------

int64_t Stack::ping_send(Ip4 destination, uint16_t identifier, uint16_t sequence,
                         const uint8_t* data, size_t size, Time now) {
    now_ = now;
    if (size > mtu_ - kIpv4Header - kIcmpHeader)
        return fail(Error::kInvalid);
    write_icmp_echo(scratch_, kIcmpEchoRequest, identifier, sequence, data, size);
    if (!send_ip(0, destination, kProtocolIcmp, scratch_, kIcmpHeader + size))
        return fail(last_drop_);
    // Watch the identifier: the oldest watched one gives way when the list is full.
    const uint32_t key = 0x10000u | identifier;
    for (uint32_t i = 0; i < limits_.pings; ++i)
        if (ping_ids_[i] == key)
            return 0;
    if (limits_.pings != 0) {
        ping_ids_[ping_id_next_] = key;
        ping_id_next_ = (ping_id_next_ + 1) % limits_.pings;
    }
    return 0;
}

int64_t Stack::ping_receive(uint16_t identifier, uint16_t* sequence, Ip4* from, uint8_t* buffer,
                            size_t capacity) {
    PingReply* oldest = nullptr;
    for (uint32_t i = 0; i < limits_.pings; ++i) {
        PingReply* r = &ping_replies_[i];
        if (r->used && r->identifier == identifier &&
            (oldest == nullptr || r->order < oldest->order))
            oldest = r;
    }
    if (oldest == nullptr)
        return fail(Error::kWouldBlock);
    const size_t n = oldest->size < capacity ? oldest->size : capacity;
    if (n != 0)
        __builtin_memcpy(buffer, oldest->data, n);
    if (sequence != nullptr)
        *sequence = oldest->sequence;
    if (from != nullptr)
        *from = oldest->from;
    oldest->used = false;
    return static_cast<int64_t>(n);
}

// ---- timers ----------------------------------------------------------------------------------

Time Stack::poll(Time now) {
    now_ = now;
    Time next = kNever;
    for (uint32_t i = 0; i < limits_.arp_entries; ++i) {
        ArpEntry* e = &arp_[i];
        if (e->state == ArpEntry::kResolved && e->deadline <= now) {
            e->state = ArpEntry::kFree;
        } else if (e->state == ArpEntry::kPending && e->deadline <= now) {
            if (e->tries < kArpRetries) {
                ++e->tries;
                e->deadline = now + kArpRetryInterval;
                arp_request(e->address);
            } else {
                arp_failed(e);
            }
        }
        if (e->state != ArpEntry::kFree && e->deadline < next)
            next = e->deadline;
    }
    const uint32_t held = reassembly_.slots_in_use();
    counters_.fragments_dropped += reassembly_.expire(now);
    counters_.reassembly_timeouts += held - reassembly_.slots_in_use();
    const Time r = reassembly_.deadline();
    if (r < next)
        next = r;
    const Time d = dhcp_poll(now);
    if (d < next)
        next = d;
    const Time q = dns_poll(now);
    return q < next ? q : next;
}

uint32_t Stack::reassembly_in_use() const {
    return reassembly_.slots_in_use();
}

}  // namespace keel::net
