// fwbench HOST PORT PATH N: the firewall's overhead (servers/firewall; bench/firewall.py, B12).
// HTTP round trips to an HTTP/1.1 server at HOST:PORT (the host's loopback, 10.0.2.2, under
// QEMU), N of each kind through /direct/net (the network server) and through /srv/net (the
// firewall), interleaved one by one so that both paths see the same load:
//   connect   a new connection per request: connect, GET PATH with Connection: close, the
//             whole response, close (what fetch does)
//   keepalive requests on one connection kept open per path (the proxy's data path alone)
//   loopback  as connect, but to a responder of fwbench's own on the machine's own address
//             (10.0.2.15:7500, listening directly): no host in the loop, so under QEMU's
//             -icount shift=0 the guest clock counts guest instructions per request
// Prints one line per path and kind: requests per second (over the requests' own time) and
// latency percentiles in microseconds. Every response must be 200 with the same length, or the
// run fails (exit 1).
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/http/client.hpp>

#include "runtime.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint32_t kMaxRequests = 4000;
uint64_t g_ns[3][2][kMaxRequests];  // [kind][path][request]
uint8_t g_buffer[32 * 1024];        // the most one socket read carries (servers/net)
uint64_t g_length = 0;              // the first response's length; every other must match
uint32_t g_refused[2];              // connects the host refused and that were made again, per path

// A connect, made again (at most 3 times) when the host refused it: under load QEMU's user
// network now and then answers a SYN with a reset, on either path (counted and reported).
int64_t connect(int64_t net, int path, const char* name, size_t length) {
    int64_t c = 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
        c = sys::do_io(static_cast<uint64_t>(net), Op::kOpen, name, length);
        if (c != -static_cast<int64_t>(abi::Error::kRefused))
            break;
        ++g_refused[path];
    }
    return c;
}

void drop(int64_t h) {
    if (h > 0)
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
}

int64_t ns_open(const char* path) {
    const int64_t ns = open(root(), "ns");
    if (ns < 0)
        return ns;
    const int64_t h = open_path(static_cast<Handle>(ns), path, c::length(path));
    drop(ns);
    return h;
}

// One request and its whole response on an open connection: the response's length, or -1.
int64_t round_trip(int64_t conn, const char* request, size_t request_length) {
    if (sys::do_io(static_cast<uint64_t>(conn), Op::kWrite, request, request_length) !=
        static_cast<int64_t>(request_length))
        return -1;
    size_t have = 0;
    http::ResponseParser parser;
    auto outcome = http::ResponseParser::Outcome::kIncomplete;
    while (outcome == http::ResponseParser::Outcome::kIncomplete) {
        const int64_t r = sys::do_io(static_cast<uint64_t>(conn), Op::kRead, g_buffer + have,
                                     sizeof g_buffer - have);
        if (r <= 0)
            return -1;
        have += static_cast<size_t>(r);
        outcome = parser.feed(reinterpret_cast<const char*>(g_buffer), have);
    }
    const http::Response& response = parser.response();
    if (outcome != http::ResponseParser::Outcome::kComplete || response.status != 200 ||
        response.framing != http::Framing::kLength)
        return -1;
    const uint64_t total = response.head_length + response.content_length;
    uint64_t got = have;
    while (got < total) {
        const int64_t r = sys::do_io(static_cast<uint64_t>(conn), Op::kRead, g_buffer,
                                     sizeof g_buffer < total - got ? sizeof g_buffer : total - got);
        if (r <= 0)
            return -1;
        got += static_cast<uint64_t>(r);
    }
    if (got != total)
        return -1;
    return static_cast<int64_t>(total);
}

// The loopback kind's server: answers each connection's request with a 1 KiB body, then waits
// for the client's end and closes.
constexpr uint32_t kLoopbackPort = 7500;
char g_reply[1200];
size_t g_reply_length = 0;

void responder(uint64_t listener) {
    static char head[2048];
    for (;;) {
        const int64_t s = sys::do_io(listener, Op::kOpen, "accept", 6);
        if (s < 0)
            sys::thread_exit(s);
        size_t have = 0;
        bool complete = false;
        while (!complete && have < sizeof head) {
            const int64_t r =
                sys::do_io(static_cast<uint64_t>(s), Op::kRead, head + have, sizeof head - have);
            if (r <= 0)
                break;
            have += static_cast<size_t>(r);
            for (size_t i = 3; i < have && !complete; ++i)
                complete = head[i - 3] == '\r' && head[i - 2] == '\n' && head[i - 1] == '\r' &&
                           head[i] == '\n';
        }
        if (complete)
            (void)sys::do_io(static_cast<uint64_t>(s), Op::kWrite, g_reply, g_reply_length);
        (void)sys::do_io(static_cast<uint64_t>(s), Op::kSetMeta, nullptr, 0,
                         static_cast<uint64_t>(abi::Meta::kShutdown));
        while (sys::do_io(static_cast<uint64_t>(s), Op::kRead, head, sizeof head) > 0) {
        }
        drop(s);
    }
}

bool check_length(int64_t n) {
    if (n < 0)
        return false;
    if (g_length == 0)
        g_length = static_cast<uint64_t>(n);
    return static_cast<uint64_t>(n) == g_length;
}

const char* const kPaths[2] = {"direct/net", "srv/net"};

// n round trips on a new connection each through each path, alternating: connect to `name`, the
// request, the whole response, close; each one's time into g_ns[kind]. False (said) on a failure.
bool connections(int kind, const int64_t* net, const char* name, size_t name_length,
                 const char* request, size_t request_length, uint32_t n) {
    for (uint32_t i = 0; i < 2 * n; ++i) {
        const int p = static_cast<int>(i & 1);
        const uint64_t t0 = sys::clock_ns();
        const int64_t c = connect(net[p], p, name, name_length);
        const bool ok = c > 0 && check_length(round_trip(c, request, request_length));
        drop(c);
        g_ns[kind][p][i / 2] = sys::clock_ns() - t0;
        if (!ok) {
            print("fwbench: request %u to %s through /%s failed: %s\n", i / 2, name, kPaths[p],
                  c < 0 ? error_text(c) : "a bad response");
            return false;
        }
    }
    return true;
}

void sort(uint64_t* v, uint32_t n) {  // insertion sort: a few thousand values, once
    for (uint32_t i = 1; i < n; ++i) {
        const uint64_t x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1] > x; --j)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

void report(const char* kind, const char* path, uint64_t* ns, uint32_t n) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; ++i)
        total += ns[i];
    sort(ns, n);
    const auto at = [&](uint32_t per_mille) { return ns[(n - 1) * per_mille / 1000] / 1000; };
    const uint64_t rps_x10 = total == 0 ? 0 : uint64_t{n} * 10'000'000'000 / total;
    print(
        "fwbench: %s %s: %u requests, %lu.%lu requests/s, latency us p50 %lu p90 %lu p99 %lu "
        "max %lu\n",
        kind, path, n, rps_x10 / 10, rps_x10 % 10, at(500), at(900), at(990), at(1000));
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[5];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 5);
    uint32_t n = 0;
    for (const char* p = count >= 4 ? words[3] : ""; *p >= '0' && *p <= '9'; ++p)
        n = n * 10 + static_cast<uint32_t>(*p - '0');
    // "loopback" as a fifth word: that kind alone (no host in the loop: the -icount run).
    const bool only_loopback = count == 5 && c::compare(words[4], "loopback", 9) == 0;
    if ((count != 4 && !only_loopback) || n == 0 || n > kMaxRequests) {
        print("fwbench: usage: fwbench HOST PORT PATH N [loopback] (N 1..%u)\n", kMaxRequests);
        return 2;
    }
    const char* const* paths = kPaths;
    int64_t net[2];
    for (int p = 0; p < 2; ++p) {
        net[p] = ns_open(paths[p]);
        if (net[p] < 0) {
            print("fwbench: /%s: %s\n", paths[p], error_text(net[p]));
            return 1;
        }
    }
    char name[300], request[600];
    const size_t name_length = snformat(name, sizeof name, "tcp/connect/%s/%s", words[0], words[1]);
    const size_t close_length =
        snformat(request, sizeof request,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", words[2], words[0]);
    char keep[600];
    const size_t keep_length =
        snformat(keep, sizeof keep, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", words[2], words[0]);
    uint64_t connect_length = 0, keep_length_seen = 0;
    if (!only_loopback) {
        // A warm-up request each way (the first connection resolves the gateway's MAC).
        for (int p = 0; p < 2; ++p) {
            const int64_t c =
                sys::do_io(static_cast<uint64_t>(net[p]), Op::kOpen, name, name_length);
            if (c < 0 || !check_length(round_trip(c, request, close_length))) {
                print("fwbench: warm-up through /%s failed: %s\n", paths[p], error_text(c));
                return 1;
            }
            drop(c);
        }
        // A new connection per request, alternating paths.
        if (!connections(0, net, name, name_length, request, close_length, n))
            return 1;
        // One connection per path, kept open (its responses lack the Connection: close line).
        connect_length = g_length;
        g_length = 0;
        int64_t conn[2];
        for (int p = 0; p < 2; ++p) {
            conn[p] = sys::do_io(static_cast<uint64_t>(net[p]), Op::kOpen, name, name_length);
            if (conn[p] < 0) {
                print("fwbench: /%s: %s\n", paths[p], error_text(conn[p]));
                return 1;
            }
        }
        for (uint32_t i = 0; i < 2 * n; ++i) {
            const int p = static_cast<int>(i & 1);
            const uint64_t t0 = sys::clock_ns();
            const bool ok = check_length(round_trip(conn[p], keep, keep_length));
            g_ns[1][p][i / 2] = sys::clock_ns() - t0;
            if (!ok) {
                print("fwbench: kept-alive request %u through /%s failed\n", i / 2, paths[p]);
                return 1;
            }
        }
        keep_length_seen = g_length;
    }
    // The machine's own address, a responder of this program's own (directly on the network
    // server) at the other end.
    g_length = 0;
    g_reply_length =
        snformat(g_reply, sizeof g_reply,
                 "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n");
    c::fill(g_reply + g_reply_length, 'k', 1024);
    g_reply_length += 1024;
    char listen[32];
    const size_t listen_length = snformat(listen, sizeof listen, "tcp/listen/%u", kLoopbackPort);
    const int64_t listener =
        sys::do_io(static_cast<uint64_t>(net[0]), Op::kOpen, listen, listen_length);
    if (listener < 0 || spawn_thread(responder, static_cast<uint64_t>(listener)) < 0) {
        print("fwbench: no responder on port %u: %s\n", kLoopbackPort, error_text(listener));
        return 1;
    }
    char own[64];
    const size_t own_length = snformat(own, sizeof own, "tcp/connect/10.0.2.15/%u", kLoopbackPort);
    if (!connections(2, net, own, own_length, request, close_length, n))
        return 1;
    print(
        "fwbench: %u round trips of each kind through each path, responses of %lu, %lu and "
        "%lu bytes\n",
        n, connect_length, keep_length_seen, g_length);
    print("fwbench: connects refused by the host and made again: direct %u, firewall %u\n",
          g_refused[0], g_refused[1]);
    const char* names[2] = {"direct", "firewall"};
    const char* kinds[3] = {"connect", "keepalive", "loopback"};
    for (int kind = only_loopback ? 2 : 0; kind < 3; ++kind) {
        for (int p = 0; p < 2; ++p)
            report(kinds[kind], names[p], g_ns[kind][p], n);
    }
    return 0;
}
