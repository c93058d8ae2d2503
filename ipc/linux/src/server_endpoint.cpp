#include <ipc/linux/server_endpoint.hpp>

#include <atomic>
#include <cerrno>
#include <new>

#include <ipc/linux/futex.hpp>
#include <ipc/linux/socket_io.hpp>

#include "deadline.hpp"
#include "spin.hpp"

namespace keel::ipc::linux_transport {

namespace {

// Tells the client why it was refused (best effort: it may be gone already).
void refuse(int socket, ReplyStatus why) {
    auto bytes = encode_reply(HelloReply{why, 0});
    (void)send_message(socket, bytes, -1);
}

}  // namespace

ServerEndpoint::~ServerEndpoint() {
    server_.close();
    // A client asleep on the completion tail would otherwise notice the close only at its
    // next death check.
    if (cq_ != nullptr) {
        wake_until_awake(wake_->client_sleeping, &cq_->tail.value, 10);
    }
}

std::unique_ptr<ServerEndpoint> ServerEndpoint::accept(UniqueFd socket,
                                                       const ServerOptions& options, int* error) {
    if (!socket.valid()) {
        *error = EINVAL;
        return nullptr;
    }
    std::byte message[kHelloSize + 1];  // one byte more, to see an over-long Hello
    Received rx;
    if (int r = receive_message(socket.get(), message, &rx, options.handshake_timeout_ms); r != 0) {
        *error = -r;
        return nullptr;
    }
    if (rx.eof) {
        *error = ECONNRESET;
        return nullptr;
    }
    auto hello = parse_hello(std::span<const std::byte>(message, rx.size));
    if (rx.truncated || !hello || !rx.fd.valid()) {
        refuse(socket.get(), ReplyStatus::BadHello);
        *error = EPROTO;
        return nullptr;
    }
    const Geometry g = hello->geometry;
    if (g.capacity > options.max.capacity || g.buffer_count > options.max.buffer_count ||
        g.buffer_size > options.max.buffer_size || hello->region_size > options.max_region_size) {
        refuse(socket.get(), ReplyStatus::TooLarge);
        *error = E2BIG;
        return nullptr;
    }

    std::unique_ptr<ServerEndpoint> ep(new ServerEndpoint());
    ep->socket_ = std::move(socket);
    ep->geometry_ = g;
    ep->death_check_ms_ = options.death_check_ms > 0 ? options.death_check_ms : 20;
    if (int r = SharedRegion::map_received(std::move(rx.fd), hello->region_size, &ep->region_);
        r != 0) {
        refuse(ep->socket(), ReplyStatus::BadRegion);
        *error = -r;
        return nullptr;
    }
    std::byte* base = ep->region_.bytes().data();
    // The wake page is the client's as much as ours: only its two flag words are used, and
    // whatever they hold can only make a wake-up happen or not.
    ep->wake_ = std::launder(reinterpret_cast<WakePage*>(base));
    auto queue = ep->region_.bytes().subspan(kQueueOffset);
    ep->storage_.resize((Server::private_size(g) + 7) / 8);
    auto storage = std::as_writable_bytes(std::span(ep->storage_));
    if (!ep->server_.attach(queue, storage, g, options.op_limit)) {
        refuse(ep->socket(), ReplyStatus::BadQueue);
        *error = EBADMSG;
        return nullptr;
    }
    ep->sq_ = reinterpret_cast<abi::RingHeader*>(queue.data() + abi::kSqHeaderOffset);
    ep->cq_ = reinterpret_cast<abi::RingHeader*>(queue.data() + abi::kCqHeaderOffset);
    ep->woken_at_ = ep->server_.cq_tail();
    auto reply = encode_reply(HelloReply{ReplyStatus::Accepted, options.op_limit});
    if (int r = send_message(ep->socket(), reply, -1); r != 0) {
        *error = -r;
        return nullptr;
    }
    *error = 0;
    return ep;
}

void ServerEndpoint::publish() {
    server_.publish();
    std::uint32_t tail = server_.cq_tail();
    if (tail == woken_at_) {  // nothing new since we last looked at the flag
        return;
    }
    woken_at_ = tail;
    // Pairs with the fence in the client's sleep: store tail; fence; load flag.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wake_->client_sleeping.load(std::memory_order_relaxed) != 0) {
        futex_wake(&cq_->tail.value, 1);
    }
}

bool ServerEndpoint::check_peer() {
    if (gone_) {
        return true;
    }
    if (server_.client_closed() || peer_closed(socket())) {
        server_.client_gone();
        gone_ = true;
    }
    return gone_;
}

Result<std::uint32_t> ServerEndpoint::poll_wait(int timeout_ms) {
    Deadline deadline(timeout_ms);
    for (;;) {
        if (gone_) {
            return fail(Error::PeerGone);
        }
        std::uint32_t before = sq_->tail.value.load(std::memory_order_acquire);
        auto n = server_.poll();
        if (!n) {
            if (n.error() == Error::PeerGone) {
                server_.client_gone();
                gone_ = true;
            }
            return n;
        }
        if (*n > 0) {
            publish();
            return n;
        }
        // Before handing out old work again, make sure someone still wants it.
        if (check_peer()) {
            return fail(Error::PeerGone);
        }
        if (server_.queued() > 0) {
            return n;
        }
        if (deadline.expired()) {
            return fail(Error::Empty);
        }
        // The next submission usually comes within microseconds: spin briefly on the tail
        // before sleeping (B6). A tail that moved without anything to drain (a client beyond
        // its credit) is caught by the sleep condition below, as before.
        if (spin_until_changed(&sq_->tail.value, before)) {
            continue;
        }
        // Sleep on the submission tail: flag; fence; re-check; wait. See wake_page.hpp.
        wake_->server_sleeping.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        std::uint32_t tail = sq_->tail.value.load(std::memory_order_relaxed);
        // Sleep if everything published was drained, or if nothing could be drained and the
        // tail has not moved (a client submitting beyond its credit): then until it moves or
        // the slice ends, instead of spinning.
        if ((tail == server_.sq_head() || tail == before) && !server_.client_closed()) {
            futex_wait(&sq_->tail.value, tail, deadline.next_slice(death_check_ms_));
        }
        wake_->server_sleeping.store(0, std::memory_order_relaxed);
    }
}

}  // namespace keel::ipc::linux_transport
