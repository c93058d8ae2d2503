// ABI decoding fuzz target: raw bytes as each shared-memory entry type, decoded by the library
// and, independently, by this file's oracle, which reads fields at the offsets abi.hpp
// documents (so a layout change is caught as well as a validation change):
//   kind 0, QueueHeader: Server::attach accepts the header iff every field matches the
//     geometry (IPC-R-050 set-up);
//   kind 1, Submission entries: one Server::poll drains them; each gets exactly the
//     completion (tag, status, buffer) the oracle computes, or is queued, and take() hands the
//     queued ones out in order as exact copies (IPC-R-050..053, IPC-R-060..064);
//   kind 2, Completion entries: the client reaps each iff its tag names a live operation of
//     the current generation, it carries exactly the buffer lent and a status that operation
//     may get; otherwise ProtocolViolation and nothing changes (IPC-R-040..044).
// Input: [kind][geometry][payload...]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include <ipc/abi.hpp>
#include <ipc/client.hpp>
#include <ipc/layout.hpp>
#include <ipc/server.hpp>

namespace {

namespace abi = keel::ipc::abi;
using keel::ipc::Client;
using keel::ipc::Error;
using keel::ipc::Server;

constexpr std::uint16_t kOpLimit = abi::kFirstServiceOp + 4;
constexpr std::uint16_t kNone = 0xFFFF;

[[noreturn]] void wrong(const char* what) {
    std::fprintf(stderr, "abi_decode: %s\n", what);
    std::abort();
}

template <class T>
T field(const std::uint8_t* p, std::size_t offset) {
    T v;
    std::memcpy(&v, p + offset, sizeof v);
    return v;
}

struct Queue {
    keel::ipc::Geometry g;
    keel::ipc::Layout layout;
    std::byte* region;
    std::vector<std::uint64_t> cstore, sstore;
    Client client;
    Server server;
    std::uint32_t first;

    Queue(std::uint8_t sel) {
        g.capacity = 1u << (sel % 5);
        g.buffer_count = (sel >> 3) % 5;
        g.buffer_size = g.buffer_count ? 64 : 0;
        first = sel & 0x80 ? 0xFFFF'FFFEu : 0;
        layout = keel::ipc::Layout::compute(g).value();
        region = static_cast<std::byte*>(
            std::aligned_alloc(4096, (layout.total_size + 4095) & ~4095ull));
        std::memset(region, 0, layout.total_size);
        cstore.resize(Client::private_size(g) / 8 + 1);
        sstore.resize(Server::private_size(g) / 8 + 1);
        if (!client.create(shared(), std::as_writable_bytes(std::span(cstore)), g, first))
            wrong("create failed");
    }
    ~Queue() { std::free(region); }
    std::span<std::byte> shared() { return {region, std::size_t(layout.total_size)}; }
    bool attach() {
        return bool(
            server.attach(shared(), std::as_writable_bytes(std::span(sstore)), g, kOpLimit));
    }
    std::atomic<std::uint32_t>& counter(bool sq, bool tail) {
        auto* r = reinterpret_cast<abi::RingHeader*>(region + (sq ? 64 : 192));
        return tail ? r->tail.value : r->head.value;
    }
};

void header_case(Queue& q, const std::uint8_t* p, std::size_t n) {
    std::uint8_t h[56];
    std::memcpy(h, q.region, sizeof h);
    std::memcpy(h, p, n < 40 ? n : 40);  // the two state words stay the endpoints'
    std::memcpy(q.region, h, 40);
    bool expect = field<std::uint32_t>(h, 0) == 0x4c45454b && field<std::uint16_t>(h, 4) == 1 &&
                  field<std::uint16_t>(h, 6) == 56 && field<std::uint32_t>(h, 8) == q.g.capacity &&
                  field<std::uint32_t>(h, 12) == q.g.buffer_count &&
                  field<std::uint32_t>(h, 16) == q.g.buffer_size &&
                  field<std::uint32_t>(h, 20) == q.layout.sq_entries &&
                  field<std::uint32_t>(h, 24) == q.layout.cq_entries &&
                  field<std::uint32_t>(h, 28) == q.layout.buffers &&
                  field<std::uint64_t>(h, 32) == q.layout.total_size;
    if (q.attach() != expect)
        wrong(expect ? "attach refused a matching header" : "attach accepted a bad header");
}

void submission_case(Queue& q, const std::uint8_t* p, std::size_t n) {
    if (!q.attach())
        wrong("attach failed");
    std::uint32_t count = std::uint32_t(n / 64 < q.g.capacity ? n / 64 : q.g.capacity);
    auto* sq = reinterpret_cast<std::uint8_t*>(q.region + q.layout.sq_entries);
    for (std::uint32_t i = 0; i < count; ++i)
        std::memcpy(sq + ((q.first + i) & (q.g.capacity - 1)) * 64, p + 64 * i, 64);
    q.counter(true, true).store(q.first + count);

    // The oracle: the completions and queued operations these entries must produce.
    struct Out {
        std::uint32_t tag;
        std::uint16_t status, buffer;
    };
    std::vector<Out> posted;
    // Queued entries in arrival order, each with the server record it occupies: a repeated
    // target tag resolves to the lowest-numbered record (server.cpp, accept_cancel). Records
    // come from a stack that hands out 0, 1, 2, ... and takes freed ones back on top.
    struct Queued {
        const std::uint8_t* e;
        std::uint32_t record;
    };
    std::vector<Queued> queued;
    std::vector<std::uint32_t> free_records;
    for (std::uint32_t r = q.g.capacity; r-- > 0;)
        free_records.push_back(r);
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint8_t* e = p + 64 * i;
        std::uint32_t tag = field<std::uint32_t>(e, 8);
        std::uint16_t opcode = field<std::uint16_t>(e, 12), buffer = field<std::uint16_t>(e, 14);
        std::uint32_t length = field<std::uint32_t>(e, 20);
        std::uint64_t target = field<std::uint64_t>(e, 32);
        bool held = false;
        for (const auto& x : queued)
            held |= buffer != kNone && field<std::uint16_t>(x.e, 14) == buffer;
        bool buffer_ok = buffer == kNone || (buffer < q.g.buffer_count && !held);
        std::uint16_t back = buffer_ok ? buffer : kNone;
        if (opcode == 1) {
            if (buffer != kNone) {
                posted.push_back({tag, 5, back});
                continue;
            }
            auto found = queued.end();
            for (auto it = queued.begin(); it != queued.end(); ++it) {
                if (target <= 0xFFFF'FFFFu && field<std::uint32_t>(it->e, 8) == target &&
                    (found == queued.end() || it->record < found->record))
                    found = it;
            }
            if (found == queued.end()) {
                posted.push_back({tag, 3, kNone});
            } else {
                posted.push_back(
                    {field<std::uint32_t>(found->e, 8), 1, field<std::uint16_t>(found->e, 14)});
                posted.push_back({tag, 0, kNone});
                free_records.push_back(found->record);
                queued.erase(found);
            }
            continue;
        }
        bool length_ok = buffer == kNone ? length == 0 : length <= q.g.buffer_size;
        if (!buffer_ok || !length_ok)
            posted.push_back({tag, 5, back});
        else if (opcode == 0)
            posted.push_back({tag, 0, back});
        else if (opcode < 16 || opcode >= kOpLimit)
            posted.push_back({tag, 5, back});
        else {
            queued.push_back({e, free_records.back()});
            free_records.pop_back();
        }
    }

    auto r = q.server.poll();
    if (!r || r.value() != count)
        wrong("poll did not drain every published submission");
    if (q.counter(false, true).load() != std::uint32_t(q.first + posted.size()))
        wrong("the number of completions posted differs from the oracle's");
    auto* cq = reinterpret_cast<const std::uint8_t*>(q.region + q.layout.cq_entries);
    for (std::size_t i = 0; i < posted.size(); ++i) {
        const std::uint8_t* c = cq + ((q.first + i) & (q.g.capacity - 1)) * 16;
        if (field<std::uint32_t>(c, 0) != posted[i].tag ||
            field<std::uint16_t>(c, 4) != posted[i].status ||
            field<std::uint16_t>(c, 6) != posted[i].buffer)
            wrong("a completion differs from the oracle's (tag, status or buffer)");
    }
    if (q.server.queued() != queued.size())
        wrong("queued count differs");
    for (const auto& x : queued) {
        auto op = q.server.take();
        if (!op || std::memcmp(&op->request, x.e, 64) != 0)
            wrong("take did not hand out an exact copy of the oldest queued submission");
    }
}

void completion_case(Queue& q, const std::uint8_t* p, std::size_t n) {
    if (n < 1)
        return;
    // Live operations: some with buffers, some Cancels.
    struct Live {
        std::uint16_t buffer;
        bool cancel;
    };
    std::map<std::uint32_t, Live> live;
    std::uint32_t ops = 1 + p[0] % q.g.capacity;
    ++p;
    --n;
    for (std::uint32_t i = 0; i < ops; ++i) {
        keel::ipc::Request req;
        req.opcode = 16;
        if (i % 3 == 2) {
            auto t = q.client.cancel(i, abi::kNoTag);
            live[t.value()] = {kNone, true};
            continue;
        }
        auto b = q.client.acquire();
        if (b) {
            std::uint16_t id = b->id();
            auto t = q.client.submit(req, std::move(b.value()));
            live[t.value()] = {id, false};
        } else {
            auto t = q.client.submit(req);
            live[t.value()] = {kNone, false};
        }
    }
    q.client.publish();
    std::uint32_t count = std::uint32_t(n / 16 < q.g.capacity ? n / 16 : q.g.capacity);
    auto* cq = reinterpret_cast<std::uint8_t*>(q.region + q.layout.cq_entries);
    for (std::uint32_t i = 0; i < count; ++i)
        std::memcpy(cq + ((q.first + i) & (q.g.capacity - 1)) * 16, p + 16 * i, 16);
    q.counter(false, true).store(q.first + count);

    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint8_t* c = p + 16 * i;
        std::uint32_t tag = field<std::uint32_t>(c, 0);
        std::uint16_t status = field<std::uint16_t>(c, 4), buffer = field<std::uint16_t>(c, 6);
        auto it = live.find(tag);
        bool ok = it != live.end() && it->second.buffer == buffer &&
                  (it->second.cancel || (status != 2 && status != 3));
        auto outstanding = q.client.outstanding();
        auto r = q.client.reap();
        if (!ok) {
            if (r || r.error() != Error::ProtocolViolation)
                wrong("reap accepted an impossible completion");
            if (q.client.outstanding() != outstanding)
                wrong("a refused completion changed the client");
            return;
        }
        if (!r)
            wrong("reap refused a valid completion");
        std::uint16_t got = r->buffer.valid() ? r->buffer.id() : kNone;
        if (r->tag != tag || r->status != status || got != buffer ||
            r->value != field<std::uint64_t>(c, 8) || r->is_cancel != it->second.cancel)
            wrong("reap decoded the completion wrongly");
        live.erase(it);
    }
    auto r = q.client.reap();
    if (r || r.error() != Error::Empty)
        wrong("reap past the published tail did not return Empty");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    Queue q(data[1]);
    switch (data[0] % 3) {
        case 0:
            header_case(q, data + 2, size - 2);
            break;
        case 1:
            submission_case(q, data + 2, size - 2);
            break;
        default:
            completion_case(q, data + 2, size - 2);
            break;
    }
    return 0;
}
