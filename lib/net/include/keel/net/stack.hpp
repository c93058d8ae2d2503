// The Stack: Ethernet, ARP, IPv4, ICMP, UDP, a DHCP client and a DNS resolver over one link,
// in caller storage, driven by the caller's clock. The network server owns one: it feeds
// received frames to receive(), sends what take_frame() gives, calls poll() by the deadline
// poll() returned, and wires TCP (another part of lib/net) through ip_output() and
// set_transport(). Single-threaded: every call from the same thread.
//
// Every received byte is untrusted: a frame that breaks its format is counted in Counters and
// dropped; nothing in it is trusted before it is checked. Limits bound every table; what does
// not fit is dropped and counted, never allocated.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"
#include "error.hpp"
#include "ip_output.hpp"
#include "ipv4.hpp"
#include "time.hpp"

namespace keel::net {

struct Limits {
    uint32_t arp_entries = 32;     // resolved and pending neighbours
    uint32_t pending_frames = 64;  // frames to transmit, and frames waiting behind ARP
    uint32_t udp_sockets = 16;
    uint32_t udp_queue = 16;        // datagrams queued per socket
    uint32_t reassembly_slots = 4;  // datagrams being reassembled at once
    uint32_t dns_queries = 8;
    uint32_t pings = 16;  // echo replies kept, and identifiers watched
    // Added: the largest reassembled datagram (rounded up to 8, at most kIpv4MaxDatagram),
    // and the largest UDP payload a socket queue keeps (larger ones are dropped, counted).
    uint32_t reassembly_bytes = 16384;
    uint32_t udp_datagram = 1472;
};

struct Interface {
    bool configured;  // an address from configure() or DHCP
    Ip4 address, netmask, gateway, dns;
    Time lease_end;  // kNever for a static configuration
};

struct Counters {
    uint64_t frames_in;
    uint64_t frames_out;  // taken by take_frame or sent through the LinkOutput
    uint64_t malformed_ethernet;
    uint64_t vlan_dropped;
    uint64_t unknown_ethertype;
    uint64_t not_for_our_mac;  // unicast to another station
    uint64_t malformed_arp;
    uint64_t arp_requests_sent;
    uint64_t arp_replies_sent;
    uint64_t arp_unsolicited_ignored;  // replies for addresses we hold no entry for
    uint64_t arp_failures;             // resolutions that gave up
    uint64_t arp_cache_full;
    uint64_t frames_dropped_arp;    // queued behind a resolution that failed
    uint64_t frames_dropped_queue;  // no frame slot free
    uint64_t malformed_ipv4;
    uint64_t bad_ipv4_checksum;
    uint64_t not_for_us;  // IPv4 to another address
    uint64_t fragments_received;
    uint64_t fragments_reassembled;  // whole datagrams
    uint64_t fragments_dropped;
    uint64_t reassembly_timeouts;
    uint64_t ttl_zero;
    uint64_t unknown_protocol;
    uint64_t output_too_large;  // refused: above MTU - 20
    uint64_t output_no_route;
    uint64_t malformed_icmp;
    uint64_t icmp_echo_answered;
    uint64_t icmp_replies_kept;
    uint64_t icmp_replies_dropped;  // unsolicited identifier, or the reply queue full
    uint64_t icmp_errors;           // unreachable / time exceeded passed on
    uint64_t malformed_udp;
    uint64_t bad_udp_checksum;
    uint64_t udp_no_socket;
    uint64_t udp_queue_full;
    uint64_t udp_too_large;
    uint64_t udp_delivered;
    uint64_t malformed_dhcp;
    uint64_t dhcp_sent;
    uint64_t dhcp_naks;
    uint64_t dhcp_leases;  // ACKs taken
    uint64_t malformed_dns;
    uint64_t dns_sent;
    uint64_t dns_answers;
};

using TransportInput = void (*)(void* context, Ip4 source, Ip4 destination, const uint8_t* payload,
                                size_t size, Time now);
using TransportError = void (*)(void* context, uint8_t icmp_type, uint8_t icmp_code,
                                Ip4 original_destination, const uint8_t* original_transport,
                                size_t size, Time now);

// Optional: where a frame can go straight to the link as it is built (the network server's
// transmit buffers), instead of waiting in the Stack's frame slots to be copied out by
// take_frame. acquire gives a buffer of at least `size` bytes for the next frame, or null
// (then the frame is kept in a slot as without this); commit sends the frame written there
// (every acquire is followed by its commit before the Stack calls acquire again).
struct LinkOutput {
    void* context = nullptr;
    uint8_t* (*acquire)(void* context, size_t size) = nullptr;
    void (*commit)(void* context, uint8_t* frame, size_t size) = nullptr;
};

class Stack {
  public:
    // How many transports set_transport can hold besides ICMP and UDP (TCP and a spare).
    static constexpr uint32_t kTransports = 4;
    // Bytes of an echo reply's data kept for ping_receive (more is cut).
    static constexpr uint32_t kPingData = 256;

    // Bytes of storage init needs for limits init accepts (each count at most 4096) and a link
    // MTU; the one-argument form is for Ethernet's 1500.
    static size_t storage_size(const Limits& limits, uint16_t mtu);
    static size_t storage_size(const Limits& limits) { return storage_size(limits, 1500); }
    // storage: at least storage_size bytes, 16-byte aligned; the stack uses nothing else.
    // mtu: the link's IP MTU, 576..9000. 0, or fail(kInvalid) for a bad argument and
    // fail(kNoRoom) for storage too small. Forgets everything from before.
    int64_t init(const Limits& limits, const Mac& mac, uint16_t mtu, uint64_t seed, void* storage,
                 size_t size);

    // The link: one received Ethernet frame (no CRC); frames to send are queued inside and
    // taken one at a time, oldest first.
    void receive(const uint8_t* frame, size_t size, Time now);
    // Bytes of the next frame to transmit, 0 if none (capacity < frame: 0 and the frame stays).
    size_t take_frame(uint8_t* out, size_t capacity);
    bool frames_pending() const;
    // Sends IPv4 datagrams whose next hop is resolved (or broadcasts) straight through `link`
    // while no frame is waiting in a slot (so frames leave in the order they were made); ARP's
    // own frames and everything else still go through take_frame. An empty LinkOutput stops it.
    void set_link_output(const LinkOutput& link);
    // Runs timers (ARP, reassembly, DHCP, DNS): the next deadline or kNever.
    Time poll(Time now);

    // Addresses. start_dhcp forgets any address and runs the client from DISCOVER; configure
    // sets a static one (and stops DHCP). Either bumps events() when an address arrives.
    void start_dhcp(Time now);
    void configure(Ip4 address, Ip4 netmask, Ip4 gateway, Ip4 dns);
    const Interface& interface() const;

    // Transports above IPv4. ip_output's send: source 0 means the interface address; routes via
    // the gateway when off-subnet; ARP-resolves and queues. false when dropped (payload above
    // MTU - 20, no route before configuration, no frame slot). Its build writes the payload
    // straight into the frame slot (the TCP engine's data segments: no copy in between).
    IpOutput ip_output();
    // For protocols other than ICMP (1) and UDP (17), which are handled inside. input null
    // removes the protocol. Up to kTransports protocols.
    void set_transport(uint8_t protocol, TransportInput input, TransportError error, void* context);

    // UDP. udp_open: 0 asks for an ephemeral port (49152-65535); an id, or fail(kAddressInUse)
    // or fail(kNoRoom).
    int64_t udp_open(uint16_t port);
    uint16_t udp_port(int64_t id) const;  // 0 for a bad id
    // Bytes sent (queued); fail(kInvalid) for a bad id or a payload above MTU - 28,
    // fail(kUnreachable) with no route, fail(kNoRoom) with no frame slot.
    int64_t udp_send(int64_t id, Ip4 destination, uint16_t port, const uint8_t* data, size_t size,
                     Time now);
    // The oldest queued datagram: its bytes (truncated to capacity; the rest is lost), its
    // source; fail(kWouldBlock) when none, fail(kInvalid) for a bad id. fail(kRefused), once,
    // when the queue is empty and an ICMP port unreachable answered a datagram from this port.
    int64_t udp_receive(int64_t id, Ip4* source, uint16_t* port, uint8_t* buffer, size_t capacity);
    void udp_close(int64_t id);

    // ICMP echo client. ping_send: 0, or fail(kInvalid) (data above MTU - 28),
    // fail(kUnreachable), fail(kNoRoom). Replies are kept only for identifiers sent recently.
    int64_t ping_send(Ip4 destination, uint16_t identifier, uint16_t sequence, const uint8_t* data,
                      size_t size, Time now);
    // The oldest reply for identifier: its data bytes (at most kPingData, truncated to
    // capacity), *sequence and *from; fail(kWouldBlock) when none.
    int64_t ping_receive(uint16_t identifier, uint16_t* sequence, Ip4* from, uint8_t* buffer,
                         size_t capacity);

    // DNS (A records) through interface().dns. dns_start: a query id; fail(kInvalid) for a bad
    // name; fail(kNoRoom) with every query slot busy; fail(kUnreachable) with no DNS server.
    // A dotted quad resolves at once.
    int64_t dns_start(const char* name, size_t size, Time now);
    // 0 and *out when done (the slot is freed); fail(kWouldBlock) pending; fail(kNotFound),
    // fail(kTimedOut), fail(kUnreachable) (freed too); fail(kInvalid) for a bad id.
    int64_t dns_result(int64_t query, Ip4* out);
    void dns_cancel(int64_t query);

    const Counters& counters() const;
    // Bumped whenever something a waiting caller may want changed (a datagram queued, a reply,
    // a DNS answer, the address configured).
    uint64_t events() const;

    // Introspection for tests and the fuzz target: table entries in use.
    uint32_t arp_entries_in_use() const;
    uint32_t frames_in_use() const;
    uint32_t reassembly_in_use() const;

  private:
    struct ArpEntry;
    struct FrameSlot;
    struct Socket;
    struct Query;
    struct PingReply;
    struct Transport {
        uint8_t protocol;
        TransportInput input;
        TransportError error;
        void* context;
    };
    enum class Dhcp : uint8_t { kOff, kSelecting, kRequesting, kBound, kRenewing, kRebinding };

    static bool output_thunk(void* context, Ip4 source, Ip4 destination, uint8_t protocol,
                             const uint8_t* payload, size_t size);
    static bool build_thunk(void* context, Ip4 source, Ip4 destination, uint8_t protocol,
                            size_t size, IpOutput::Fill fill, void* fill_context);
    uint64_t random();
    bool send_ip(Ip4 source, Ip4 destination, uint8_t protocol, const uint8_t* payload,
                 size_t size);
    // send_ip with the payload written in place by fill.
    bool build_ip(Ip4 source, Ip4 destination, uint8_t protocol, size_t size, IpOutput::Fill fill,
                  void* fill_context);
    bool send_udp(Ip4 source, uint16_t source_port, Ip4 destination, uint16_t port,
                  const uint8_t* data, size_t size);
    FrameSlot* frame(uint32_t i) const;
    static uint8_t* frame_bytes(FrameSlot* f);
    static size_t frame_stride(uint16_t mtu);
    FrameSlot* new_frame();
    ArpEntry* arp_find(Ip4 address);
    ArpEntry* arp_new(Ip4 address, Time now);
    void arp_request(Ip4 address);
    void arp_resolved(ArpEntry* e, const Mac& mac, Time now);
    void arp_failed(ArpEntry* e);
    void arp_input(const uint8_t* data, size_t size, Time now);
    void forget_neighbours();
    void ipv4_input(const uint8_t* data, size_t size, Time now);
    void deliver(const Ipv4Packet& packet, Time now);
    void icmp_input(const Ipv4Packet& packet, Time now);
    void udp_input(const Ipv4Packet& packet, Time now);
    void udp_unreachable(uint16_t source_port);
    void dhcp_input(const uint8_t* data, size_t size, Time now);
    void dhcp_send(Time now);
    void dhcp_restart(Time now);
    Time dhcp_poll(Time now);
    Time dns_poll(Time now);
    void dns_unreachable(Ip4 server, uint16_t source_port, uint16_t destination_port);
    bool dns_input(Ip4 source, uint16_t port, uint16_t destination_port, const uint8_t* data,
                   size_t size);
    void dns_send(Query* q, Time now);
    Socket* socket(int64_t id) const;
    uint8_t* socket_entry(const Socket* s, uint32_t index) const;
    bool port_in_use(uint16_t port) const;
    uint16_t ephemeral_port();
    Query* query(int64_t id) const;
    bool on_link(Ip4 address) const;

    Limits limits_{};
    Mac mac_{};
    uint16_t mtu_ = 0;
    uint64_t rng_ = 0;
    Interface interface_{};
    Counters counters_{};
    uint64_t events_ = 0;
    uint16_t ip_id_ = 0;
    uint64_t frame_sequence_ = 0;
    uint32_t generation_ = 0;  // mixed into socket and query ids so stale ids miss

    ArpEntry* arp_ = nullptr;
    uint8_t* frames_ = nullptr;
    size_t frame_stride_ = 0;
    uint8_t* sockets_ = nullptr;
    size_t socket_stride_ = 0;
    size_t entry_stride_ = 0;
    Query* queries_ = nullptr;
    PingReply* ping_replies_ = nullptr;
    uint32_t* ping_ids_ = nullptr;  // identifier | 0x10000 when in use, 0 when empty
    uint64_t ping_order_ = 0;
    uint8_t* scratch_ = nullptr;  // one datagram being built (mtu bytes)
    LinkOutput link_{};
    Time now_ = 0;                      // the latest time a call brought: ARP expiry in send_ip
    Error last_drop_ = Error::kNoRoom;  // why send_ip last returned false
    uint32_t ping_id_next_ = 0;
    Reassembly reassembly_{};
    Transport transports_[kTransports]{};

    Dhcp dhcp_ = Dhcp::kOff;
    uint32_t dhcp_xid_ = 0;
    Ip4 dhcp_offered_ = 0;
    Ip4 dhcp_server_ = 0;
    Time dhcp_started_ = 0;
    Time dhcp_retry_at_ = kNever;
    Time dhcp_backoff_ = 0;
    uint32_t dhcp_tries_ = 0;
    Time dhcp_t1_ = kNever;
    Time dhcp_t2_ = kNever;
};

}  // namespace keel::net
