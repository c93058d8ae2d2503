// Frames of the remote-run protocol (lib/remote) over one TCP connection of the network
// server: the one place both the agent (servers/agent) and the caller (remote_job.hpp) send
// and receive them. Sends are whole frames under a lock (one write each: the network server
// never writes short), so any thread may send; one thread receives.
#pragma once

#include <keel/remote/wire.hpp>

#include "runtime.hpp"

namespace keel::user {

class FrameSocket {
  public:
    // Takes over `connection` (closed by close() or the destructor).
    explicit FrameSocket(Handle connection) : connection_(connection) {}
    FrameSocket(const FrameSocket&) = delete;
    FrameSocket& operator=(const FrameSocket&) = delete;
    ~FrameSocket() { close(); }

    // Sends m as one frame (in writes of at most 32 KiB, the network server's limit; under the
    // lock, so frames never interleave); waits at most kPeerSilenceNs for room in the send buffer
    // (a peer that stopped reading is as dead as a silent one). 0 or -Error: kInvalidArgument for a
    // message the encoder refuses, kTimedOut, whatever the socket says (kReset, kPeerGone).
    int64_t send(const remote::Message& m);
    // The next message, waiting until `deadline` (the clock's ns; 0: none) for its bytes; a
    // deadline that passed before this call could look still gets one look of up to 100 ms at
    // what arrived meanwhile (frame_socket.cpp: kLastLookNs). 0 and
    // *m (valid until the next receive); -kTimedOut; -kPeerGone at the end of the stream;
    // -kProtocol for bytes that are no frame (*why says what; the stream is useless after it);
    // whatever the socket says. One thread at a time.
    int64_t receive(remote::Message* m, uint64_t deadline, const char** why);
    // The clock when bytes last arrived (or when this socket was made), and when a frame was
    // last sent: what the heartbeat and the silence rule (kPeerSilenceNs) are measured from.
    uint64_t last_received() const { return last_received_; }
    uint64_t last_sent() const { return last_sent_; }
    void close();

  private:
    Handle connection_;
    Mutex send_lock_;
    uint64_t last_received_ = sys::clock_ns();
    uint64_t last_sent_ = sys::clock_ns();
    uint8_t out_[remote::kMaxFrame];
    remote::Reader reader_;
};

}  // namespace keel::user
