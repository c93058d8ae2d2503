#include <ipc/linux/client_endpoint.hpp>

#include <atomic>
#include <cerrno>
#include <new>

#include <ipc/linux/futex.hpp>
#include <ipc/linux/socket_io.hpp>

#include "deadline.hpp"
#include "spin.hpp"

namespace keel::ipc::linux_transport {

ClientEndpoint::~ClientEndpoint() {
    client_.close();
    // A server asleep on the submission tail would otherwise notice the close only at its
    // next death check.
    if (sq_ != nullptr) {
        wake_until_awake(wake_->server_sleeping, &sq_->tail.value, 10);
    }
}

std::unique_ptr<ClientEndpoint> ClientEndpoint::connect(UniqueFd socket, const Geometry& geometry,
                                                        int* error, const ClientOptions& options,
                                                        ReplyStatus* refusal) {
    auto layout = Layout::compute(geometry);
    if (!layout || !socket.valid()) {
        *error = EINVAL;
        return nullptr;
    }
    std::unique_ptr<ClientEndpoint> ep(new ClientEndpoint());
    ep->socket_ = std::move(socket);
    ep->death_check_ms_ = options.death_check_ms > 0 ? options.death_check_ms : 20;
    const std::size_t region_size = kQueueOffset + layout->total_size;
    if (int r = SharedRegion::create(region_size, &ep->region_); r != 0) {
        *error = -r;
        return nullptr;
    }
    std::byte* base = ep->region_.bytes().data();
    ep->wake_ = ::new (base) WakePage{};  // the memfd is zero-filled: both flags start at 0
    ep->wake_->magic = kWakeMagic;
    ep->wake_->version = 1;
    auto queue = ep->region_.bytes().subspan(kQueueOffset);
    ep->storage_.resize((Client::private_size(geometry) + 7) / 8);
    auto storage = std::as_writable_bytes(std::span(ep->storage_));
    if (!ep->client_.create(queue, storage, geometry)) {
        *error = EINVAL;
        return nullptr;
    }
    ep->sq_ = reinterpret_cast<abi::RingHeader*>(queue.data() + abi::kSqHeaderOffset);
    ep->cq_ = reinterpret_cast<abi::RingHeader*>(queue.data() + abi::kCqHeaderOffset);
    ep->woken_at_ = ep->client_.sq_tail();

    auto hello = encode_hello(Hello{geometry, region_size});
    if (int r = send_message(ep->socket(), hello, ep->region_.fd()); r != 0) {
        *error = -r;
        return nullptr;
    }
    std::byte answer[kReplySize + 1];  // one byte more, to see an over-long answer
    Received rx;
    if (int r = receive_message(ep->socket(), answer, &rx, options.handshake_timeout_ms); r != 0) {
        *error = -r;
        return nullptr;
    }
    if (rx.eof) {
        *error = ECONNRESET;
        return nullptr;
    }
    auto reply = parse_reply(std::span<const std::byte>(answer, rx.size));
    if (rx.truncated || rx.fd.valid() || !reply) {
        *error = EPROTO;
        return nullptr;
    }
    if (reply->status != ReplyStatus::Accepted) {
        if (refusal != nullptr) {
            *refusal = reply->status;
        }
        *error = ECONNREFUSED;
        return nullptr;
    }
    ep->op_limit_ = reply->op_limit;
    *error = 0;
    return ep;
}

void ClientEndpoint::publish() {
    client_.publish();
    std::uint32_t tail = client_.sq_tail();
    if (tail == woken_at_) {  // nothing new since we last looked at the flag
        return;
    }
    woken_at_ = tail;
    // Pairs with the fence in the server's sleep: store tail; fence; load flag.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wake_->server_sleeping.load(std::memory_order_relaxed) != 0) {
        futex_wake(&sq_->tail.value, 1);
    }
}

bool ClientEndpoint::check_peer() {
    if (client_.torn_down()) {
        return true;
    }
    if (client_.server_closed() || peer_closed(socket())) {
        client_.peer_gone();
        return true;
    }
    return false;
}

Result<Reaped> ClientEndpoint::reap_wait(int timeout_ms) {
    Deadline deadline(timeout_ms);
    for (;;) {
        auto r = client_.reap();
        if (r || r.error() != Error::Empty || client_.torn_down()) {
            return r;
        }
        if (check_peer()) {  // torn down now: reap drains what is left
            continue;
        }
        if (deadline.expired()) {
            return r;
        }
        // The answer usually comes within microseconds: spin briefly before sleeping (B6).
        if (spin_until_changed(&cq_->tail.value, client_.cq_head())) {
            continue;
        }
        // Sleep on the completion tail: flag; fence; re-check; wait. See wake_page.hpp.
        wake_->client_sleeping.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        std::uint32_t tail = cq_->tail.value.load(std::memory_order_relaxed);
        if (tail == client_.cq_head() && !client_.server_closed()) {
            futex_wait(&cq_->tail.value, tail, deadline.next_slice(death_check_ms_));
        }
        wake_->client_sleeping.store(0, std::memory_order_relaxed);
    }
}

}  // namespace keel::ipc::linux_transport
