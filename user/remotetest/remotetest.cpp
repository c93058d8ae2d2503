// remotetest: the remote-run test program (qemu_remote_run, kernel/tests/qemu-remote-run.sh).
//   remotetest write PATH TEXT  creates PATH (from "cwd", or "ns" when absolute), writes TEXT
//                               and a newline, reads it back and lists the directory's size;
//                               run through rrun, every one of these is the caller's object
//   remotetest linger SECONDS   says so, then says "alive N" every second until SECONDS pass
//                               or its console fails (its caller went away: it then ends)
//   remotetest await PATH SECONDS  waits until PATH (from "ns") exists, then ends 0 (1 after
//                               SECONDS): what the boot waits on while a service runs the test
//   remotetest hostile ADDRESS:PORT  a hostile caller of an agent: garbage, a huge length, a
//                               silent connection, a bad image, an image shorter than said;
//                               each must end that connection (or start nothing) within a
//                               bound, and then a good job must still run: "N passed, N failed"
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>
#include <keel/remote/wire.hpp>

#include <new>

#include "remote_job.hpp"
#include "tools.hpp"

using namespace keel;
using namespace keel::user;
namespace rw = keel::remote;

namespace {

int g_passed = 0, g_failed = 0;

void say(const char* fmt, const char* a = "", int64_t b = 0) {
    char line[256];
    const size_t n = snformat(line, sizeof line, fmt, a, b);
    tools::emit(line, n < sizeof line ? n : sizeof line - 1);
}

void check(bool ok, const char* what, int64_t detail) {
    if (ok)
        ++g_passed;
    else
        ++g_failed;
    say(ok ? "remotetest: ok: %s (%ld)\n" : "remotetest: FAILED: %s (%ld)\n", what, detail);
}

int write_mode(const char* path, const char* text) {
    const int64_t dir = open(root(), path[0] == '/' ? "ns" : "cwd");
    if (dir < 0)
        return say("remotetest: no cwd/ns: %s%ld\n", "", dir), 1;
    const char* relative = path[0] == '/' ? path + 1 : path;
    // The parent directory (the start itself for a bare name), then the file created in it.
    const char* slash = nullptr;
    for (const char* p = relative; *p != '\0'; ++p) {
        if (*p == '/')
            slash = p;
    }
    const int64_t parent = slash == nullptr ? dir
                                            : open_path(static_cast<Handle>(dir), relative,
                                                        static_cast<uint64_t>(slash - relative));
    if (parent < 0)
        return say("remotetest: %s: no directory: %ld\n", path, parent), 1;
    const char* leaf = slash == nullptr ? relative : slash + 1;
    const int64_t file = sys::do_io(static_cast<uint64_t>(parent), Op::kOpen, leaf, c::length(leaf),
                                    abi::kOpenCreate | abi::kOpenTruncate);
    if (file < 0)
        return say("remotetest: %s: cannot create: %ld\n", path, file), 1;
    char line[256];
    const size_t n = snformat(line, sizeof line, "%s\n", text);
    const int64_t w = sys::do_io(static_cast<uint64_t>(file), Op::kWrite, line, n);
    const int64_t synced = sys::do_io(static_cast<uint64_t>(file), Op::kSync);
    char back[256] = {};
    (void)sys::do_io(static_cast<uint64_t>(file), Op::kSeek, nullptr, 0, 0);
    const int64_t r = sys::do_io(static_cast<uint64_t>(file), Op::kRead, back, sizeof back - 1);
    // And a positional read (pread) from the second byte: the file's position neither used nor
    // moved, so the plain read after it sees the end.
    char tail[256] = {};
    const int64_t at = sys::do_io(static_cast<uint64_t>(file), Op::kReadAt, tail, sizeof tail, 1);
    const int64_t after = sys::do_io(static_cast<uint64_t>(file), Op::kRead, tail, 1);
    (void)sys::do_io(static_cast<uint64_t>(file), Op::kClose);
    uint64_t entries = 0;
    node_type(static_cast<Handle>(parent), &entries);
    if (synced < 0)
        return say("remotetest: %s: sync failed: %ld\n", path, synced), 1;
    if (w != static_cast<int64_t>(n) || r != w || c::compare(back, line, n) != 0)
        return say("remotetest: %s: wrote %ld, read back other bytes\n", path, w), 1;
    if (at != w - 1 || c::compare(tail, line + 1, n - 1) != 0 || after != 0)
        return say("remotetest: %s: read_at from 1 gave %ld, not the rest\n", path, at), 1;
    say("remotetest: %s: wrote and read back %ld bytes\n", path, w);
    say("remotetest: its directory holds %s%ld entries\n", "", static_cast<int64_t>(entries));
    return 0;
}

int await_mode(const char* path, uint64_t seconds) {
    const int64_t ns = open(root(), "ns");
    if (ns < 0)
        return 1;
    const char* relative = path[0] == '/' ? path + 1 : path;
    for (uint64_t i = 0; i < seconds * 10; ++i) {
        const int64_t h = open_path(static_cast<Handle>(ns), relative, c::length(relative));
        if (h >= 0)
            return 0;
        (void)sys::sleep_ns(100'000'000);
    }
    say("remotetest: %s did not appear within %ld s\n", path, static_cast<int64_t>(seconds));
    return 1;
}

int linger_mode(uint64_t seconds) {
    say("remotetest: lingering for %s%ld s\n", "", static_cast<int64_t>(seconds));
    for (uint64_t i = 1; i <= seconds; ++i) {
        (void)sys::sleep_ns(1'000'000'000);
        char line[64];
        const size_t n = snformat(line, sizeof line, "remotetest: alive %lu\n", i);
        if (!tools::emit(line, n))
            return 3;  // the console is gone: the caller went away
    }
    return 0;
}

int64_t connect(const char* host, uint64_t port) {
    const int64_t net = tools::open_net();
    if (net < 0)
        return net;
    char name[96];
    const size_t n = snformat(name, sizeof name, "tcp/connect/%s/%lu", host, port);
    return open_path(static_cast<Handle>(net), name, n);
}

// Sends bytes, then reads until the agent closes: the end of the stream (0) or a reset is
// "dropped"; anything else (data, or nothing within `bound_ns`) is returned as it is. *got
// counts what arrived first.
int64_t dropped_within(int64_t conn, const void* bytes, uint64_t n, uint64_t bound_ns,
                       uint64_t* got) {
    if (n > 0) {
        const int64_t w = sys::do_io(static_cast<uint64_t>(conn), Op::kWrite, bytes, n);
        if (w < 0)
            return w;
    }
    static uint8_t sink[32 * 1024];  // the most one socket read carries (servers/net)
    const uint64_t end = sys::clock_ns() + bound_ns;
    *got = 0;
    for (;;) {
        const uint64_t now = sys::clock_ns();
        if (now >= end)
            return err(Error::kTimedOut);
        const int64_t r = sys::do_io_timeout(static_cast<uint64_t>(conn), Op::kRead, sink,
                                             sizeof sink, 0, end - now);
        if (r == 0 || r == err(Error::kReset) || r == err(Error::kPeerGone))
            return 0;
        if (r < 0)
            return r;
        *got += static_cast<uint64_t>(r);
    }
}

// The next frame from `conn` into *m, reading as needed: false at the end of the stream, a bad
// frame or `end` (the clock's ns). `reader` is that connection's.
bool next_frame(int64_t conn, rw::Reader& reader, uint64_t end, rw::Message* m) {
    for (;;) {
        const rw::DecodeResult d = reader.next(m);
        if (d.status == rw::Decoded::kMessage)
            return true;
        const uint64_t now = sys::clock_ns();
        if (d.status == rw::Decoded::kBad || now >= end)
            return false;
        const uint64_t want = reader.room() < 32 * 1024 ? reader.room() : 32 * 1024;
        const int64_t k = sys::do_io_timeout(static_cast<uint64_t>(conn), Op::kRead, reader.space(),
                                             want, 0, end - now);
        if (k <= 0)
            return false;
        reader.produced(static_cast<size_t>(k));
    }
}

// The value of the first Started from `conn` before `end`, 0 when none came.
int64_t await_started(int64_t conn, rw::Reader& reader, uint64_t end) {
    rw::Message m{};
    while (next_frame(conn, reader, end, &m)) {
        if (m.type == rw::Type::kStarted)
            return m.started;
    }
    return 0;
}

size_t frame(const rw::Message& m, uint8_t* out) {
    return rw::encode(m, out, rw::kMaxFrame);
}

int hostile_mode(const char* target) {
    char host[64];
    const char* colon = target;
    while (*colon != '\0' && *colon != ':')
        ++colon;
    const size_t hl = static_cast<size_t>(colon - target);
    if (*colon != ':' || hl == 0 || hl >= sizeof host)
        return say("remotetest: hostile wants ADDRESS:PORT%s%ld\n"), 2;
    c::copy(host, target, hl);
    host[hl] = '\0';
    const uint64_t port = parse_u64(colon + 1);
    constexpr uint64_t kBound =
        12'000'000'000;  // the agent's silence rule (4 s), slack for a busy host
    static uint8_t out[rw::kMaxFrame];
    uint64_t got = 0;
    rw::Message hello{};
    hello.type = rw::Type::kHello;
    hello.version = rw::kVersion;
    hello.max_data = rw::kMaxData;

    // Two callers that go quiet, opened first so that their waits overlap the rest: one that
    // says nothing, and one whose image is shorter than its spawn said.
    rw::Message sp{};
    sp.type = rw::Type::kSpawn;
    sp.job = 5;
    sp.image_length = 64;
    sp.name = "junk";
    sp.name_length = 4;
    rw::Message img{};
    img.type = rw::Type::kImage;
    img.job = 5;
    static uint8_t junk[64];
    c::fill(junk, 0x5a, sizeof junk);
    img.data = junk;
    img.data_length = sizeof junk;
    const uint64_t t0 = sys::clock_ns();
    const int64_t silent = connect(host, port);
    check(silent >= 0, "connect a silent caller", silent);
    const int64_t short_image = connect(host, port);
    check(short_image >= 0, "connect a caller with a short image", short_image);
    sp.image_length = 4096;
    size_t n = frame(hello, out);
    n += frame(sp, out + n);
    n += frame(img, out + n);
    (void)sys::do_io(static_cast<uint64_t>(short_image), Op::kWrite, out, n);
    sp.image_length = 64;

    // Garbage: not a frame at the first byte.
    int64_t c = connect(host, port);
    check(c >= 0, "connect for garbage", c);
    const char garbage[] = "GET / HTTP/1.1\r\nHost: agent\r\n\r\n";
    int64_t r = dropped_within(c, garbage, sizeof garbage - 1, kBound, &got);
    check(r == 0 && got == 0, "garbage: dropped, nothing answered", r);
    (void)sys::do_io(static_cast<uint64_t>(c), Op::kClose);

    // A hello, then a header with a huge length: refused from the header alone.
    c = connect(host, port);
    n = frame(hello, out);
    const uint8_t huge[16] = {0x52, 0x4a, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
    c::copy(out + n, huge, sizeof huge);
    r = dropped_within(c, out, n + sizeof huge, kBound, &got);
    check(r == 0 && got == rw::kHeaderSize + 8, "huge length: its hello answered, then dropped",
          r < 0 ? r : static_cast<int64_t>(got));
    (void)sys::do_io(static_cast<uint64_t>(c), Op::kClose);

    // A spawn whose image is no ELF: Started with -BadImage, then the connection ends.
    c = connect(host, port);
    n = frame(hello, out);
    n += frame(sp, out + n);
    n += frame(img, out + n);
    (void)sys::do_io(static_cast<uint64_t>(c), Op::kWrite, out, n);
    static rw::Reader reader, short_reader;  // (static: a whole frame's buffer each)
    int64_t started = await_started(c, reader, sys::clock_ns() + kBound);
    check(started == err(Error::kBadImage), "an image that is no ELF: Started -BadImage", started);
    (void)sys::do_io(static_cast<uint64_t>(c), Op::kClose);

    // The two quiet callers: each dropped after the silence rule, nothing started.
    r = dropped_within(silent, nullptr, 0, kBound, &got);
    int64_t ms = static_cast<int64_t>((sys::clock_ns() - t0) / 1'000'000);
    // (The time is printed, not checked: the agent's clock is another machine's. Its log says
    // why it dropped the connection: "no hello: timed out".)
    check(r == 0 && got == 0, "a silent caller: dropped (ms after the connect)", ms);
    // The short image's caller is told why (its spawn came, so the agent answers it), then
    // dropped.
    started = await_started(short_image, short_reader, sys::clock_ns() + kBound);
    check(started == err(Error::kTimedOut), "a short image: Started -TimedOut", started);
    r = dropped_within(short_image, nullptr, 0, kBound, &got);
    ms = static_cast<int64_t>((sys::clock_ns() - t0) / 1'000'000);
    check(r == 0 && got == 0, "a short image: then dropped (ms after the connect)", ms);
    (void)sys::do_io(static_cast<uint64_t>(silent), Op::kClose);
    (void)sys::do_io(static_cast<uint64_t>(short_image), Op::kClose);

    // And the agent still serves: /bin/true runs there.
    c = connect(host, port);
    const int64_t image = tools::open_file("/bin/true");
    auto* job = new (allocate(sizeof(RemoteJob))) RemoteJob;
    const RemoteSpawn good{static_cast<Handle>(image), "true", 4, "", 0, nullptr, 0};
    abi::ExitInfo info{};
    r = c < 0 || image < 0 ? -1 : job->run(static_cast<Handle>(c), good, &info);
    check(r == 0 && info.reason == 1 && info.status == 0, "then a good job still runs", r);
    // A caller that goes away mid-job: remotetest linger started there with this process's
    // console as its own, its first console write awaited, then the connection closed without
    // an answer. The agent must complete that write PeerGone, so the program ends (B's log
    // says "the caller went away"); here it only must have started and asked.
    c = connect(host, port);
    const int64_t self = tools::open_file("/bin/remotetest");
    uint64_t size = 0;
    (void)sys::do_io(static_cast<uint64_t>(self), Op::kGetMeta, &size, 8,
                     static_cast<uint64_t>(abi::Meta::kSize));
    (void)sys::do_io(static_cast<uint64_t>(self), Op::kSeek, nullptr, 0, 0);  // one position
    sp.job = 9;
    sp.image_length = static_cast<uint32_t>(size);
    sp.name = "remotetest";
    sp.name_length = 10;
    sp.args = "linger 30";
    sp.args_length = 9;
    sp.entries[0] = rw::Entry{1, "console", 7};
    sp.entry_count = 1;
    n = frame(hello, out);
    n += frame(sp, out + n);
    (void)sys::do_io(static_cast<uint64_t>(c), Op::kWrite, out, n);
    img.job = 9;
    static uint8_t chunk[16 * 1024];
    for (uint64_t sent = 0; sent < size;) {
        const int64_t got_bytes =
            sys::do_io(static_cast<uint64_t>(self), Op::kRead, chunk, sizeof chunk);
        if (got_bytes <= 0)
            break;
        img.data = chunk;
        img.data_length = static_cast<uint32_t>(got_bytes);
        n = frame(img, out);
        (void)sys::do_io(static_cast<uint64_t>(c), Op::kWrite, out, n);
        sent += static_cast<uint64_t>(got_bytes);
    }
    static rw::Reader second;  // a fresh stream
    bool asked = false;
    started = 0;
    const uint64_t until = sys::clock_ns() + kBound;
    rw::Message m{};
    while (!asked && next_frame(c, second, until, &m)) {
        if (m.type == rw::Type::kStarted)
            started = m.started;
        asked = m.type == rw::Type::kOp && m.op == static_cast<uint8_t>(Op::kWrite);
    }
    check(started > 0 && asked, "a job started, its console write forwarded, then its caller left",
          started);
    (void)sys::do_io(static_cast<uint64_t>(c), Op::kClose);

    char line[64];
    const size_t k = snformat(line, sizeof line, "%d passed, %d failed\n", g_passed, g_failed);
    tools::emit(line, k);
    return g_failed == 0 ? 0 : 1;
}

}  // namespace

int keel_main(const StartInfo& start) {
    const tools::Args a = tools::arguments(start);
    if (a.count == 3 && str_equal(a.words[0], "write"))
        return write_mode(a.words[1], a.words[2]);
    if (a.count == 2 && str_equal(a.words[0], "linger"))
        return linger_mode(parse_u64(a.words[1]));
    if (a.count == 3 && str_equal(a.words[0], "await"))
        return await_mode(a.words[1], parse_u64(a.words[2]));
    if (a.count == 2 && str_equal(a.words[0], "hostile"))
        return hostile_mode(a.words[1]);
    tools::emit(
        "usage: remotetest write PATH TEXT | linger SECONDS | await PATH SECONDS | hostile "
        "ADDRESS:PORT\n",
        95);
    return 2;
}
