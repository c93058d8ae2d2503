// The Stack's DHCP client (RFC 2131 section 4.4): SELECTING (DISCOVER until an OFFER),
// REQUESTING (REQUEST until ACK or NAK), BOUND until T1, RENEWING (unicast REQUEST to the
// server) until T2, REBINDING (broadcast REQUEST) until the lease ends, then SELECTING again.
#include <keel/net/dhcp.hpp>
#include <keel/net/udp.hpp>

#include "stack_parts.hpp"

namespace keel::net {

namespace {

constexpr uint32_t kRequestTries = 4;          // REQUESTs before going back to DISCOVER
constexpr Time kMinRenewRetry = 60 * kSecond;  // RFC 2131 section 4.4.5's floor

}  // namespace

void Stack::start_dhcp(Time now) {
    now_ = now;
    dhcp_restart(now);
}

void Stack::dhcp_restart(Time now) {
    if (interface_.configured) {
        forget_neighbours();
        ++events_;
    }
    interface_ = Interface{false, 0, 0, 0, 0, kNever};
    dhcp_ = Dhcp::kSelecting;
    dhcp_xid_ = static_cast<uint32_t>(random());
    dhcp_offered_ = dhcp_server_ = 0;
    dhcp_started_ = now;
    dhcp_backoff_ = kDhcpFirstRetry;
    dhcp_t1_ = dhcp_t2_ = kNever;
    dhcp_send(now);
}

void Stack::dhcp_send(Time now) {
    uint8_t message[kDhcpMaxMessage];
    const Time elapsed = (now - dhcp_started_) / kSecond;
    const uint16_t seconds = elapsed > 0xffff ? 0xffff : static_cast<uint16_t>(elapsed);
    size_t size = 0;
    Ip4 destination = kBroadcastIp4;
    switch (dhcp_) {
        case Dhcp::kSelecting:
            size = write_dhcp(message, kDhcpDiscover, dhcp_xid_, mac_, 0, 0, 0, seconds);
            break;
        case Dhcp::kRequesting:
            size = write_dhcp(message, kDhcpRequest, dhcp_xid_, mac_, 0, dhcp_offered_,
                              dhcp_server_, seconds);
            break;
        case Dhcp::kRenewing:
        case Dhcp::kRebinding:
            // RFC 2131 section 4.3.2: ciaddr carries the address; no requested address or server
            // id.
            size = write_dhcp(message, kDhcpRequest, dhcp_xid_, mac_, interface_.address, 0, 0,
                              seconds);
            if (dhcp_ == Dhcp::kRenewing)
                destination = dhcp_server_;
            break;
        case Dhcp::kOff:
        case Dhcp::kBound:
            return;
    }
    const Ip4 source =
        dhcp_ == Dhcp::kRenewing || dhcp_ == Dhcp::kRebinding ? interface_.address : 0;
    if (send_udp(source, kDhcpClientPort, destination, kDhcpServerPort, message, size))
        ++counters_.dhcp_sent;
    // The next retransmission: doubling while selecting or requesting (randomised by a
    // second either way, RFC 2131 section 4.1); half the time left while renewing or
    // rebinding, at least a minute.
    if (dhcp_ == Dhcp::kSelecting || dhcp_ == Dhcp::kRequesting) {
        const Time jitter = random() % (2 * kSecond);
        dhcp_retry_at_ = now + dhcp_backoff_ - kSecond + jitter;
        dhcp_backoff_ = dhcp_backoff_ * 2 > kDhcpMaxRetry ? kDhcpMaxRetry : dhcp_backoff_ * 2;
    } else {
        const Time until = dhcp_ == Dhcp::kRenewing ? dhcp_t2_ : interface_.lease_end;
        const Time half = until > now && until != kNever ? (until - now) / 2 : kMinRenewRetry;
        dhcp_retry_at_ = now + (half > kMinRenewRetry ? half : kMinRenewRetry);
    }
}

void Stack::dhcp_input(const uint8_t* data, size_t size, Time now) {
    DhcpMessage m;
    if (!parse_dhcp(data, size, mac_, &m) || m.xid != dhcp_xid_) {
        ++counters_.malformed_dhcp;
        return;
    }
    if (dhcp_ == Dhcp::kSelecting && m.type == kDhcpOffer) {
        // An address we could hold (not 0, broadcast, multicast or loopback) from a named server.
        if (m.your_address == 0 || m.your_address >= ip4(224, 0, 0, 0) ||
            (m.your_address >> 24) == 127 || m.server_id == 0) {
            ++counters_.malformed_dhcp;
            return;
        }
        dhcp_offered_ = m.your_address;
        dhcp_server_ = m.server_id;
        dhcp_ = Dhcp::kRequesting;
        dhcp_backoff_ = kDhcpFirstRetry;
        dhcp_tries_ = 0;
        dhcp_send(now);
        return;
    }
    const bool waiting =
        dhcp_ == Dhcp::kRequesting || dhcp_ == Dhcp::kRenewing || dhcp_ == Dhcp::kRebinding;
    if (!waiting)
        return;  // a stray reply: the exchange it belonged to is over
    if (m.type == kDhcpNak) {
        if (dhcp_ == Dhcp::kRequesting && m.server_id != 0 && m.server_id != dhcp_server_)
            return;  // another server's NAK says nothing about our offer
        ++counters_.dhcp_naks;
        dhcp_restart(now);
        return;
    }
    if (m.type != kDhcpAck)
        return;
    const Ip4 expected = dhcp_ == Dhcp::kRequesting ? dhcp_offered_ : interface_.address;
    if (m.your_address != expected || m.lease == 0 ||
        (dhcp_ == Dhcp::kRequesting && m.server_id != 0 && m.server_id != dhcp_server_)) {
        ++counters_.malformed_dhcp;
        return;
    }
    if (m.server_id != 0)
        dhcp_server_ = m.server_id;
    // A netmask that is not contiguous ones cannot be right: fall back to /24 (the usual
    // answer of QEMU's user network) rather than trusting it.
    Ip4 mask = m.netmask;
    if (mask == 0 || (~mask & (~mask + 1)) != 0)
        mask = ip4(255, 255, 255, 0);
    interface_ = Interface{true, m.your_address, mask, m.router, m.dns, kNever};
    if (m.lease != 0xffffffffu) {  // 0xffffffff: an infinite lease, no timers
        const Time lease = m.lease * kSecond;
        Time t1 = m.t1 != 0 ? m.t1 * kSecond : lease / 2;
        Time t2 = m.t2 != 0 ? m.t2 * kSecond : lease / 8 * 7;
        // T1 < T2 < lease, or the defaults (RFC 2131 section 4.4.5).
        if (!(t1 < t2 && t2 < lease)) {
            t1 = lease / 2;
            t2 = lease / 8 * 7;
        }
        interface_.lease_end = now + lease;
        dhcp_t1_ = now + t1;
        dhcp_t2_ = now + t2;
    } else {
        dhcp_t1_ = dhcp_t2_ = kNever;
    }
    dhcp_ = Dhcp::kBound;
    dhcp_retry_at_ = kNever;
    ++counters_.dhcp_leases;
    ++events_;
}

Time Stack::dhcp_poll(Time now) {
    if (dhcp_ == Dhcp::kOff)
        return kNever;
    if ((dhcp_ == Dhcp::kRenewing || dhcp_ == Dhcp::kRebinding) && now >= interface_.lease_end) {
        dhcp_restart(now);  // the lease is gone: the address with it
    } else if (dhcp_ == Dhcp::kBound && now >= dhcp_t1_) {
        dhcp_ = Dhcp::kRenewing;
        dhcp_xid_ = static_cast<uint32_t>(random());
        dhcp_started_ = now;
        dhcp_send(now);
    } else if (dhcp_ == Dhcp::kRenewing && now >= dhcp_t2_) {
        dhcp_ = Dhcp::kRebinding;
        dhcp_send(now);
    } else if (dhcp_ != Dhcp::kBound && now >= dhcp_retry_at_) {
        if (dhcp_ == Dhcp::kRequesting && ++dhcp_tries_ >= kRequestTries)
            dhcp_restart(now);
        else
            dhcp_send(now);
    }
    Time next = dhcp_ == Dhcp::kBound ? dhcp_t1_ : dhcp_retry_at_;
    if (dhcp_ == Dhcp::kRenewing && dhcp_t2_ < next)
        next = dhcp_t2_;
    if ((dhcp_ == Dhcp::kRenewing || dhcp_ == Dhcp::kRebinding) && interface_.lease_end < next)
        next = interface_.lease_end;
    return next;
}

}  // namespace keel::net
