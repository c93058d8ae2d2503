// net: the network server. It drives a NIC driver's link object (srv/LINK, abi::LinkInfo)
// with lib/net's Stack (Ethernet, ARP, IPv4, ICMP, UDP, DHCP, DNS) and TCP engine, takes its
// address by DHCP (or is given a static one), and serves sockets as objects under the name it
// publishes, srv/net (sockets.hpp has the names). Arguments: [--address=A.B.C.D/N
// [--gateway=A.B.C.D]] [LINK] (LINK default net0; with --address no DHCP is done).
//
// Two threads share everything under one lock: the main thread sleeps until the kernel
// forwards an operation or a timer is due, the receiving thread until a frame arrives; each
// then runs pump(), which does all there is to do, and hands the completions back.
#include <keel/c/mem.hpp>

#include <new>

#include <keel/net/static_address.hpp>

#include "link.hpp"
#include "loopback.hpp"
#include "serve.hpp"
#include "sockets.hpp"

using namespace keel;
using namespace keel::user;
using keel::netserver::Link;
using keel::netserver::Loopback;
using keel::netserver::Sockets;

namespace {

// The serve queue: 256 entries (128 operations at once: parked reads and accepts hold theirs),
// 112 buffers of 32 KiB (the most one read or write on a socket carries; the region stays
// under the kernel's 4 MiB).
constexpr uint32_t kCapacity = 256, kBuffers = 112, kBufferSize = 32 * 1024;
// While frames wait for a transmit buffer, look again this soon.
constexpr net::Time kTransmitRetry = net::kMillisecond;

struct Net {
    Mutex lock;
    ServePort port;
    Link link;
    net::Stack stack;
    net::tcp::Engine tcp;
    Loopback loopback{stack};
    Sockets sockets{stack, tcp, port.server()};
    bool announced = false;
    uint64_t started = 0;  // the clock at keel_main: the address line says how long it took
};
// Made once in keel_main and never destroyed (the process ends with the service).
Net* g;

void tcp_input(void* context, net::Ip4 source, net::Ip4 destination, const uint8_t* payload,
               size_t size, net::Time now) {
    static_cast<net::tcp::Engine*>(context)->input(source, destination, payload, size, now);
}
void tcp_error(void* context, uint8_t type, uint8_t code, net::Ip4 destination,
               const uint8_t* original, size_t size, net::Time now) {
    static_cast<net::tcp::Engine*>(context)->icmp_error(type, code, destination, original, size,
                                                        now);
}

// Everything there is to do, under the lock: new operations, timers, parked operations,
// frames to send, completions published. The next time something is due.
net::Time pump(net::Time now) {
    (void)g->port.server().poll();
    g->sockets.take(now);
    const net::Time stack_due = g->stack.poll(now);
    const net::Time tcp_due = g->tcp.poll(now);
    g->sockets.retry(now, false);
    // Conversations with this machine's own address, then what they made possible.
    for (int round = 0; round < 8 && g->loopback.pending(); ++round) {
        g->loopback.drain(
            [now](net::Ip4 source, net::Ip4 destination, const uint8_t* segment, size_t size) {
                g->tcp.input(source, destination, segment, size, now);
            },
            Loopback::kSegments);
        g->sockets.retry(now, false);
    }
    const bool waiting = g->link.transmit(g->stack);
    g->port.server().publish();
    if (const net::Interface& i = g->stack.interface(); i.configured && !g->announced) {
        char address[net::kIp4TextSize], gateway[net::kIp4TextSize];
        net::format_ip4(i.address, address);
        net::format_ip4(i.gateway, gateway);
        print("net: address %s, gateway %s (%lu ms after the start)\n", address, gateway,
              (sys::clock_ns() - g->started) / 1'000'000);
        g->announced = true;
    }
    net::Time due = stack_due < tcp_due ? stack_due : tcp_due;
    if (const net::Time t = g->sockets.next_deadline(); t < due)
        due = t;
    if ((waiting || g->loopback.pending()) && now + kTransmitRetry < due)
        due = now + kTransmitRetry;
    return due;
}

// Nanoseconds to sleep until `due` (0 means no timeout to serve_sync and queue waits, so a
// due time already here becomes 1).
uint64_t timeout_until(net::Time due, net::Time now) {
    if (due == net::kNever)
        return 0;
    return due > now ? due - now : 1;
}

void receiver(uint64_t) {
    uint64_t timeout = 0;
    for (;;) {
        const int64_t r = g->link.wait_received(timeout);
        if (r < 0 && r != -static_cast<int64_t>(abi::Error::kTimedOut)) {
            print("net: the link failed: %s\n", error_text(r));
            sys::thread_exit(1);
        }
        g->lock.lock();
        const net::Time now = sys::clock_ns();
        g->link.deliver(g->stack, now);
        net::Time due = pump(now);
        g->lock.unlock();
        // serve_sync reports (and consumes) the submissions made since either thread's last
        // call: when it saw some, the main thread may be asleep without them, so serve them here.
        while (sys::serve_sync(g->port.port(), 0, 0) > 0) {
            g->lock.lock();
            due = pump(sys::clock_ns());
            g->lock.unlock();
        }
        timeout = timeout_until(due, sys::clock_ns());
    }
}

}  // namespace

int keel_main(const StartInfo& start) {
    const uint64_t started = sys::clock_ns();
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[4];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 4);
    const char* link_name = "net0";
    const char* address_text = nullptr;
    const char* gateway_text = nullptr;
    bool usage = count < 0 || count > 3;
    bool link_given = false;
    for (int i = 0; i < count && !usage; ++i) {
        if (c::compare(words[i], "--address=", 10) == 0) {
            address_text = words[i] + 10;
        } else if (c::compare(words[i], "--gateway=", 10) == 0) {
            gateway_text = words[i] + 10;
        } else if (words[i][0] == '-' || link_given) {
            usage = true;
        } else {
            link_name = words[i];
            link_given = true;
        }
    }
    if (usage || (gateway_text != nullptr && address_text == nullptr)) {
        print(
            "net: usage: net [--address=A.B.C.D/N [--gateway=A.B.C.D]] [LINK] (a link object "
            "under srv/, default net0; without --address the address comes by DHCP)\n");
        return 2;
    }
    net::StaticAddress fixed{};
    if (address_text != nullptr) {
        const char* why = net::parse_static_address(
            address_text, c::length(address_text), gateway_text,
            gateway_text == nullptr ? 0 : c::length(gateway_text), &fixed);
        if (why != nullptr) {
            print("net: --address=%s%s%s: %s\n", address_text,
                  gateway_text != nullptr ? " --gateway=" : "",
                  gateway_text != nullptr ? gateway_text : "", why);
            return 2;
        }
    }
    const int64_t srv = open(root(), "srv");
    if (srv < 0) {
        print("net: needs srv in its root\n");
        return 2;
    }
    void* memory = allocate(sizeof(Net));
    if (memory == nullptr) {
        print("net: no memory\n");
        return 1;
    }
    g = new (memory) Net;
    g->started = started;
    // init starts this server after the driver published its link (its ready=): a link that
    // is not there means a machine without the NIC, which is not a failure to restart.
    const int64_t link = open(static_cast<Handle>(srv), link_name);
    if (link < 0) {
        print("net: srv/%s: %s: no network\n", link_name, error_text(link));
        return link == -static_cast<int64_t>(abi::Error::kNotFound) ? 0 : 1;
    }
    if (const int64_t r = g->link.attach(static_cast<Handle>(link)); r < 0) {
        print("net: srv/%s: not a network link: %s\n", link_name, error_text(r));
        return 1;
    }
    const abi::LinkInfo& info = g->link.info();
    net::Mac mac;
    c::copy(mac.bytes, info.mac, sizeof mac.bytes);
    const uint64_t seed = sys::clock_ns() ^ sys::wall_clock_ns() * 0x9e3779b97f4a7c15ull;
    const net::Limits limits{};
    // 128 connections (64 KiB each way: 16 MiB): a program's connections to itself take two.
    net::tcp::Limits tcp_limits{};
    tcp_limits.connections = 128;
    const size_t stack_size = net::Stack::storage_size(limits, info.mtu);
    const size_t tcp_size = net::tcp::Engine::storage_size(tcp_limits);
    void* stack_storage = allocate(stack_size);
    void* tcp_storage = allocate(tcp_size);
    if (stack_storage == nullptr || tcp_storage == nullptr) {
        print("net: no memory for the stack (%lu + %lu bytes)\n", stack_size, tcp_size);
        return 1;
    }
    if (const int64_t r = g->stack.init(limits, mac, info.mtu, seed, stack_storage, stack_size);
        r < 0) {
        print("net: cannot start the stack (%ld)\n", r);
        return 1;
    }
    if (const int64_t r =
            g->tcp.init(tcp_limits, g->loopback.output(), seed * 31 + 7, tcp_storage, tcp_size);
        r < 0) {
        print("net: cannot start TCP (%ld)\n", r);
        return 1;
    }
    g->stack.set_transport(net::kProtocolTcp, tcp_input, tcp_error, &g->tcp);
    // Frames go straight into the link's transmit buffers as they are built (no copy out of
    // the stack's frame slots) while buffers are free; the slots and transmit() otherwise.
    g->stack.set_link_output(g->link.output());
    if (const int64_t r = g->port.create(kCapacity, kBuffers, kBufferSize); r < 0) {
        print("net: cannot serve: %s\n", error_text(r));
        return 1;
    }
    // A static address is configured before srv/net is published, so a program that finds
    // the name finds the address too (no DNS server: names other than dotted quads fail).
    if (address_text != nullptr)
        g->stack.configure(fixed.address, fixed.netmask, fixed.gateway, 0);
    else
        g->stack.start_dhcp(sys::clock_ns());
    if (const int64_t r =
            sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, "net", 3, g->port.served());
        r < 0) {
        print("net: srv/net: %s\n", error_text(r));
        return 1;
    }
    print(
        "net: srv/%s: %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, served as srv/net (%lu ms after "
        "the start)\n",
        link_name, info.mac[0], info.mac[1], info.mac[2], info.mac[3], info.mac[4], info.mac[5],
        info.mtu, (sys::clock_ns() - started) / 1'000'000);
    if (const int64_t t = spawn_thread(receiver, 0); t < 0) {
        print("net: cannot start the receiving thread: %s\n", error_text(t));
        return 1;
    }
    uint64_t timeout = 0;
    for (;;) {
        const int64_t r = sys::serve_sync(g->port.port(), 1, timeout);
        if (r < 0 && r != -static_cast<int64_t>(abi::Error::kTimedOut))
            break;
        g->lock.lock();
        const net::Time now = sys::clock_ns();
        const net::Time due = pump(now);
        g->lock.unlock();
        timeout = timeout_until(due, now);
    }
    return 0;
}
