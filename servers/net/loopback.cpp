#include "loopback.hpp"

#include <keel/c/mem.hpp>

namespace keel::netserver {

bool Loopback::local(net::Ip4 address) const {
    const net::Interface& i = stack_.interface();
    return (address >> 24) == 127 || (i.configured && address == i.address);
}

bool Loopback::send(void* context, net::Ip4 source, net::Ip4 destination, uint8_t protocol,
                    const uint8_t* payload, size_t size) {
    auto* self = static_cast<Loopback*>(context);
    if (!self->local(destination))
        return self->stack_.ip_output()(source, destination, protocol, payload, size);
    if (protocol != net::kProtocolTcp || size > kMaxSegment || self->count_ == kSegments) {
        ++self->dropped_;  // as a loss on a wire: TCP retransmits
        return false;
    }
    Segment& s = self->segments_[(self->head_ + self->count_) % kSegments];
    s.source = source;
    s.destination = destination;
    s.size = static_cast<uint32_t>(size);
    c::copy(s.bytes, payload, size);
    ++self->count_;
    return true;
}

}  // namespace keel::netserver
