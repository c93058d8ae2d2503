#include "frame_socket.hpp"

namespace keel::user {
namespace {

// The most one read or write on a connection of the network server carries (servers/net: more
// is TooLarge); a frame can be a little larger, so it goes in two writes.
constexpr uint64_t kSocketMax = 32 * 1024;

// How long a receive that finds its deadline already passed still looks at what arrived: the
// caller's one thread may have been busy for longer than the silence allowed (a local operation
// of its job that blocked), while the peer's heartbeats waited in the socket. Silence is judged
// on the connection, not on how long this thread was away.
constexpr uint64_t kLastLookNs = 100'000'000;

}  // namespace

int64_t FrameSocket::send(const remote::Message& m) {
    send_lock_.lock();
    const size_t n = remote::encode(m, out_, sizeof out_);
    int64_t r = n == 0 ? err(Error::kInvalidArgument) : 0;
    if (r == 0 && connection_ != 0) {
        for (size_t at = 0; at < n && r >= 0;) {
            const size_t piece = n - at < kSocketMax ? n - at : kSocketMax;
            r = sys::do_io_timeout(connection_, Op::kWrite, out_ + at, piece, 0,
                                   remote::kPeerSilenceNs);
            at += r > 0 ? static_cast<size_t>(r) : 0;
            if (r == 0)
                r = err(Error::kPeerGone);
        }
        r = r < 0 ? r : 0;
    } else if (r == 0) {
        r = err(Error::kPeerGone);
    }
    if (r == 0)
        last_sent_ = sys::clock_ns();
    send_lock_.unlock();
    return r;
}

int64_t FrameSocket::receive(remote::Message* m, uint64_t deadline, const char** why) {
    bool looked_late = false;
    for (;;) {
        const remote::DecodeResult d = reader_.next(m);
        if (d.status == remote::Decoded::kMessage)
            return 0;
        if (d.status == remote::Decoded::kBad) {
            *why = d.reason;
            return err(Error::kProtocol);
        }
        if (connection_ == 0)
            return err(Error::kPeerGone);
        uint64_t timeout = 0;
        if (deadline != 0) {
            const uint64_t now = sys::clock_ns();
            if (now >= deadline && !looked_late) {
                deadline = now + kLastLookNs;  // once per call: bounded by a hostile drip too
                looked_late = true;
            }
            if (now >= deadline)
                return err(Error::kTimedOut);
            timeout = deadline - now;
        }
        uint8_t* room = reader_.space();
        const uint64_t want = reader_.room() < kSocketMax ? reader_.room() : kSocketMax;
        const int64_t n = sys::do_io_timeout(connection_, Op::kRead, room, want, 0, timeout);
        if (n < 0)
            return n;
        if (n == 0)
            return err(Error::kPeerGone);
        reader_.produced(static_cast<size_t>(n));
        last_received_ = sys::clock_ns();
    }
}

void FrameSocket::close() {
    send_lock_.lock();
    if (connection_ != 0)
        (void)sys::do_io(connection_, Op::kClose);
    connection_ = 0;
    send_lock_.unlock();
}

}  // namespace keel::user
