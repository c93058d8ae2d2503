// firewall: a transparent firewall between programs and the network server. It serves the same
// names as servers/net (tcp/connect/HOST/PORT, tcp/listen/PORT, udp/bind/PORT, icmp/echo/HOST,
// dns/NAME, info; opened whole or one component at a time) and forwards every operation to the
// real network server (UPSTREAM, a path in its root) through one asynchronous queue, applying
// the rules of the file RULES (lib/fwrules: first match wins, one default). Each decision is
// one console line; a denied operation fails NoRights. Arguments:
//
//   firewall RULES UPSTREAM NAME [NSNAME]
//
// It publishes srv/NAME (its object, for a program given it as `net`) and with NSNAME a
// directory srv/NSNAME holding `net` (for a shell given it as `srv`: its programs' /srv/net is
// then the firewall). A malformed RULES file is refused whole: the line, column and reason on
// the console and exit status 1, before anything is published.
//
// Two threads share the Proxy under one lock: the main thread sleeps until the kernel forwards
// an operation, the other on the upstream queue while operations are in flight there.
#include <keel/c/mem.hpp>

#include <atomic>
#include <new>

#include "proxy.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;
using keel::firewall::Proxy;

namespace {

// Both queues: 256 entries (128 forwarded operations at once) and 64 buffers of 32 KiB, the
// most one socket read or write carries (servers/net): 2 MiB each.
constexpr uint32_t kBuffers = 64, kBufferSize = 32 * 1024;

struct Firewall {
    Mutex lock;
    ServePort port;
    Queue upstream;
    fwrules::RuleSet rules;
    Proxy proxy{port.server(), upstream, rules};
    // Bumped (and woken) when the main thread put operations upstream: the other thread sleeps
    // on it while nothing is in flight there.
    std::atomic<uint32_t> submitted{0};
};
// Made once in keel_main and never destroyed (the process ends with the service).
Firewall* g;

char g_text[fwrules::kMaxText + 1];  // the rules file (one byte more: "too large")

void pump() {
    g->lock.lock();
    g->proxy.pump();
    const bool more = g->proxy.in_flight() > 0;
    g->lock.unlock();
    if (more) {
        g->submitted.fetch_add(1);
        (void)sys::futex_wake(&g->submitted, 1);
    }
}

// Sleeps on the upstream queue while operations are in flight there, and hands what finished
// to the callers.
void upstream_waiter(uint64_t) {
    for (;;) {
        const uint32_t seen = g->submitted.load();
        g->lock.lock();
        g->proxy.pump();
        const bool idle = g->proxy.in_flight() == 0;
        g->lock.unlock();
        while (sys::serve_sync(g->port.port(), 0, 0) > 0)
            pump();
        if (idle) {
            (void)sys::futex_wait(&g->submitted, seen, 0);
            continue;
        }
        const int64_t r = sys::queue_wait(g->upstream.handle(), 1, 0);
        if (r < 0 && r != -static_cast<int64_t>(abi::Error::kTimedOut)) {
            print("firewall: the upstream queue failed: %s\n", error_text(r));
            sys::process_exit(1);
        }
    }
}

// The whole file, or -Error (kTooLarge past lib/fwrules' limit).
int64_t read_file(const char* path, size_t* size) {
    const int64_t h = open_path(root(), path, c::length(path));
    if (h < 0)
        return h;
    size_t have = 0;
    for (;;) {
        const int64_t r =
            sys::do_io(static_cast<uint64_t>(h), Op::kRead, g_text + have, sizeof g_text - have);
        if (r < 0) {
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
            return r;
        }
        have += static_cast<size_t>(r);
        if (r == 0 || have == sizeof g_text)
            break;
    }
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    *size = have;
    return have > fwrules::kMaxText ? -static_cast<int64_t>(abi::Error::kTooLarge) : 0;
}

int64_t publish(Handle srv, const char* name, Handle object) {
    return sys::do_io(srv, Op::kCreate, name, c::length(name), object);
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[5];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 5);
    if (count < 3 || count > 4) {
        print(
            "firewall: usage: firewall RULES UPSTREAM NAME [NSNAME] (paths in its root; "
            "publishes srv/NAME and srv/NSNAME/net)\n");
        return 2;
    }
    const char* rules_path = words[0];
    const char* upstream_path = words[1];
    void* memory = allocate(sizeof(Firewall));
    if (memory == nullptr) {
        print("firewall: no memory\n");
        return 1;
    }
    g = new (memory) Firewall;
    size_t size = 0;
    if (const int64_t r = read_file(rules_path, &size); r < 0) {
        print("firewall: %s: %s; not started\n", rules_path, error_text(r));
        return 1;
    }
    fwrules::Error error{};
    if (!fwrules::parse(g_text, size, &g->rules, &error)) {
        print("firewall: %s:%u:%u: %s; not started\n", rules_path, error.line, error.column,
              error.reason);
        return 1;
    }
    for (uint32_t i = 0; i < g->rules.count; ++i) {
        char line[fwrules::kMaxRuleText];
        (void)fwrules::write_rule(g->rules.rules[i], line, sizeof line);
        print("firewall: rule %u: %s (line %u)\n", i + 1, line, g->rules.rules[i].line);
    }
    print("firewall: default %s (line %u)\n",
          g->rules.default_action == fwrules::Action::kAllow ? "allow" : "deny",
          g->rules.default_line);
    if (const int64_t r = g->proxy.attach(upstream_path); r < 0) {
        print("firewall: %s: %s: no network to guard\n", upstream_path, error_text(r));
        return 1;
    }
    const int64_t srv = open(root(), "srv");
    if (srv < 0) {
        print("firewall: needs srv in its root\n");
        return 2;
    }
    if (const int64_t r = g->port.create(firewall::kCapacity, kBuffers, kBufferSize); r < 0) {
        print("firewall: cannot serve: %s\n", error_text(r));
        return 1;
    }
    if (const int64_t r = g->upstream.create(firewall::kCapacity, kBuffers, kBufferSize); r < 0) {
        print("firewall: no upstream queue: %s\n", error_text(r));
        return 1;
    }
    if (const int64_t r = publish(static_cast<Handle>(srv), words[2], g->port.served()); r < 0) {
        print("firewall: srv/%s: %s\n", words[2], error_text(r));
        return 1;
    }
    if (count == 4) {
        // A directory holding `net`: given to a shell as `srv`, its programs find the firewall
        // where they look for the network (/srv/net).
        Handle ns = 0;
        int64_t r = sys::object_new(abi::Kind::kRoot, 0, &ns);
        if (r >= 0)
            r = publish(ns, "net", g->port.served());
        if (r >= 0)
            r = publish(static_cast<Handle>(srv), words[3], ns);
        if (r < 0) {
            print("firewall: srv/%s: %s\n", words[3], error_text(r));
            return 1;
        }
    }
    print("firewall: %u rules from %s, in front of %s, served as srv/%s%s%s%s\n", g->rules.count,
          rules_path, upstream_path, words[2], count == 4 ? " and srv/" : "",
          count == 4 ? words[3] : "", count == 4 ? "/net" : "");
    if (const int64_t t = spawn_thread(upstream_waiter, 0); t < 0) {
        print("firewall: cannot start the upstream thread: %s\n", error_text(t));
        return 1;
    }
    for (;;) {
        const int64_t r = sys::serve_sync(g->port.port(), 1, 0);
        if (r < 0 && r != -static_cast<int64_t>(abi::Error::kTimedOut))
            break;
        pump();
    }
    return 0;
}
