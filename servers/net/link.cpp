#include "link.hpp"

#include <keel/net/frame_batch.hpp>

namespace keel::netserver {
namespace {

// Reads kept posted: batches the driver can hand over without waiting for this server (one
// holds every frame a driver's pump received, up to 16 KiB of them).
constexpr uint32_t kReceiveBuffers = 16;
constexpr uint32_t kTransmitBuffers = 32;
constexpr uint32_t kQueueCapacity = 64;

}  // namespace

int64_t Link::attach(user::Handle link) {
    link_ = link;
    const int64_t r = user::sys::do_io(link, user::Op::kGetMeta, &info_, sizeof info_,
                                       static_cast<uint64_t>(abi::Meta::kLinkInfo));
    if (r < 0)
        return r;
    if (r != static_cast<int64_t>(sizeof info_) || info_.mtu + 14u > kFrameBuffer)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    if (const int64_t e = rx_.create(kQueueCapacity, kReceiveBuffers, kBatchBuffer); e < 0)
        return e;
    if (const int64_t e = tx_.create(kQueueCapacity, kTransmitBuffers, kBatchBuffer); e < 0)
        return e;
    for (uint32_t i = 0; i < kReceiveBuffers; ++i) {
        auto b = rx_.client().acquire();
        if (!b ||
            !rx_.submit(user::Op::kRead, link_, abi::kLinkBatch, 0, std::move(*b), kBatchBuffer))
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
        const auto* data = reinterpret_cast<const uint8_t*>(rx_.client().bytes(r->buffer).data());
        // The driver's batch is checked whole before any frame of it goes to the stack.
        if (r->status == 0 && r->value <= kBatchBuffer &&
            net::batch_check(data, r->value, 1, kFrameBuffer) >= 0) {
            size_t offset = 0;
            const uint8_t* frame = nullptr;
            size_t length = 0;
            while (net::batch_next(data, r->value, &offset, &frame, &length)) {
                stack.receive(frame, length, now);
                ++n;
            }
        } else {
            ++receive_errors_;
        }
        // The same buffer goes back for the next batch; a failed submit only lowers the
        // number of reads posted (it cannot fail while the queue has room for them all).
        if (!rx_.submit(user::Op::kRead, link_, abi::kLinkBatch, 0, std::move(r->buffer),
                        kBatchBuffer))
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
    if (self->reserved_ || size > kFrameBuffer)
        return nullptr;
    uint8_t* at = self->reserve(size);
    self->reserved_ = at != nullptr;
    return at;  // nullptr: the stack keeps the frame for transmit()
}

void Link::commit(void* context, uint8_t* frame, size_t size) {
    auto* self = static_cast<Link*>(context);
    (void)frame;
    if (!self->reserved_)
        return;
    self->reserved_ = false;
    net::batch_commit(self->batch_bytes(), &self->batch_used_, size);
}

uint8_t* Link::reserve(size_t size) {
    if (batch_valid_) {
        if (uint8_t* at = net::batch_reserve(batch_bytes(), kBatchBuffer, batch_used_, size))
            return at;
        send_batch();
    }
    auto b = tx_.client().acquire();
    if (!b)
        return nullptr;
    batch_ = std::move(*b);
    batch_valid_ = true;
    batch_used_ = 0;
    return net::batch_reserve(batch_bytes(), kBatchBuffer, 0, size);
}

uint8_t* Link::batch_bytes() {
    return reinterpret_cast<uint8_t*>(tx_.client().bytes(batch_).data());
}

void Link::send_batch() {
    if (!batch_valid_)
        return;
    batch_valid_ = false;
    if (batch_used_ == 0) {
        (void)tx_.client().release(std::move(batch_));
        return;
    }
    if (!tx_.submit(user::Op::kWrite, link_, abi::kLinkBatch, 0, std::move(batch_),
                    static_cast<uint32_t>(batch_used_))) {
        ++transmit_errors_;  // as a loss on the wire: TCP retransmits
        (void)tx_.client().release(std::move(batch_));
        return;
    }
    ++tx_in_flight_;
    unpolled_ = true;
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
    // Frames the stack kept in its slots go behind those it built in place, in order.
    while (stack.frames_pending()) {
        uint8_t* at = reserve(kFrameBuffer);
        if (at == nullptr)
            break;
        const size_t n = stack.take_frame(at, kFrameBuffer);
        if (n == 0)
            break;
        net::batch_commit(batch_bytes(), &batch_used_, n);
    }
    send_batch();
    const bool sent = unpolled_;
    unpolled_ = false;
    if (sent || tx_in_flight_ > 0)
        (void)tx_.poll();
    return stack.frames_pending();
}

}  // namespace keel::netserver
