// lib/net TCP properties (RapidCheck): two engines talk through a simulated link that drops,
// duplicates, reorders, delays and corrupts segments on a schedule RapidCheck generates (and
// shrinks), including blackouts of 8 to 64 segments in a row. Time moves to the next event: a
// delivery or an engine's poll() deadline. For every flow (1-3 connections at once, data both ways,
// random sizes and contents, random buffer sizes, MSS and reassembly limits):
// - what a side receives is always a prefix of what the other side sent (never a wrong or
//   repeated byte); with no failure reported on either side, everything arrives and the
//   stream ends with the FIN; a failure is only ever one of the engine's errors;
// - every corrupted segment that arrives is rejected (bad checksum, or malformed when the
//   change hit the data offset), counted exactly once;
// - slots and out-of-order ranges stay within the limits at every step, readable bytes within
//   the buffer; when both sides have closed and 2 * MSL passed, every slot is free again.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/net/error.hpp>
#include <keel/net/tcp.hpp>

#include <map>
#include <vector>

#include "tcp_harness.hpp"

namespace keel::net::tcp {
namespace {

using testing::Host;
using testing::Packet;

constexpr Ip4 kA = ip4(192, 168, 1, 1);
constexpr Ip4 kB = ip4(192, 168, 1, 2);
constexpr uint16_t kPort = 443;

// One direction of one connection, from the application's point of view.
struct Stream {
    std::vector<uint8_t> data;      // what the sender writes
    size_t written = 0;             // taken by send()
    bool shut = false;              // shutdown() done
    std::vector<uint8_t> received;  // what the receiver read
    bool ended = false;             // the receiver read the FIN (receive() 0)
};

struct Side {
    int64_t id = -1;
    bool closed = false;  // the application called close()
    int64_t failure = 0;  // the error status() reported, 0 while none
};

struct Flow {
    Stream ab, ba;
    Side a, b;
};

std::vector<uint8_t> pseudo_random(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed * 2654435761u + 1;
    for (auto& byte : v) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        byte = static_cast<uint8_t>(x);
    }
    return v;
}

struct Event {
    Packet packet;
    bool to_b;
    bool corrupted;
};

struct Link {
    std::vector<uint8_t> schedule;  // one entry per segment sent, then a clean wire
    size_t next = 0;
    Time latency;
    std::multimap<Time, Event> queue;  // delivery time: equal times keep sending order
    uint32_t blackout = 0;             // segments still to lose in a row

    void carry(Packet p, bool to_b, Time now) {
        uint8_t action = next < schedule.size() ? schedule[next] : 0;
        ++next;
        if (blackout > 0) {
            --blackout;
            return;
        }
        if (action >= 0xfc) {
            // The link goes dark for a while: long enough, sometimes, for retries to run out.
            blackout = 8u << (action - 0xfc);
            return;
        }
        switch (action % 8) {
            case 4:  // lost
                return;
            case 5:  // duplicated, the copy a little later
                queue.emplace(now + latency + (action / 8) * kMillisecond, Event{p, to_b, false});
                break;
            case 6:  // delayed: overtaken by what follows
                queue.emplace(now + latency + (action / 8 + 1) * 7 * kMillisecond,
                              Event{p, to_b, false});
                return;
            case 7: {  // one byte changed: the checksum must catch it
                const size_t at = (action / 8u * 131u) % p.bytes.size();
                p.bytes[at] = static_cast<uint8_t>(p.bytes[at] ^ (1u + action / 8u % 255u));
                queue.emplace(now + latency, Event{p, to_b, true});
                return;
            }
            default:
                break;
        }
        queue.emplace(now + latency, Event{p, to_b, false});
    }
};

void check_prefix(const Stream& s) {
    RC_ASSERT(s.received.size() <= s.data.size());
    RC_ASSERT(std::equal(s.received.begin(), s.received.end(), s.data.begin()));
}

bool is_failure(int64_t status) {
    return status == fail(Error::kReset) || status == fail(Error::kTimedOut) ||
           status == fail(Error::kRefused) || status == fail(Error::kUnreachable);
}

// The application's moves on one side of one flow: write, shut down, read, close.
void drive(Engine& e, Side& me, Stream& out, Stream& in, Time now) {
    if (me.id < 0 || me.closed)
        return;
    const int64_t status = e.status(me.id);
    RC_ASSERT(status == 0 || status == 1 || status == fail(Error::kClosed) || is_failure(status));
    if (is_failure(status)) {
        me.failure = status;
        e.close(me.id, now);
        me.closed = true;
        return;
    }
    if (status == 0)
        return;
    while (out.written < out.data.size()) {
        const int64_t n =
            e.send(me.id, out.data.data() + out.written, out.data.size() - out.written, now);
        if (n <= 0) {
            RC_ASSERT(n == fail(Error::kWouldBlock));
            break;
        }
        out.written += static_cast<size_t>(n);
    }
    if (out.written == out.data.size() && !out.shut) {
        RC_ASSERT(e.shutdown(me.id, now) == 0);
        out.shut = true;
    }
    uint8_t buffer[3000];
    for (;;) {
        const int64_t n = e.receive(me.id, buffer, sizeof buffer, now);
        if (n > 0) {
            RC_ASSERT(!in.ended);
            in.received.insert(in.received.end(), buffer, buffer + n);
            continue;
        }
        if (n == 0)
            in.ended = true;
        else
            RC_ASSERT(n == fail(Error::kWouldBlock));
        break;
    }
    check_prefix(in);
    if (in.ended && out.shut) {
        e.close(me.id, now);
        me.closed = true;
    }
}

void check_bounds(const Host& h) {
    RC_ASSERT(h.engine.slots_in_use() <= h.limits.connections);
    RC_ASSERT(h.engine.ranges_in_use() <= h.limits.connections * h.limits.out_of_order_ranges);
}

RC_GTEST_PROP(TcpProperty, LossyLinkDeliversEveryByteOnceInOrderOrFails, ()) {
    Limits limits;
    limits.connections = 4;
    limits.listeners = 1;
    limits.backlog = 4;
    limits.receive_buffer = *rc::gen::element(1024u, 4096u, 65536u, 262144u);
    limits.send_buffer = *rc::gen::element(1500u, 8192u, 65536u);
    limits.out_of_order_ranges = *rc::gen::inRange(1u, 9u);
    limits.mss = *rc::gen::element<uint16_t>(100, 536, 1460);
    const auto flows_count = *rc::gen::inRange<size_t>(1, 4);
    Link link;
    link.schedule = *rc::gen::container<std::vector<uint8_t>>(rc::gen::arbitrary<uint8_t>());
    link.latency = *rc::gen::inRange<Time>(1, 80) * kMillisecond;

    // Each side builds its segments in place (IpOutput::build, as through the Stack) or in its
    // scratch segment: both paths are checked against the model.
    Host a(kA, limits, *rc::gen::arbitrary<uint64_t>(), *rc::gen::arbitrary<bool>());
    Host b(kB, limits, *rc::gen::arbitrary<uint64_t>(), *rc::gen::arbitrary<bool>());
    std::vector<Flow> flows(flows_count);
    for (auto& f : flows) {
        f.ab.data =
            pseudo_random(*rc::gen::inRange<size_t>(0, 12000), *rc::gen::arbitrary<uint32_t>());
        f.ba.data =
            pseudo_random(*rc::gen::inRange<size_t>(0, 12000), *rc::gen::arbitrary<uint32_t>());
    }
    Time now = 10 * kSecond;
    const int64_t listener = b.engine.listen(0, kPort, limits.backlog);
    RC_ASSERT(listener >= 0);
    for (auto& f : flows) {
        f.a.id = a.engine.connect(kA, kB, kPort, now);
        RC_ASSERT(f.a.id >= 0);
    }
    uint64_t corrupted_delivered = 0;
    const Time end_of_test = now + 6 * 3600 * kSecond;
    bool all_closed = false;
    bool quiet = false;  // the last round found nothing left to happen
    for (int step = 0; step < 400000; ++step) {
        // Applications first, then the wire.
        int64_t accepted;
        while ((accepted = b.engine.accept(listener)) >= 0) {
            // Matched to its flow by the ports.
            Info theirs{};
            RC_ASSERT(b.engine.info(accepted, &theirs) == 0);
            bool placed = false;
            for (auto& f : flows) {
                Info mine{};
                if (!placed && f.b.id < 0 && a.engine.info(f.a.id, &mine) == 0 &&
                    mine.local_port == theirs.remote_port) {
                    f.b.id = accepted;
                    placed = true;
                }
            }
            RC_ASSERT(placed);
        }
        all_closed = true;
        for (auto& f : flows) {
            drive(a.engine, f.a, f.ab, f.ba, now);
            drive(b.engine, f.b, f.ba, f.ab, now);
            all_closed = all_closed && f.a.closed && (f.b.closed || f.b.id < 0);
        }
        for (Host* h : {&a, &b}) {
            while (!h->sent.empty()) {
                link.carry(h->sent.front(), h == &a, now);
                h->sent.pop_front();
            }
            check_bounds(*h);
        }
        Time next = link.queue.empty() ? kNever : link.queue.begin()->first;
        const Time pa = a.engine.poll(now), pb = b.engine.poll(now);
        if (!a.sent.empty() || !b.sent.empty())
            continue;  // a timer fired: carry its segments first
        next = std::min(next, std::min(pa, pb));
        if (next != kNever) {
            quiet = false;
        } else if (!quiet) {
            // Nothing left to happen: one more round lets the applications see what the last
            // timers did (a failure, say) before anything is judged.
            quiet = true;
            continue;
        } else {
            // Nothing left to happen. A side whose peer failed (a timeout sends no RST) would
            // wait forever without keep-alive: its application gives up, as a real one would.
            // The peer may have failed after its application let go: then its engine counted a
            // timeout. Anything else still open is a deadlock.
            bool gave_up = false;
            for (auto& f : flows)
                for (auto [me, other] : {std::pair{&f.a, &f.b}, std::pair{&f.b, &f.a}})
                    if (me->id >= 0 && !me->closed) {
                        const Host& peer = me == &f.a ? b : a;
                        RC_ASSERT(other->failure != 0 || other->id < 0 ||
                                  (other->closed && peer.engine.counters().timeouts > 0));
                        (me == &f.a ? a : b).engine.abort(me->id, now);
                        me->closed = true;
                        me->failure = fail(Error::kReset);
                        gave_up = true;
                    }
            if (!gave_up)
                break;
            quiet = false;
            continue;
        }
        RC_ASSERT(next >= now);
        RC_ASSERT(next < end_of_test);
        now = next;
        while (!link.queue.empty() && link.queue.begin()->first <= now) {
            Event ev = link.queue.begin()->second;
            link.queue.erase(link.queue.begin());
            Host& to = ev.to_b ? b : a;
            const uint64_t rejected_before =
                to.engine.counters().bad_checksum + to.engine.counters().malformed;
            to.engine.input(ev.packet.source, ev.packet.destination, ev.packet.bytes.data(),
                            ev.packet.bytes.size(), now);
            const uint64_t rejected_after =
                to.engine.counters().bad_checksum + to.engine.counters().malformed;
            RC_ASSERT(rejected_after - rejected_before == (ev.corrupted ? 1u : 0u));
            corrupted_delivered += ev.corrupted ? 1 : 0;
        }
    }
    RC_ASSERT(all_closed);
    bool failed = false;
    for (auto& f : flows) {
        check_prefix(f.ab);
        check_prefix(f.ba);
        if (f.a.failure != 0 || f.b.failure != 0 || f.b.id < 0) {
            failed = true;
            continue;
        }
        RC_ASSERT(f.ab.ended);
        RC_ASSERT(f.ba.ended);
        RC_ASSERT(f.ab.received.size() == f.ab.data.size());
        RC_ASSERT(f.ba.received.size() == f.ba.data.size());
    }
    RC_TAG(failed ? "some flow failed" : "all delivered");
    RC_CLASSIFY(corrupted_delivered > 0, "corruption caught");
    // Everything over: no slot is left behind on either side.
    RC_ASSERT(a.engine.slots_in_use() == 0u);
    RC_ASSERT(b.engine.slots_in_use() == 0u);
    RC_ASSERT(a.engine.ranges_in_use() == 0u);
}

}  // namespace
}  // namespace keel::net::tcp
