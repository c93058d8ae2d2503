#include "loopback.hpp"

#include <keel/c/mem.hpp>

namespace keel::netserver {

bool Loopback::local(net::Ip4 address) const {
    const net::Interface& i = stack_.interface();
    return (address >> 24) == 127 || (i.configured && address == i.address);
}

Loopback::Segment* Loopback::keep(net::Ip4 source, net::Ip4 destination, uint8_t protocol,
                                  size_t size) {
    if (protocol != net::kProtocolTcp || size > kMaxSegment || count_ == kSegments) {
        ++dropped_;  // as a loss on a wire: TCP retransmits
        return nullptr;
    }
    Segment& s = segments_[(head_ + count_) % kSegments];
    s.source = source;
    s.destination = destination;
    s.size = static_cast<uint32_t>(size);
    ++count_;
    return &s;
}

bool Loopback::send(void* context, net::Ip4 source, net::Ip4 destination, uint8_t protocol,
                    const uint8_t* payload, size_t size) {
    auto* self = static_cast<Loopback*>(context);
    if (!self->local(destination))
        return self->stack_.ip_output()(source, destination, protocol, payload, size);
    Segment* s = self->keep(source, destination, protocol, size);
    if (s == nullptr)
        return false;
    c::copy(s->bytes, payload, size);
    return true;
}

bool Loopback::build(void* context, net::Ip4 source, net::Ip4 destination, uint8_t protocol,
                     size_t size, net::IpOutput::Fill fill, void* fill_context) {
    auto* self = static_cast<Loopback*>(context);
    if (!self->local(destination)) {
        const net::IpOutput out = self->stack_.ip_output();
        return out.build(out.context, source, destination, protocol, size, fill, fill_context);
    }
    Segment* s = self->keep(source, destination, protocol, size);
    if (s == nullptr)
        return false;
    fill(fill_context, s->bytes, size);
    return true;
}

}  // namespace keel::netserver
