// Test harness for ipc/: one queue (shared region + both sides' private storage) in this
// process, raw access to the shared region so tests can play a hostile peer, and snapshots of
// each side's observable state so a test can assert that a failed call changed nothing.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <ostream>
#include <span>
#include <vector>

#include <ipc/abi.hpp>
#include <ipc/client.hpp>
#include <ipc/layout.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>
#include <ipc/server.hpp>

namespace keel::ipc::test {

// The first service opcode and the server's limit used throughout: [kOp, kOpLimit) is valid.
inline constexpr std::uint16_t kOp = abi::kFirstServiceOp;
inline constexpr std::uint16_t kOpLimit = abi::kFirstServiceOp + 4;

// Page-aligned heap bytes, filled with a garbage pattern so that nothing can rely on the
// memory starting zeroed (a real transport hands out whatever the pages held).
class AlignedBytes {
  public:
    explicit AlignedBytes(std::size_t size, std::byte fill = std::byte{0xA5})
        : size_(size), data_(static_cast<std::byte*>(::operator new(size_ ? size_ : 1, kAlign))) {
        std::memset(data_, int(fill), size_);
    }
    ~AlignedBytes() { ::operator delete(data_, kAlign); }
    AlignedBytes(const AlignedBytes&) = delete;
    AlignedBytes& operator=(const AlignedBytes&) = delete;

    std::span<std::byte> span() { return {data_, size_}; }
    std::byte* data() { return data_; }
    std::size_t size() const { return size_; }

  private:
    static constexpr std::align_val_t kAlign{4096};
    std::size_t size_;
    std::byte* data_;
};

inline Geometry geometry(std::uint32_t capacity, std::uint32_t buffers = 4,
                         std::uint32_t buffer_size = 64) {
    return Geometry{capacity, buffers, buffer_size};
}

inline std::uint64_t region_size(const Geometry& g) {
    auto l = Layout::compute(g);
    return l ? l->total_size : 0;
}

// A queue with both endpoints. The constructor creates (client) and attaches (server); check
// ready() with ASSERT_TRUE before using it.
class Queue {
  public:
    explicit Queue(const Geometry& g, std::uint32_t first_index = 0,
                   std::uint16_t op_limit = kOpLimit)
        : geometry_(g),
          shared_(region_size(g)),
          client_storage_(Client::private_size(g)),
          server_storage_(Server::private_size(g)) {
        created_ = client.create(shared_.span(), client_storage_.span(), g, first_index).ok();
        attached_ =
            created_ && server.attach(shared_.span(), server_storage_.span(), g, op_limit).ok();
    }
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    bool ready() const { return created_ && attached_; }
    const Geometry& geometry() const { return geometry_; }
    std::span<std::byte> region() { return shared_.span(); }

    abi::QueueHeader& header() { return *reinterpret_cast<abi::QueueHeader*>(shared_.data()); }
    abi::RingHeader& sq() {
        return *reinterpret_cast<abi::RingHeader*>(shared_.data() + abi::kSqHeaderOffset);
    }
    abi::RingHeader& cq() {
        return *reinterpret_cast<abi::RingHeader*>(shared_.data() + abi::kCqHeaderOffset);
    }
    std::atomic<std::uint32_t>& sq_head() { return sq().head.value; }
    std::atomic<std::uint32_t>& sq_tail() { return sq().tail.value; }
    std::atomic<std::uint32_t>& cq_head() { return cq().head.value; }
    std::atomic<std::uint32_t>& cq_tail() { return cq().tail.value; }

    // The ring entry a free-running index lands in.
    abi::Submission& sq_entry(std::uint32_t index) {
        auto l = Layout::compute(geometry_);
        auto* base = reinterpret_cast<abi::Submission*>(shared_.data() + l->sq_entries);
        return base[index & (geometry_.capacity - 1)];
    }
    abi::Completion& cq_entry(std::uint32_t index) {
        auto l = Layout::compute(geometry_);
        auto* base = reinterpret_cast<abi::Completion*>(shared_.data() + l->cq_entries);
        return base[index & (geometry_.capacity - 1)];
    }

    // Hostile client: writes a submission at the shared tail and publishes it.
    void raw_submit(const abi::Submission& e) {
        std::uint32_t t = sq_tail().load();
        sq_entry(t) = e;
        sq_tail().store(t + 1, std::memory_order_release);
    }
    // Hostile server: writes a completion at the shared tail and publishes it.
    void raw_complete(const abi::Completion& c) {
        std::uint32_t t = cq_tail().load();
        cq_entry(t) = c;
        cq_tail().store(t + 1, std::memory_order_release);
    }

    Client client;
    Server server;

  private:
    Geometry geometry_;
    AlignedBytes shared_;
    AlignedBytes client_storage_;
    AlignedBytes server_storage_;
    bool created_ = false;
    bool attached_ = false;
};

// Everything a caller of Client can observe, plus the counters it writes into shared memory.
struct ClientState {
    std::uint32_t outstanding;
    std::uint32_t credit;
    std::uint32_t pooled;
    std::uint32_t sq_tail;
    std::uint32_t cq_head;
    bool torn_down;
    std::vector<std::uint32_t> buffer_states;
    std::uint32_t shared_sq_tail;
    std::uint32_t shared_cq_head;
    bool operator==(const ClientState&) const = default;
};

inline ClientState snapshot(Queue& q) {
    const Client& c = q.client;
    ClientState s{c.outstanding(), c.credit(), c.pooled_buffers(), c.sq_tail(),       c.cq_head(),
                  c.torn_down(),   {},         q.sq_tail().load(), q.cq_head().load()};
    for (std::uint32_t id = 0; id < c.buffer_count(); ++id) {
        s.buffer_states.push_back(c.buffer_state(std::uint16_t(id)));
    }
    return s;
}

inline void PrintTo(const ClientState& s, std::ostream* os) {
    *os << "{outstanding=" << s.outstanding << " credit=" << s.credit << " pooled=" << s.pooled
        << " sq_tail=" << s.sq_tail << " cq_head=" << s.cq_head << " torn_down=" << s.torn_down
        << " shared_sq_tail=" << s.shared_sq_tail << " shared_cq_head=" << s.shared_cq_head
        << " buffers=[";
    for (auto b : s.buffer_states)
        *os << b << ' ';
    *os << "]}";
}

// Everything a caller of Server can observe, plus the counters it writes into shared memory.
struct ServerState {
    std::uint32_t capacity;
    std::uint32_t live;
    std::uint32_t queued;
    std::uint32_t taken;
    std::uint32_t sq_head;
    std::uint32_t cq_tail;
    std::vector<std::uint32_t> held;
    std::uint32_t shared_sq_head;
    std::uint32_t shared_cq_tail;
    std::uint32_t shared_server_state;
    bool operator==(const ServerState&) const = default;
};

inline ServerState snapshot_server(Queue& q) {
    const Server& s = q.server;
    ServerState out{s.capacity(),
                    s.live(),
                    s.queued(),
                    s.taken(),
                    s.sq_head(),
                    s.cq_tail(),
                    {},
                    q.sq_head().load(),
                    q.cq_tail().load(),
                    q.header().server_state.load()};
    for (std::uint32_t id = 0; id < q.geometry().buffer_count; ++id) {
        out.held.push_back(s.buffer_held(std::uint16_t(id)));
    }
    return out;
}

inline void PrintTo(const ServerState& s, std::ostream* os) {
    *os << "{capacity=" << s.capacity << " live=" << s.live << " queued=" << s.queued
        << " taken=" << s.taken << " sq_head=" << s.sq_head << " cq_tail=" << s.cq_tail
        << " shared_sq_head=" << s.shared_sq_head << " shared_cq_tail=" << s.shared_cq_tail
        << " server_state=" << s.shared_server_state << " held=[";
    for (auto h : s.held)
        *os << h << ' ';
    *os << "]}";
}

inline Request op_request(std::uint64_t user_data, std::uint32_t length = 0,
                          std::uint16_t opcode = kOp) {
    Request r;
    r.user_data = user_data;
    r.opcode = opcode;
    r.length = length;
    r.args[0] = user_data;
    return r;
}

// A well-formed submission as a client would write it, for hostile-client tests.
inline abi::Submission raw_submission(std::uint32_t tag, std::uint16_t opcode = kOp,
                                      std::uint16_t buffer = abi::kNoBuffer,
                                      std::uint32_t length = 0) {
    abi::Submission e{};
    e.user_data = tag;
    e.tag = tag;
    e.opcode = opcode;
    e.buffer = buffer;
    e.length = length;
    return e;
}

// Reaps until Empty; any other error fails the test.
inline std::vector<Reaped> reap_all(Client& c) {
    std::vector<Reaped> out;
    for (;;) {
        auto r = c.reap();
        if (!r) {
            EXPECT_EQ(r.error(), Error::Empty) << error_name(r.error());
            return out;
        }
        out.push_back(std::move(r).value());
    }
}

// Takes every queued operation, in order.
inline std::vector<Operation> take_all(Server& s) {
    std::vector<Operation> out;
    for (;;) {
        auto op = s.take();
        if (!op) {
            EXPECT_EQ(op.error(), Error::Empty) << error_name(op.error());
            return out;
        }
        out.push_back(*op);
    }
}

inline std::uint32_t tag_of(std::uint32_t slot, std::uint32_t gen) {
    return rules::tag_make<std::uint32_t>(slot, gen);
}

}  // namespace keel::ipc::test
