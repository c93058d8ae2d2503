// The TCP engine (RFC 9293, with RFC 1122, 6298, 5681, 6582, 5961 and 7323's window scaling):
// connections over IPv4 in storage the caller hands in, time and randomness as inputs. The network
// server feeds it every TCP segment that IPv4 delivers (input), the ICMP errors that quote a TCP
// header (icmp_error) and the clock (poll, at the deadline poll returned); segments leave through
// an IpOutput. Nothing here blocks: a call that cannot proceed returns -kWouldBlock and events()
// tells a waiting caller when to try again.
//
// Ids: listen() returns a listener id, connect() and accept() a connection id, both >= 0. An id
// carries its slot's generation, so an id kept after close()/abort() (or after the engine freed
// a failed connection's slot once its error was seen) is refused with -kInvalid, never aliased
// to a newer connection. Failures are -Error (error.hpp).
//
// Threading: none. One caller at a time; the engine calls IpOutput from inside input(),
// poll() and the API calls and must not be re-entered from it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"
#include "ip_output.hpp"
#include "time.hpp"

namespace keel::net::tcp {

// Sizes fixed at init(): storage_size() is a function of these alone.
struct Limits {
    uint32_t connections = 64;        // connection slots (incl. half-open and TIME_WAIT ones)
    uint32_t listeners = 8;           // listening sockets
    uint32_t backlog = 16;            // ceiling on listen()'s backlog: connections not yet accepted
    uint32_t receive_buffer = 65536;  // bytes per connection; the advertised window's ceiling
    uint32_t send_buffer = 65536;     // bytes per connection, unsent + unacknowledged
    uint32_t out_of_order_ranges = 8;        // out-of-order byte ranges kept per connection
    uint16_t mss = 1460;                     // our MSS option (1500-byte MTU less 40); 64..65495
    Time msl = 30 * kSecond;                 // maximum segment lifetime: TIME_WAIT lasts 2 * msl
    Time keepalive_idle = 7200 * kSecond;    // idle time before the first keep-alive probe
    Time keepalive_interval = 75 * kSecond;  // between unanswered probes
    uint32_t keepalive_probes = 9;           // unanswered probes before -kTimedOut
    uint32_t max_retransmits = 12;           // data/FIN retransmissions before -kTimedOut
    uint32_t max_syn_retransmits = 5;  // SYN (connect) / SYN-ACK retransmissions before giving up
};

// Every field only grows (from init()).
struct Counters {
    uint64_t segments_in = 0;       // segments handed to input()
    uint64_t segments_out = 0;      // segments handed to IpOutput (incl. dropped by it)
    uint64_t malformed = 0;         // short, bad data offset, options off the end, bad MSS length
    uint64_t bad_checksum = 0;      // checksum with the pseudo header wrong
    uint64_t retransmits = 0;       // retransmissions on the RTO (incl. SYN, SYN-ACK, FIN)
    uint64_t fast_retransmits = 0;  // on three duplicate ACKs, and partial ACKs in recovery
    uint64_t timeouts = 0;          // connections failed with -kTimedOut (retries, keep-alive)
    uint64_t resets_sent = 0;
    uint64_t resets_received = 0;       // acceptable RSTs that ended a connection
    uint64_t out_of_order_kept = 0;     // segments beyond the next expected byte kept for later
    uint64_t out_of_order_dropped = 0;  // such segments dropped (no range left)
    uint64_t duplicates = 0;            // segments carrying only bytes already received
    uint64_t challenge_acks = 0;  // RFC 5961 challenge ACKs (inexact RST, SYN in a connection)
    uint64_t challenge_acks_suppressed = 0;  // over the limit of 10 a second per connection
    uint64_t no_listener = 0;         // segments to a port nobody listens on (answered by RST)
    uint64_t backlog_full = 0;        // SYNs dropped because the listener's backlog was full
    uint64_t no_slot = 0;             // SYNs dropped because every connection slot was taken
    uint64_t zero_window_probes = 0;  // persist-timer probes sent
    uint64_t keepalive_probes = 0;    // keep-alive probes sent
    uint64_t unacceptable = 0;        // segments outside the receive window (answered by an ACK)
    uint64_t dropped = 0;             // other segments the state machine drops (bad ACK, no flags)
    uint64_t icmp_errors = 0;         // ICMP errors matched to a connection
    uint64_t reopened = 0;  // SYNs that reopened a connection from TIME_WAIT (RFC 1122 4.2.2.13)
    uint64_t connections_opened = 0;  // connect() successes and SYNs accepted into a backlog
    uint64_t connections_freed = 0;   // slots returned to the free pool
};

enum class State : uint32_t {
    kClosed,
    kListen,
    kSynSent,
    kSynReceived,
    kEstablished,
    kFinWait1,
    kFinWait2,
    kCloseWait,
    kClosing,
    kLastAck,
    kTimeWait
};

struct Info {
    Ip4 local, remote;
    uint16_t local_port, remote_port;
    State state;
    uint32_t srtt_us;      // smoothed round trip, 0 before the first measurement
    uint32_t cwnd;         // congestion window, bytes
    uint32_t unacked;      // bytes sent and not yet acknowledged (SYN/FIN count one)
    uint32_t readable;     // bytes the caller can receive() now
    uint32_t rto_us;       // current retransmission timeout (with backoff)
    uint32_t send_window;  // the peer's advertised window, bytes
};

// Timer values (RFC 6298): the RTO starts at 1 s, is SRTT + max(G, 4 * RTTVAR) after a
// measurement, never below kMinRto (RFC 6298 says 1 s; 200 ms, as Linux uses, recovers a lost
// segment on a LAN without stalling for a second) nor above kMaxRto, and doubles per timeout.
inline constexpr Time kInitialRto = 1 * kSecond;
inline constexpr Time kMinRto = 200 * kMillisecond;
inline constexpr Time kMaxRto = 60 * kSecond;
inline constexpr Time kDelayedAck = 200 * kMillisecond;  // the longest an ACK waits (RFC 1122)
inline constexpr Time kPersistMin = 500 * kMillisecond;  // zero-window probes: RTO-based, clamped
inline constexpr Time kPersistMax = 60 * kSecond;

class Engine {
  public:
    // Bytes of storage init() needs for these limits (every array, buffer and the scratch
    // segment); 0 if the limits are out of range (a zero count, a buffer above 1 GiB).
    static size_t storage_size(const Limits& limits);
    // Lays the engine out in storage (16-byte aligned, at least storage_size(limits) bytes,
    // owned by the engine until it is dropped). seed: randomness for initial sequence numbers
    // and ephemeral ports (mixed with the clock at each use). 0, or -kInvalid for bad limits,
    // alignment or size. Any other call before a successful init() is refused or ignored.
    int64_t init(const Limits& limits, IpOutput output, uint64_t seed, void* storage, size_t size);

    // One TCP segment (the IPv4 payload) from source to destination. Validated in full
    // (length, data offset, options, checksum with the pseudo header): a malformed one is
    // counted and dropped. May send segments (ACKs, RSTs, data the window opened up for).
    void input(Ip4 source, Ip4 destination, const uint8_t* segment, size_t size, Time now);
    // An ICMP destination unreachable (type 3) or time exceeded (11) quoting the start of a
    // segment we sent (original_tcp: at least its 8 first bytes) to original_destination; its
    // sequence number must lie in what is unacknowledged (RFC 5927). In SYN_SENT a destination
    // unreachable fails the connection: -kRefused for protocol or port unreachable (codes 2,
    // 3), -kUnreachable for net, host or administratively prohibited (0, 1, 9, 10, 13); any
    // other error, or one in another state, is soft (counted, RFC 1122 4.2.3.9).
    void icmp_error(uint8_t type, uint8_t code, Ip4 original_destination,
                    const uint8_t* original_tcp, size_t size, Time now);
    // Runs every timer due at now (retransmission, persist, delayed ACK, keep-alive,
    // TIME_WAIT) and returns the next deadline, or kNever. Call it again by then.
    Time poll(Time now);

    // Listens on local:port (local 0: any address of ours). backlog (1..limits.backlog,
    // clamped) bounds the connections not yet accepted, half-open ones included.
    // -kInvalid (port 0), -kAddressInUse (the port is listened on with the same address or a
    // wildcard on either side), -kNoRoom (no listener slot).
    int64_t listen(Ip4 local, uint16_t port, uint32_t backlog);
    // The oldest established connection of the listener not yet accepted: its id, or
    // -kWouldBlock, or -kInvalid for a bad listener id.
    int64_t accept(int64_t listener);
    // Stops listening; pending, not-yet-accepted connections are reset and their slots freed.
    void close_listener(int64_t listener, Time now);
    // Opens a connection from local (an address of ours, chosen by the caller's routing) to
    // remote:port: the SYN leaves at once, the id is returned at once (status() 0 until it is
    // established). Ephemeral local port from 49152-65535. -kInvalid (port 0 or remote 0),
    // -kNoRoom (no slot, or no free ephemeral port).
    int64_t connect(Ip4 local, Ip4 remote, uint16_t port, Time now);

    // 0 while connecting; 1 when established or closing with data still to read; the failure
    // (-kRefused, -kReset, -kTimedOut, -kUnreachable); -kClosed when both directions ended and
    // nothing is left to read; -kInvalid for a bad id.
    int64_t status(int64_t id);
    // Copies up to size bytes into the send buffer and sends what the windows allow: the bytes
    // taken (may be < size), -kWouldBlock when the buffer is full or while connecting
    // (nothing is queued before the handshake ends: wait for status() 1), -kNotConnected after
    // shutdown()/the FIN, -kInvalid for a bad id, or the failure.
    int64_t send(int64_t id, const uint8_t* data, size_t size, Time now);
    // Moves up to capacity bytes out of the receive buffer (opening the window, which may send
    // a window update): the bytes, 0 once the peer's FIN has been reached and everything read,
    // -kWouldBlock, or the failure (a reset discards unread data, RFC 9293 3.10.7).
    int64_t receive(int64_t id, uint8_t* buffer, size_t capacity, Time now);
    // Ends our direction: a FIN follows the queued data. Further send() is -kNotConnected.
    // 0, -kInvalid, -kNotConnected when connecting, or the failure.
    int64_t shutdown(int64_t id, Time now);
    // Lets go of id. With unread received data the connection is reset (RFC 2525's advice);
    // otherwise a FIN follows the queued data and the engine finishes the close itself
    // (FIN_WAIT_1/2, CLOSING, LAST_ACK, TIME_WAIT), freeing the slot at the end. A FIN_WAIT_2
    // with nobody holding it waits at most 2 * msl for the peer's FIN before it is freed. A
    // failed or connecting connection is freed at once (in SYN_RECEIVED with a RST).
    void close(int64_t id, Time now);
    // Sends a RST (if the connection got past SYN_SENT) and frees the slot at once.
    void abort(int64_t id, Time now);

    size_t send_space(int64_t id) const;        // bytes send() would take now (0 for a bad id)
    size_t readable(int64_t id) const;          // bytes receive() would return now (0 for a bad id)
    int64_t info(int64_t id, Info* out) const;  // 0 or -kInvalid
    // Keep-alive (RFC 1122 4.2.3.6), off by default: after limits.keepalive_idle with nothing
    // received, a probe (seq = snd.una - 1, no data) every keepalive_interval; keepalive_probes
    // unanswered probes fail the connection with -kTimedOut.
    void set_keepalive(int64_t id, bool on);

    const Counters& counters() const { return counters_; }
    // Bumped whenever something a waiting caller may want changed: data arrived, send space
    // freed, a connection accepted into a backlog or established, failed, closed.
    uint64_t events() const { return events_; }

    // For tests and invariants: connection slots in use (any state, incl. TIME_WAIT and
    // connections the caller closed), and out-of-order ranges held over all connections.
    uint32_t slots_in_use() const;
    uint32_t ranges_in_use() const;

    struct Conn;
    struct Listener;

  private:
    Conn* conn_of(int64_t id) const;
    Listener* listener_of(int64_t id) const;
    // The caller's connection past its handshake and not failed; otherwise nullptr and *why:
    // -kInvalid, the failure, or -kWouldBlock while connecting.
    Conn* healthy(int64_t id, int64_t* why) const;

    Limits limits_{};
    IpOutput output_{};
    uint64_t seed_ = 0;
    Counters counters_{};
    uint64_t events_ = 0;
    Conn* conns_ = nullptr;
    Listener* listeners_ = nullptr;
    uint8_t* scratch_ = nullptr;  // one outgoing segment: header, options, payload
    uint16_t next_port_ = 0;
    bool ready_ = false;

    friend struct Impl;
};

}  // namespace keel::net::tcp
