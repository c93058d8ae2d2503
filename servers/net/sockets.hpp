// The network server's objects: its root (object 0: the `net` a program is given), the
// beginnings of names (`tcp`, `tcp/connect/HOST`, ...: opened one component at a time), and
// one object per socket: a TCP listener or connection, a UDP socket, an echo (ping) target, a
// resolved name, the interface's information. Every forwarded operation on them is performed
// here on lib/net's Stack and TCP engine. An operation that cannot finish yet (a read with no
// data, an accept with no connection, a connect in its handshake) is parked and retried
// whenever the engines report a change, until it finishes, its caller cancels it, or its
// deadline passes.
#pragma once

#include <keel/net/socket_name.hpp>
#include <keel/net/stack.hpp>
#include <keel/net/tcp.hpp>

#include <ipc/server.hpp>

#include "runtime.hpp"
#include "served_objects.hpp"

namespace keel::netserver {

inline constexpr uint32_t kMaxObjects = 512;  // open objects at once (besides the root)
inline constexpr uint32_t kMaxParked = 128;   // the serve queue forwards at most this many
inline constexpr uint32_t kMaxText = 1024;    // a prefix's name, or an info or name answer

class Sockets {
  public:
    Sockets(net::Stack& stack, net::tcp::Engine& tcp, ipc::Server& server)
        : stack_(stack), tcp_(tcp), server_(server) {}

    // Takes every operation the server queued and performs it, or parks it.
    void take(net::Time now);
    // Retries the parked operations if anything changed since the last call (or a deadline
    // passed); completes the cancelled ones.
    void retry(net::Time now, bool force);
    // The earliest deadline of a parked operation, or kNever.
    net::Time next_deadline() const;

  private:
    enum class Kind : uint8_t { kFree, kRoot, kPrefix, kListener, kConnection, kUdp, kEcho, kText };
    struct Object {
        Kind kind = Kind::kFree;
        int64_t id = -1;       // the engine's: listener, connection or UDP socket
        net::Ip4 address = 0;  // an echo's target
        uint16_t sequence = 0;
        uint32_t text_size = 0;
        uint64_t position = 0;  // a text's read position
        char text[kMaxText];    // a prefix's name, or a text object's contents
    };
    // Where a parked open is: resolving its host, then (a connect) in the handshake.
    enum class Phase : uint8_t { kNone, kConfigure, kResolve, kHandshake };
    struct Parked {
        bool used = false;
        uint64_t sequence = 0;  // arrival order: reads and writes on one object go in it
        uint64_t done = 0;      // a write's bytes already in the send buffer
        ipc::Operation op{};
        Phase phase = Phase::kNone;
        net::SocketName name{};
        char host[net::kMaxHostName];  // the name's host, copied out of the op's buffer
        int64_t query = -1;            // DNS
        int64_t connection = -1;       // TCP, not yet handed to an object
        int64_t listener = -1;         // an accept's listener (the engine's id)
        net::Ip4 address = 0;
        net::Time deadline = net::kNever;
    };
    struct Outcome {
        bool parked;
        uint16_t status;
        uint64_t value;
    };

    Outcome perform(Parked& p, net::Time now);
    Outcome open(Parked& p, Object& dir, net::Time now);
    Outcome open_socket(Parked& p, net::Time now);
    Outcome finish_open(Parked& p, net::Time now);
    Outcome read(Parked& p, Object& o, std::span<std::byte> data, net::Time now);
    Outcome write(Parked& p, Object& o, std::span<std::byte> data, net::Time now);
    // Whether an older parked operation of the same kind waits on the same object (this one
    // must wait behind it, or a queue's reads and writes would be reordered).
    bool behind(const Parked& p) const;
    Outcome get_meta(Object& o, uint64_t key, std::span<std::byte> data);
    void close(uint32_t object, net::Time now);
    void abandon(Parked& p, net::Time now);  // a parked open that will not finish
    void complete(Parked& p, const Outcome& r);

    Outcome opened(uint32_t object, uint32_t rights);
    void snapshot_info(Object& o);

    net::Stack& stack_;
    net::tcp::Engine& tcp_;
    ipc::Server& server_;
    user::ServedObjects<Object, kMaxObjects> objects_;
    Parked parked_[kMaxParked];
    uint64_t seen_events_ = 0;
    uint64_t next_sequence_ = 0;
};

}  // namespace keel::netserver
