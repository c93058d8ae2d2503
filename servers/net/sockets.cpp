#include "sockets.hpp"

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

using keel::net::fail;

namespace keel::netserver {
namespace {

using abi::Error;
using user::Op;

constexpr uint16_t kOk = 0;
// How long an open waits for the interface to get an address (DHCP), and for a name.
constexpr net::Time kConfigureWait = 10 * net::kSecond;
constexpr uint32_t kBacklog = 16;
constexpr uint32_t kRightsSocket = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
// A handle opened from another has at most that one's rights, so the beginnings of names and
// listeners carry Write for the sockets opened through them.
constexpr uint32_t kRightsDirectory = kRightsSocket;

uint16_t status(Error e) {
    return abi::queue_error_status(e);
}

// lib/net's errors as the object API's.
Error to_abi(int64_t r) {
    switch (static_cast<net::Error>(-r)) {
        case net::Error::kNoRoom:
            return Error::kFull;
        case net::Error::kRefused:
            return Error::kRefused;
        case net::Error::kReset:
            return Error::kReset;
        case net::Error::kTimedOut:
            return Error::kTimedOut;
        case net::Error::kUnreachable:
            return Error::kUnreachable;
        case net::Error::kAddressInUse:
            return Error::kAddressInUse;
        case net::Error::kClosed:
            return Error::kPeerGone;
        case net::Error::kNotFound:
            return Error::kNotFound;
        case net::Error::kMalformed:
            return Error::kProtocol;
        default:  // kInvalid, kNotConnected (a write after shutdown), kWouldBlock (never here)
            return Error::kInvalidArgument;
    }
}

}  // namespace

Sockets::Outcome Sockets::opened(uint32_t object, uint32_t rights) {
    return {false, kOk, abi::served_open_value(object, rights)};
}

void Sockets::take(net::Time now) {
    while (auto op = server_.take()) {
        Parked p{};
        p.op = *op;
        p.sequence = next_sequence_++;
        const Outcome r = perform(p, now);
        if (!r.parked) {
            (void)server_.complete(p.op.id, r.status, r.value);
            continue;
        }
        bool kept = false;
        for (Parked& slot : parked_) {
            if (!slot.used) {
                slot = p;
                slot.used = true;
                // The name's host must point at the slot's own copy.
                if (slot.name.host != nullptr)
                    slot.name.host = slot.host;
                kept = true;
                break;
            }
        }
        if (!kept) {  // cannot happen: the kernel forwards at most kMaxParked at once
            abandon(p, now);
            (void)server_.complete(p.op.id, status(Error::kFull), 0);
        }
    }
}

void Sockets::complete(Parked& p, const Outcome& r) {
    (void)server_.complete(p.op.id, r.status, r.value);
    p.used = false;
}

void Sockets::retry(net::Time now, bool force) {
    const uint64_t events = stack_.events() + tcp_.events();
    const bool changed = force || events != seen_events_;
    seen_events_ = events;
    // Another pass while one finished something: an operation that waited behind an older one
    // in a later slot may go now.
    bool finished = true;
    for (int pass = 0; pass < 4 && finished; ++pass) {
        finished = false;
        for (Parked& p : parked_) {
            if (!p.used)
                continue;
            if (server_.cancel_requested(p.op.id)) {
                abandon(p, now);
                complete(p, {false, static_cast<uint16_t>(ipc::abi::Status::Cancelled), 0});
                finished = true;
                continue;
            }
            if (!changed && !finished && now < p.deadline)
                continue;
            const Outcome r = perform(p, now);
            if (!r.parked) {
                complete(p, r);
                finished = true;
            }
        }
    }
}

net::Time Sockets::next_deadline() const {
    net::Time t = net::kNever;
    for (const Parked& p : parked_) {
        if (p.used && p.deadline < t)
            t = p.deadline;
    }
    return t;
}

void Sockets::abandon(Parked& p, net::Time now) {
    if (p.query >= 0)
        stack_.dns_cancel(p.query);
    if (p.connection >= 0)
        tcp_.abort(p.connection, now);
    p.query = p.connection = -1;
}

Sockets::Outcome Sockets::perform(Parked& p, net::Time now) {
    const ipc::abi::Submission& s = p.op.request;
    const auto op = static_cast<Op>(s.opcode - abi::kQueueOpBase);
    const std::span<std::byte> data = server_.bytes(p.op);
    if (op == Op::kClose) {
        close(s.object, now);
        return {false, kOk, 0};
    }
    Object* o = objects_.find(s.object);
    if (o == nullptr)  // the kernel names only objects this server made and has not closed
        return {false, status(Error::kInvalidArgument), 0};
    switch (op) {
        case Op::kOpen:
            return p.phase == Phase::kNone ? open(p, *o, now) : finish_open(p, now);
        case Op::kRead:
        case Op::kPeek:
            if (behind(p))
                return {true, 0, 0};
            return read(p, *o, data, now);
        case Op::kWrite:
            if (behind(p))
                return {true, 0, 0};
            return write(p, *o, data, now);
        case Op::kGetMeta:
            return get_meta(*o, s.args[0], data);
        case Op::kSeek:
            if (o->kind != Kind::kText)
                return {false, status(Error::kNotSupported), 0};
            o->position = s.args[0];
            return {false, kOk, s.args[0]};
        case Op::kSetMeta:
            if (o->kind != Kind::kConnection)
                return {false, status(Error::kNotSupported), 0};
            if (s.args[0] != static_cast<uint64_t>(abi::Meta::kShutdown))
                return {false, status(Error::kInvalidArgument), 0};
            if (const int64_t r = tcp_.shutdown(o->id, now); r < 0)
                return {false, status(to_abi(r)), 0};
            return {false, kOk, 0};
        default:
            return {false, status(Error::kNotSupported), 0};
    }
}

void Sockets::close(uint32_t id, net::Time now) {
    Object* o = objects_.find(id);
    if (o == nullptr || objects_.is_root(o))
        return;
    switch (o->kind) {
        case Kind::kListener:
            tcp_.close_listener(o->id, now);
            break;
        case Kind::kConnection:
            tcp_.close(o->id, now);  // an orderly FIN; the engine keeps it through TIME_WAIT
            break;
        case Kind::kUdp:
            stack_.udp_close(o->id);
            break;
        default:
            break;
    }
    objects_.remove(id);
    // A close notice comes when the last handle went: nothing can be parked on it any more,
    // but an operation the kernel forwarded first still finishes, with PeerGone.
    for (Parked& p : parked_) {
        if (p.used && p.op.request.object == id) {
            abandon(p, now);
            complete(p, {false, status(Error::kPeerGone), 0});
        }
    }
}

Sockets::Outcome Sockets::open(Parked& p, Object& dir, net::Time now) {
    const std::span<std::byte> data = server_.bytes(p.op);
    // The full name: a prefix object's name, '/', then the opened name. Copied first: the
    // caller may still write its buffer.
    char text[kMaxText];
    size_t size = 0;
    if (dir.kind == Kind::kPrefix) {
        c::copy(text, dir.text, dir.text_size);
        size = dir.text_size;
        text[size++] = '/';
    } else if (dir.kind == Kind::kListener) {
        size = 0;
    } else if (dir.kind != Kind::kRoot) {
        return {false, status(Error::kNotDirectory), 0};
    }
    if (data.size() == 0 || data.size() > kMaxText - size)
        return {false, status(data.size() == 0 ? Error::kInvalidArgument : Error::kNotFound), 0};
    c::copy(text + size, data.data(), data.size());
    size += data.size();
    net::SocketName name{};
    const net::NameMatch match = net::match_socket_name(text, size, &name);
    if (match == net::NameMatch::kNone ||
        ((name.kind == net::SocketKind::kAccept) != (dir.kind == Kind::kListener)))
        return {false, status(Error::kNotFound), 0};
    if (match == net::NameMatch::kPrefix) {
        const uint32_t id = objects_.add(Kind::kPrefix);
        if (id == 0)
            return {false, status(Error::kFull), 0};
        Object& prefix = objects_.at(id);
        c::copy(prefix.text, text, size);
        prefix.text_size = static_cast<uint32_t>(size);
        return opened(id, kRightsDirectory);
    }
    p.name = name;
    if (name.host != nullptr) {
        c::copy(p.host, name.host, name.host_size);
        p.name.host = p.host;
    }
    if (name.kind == net::SocketKind::kAccept)
        p.listener = dir.id;
    return open_socket(p, now);
}

Sockets::Outcome Sockets::open_socket(Parked& p, net::Time now) {
    const net::SocketName& name = p.name;
    switch (name.kind) {
        case net::SocketKind::kInfo: {
            const uint32_t id = objects_.add(Kind::kText);
            if (id == 0)
                return {false, status(Error::kFull), 0};
            snapshot_info(objects_.at(id));
            return opened(id, abi::kRightRead | abi::kRightShare);
        }
        case net::SocketKind::kTcpListen: {
            const int64_t listener = tcp_.listen(0, name.port, kBacklog);
            if (listener < 0)
                return {false, status(to_abi(listener)), 0};
            const uint32_t id = objects_.add(Kind::kListener);
            if (id == 0) {
                tcp_.close_listener(listener, now);
                return {false, status(Error::kFull), 0};
            }
            objects_.at(id).id = listener;
            return opened(id, kRightsDirectory);
        }
        case net::SocketKind::kUdpBind: {
            const int64_t socket = stack_.udp_open(name.port);
            if (socket < 0)
                return {false, status(to_abi(socket)), 0};
            const uint32_t id = objects_.add(Kind::kUdp);
            if (id == 0) {
                stack_.udp_close(socket);
                return {false, status(Error::kFull), 0};
            }
            objects_.at(id).id = socket;
            return opened(id, kRightsSocket);
        }
        case net::SocketKind::kAccept:
            p.phase = Phase::kHandshake;
            return finish_open(p, now);
        default:  // connect, echo and dns need an address first
            p.phase = Phase::kConfigure;
            p.deadline = now + kConfigureWait;
            return finish_open(p, now);
    }
}

Sockets::Outcome Sockets::finish_open(Parked& p, net::Time now) {
    constexpr Outcome kWait{true, 0, 0};
    if (p.phase == Phase::kConfigure) {
        if (!stack_.interface().configured) {
            if (now >= p.deadline)
                return {false, status(Error::kUnreachable), 0};
            return kWait;
        }
        const int64_t q = stack_.dns_start(p.host, p.name.host_size, now);
        if (q < 0)
            return {false, status(q == fail(net::Error::kInvalid) ? Error::kNotFound : to_abi(q)),
                    0};
        p.query = q;
        p.phase = Phase::kResolve;
        p.deadline = net::kNever;  // the resolver times out by itself
    }
    if (p.phase == Phase::kResolve) {
        const int64_t r = stack_.dns_result(p.query, &p.address);
        if (r == fail(net::Error::kWouldBlock))
            return kWait;
        p.query = -1;
        if (r < 0)
            return {false, status(to_abi(r)), 0};
        if (p.name.kind == net::SocketKind::kIcmpEcho || p.name.kind == net::SocketKind::kDns) {
            const uint32_t id =
                objects_.add(p.name.kind == net::SocketKind::kDns ? Kind::kText : Kind::kEcho);
            if (id == 0)
                return {false, status(Error::kFull), 0};
            Object& o = objects_.at(id);
            o.address = p.address;
            if (o.kind == Kind::kText) {
                o.text_size = static_cast<uint32_t>(net::format_ip4(p.address, o.text));
                o.text[o.text_size++] = '\n';
                return opened(id, abi::kRightRead | abi::kRightShare);
            }
            return opened(id, kRightsSocket);
        }
        const int64_t c = tcp_.connect(stack_.interface().address, p.address, p.name.port, now);
        if (c < 0)
            return {false, status(to_abi(c)), 0};
        p.connection = c;
        p.phase = Phase::kHandshake;
    }
    // kHandshake: a connect waiting for its SYN's answer, or an accept for a connection.
    int64_t connection = p.connection;
    if (p.name.kind == net::SocketKind::kAccept) {
        connection = tcp_.accept(p.listener);
        if (connection == fail(net::Error::kWouldBlock))
            return kWait;
        if (connection < 0)
            return {false, status(to_abi(connection)), 0};
    } else {
        const int64_t s = tcp_.status(connection);
        if (s == 0)
            return kWait;
        if (s < 0) {
            abandon(p, now);
            return {false, status(to_abi(s)), 0};
        }
    }
    const uint32_t id = objects_.add(Kind::kConnection);
    if (id == 0) {
        tcp_.abort(connection, now);
        p.connection = -1;
        return {false, status(Error::kFull), 0};
    }
    objects_.at(id).id = connection;
    p.connection = -1;  // the object owns it now
    return opened(id, kRightsSocket);
}

Sockets::Outcome Sockets::read(Parked& p, Object& o, std::span<std::byte> data, net::Time now) {
    const bool consume = static_cast<Op>(p.op.request.opcode - abi::kQueueOpBase) == Op::kRead;
    auto* bytes = reinterpret_cast<uint8_t*>(data.data());
    switch (o.kind) {
        case Kind::kConnection: {
            if (!consume)
                return {false, status(Error::kNotSupported), 0};
            const int64_t r = tcp_.receive(o.id, bytes, data.size(), now);
            if (r == fail(net::Error::kWouldBlock))
                return {true, 0, 0};
            if (r < 0)
                return {false, status(to_abi(r)), 0};
            return {false, kOk, static_cast<uint64_t>(r)};
        }
        case Kind::kUdp: {
            if (!consume)
                return {false, status(Error::kNotSupported), 0};
            if (data.size() < sizeof(abi::UdpHeader))
                return {false, status(Error::kBufferTooSmall), 0};
            abi::UdpHeader h{};
            const int64_t r = stack_.udp_receive(o.id, &h.address, &h.port, bytes + sizeof h,
                                                 data.size() - sizeof h);
            if (r == fail(net::Error::kWouldBlock))
                return {true, 0, 0};
            if (r < 0)
                return {false, status(to_abi(r)), 0};
            c::copy(bytes, &h, sizeof h);
            return {false, kOk, sizeof h + static_cast<uint64_t>(r)};
        }
        case Kind::kEcho: {
            if (!consume)
                return {false, status(Error::kNotSupported), 0};
            uint16_t sequence = 0;
            net::Ip4 from = 0;
            const uint16_t identifier =
                static_cast<uint16_t>(objects_.id_of(o));  // one identifier per echo object
            const int64_t r = stack_.ping_receive(identifier, &sequence, &from, bytes, data.size());
            if (r == fail(net::Error::kWouldBlock))
                return {true, 0, 0};
            if (r < 0)
                return {false, status(to_abi(r)), 0};
            return {false, kOk, static_cast<uint64_t>(r)};
        }
        case Kind::kText: {
            // A file: reads from its position (advancing it), peeks at the cursor `arg`.
            const uint64_t at = consume ? o.position : p.op.request.args[0];
            const uint64_t n = at >= o.text_size                ? 0
                               : o.text_size - at < data.size() ? o.text_size - at
                                                                : data.size();
            c::copy(bytes, o.text + at, n);
            if (consume)
                o.position += n;
            return {false, kOk, n};
        }
        default:
            return {false, status(Error::kIsDirectory), 0};
    }
}

bool Sockets::behind(const Parked& p) const {
    for (const Parked& q : parked_) {
        if (q.used && &q != &p && q.sequence < p.sequence &&
            q.op.request.object == p.op.request.object &&
            q.op.request.opcode == p.op.request.opcode)
            return true;
    }
    return false;
}

Sockets::Outcome Sockets::write(Parked& p, Object& o, std::span<std::byte> data, net::Time now) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
    switch (o.kind) {
        case Kind::kConnection: {
            // A write completes when all its bytes are in the send buffer (waiting while it is
            // full), so a program's writes are never cut short and never reordered.
            while (p.done < data.size()) {
                const int64_t r = tcp_.send(o.id, bytes + p.done, data.size() - p.done, now);
                if (r == fail(net::Error::kWouldBlock))
                    return {true, 0, 0};
                if (r < 0) {  // what was taken before the failure still counts
                    return p.done > 0 ? Outcome{false, kOk, p.done}
                                      : Outcome{false, status(to_abi(r)), 0};
                }
                p.done += static_cast<uint64_t>(r);
            }
            return {false, kOk, p.done};
        }
        case Kind::kUdp: {
            abi::UdpHeader h{};
            if (data.size() < sizeof h)
                return {false, status(Error::kInvalidArgument), 0};
            c::copy(&h, bytes, sizeof h);
            if (h.port == 0 || h.reserved != 0)
                return {false, status(Error::kInvalidArgument), 0};
            const int64_t r = stack_.udp_send(o.id, h.address, h.port, bytes + sizeof h,
                                              data.size() - sizeof h, now);
            if (r < 0)
                return {false, status(to_abi(r)), 0};
            return {false, kOk, data.size()};
        }
        case Kind::kEcho: {
            const uint16_t identifier = static_cast<uint16_t>(objects_.id_of(o));
            const int64_t r =
                stack_.ping_send(o.address, identifier, o.sequence++, bytes, data.size(), now);
            if (r < 0)
                return {false, status(to_abi(r)), 0};
            return {false, kOk, data.size()};
        }
        case Kind::kText:
            return {false, status(Error::kNoRights), 0};
        default:
            return {false, status(Error::kIsDirectory), 0};
    }
}

Sockets::Outcome Sockets::get_meta(Object& o, uint64_t key, std::span<std::byte> data) {
    if (key == static_cast<uint64_t>(abi::Meta::kStat)) {
        const bool directory = o.kind == Kind::kRoot || o.kind == Kind::kPrefix;
        const abi::Stat st{
            static_cast<uint32_t>(directory ? abi::NodeType::kDirectory : abi::NodeType::kFile), 0,
            o.kind == Kind::kText ? o.text_size : 0};
        if (data.size() < sizeof st)
            return {false, status(Error::kBufferTooSmall), 0};
        c::copy(data.data(), &st, sizeof st);
        return {false, kOk, sizeof st};
    }
    if (key != static_cast<uint64_t>(abi::Meta::kSocketInfo))
        return {false, status(Error::kInvalidArgument), 0};
    abi::SocketInfo info{};
    if (o.kind == Kind::kConnection) {
        net::tcp::Info t{};
        if (tcp_.info(o.id, &t) < 0)
            return {false, status(Error::kInvalidArgument), 0};
        info = {t.local, t.remote, t.local_port, t.remote_port, static_cast<uint32_t>(t.state)};
    } else if (o.kind == Kind::kUdp) {
        info.local_address = stack_.interface().address;
        info.local_port = stack_.udp_port(o.id);
    } else if (o.kind == Kind::kEcho) {
        info.local_address = stack_.interface().address;
        info.remote_address = o.address;
    } else {
        return {false, status(Error::kInvalidArgument), 0};
    }
    if (data.size() < sizeof info)
        return {false, status(Error::kBufferTooSmall), 0};
    c::copy(data.data(), &info, sizeof info);
    return {false, kOk, sizeof info};
}

void Sockets::snapshot_info(Object& o) {
    const net::Interface& i = stack_.interface();
    const net::Counters& c = stack_.counters();
    const net::tcp::Counters& t = tcp_.counters();
    char address[net::kIp4TextSize], mask[net::kIp4TextSize], gateway[net::kIp4TextSize],
        dns[net::kIp4TextSize];
    net::format_ip4(i.address, address);
    net::format_ip4(i.netmask, mask);
    net::format_ip4(i.gateway, gateway);
    net::format_ip4(i.dns, dns);
    o.text_size = static_cast<uint32_t>(snformat(
        o.text, kMaxText,
        "address %s\nnetmask %s\ngateway %s\ndns %s\nconfigured %s\n"
        "frames in %lu out %lu\nmalformed ethernet %lu arp %lu ipv4 %lu (checksum %lu) icmp %lu "
        "udp %lu (checksum %lu) dhcp %lu dns %lu\n"
        "tcp segments in %lu out %lu malformed %lu (checksum %lu) retransmits %lu resets sent "
        "%lu received %lu\ntcp syns dropped (backlog full) %lu (no slot) %lu reopened time-wait "
        "%lu\n"
        "connections %u\n",
        address, mask, gateway, dns, i.configured ? "yes" : "no", c.frames_in, c.frames_out,
        c.malformed_ethernet, c.malformed_arp, c.malformed_ipv4, c.bad_ipv4_checksum,
        c.malformed_icmp, c.malformed_udp, c.bad_udp_checksum, c.malformed_dhcp, c.malformed_dns,
        t.segments_in, t.segments_out, t.malformed, t.bad_checksum, t.retransmits, t.resets_sent,
        t.resets_received, t.backlog_full, t.no_slot, t.reopened, tcp_.slots_in_use()));
    if (o.text_size >= kMaxText)
        o.text_size = kMaxText - 1;
}

}  // namespace keel::netserver
