// httpd: an HTTP/1.1 file server (GET and HEAD) over the network server's TCP connections.
// Arguments: [DIR [PORT]]: DIR is a path in its root (default /mnt/disk/www if it is a
// directory, else /mnt/disk), PORT the TCP port (default 80). Its root holds "net" (the network
// server's object) and "mnt" (the file systems), given by init; started from the shell, both
// are found in the shell's name space ("ns"). README.md has the contract.
//
// One thread per connection, at most kMaxConnections at once (the accept loop waits for a free
// slot, so further connections wait in the network server's accept queue). A connection's
// reads go through its own queue so that they can time out: a connection idle for
// kIdleTimeoutNs between requests (or within one) is closed (408 when a request was
// half-received). A file above kStreamAbove is streamed: read into a queue's owned buffers and
// written from them asynchronously, so disk reads overlap socket writes (stream_file).
// Everything HTTP is lib/http's: this file moves bytes and opens files.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/http/chunked.hpp>
#include <keel/http/path.hpp>
#include <keel/http/request.hpp>
#include <keel/http/response.hpp>

#include "queue.hpp"
#include "runtime.hpp"

using namespace keel;
using namespace keel::user;
using abi::Error;

namespace {

constexpr uint32_t kMaxConnections = 64;
constexpr uint64_t kIdleTimeoutNs = 10'000'000'000;
constexpr size_t kRequestBuffer = 16 * 1024;  // a head (8 KiB at most) and what follows it
constexpr size_t kFileChunk =
    32 * 1024;  // file reads and connection writes (the most one socket write carries: servers/net)
constexpr size_t kMaxPath = 1024;  // a resolved path
// A file larger than kStreamAbove is streamed through a queue of its own: kStreamBuffers owned
// buffers of kFileChunk bytes, each read from the file and then written to the connection, so
// that the next chunks are read while the earlier ones are sent (stream_file).
constexpr uint32_t kStreamBuffers = 4;
constexpr uint64_t kStreamAbove = 2 * kFileChunk;
constexpr uint64_t kStreamRetryNs = 10'000'000;  // the longest one wait for a write lasts

void drop(uint64_t h) {
    if (h != 0)
        (void)sys::do_io(h, Op::kClose);
}

Handle g_root_dir = 0;  // the directory served
Handle g_listener = 0;

// A connection slot: its handle and thread, and whether the thread has finished (set last
// by the thread, read by the accept loop, which then joins it).
struct Slot {
    Handle connection;
    int64_t thread;
    uint32_t done;
};
Slot g_slots[kMaxConnections];
uint32_t g_active = 0;  // connections being served (futex word)

// One connection: its queue (the reads, with a timeout), its buffers, its peer for the log.
class Connection {
  public:
    explicit Connection(Handle h) : h_(h) {}
    ~Connection() {
        (void)queue_.destroy();  // a read still pending is cancelled
        drop(h_);
        release(request_);
        release(chunk_);
    }
    void serve();

  private:
    int64_t receive(char* into, size_t room);
    bool send(const void* bytes, size_t n);
    bool send_text(const char* s) { return send(s, c::length(s)); }
    bool send_head(http::ResponseHead& head);
    bool send_error(uint16_t status, uint8_t minor, bool keep_alive, bool with_body);
    bool skip_body(uint64_t n);
    uint16_t answer(const http::Request& r, uint64_t* sent, bool* keep_alive);
    uint16_t send_file(Handle file, uint64_t size, const char* path, size_t length,
                       const http::Request& r, uint64_t* sent, bool keep_alive);
    bool stream_file(Handle file, uint64_t size, uint64_t* sent);
    uint16_t send_listing(Handle dir, const char* path, size_t length, const http::Request& r,
                          uint64_t* sent, bool* keep_alive);
    void log(const http::Request* r, const char* what, uint16_t status, uint64_t sent);

    Handle h_;
    Queue queue_;
    char* request_ = nullptr;   // kRequestBuffer bytes
    size_t have_ = 0;           // bytes of request_ received and not yet used
    uint8_t* chunk_ = nullptr;  // kFileChunk bytes
    char peer_[24] = "?";
    uint16_t status_ = 0;  // the status of the last head sent (or being sent)
};

// Reads what the peer sent, waiting at most kIdleTimeoutNs: bytes (0: the peer finished), or
// -Error (kTimedOut when it sent nothing in time).
int64_t Connection::receive(char* into, size_t room) {
    auto buffer = queue_.client().acquire();
    if (!buffer)
        return err(Error::kNoMemory);
    const auto length = static_cast<uint32_t>(room < kRequestBuffer ? room : kRequestBuffer);
    if (!queue_.submit(Op::kRead, h_, 0, 0, static_cast<ipc::Buffer&&>(*buffer), length))
        return err(Error::kIo);
    (void)queue_.wait(1, kIdleTimeoutNs);
    auto done = queue_.reap();
    if (!done)
        return err(Error::kTimedOut);  // the read stays queued until the queue is destroyed
    if (done->status != 0) {
        abi::Error e = Error::kIo;
        (void)abi::decode_queue_error(done->status, &e);
        return err(e);
    }
    const auto bytes = queue_.client().bytes(done->buffer);
    uint64_t n = done->value < length ? done->value : length;
    if (n > bytes.size())
        n = bytes.size();
    c::copy(into, bytes.data(), n);
    return static_cast<int64_t>(n);
}

// Writes all of it (the network server may take fewer bytes at a time); false when the
// connection failed.
bool Connection::send(const void* bytes, size_t n) {
    const auto* p = static_cast<const uint8_t*>(bytes);
    while (n > 0) {
        const int64_t r = sys::do_io(h_, Op::kWrite, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

bool Connection::send_head(http::ResponseHead& head) {
    status_ = head.status;
    char date[http::kDateLength + 1];
    http::format_date(static_cast<int64_t>(sys::wall_clock_ns() / 1'000'000'000), date);
    head.date = date;
    char text[1024];
    const size_t n = http::write_response_head(head, text, sizeof text);
    return n <= sizeof text && send(text, n);
}

bool Connection::send_error(uint16_t status, uint8_t minor, bool keep_alive, bool with_body) {
    char body[512];
    const size_t n = http::write_error_body(status, body, sizeof body);
    http::ResponseHead head;
    head.status = status;
    head.minor = minor;
    head.keep_alive = keep_alive;
    head.content_length = n;
    head.content_type = "text/html; charset=utf-8";
    head.allow = status == http::kMethodNotAllowed ? "GET, HEAD" : nullptr;
    return send_head(head) && (!with_body || send(body, n));
}

// Drops a request's body (Content-Length on a GET), from the buffer and then the connection.
bool Connection::skip_body(uint64_t n) {
    const uint64_t here = n < have_ ? n : have_;
    c::move(request_, request_ + here, have_ - here);
    have_ -= here;
    n -= here;
    while (n > 0) {
        const int64_t r = receive(request_, n < kRequestBuffer ? n : kRequestBuffer);
        if (r <= 0)
            return false;
        n -= static_cast<uint64_t>(r);
    }
    return true;
}

void Connection::log(const http::Request* r, const char* what, uint16_t status, uint64_t sent) {
    char target[128];
    size_t n = 0;
    if (r != nullptr) {
        for (; n < r->target.length && n + 1 < sizeof target; ++n) {
            const char c = r->target.data[n];
            target[n] = c > 0x20 && c < 0x7f ? c : '?';
        }
    }
    target[n] = '\0';
    char method[12];
    n = 0;
    if (r != nullptr) {
        for (; n < r->method_text.length && n + 1 < sizeof method; ++n)
            method[n] = r->method_text.data[n];
    }
    method[n] = '\0';
    print("httpd: %s %s %s %u %lu%s%s\n", peer_, r != nullptr ? method : "-",
          r != nullptr ? target : "-", status, sent, what[0] != '\0' ? " " : "", what);
}

void Connection::serve() {
    request_ = static_cast<char*>(allocate(kRequestBuffer));
    chunk_ = static_cast<uint8_t*>(allocate(kFileChunk));
    if (request_ == nullptr || chunk_ == nullptr || queue_.create(4, 1, kRequestBuffer) < 0) {
        print("httpd: no memory for a connection\n");
        return;
    }
    abi::SocketInfo info{};
    if (sys::do_io(h_, Op::kGetMeta, &info, sizeof info,
                   static_cast<uint64_t>(abi::Meta::kSocketInfo)) == sizeof info) {
        const uint32_t a = info.remote_address;
        (void)snformat(peer_, sizeof peer_, "%u.%u.%u.%u:%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
                       a & 255, info.remote_port);
    }
    http::RequestParser parser;
    for (;;) {
        parser.reset();
        auto outcome = parser.feed(request_, have_);
        while (outcome == http::RequestParser::Outcome::kIncomplete) {
            const int64_t n = receive(request_ + have_, kRequestBuffer - have_);
            if (n == err(Error::kTimedOut) && have_ > 0) {
                (void)send_error(http::kRequestTimeout, 1, false, true);
                log(nullptr, "(timed out mid-request)", http::kRequestTimeout, 0);
            }
            if (n <= 0)
                return;  // the peer finished, went away or stayed idle too long
            have_ += static_cast<size_t>(n);
            outcome = parser.feed(request_, have_);
        }
        if (outcome == http::RequestParser::Outcome::kError) {
            (void)send_error(parser.status(), 1, false, true);
            log(nullptr, parser.reason(), parser.status(), 0);
            return;  // what follows a bad head cannot be framed
        }
        // The request's texts point into request_: answer before moving its bytes.
        const http::Request& r = parser.request();
        uint64_t sent = 0;
        bool keep_alive = r.keep_alive;
        const uint16_t status = answer(r, &sent, &keep_alive);
        log(&r, status == 0 ? "(connection lost)" : "", status_, sent);
        if (status == 0 || !keep_alive)
            return;
        const size_t used = r.head_length;
        const uint64_t body = r.content_length;
        c::move(request_, request_ + used, have_ - used);
        have_ -= used;
        if (!skip_body(body))
            return;
    }
}

// Answers one request; the status sent (0: the connection failed). *keep_alive may turn false.
uint16_t Connection::answer(const http::Request& r, uint64_t* sent, bool* keep_alive) {
    const bool body = r.method == http::Method::kGet;
    if (!http::served_method(r.method)) {
        *keep_alive = false;  // its body is not read
        return send_error(http::kMethodNotAllowed, r.minor, false, true) ? http::kMethodNotAllowed
                                                                         : 0;
    }
    char path[kMaxPath];
    const http::Resolved where =
        http::resolve_path(r.target.data, r.target.length, path, sizeof path);
    if (where.status != http::kOk)
        return send_error(where.status, r.minor, *keep_alive, body) ? where.status : 0;
    const int64_t h = open_path(g_root_dir, path, where.length);
    if (h < 0) {
        const uint16_t status = h == err(Error::kNoRights) ? http::kForbidden : http::kNotFound;
        return send_error(status, r.minor, *keep_alive, body) ? status : 0;
    }
    uint64_t size = 0;
    const uint32_t type = node_type(static_cast<Handle>(h), &size);
    uint16_t status;
    if (type == static_cast<uint32_t>(abi::NodeType::kDirectory)) {
        status = send_listing(static_cast<Handle>(h), path, where.length, r, sent, keep_alive);
    } else if (type == static_cast<uint32_t>(abi::NodeType::kFile)) {
        status = send_file(static_cast<Handle>(h), size, path, where.length, r, sent, *keep_alive);
    } else {
        status = send_error(http::kForbidden, r.minor, *keep_alive, body) ? http::kForbidden : 0;
    }
    drop(static_cast<uint64_t>(h));
    return status;
}

// Streams a file: kFileChunk bytes read from it, then written to the connection.
uint16_t Connection::send_file(Handle file, uint64_t size, const char* path, size_t length,
                               const http::Request& r, uint64_t* sent, bool keep_alive) {
    http::ResponseHead head;
    head.minor = r.minor;
    head.keep_alive = keep_alive;
    head.content_length = size;
    head.content_type = http::content_type(path, length);
    if (!send_head(head))
        return 0;
    if (r.method == http::Method::kHead)
        return http::kOk;
    (void)sys::do_io(file, Op::kSeek, nullptr, 0, 0);
    if (size > kStreamAbove)
        return stream_file(file, size, sent) ? http::kOk : 0;
    while (*sent < size) {
        const uint64_t want = size - *sent < kFileChunk ? size - *sent : kFileChunk;
        const int64_t n = sys::do_io(file, Op::kRead, chunk_, want);
        // The size was announced: a file that shrank or failed ends the connection.
        if (n <= 0 || !send(chunk_, static_cast<size_t>(n)))
            return 0;
        *sent += static_cast<uint64_t>(n);
    }
    return http::kOk;
}

// Sends the file's size bytes, from its position 0, through a queue of kStreamBuffers owned
// buffers: each chunk is read from the file straight into a free buffer and that buffer queued
// as a write on the connection, so the next chunks are read while the earlier ones are still
// being sent (the network server performs one connection's writes in the order queued). false
// when the file ended early or failed, the connection failed, or no write finished for
// kIdleTimeoutNs (a client that stopped reading).
bool Connection::stream_file(Handle file, uint64_t size, uint64_t* sent) {
    Queue q;
    if (q.create(2 * kStreamBuffers, kStreamBuffers, kFileChunk) < 0)
        return false;
    uint64_t read = 0;      // bytes read from the file and queued
    uint32_t pending = 0;   // writes queued and not reaped
    uint64_t deadline = 0;  // for the oldest write
    bool ok = true;
    while (ok && *sent < size) {
        if (read < size) {
            if (auto b = q.client().acquire()) {
                const uint64_t want = size - read < kFileChunk ? size - read : kFileChunk;
                const int64_t n = sys::do_io(file, Op::kRead, q.client().bytes(*b).data(), want);
                // The size was announced: a file that shrank or failed ends the connection.
                ok = n > 0 && static_cast<bool>(q.submit(
                                  Op::kWrite, h_, 0, static_cast<uint64_t>(n),
                                  static_cast<ipc::Buffer&&>(*b), static_cast<uint32_t>(n)));
                if (!ok)
                    break;
                read += static_cast<uint64_t>(n);
                if (pending++ == 0)
                    deadline = sys::clock_ns() + kIdleTimeoutNs;
                (void)q.poll();  // the write starts now, while the next chunk is read
                continue;
            }
        }
        // Every buffer is queued (or the file is read): wait for the oldest write.
        auto done = q.reap();
        if (!done) {
            const uint64_t now = sys::clock_ns();
            ok = pending > 0 && now < deadline;
            // Waits in short steps: a completion is also found by looking again.
            const uint64_t left = ok ? deadline - now : 0;
            if (ok)
                (void)q.wait(1, left < kStreamRetryNs ? left : kStreamRetryNs);
            continue;
        }
        if (done->is_cancel)
            continue;
        --pending;
        deadline = sys::clock_ns() + kIdleTimeoutNs;
        ok = done->status == 0 && done->value == done->user_data;
        if (ok)
            *sent += done->value;
        (void)q.client().release(static_cast<ipc::Buffer&&>(done->buffer));
    }
    (void)q.destroy();  // what is still queued is cancelled
    return ok && *sent == size;
}

// A directory: its index.html if it has one, else a listing, sent chunked (HTTP/1.1) or until
// the connection closes (1.0).
uint16_t Connection::send_listing(Handle dir, const char* path, size_t length,
                                  const http::Request& r, uint64_t* sent, bool* keep_alive) {
    const int64_t index = sys::do_io(dir, Op::kOpen, "index.html", 10);
    if (index >= 0) {
        uint64_t size = 0;
        uint16_t status = 0;
        if (node_type(static_cast<Handle>(index), &size) ==
            static_cast<uint32_t>(abi::NodeType::kFile)) {
            status =
                send_file(static_cast<Handle>(index), size, "index.html", 10, r, sent, *keep_alive);
        }
        drop(static_cast<uint64_t>(index));
        if (status != 0)
            return status;
    }
    const bool chunked = r.minor == 1;
    *keep_alive = *keep_alive && chunked;
    http::ResponseHead head;
    head.minor = r.minor;
    head.keep_alive = *keep_alive;
    head.chunked = chunked;
    head.has_length = false;
    head.content_type = "text/html; charset=utf-8";
    if (!send_head(head))
        return 0;
    if (r.method == http::Method::kHead)
        return http::kOk;
    // The page is gathered in chunk_ (past room for a chunk header) and sent when full.
    constexpr size_t kHeaderRoom = http::kChunkHeaderMax;
    char* page = reinterpret_cast<char*>(chunk_) + kHeaderRoom;
    const size_t room = kFileChunk - kHeaderRoom - 2;
    size_t used = 0;
    auto flush = [&]() {
        if (used == 0)
            return true;
        bool ok;
        if (chunked) {
            char header[kHeaderRoom];
            const size_t n = http::chunk_header(used, header);
            c::copy(page - n, header, n);
            page[used] = '\r';
            page[used + 1] = '\n';
            ok = send(page - n, n + used + 2);
        } else {
            ok = send(page, used);
        }
        *sent += used;
        used = 0;
        return ok;
    };
    // Appends one piece written by `write(out, cap)`, flushing first when it does not fit.
    auto add = [&](auto write) {
        size_t n = write(page + used, room - used);
        if (n > room - used) {
            if (!flush())
                return false;
            n = write(page, room);
            if (n > room)
                return true;  // cannot happen for a name of at most 255 bytes: skip it
        }
        used += n;
        return true;
    };
    bool ok =
        add([&](char* out, size_t cap) { return http::listing_start(path, length, out, cap); });
    static constexpr size_t kNames = 4096;
    char* names = static_cast<char*>(allocate(kNames));
    ok = ok && names != nullptr;
    // A directory reads as whole names, one per line, from the entry `arg` on.
    for (uint64_t cursor = 0; ok;) {
        const int64_t n = sys::do_io(dir, Op::kRead, names, kNames, cursor);
        if (n <= 0)
            break;
        for (int64_t at = 0; at < n && ok;) {
            int64_t end = at;
            while (end < n && names[end] != '\n')
                ++end;
            const char* name = names + at;
            const auto name_length = static_cast<size_t>(end - at);
            const int64_t e = sys::do_io(dir, Op::kOpen, name, name_length);
            const bool is_dir = e >= 0 && node_type(static_cast<Handle>(e)) ==
                                              static_cast<uint32_t>(abi::NodeType::kDirectory);
            drop(e >= 0 ? static_cast<uint64_t>(e) : 0);
            ok = add([&](char* out, size_t cap) {
                return http::listing_entry(path, length, name, name_length, is_dir, out, cap);
            });
            ++cursor;
            at = end + 1;
        }
    }
    release(names);
    ok = ok && add([&](char* out, size_t cap) { return http::listing_end(out, cap); }) && flush();
    if (ok && chunked)
        ok = send_text(http::kLastChunk);
    return ok ? http::kOk : 0;
}

void connection_thread(uint64_t index) {
    Slot& slot = g_slots[index];
    {
        Connection c(slot.connection);
        c.serve();
    }
    // Done before the count drops: whoever sees fewer than kMaxConnections finds a slot.
    __atomic_store_n(&slot.done, 1, __ATOMIC_RELEASE);
    __atomic_fetch_sub(&g_active, 1, __ATOMIC_SEQ_CST);
    (void)sys::futex_wake(&g_active, 1);
}

// A free slot, once fewer than kMaxConnections are served; finished threads are joined here.
uint32_t free_slot() {
    for (;;) {
        const uint32_t active = __atomic_load_n(&g_active, __ATOMIC_SEQ_CST);
        if (active < kMaxConnections)
            break;
        (void)sys::futex_wait(&g_active, active, 0);
    }
    uint32_t found = kMaxConnections;
    for (uint32_t i = 0; i < kMaxConnections; ++i) {
        Slot& s = g_slots[i];
        if (s.thread > 0 && __atomic_load_n(&s.done, __ATOMIC_ACQUIRE) != 0) {
            // join frees the stack; the handle is ours to close (one per connection served:
            // kept, they would fill the handle table after about 250 connections).
            (void)join(static_cast<Handle>(s.thread));
            (void)sys::do_io(static_cast<uint64_t>(s.thread), Op::kClose);
            s.thread = 0;
        }
        if (s.thread == 0 && found == kMaxConnections)
            found = i;
    }
    return found;
}

// Where names are looked up: the shell's name space "ns" when started from a shell, else the
// root init gave.
Handle g_names = 0;

// A path in g_names ('/' or not at its start: the same).
int64_t open_name(const char* path) {
    while (*path == '/')
        ++path;
    return open_path(g_names, path, c::length(path));
}

// The directory to serve: the argument, else /mnt/disk/www when it is a directory, else
// /mnt/disk.
int64_t open_root(const char* dir) {
    if (dir != nullptr)
        return open_name(dir);
    const int64_t www = open_name("/mnt/disk/www");
    if (www >= 0 &&
        node_type(static_cast<Handle>(www)) == static_cast<uint32_t>(abi::NodeType::kDirectory)) {
        return www;
    }
    drop(www >= 0 ? static_cast<uint64_t>(www) : 0);
    return open_name("/mnt/disk");
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[3] = {nullptr, nullptr, nullptr};
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 3);
    if (count < 0 || count > 2) {
        print("httpd: usage: httpd [DIR [PORT]]\n");
        return 2;
    }
    const char* dir = count >= 1 ? words[0] : nullptr;
    uint32_t port = 80;
    if (count == 2) {
        port = 0;
        for (const char* p = words[1]; *p != '\0'; ++p)
            port = *p >= '0' && *p <= '9' && port < 65536
                       ? port * 10 + static_cast<uint32_t>(*p - '0')
                       : 65536;
        if (port == 0 || port > 65535) {
            print("httpd: bad port %s\n", words[1]);
            return 2;
        }
    }
    const int64_t ns = open(root(), "ns");
    g_names = ns >= 0 ? static_cast<Handle>(ns) : root();
    const int64_t served = open_root(dir);
    if (served < 0 || node_type(static_cast<Handle>(served)) !=
                          static_cast<uint32_t>(abi::NodeType::kDirectory)) {
        print("httpd: %s: %s\n", dir != nullptr ? dir : "/mnt/disk",
              served < 0 ? error_text(served) : "not a directory");
        return 1;
    }
    g_root_dir = static_cast<Handle>(served);
    const int64_t net = open(g_names, "net");
    if (net < 0) {
        print("httpd: needs net in its root: %s\n", error_text(net));
        return 1;
    }
    char name[32];
    (void)snformat(name, sizeof name, "tcp/listen/%u", port);
    const int64_t listener =
        sys::do_io(static_cast<uint64_t>(net), Op::kOpen, name, c::length(name));
    if (listener < 0) {
        print("httpd: net/%s: %s\n", name, error_text(listener));
        return 1;
    }
    g_listener = static_cast<Handle>(listener);
    print("httpd: serving %s on port %u\n", dir != nullptr ? dir : "the disk", port);
    for (;;) {
        const uint32_t slot = free_slot();
        // Waits until a connection arrives.
        const int64_t conn = sys::do_io(g_listener, Op::kOpen, "accept", 6);
        if (conn < 0) {
            print("httpd: accept: %s\n", error_text(conn));
            if (conn == err(Error::kBadHandle) || conn == err(Error::kStaleHandle) ||
                conn == err(Error::kPeerGone))
                return 1;  // the listener or the network server is gone
            (void)sys::sleep_ns(100'000'000);
            continue;
        }
        Slot& s = g_slots[slot];
        s.connection = static_cast<Handle>(conn);
        s.done = 0;
        __atomic_fetch_add(&g_active, 1, __ATOMIC_SEQ_CST);
        s.thread = spawn_thread(connection_thread, slot);
        if (s.thread < 0) {
            print("httpd: no thread for a connection: %s\n", error_text(s.thread));
            drop(static_cast<uint64_t>(conn));
            s.thread = 0;
            __atomic_fetch_sub(&g_active, 1, __ATOMIC_SEQ_CST);
        }
    }
}
