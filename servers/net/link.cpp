#include "link.hpp"

namespace keel::netserver {
namespace {

// Reads kept posted: frames the driver can hand over without waiting for this server.
constexpr uint32_t kReceiveBuffers = 64;
constexpr uint32_t kTransmitBuffers = 64;
constexpr uint32_t kQueueCapacity = 128;

}  // namespace

int64_t Link::attach(user::Handle link) {
    link_ = link;
    const int64_t r = user::sys::do_io(link, user::Op::kGetMeta, &info_, sizeof info_,
                                       static_cast<uint64_t>(abi::Meta::kLinkInfo));
    if (r < 0)
        return r;
    if (r != static_cast<int64_t>(sizeof info_) || info_.mtu + 14u > kFrameBuffer)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    if (const int64_t e = rx_.create(kQueueCapacity, kReceiveBuffers, kFrameBuffer); e < 0)
        return e;
    if (const int64_t e = tx_.create(kQueueCapacity, kTransmitBuffers, kFrameBuffer); e < 0)
        return e;
    for (uint32_t i = 0; i < kReceiveBuffers; ++i) {
        auto b = rx_.client().acquire();
        if (!b || !rx_.submit(user::Op::kRead, link_, 0, 0, std::move(*b), kFrameBuffer))
            return -static_cast<int64_t>(abi::Error::kNoMemory);
    }
    const int64_t p = rx_.poll();
    return p < 0 ? p : 0;
}

int64_t Link::wait_received(uint64_t timeout_ns) {
    return rx_.wait(1, timeout_ns);
}

uint32_t Link::deliver(net::Stack& stack, net::Time now) {
    uint32_t n = 0;
    while (auto r = rx_.reap()) {
        if (r->is_cancel)
            continue;
        if (r->status == 0 && r->value <= kFrameBuffer) {
            const std::span<std::byte> bytes = rx_.client().bytes(r->buffer);
            stack.receive(reinterpret_cast<const uint8_t*>(bytes.data()), r->value, now);
            ++n;
        } else {
            ++receive_errors_;
        }
        // The same buffer goes back for the next frame; a failed submit only lowers the
        // number of reads posted (it cannot fail while the queue has room for them all).
        if (!rx_.submit(user::Op::kRead, link_, 0, 0, std::move(r->buffer), kFrameBuffer))
            ++receive_errors_;
    }
    return n;
}

net::LinkOutput Link::output() {
    net::LinkOutput o;
    o.context = this;
    o.acquire = &Link::acquire;
    o.commit = &Link::commit;
    return o;
}

uint8_t* Link::acquire(void* context, size_t size) {
    auto* self = static_cast<Link*>(context);
    if (self->staged_valid_ || size > kFrameBuffer)
        return nullptr;
    auto b = self->tx_.client().acquire();
    if (!b)
        return nullptr;  // every buffer in flight: the stack keeps the frame for transmit()
    self->staged_ = std::move(*b);
    self->staged_valid_ = true;
    return reinterpret_cast<uint8_t*>(self->tx_.client().bytes(self->staged_).data());
}

void Link::commit(void* context, uint8_t* frame, size_t size) {
    auto* self = static_cast<Link*>(context);
    (void)frame;
    if (!self->staged_valid_)
        return;
    self->staged_valid_ = false;
    if (!self->tx_.submit(user::Op::kWrite, self->link_, 0, 0, std::move(self->staged_),
                          static_cast<uint32_t>(size))) {
        ++self->transmit_errors_;  // as a loss on the wire: TCP retransmits
        (void)self->tx_.client().release(std::move(self->staged_));
        return;
    }
    ++self->tx_in_flight_;
    self->unpolled_ = true;
}

bool Link::transmit(net::Stack& stack) {
    while (auto r = tx_.reap()) {
        if (r->is_cancel)
            continue;
        if (r->status != 0)
            ++transmit_errors_;
        --tx_in_flight_;
        r->buffer.reset();
    }
    bool sent = unpolled_;
    unpolled_ = false;
    while (stack.frames_pending()) {
        auto b = tx_.client().acquire();
        if (!b)
            break;
        const std::span<std::byte> bytes = tx_.client().bytes(*b);
        const size_t n = stack.take_frame(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
        if (n == 0) {
            (void)tx_.client().release(std::move(*b));
            break;
        }
        if (!tx_.submit(user::Op::kWrite, link_, 0, 0, std::move(*b), static_cast<uint32_t>(n))) {
            ++transmit_errors_;
            break;
        }
        ++tx_in_flight_;
        sent = true;
    }
    if (sent || tx_in_flight_ > 0)
        (void)tx_.poll();
    return stack.frames_pending();
}

}  // namespace keel::netserver
