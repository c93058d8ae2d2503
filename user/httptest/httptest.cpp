// httptest: servers/httpd and user/fetch end to end, before the network server exists. A thread
// of this program serves a stand-in "net" object with the socket contract of
// servers/httpd/README.md over memory (listen, accept, connect to a listening port of any
// host, byte streams, FIN, close); httpd is spawned with it and a www root of memory files, and
// the checks talk to httpd through it directly and through fetch. Run from the shell
// (`httptest`): prints each failed check and "N passed, N failed"; exits 0 only when none
// failed.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "runtime.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;
using abi::Error;

namespace {

// ---- the stand-in network server -------------------------------------------------------------

constexpr uint32_t kObjects = 64;
constexpr uint32_t kRing = 128 * 1024;  // bytes a connection end holds unread
constexpr uint32_t kDeferred = 64;

enum class Type : uint8_t { kFree, kListener, kEnd };
struct Object {
    Type type;
    uint16_t port;
    uint32_t peer;     // the other end (kEnd)
    bool closed;       // its last handle went
    bool eof;          // the peer sent FIN or closed: reads end at the ring's end
    uint32_t pending;  // kListener: the next end waiting for accept (0: none)
    uint8_t* ring;
    uint32_t head, size;
};
Object g_objects[kObjects + 1];  // index = object id (0: the net object)
uint32_t g_deferred[kDeferred];  // operation ids waiting for data or a connection
uint32_t g_deferred_count = 0;
ServePort* g_port_ = nullptr;  // keel_main's (a global would need a destructor at exit)
ServePort& port() {
    return *g_port_;
}
uint32_t g_listening = 0;  // set once httpd listens (read by the main thread)

uint32_t new_object(Type t) {
    for (uint32_t i = 1; i <= kObjects; ++i) {
        if (g_objects[i].type == Type::kFree) {
            g_objects[i] = Object{};
            g_objects[i].type = t;
            if (t == Type::kEnd) {
                g_objects[i].ring = static_cast<uint8_t*>(allocate(kRing));
                if (g_objects[i].ring == nullptr) {
                    g_objects[i].type = Type::kFree;
                    return 0;
                }
            }
            return i;
        }
    }
    return 0;
}

uint16_t status(Error e) {
    return abi::queue_error_status(e);
}

bool text_is(const uint8_t* p, uint32_t n, const char* s) {
    const size_t k = c::length(s);
    return n >= k && c::compare(p, s, k) == 0;
}

uint32_t number(const uint8_t* p, uint32_t n) {
    uint32_t v = 0;
    for (uint32_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; ++i)
        v = v * 10 + (p[i] - '0');
    return v;
}

constexpr uint32_t kRights = abi::kRightRead | abi::kRightWrite | abi::kRightShare;

// Performs operation `id`, or leaves it for later (false: deferred).
bool perform(uint32_t id) {
    ipc::Server& s = port().server();
    const ipc::abi::Submission& rq = s.request(id);
    Op op;
    if (!abi::decode_queue_opcode(rq.opcode, &op)) {
        (void)s.complete(id, status(Error::kNotSupported), 0);
        return true;
    }
    if (s.cancel_requested(id)) {
        (void)s.complete(id, static_cast<uint16_t>(ipc::abi::Status::Cancelled), 0);
        return true;
    }
    auto bytes = s.bytes(ipc::Operation{id, rq});
    auto* p = reinterpret_cast<uint8_t*>(bytes.data());
    const auto n = static_cast<uint32_t>(bytes.size());
    const uint32_t at = rq.object;
    Object& o = g_objects[at <= kObjects ? at : 0];
    if (op == Op::kClose) {
        if (o.type == Type::kEnd) {
            o.closed = true;
            Object& peer = g_objects[o.peer];
            peer.eof = true;
            if (peer.closed) {
                release(o.ring);
                release(peer.ring);
                peer = Object{};
                o = Object{};
            }
        } else if (o.type == Type::kListener) {
            o = Object{};
        }
        (void)s.complete(id, 0, 0);
        return true;
    }
    if (at == 0 && op == Op::kOpen) {
        if (text_is(p, n, "tcp/listen/")) {
            const uint32_t port = number(p + 11, n - 11);
            for (uint32_t i = 1; i <= kObjects; ++i) {
                if (g_objects[i].type == Type::kListener && g_objects[i].port == port) {
                    (void)s.complete(id, status(Error::kAddressInUse), 0);
                    return true;
                }
            }
            const uint32_t l = new_object(Type::kListener);
            g_objects[l].port = static_cast<uint16_t>(port);
            (void)s.complete(id, l == 0 ? status(Error::kFull) : 0,
                             abi::served_open_value(l, kRights));
            __atomic_store_n(&g_listening, port, __ATOMIC_RELEASE);
            return true;
        }
        if (text_is(p, n, "tcp/connect/")) {
            uint32_t k = n;
            while (k > 12 && p[k - 1] != '/')
                --k;
            const uint32_t port = number(p + k, n - k);
            uint32_t l = 0;
            for (uint32_t i = 1; i <= kObjects; ++i) {
                if (g_objects[i].type == Type::kListener && g_objects[i].port == port)
                    l = i;
            }
            if (l == 0 || g_objects[l].pending != 0) {
                (void)s.complete(id, status(Error::kRefused), 0);
                return true;
            }
            const uint32_t a = new_object(Type::kEnd), b = a ? new_object(Type::kEnd) : 0;
            if (b == 0) {
                (void)s.complete(id, status(Error::kFull), 0);
                return true;
            }
            g_objects[a].peer = b;
            g_objects[b].peer = a;
            g_objects[a].port = 40000 + static_cast<uint16_t>(a);
            g_objects[b].port = static_cast<uint16_t>(port);
            g_objects[l].pending = b;
            (void)s.complete(id, 0, abi::served_open_value(a, kRights));
            return true;
        }
        (void)s.complete(id, status(Error::kNotFound), 0);
        return true;
    }
    if (o.type == Type::kListener && op == Op::kOpen) {
        if (o.pending == 0)
            return false;
        const uint32_t e = o.pending;
        o.pending = 0;
        (void)s.complete(id, 0, abi::served_open_value(e, kRights));
        return true;
    }
    if (o.type != Type::kEnd) {
        (void)s.complete(id, status(Error::kNotSupported), 0);
        return true;
    }
    Object& peer = g_objects[o.peer];
    switch (op) {
        case Op::kRead: {
            if (o.size == 0) {
                if (!o.eof)
                    return false;
                (void)s.complete(id, 0, 0);
                return true;
            }
            const uint32_t k = n < o.size ? n : o.size;
            for (uint32_t i = 0; i < k; ++i)
                p[i] = o.ring[(o.head + i) % kRing];
            o.head = (o.head + k) % kRing;
            o.size -= k;
            (void)s.complete(id, 0, k);
            return true;
        }
        case Op::kWrite: {
            if (peer.closed || peer.type != Type::kEnd || o.eof) {
                (void)s.complete(id, status(Error::kPeerGone), 0);
                return true;
            }
            const uint32_t room = kRing - peer.size;
            if (room == 0)
                return false;
            const uint32_t k = n < room ? n : room;
            for (uint32_t i = 0; i < k; ++i)
                peer.ring[(peer.head + peer.size + i) % kRing] = p[i];
            peer.size += k;
            (void)s.complete(id, 0, k);
            return true;
        }
        case Op::kSetMeta:
            if (rq.args[0] == static_cast<uint64_t>(abi::Meta::kShutdown)) {
                peer.eof = true;
                (void)s.complete(id, 0, 0);
                return true;
            }
            break;
        case Op::kGetMeta:
            if (rq.args[0] == static_cast<uint64_t>(abi::Meta::kSocketInfo) &&
                n >= sizeof(abi::SocketInfo)) {
                const abi::SocketInfo info{0x7f000001, 0x7f000001, o.port, peer.port, 4};
                c::copy(p, &info, sizeof info);
                (void)s.complete(id, 0, sizeof info);
                return true;
            }
            break;
        default:
            break;
    }
    (void)s.complete(id, status(Error::kNotSupported), 0);
    return true;
}

void net_thread(uint64_t) {
    for (;;) {
        if (port().sync(true, 5'000'000) == -static_cast<int64_t>(Error::kPeerGone))
            return;
        (void)port().server().poll();
        while (auto taken = port().server().take_id()) {
            if (!perform(*taken) && g_deferred_count < kDeferred)
                g_deferred[g_deferred_count++] = *taken;
        }
        // Retry what waits (data may have come; a cancel may have been asked).
        for (bool progress = true; progress;) {
            progress = false;
            for (uint32_t i = 0; i < g_deferred_count;) {
                if (perform(g_deferred[i])) {
                    g_deferred[i] = g_deferred[--g_deferred_count];
                    progress = true;
                } else {
                    ++i;
                }
            }
        }
    }
}

// ---- the checks ----------------------------------------------------------------------------

int g_passed = 0, g_failed = 0;

void check(bool ok, const char* what) {
    if (ok) {
        ++g_passed;
    } else {
        ++g_failed;
        print("httptest: FAILED: %s\n", what);
    }
}

void drop(int64_t h) {
    if (h > 0)
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
}

bool contains(const char* text, size_t n, const char* what) {
    const size_t k = c::length(what);
    for (size_t i = 0; i + k <= n; ++i) {
        if (c::compare(text + i, what, k) == 0)
            return true;
    }
    return false;
}

// Connects to httpd, sends `request`, and reads until the server closes or `until` appears
// (then a little more); the bytes in out, their count returned (-1: no connection).
int64_t exchange(const char* request, char* out, size_t cap, const char* until = nullptr) {
    const int64_t conn = sys::do_io(port().served(), Op::kOpen, "tcp/connect/10.0.2.15/8080", 26);
    if (conn < 0)
        return -1;
    const size_t n = c::length(request);
    if (sys::do_io(static_cast<uint64_t>(conn), Op::kWrite, request, n) !=
        static_cast<int64_t>(n)) {
        drop(conn);
        return -1;
    }
    size_t have = 0;
    while (have < cap) {
        const int64_t r =
            sys::do_io(static_cast<uint64_t>(conn), Op::kRead, out + have, cap - have);
        if (r <= 0)
            break;
        have += static_cast<size_t>(r);
        if (until != nullptr && contains(out, have, until))
            break;
    }
    drop(conn);
    return static_cast<int64_t>(have);
}

int64_t make_file(Handle dir, const char* name, const void* bytes, uint64_t n) {
    Handle m = 0;
    int64_t r = sys::object_new(abi::Kind::kMemory, n, &m);
    if (r >= 0)
        r = sys::do_io(m, Op::kWrite, bytes, n);
    if (r >= 0)
        r = sys::do_io(dir, Op::kCreate, name, c::length(name), m);
    drop(m);
    return r;
}

// Spawns bin/NAME with a root of the given names and handles; the process handle or -Error.
int64_t spawn(const char* name, const char* args, const char* const* names, const Handle* handles,
              int count) {
    const int64_t ns = open(root(), "ns");
    char path[64];
    snformat(path, sizeof path, "bin/%s", name);
    const int64_t image = ns < 0 ? ns : open_path(static_cast<Handle>(ns), path, c::length(path));
    drop(ns);
    if (image < 0)
        return image;
    Handle r = 0;
    int64_t rc = sys::object_new(abi::Kind::kRoot, 0, &r);
    for (int i = 0; i < count && rc >= 0; ++i)
        rc = sys::do_io(r, Op::kCreate, names[i], c::length(names[i]), handles[i]);
    if (rc >= 0) {
        const Handle given[] = {r};
        const abi::SpawnArgs sa{reinterpret_cast<uint64_t>(given), 1,
                                reinterpret_cast<uint64_t>(args),  c::length(args),
                                reinterpret_cast<uint64_t>(name),  c::length(name)};
        rc = sys::spawn(static_cast<Handle>(image), &sa);
    }
    drop(r);
    drop(image);
    return rc;
}

int64_t exit_status(int64_t process) {
    abi::ExitInfo info{};
    const int64_t r = sys::do_io(static_cast<uint64_t>(process), Op::kRead, &info, sizeof info);
    drop(process);
    return r < 0 ? r : info.status;
}

// fetch URL with its output into a pipe: its status, the output in out (*n bytes).
int64_t fetch(const char* url, char* out, size_t cap, size_t* n) {
    Handle pipe[2] = {0, 0};
    if (sys::object_new(abi::Kind::kPipe, 0, pipe) < 0)
        return -1;
    const char* names[] = {"console", "net"};
    const Handle handles[] = {pipe[1], port().served()};
    char args[256];
    snformat(args, sizeof args, "%s", url);
    const int64_t p = spawn("fetch", args, names, handles, 2);
    drop(pipe[1]);
    *n = 0;
    while (p >= 0 && *n < cap) {
        const int64_t r = sys::do_io(pipe[0], Op::kRead, out + *n, cap - *n);
        if (r <= 0)
            break;
        *n += static_cast<size_t>(r);
    }
    drop(pipe[0]);
    return p < 0 ? p : exit_status(p);
}

char g_big[200 * 1024];
char g_got[256 * 1024];

}  // namespace

int keel_main(const StartInfo&) {
    ServePort serve_port;
    g_port_ = &serve_port;
    if (const int64_t r = port().create(64, 16, 128 * 1024); r < 0) {
        print("httptest: cannot serve: %s\n", error_text(r));
        return 1;
    }
    const int64_t net = spawn_thread(net_thread, 0);
    Handle www = 0;
    if (net < 0 || sys::object_new(abi::Kind::kRoot, 0, &www) < 0) {
        print("httptest: no thread or root\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof g_big; ++i)
        g_big[i] = static_cast<char>('a' + i * 7 % 26);
    check(make_file(www, "hello.txt", "hello, web\n", 11) >= 0, "make hello.txt");
    check(make_file(www, "big.bin", g_big, sizeof g_big) >= 0, "make big.bin");
    check(make_file(www, "a&b <c>.html", "<p>x</p>", 8) >= 0, "make a&b <c>.html");

    const char* names[] = {"console", "net", "www"};
    const Handle handles[] = {console(), port().served(), www};
    const int64_t httpd = spawn("httpd", "/www 8080", names, handles, 3);
    check(httpd >= 0, "spawn httpd");
    for (int i = 0; i < 500 && __atomic_load_n(&g_listening, __ATOMIC_ACQUIRE) == 0; ++i)
        (void)sys::sleep_ns(10'000'000);
    check(g_listening == 8080, "httpd listens on 8080");

    static char out[4096];
    int64_t n = exchange("GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
                         sizeof out);
    check(n > 0 && contains(out, n, "HTTP/1.1 200 OK\r\n") &&
              contains(out, n, "Content-Length: 11\r\n") && contains(out, n, "text/plain") &&
              contains(out, n, "\r\n\r\nhello, web\n"),
          "GET a file");
    n = exchange("HEAD /hello.txt HTTP/1.0\r\n\r\n", out, sizeof out);
    check(n > 0 && contains(out, n, "HTTP/1.0 200 OK") && !contains(out, n, "hello, web"), "HEAD");
    n = exchange("GET /../x HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out, "</html>");
    check(n > 0 && contains(out, n, "HTTP/1.1 403 Forbidden"), "403 above the root");
    n = exchange("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out, "</html>");
    check(n > 0 && contains(out, n, "HTTP/1.1 404 Not Found"), "404");
    n = exchange("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out);
    check(n > 0 && contains(out, n, " 501 "), "501");
    n = exchange("POST / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out);
    check(n > 0 && contains(out, n, " 405 ") && contains(out, n, "Allow: GET, HEAD"), "405");
    n = exchange("GET / HTTP/2.0\r\nHost: x\r\n\r\n", out, sizeof out);
    check(n > 0 && contains(out, n, " 505 "), "505");
    n = exchange("GET / HTTP/1.1\r\n\r\n", out, sizeof out);
    check(n > 0 && contains(out, n, " 400 "), "400 without Host");
    n = exchange("GET /%2e%2e/%2e%2e HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out, "</html>");
    check(n > 0 && contains(out, n, " 403 "), "403 for encoded dots");
    n = exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out, sizeof out);
    check(n > 0 && contains(out, n, "Transfer-Encoding: chunked") &&
              contains(out, n, "<a href=\"/hello.txt\">hello.txt</a>") &&
              contains(out, n, "<a href=\"/a%26b%20%3Cc%3E.html\">a&amp;b &lt;c&gt;.html</a>") &&
              contains(out, n, "\r\n0\r\n\r\n"),
          "listing");
    n = exchange(
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n",
        out, sizeof out);
    check(n > 0 && contains(out, n, "hello, web\nHTTP/1.1 404"), "two pipelined requests");
    // Idle: the server closes a connection that sends nothing within 10 s.
    const uint64_t t0 = sys::clock_ns();
    n = exchange("", out, sizeof out);
    const uint64_t waited = sys::clock_ns() - t0;
    check(n == 0 && waited > 9'000'000'000 && waited < 20'000'000'000, "idle timeout");
    n = exchange("GET /hello.txt HTTP/1.1\r\nHost:", out, sizeof out);
    check(n > 0 && contains(out, n, " 408 "), "408 for half a request");

    size_t got = 0;
    int64_t s = fetch("http://10.0.2.15:8080/hello.txt", g_got, sizeof g_got, &got);
    check(s == 0 && got == 11 && c::compare(g_got, "hello, web\n", 11) == 0, "fetch a file");
    s = fetch("http://10.0.2.15:8080/big.bin", g_got, sizeof g_got, &got);
    check(s == 0 && got == sizeof g_big && c::compare(g_got, g_big, sizeof g_big) == 0,
          "fetch 200 KiB");
    s = fetch("http://10.0.2.15:8080/", g_got, sizeof g_got, &got);
    check(s == 0 && contains(g_got, got, "hello.txt") && contains(g_got, got, "</html>"),
          "fetch a listing (chunked)");
    s = fetch("http://10.0.2.15:8080/nope", g_got, sizeof g_got, &got);
    check(s == 1, "fetch of a 404 fails");
    s = fetch("http://10.0.2.15:9999/", g_got, sizeof g_got, &got);
    check(s == 1, "fetch of a refused port fails");

    print("%d passed, %d failed\n", g_passed, g_failed);
    (void)httpd;
    return g_failed == 0 ? 0 : 1;
}
