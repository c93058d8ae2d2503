// The TCP engine: segment validation, the state machine (RFC 9293 3.10), retransmission (RFC
// 6298), NewReno (RFC 5681, 6582), RST/SYN/ACK validation (RFC 5961) and reassembly, in the
// caller's storage. See tcp.hpp for the contract and README.md for the design.
#include <keel/net/error.hpp>
#include <keel/net/tcp.hpp>
#include <keel/net/wire.hpp>

#include "tcp_segment.hpp"

namespace keel::net::tcp {

namespace {

// Sequence-space comparisons (RFC 9293 3.4): modulo 2^32, valid within half the space.
bool lt(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) < 0;
}
bool le(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) <= 0;
}
uint32_t smax(uint32_t a, uint32_t b) {
    return lt(a, b) ? b : a;
}
template <typename T>
T min_of(T a, T b) {
    return a < b ? a : b;
}
template <typename T>
T max_of(T a, T b) {
    return a < b ? b : a;
}

size_t align16(size_t n) {
    return (n + 15) & ~static_cast<size_t>(15);
}

uint64_t mix(uint64_t x) {
    // splitmix64's finaliser: every input bit reaches every output bit.
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// The window field's widest value; window scaling (RFC 7323) multiplies it by 2^shift.
constexpr uint32_t kMaxWindow = 65535;
constexpr uint8_t kMaxShift = 14;  // RFC 7323 2.3
// RFC 9293 3.7.1: without an MSS option the peer takes 536.
constexpr uint16_t kDefaultMss = 536;
// The smallest peer MSS we honour: a hostile MSS of 1 would make every window a storm of
// one-byte segments.
constexpr uint16_t kMinMss = 64;
constexpr Time kClockGranularity = kMillisecond;
constexpr uint32_t kNoListener = ~0u;
constexpr uint32_t kChallengeAcksPerSecond = 10;
// A connection reopened from TIME_WAIT starts its sequence numbers this far beyond the old
// one's last: past anything of the old connection still in flight, its window included.
constexpr uint32_t kReopenGap = 65536 + 2;

}  // namespace

struct Range {
    uint32_t start, end;  // sequence numbers, [start, end), beyond rcv_nxt
};

struct Engine::Conn {
    bool used;
    bool user_closed;  // the caller let go (close()): the engine frees the slot itself
    bool fin_queued;   // shutdown()/close(): a FIN follows the buffered data
    bool fin_acked;
    bool fin_received;
    bool keepalive;
    bool timing;       // an RTT measurement is running (Karn: never over a retransmission)
    bool in_recovery;  // NewReno fast recovery
    bool ack_now;      // an ACK is owed before input() returns
    State state;
    Error error;  // set when the connection failed (state kClosed)
    uint32_t generation;
    uint32_t listener;  // the listener whose backlog holds it until accept(), or kNoListener
    uint64_t accept_order;
    Ip4 local, remote;
    uint16_t local_port, remote_port;
    uint16_t mss;  // segment size we send: min(peer's MSS option, ours)
    // Window scaling (RFC 7323): both 0 unless both SYNs carried the option.
    bool peer_offered_scale;
    uint8_t peer_scale;  // the peer's shift from its SYN
    uint8_t snd_shift;   // applied to the peer's window field (not on SYNs)
    uint8_t rcv_shift;   // applied to ours

    // Send side (RFC 9293 3.3.1). snd_max: the highest sequence ever sent (snd_nxt goes back
    // to snd_una on a timeout). The send ring holds [snd_una, snd_una + send_len) of data.
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
    uint8_t* send_ring;
    uint32_t send_head, send_len;

    // Receive side: the ring holds the unread bytes [rcv_nxt - readable, rcv_nxt) from
    // recv_head, then out-of-order ranges at their place beyond them.
    uint32_t irs, rcv_nxt, rcv_adv;  // rcv_adv: the right edge we last advertised
    uint8_t* recv_ring;
    uint32_t recv_head, readable;
    Range* ranges;
    uint32_t range_count;
    uint32_t delayed_segments;  // full segments received and not yet acknowledged

    // Round trips and retransmission (RFC 6298), congestion (RFC 5681, 6582).
    Time srtt, rttvar, rto, rtt_start;
    uint32_t rtt_seq;
    uint32_t retries;
    uint32_t cwnd, ssthresh, dupacks, recover;
    uint32_t probes;           // zero-window or keep-alive probes without an answer
    Time challenge_window;     // start of the second challenge_count counts in
    uint32_t challenge_count;  // challenge ACKs sent in it
    uint32_t persist_shift;    // the persist timer's backoff, reset when the window opens

    // Deadlines, kNever when off.
    Time rtx_at, persist_at, ack_at, keepalive_at, close_at;
    Time last_heard;
};

struct Engine::Listener {
    bool used;
    uint32_t generation;
    Ip4 local;
    uint16_t port;
    uint32_t backlog;
};

// The engine's private half: helpers with the Engine's fields in reach.
struct Impl {
    Engine& e;

    using Conn = Engine::Conn;
    using Listener = Engine::Listener;

    const Limits& lim() const { return e.limits_; }

    // --- slots ---------------------------------------------------------------------------

    int64_t id_of(const Conn* c) const {
        const auto index = static_cast<int64_t>(c - e.conns_);
        return static_cast<int64_t>(c->generation) * lim().connections + index;
    }

    uint32_t backlog_count(uint32_t listener) const {
        uint32_t n = 0;
        for (uint32_t i = 0; i < lim().connections; ++i)
            if (e.conns_[i].used && e.conns_[i].listener == listener)
                ++n;
        return n;
    }

    Conn* allocate() {
        Conn* best = nullptr;
        for (uint32_t i = 0; i < lim().connections; ++i) {
            Conn* c = &e.conns_[i];
            if (!c->used)
                return take(c);
            // Under pressure a TIME_WAIT nobody holds is recycled, the oldest first (its only
            // job is absorbing stray old segments; a new connection matters more).
            if (c->state == State::kTimeWait && c->user_closed &&
                (best == nullptr || c->close_at < best->close_at))
                best = c;
        }
        if (best == nullptr)
            return nullptr;
        release(best);
        return take(best);
    }

    Conn* take(Conn* c) {
        const uint32_t generation = c->generation + 1;
        uint8_t* send_ring = c->send_ring;
        uint8_t* recv_ring = c->recv_ring;
        Range* ranges = c->ranges;
        __builtin_memset(c, 0, sizeof(Conn));
        c->used = true;
        c->generation = generation;
        c->send_ring = send_ring;
        c->recv_ring = recv_ring;
        c->ranges = ranges;
        c->listener = kNoListener;
        c->state = State::kClosed;
        c->rto = kInitialRto;
        c->rtx_at = c->persist_at = c->ack_at = c->keepalive_at = c->close_at = kNever;
        c->mss = kDefaultMss;
        ++e.counters_.connections_opened;
        return c;
    }

    void release(Conn* c) {
        c->used = false;
        c->state = State::kClosed;
        ++e.counters_.connections_freed;
        ++e.events_;
    }

    Conn* find(Ip4 local, uint16_t local_port, Ip4 remote, uint16_t remote_port) const {
        for (uint32_t i = 0; i < lim().connections; ++i) {
            Conn* c = &e.conns_[i];
            if (c->used && c->local_port == local_port && c->remote_port == remote_port &&
                c->local == local && c->remote == remote && c->state != State::kClosed)
                return c;
        }
        return nullptr;
    }

    Listener* find_listener(Ip4 local, uint16_t port) const {
        Listener* wildcard = nullptr;
        for (uint32_t i = 0; i < lim().listeners; ++i) {
            Listener* l = &e.listeners_[i];
            if (!l->used || l->port != port)
                continue;
            if (l->local == local)
                return l;
            if (l->local == 0)
                wildcard = l;
        }
        return wildcard;
    }

    // --- the receive side's numbers --------------------------------------------------------

    uint32_t recv_free(const Conn* c) const { return lim().receive_buffer - c->readable; }
    // RCV.WND: what we advertise and what the acceptability test uses.
    uint32_t recv_window(const Conn* c) const {
        return min_of(recv_free(c), kMaxWindow << c->rcv_shift);
    }
    // Our shift: the smallest that lets the window field cover the whole receive buffer.
    uint8_t our_scale() const {
        uint8_t shift = 0;
        while (shift < kMaxShift && (lim().receive_buffer >> shift) > kMaxWindow)
            ++shift;
        return shift;
    }
    // The peer's window field in bytes: a SYN's is never scaled (RFC 7323 2.2).
    uint32_t peer_window(const Conn* c, const Segment& s) const {
        return (s.flags & kSyn) != 0 ? s.window : static_cast<uint32_t>(s.window) << c->snd_shift;
    }

    uint32_t flight(const Conn* c) const { return c->snd_nxt - c->snd_una; }
    // The sequence number just past the buffered data (where the FIN goes).
    uint32_t data_end(const Conn* c) const { return c->snd_una + c->send_len; }
    bool synchronized(const Conn* c) const {
        return c->state != State::kClosed && c->state != State::kListen &&
               c->state != State::kSynSent && c->state != State::kSynReceived;
    }

    // --- output ----------------------------------------------------------------------------

    // One segment's fields, as emit is given them: what write_segment writes.
    struct Outgoing {
        Ip4 local, remote;
        uint16_t local_port, remote_port;
        uint32_t seq, ack;
        uint8_t flags;
        uint16_t window, mss_option;
        int window_scale;
        const uint8_t* ring;
        uint32_t ring_size, offset, length;

        uint32_t header() const {
            return 20u + (mss_option != 0 ? 4u : 0u) + (window_scale >= 0 ? 4u : 0u);
        }
    };

    // Writes segment o at s (header() + o.length bytes): the header, the data from the ring,
    // the checksum. The data is summed in the same pass as it is copied, so each byte sent is
    // read once here (when the ring wraps after an odd number of bytes the second piece would
    // start at an odd offset of the sum: then the two pieces are copied and summed after).
    static void write_segment(uint8_t* s, const Outgoing& o) {
        const uint32_t header = o.header();
        put16(s, o.local_port);
        put16(s + 2, o.remote_port);
        put32(s + 4, o.seq);
        put32(s + 8, (o.flags & kAck) != 0 ? o.ack : 0);
        s[12] = static_cast<uint8_t>(header / 4 << 4);
        s[13] = o.flags;
        put16(s + 14, o.window);
        put16(s + 16, 0);
        put16(s + 18, 0);
        if (o.mss_option != 0) {
            s[20] = kOptionMss;
            s[21] = 4;
            put16(s + 22, o.mss_option);
        }
        if (o.window_scale >= 0) {
            uint8_t* p = s + header - 4;
            p[0] = kOptionNop;  // keeps the header a whole number of words
            p[1] = kOptionWindowScale;
            p[2] = 3;
            p[3] = static_cast<uint8_t>(o.window_scale);
        }
        const uint32_t total = header + o.length;
        uint32_t sum = checksum_add(
            pseudo_header_sum(o.local, o.remote, kProtocolTcp, static_cast<uint16_t>(total)), s,
            header);
        if (o.length > 0) {
            const uint32_t first = min_of(o.length, o.ring_size - o.offset);
            if (first == o.length || first % 2 == 0) {
                sum = checksum_copy(sum, s + header, o.ring + o.offset, first);
                if (first < o.length)
                    sum = checksum_copy(sum, s + header + first, o.ring, o.length - first);
            } else {
                __builtin_memcpy(s + header, o.ring + o.offset, first);
                __builtin_memcpy(s + header + first, o.ring, o.length - first);
                sum = checksum_add(sum, s + header, o.length);
            }
        }
        put16(s + 16, checksum_fold(sum));
    }

    // IpOutput's fill: the size asked for is always header() + length.
    static void fill_segment(void* context, uint8_t* payload, size_t size) {
        (void)size;
        write_segment(payload, *static_cast<const Outgoing*>(context));
    }

    bool emit(Ip4 local, Ip4 remote, uint16_t local_port, uint16_t remote_port, uint32_t seq,
              uint32_t ack, uint8_t flags, uint16_t window, uint16_t mss_option, int window_scale,
              const uint8_t* ring, uint32_t ring_size, uint32_t offset, uint32_t length) {
        Outgoing o{local,  remote,     local_port,   remote_port, seq,       ack,    flags,
                   window, mss_option, window_scale, ring,        ring_size, offset, length};
        const uint32_t total = o.header() + length;
        ++e.counters_.segments_out;
        if ((flags & kRst) != 0)
            ++e.counters_.resets_sent;
        // Built in place where the output can (the Stack's frame slot): the bytes go from the
        // send ring to the frame in one pass. Otherwise in the scratch segment, then sent.
        if (e.output_.build != nullptr)
            return e.output_.build(e.output_.context, local, remote, kProtocolTcp, total,
                                   &fill_segment, &o);
        write_segment(e.scratch_, o);
        return e.output_(local, remote, kProtocolTcp, e.scratch_, total);
    }

    void emit_reset(Ip4 local, Ip4 remote, uint16_t local_port, uint16_t remote_port, uint32_t seq,
                    uint32_t ack, uint8_t flags) {
        emit(local, remote, local_port, remote_port, seq, ack, flags, 0, 0, -1, nullptr, 0, 0, 0);
    }

    // A segment of connection c: the ACK field and window are always current, so every
    // segment answers what was owed.
    void send_segment(Conn* c, uint32_t seq, uint8_t flags, uint32_t length, Time now) {
        uint16_t mss_option = 0;
        int window_scale = -1;
        const bool syn = (flags & kSyn) != 0;
        if (syn) {
            mss_option = lim().mss;
            // Offered on our SYN always, on a SYN-ACK only in answer to an offer.
            if (c->state == State::kSynSent || c->peer_offered_scale)
                window_scale = our_scale();
        }
        if (c->state != State::kSynSent)
            flags = static_cast<uint8_t>(flags | kAck);
        // A SYN's window is never scaled; otherwise the field is the window >> rcv_shift,
        // rounded down (what we accept is the whole free space, never less than advertised).
        const uint32_t field =
            syn ? min_of(recv_free(c), kMaxWindow) : recv_window(c) >> c->rcv_shift;
        uint32_t offset = 0;
        if (length > 0)
            offset = (c->send_head + (seq - c->snd_una)) % lim().send_buffer;
        emit(c->local, c->remote, c->local_port, c->remote_port, seq, c->rcv_nxt, flags,
             static_cast<uint16_t>(field), mss_option, window_scale, c->send_ring,
             lim().send_buffer, offset, length);
        if ((flags & kAck) != 0) {
            c->rcv_adv = c->rcv_nxt + (syn ? field : field << c->rcv_shift);
            c->ack_now = false;
            c->delayed_segments = 0;
            c->ack_at = kNever;
        }
        (void)now;
    }

    // A segment without data carries the next new sequence number, snd_max, not snd_nxt:
    // after a timeout snd_nxt goes back to snd_una while the peer may already hold everything
    // up to snd_max, and a sequence number below its RCV.NXT makes the peer drop the segment,
    // ACK field included, and answer with an ACK of its own. Two sides that both went back
    // then drop each other's ACKs for ever (found by TcpProperty). The one exception is a
    // closed window with a probe byte out: the peer accepts only RCV.NXT, which is snd_nxt.
    uint32_t ack_seq(const Conn* c) const { return c->snd_wnd == 0 ? c->snd_nxt : c->snd_max; }

    void send_ack(Conn* c, Time now) { send_segment(c, ack_seq(c), kAck, 0, now); }

    void send_reset_for(Ip4 local, Ip4 remote, const Segment& s) {
        // RFC 9293 3.10.7.1: a RST that the sender will find acceptable.
        if ((s.flags & kRst) != 0)
            return;
        if (remote == 0 || local == kBroadcastIp4 || remote == kBroadcastIp4 ||
            (local >> 28) == 0xe || (remote >> 28) == 0xe)
            return;  // never answer broadcast or multicast
        if ((s.flags & kAck) != 0)
            emit_reset(local, remote, s.destination_port, s.source_port, s.ack, 0, kRst);
        else
            emit_reset(local, remote, s.destination_port, s.source_port, 0,
                       s.seq + s.sequence_length(), kRst | kAck);
    }

    // (Re)sends the segment starting at seq (data from the ring, and the FIN if seq reaches
    // the data's end): length bytes at most. Returns the sequence space it covered.
    uint32_t send_from(Conn* c, uint32_t seq, uint32_t most, Time now) {
        const uint32_t end = data_end(c);
        uint32_t length = lt(seq, end) ? min_of(end - seq, most) : 0;
        uint8_t flags = kAck;
        if (length > 0 && seq + length == end)
            flags = static_cast<uint8_t>(flags | kPsh);
        uint32_t covered = length;
        if (c->fin_queued && !c->fin_acked && seq + length == end) {
            flags = static_cast<uint8_t>(flags | kFin);
            ++covered;
        }
        send_segment(c, seq, flags, length, now);
        c->snd_max = smax(c->snd_max, seq + covered);
        return covered;
    }

    void arm_rtx(Conn* c, Time now) {
        if (c->rtx_at == kNever)
            c->rtx_at = now + c->rto;
    }

    // Sends what the windows allow (new data, a FIN), and arms the timers that follow.
    void output(Conn* c, Time now) {
        if (!synchronized(c) || c->state == State::kTimeWait)
            return;
        const bool may_send = c->state == State::kEstablished || c->state == State::kCloseWait ||
                              c->state == State::kFinWait1 || c->state == State::kClosing ||
                              c->state == State::kLastAck;
        while (may_send && !c->fin_acked) {
            const uint32_t end = data_end(c);
            const uint32_t unsent = lt(c->snd_nxt, end) ? end - c->snd_nxt : 0;
            const bool fin_due = c->fin_queued && c->snd_nxt == end;
            if (unsent == 0 && !fin_due)
                break;
            const uint32_t window = min_of(c->snd_wnd, c->cwnd);
            const uint32_t avail = window > flight(c) ? window - flight(c) : 0;
            uint32_t length = min_of(min_of(unsent, static_cast<uint32_t>(c->mss)), avail);
            if (unsent > 0) {
                if (length == 0)
                    break;
                // Sender-side silly window avoidance (RFC 1122 4.2.3.4): a short segment only
                // when it finishes the data or nothing else is in flight.
                if (length < c->mss && length < unsent && flight(c) > 0)
                    break;
            }
            const uint32_t seq = c->snd_nxt;
            const bool fresh = !lt(seq, c->snd_max);
            const uint32_t covered = send_from(c, seq, length, now);
            c->snd_nxt = seq + covered;
            c->snd_max = smax(c->snd_max, c->snd_nxt);
            if (fresh && !c->timing) {
                c->timing = true;
                c->rtt_seq = c->snd_nxt;
                c->rtt_start = now;
            }
            if (covered == 0)
                break;
        }
        if (flight(c) > 0) {
            arm_rtx(c, now);
            c->persist_at = kNever;
        } else {
            c->rtx_at = kNever;
            const uint32_t end = data_end(c);
            if (c->snd_wnd == 0 && lt(c->snd_nxt, end) && c->persist_at == kNever)
                c->persist_at = now + persist_interval(c);
        }
        update_keepalive(c, now);
    }

    Time persist_interval(const Conn* c) const {
        Time t = c->rto << min_of(c->persist_shift, 10u);
        return min_of(max_of(t, kPersistMin), kPersistMax);
    }

    void update_keepalive(Conn* c, Time now) {
        (void)now;
        const bool idle = flight(c) == 0 && c->send_len == 0;
        if (!c->keepalive || !idle ||
            (c->state != State::kEstablished && c->state != State::kCloseWait)) {
            c->keepalive_at = kNever;
            return;
        }
        c->keepalive_at = c->probes == 0 ? c->last_heard + lim().keepalive_idle : c->keepalive_at;
    }

    // --- failure and the end of a connection ----------------------------------------------

    void fail(Conn* c, Error error) {
        // Giving up on a synchronised peer (retransmissions, probes, keep-alive): a RST, in
        // case it is still there and only our segments were lost, so that it does not wait
        // for us forever (as BSD's tcp_drop does; RFC 9293 neither asks nor forbids it).
        if (error == Error::kTimedOut && synchronized(c) && c->state != State::kTimeWait)
            send_reset_for_conn(c);
        c->error = error;
        c->state = State::kClosed;
        c->readable = 0;  // RFC 9293: a reset flushes the queues
        c->send_len = 0;
        c->range_count = 0;
        c->rtx_at = c->persist_at = c->ack_at = c->keepalive_at = c->close_at = kNever;
        if (error == Error::kTimedOut)
            ++e.counters_.timeouts;
        ++e.events_;
        // Nobody will ever ask about it: the caller let go, or it was never accepted.
        if (c->user_closed || c->listener != kNoListener)
            release(c);
    }

    void enter_time_wait(Conn* c, Time now) {
        c->state = State::kTimeWait;
        c->rtx_at = c->persist_at = c->keepalive_at = kNever;
        c->close_at = now + 2 * lim().msl;
        ++e.events_;
    }

    void finished(Conn* c) {
        // Both directions done (LAST_ACK acknowledged, TIME_WAIT over).
        c->state = State::kClosed;
        c->rtx_at = c->persist_at = c->ack_at = c->keepalive_at = c->close_at = kNever;
        ++e.events_;
        if (c->user_closed || c->listener != kNoListener)
            release(c);
    }

    // --- timers ----------------------------------------------------------------------------

    void rtt_sample(Conn* c, Time r) {
        // RFC 6298 2.2-2.3, in nanoseconds.
        if (c->srtt == 0) {
            c->srtt = max_of(r, static_cast<Time>(1));
            c->rttvar = r / 2;
        } else {
            const Time diff = c->srtt > r ? c->srtt - r : r - c->srtt;
            c->rttvar = (3 * c->rttvar + diff) / 4;
            c->srtt = max_of((7 * c->srtt + r) / 8, static_cast<Time>(1));
        }
        c->rto = clamp_rto(c->srtt + max_of(kClockGranularity, 4 * c->rttvar));
    }

    static Time clamp_rto(Time t) { return min_of(max_of(t, kMinRto), kMaxRto); }

    void on_rtx_timeout(Conn* c, Time now) {
        c->rtx_at = kNever;
        const bool handshake = c->state == State::kSynSent || c->state == State::kSynReceived;
        const uint32_t limit = handshake ? lim().max_syn_retransmits : lim().max_retransmits;
        if (c->retries >= limit) {
            fail(c, Error::kTimedOut);
            return;
        }
        ++c->retries;
        ++e.counters_.retransmits;
        c->rto = clamp_rto(c->rto * 2);  // RFC 6298 5.5
        c->timing = false;               // Karn's rule
        if (handshake) {
            send_segment(c, c->iss, c->state == State::kSynSent ? kSyn : kSyn | kAck, 0, now);
            c->rtx_at = now + c->rto;
            return;
        }
        // RFC 5681 (4): ssthresh from the flight, one segment of window; RFC 6582: recovery
        // ends and recover marks the highest sequence sent.
        c->ssthresh = max_of(flight(c) / 2, 2u * c->mss);
        c->cwnd = c->mss;
        c->in_recovery = false;
        c->recover = c->snd_max;
        c->dupacks = 0;
        c->snd_nxt = c->snd_una;  // go back: the acknowledged window resends the rest
        const uint32_t covered = send_from(c, c->snd_una, c->mss, now);
        c->snd_nxt = c->snd_una + covered;
        c->rtx_at = now + c->rto;
    }

    void on_persist(Conn* c, Time now) {
        c->persist_at = kNever;
        if (c->snd_wnd != 0 || !lt(c->snd_nxt, data_end(c)) || flight(c) != 0) {
            output(c, now);
            return;
        }
        if (c->probes >= lim().max_retransmits) {
            fail(c, Error::kTimedOut);  // nothing answered any probe
            return;
        }
        // One byte beyond the closed window (RFC 9293 3.8.6.1); snd_nxt stays, snd_max covers
        // it so that an ACK taking it is acceptable.
        send_from(c, c->snd_nxt, 1, now);
        ++c->probes;
        ++c->persist_shift;
        ++e.counters_.zero_window_probes;
        c->persist_at = now + persist_interval(c);
    }

    void on_keepalive(Conn* c, Time now) {
        if (c->probes >= lim().keepalive_probes) {
            fail(c, Error::kTimedOut);
            return;
        }
        // RFC 1122 4.2.3.6: an old sequence number makes the peer answer with an ACK.
        send_segment(c, c->snd_una - 1, kAck, 0, now);
        ++c->probes;
        ++e.counters_.keepalive_probes;
        c->keepalive_at = now + lim().keepalive_interval;
    }

    void on_close_timer(Conn* c) {
        if (c->state == State::kTimeWait) {
            finished(c);
        } else if (c->user_closed) {
            // An orphaned FIN_WAIT_2 whose peer never sends its FIN.
            release(c);
        } else {
            c->close_at = kNever;
        }
    }

    // --- input -----------------------------------------------------------------------------

    void input(Ip4 source, Ip4 destination, const uint8_t* data, size_t size, Time now) {
        ++e.counters_.segments_in;
        Segment s;
        switch (parse_segment(source, destination, data, size, &s)) {
            case ParseResult::kOk:
                break;
            case ParseResult::kBadChecksum:
                ++e.counters_.bad_checksum;
                return;
            case ParseResult::kMalformed:
                ++e.counters_.malformed;
                return;
        }
        if (s.source_port == 0 || s.destination_port == 0) {
            ++e.counters_.malformed;
            return;
        }
        Conn* c = find(destination, s.destination_port, source, s.source_port);
        if (c != nullptr && reopens(c, destination, s)) {
            // RFC 1122 4.2.2.13 (RFC 9293 3.10.7.4): a new SYN may reopen a connection from
            // TIME_WAIT. A peer that reuses its port soon (QEMU's user network passes the host
            // client's port through) otherwise meets the old connection: our ACK, its RST,
            // and its SYN again only after its retransmission timeout (6 s for QEMU).
            const uint32_t floor = c->snd_max + kReopenGap;
            release(c);
            listen_input(source, destination, s, now, &floor);
            return;
        }
        if (c == nullptr) {
            listen_input(source, destination, s, now);
            return;
        }
        if (c->state == State::kSynSent) {
            syn_sent_input(c, s, now);
            return;
        }
        synchronized_input(c, s, now);
        if (c->used && c->state != State::kClosed) {
            output(c, now);
            if (c->ack_now)
                send_ack(c, now);
        }
    }

    // A bare SYN for a connection in TIME_WAIT that nobody holds any more, beyond everything
    // the old one received (so not one of its old duplicates), to a port still listened on.
    bool reopens(const Conn* c, Ip4 destination, const Segment& s) const {
        return c->state == State::kTimeWait && c->user_closed &&
               (s.flags & (kSyn | kAck | kRst | kFin)) == kSyn && lt(c->rcv_nxt, s.seq) &&
               find_listener(destination, s.destination_port) != nullptr;
    }

    // A SYN to a listener. `iss_floor`: for a connection reopened from TIME_WAIT, the new
    // initial sequence number is above every one the old connection used (RFC 1122 4.2.2.13),
    // so that its old segments cannot be taken for new ones.
    void listen_input(Ip4 source, Ip4 destination, const Segment& s, Time now,
                      const uint32_t* iss_floor = nullptr) {
        Listener* l = find_listener(destination, s.destination_port);
        if (l == nullptr) {
            ++e.counters_.no_listener;
            send_reset_for(destination, source, s);
            return;
        }
        if ((s.flags & kRst) != 0)
            return;
        if ((s.flags & kAck) != 0) {
            send_reset_for(destination, source, s);
            return;
        }
        if ((s.flags & kSyn) == 0) {
            ++e.counters_.dropped;
            return;
        }
        const auto index = static_cast<uint32_t>(l - e.listeners_);
        if (backlog_count(index) >= l->backlog) {
            ++e.counters_.backlog_full;  // dropped: the peer's SYN retransmission tries again
            return;
        }
        Conn* c = allocate();
        if (c == nullptr) {
            ++e.counters_.no_slot;
            return;
        }
        c->listener = index;
        c->accept_order = e.counters_.connections_opened;
        c->local = destination;
        c->remote = source;
        c->local_port = s.destination_port;
        c->remote_port = s.source_port;
        start_send_side(c, now);
        if (iss_floor != nullptr) {
            ++e.counters_.reopened;
            if (lt(c->iss, *iss_floor)) {
                c->iss = *iss_floor;
                c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
            }
        }
        c->irs = s.seq;
        c->rcv_nxt = s.seq + 1;
        take_syn_options(c, s);
        c->snd_wnd = s.window;
        c->snd_wl1 = s.seq;
        c->state = State::kSynReceived;
        send_segment(c, c->iss, kSyn | kAck, 0, now);
        settle_scaling(c);  // after the SYN-ACK: its own window is unscaled
        c->snd_nxt = c->snd_max = c->iss + 1;
        c->rtx_at = now + c->rto;
        c->last_heard = now;
    }

    void start_send_side(Conn* c, Time now) {
        // RFC 6528: a clock plus a keyed hash of the connection's identity.
        const uint64_t key =
            mix(e.seed_ ^ mix((static_cast<uint64_t>(c->local) << 32 | c->remote) ^
                              (static_cast<uint64_t>(c->local_port) << 16 | c->remote_port)));
        c->iss = static_cast<uint32_t>(key + now / 4000);
        c->snd_una = c->snd_nxt = c->snd_max = c->iss;
        c->recover = c->iss;
        c->rtt_start = now;
        c->send_head = c->send_len = 0;
        c->recv_head = c->readable = 0;
        c->range_count = 0;
    }

    void take_syn_options(Conn* c, const Segment& s) {
        uint16_t theirs = s.mss != 0 ? s.mss : kDefaultMss;
        theirs = max_of(theirs, kMinMss);
        c->mss = min_of(theirs, lim().mss);
        // RFC 5681 3.1: the initial window.
        const uint32_t m = c->mss;
        c->cwnd = m > 2190 ? 2 * m : (m > 1095 ? 3 * m : 4 * m);
        c->ssthresh = 0xffffffffu;
        c->peer_offered_scale = s.has_window_scale;
        c->peer_scale = min_of(s.window_scale, kMaxShift);
    }

    // Scaling is on when both SYNs carried the option (ours always does, except a SYN-ACK
    // to a SYN without it).
    void settle_scaling(Conn* c) {
        if (c->peer_offered_scale) {
            c->snd_shift = c->peer_scale;
            c->rcv_shift = our_scale();
        } else {
            c->snd_shift = c->rcv_shift = 0;
        }
    }

    void syn_sent_input(Conn* c, const Segment& s, Time now) {
        const bool has_ack = (s.flags & kAck) != 0;
        if (has_ack && (le(s.ack, c->iss) || lt(c->snd_max, s.ack))) {
            ++e.counters_.dropped;
            send_reset_for(c->local, c->remote, s);
            return;
        }
        if ((s.flags & kRst) != 0) {
            if (has_ack) {
                ++e.counters_.resets_received;
                fail(c, Error::kRefused);
            }
            return;
        }
        if ((s.flags & kSyn) == 0) {
            ++e.counters_.dropped;
            return;
        }
        c->irs = s.seq;
        c->rcv_nxt = s.seq + 1;
        take_syn_options(c, s);
        c->last_heard = now;
        if (has_ack) {
            settle_scaling(c);
            ack_syn(c, s.ack, now);
            c->snd_wnd = s.window;
            c->max_snd_wnd = s.window;
            c->snd_wl1 = s.seq;
            c->snd_wl2 = s.ack;
            c->state = State::kEstablished;
            ++e.events_;
            send_ack(c, now);
            update_keepalive(c, now);
            return;
        }
        // Simultaneous open (RFC 9293 figure 7).
        c->state = State::kSynReceived;
        c->snd_wnd = s.window;
        c->snd_wl1 = s.seq;
        send_segment(c, c->iss, kSyn | kAck, 0, now);
        settle_scaling(c);
        c->rtx_at = now + c->rto;
    }

    // Our SYN is acknowledged: the round trip it took (if it was not retransmitted) seeds the
    // RTO.
    void ack_syn(Conn* c, uint32_t ack, Time now) {
        if (c->retries == 0)
            rtt_sample(c, now - c->rtt_start);
        else
            c->rto = kInitialRto;  // RFC 6298 5.7 (3 s there; the backoff is dropped)
        c->snd_una = ack;
        c->snd_nxt = smax(c->snd_nxt, ack);
        c->retries = 0;
        c->rtx_at = kNever;
        c->timing = false;
    }

    // RFC 9293 3.10.7.4, the first check.
    bool acceptable(const Conn* c, const Segment& s) const {
        const uint32_t window = recv_window(c);
        const uint32_t length = s.sequence_length();
        const uint32_t offset = s.seq - c->rcv_nxt;
        if (length == 0)
            return window == 0 ? s.seq == c->rcv_nxt : offset < window;
        if (window == 0)
            return false;
        const uint32_t last = s.seq + length - 1 - c->rcv_nxt;
        return offset < window || last < window;
    }

    void challenge_ack(Conn* c, Time now) {
        // RFC 5961: an ACK that lets a legitimate peer resynchronise and tells an off-path
        // attacker nothing. Rate-limited per connection (RFC 5961 7): a flood of forged RSTs
        // or SYNs must not turn into a flood of ACKs. Per connection rather than engine-wide,
        // so that one connection's count tells nothing about another's (the side channel
        // of CVE-2016-5696).
        if (now - c->challenge_window >= kSecond) {
            c->challenge_window = now;
            c->challenge_count = 0;
        }
        if (c->challenge_count >= kChallengeAcksPerSecond) {
            ++e.counters_.challenge_acks_suppressed;
            return;
        }
        ++c->challenge_count;
        ++e.counters_.challenge_acks;
        send_ack(c, now);
    }

    void synchronized_input(Conn* c, const Segment& in, Time now) {
        Segment s = in;
        if (c->state == State::kSynReceived && (s.flags & kSyn) != 0 && s.seq == c->irs) {
            // The peer's SYN again: a retransmission (our SYN-ACK was lost: send it again), or
            // in a simultaneous open its SYN-ACK, whose ACK is what matters.
            if ((s.flags & kAck) == 0) {
                send_segment(c, c->iss, kSyn | kAck, 0, now);
                return;
            }
            s.flags = static_cast<uint8_t>(s.flags & ~kSyn);
            s.seq += 1;
        }
        // A FIN at exactly rcv_nxt is taken even into a closed window: it needs no buffer.
        const bool bare_fin_at_edge = s.length == 0 && (s.flags & kFin) != 0 && s.seq == c->rcv_nxt;
        if (!acceptable(c, s) && !bare_fin_at_edge) {
            if ((s.flags & kRst) != 0)
                return;  // RFC 5961 3.2: out of window, silently dropped
            if (lt(s.seq + s.sequence_length(), c->rcv_nxt) ||
                (s.sequence_length() > 0 && s.seq + s.sequence_length() == c->rcv_nxt))
                ++e.counters_.duplicates;
            else
                ++e.counters_.unacceptable;
            c->ack_now = true;
            if (c->state == State::kTimeWait && (s.flags & kFin) != 0)
                c->close_at = now + 2 * lim().msl;  // a retransmitted FIN restarts 2 MSL
            return;
        }
        if ((s.flags & kRst) != 0) {
            if (s.seq == c->rcv_nxt) {
                ++e.counters_.resets_received;
                reset_received(c);
            } else {
                challenge_ack(c, now);
            }
            return;
        }
        if ((s.flags & kSyn) != 0) {
            // RFC 5961 4: any other SYN in a synchronised state.
            challenge_ack(c, now);
            return;
        }
        if ((s.flags & kAck) == 0) {
            ++e.counters_.dropped;
            return;
        }
        // The peer is alive: keep-alive and zero-window probes start counting again.
        c->last_heard = now;
        c->probes = 0;

        if (c->state == State::kSynReceived) {
            if (le(s.ack, c->snd_una) || lt(c->snd_max, s.ack)) {
                send_reset_for(c->local, c->remote, s);
                return;
            }
            ack_syn(c, s.ack, now);
            c->state = State::kEstablished;
            // A simultaneous open's SYN-ACK (its SYN taken off above) has an unscaled window.
            c->snd_wnd = (in.flags & kSyn) != 0 ? s.window : peer_window(c, s);
            c->max_snd_wnd = c->snd_wnd;
            c->snd_wl1 = s.seq;
            c->snd_wl2 = s.ack;
            ++e.events_;  // an accept() or a connect() waiter may go on
        }
        if (!process_ack(c, s, now))
            return;
        if (!c->used || c->state == State::kClosed || c->state == State::kTimeWait) {
            if (c->used && c->state == State::kTimeWait && (s.flags & kFin) != 0) {
                c->ack_now = true;
                c->close_at = now + 2 * lim().msl;
            }
            return;
        }
        process_data(c, s, now);
    }

    void reset_received(Conn* c) {
        const bool was_receiving_syn = c->state == State::kSynReceived;
        if (c->state == State::kTimeWait || c->state == State::kClosing ||
            c->state == State::kLastAck) {
            finished(c);  // it was ending anyway
            return;
        }
        fail(c, was_receiving_syn && c->listener == kNoListener ? Error::kRefused : Error::kReset);
    }

    // The ACK field (RFC 9293 3.10.7.4 fifth check). false: drop the rest of the segment.
    bool process_ack(Conn* c, const Segment& s, Time now) {
        // RFC 5961 5.2: an ACK far behind (more than the largest window) is an attack.
        if (lt(s.ack, c->snd_una - max_of(c->max_snd_wnd, 1u)) || lt(c->snd_max, s.ack)) {
            ++e.counters_.dropped;
            c->ack_now = true;
            return false;
        }
        const uint32_t before_wnd = c->snd_wnd;
        if (lt(c->snd_wl1, s.seq) || (c->snd_wl1 == s.seq && le(c->snd_wl2, s.ack))) {
            c->snd_wnd = peer_window(c, s);
            c->snd_wl1 = s.seq;
            c->snd_wl2 = s.ack;
            c->max_snd_wnd = max_of(c->max_snd_wnd, c->snd_wnd);
            if (c->snd_wnd > 0) {
                c->persist_at = kNever;
                c->persist_shift = 0;
            }
        }
        if (lt(c->snd_una, s.ack)) {
            new_ack(c, s.ack, now);
            if (!c->used || c->state == State::kClosed)
                return false;
        } else if (s.ack == c->snd_una && s.length == 0 && (s.flags & kFin) == 0 &&
                   peer_window(c, s) == before_wnd && flight(c) > 0) {
            duplicate_ack(c, now);
        }
        if (c->snd_wnd > before_wnd)
            ++e.events_;
        return true;
    }

    void new_ack(Conn* c, uint32_t ack, Time now) {
        const uint32_t advanced = ack - c->snd_una;
        const uint32_t flight_before = flight(c);
        // Data bytes first; what remains acknowledges our FIN.
        const uint32_t data = min_of(advanced, c->send_len);
        c->send_head = (c->send_head + data) % lim().send_buffer;
        c->send_len -= data;
        c->snd_una = ack;
        c->snd_nxt = smax(c->snd_nxt, ack);
        if (c->fin_queued && advanced > data)
            c->fin_acked = true;
        c->retries = 0;
        c->probes = 0;
        if (c->timing && le(c->rtt_seq, ack)) {
            c->timing = false;
            rtt_sample(c, now - c->rtt_start);
        } else if (c->srtt != 0) {
            // Backoff ends with an ACK of new data (RFC 6298 5.7's spirit).
            c->rto = clamp_rto(c->srtt + max_of(kClockGranularity, 4 * c->rttvar));
        }
        congestion_on_ack(c, advanced, flight_before, now);
        c->rtx_at = kNever;
        if (flight(c) > 0)
            c->rtx_at = now + c->rto;  // RFC 6298 5.3
        if (data > 0)
            ++e.events_;
        if (c->fin_acked)
            our_fin_acked(c, now);
    }

    void congestion_on_ack(Conn* c, uint32_t acked, uint32_t flight_before, Time now) {
        const uint32_t mss = c->mss;
        if (c->in_recovery) {
            if (!lt(c->snd_una, c->recover)) {
                // RFC 6582 3.2 (3): a full ACK ends recovery.
                c->cwnd = min_of(c->ssthresh, max_of(flight(c), mss) + mss);
                c->in_recovery = false;
                c->dupacks = 0;
            } else {
                // Partial ACK: resend the next hole, deflate by what was taken.
                ++e.counters_.fast_retransmits;
                send_from(c, c->snd_una, mss, now);
                c->cwnd = c->cwnd > acked ? c->cwnd - acked : mss;
                if (acked >= mss)
                    c->cwnd += mss;
                c->rtx_at = kNever;  // the first partial ACK resets the timer (RFC 6582 (5))
            }
            return;
        }
        c->dupacks = 0;
        // Grow only while the window was the limit (RFC 5681 / RFC 7661's idea, simplified:
        // a flight under half the window does not prove the bigger window works).
        if (flight_before * 2 < c->cwnd)
            return;
        const uint32_t limit = 4 * lim().send_buffer + 4 * mss;
        if (c->cwnd < c->ssthresh)
            c->cwnd += min_of(acked, mss);  // slow start
        else
            c->cwnd += max_of(1u, mss * mss / c->cwnd);  // congestion avoidance
        c->cwnd = min_of(c->cwnd, limit);
    }

    void duplicate_ack(Conn* c, Time now) {
        const uint32_t mss = c->mss;
        ++c->dupacks;
        if (c->in_recovery) {
            c->cwnd += mss;  // RFC 5681 3.2 (4): each dup ACK left the network
            return;
        }
        if (c->dupacks != 3)
            return;
        // RFC 6582 3.2 (2): only when the ACK covers more than recover (no false fast
        // retransmit after a timeout).
        if (!lt(c->recover, c->snd_una))
            return;
        ++e.counters_.fast_retransmits;
        c->ssthresh = max_of(flight(c) / 2, 2 * mss);
        c->recover = c->snd_max;
        c->in_recovery = true;
        c->timing = false;
        send_from(c, c->snd_una, mss, now);
        c->cwnd = c->ssthresh + 3 * mss;
    }

    void our_fin_acked(Conn* c, Time now) {
        c->rtx_at = kNever;
        switch (c->state) {
            case State::kFinWait1:
                c->state = State::kFinWait2;
                if (c->user_closed)
                    c->close_at = now + 2 * lim().msl;
                ++e.events_;
                break;
            case State::kClosing:
                enter_time_wait(c, now);
                break;
            case State::kLastAck:
                finished(c);
                break;
            default:
                break;
        }
    }

    // Text and FIN (RFC 9293 3.10.7.4 seventh and eighth checks).
    void process_data(Conn* c, const Segment& in, Time now) {
        Segment s = in;
        const bool can_take = c->state == State::kEstablished || c->state == State::kFinWait1 ||
                              c->state == State::kFinWait2;
        // Trim to the window: bytes before rcv_nxt were taken already, bytes beyond the
        // window (and a FIN behind them) are dropped.
        if (lt(s.seq, c->rcv_nxt)) {
            const uint32_t skip = min_of(c->rcv_nxt - s.seq, s.length);
            s.data += skip;
            s.length -= skip;
            s.seq += skip;
        }
        const uint32_t window = recv_free(c);
        const uint32_t offset = s.seq - c->rcv_nxt;
        if (s.length > 0 && offset + s.length > window) {
            const uint32_t keep = offset < window ? window - offset : 0;
            s.length = keep;
            s.flags = static_cast<uint8_t>(s.flags & ~kFin);
        }
        if (s.length > 0 && c->user_closed) {
            // New data nobody will read: tell the peer (RFC 9293 3.10.4, RFC 2525 2.17).
            send_reset_for_conn(c);
            fail(c, Error::kReset);
            return;
        }
        if (!can_take)
            s.length = 0;
        if (s.length > 0) {
            if (offset == 0)
                take_in_order(c, s, now);
            else
                keep_out_of_order(c, s);
        }
        if ((s.flags & kFin) != 0 && s.seq + s.length == c->rcv_nxt && !c->fin_received &&
            c->range_count == 0)
            fin_received(c, now);
        else if ((s.flags & kFin) != 0 && c->fin_received)
            c->ack_now = true;  // a retransmitted FIN: our ACK was lost
    }

    void send_reset_for_conn(Conn* c) {
        emit_reset(c->local, c->remote, c->local_port, c->remote_port, ack_seq(c), 0, kRst);
    }

    void ring_write(Conn* c, uint32_t seq, const uint8_t* data, uint32_t length) {
        // The byte at seq lives at recv_head + (seq - first unread byte's seq).
        const uint32_t size = lim().receive_buffer;
        const uint32_t base = c->rcv_nxt - c->readable;
        const uint32_t at =
            static_cast<uint32_t>((static_cast<uint64_t>(c->recv_head) + (seq - base)) % size);
        const uint32_t first = min_of(length, size - at);
        __builtin_memcpy(c->recv_ring + at, data, first);
        if (first < length)
            __builtin_memcpy(c->recv_ring, data + first, length - first);
    }

    void take_in_order(Conn* c, const Segment& s, Time now) {
        ring_write(c, s.seq, s.data, s.length);
        c->rcv_nxt += s.length;
        c->readable += s.length;
        const bool filled_hole = c->range_count > 0;
        // Ranges now reached join the readable bytes.
        uint32_t kept = 0;
        for (uint32_t i = 0; i < c->range_count; ++i) {
            Range r = c->ranges[i];
            if (le(r.start, c->rcv_nxt)) {
                if (lt(c->rcv_nxt, r.end)) {
                    c->readable += r.end - c->rcv_nxt;
                    c->rcv_nxt = r.end;
                }
            } else {
                c->ranges[kept++] = r;
            }
        }
        c->range_count = kept;
        ++e.events_;
        // Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2): every second full segment at once,
        // otherwise within kDelayedAck; a filled hole is acknowledged at once.
        if (filled_hole || c->range_count > 0) {
            c->ack_now = true;
            return;
        }
        if (++c->delayed_segments >= 2)
            c->ack_now = true;
        else if (c->ack_at == kNever)
            c->ack_at = now + kDelayedAck;
    }

    void keep_out_of_order(Conn* c, const Segment& s) {
        c->ack_now = true;  // RFC 5681 4.2: an out-of-order segment is acknowledged at once
        uint32_t start = s.seq, end = s.seq + s.length;
        // Merge with every range it touches; keep the array sorted by start.
        uint32_t kept = 0;
        uint32_t insert_at = 0;
        bool merged = false;
        for (uint32_t i = 0; i < c->range_count; ++i) {
            Range r = c->ranges[i];
            if (le(r.start, end) && le(start, r.end)) {
                if (le(r.start, start) && le(end, r.end)) {
                    ++e.counters_.duplicates;
                    return;  // already held
                }
                start = lt(r.start, start) ? r.start : start;
                end = lt(end, r.end) ? r.end : end;
                merged = true;
                continue;
            }
            c->ranges[kept++] = r;
        }
        if (!merged && kept >= lim().out_of_order_ranges) {
            ++e.counters_.out_of_order_dropped;
            c->range_count = kept;
            return;
        }
        c->range_count = kept;
        while (insert_at < c->range_count && lt(c->ranges[insert_at].start, start))
            ++insert_at;
        for (uint32_t i = c->range_count; i > insert_at; --i)
            c->ranges[i] = c->ranges[i - 1];
        c->ranges[insert_at] = Range{start, end};
        ++c->range_count;
        ring_write(c, s.seq, s.data, s.length);
        ++e.counters_.out_of_order_kept;
    }

    void fin_received(Conn* c, Time now) {
        c->fin_received = true;
        c->rcv_nxt += 1;
        c->ack_now = true;
        ++e.events_;
        switch (c->state) {
            case State::kEstablished:
                c->state = State::kCloseWait;
                break;
            case State::kFinWait1:
                // Our FIN not yet acknowledged (else we would be in FIN_WAIT_2): simultaneous
                // close.
                c->state = State::kClosing;
                break;
            case State::kFinWait2:
                c->close_at = kNever;
                enter_time_wait(c, now);
                break;
            default:
                break;
        }
    }

    // --- API helpers -----------------------------------------------------------------------

    void queue_fin(Conn* c, Time now) {
        if (c->fin_queued)
            return;
        c->fin_queued = true;
        if (c->state == State::kEstablished)
            c->state = State::kFinWait1;
        else if (c->state == State::kCloseWait)
            c->state = State::kLastAck;
        output(c, now);
    }

    Time next_deadline(const Conn* c) const {
        Time t = c->rtx_at;
        t = min_of(t, c->persist_at);
        t = min_of(t, c->ack_at);
        t = min_of(t, c->keepalive_at);
        t = min_of(t, c->close_at);
        return t;
    }

    void run_timers(Conn* c, Time now) {
        if (c->ack_at != kNever && c->ack_at <= now) {
            c->ack_at = kNever;
            send_ack(c, now);
        }
        if (c->rtx_at != kNever && c->rtx_at <= now)
            on_rtx_timeout(c, now);
        if (!c->used)
            return;
        if (c->persist_at != kNever && c->persist_at <= now)
            on_persist(c, now);
        if (!c->used)
            return;
        if (c->keepalive_at != kNever && c->keepalive_at <= now)
            on_keepalive(c, now);
        if (!c->used)
            return;
        if (c->close_at != kNever && c->close_at <= now)
            on_close_timer(c);
    }
};

// --- the public calls ------------------------------------------------------------------------

namespace {

bool limits_ok(const Limits& l) {
    return l.connections >= 1 && l.connections <= 65536 && l.listeners >= 1 &&
           l.listeners <= 4096 && l.backlog >= 1 && l.receive_buffer >= 1 &&
           l.receive_buffer <= (1u << 30) && l.send_buffer >= 1 && l.send_buffer <= (1u << 30) &&
           l.out_of_order_ranges >= 1 && l.out_of_order_ranges <= 1024 && l.mss >= kMinMss &&
           l.mss <= 65495 && l.msl > 0 && l.keepalive_interval > 0;
}

struct Layout {
    size_t conns, listeners, ranges, send, recv, scratch, total;
};

Layout layout(const Limits& l) {
    Layout out{};
    size_t at = 0;
    out.conns = at;
    at += align16(sizeof(Engine::Conn) * l.connections);
    out.listeners = at;
    at += align16(sizeof(Engine::Listener) * l.listeners);
    out.ranges = at;
    at += align16(sizeof(Range) * static_cast<size_t>(l.connections) * l.out_of_order_ranges);
    out.send = at;
    at += align16(static_cast<size_t>(l.send_buffer) * l.connections);
    out.recv = at;
    at += align16(static_cast<size_t>(l.receive_buffer) * l.connections);
    out.scratch = at;
    at += align16(24u + l.mss);
    out.total = at;
    return out;
}

}  // namespace

size_t Engine::storage_size(const Limits& limits) {
    if (!limits_ok(limits))
        return 0;
    const uint64_t bytes =
        (static_cast<uint64_t>(limits.send_buffer) + limits.receive_buffer) * limits.connections;
    if (bytes > (static_cast<uint64_t>(1) << 40) || bytes > static_cast<size_t>(-1) / 2)
        return 0;
    return layout(limits).total;
}

int64_t Engine::init(const Limits& limits, IpOutput output, uint64_t seed, void* storage,
                     size_t size) {
    ready_ = false;
    const size_t need = storage_size(limits);
    if (need == 0 || storage == nullptr || size < need ||
        (reinterpret_cast<uintptr_t>(storage) & 15) != 0)
        return fail(Error::kInvalid);
    auto* base = static_cast<uint8_t*>(storage);
    const Layout at = layout(limits);
    __builtin_memset(base, 0, at.send);  // the tables; buffers are written before read
    limits_ = limits;
    output_ = output;
    seed_ = mix(seed);
    counters_ = Counters{};
    events_ = 0;
    conns_ = reinterpret_cast<Conn*>(base + at.conns);
    listeners_ = reinterpret_cast<Listener*>(base + at.listeners);
    auto* ranges = reinterpret_cast<Range*>(base + at.ranges);
    for (uint32_t i = 0; i < limits.connections; ++i) {
        Conn* c = &conns_[i];
        c->send_ring = base + at.send + static_cast<size_t>(i) * limits.send_buffer;
        c->recv_ring = base + at.recv + static_cast<size_t>(i) * limits.receive_buffer;
        c->ranges = ranges + static_cast<size_t>(i) * limits.out_of_order_ranges;
        c->state = State::kClosed;
    }
    scratch_ = base + at.scratch;
    next_port_ = static_cast<uint16_t>(49152 + mix(seed_ ^ 0x706f7274u) % 16384);
    ready_ = true;
    return 0;
}

Engine::Conn* Engine::conn_of(int64_t id) const {
    if (!ready_ || id < 0)
        return nullptr;
    const auto index = static_cast<uint64_t>(id) % limits_.connections;
    const auto generation = static_cast<uint64_t>(id) / limits_.connections;
    Conn* c = &conns_[index];
    if (!c->used || c->user_closed || c->generation != generation)
        return nullptr;
    // A connection still in a listener's backlog is not the caller's yet.
    if (c->listener != kNoListener)
        return nullptr;
    return c;
}

Engine::Listener* Engine::listener_of(int64_t id) const {
    if (!ready_ || id < 0)
        return nullptr;
    const auto index = static_cast<uint64_t>(id) % limits_.listeners;
    const auto generation = static_cast<uint64_t>(id) / limits_.listeners;
    Listener* l = &listeners_[index];
    if (!l->used || l->generation != generation)
        return nullptr;
    return l;
}

void Engine::input(Ip4 source, Ip4 destination, const uint8_t* segment, size_t size, Time now) {
    if (!ready_)
        return;
    Impl{*this}.input(source, destination, segment, size, now);
}

void Engine::icmp_error(uint8_t type, uint8_t code, Ip4 original_destination,
                        const uint8_t* original_tcp, size_t size, Time now) {
    (void)now;
    if (!ready_ || original_tcp == nullptr || size < 8 || (type != 3 && type != 11))
        return;
    const uint16_t local_port = get16(original_tcp);
    const uint16_t remote_port = get16(original_tcp + 2);
    const uint32_t seq = get32(original_tcp + 4);
    Impl impl{*this};
    for (uint32_t i = 0; i < limits_.connections; ++i) {
        Conn* c = &conns_[i];
        if (!c->used || c->state == State::kClosed || c->remote != original_destination ||
            c->local_port != local_port || c->remote_port != remote_port)
            continue;
        // RFC 5927 4.1: only a quote of something we sent and is not yet acknowledged.
        if (lt(seq, c->snd_una) || lt(c->snd_max, seq))
            return;
        ++counters_.icmp_errors;
        // Hard errors only for "this peer cannot be reached" codes (net, host, protocol,
        // port; administratively prohibited): fragmentation needed and the rest stay soft.
        const bool hard = code <= 3 || code == 9 || code == 10 || code == 13;
        if (c->state == State::kSynSent && type == 3 && hard)
            impl.fail(c, code == 2 || code == 3 ? Error::kRefused : Error::kUnreachable);
        return;
    }
}

Time Engine::poll(Time now) {
    if (!ready_)
        return kNever;
    Impl impl{*this};
    Time next = kNever;
    for (uint32_t i = 0; i < limits_.connections; ++i) {
        Conn* c = &conns_[i];
        if (!c->used)
            continue;
        impl.run_timers(c, now);
        if (c->used)
            next = min_of(next, impl.next_deadline(c));
    }
    return next;
}

int64_t Engine::listen(Ip4 local, uint16_t port, uint32_t backlog) {
    if (!ready_ || port == 0)
        return fail(Error::kInvalid);
    Listener* free_slot = nullptr;
    for (uint32_t i = 0; i < limits_.listeners; ++i) {
        Listener* l = &listeners_[i];
        if (!l->used) {
            if (free_slot == nullptr)
                free_slot = l;
            continue;
        }
        if (l->port == port && (l->local == local || l->local == 0 || local == 0))
            return fail(Error::kAddressInUse);
    }
    if (free_slot == nullptr)
        return fail(Error::kNoRoom);
    free_slot->used = true;
    ++free_slot->generation;
    free_slot->local = local;
    free_slot->port = port;
    free_slot->backlog = min_of(max_of(backlog, 1u), limits_.backlog);
    const auto index = static_cast<int64_t>(free_slot - listeners_);
    return static_cast<int64_t>(free_slot->generation) * limits_.listeners + index;
}

int64_t Engine::accept(int64_t listener) {
    Listener* l = listener_of(listener);
    if (l == nullptr)
        return fail(Error::kInvalid);
    const auto index = static_cast<uint32_t>(l - listeners_);
    Conn* oldest = nullptr;
    for (uint32_t i = 0; i < limits_.connections; ++i) {
        Conn* c = &conns_[i];
        if (c->used && c->listener == index && c->state != State::kSynReceived &&
            (oldest == nullptr || c->accept_order < oldest->accept_order))
            oldest = c;
    }
    if (oldest == nullptr)
        return fail(Error::kWouldBlock);
    oldest->listener = kNoListener;
    return Impl{*this}.id_of(oldest);
}

void Engine::close_listener(int64_t listener, Time now) {
    (void)now;
    Listener* l = listener_of(listener);
    if (l == nullptr)
        return;
    const auto index = static_cast<uint32_t>(l - listeners_);
    Impl impl{*this};
    for (uint32_t i = 0; i < limits_.connections; ++i) {
        Conn* c = &conns_[i];
        if (c->used && c->listener == index) {
            if (c->state != State::kClosed)
                impl.send_reset_for_conn(c);
            impl.release(c);
        }
    }
    l->used = false;
    ++events_;
}

int64_t Engine::connect(Ip4 local, Ip4 remote, uint16_t port, Time now) {
    if (!ready_ || port == 0 || remote == 0)
        return fail(Error::kInvalid);
    Impl impl{*this};
    // An ephemeral port no connection or listener uses, walking from a random start.
    uint16_t chosen = 0;
    const uint32_t start = static_cast<uint32_t>(mix(seed_ ^ now ^ next_port_) % 16384);
    for (uint32_t k = 0; k < 16384 && chosen == 0; ++k) {
        const auto candidate = static_cast<uint16_t>(49152 + (start + k) % 16384);
        bool taken = false;
        for (uint32_t i = 0; i < limits_.connections && !taken; ++i)
            taken = conns_[i].used && conns_[i].local_port == candidate;
        for (uint32_t i = 0; i < limits_.listeners && !taken; ++i)
            taken = listeners_[i].used && listeners_[i].port == candidate;
        if (!taken)
            chosen = candidate;
    }
    if (chosen == 0)
        return fail(Error::kNoRoom);
    next_port_ = chosen;
    Conn* c = impl.allocate();
    if (c == nullptr)
        return fail(Error::kNoRoom);
    c->local = local;
    c->remote = remote;
    c->local_port = chosen;
    c->remote_port = port;
    impl.start_send_side(c, now);
    c->state = State::kSynSent;
    impl.send_segment(c, c->iss, kSyn, 0, now);
    c->snd_nxt = c->snd_max = c->iss + 1;
    c->rtx_at = now + c->rto;
    return impl.id_of(c);
}

int64_t Engine::status(int64_t id) {
    const Conn* c = conn_of(id);
    if (c == nullptr)
        return fail(Error::kInvalid);
    if (c->error != Error{})
        return fail(c->error);
    if (c->state == State::kSynSent || c->state == State::kSynReceived)
        return 0;
    if (c->readable == 0 && c->fin_received &&
        (c->state == State::kTimeWait || c->state == State::kClosed))
        return fail(Error::kClosed);
    return 1;
}

Engine::Conn* Engine::healthy(int64_t id, int64_t* why) const {
    Conn* c = conn_of(id);
    if (c == nullptr)
        *why = fail(Error::kInvalid);
    else if (c->error != Error{})
        *why = fail(c->error);
    else if (c->state == State::kSynSent || c->state == State::kSynReceived)
        *why = fail(Error::kWouldBlock);
    else
        return c;
    return nullptr;
}

int64_t Engine::send(int64_t id, const uint8_t* data, size_t size, Time now) {
    int64_t why = 0;
    Conn* c = healthy(id, &why);
    if (c == nullptr)
        return why;
    if (c->fin_queued || (c->state != State::kEstablished && c->state != State::kCloseWait))
        return fail(Error::kNotConnected);
    const uint32_t space = limits_.send_buffer - c->send_len;
    if (space == 0)
        return fail(Error::kWouldBlock);
    if (size == 0)
        return 0;
    const auto n = static_cast<uint32_t>(min_of(size, static_cast<size_t>(space)));
    const uint32_t at = (c->send_head + c->send_len) % limits_.send_buffer;
    const uint32_t first = min_of(n, limits_.send_buffer - at);
    __builtin_memcpy(c->send_ring + at, data, first);
    if (first < n)
        __builtin_memcpy(c->send_ring, data + first, n - first);
    c->send_len += n;
    Impl{*this}.output(c, now);
    return n;
}

int64_t Engine::receive(int64_t id, uint8_t* buffer, size_t capacity, Time now) {
    Conn* c = conn_of(id);
    if (c == nullptr)
        return fail(Error::kInvalid);
    if (c->readable == 0) {
        if (c->error != Error{})
            return fail(c->error);
        if (c->fin_received)
            return 0;
        return fail(Error::kWouldBlock);
    }
    if (capacity == 0)
        return 0;
    const auto n = static_cast<uint32_t>(min_of(capacity, static_cast<size_t>(c->readable)));
    const uint32_t size = limits_.receive_buffer;
    const uint32_t first = min_of(n, size - c->recv_head);
    __builtin_memcpy(buffer, c->recv_ring + c->recv_head, first);
    if (first < n)
        __builtin_memcpy(buffer + first, c->recv_ring, n - first);
    c->recv_head = (c->recv_head + n) % size;
    c->readable -= n;
    // Receiver-side silly window avoidance (RFC 1122 4.2.3.3): a window update once the
    // window grew by a segment or half the buffer.
    Impl impl{*this};
    if (impl.synchronized(c) && !c->fin_received && c->state != State::kTimeWait) {
        const uint32_t edge = c->rcv_nxt + impl.recv_window(c);
        const uint32_t step = min_of(static_cast<uint32_t>(c->mss), size / 2);
        if (lt(c->rcv_adv, edge) && edge - c->rcv_adv >= max_of(step, 1u))
            impl.send_ack(c, now);
    }
    return n;
}

int64_t Engine::shutdown(int64_t id, Time now) {
    int64_t why = 0;
    Conn* c = healthy(id, &why);
    if (c == nullptr)
        return why == fail(Error::kWouldBlock) ? fail(Error::kNotConnected) : why;
    Impl{*this}.queue_fin(c, now);
    return 0;
}

void Engine::close(int64_t id, Time now) {
    Conn* c = conn_of(id);
    if (c == nullptr)
        return;
    Impl impl{*this};
    c->user_closed = true;
    if (c->state == State::kClosed || c->state == State::kSynSent) {
        impl.release(c);
        return;
    }
    if (c->readable > 0 || c->state == State::kSynReceived) {
        // Unread data: the peer must learn it was not taken (RFC 2525 2.17).
        impl.send_reset_for_conn(c);
        impl.release(c);
        return;
    }
    impl.queue_fin(c, now);
    if (c->state == State::kFinWait2 && c->close_at == kNever)
        c->close_at = now + 2 * limits_.msl;
}

void Engine::abort(int64_t id, Time now) {
    (void)now;
    Conn* c = conn_of(id);
    if (c == nullptr)
        return;
    Impl impl{*this};
    if (c->state != State::kClosed && c->state != State::kSynSent && c->state != State::kTimeWait)
        impl.send_reset_for_conn(c);
    c->user_closed = true;
    impl.release(c);
}

size_t Engine::send_space(int64_t id) const {
    const Conn* c = conn_of(id);
    if (c == nullptr || c->error != Error{} || c->fin_queued ||
        (c->state != State::kEstablished && c->state != State::kCloseWait))
        return 0;
    return limits_.send_buffer - c->send_len;
}

size_t Engine::readable(int64_t id) const {
    const Conn* c = conn_of(id);
    return c == nullptr ? 0 : c->readable;
}

int64_t Engine::info(int64_t id, Info* out) const {
    const Conn* c = conn_of(id);
    if (c == nullptr || out == nullptr)
        return fail(Error::kInvalid);
    Info i{};
    i.local = c->local;
    i.remote = c->remote;
    i.local_port = c->local_port;
    i.remote_port = c->remote_port;
    i.state = c->state;
    i.srtt_us = static_cast<uint32_t>(min_of(c->srtt / 1000, static_cast<Time>(0xffffffffu)));
    i.cwnd = c->cwnd;
    i.unacked = c->snd_max - c->snd_una;
    i.readable = c->readable;
    i.rto_us = static_cast<uint32_t>(min_of(c->rto / 1000, static_cast<Time>(0xffffffffu)));
    i.send_window = c->snd_wnd;
    *out = i;
    return 0;
}

void Engine::set_keepalive(int64_t id, bool on) {
    Conn* c = conn_of(id);
    if (c == nullptr)
        return;
    c->keepalive = on;
    c->probes = 0;
    if (!on)
        c->keepalive_at = kNever;
    else
        Impl{*this}.update_keepalive(c, c->last_heard);
}

uint32_t Engine::slots_in_use() const {
    uint32_t n = 0;
    for (uint32_t i = 0; ready_ && i < limits_.connections; ++i)
        n += conns_[i].used ? 1 : 0;
    return n;
}

uint32_t Engine::ranges_in_use() const {
    uint32_t n = 0;
    for (uint32_t i = 0; ready_ && i < limits_.connections; ++i)
        n += conns_[i].used ? conns_[i].range_count : 0;
    return n;
}

}  // namespace keel::net::tcp
