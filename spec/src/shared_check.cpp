// keel_spec_shared_check [--refute double-fetch|order|owner|transient] [--log]
//
// Double fetch and memory order made checkable (spec/README.md, "Shared-memory accesses").
// Compiled with KEEL_IPC_OBSERVE_SHARED, together with ipc/'s sources (the real ones or a
// mutant's: spec/CMakeLists.txt), so every access either endpoint makes to the shared region
// arrives at on_shared_access below (ipc/shared_access.hpp). A real Client and Server share
// one region and run a script that makes every public call: across the counters' wrap, with
// batches, in-place submission, cancellation by tag and by user_data, and both teardowns.
// Each call is checked:
//   double-fetch  no byte of the region is loaded twice in one call;
//   order         every load of a word the peer publishes with (its ring counter, its endpoint
//                 state, the magic) is an acquire load, and every store of one's own such word
//                 a release store (create's stores before its release of the magic excepted:
//                 nothing is visible before it);
//   owner         a call stores only to what its side writes (abi.hpp);
// and the script runs twice, plainly and with every loaded byte the peer writes turned to
// garbage right after the load and restored when the call returns: a peer's write that comes
// and goes between two loads. An endpoint that loads each location once and uses only what it
// loaded cannot tell the two runs apart, so their logs (every call's outcome) must be equal
//   transient     the logs differ, or an assertion of the library fired.
// Exit 0 when nothing is found. --refute KIND (a seeded fault's test): exit 0 only if a
// finding of that kind is made, printed as "REFUTED (KIND)". --log prints the plain run's log.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <ipc/client.hpp>
#include <ipc/platform.hpp>
#include <ipc/server.hpp>
#include <ipc/shared_access.hpp>

#include "aligned_bytes.hpp"

namespace {

using namespace keel::ipc;
using keel::spec::AlignedBytes;

enum class Side : std::uint8_t { Client, Server };

const char* side_name(Side s) {
    return s == Side::Client ? "Client" : "Server";
}

// One named part of the region: who writes it, and whether it publishes (acquire / release).
struct Place {
    const char* name;
    std::size_t at, size;
    Side writer;
    bool publishes;
};

const char* order_name(std::memory_order o) {
    switch (o) {
        case std::memory_order_relaxed:
            return "relaxed";
        case std::memory_order_acquire:
            return "acquire";
        case std::memory_order_release:
            return "release";
        case std::memory_order_seq_cst:
            return "seq_cst";
        default:
            return "other";
    }
}

struct Finding {
    std::string kind, text;
};

struct Observer {
    std::byte* base = nullptr;
    std::size_t size = 0;
    std::vector<Place> places;
    bool active = false;  // inside an endpoint call
    bool creating = false;
    bool transient = false;
    Side side = Side::Client;
    std::string call;
    std::vector<std::pair<std::size_t, std::size_t>> loaded;  // [begin, end) this call
    struct Saved {
        std::size_t at;
        std::vector<std::byte> bytes;
    };
    std::vector<Saved> saved;
    std::vector<Finding> findings;
    std::map<std::string, unsigned> seen;  // "Side loads/stores place": how often, plain run

    void map(std::byte* region, const Layout& l, std::uint32_t capacity) {
        base = region;
        size = l.total_size;
        places.clear();
        auto off = [&](const void* p) {
            return std::size_t(static_cast<const std::byte*>(p) - region);
        };
        auto* h = reinterpret_cast<abi::QueueHeader*>(region);
        places.push_back({"magic", off(&h->magic), 4, Side::Client, true});
        places.push_back({"client_state", off(&h->client_state), 4, Side::Client, true});
        places.push_back({"server_state", off(&h->server_state), 4, Side::Server, true});
        places.push_back({"the header's geometry", 0, sizeof(abi::QueueHeader), Side::Client,
                          false});  // after the three above: they are found first
        auto* sq = reinterpret_cast<abi::RingHeader*>(region + abi::kSqHeaderOffset);
        auto* cq = reinterpret_cast<abi::RingHeader*>(region + abi::kCqHeaderOffset);
        places.push_back({"sq.head", off(&sq->head.value), 4, Side::Server, true});
        places.push_back({"sq.tail", off(&sq->tail.value), 4, Side::Client, true});
        places.push_back({"cq.head", off(&cq->head.value), 4, Side::Client, true});
        places.push_back({"cq.tail", off(&cq->tail.value), 4, Side::Server, true});
        places.push_back({"a submission entry", l.sq_entries,
                          std::size_t(capacity) * sizeof(abi::Submission), Side::Client, false});
        places.push_back({"a completion entry", l.cq_entries,
                          std::size_t(capacity) * sizeof(abi::Completion), Side::Server, false});
    }

    const Place* place(std::size_t at, std::size_t n) const {
        for (const auto& p : places) {
            if (at >= p.at && at + n <= p.at + p.size)
                return &p;
        }
        return nullptr;
    }

    void find(const char* kind, const std::string& text) {
        findings.push_back({kind, side_name(side) + std::string("::") + call + ": " + text});
    }

    void access(const testing::SharedAccess& a) {
        if (!active) {
            if (base != nullptr)  // the script calls every endpoint function through call()
                find("owner", "an access outside any observed call");
            return;
        }
        auto* p = static_cast<std::byte*>(a.at);
        if (p < base || p + a.size > base + size)
            return find("owner", "an access outside the region");
        const std::size_t at = std::size_t(p - base);
        const Place* pl = place(at, a.size);
        if (pl == nullptr)
            return find("owner",
                        "an access to no part of the protocol at offset " + std::to_string(at));
        if (!transient) {
            ++seen[std::string(side_name(side)) +
                   (a.kind == testing::AccessKind::Load ? " loads " : " stores ") + pl->name];
        }
        if (a.kind == testing::AccessKind::Load) {
            for (const auto& r : loaded) {
                if (at < r.second && r.first < at + a.size)
                    find("double-fetch", std::string("loads ") + pl->name + " twice (offset " +
                                             std::to_string(at) + ")");
            }
            loaded.push_back({at, at + a.size});
            if (pl->publishes && pl->writer != side && a.order != std::memory_order_acquire &&
                a.order != std::memory_order_seq_cst) {
                find("order", std::string("loads the peer's ") + pl->name + " " +
                                  order_name(a.order) + ", not acquire");
            }
            if (transient && pl->writer != side) {
                saved.push_back({at, std::vector<std::byte>(p, p + a.size)});
                for (std::uint32_t i = 0; i < a.size; ++i)
                    p[i] = ~p[i];  // the peer's write, seen only by a second load
            }
            return;
        }
        if (!creating && pl->writer != side)
            find("owner", std::string("stores to ") + pl->name + ", the peer's");
        const bool magic = std::string(pl->name) == "magic";
        if (pl->publishes && (!creating || magic) && a.order != std::memory_order_release &&
            a.order != std::memory_order_seq_cst) {
            find("order", std::string("stores its ") + pl->name + " " + order_name(a.order) +
                              ", not release");
        }
        if (magic)
            creating = false;  // the header is published: every later store is checked
    }

    void begin(Side s, const std::string& name) {
        active = true;
        side = s;
        call = name;
        loaded.clear();
    }
    void end() {
        for (auto it = saved.rbegin(); it != saved.rend(); ++it)
            std::memcpy(base + it->at, it->bytes.data(), it->bytes.size());
        saved.clear();
        active = false;
        creating = false;
    }
};

Observer g_obs;
const char* g_refute = nullptr;

int finish() {
    bool found = false;
    std::map<std::string, unsigned> times;  // each finding printed once, with its count
    std::vector<std::string> order;
    for (const auto& f : g_obs.findings) {
        const std::string line = f.kind + ": " + f.text;
        if (times[line]++ == 0)
            order.push_back(line);
        found = found || (g_refute != nullptr && f.kind == g_refute);
    }
    for (const auto& line : order)
        std::printf("%s (%u times)\n", line.c_str(), times[line]);
    if (g_refute != nullptr) {
        std::printf(found ? "REFUTED (%s)\n" : "SURVIVED: no %s finding\n", g_refute);
        return found ? 0 : 1;
    }
    std::printf(g_obs.findings.empty() ? "OK: every call loads each shared byte once, in order, "
                                         "and stores only its own\n"
                                       : "FAILED\n");
    return g_obs.findings.empty() ? 0 : 1;
}

struct CheckPlatform {
    static void panic(const char* message) {
        g_obs.find(g_obs.transient ? "transient" : "assert",
                   std::string("an assertion of the library fired: ") + message);
        g_obs.active = false;
        const int rc = finish();
        std::fflush(stdout);
        _exit(rc);
    }
    static void log(const char* message) { std::fprintf(stderr, "%s\n", message); }
};

// The script's log: every call and what it gave.
using Log = std::vector<std::string>;

template <class T>
std::string outcome(const Result<T>& r) {
    if (!r)
        return std::string("error ") + error_name(r.error());
    if constexpr (std::is_same_v<T, void>) {
        return "ok";
    } else if constexpr (std::is_integral_v<T>) {
        return "ok " + std::to_string(*r);
    } else {
        return "ok";
    }
}

std::string describe(const Reaped& r) {
    return "user_data " + std::to_string(r.user_data) + " tag " + std::to_string(r.tag) +
           " status " + std::to_string(r.status) + " value " + std::to_string(r.value) +
           (r.is_cancel ? " cancel" : "") +
           (r.buffer.valid() ? " buffer " + std::to_string(r.buffer.id()) : "");
}

// Every field of a taken operation's request, as the server's copy holds it.
std::string describe(const abi::Submission& r) {
    std::string t = "request";
    for (std::uint64_t v :
         {r.user_data, std::uint64_t(r.tag), std::uint64_t(r.opcode), std::uint64_t(r.buffer),
          std::uint64_t(r.object), std::uint64_t(r.length), r.offset, r.args[0], r.args[1],
          r.args[2], std::uint64_t(r.flags), std::uint64_t(r.reserved0)}) {
        t += " " + std::to_string(v);
    }
    return t;
}

constexpr std::uint16_t kOp = abi::kFirstServiceOp;
constexpr std::uint16_t kOpLimit = abi::kFirstServiceOp + 4;
constexpr std::uint16_t kNop = std::uint16_t(abi::Op::Nop);
constexpr std::uint16_t kOk = std::uint16_t(abi::Status::Ok);

struct Queue {
    Geometry g{4, 4, 64};
    Layout layout = *Layout::compute(g);
    AlignedBytes shared{layout.total_size};
    AlignedBytes cstore{Client::private_size(g)};
    AlignedBytes sstore{Server::private_size(g)};
    Client c;
    Server s;
    Log& log;
    explicit Queue(Log& l) : log(l) { g_obs.map(shared.p, layout, g.capacity); }
    ~Queue() { g_obs.base = nullptr; }

    template <class F>
    auto call(Side side, const std::string& name, F&& f) {
        g_obs.begin(side, name);
        auto r = f();
        g_obs.end();
        log.push_back(std::string(side_name(side)) + "::" + name + " -> " + outcome(r));
        return r;
    }
    template <class F>
    void step(Side side, const std::string& name, F&& f) {
        (void)call(side, name, f);
    }
    // A call that returns nothing.
    template <class F>
    void effect(Side side, const std::string& name, F&& f) {
        step(side, name, [&] {
            f();
            return Result<void>{};
        });
    }
    // Submits r, publishes it, and the server takes it: its handle.
    Result<std::uint32_t> submit_taken(const Request& r) {
        step(Side::Client, "submit", [&] { return c.submit(r); });
        effect(Side::Client, "publish", [&] { c.publish(); });
        step(Side::Server, "poll", [&] { return s.poll(); });
        return call(Side::Server, "take_id", [&] { return s.take_id(); });
    }
    void note(const std::string& what) { log.push_back("  " + what); }

    void create(std::uint32_t first_index) {
        g_obs.creating = true;
        step(Side::Client, "create",
             [&] { return c.create(shared.span(), cstore.span(), g, first_index); });
        step(Side::Server, "attach",
             [&] { return s.attach(shared.span(), sstore.span(), g, kOpLimit); });
    }

    // Reaps until Empty, one at a time or in batches; buffers go back to the pool.
    void drain(bool batched) {
        for (int i = 0; i < 16; ++i) {
            if (batched) {
                Reaped out[3];
                auto r = call(Side::Client, "reap_batch", [&] { return c.reap_batch(out); });
                if (!r)
                    return;
                for (std::uint32_t k = 0; k < *r; ++k) {
                    note(describe(out[k]));
                    if (out[k].buffer.valid())
                        (void)c.release(std::move(out[k].buffer));
                }
            } else {
                auto r = call(Side::Client, "reap", [&] { return c.reap(); });
                if (!r)
                    return;
                note(describe(*r));
                if (r->buffer.valid())
                    (void)c.release(std::move(r->buffer));
            }
        }
    }

    // One round of every call on a running queue; `round` varies what is asked.
    void round(std::uint64_t round) {
        const std::uint64_t u = round * 100;
        auto b0 = call(Side::Client, "acquire", [&] { return c.acquire(); });
        auto b1 = call(Side::Client, "acquire", [&] { return c.acquire(); });
        Request r1{u + 1, kOp, 7, 16, round, {1, 2, 3}, 9};
        auto t1 = call(Side::Client, "submit",
                       [&] { return b0 ? c.submit(r1, std::move(b0.value())) : c.submit(r1); });
        Request nop{u + 2, kNop, 0, 0, 0, {0, 0, 0}, 0};
        step(Side::Client, "submit", [&] { return c.submit(nop); });
        Request batch[2] = {{u + 3, kOp, 0, 8, 0, {0, 0, 0}, 0},
                            {u + 4, kOp, 0, 0, 0, {0, 0, 0}, 0}};
        Buffer bufs[2] = {b1 ? std::move(b1.value()) : Buffer{}, Buffer{}};
        std::uint32_t tags[2] = {0, 0};
        // The second request lends no buffer: submit_batch with buffers wants one each, so
        // the first goes with its buffer and the second alone.
        step(Side::Client, "submit_batch",
             [&] { return c.submit_batch(std::span(batch, 1), std::span(bufs, 1), tags); });
        step(Side::Client, "submit_batch",
             [&] { return c.submit_batch(std::span(batch + 1, 1), std::span(tags + 1, 1)); });
        effect(Side::Client, "publish", [&] { c.publish(); });

        step(Side::Server, "poll", [&] { return s.poll(); });
        auto op = call(Side::Server, "take", [&] { return s.take(); });
        if (op) {
            note(describe(op->request) + " bytes " + std::to_string(s.bytes(*op).size()) +
                 " cancel_requested " + std::to_string(s.cancel_requested(op->id)));
        }
        auto id = call(Side::Server, "take_id", [&] { return s.take_id(); });
        if (id)
            note(describe(s.request(*id)));
        if (op) {
            step(Side::Server, "complete", [&] { return s.complete(op->id, kOk, round + 16); });
        }
        effect(Side::Server, "publish", [&] { s.publish(); });

        drain(round % 2 == 0);
        // The fourth request is still queued: cancelled by tag. The third is taken: asked by
        // its user_data, it answers InProgress and the service may end it early.
        if (t1) {
            step(Side::Client, "cancel", [&] { return c.cancel(u + 5, tags[1]); });
            step(Side::Client, "cancel_user_data",
                 [&] { return c.cancel_user_data(u + 6, u + 3); });
            step(Side::Client, "cancel_user_data",
                 [&] { return c.cancel_user_data(u + 7, 999'999); });
        }
        effect(Side::Client, "publish", [&] { c.publish(); });
        step(Side::Server, "poll", [&] { return s.poll(); });
        if (id)
            note("cancel_requested " + std::to_string(s.cancel_requested(*id)));
        std::uint32_t handles[4];
        step(Side::Server, "take_batch", [&] { return s.take_batch(handles); });
        if (id) {
            Server::Done done[1] = {{*id, std::uint16_t(abi::Status::Cancelled), round}};
            step(Side::Server, "complete_batch", [&] { return s.complete_batch(done); });
        }
        effect(Side::Server, "publish", [&] { s.publish(); });
        drain(round % 2 == 1);

        // In-place submission, with and without a buffer.
        auto e = call(Side::Client, "prepare", [&] { return c.prepare(); });
        if (e) {
            (*e)->object = 7;  // the caller's own fields, written straight into the entry
            (*e)->offset = round;
            step(Side::Client, "commit", [&] { return c.commit(*e, u + 8, kOp); });
        }
        auto b2 = call(Side::Client, "acquire", [&] { return c.acquire(); });
        auto e2 = call(Side::Client, "prepare", [&] { return c.prepare(); });
        if (e2 && b2) {
            step(Side::Client, "commit",
                 [&] { return c.commit(*e2, u + 9, kOp, 32, std::move(b2.value())); });
        }
        effect(Side::Client, "publish", [&] { c.publish(); });
        step(Side::Server, "poll", [&] { return s.poll(); });
        for (int k = 0; k < 2; ++k) {
            auto h = call(Side::Server, "take_id", [&] { return s.take_id(); });
            if (h)
                step(Side::Server, "complete", [&] { return s.complete(*h, kOk, 1); });
        }
        effect(Side::Server, "publish", [&] { s.publish(); });
        drain(true);
    }
};

// The client closes with one operation taken and one queued; the server drains and closes.
void client_closes(Log& log) {
    Queue q(log);
    q.create(0x7FFF'FFFE);
    q.round(1);
    Request r{11, kOp, 0, 0, 0, {0, 0, 0}, 0};
    auto id = q.submit_taken(r);
    q.step(Side::Client, "submit", [&] { return q.c.submit(r); });
    q.effect(Side::Client, "publish", [&] { q.c.publish(); });
    q.effect(Side::Client, "close", [&] { q.c.close(); });
    q.step(Side::Server, "client_closed",
           [&] { return Result<std::uint32_t>(std::uint32_t(q.s.client_closed())); });
    q.step(Side::Server, "poll", [&] { return q.s.poll(); });
    q.effect(Side::Server, "client_gone", [&] { q.s.client_gone(); });
    if (id)
        q.step(Side::Server, "complete", [&] { return q.s.complete(*id, kOk, 0); });
    q.effect(Side::Server, "close", [&] { q.s.close(); });
    q.drain(false);
}

// The server closes with an operation taken; the client sees it and drains.
void server_closes(Log& log) {
    Queue q(log);
    q.create(0);
    Request r{21, kOp, 0, 0, 0, {0, 0, 0}, 0};
    (void)q.submit_taken(r);
    q.effect(Side::Server, "close", [&] { q.s.close(); });
    q.step(Side::Client, "server_closed",
           [&] { return Result<std::uint32_t>(std::uint32_t(q.c.server_closed())); });
    q.effect(Side::Client, "peer_gone", [&] { q.c.peer_gone(); });
    q.drain(true);
}

Log script() {
    Log log;
    {
        Queue q(log);
        q.create(0xFFFF'FFFD);  // every counter crosses 2^32 in the first round
        for (std::uint64_t r = 0; r < 6; ++r)
            q.round(r);
    }
    client_closes(log);
    server_closes(log);
    return log;
}

}  // namespace

KEEL_IPC_PLATFORM(CheckPlatform)

namespace keel::ipc::testing {
void on_shared_access(const SharedAccess& access) {
    g_obs.access(access);
}
}  // namespace keel::ipc::testing

int main(int argc, char** argv) {
    bool print_log = false;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--refute" && i + 1 < argc) {
            g_refute = argv[++i];
        } else if (std::string(argv[i]) == "--log") {
            print_log = true;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--refute double-fetch|order|owner|transient] [--log]\n",
                         argv[0]);
            return 2;
        }
    }
    const Log plain = script();
    g_obs.transient = true;
    const Log changed = script();
    g_obs.transient = false;
    if (print_log) {
        for (const auto& l : plain)
            std::printf("%s\n", l.c_str());
    }
    std::size_t calls = 0;
    for (const auto& l : plain)
        calls += l.rfind("  ", 0) == 0 ? 0 : 1;
    if (plain != changed) {
        std::size_t k = 0;
        while (k < plain.size() && k < changed.size() && plain[k] == changed[k])
            ++k;
        g_obs.findings.push_back(
            {"transient", "with the peer's bytes changed after each load, line " +
                              std::to_string(k + 1) + " of the log differs: \"" +
                              (k < plain.size() ? plain[k] : "(end)") + "\" became \"" +
                              (k < changed.size() ? changed[k] : "(end)") + "\""});
    }
    std::printf(
        "%zu calls, each run twice (plainly, and with transient peer writes); the "
        "accesses of the plain run:\n",
        calls);
    for (const auto& [what, n] : g_obs.seen)
        std::printf("  %s: %u\n", what.c_str(), n);
    return finish();
}
