// fetch URL: an HTTP/1.1 GET through the network server; the response's body goes to the
// program's output ("console" in its root: the terminal, a pipe, or the file of `> FILE`).
// Errors are one line, "fetch: URL: why", on the terminal (the shell's "console", reached
// through "ns", so that they never land in the output file) and the exit status is 1; 0 only
// for a 2xx response whose body arrived whole. It finds "net" in its root (started by init) or
// in the shell's name space ("ns"). URL parsing, the request and the response's framing are
// lib/http's; this file moves bytes.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/http/chunked.hpp>
#include <keel/http/client.hpp>

#include "runtime.hpp"
#include "tools.hpp"  // emit: the output, all of it

using namespace keel;
using namespace keel::user;

namespace {

constexpr size_t kBuffer = 32 * 1024;  // the most one socket read carries (servers/net)
uint8_t g_in[kBuffer];                 // the response as received
uint8_t g_out[kBuffer];                // decoded chunked data
Handle g_errors = 0;                   // where error lines go
Handle g_conn = 0;
const char* g_url = "";

void drop(uint64_t h) {
    if (h != 0)
        (void)sys::do_io(h, Op::kClose);
}

int fail(const char* why, const char* detail = nullptr) {
    char line[512];
    size_t n = snformat(line, sizeof line, "fetch: %s: %s%s%s\n", g_url, why,
                        detail != nullptr ? ": " : "", detail != nullptr ? detail : "");
    if (n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    (void)sys::do_io(g_errors, Op::kWrite, line, n);
    drop(g_conn);
    return 1;
}

int64_t receive(uint8_t* into, size_t room) {
    return sys::do_io(g_conn, Op::kRead, into, room);
}

}  // namespace

int keel_main(const StartInfo& start) {
    g_errors = console();
    if (const int64_t ns = open(root(), "ns"); ns >= 0) {
        const int64_t terminal = open(static_cast<Handle>(ns), "console");
        if (terminal >= 0)
            g_errors = static_cast<Handle>(terminal);
        drop(static_cast<uint64_t>(ns));
    }
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[2];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 2);
    if (count != 1) {
        g_url = "usage";
        return fail("fetch URL (http://HOST[:PORT]/PATH)") + 1;
    }
    g_url = words[0];
    http::Url url{};
    if (const char* why = http::parse_url(g_url, c::length(g_url), &url))
        return fail(why);
    const int64_t net = tools::open_net();
    if (net < 0)
        return fail("no network (net)", error_text(net));
    char name[300];
    char host[http::kMaxHostLength + 1];
    c::copy(host, url.host.data, url.host.length);
    host[url.host.length] = '\0';
    const size_t name_length = snformat(name, sizeof name, "tcp/connect/%s/%u", host, url.port);
    const int64_t conn = sys::do_io(static_cast<uint64_t>(net), Op::kOpen, name, name_length);
    drop(static_cast<uint64_t>(net));
    if (conn < 0)
        return fail(host, error_text(conn));
    g_conn = static_cast<Handle>(conn);

    char request[4096];
    const size_t n = http::write_request(url, request, sizeof request);
    if (n > sizeof request)
        return fail("URL too long");
    for (size_t at = 0; at < n;) {
        const int64_t w = sys::do_io(g_conn, Op::kWrite, request + at, n - at);
        if (w <= 0)
            return fail("sending the request", error_text(w));
        at += static_cast<size_t>(w);
    }

    // The head (after any 1xx interim responses).
    size_t have = 0;
    http::Response response{};
    for (;;) {
        http::ResponseParser parser;
        auto outcome = parser.feed(reinterpret_cast<const char*>(g_in), have);
        while (outcome == http::ResponseParser::Outcome::kIncomplete) {
            const int64_t r = receive(g_in + have, kBuffer - have);
            if (r < 0)
                return fail("receiving the response", error_text(r));
            if (r == 0)
                return fail("the server closed the connection before the response's head");
            have += static_cast<size_t>(r);
            outcome = parser.feed(reinterpret_cast<const char*>(g_in), have);
        }
        if (outcome == http::ResponseParser::Outcome::kError)
            return fail("bad response", parser.error());
        response = parser.response();
        c::move(g_in, g_in + response.head_length, have - response.head_length);
        have -= response.head_length;
        if (response.status >= 200)
            break;
    }
    if (response.status >= 300) {
        char status[64];
        const size_t k = response.reason.length < 40 ? response.reason.length : 40;
        snformat(status, sizeof status, "%u ", response.status);
        const size_t at = c::length(status);
        for (size_t i = 0; i < k; ++i)
            status[at + i] = response.reason.data[i];
        status[at + k] = '\0';
        return fail(status);
    }

    // The body: `have` bytes of it are in g_in already.
    uint64_t written = 0;
    http::ChunkedDecoder chunks;
    bool complete = response.framing == http::Framing::kNone ||
                    (response.framing == http::Framing::kLength && response.content_length == 0);
    for (bool first = true; !complete; first = false) {
        if (!first || have == 0) {
            const int64_t r = receive(g_in, kBuffer);
            if (r < 0)
                return fail("receiving the body", error_text(r));
            if (r == 0) {
                if (response.framing == http::Framing::kUntilClose)
                    break;
                return fail("the connection closed before the body's end");
            }
            have = static_cast<size_t>(r);
        }
        if (response.framing == http::Framing::kChunked) {
            size_t at = 0;
            while (at < have && !complete) {
                size_t used = 0, made = 0;
                const auto o =
                    chunks.decode(g_in + at, have - at, g_out, sizeof g_out, &used, &made);
                if (o == http::ChunkedDecoder::Outcome::kError)
                    return fail("bad chunked body", chunks.error());
                if (!keel::tools::emit(reinterpret_cast<const char*>(g_out), made))
                    return fail("writing the output");
                written += made;
                at += used;
                complete = o == http::ChunkedDecoder::Outcome::kDone;
            }
        } else {
            uint64_t take = have;
            if (response.framing == http::Framing::kLength &&
                take > response.content_length - written)
                take = response.content_length - written;
            if (!keel::tools::emit(reinterpret_cast<const char*>(g_in), take))
                return fail("writing the output");
            written += take;
            complete =
                response.framing == http::Framing::kLength && written == response.content_length;
        }
        have = 0;
    }
    drop(g_conn);
    return 0;
}
