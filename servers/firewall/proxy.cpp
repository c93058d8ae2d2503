#include "proxy.hpp"

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

namespace keel::firewall {
namespace {

using abi::Error;
using user::Handle;
using user::Op;

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
constexpr uint16_t kCancelled = static_cast<uint16_t>(ipc::abi::Status::Cancelled);
constexpr uint32_t kRightsSocket = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
constexpr uint32_t kRightsText = abi::kRightRead | abi::kRightShare;
// A Cancel's user_data: never an operation's index.
constexpr uint64_t kCancelMark = 1ull << 32;
// "a.b.c.d\n" from dns/NAME, with room to spare.
constexpr uint32_t kAddressText = 32;

uint16_t status(Error e) {
    return abi::queue_error_status(e);
}

// An upstream completion's status as the caller's: Ok, Cancelled and the object API's errors
// pass unchanged; the queue's own failures (its peer gone, a refused submission) become
// PeerGone and Protocol.
uint16_t pass(uint16_t s) {
    Error e{};
    if (s == kOk || s == kCancelled || abi::decode_queue_error(s, &e))
        return s;
    if (s == static_cast<uint16_t>(ipc::abi::Status::PeerGone))
        return status(Error::kPeerGone);
    return status(Error::kProtocol);
}

Op op_of(const ipc::Operation& op) {
    return static_cast<Op>(op.request.opcode - abi::kQueueOpBase);
}

void drop(Handle h) {
    if (h != 0)
        (void)user::sys::do_io(h, Op::kClose);
}

}  // namespace

int64_t Proxy::attach(const char* path) {
    const size_t n = c::length(path);
    if (n == 0 || n >= sizeof path_)
        return -static_cast<int64_t>(Error::kInvalidArgument);
    c::copy(path_, path, n + 1);
    const int64_t h = user::open_path(user::root(), path_, n);
    if (h < 0)
        return h;
    root_handle_ = static_cast<Handle>(h);
    return 0;
}

bool Proxy::reopen_root() {
    const int64_t h = user::open_path(user::root(), path_, c::length(path_));
    if (h < 0)
        return false;
    drop(root_handle_);
    root_handle_ = static_cast<Handle>(h);
    user::print("firewall: %s opened again (the network server was restarted)\n", path_);
    return true;
}

uint32_t Proxy::objects_open() const {
    return objects_.live();
}

uint32_t Proxy::operations_pending() const {
    uint32_t n = 0;
    for (const Pending& p : pending_)
        n += p.step != Step::kFree ? 1 : 0;
    return n;
}

void Proxy::pump() {
    (void)server_.poll();
    take();
    cancels();
    // The upstream's completions, and whatever they submit next, until nothing moves.
    for (int round = 0; round < 16; ++round) {
        upstream_.client().publish();
        (void)user::sys::queue_poll(upstream_.handle());
        if (!reap())
            break;
    }
    server_.publish();
}

void Proxy::take() {
    while (auto op = server_.take()) {
        // Records are below the queue's capacity: this cannot fail.
        if (ipc::Server::record_index(op->id) >= kCapacity) {
            (void)server_.complete(op->id, status(Error::kFull), 0);
            continue;
        }
        Pending& p = pending_[ipc::Server::record_index(op->id)];
        p.step = Step::kForward;
        p.live = p.cancel_sent = p.retried = p.on_root = false;
        p.object = op->request.object;
        p.op = *op;
        p.name = {};
        p.protocol = fwrules::Protocol::kAny;
        p.address = 0;
        p.handle = 0;
        p.text_size = 0;
        const Outcome r = start(p);
        if (r.done)
            finish(p, r);
    }
}

void Proxy::finish(Pending& p, const Outcome& r) {
    drop(p.handle);
    p.handle = 0;
    (void)server_.complete(p.op.id, r.status, r.value);
    p.step = Step::kFree;
}

// A caller that gave up (its timeout, its end, a cancel of its queued operation): the upstream
// operation is cancelled too, so that nothing stays parked in the network server for it.
void Proxy::cancels() {
    for (Pending& p : pending_) {
        if (p.step == Step::kFree || !p.live || p.cancel_sent || !server_.cancel_requested(p.op.id))
            continue;
        if (upstream_.client().cancel(kCancelMark | ipc::Server::record_index(p.op.id), p.tag))
            p.cancel_sent = true;
    }
}

bool Proxy::reap() {
    bool any = false;
    for (;;) {
        auto r = upstream_.reap();
        if (!r) {
            if (r.error() != ipc::Error::Empty) {
                user::print("firewall: the upstream queue failed; stopping\n");
                user::sys::process_exit(1);
            }
            return any;
        }
        any = true;
        if (r->is_cancel || r->user_data >= kCapacity)
            continue;
        Pending& p = pending_[r->user_data];
        if (p.step == Step::kFree || !p.live)
            continue;  // cannot happen: each upstream operation belongs to a pending one
        p.live = false;
        --in_flight_;
        const std::span<std::byte> bytes = upstream_.client().bytes(r->buffer);
        const Outcome o = advance(p, r->status, r->value, bytes.data(), bytes.size());
        if (o.done)
            finish(p, o);
    }
}

bool Proxy::submit(Pending& p, Op op, Handle object, uint64_t arg, const void* bytes,
                   uint32_t length, bool lend) {
    uint32_t tag = 0;
    if (!lend) {
        auto r = upstream_.submit(op, object, arg, ipc::Server::record_index(p.op.id));
        if (!r)
            return false;
        tag = *r;
    } else {
        auto buffer = upstream_.client().acquire();
        if (!buffer)
            return false;
        if (bytes != nullptr)
            c::copy(upstream_.client().bytes(*buffer).data(), bytes, length);
        auto r = upstream_.submit(op, object, arg, ipc::Server::record_index(p.op.id),
                                  static_cast<ipc::Buffer&&>(*buffer), length);
        if (!r)
            return false;  // the buffer goes back to the pool with `buffer`
        tag = *r;
    }
    p.tag = tag;
    p.live = true;
    ++in_flight_;
    return true;
}

bool Proxy::submit_open(Pending& p, Handle dir, const char* name, size_t size) {
    p.on_root = dir == root_handle_;
    if (name != p.text) {
        c::copy(p.text, name, size);
        p.text_size = static_cast<uint32_t>(size);
    }
    return submit(p, Op::kOpen, dir, p.op.request.args[0], p.text, static_cast<uint32_t>(size),
                  true);
}

Proxy::Outcome Proxy::start(Pending& p) {
    const Op op = op_of(p.op);
    if (op == Op::kClose) {
        close(p.object);
        return {true, kOk, 0};
    }
    Object* o = objects_.find(p.object);
    if (o == nullptr)  // the kernel names only objects this server made and has not closed
        return {true, status(Error::kInvalidArgument), 0};
    if (o->kind == Kind::kSocket)
        return forward(p, *o);
    if (op == Op::kOpen)
        return open(p, *o);
    // The root and the beginnings of names are directories of this server's own.
    if (op == Op::kGetMeta && p.op.request.args[0] == static_cast<uint64_t>(abi::Meta::kStat)) {
        const abi::Stat st{static_cast<uint32_t>(abi::NodeType::kDirectory), 0, 0};
        const std::span<std::byte> data = server_.bytes(p.op);
        if (data.size() < sizeof st)
            return {true, status(Error::kBufferTooSmall), 0};
        c::copy(data.data(), &st, sizeof st);
        return {true, kOk, sizeof st};
    }
    if (op == Op::kRead || op == Op::kPeek || op == Op::kWrite)
        return {true, status(Error::kIsDirectory), 0};
    return {true, status(Error::kNotSupported), 0};
}

void Proxy::close(uint32_t id) {
    Object* o = objects_.find(id);
    if (o == nullptr || objects_.is_root(o))
        return;
    // Operations still upstream on it (abandoned by their callers) are cancelled there first.
    for (Pending& p : pending_) {
        if (p.step != Step::kFree && p.object == id && p.live && !p.cancel_sent &&
            upstream_.client().cancel(kCancelMark | ipc::Server::record_index(p.op.id), p.tag))
            p.cancel_sent = true;
    }
    if (o->kind == Kind::kSocket) {
        upstream_.client().publish();
        (void)user::sys::queue_poll(upstream_.handle());
        drop(o->up);
    }
    objects_.remove(id);
}

Proxy::Outcome Proxy::open(Pending& p, Object& dir) {
    const std::span<std::byte> data = server_.bytes(p.op);
    // The full name: a prefix's name, '/', then the opened name. Copied first: the caller may
    // still write its buffer.
    char text[kMaxName];
    size_t size = 0;
    if (dir.kind == Kind::kPrefix) {
        c::copy(text, dir.text, dir.text_size);
        size = dir.text_size;
        text[size++] = '/';
    }
    if (data.size() == 0 || data.size() > kMaxName - size)
        return {true, status(data.size() == 0 ? Error::kInvalidArgument : Error::kNotFound), 0};
    c::copy(text + size, data.data(), data.size());
    size += data.size();
    return open_name(p, text, size);
}

Proxy::Outcome Proxy::open_name(Pending& p, const char* text, size_t size) {
    net::SocketName name{};
    const net::NameMatch match = net::match_socket_name(text, size, &name);
    if (match == net::NameMatch::kNone || name.kind == net::SocketKind::kAccept)
        return {true, status(Error::kNotFound), 0};
    if (match == net::NameMatch::kPrefix) {
        const uint32_t id = objects_.add(Kind::kPrefix);
        if (id == 0)
            return {true, status(Error::kFull), 0};
        Object& prefix = objects_.at(id);
        c::copy(prefix.text, text, size);
        prefix.text_size = static_cast<uint32_t>(size);
        return {true, kOk, abi::served_open_value(id, kRightsSocket)};
    }
    p.name = name;
    if (name.host != nullptr) {
        c::copy(p.host, name.host, name.host_size);
        p.name.host = p.host;
    }
    p.step = Step::kOpen;
    if (name.kind == net::SocketKind::kTcpConnect || name.kind == net::SocketKind::kIcmpEcho) {
        p.protocol = name.kind == net::SocketKind::kTcpConnect ? fwrules::Protocol::kTcp
                                                               : fwrules::Protocol::kIcmp;
        if (net::parse_ip4(p.host, p.name.host_size, &p.address))
            return connect(p);
        // A name: resolved through the upstream first, so that the rule sees (and the
        // connection goes to) one address.
        char dns[4 + net::kMaxHostName];
        c::copy(dns, "dns/", 4);
        c::copy(dns + 4, p.host, p.name.host_size);
        p.step = Step::kResolveOpen;
        if (!submit_open(p, root_handle_, dns, 4 + p.name.host_size))
            return {true, status(Error::kFull), 0};
        return {false, 0, 0};
    }
    // Listening, binding, dns/ and info: forwarded as they are (their traffic is checked).
    if (!submit_open(p, root_handle_, text, size))
        return {true, status(Error::kFull), 0};
    return {false, 0, 0};
}

bool Proxy::allowed(fwrules::Protocol protocol, net::Ip4 address, uint16_t port, const char* name,
                    size_t name_size) {
    const fwrules::Decision d = fwrules::decide(rules_, protocol, address, port);
    char a[net::kIp4TextSize];
    net::format_ip4(address, a);
    char rule[24] = "default";
    if (d.rule != 0)
        snformat(rule, sizeof rule, "rule %u", d.rule);
    char port_text[8] = "";
    if (protocol != fwrules::Protocol::kIcmp)
        snformat(port_text, sizeof port_text, ":%u", port);
    char host[net::kMaxHostName + 1] = "";
    if (name_size != 0)
        c::copy(host, name, name_size);
    host[name_size] = '\0';
    user::print(
        "firewall: %s %s %s%s (%s)%s%s\n", d.action == fwrules::Action::kAllow ? "allow" : "deny",
        fwrules::protocol_name(protocol), a, port_text, rule, name_size != 0 ? " for " : "", host);
    return d.action == fwrules::Action::kAllow;
}

// A connect or echo whose address is known: checked, then opened upstream by that address.
Proxy::Outcome Proxy::connect(Pending& p) {
    net::Ip4 literal = 0;
    const bool named = !net::parse_ip4(p.host, p.name.host_size, &literal);
    const bool tcp = p.protocol == fwrules::Protocol::kTcp;
    if (!allowed(p.protocol, p.address, tcp ? p.name.port : 0, named ? p.host : nullptr,
                 named ? p.name.host_size : 0))
        return {true, status(Error::kNoRights), 0};
    char a[net::kIp4TextSize];
    net::format_ip4(p.address, a);
    char text[kMaxName];
    const size_t n = tcp ? snformat(text, sizeof text, "tcp/connect/%s/%u", a, p.name.port)
                         : snformat(text, sizeof text, "icmp/echo/%s", a);
    p.step = Step::kOpen;
    if (!submit_open(p, root_handle_, text, n))
        return {true, status(Error::kFull), 0};
    return {false, 0, 0};
}

Proxy::Outcome Proxy::forward(Pending& p, Object& o) {
    const Op op = op_of(p.op);
    const ipc::abi::Submission& s = p.op.request;
    const std::span<std::byte> data = server_.bytes(p.op);
    if (op == Op::kWrite && o.socket == net::SocketKind::kUdpBind &&
        data.size() >= sizeof(abi::UdpHeader)) {
        abi::UdpHeader h{};
        c::copy(&h, data.data(), sizeof h);
        if (!allowed(fwrules::Protocol::kUdp, h.address, h.port, nullptr, 0))
            return {true, status(Error::kNoRights), 0};
    }
    if (op == Op::kOpen && o.socket == net::SocketKind::kTcpListen) {
        // An accept: the connection it gives is checked before the caller sees it.
        p.name.kind = net::SocketKind::kAccept;
        p.protocol = fwrules::Protocol::kTcp;
    }
    p.step = Step::kForward;
    if (op == Op::kOpen)
        p.step = Step::kOpen;
    // The caller's bytes travel only where they are the operation's input.
    const bool input = op == Op::kWrite || op == Op::kSetMeta || op == Op::kOpen;
    if (op == Op::kOpen) {
        if (data.size() > kMaxName)
            return {true, status(Error::kNotFound), 0};
        c::copy(p.text, data.data(), data.size());
        p.text_size = static_cast<uint32_t>(data.size());
    }
    if (!submit(p, op, o.up, s.args[0], input ? data.data() : nullptr, s.length, s.length != 0))
        return {true, status(Error::kFull), 0};
    return {false, 0, 0};
}

Proxy::Outcome Proxy::advance(Pending& p, uint16_t st, uint64_t value, const std::byte* bytes,
                              uint64_t size) {
    const Op op = op_of(p.op);
    const bool ok = st == kOk;
    // A caller that went away (or whose object was closed): nothing more is started for it.
    if (ok && p.step != Step::kForward && (p.cancel_sent || server_.cancel_requested(p.op.id))) {
        if (p.step == Step::kResolveOpen || p.step == Step::kOpen)
            drop(static_cast<Handle>(value));
        return {true, kCancelled, 0};
    }
    switch (p.step) {
        case Step::kForward: {
            if (!ok)
                return {true, pass(st), 0};
            if (op == Op::kRead || op == Op::kPeek || op == Op::kGetMeta) {
                const std::span<std::byte> data = server_.bytes(p.op);
                uint64_t n = value < size ? value : size;
                if (n > data.size())
                    n = data.size();
                Object* o = objects_.find(p.object);
                if (op == Op::kRead && o != nullptr && o->socket == net::SocketKind::kUdpBind &&
                    n >= sizeof(abi::UdpHeader)) {
                    abi::UdpHeader h{};
                    c::copy(&h, bytes, sizeof h);
                    if (!allowed(fwrules::Protocol::kUdp, h.address, h.port, nullptr, 0)) {
                        // Dropped, never copied to the caller: the read waits for the next.
                        if (p.cancel_sent || server_.cancel_requested(p.op.id))
                            return {true, kCancelled, 0};
                        if (!submit(p, op, o->up, p.op.request.args[0], nullptr,
                                    p.op.request.length, true))
                            return {true, status(Error::kFull), 0};
                        return {false, 0, 0};
                    }
                }
                c::copy(data.data(), bytes, n);
                return {true, kOk, n};
            }
            return {true, kOk, value};
        }
        case Step::kResolveOpen:
            if (!ok)
                return {true, pass(st), 0};
            p.handle = static_cast<Handle>(value);
            p.step = Step::kResolveRead;
            if (!submit(p, Op::kRead, p.handle, 0, nullptr, kAddressText, true))
                return {true, status(Error::kFull), 0};
            return {false, 0, 0};
        case Step::kResolveRead: {
            drop(p.handle);
            p.handle = 0;
            if (!ok)
                return {true, pass(st), 0};
            uint64_t n = value < size ? value : size;
            const char* text = reinterpret_cast<const char*>(bytes);
            if (n > 0 && text[n - 1] == '\n')
                --n;
            if (!net::parse_ip4(text, n, &p.address))
                return {true, status(Error::kProtocol), 0};
            return connect(p);
        }
        case Step::kOpen: {
            if (st == status(Error::kPeerGone) && p.on_root && !p.retried && reopen_root()) {
                // The network server was restarted: its new object, once.
                p.retried = true;
                if (!submit_open(p, root_handle_, p.text, p.text_size))
                    return {true, status(Error::kFull), 0};
                return {false, 0, 0};
            }
            if (!ok)
                return {true, pass(st), 0};
            if (p.name.kind != net::SocketKind::kAccept)
                return opened(p, static_cast<Handle>(value));
            p.handle = static_cast<Handle>(value);
            p.step = Step::kAcceptCheck;
            if (!submit(p, Op::kGetMeta, p.handle, static_cast<uint64_t>(abi::Meta::kSocketInfo),
                        nullptr, sizeof(abi::SocketInfo), true))
                return {true, status(Error::kFull), 0};
            return {false, 0, 0};
        }
        case Step::kAcceptCheck: {
            if (!ok || value < sizeof(abi::SocketInfo) || size < sizeof(abi::SocketInfo))
                return {true, ok ? status(Error::kProtocol) : pass(st), 0};
            abi::SocketInfo info{};
            c::copy(&info, bytes, sizeof info);
            return accepted(p, info);
        }
        default:
            return {true, status(Error::kProtocol), 0};
    }
}

Proxy::Outcome Proxy::opened(Pending& p, Handle handle) {
    const uint32_t id = objects_.add(Kind::kSocket);
    if (id == 0) {
        drop(handle);
        return {true, status(Error::kFull), 0};
    }
    Object& o = objects_.at(id);
    o.up = handle;
    o.socket = p.name.kind == net::SocketKind::kAccept ? net::SocketKind::kTcpConnect : p.name.kind;
    o.port = p.name.port;
    const bool text = p.name.kind == net::SocketKind::kDns || p.name.kind == net::SocketKind::kInfo;
    return {true, kOk, abi::served_open_value(id, text ? kRightsText : kRightsSocket)};
}

Proxy::Outcome Proxy::accepted(Pending& p, const abi::SocketInfo& info) {
    const Handle handle = p.handle;
    p.handle = 0;
    if (allowed(fwrules::Protocol::kTcp, info.remote_address, info.local_port, nullptr, 0))
        return opened(p, handle);
    // Refused: closed (the peer sees its end), and the accept waits for the next one.
    drop(handle);
    Object* listener = objects_.find(p.object);
    if (listener == nullptr || p.cancel_sent || server_.cancel_requested(p.op.id))
        return {true, kCancelled, 0};
    p.step = Step::kOpen;
    if (!submit_open(p, listener->up, p.text, p.text_size))
        return {true, status(Error::kFull), 0};
    return {false, 0, 0};
}

}  // namespace keel::firewall
