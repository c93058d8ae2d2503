// Segments a program sends to the machine's own address (or 127.0.0.0/8) never reach the link:
// the TCP engine's output goes through here, which keeps such segments and hands every other
// datagram to the Stack. They are fed back to the engine from pump(), never from inside the
// engine's own call (it is not re-entrant).
#pragma once

#include <keel/net/ip_output.hpp>
#include <keel/net/stack.hpp>
#include <keel/net/time.hpp>

namespace keel::netserver {

class Loopback {
  public:
    static constexpr uint32_t kSegments = 128;  // a 64 KiB window of 1460-byte segments, twice
    static constexpr uint32_t kMaxSegment = 1536;

    explicit Loopback(net::Stack& stack) : stack_(stack) {}

    // What the TCP engine sends through.
    net::IpOutput output() {
        net::IpOutput o;
        o.context = this;
        o.send = &Loopback::send;
        o.build = &Loopback::build;  // the engine writes a segment straight into its frame
        return o;
    }
    // Feeds the kept segments to deliver(source, destination, segment, size) until none is
    // left or `limit` were fed (a conversation with itself never starves the rest). How many.
    template <class Deliver>
    uint32_t drain(Deliver&& deliver, uint32_t limit) {
        uint32_t n = 0;
        while (count_ > 0 && n < limit) {
            Segment& s = segments_[head_];
            head_ = (head_ + 1) % kSegments;
            --count_;
            deliver(s.source, s.destination, s.bytes, s.size);
            ++n;
        }
        return n;
    }
    bool pending() const { return count_ > 0; }
    uint64_t dropped() const { return dropped_; }

  private:
    struct Segment {
        net::Ip4 source, destination;
        uint32_t size;
        uint8_t bytes[kMaxSegment];
    };
    static bool send(void* context, net::Ip4 source, net::Ip4 destination, uint8_t protocol,
                     const uint8_t* payload, size_t size);
    static bool build(void* context, net::Ip4 source, net::Ip4 destination, uint8_t protocol,
                      size_t size, net::IpOutput::Fill fill, void* fill_context);
    // The slot for a segment to ourselves, or null (counted as dropped) when it cannot be kept.
    Segment* keep(net::Ip4 source, net::Ip4 destination, uint8_t protocol, size_t size);
    bool local(net::Ip4 address) const;

    net::Stack& stack_;
    Segment segments_[kSegments];
    uint32_t head_ = 0, count_ = 0;
    uint64_t dropped_ = 0;
};

}  // namespace keel::netserver
