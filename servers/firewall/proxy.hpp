// The firewall's objects and operations: it serves the network server's names (its root, the
// beginnings of names, one object per socket) and performs every operation by forwarding it
// to the real network server through one asynchronous queue (`upstream`), after checking it
// against the rules. Each forwarded operation the kernel hands over (a served operation) owns
// one Pending record, indexed by its ipc op record (ipc::Server::record_index of its handle),
// from take() until its completion; at most one
// upstream operation is in flight for it at a time (plus a Cancel), so a served operation is
// completed only once nothing upstream still refers to it.
//
// What is checked (servers/firewall/README.md): a connect or echo by the address it will
// reach (a host name resolved through the upstream's dns/ first, then the address connected),
// a UDP write by its destination, a UDP datagram read by its sender (a denied one is dropped
// and the read goes on), a connection accepted on a listener by the peer's address and the
// listening port (a denied one is closed and the accept goes on). Names, listening, binding,
// dns/ and info are forwarded as they are.
#pragma once

#include <keel/fwrules/rules.hpp>
#include <keel/net/addr.hpp>
#include <keel/net/socket_name.hpp>

#include <ipc/server.hpp>

#include "queue.hpp"
#include "runtime.hpp"
#include "served_objects.hpp"

namespace keel::firewall {

// Open objects at once besides the root. Each socket holds one upstream handle and the
// process has at most 256 (abi's per-process limit), some of them its own.
inline constexpr uint32_t kMaxObjects = 232;
// The serve queue's and the upstream queue's capacity (at most capacity / 2 served
// operations at once; each uses at most one upstream operation and one Cancel).
inline constexpr uint32_t kCapacity = 256;
inline constexpr uint32_t kMaxName = 300;  // a name's beginning, or a full name rebuilt

class Proxy {
  public:
    Proxy(ipc::Server& server, user::Queue& upstream, const fwrules::RuleSet& rules)
        : server_(server), upstream_(upstream), rules_(rules) {}

    // The upstream root (the network server's object) and its path in the firewall's root,
    // opened again when the network server was restarted. 0 or -Error.
    int64_t attach(const char* path);

    // Everything there is to do (one thread at a time): new operations, cancels, the upstream's
    // completions and what they make possible; the completions published to the serve queue.
    void pump();

    // Upstream operations in flight (the waiting thread sleeps on the queue only then).
    uint32_t in_flight() const { return in_flight_; }
    // Objects open and served operations pending (the hostile tests read them from the
    // console's `firewall: ...` status line).
    uint32_t objects_open() const;
    uint32_t operations_pending() const;

  private:
    enum class Kind : uint8_t { kFree, kRoot, kPrefix, kSocket };
    struct Object {
        Kind kind = Kind::kFree;
        net::SocketKind socket = net::SocketKind::kInfo;
        user::Handle up = 0;  // the upstream object (kSocket)
        uint16_t port = 0;    // a listener's port
        uint32_t text_size = 0;
        char text[kMaxName];  // a prefix's name
    };
    // Where a served operation is.
    enum class Step : uint8_t {
        kFree,
        kForward,      // the same operation on the object's upstream handle
        kResolveOpen,  // dns/HOST opened upstream, for a connect or echo to a name
        kResolveRead,  // its text read
        kOpen,         // the (rewritten) name opened upstream, or an accept on a listener
        kAcceptCheck,  // get_meta SocketInfo of a connection just accepted
    };
    struct Pending {
        Step step = Step::kFree;
        bool live = false;         // an upstream operation is in flight
        bool cancel_sent = false;  // the caller's cancel was forwarded upstream
        bool retried = false;      // the upstream root was opened again once for it
        bool on_root = false;  // its open goes to the upstream root (sent again after a restart)
        uint32_t tag = 0;      // the upstream operation's tag
        uint32_t object = 0;   // the served object (the operation's)
        ipc::Operation op{};
        net::SocketName name{};
        fwrules::Protocol protocol = fwrules::Protocol::kAny;
        net::Ip4 address = 0;
        user::Handle handle = 0;  // a dns object or an accepted connection, not yet an object's
        uint32_t text_size = 0;
        char text[kMaxName];  // the name opened upstream (sent again after a reopen)
        char host[net::kMaxHostName];
    };
    struct Outcome {
        bool done;  // complete the served operation now with status and value
        uint16_t status;
        uint64_t value;
    };

    void take();
    void cancels();
    bool reap();
    Outcome start(Pending& p);
    Outcome open(Pending& p, Object& dir);
    Outcome open_name(Pending& p, const char* text, size_t size);
    Outcome connect(Pending& p);
    Outcome forward(Pending& p, Object& o);
    Outcome advance(Pending& p, uint16_t status, uint64_t value, const std::byte* bytes,
                    uint64_t size);
    Outcome opened(Pending& p, user::Handle handle);
    Outcome accepted(Pending& p, const abi::SocketInfo& info);
    void finish(Pending& p, const Outcome& r);
    void close(uint32_t object);

    // Upstream submissions; false when the queue has no credit or buffer (the served
    // operation then fails Full).
    bool submit(Pending& p, user::Op op, user::Handle object, uint64_t arg, const void* bytes,
                uint32_t length, bool lend);
    bool submit_open(Pending& p, user::Handle dir, const char* name, size_t size);

    bool allowed(fwrules::Protocol protocol, net::Ip4 address, uint16_t port, const char* name,
                 size_t name_size);
    user::Handle up_root();
    bool reopen_root();

    ipc::Server& server_;
    user::Queue& upstream_;
    const fwrules::RuleSet& rules_;
    user::ServedObjects<Object, kMaxObjects> objects_;
    Pending pending_[kCapacity];
    user::Handle root_handle_ = 0;
    char path_[128] = {};
    uint32_t in_flight_ = 0;
};

}  // namespace keel::firewall
