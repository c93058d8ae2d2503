// The refinement check (include/spec/refinement.hpp): the abstraction function from a real
// Client's and Server's private state to the model's State, the representation invariant of
// their private structures, and the search that loads every model state it reaches into the
// real objects and compares each public call with the model's step.
#include <spec/refinement.hpp>

#include <algorithm>
#include <deque>
#include <new>
#include <set>
#include <sstream>

#include <ipc/client.hpp>
#include <ipc/rules.hpp>
#include <ipc/server.hpp>
#include <spec/model.hpp>
#include <spec/trace.hpp>

#include "aligned_bytes.hpp"

namespace keel::spec {

namespace R = keel::ipc::rules;
using E = keel::ipc::Error;
using U32 = std::uint32_t;

namespace {

constexpr U32 kNoBuf = ipc::abi::kNoBuffer;
constexpr std::uint16_t kServiceOp = ipc::abi::kFirstServiceOp;
constexpr std::uint16_t kCancelOp = std::uint16_t(ipc::abi::Op::Cancel);
constexpr std::uint16_t kNopOp = std::uint16_t(ipc::abi::Op::Nop);

}  // namespace

// The model's State with every field a number.
struct Plain {
#define KEEL_P_S(n) std::uint64_t n = 0;
#define KEEL_P_A(n) std::vector<std::uint64_t> n;
    KEEL_SPEC_SCALARS(KEEL_P_S)
    KEEL_SPEC_ARRAYS(KEEL_P_A)
#undef KEEL_P_S
#undef KEEL_P_A
    std::vector<std::uint64_t> key() const {
        std::vector<std::uint64_t> k;
#define KEEL_P_S(n) k.push_back(n);
#define KEEL_P_A(n) k.insert(k.end(), n.begin(), n.end());
        KEEL_SPEC_SCALARS(KEEL_P_S)
        KEEL_SPEC_ARRAYS(KEEL_P_A)
#undef KEEL_P_S
#undef KEEL_P_A
        return k;
    }
    std::vector<std::string> names() const {
        std::vector<std::string> k;
#define KEEL_P_S(n) k.push_back(#n);
#define KEEL_P_A(n)                            \
    for (std::size_t i = 0; i < n.size(); ++i) \
        k.push_back(#n "[" + std::to_string(i) + "]");
        KEEL_SPEC_SCALARS(KEEL_P_S)
        KEEL_SPEC_ARRAYS(KEEL_P_A)
#undef KEEL_P_S
#undef KEEL_P_A
        return k;
    }
    std::size_t count(const std::vector<std::uint64_t>& v, std::uint64_t x) const {
        return std::size_t(std::count(v.begin(), v.end(), x));
    }
};

// How the private structures the model does not order are laid out when a state is loaded:
// the free-slot, pool and free-record stacks (lowest on top, or highest), the FIFO of queued
// records (by record number, or reversed) and the FIFO's free-running start.
struct Layout {
    bool stacks_reversed = false;
    bool fifo_reversed = false;
    U32 fifo_base = 0;
};

}  // namespace keel::spec

namespace keel::ipc::testing {

namespace R = keel::ipc::rules;

// The test-only accessor the ipc headers befriend: loads a model state into the private
// members, reads it back (the abstraction function) and checks the representation invariant.
struct StateAccess {
    using Plain = spec::Plain;
    using U32 = std::uint32_t;
    static constexpr U32 kNoBuf = abi::kNoBuffer;
    static constexpr std::uint16_t kServiceOp = abi::kFirstServiceOp;

    static std::uint64_t user_data_of(U32 slot) { return 100 + slot / 2; }

    static std::vector<U32> with(const std::vector<std::uint64_t>& v, std::uint64_t x, bool rev) {
        std::vector<U32> r;
        for (U32 i = 0; i < v.size(); ++i) {
            if (v[i] == x)
                r.push_back(i);
        }
        // A stack's top is its last element: lowest first out unless reversed.
        if (!rev)
            std::reverse(r.begin(), r.end());
        return r;
    }

    static void load(Client& c, Server& s, const Plain& p, const spec::Layout& l) {
        const U32 cap = c.capacity_, bufs = c.buffer_count_;
        c.mode_ = p.cmode == spec::kCOpen       ? Client::Mode::Open
                  : p.cmode == spec::kCPeerGone ? Client::Mode::PeerGone
                                                : Client::Mode::Closed;
        c.sq_tail_ = U32(p.sq_tail);
        c.sq_head_seen_ = U32(p.sq_head_seen);
        c.cq_head_ = U32(p.cq_head);
        c.cq_tail_seen_ = U32(p.cq_tail_seen);
        c.cq_drain_limit_ = U32(p.drain_limit);
        c.cq_drained_ = p.drained != 0;
        c.leftover_cursor_ = U32(p.cursor);
        c.outstanding_ = U32(p.outstanding);
        set_prepared(c, U32(p.sq_tail) - 1);  // no entry prepared at the tail
        for (U32 i = 0; i < cap; ++i) {
            c.slots_[i] = Client::Slot{user_data_of(i),
                                       std::uint16_t(p.c_gen[i]),
                                       std::uint16_t(p.c_buf[i]),
                                       std::uint8_t(p.c_state[i]),
                                       std::uint8_t(p.c_cancel[i]),
                                       {0, 0}};
        }
        auto fs = with(p.c_state, R::kSlotFree, l.stacks_reversed);
        for (U32 k = 0; k < fs.size(); ++k)
            c.free_slots_[k] = std::uint16_t(fs[k]);
        c.free_top_ = U32(fs.size());
        for (U32 b = 0; b < bufs; ++b)
            c.buf_state_[b] = std::uint8_t(p.bstate[b]);
        auto pool = with(p.bstate, R::kBufPooled, l.stacks_reversed);
        for (U32 k = 0; k < pool.size(); ++k)
            c.pool_[k] = std::uint16_t(pool[k]);
        c.pool_top_ = U32(pool.size());

        s.mode_ = p.smode == spec::kSOpen         ? Server::Mode::Open
                  : p.smode == spec::kSClientGone ? Server::Mode::ClientGone
                                                  : Server::Mode::Closed;
        s.sq_head_ = U32(p.sq_head);
        s.sq_tail_seen_ = U32(p.sq_tail_seen);
        s.cq_tail_ = U32(p.cq_tail);
        s.cq_head_seen_ = U32(p.cq_head_seen);
        s.cq_published_ = U32(p.cq_published);
        s.ops_live_ = U32(p.ops_live);
        s.queued_ = U32(p.count(p.op_state, R::kOpQueued));
        s.taken_ = U32(p.count(p.op_state, R::kOpTaken));
        for (U32 i = 0; i < cap; ++i) {
            Server::OpRecord& r = s.ops_[i];
            r = Server::OpRecord{};
            r.request.user_data = 0x5000 + i;
            r.request.tag = U32(p.op_tag[i]);
            r.request.opcode = kServiceOp;
            r.request.buffer = std::uint16_t(p.op_buf[i]);
            // The model keeps no length: a lent buffer's whole size (bytes() views it).
            r.request.length = p.op_buf[i] != kNoBuf ? s.buffer_size_ : 0;
            r.gen = std::uint16_t(p.op_gen[i]);
            r.state = std::uint8_t(p.op_state[i]);
            r.cancel_flag = std::uint8_t(p.op_flag[i]);
        }
        auto fr = with(p.op_state, R::kOpFree, l.stacks_reversed);
        for (U32 k = 0; k < fr.size(); ++k)
            s.free_ops_[k] = std::uint16_t(fr[k]);
        s.free_top_ = U32(fr.size());
        auto q = with(p.op_state, R::kOpQueued, !l.fifo_reversed);  // oldest first
        s.fifo_head_ = l.fifo_base;
        s.fifo_tail_ = l.fifo_base + U32(q.size());
        for (U32 k = 0; k < q.size(); ++k)
            s.fifo_[R::ring_slot<U32>(l.fifo_base + k, cap)] = std::uint16_t(q[k]);
        for (U32 b = 0; b < bufs; ++b)
            s.held_[b] = std::uint8_t(p.held[b]);

        const QueueView& v = c.view_;
        v.header->client_state.store(p.client_closed ? abi::kEndpointClosed : abi::kEndpointOpen);
        v.header->server_state.store(p.server_closed ? abi::kEndpointClosed : abi::kEndpointOpen);
        v.sq->head.value.store(U32(p.sq_head_pub));
        v.sq->tail.value.store(U32(p.sq_tail_pub));
        v.cq->head.value.store(U32(p.cq_head_pub));
        v.cq->tail.value.store(U32(p.cq_tail_pub));
        for (U32 j = 0; j < cap; ++j) {
            abi::Submission& e = v.sq_entries[j];
            e = abi::Submission{};
            e.tag = U32(p.sq_tag[j]);
            e.opcode = std::uint16_t(p.sq_opcode[j]);
            e.buffer = std::uint16_t(p.sq_buffer[j]);
            e.length = U32(p.sq_length[j]);
            e.args[0] = p.sq_target[j] | (p.sq_target_hi[j] != 0 ? std::uint64_t(1) << 32 : 0);
            v.cq_entries[j] = abi::Completion{U32(p.cq_tag[j]), std::uint16_t(p.cq_status[j]),
                                              std::uint16_t(p.cq_buffer[j]), 0};
        }
    }

    // The abstraction function: the model state the real pair is in.
    static Plain abstract(const Client& c, const Server& s, const Plain& shape) {
        Plain p = shape;
        const U32 cap = c.capacity_, bufs = c.buffer_count_;
        auto cm = [](Client::Mode m) -> std::uint64_t {
            switch (m) {
                case Client::Mode::Open:
                    return spec::kCOpen;
                case Client::Mode::PeerGone:
                    return spec::kCPeerGone;
                case Client::Mode::Closed:
                    return spec::kCClosed;
                default:
                    return 9;  // Unset: no model state
            }
        };
        auto sm = [](Server::Mode m) -> std::uint64_t {
            switch (m) {
                case Server::Mode::Open:
                    return spec::kSOpen;
                case Server::Mode::ClientGone:
                    return spec::kSClientGone;
                case Server::Mode::Closed:
                    return spec::kSClosed;
                default:
                    return 9;
            }
        };
        p.cmode = cm(c.mode_);
        p.sq_tail = c.sq_tail_;
        p.sq_head_seen = c.sq_head_seen_;
        p.cq_head = c.cq_head_;
        p.cq_tail_seen = c.cq_tail_seen_;
        p.drain_limit = c.cq_drain_limit_;
        p.drained = c.cq_drained_ ? 1 : 0;
        p.cursor = c.leftover_cursor_;
        p.outstanding = c.outstanding_;
        for (U32 i = 0; i < cap; ++i) {
            const Client::Slot& sl = c.slots_[i];
            p.c_state[i] = sl.state;
            p.c_gen[i] = sl.gen;
            p.c_buf[i] = sl.buffer;
            p.c_cancel[i] = sl.is_cancel;
        }
        for (U32 b = 0; b < bufs; ++b) {
            p.bstate[b] = c.buf_state_[b];
            p.held[b] = s.held_[b];
        }
        p.smode = sm(s.mode_);
        p.sq_head = s.sq_head_;
        p.sq_tail_seen = s.sq_tail_seen_;
        p.cq_tail = s.cq_tail_;
        p.cq_head_seen = s.cq_head_seen_;
        p.cq_published = s.cq_published_;
        p.ops_live = s.ops_live_;
        for (U32 i = 0; i < cap; ++i) {
            const Server::OpRecord& r = s.ops_[i];
            p.op_state[i] = r.state;
            p.op_tag[i] = r.request.tag;
            p.op_buf[i] = r.request.buffer;
            p.op_flag[i] = r.cancel_flag;
            p.op_gen[i] = r.gen;
        }
        const QueueView& v = c.view_;
        p.client_closed = v.header->client_state.load() == abi::kEndpointClosed ? 1 : 0;
        p.server_closed = v.header->server_state.load() == abi::kEndpointClosed ? 1 : 0;
        p.sq_head_pub = v.sq->head.value.load();
        p.sq_tail_pub = v.sq->tail.value.load();
        p.cq_head_pub = v.cq->head.value.load();
        p.cq_tail_pub = v.cq->tail.value.load();
        for (U32 j = 0; j < cap; ++j) {
            const abi::Submission& e = v.sq_entries[j];
            p.sq_tag[j] = e.tag;
            p.sq_opcode[j] = e.opcode;
            p.sq_buffer[j] = e.buffer;
            p.sq_length[j] = e.length;
            p.sq_target[j] = U32(e.args[0]);
            p.sq_target_hi[j] = (e.args[0] >> 32) != 0 ? 1 : 0;
            const abi::Completion& k = v.cq_entries[j];
            p.cq_tag[j] = k.tag;
            p.cq_status[j] = k.status;
            p.cq_buffer[j] = k.buffer;
        }
        return p;
    }

    // The representation invariant of the private structures the model does not have: the
    // stacks hold exactly the free (pooled) items, once each; the FIFO holds exactly the
    // queued records, once each; the counters count what they name; the modes are set.
    static std::string rep_invariant(const Client& c, const Server& s) {
        std::ostringstream o;
        const U32 cap = c.capacity_, bufs = c.buffer_count_;
        auto bad = [&](const std::string& what) {
            o << "  representation invariant: " << what << "\n";
        };
        if (c.mode_ == Client::Mode::Unset)
            bad("client mode Unset");
        // Free-slot stack = the free slots, each once.
        std::vector<int> seen(cap, 0);
        U32 free_slots = 0, live = 0;
        if (c.free_top_ > cap) {
            bad("client free_top " + std::to_string(c.free_top_) + " > capacity");
        } else {
            for (U32 k = 0; k < c.free_top_; ++k) {
                U32 sl = c.free_slots_[k];
                if (sl >= cap || seen[sl]++ != 0 || c.slots_[sl].state != R::kSlotFree)
                    bad("client free_slots[" + std::to_string(k) + "] = " + std::to_string(sl) +
                        " is not a free slot listed once");
            }
        }
        std::vector<int> lent_by(bufs, 0);
        for (U32 i = 0; i < cap; ++i) {
            const Client::Slot& sl = c.slots_[i];
            if (sl.state == R::kSlotFree) {
                ++free_slots;
                if (sl.buffer != kNoBuf)
                    bad("client free slot " + std::to_string(i) + " keeps a buffer");
            } else if (sl.state == R::kSlotLive) {
                ++live;
                if (sl.buffer != kNoBuf) {
                    if (sl.buffer >= bufs || c.buf_state_[sl.buffer] != R::kBufLent || sl.is_cancel)
                        bad("client live slot " + std::to_string(i) +
                            "'s buffer is not lent by it");
                    else
                        ++lent_by[sl.buffer];
                }
            } else {
                bad("client slot " + std::to_string(i) + " state " + std::to_string(sl.state));
            }
            if (sl.is_cancel > 1)
                bad("client slot " + std::to_string(i) + " is_cancel not 0/1");
        }
        if (free_slots != c.free_top_)
            bad("client free_top " + std::to_string(c.free_top_) + " != free slots " +
                std::to_string(free_slots));
        if (live != c.outstanding_)
            bad("client outstanding " + std::to_string(c.outstanding_) + " != live slots " +
                std::to_string(live));
        // Pool = the pooled buffers, each once; each lent buffer lent by one slot.
        std::vector<int> pooled_seen(bufs, 0);
        U32 pooled = 0;
        if (c.pool_top_ > bufs) {
            bad("client pool_top > buffer count");
        } else {
            for (U32 k = 0; k < c.pool_top_; ++k) {
                U32 b = c.pool_[k];
                if (b >= bufs || pooled_seen[b]++ != 0 || c.buf_state_[b] != R::kBufPooled)
                    bad("client pool[" + std::to_string(k) + "] = " + std::to_string(b) +
                        " is not a pooled buffer listed once");
            }
        }
        for (U32 b = 0; b < bufs; ++b) {
            U32 st = c.buf_state_[b];
            if (st == R::kBufPooled)
                ++pooled;
            if (st > R::kBufLent)
                bad("client buffer " + std::to_string(b) + " state " + std::to_string(st));
            if (st == R::kBufLent && lent_by[b] != 1)
                bad("client buffer " + std::to_string(b) + " lent but not by exactly one slot");
        }
        if (pooled != c.pool_top_)
            bad("client pool_top != pooled buffers");
        if (c.mode_ == Client::Mode::Open && (c.leftover_cursor_ != 0 || c.cq_drained_))
            bad("client open but draining");
        if (c.leftover_cursor_ > cap)
            bad("client leftover cursor past capacity");

        if (s.mode_ == Server::Mode::Unset)
            bad("server mode Unset");
        std::vector<int> rseen(cap, 0);
        if (s.free_top_ > cap) {
            bad("server free_top > capacity");
        } else {
            for (U32 k = 0; k < s.free_top_; ++k) {
                U32 r = s.free_ops_[k];
                if (r >= cap || rseen[r]++ != 0 || s.ops_[r].state != R::kOpFree)
                    bad("server free_ops[" + std::to_string(k) + "] = " + std::to_string(r) +
                        " is not a free record listed once");
            }
        }
        U32 nfree = 0, nq = 0, nt = 0;
        std::vector<int> held_by(bufs, 0);
        for (U32 i = 0; i < cap; ++i) {
            const Server::OpRecord& r = s.ops_[i];
            if (r.state == R::kOpFree)
                ++nfree;
            else if (r.state == R::kOpQueued)
                ++nq;
            else if (r.state == R::kOpTaken)
                ++nt;
            else
                bad("server record " + std::to_string(i) + " state " + std::to_string(r.state));
            if (r.state != R::kOpFree && r.request.buffer != kNoBuf) {
                if (r.request.buffer >= bufs)
                    bad("server record " + std::to_string(i) + " holds an out-of-range buffer");
                else
                    ++held_by[r.request.buffer];
            }
            if (r.cancel_flag > 1 || (r.cancel_flag != 0 && r.state != R::kOpTaken))
                bad("server record " + std::to_string(i) + " cancel flag on a record not taken");
        }
        if (nfree != s.free_top_)
            bad("server free_top " + std::to_string(s.free_top_) + " != free records " +
                std::to_string(nfree));
        if (s.ops_live_ != nq + nt)
            bad("server ops_live " + std::to_string(s.ops_live_) + " != records in use " +
                std::to_string(nq + nt));
        if (s.queued_ != nq)
            bad("server queued " + std::to_string(s.queued_) + " != queued records " +
                std::to_string(nq));
        if (s.taken_ != nt)
            bad("server taken " + std::to_string(s.taken_) + " != taken records " +
                std::to_string(nt));
        U32 n = s.fifo_tail_ - s.fifo_head_;
        if (n != nq) {
            bad("server FIFO length " + std::to_string(n) + " != queued records " +
                std::to_string(nq));
        } else {
            std::vector<int> fseen(cap, 0);
            for (U32 k = 0; k < n; ++k) {
                U32 r = s.fifo_[R::ring_slot<U32>(s.fifo_head_ + k, cap)];
                if (r >= cap || fseen[r]++ != 0 || s.ops_[r].state != R::kOpQueued)
                    bad("server FIFO entry " + std::to_string(k) + " = " + std::to_string(r) +
                        " is not a queued record listed once");
            }
        }
        for (U32 b = 0; b < bufs; ++b) {
            if (s.held_[b] != (held_by[b] != 0 ? R::kHeldYes : R::kHeldNo) || held_by[b] > 1)
                bad("server held[" + std::to_string(b) + "] != held by exactly one live record");
        }
        return o.str();
    }

    // The tail of the last prepare() (in-place submission), where the client keeps one.
    template <class C>
    static void set_prepared(C& c, U32 tail) {
        if constexpr (requires { c.prepared_tail_; })
            c.prepared_tail_ = tail;
    }

    static Buffer buffer(Client* owner, std::uint16_t id) { return Buffer(owner, id); }
    static void forget(Buffer& b) { b.forget(); }
    static const QueueView& view(const Client& c) { return c.view_; }
    static U32 server_record_gen(const Server& s, U32 r) { return s.ops_[r].gen; }
};

}  // namespace keel::ipc::testing

namespace keel::spec {

namespace {

using SA = ipc::testing::StateAccess;

// One model step, every part a number.
struct MStep {
    Plain next;
    std::uint64_t err = 0, value = 0, r_tag = 0, r_status = 0, r_buffer = 0, r_cancel = 0;
    bool choice_ok = true, safe = true;
};

// What a real call returned.
struct RealOut {
    bool ok = true;
    std::uint64_t err = 0;
    std::uint64_t value = 0;
};
template <class T>
RealOut real_out(const ipc::Result<T>& r) {
    return RealOut{bool(r), r ? 0 : std::uint64_t(r.error()), 0};
}

std::string g_call;
const Plain* g_state = nullptr;

std::string num_text(std::uint64_t v) {
    return trace_number(v);
}

std::string describe(const Plain& p) {
    std::ostringstream o;
    auto names = p.names();
    auto key = p.key();
    for (std::size_t i = 0; i < names.size(); ++i)
        o << (i % 8 == 0 ? "\n    " : " ") << names[i] << "=" << num_text(key[i]);
    return o.str();
}

std::string err_text(std::uint64_t e) {
    return e == 0 ? "ok" : ipc::error_name(ipc::Error(e));
}

std::vector<U32> positions(const std::vector<std::uint64_t>& v, std::uint64_t x) {
    std::vector<U32> r;
    for (U32 i = 0; i < v.size(); ++i) {
        if (v[i] == x)
            r.push_back(i);
    }
    return r;
}

class Refiner {
  public:
    explicit Refiner(const RefineConfig& c)
        : cfg_(c),
          geometry_{c.capacity, c.buffer_count, c.buffer_size},
          layout_(ipc::Layout::compute(geometry_).value()),
          shared_(layout_.total_size),
          cstore_(ipc::Client::private_size(geometry_) + 8),
          sstore_(ipc::Server::private_size(geometry_) + 8),
          m_(ctx_, c.capacity, c.buffer_count),
          cur_state_(ctx_) {
        m_.bsize = m_.bv(c.buffer_size);
        m_.op_limit = m_.bv(c.op_limit);
        if (!client_.create(shared_.span(), cstore_.span(), geometry_, 0) ||
            !server_.attach(shared_.span(), sstore_.span(), geometry_, c.op_limit)) {
            fail_ = "refinement harness: create/attach failed for this geometry\n";
        }
        shape_ = initial(0, 0);
    }

    void run(RefineReport& rep) {
        // Breadth first from the first seed only (the budget); the other seeds start the
        // scenarios below.
        if (!cfg_.seeds.empty()) {
            Plain init = initial(cfg_.seeds[0].first, cfg_.seeds[0].second);
            seen_.insert(init.key());
            queue_.push_back({init, 0});
        }
        while (!queue_.empty() && fail_.empty()) {
            auto [p, d] = queue_.front();
            queue_.pop_front();
            if (states_ >= cfg_.max_states) {
                ++frontier_;
                continue;
            }
            depth_ = d;
            visit(p);
        }
        // The scenarios: each from one of the seeds in turn, every state on the way checked
        // (once), then the successor of the call named by the next step.
        depth_ = cfg_.depth;  // successors are not expanded further
        for (std::size_t i = 0; i < scenarios().size() && fail_.empty(); ++i) {
            auto [first, gen] = cfg_.seeds[i % cfg_.seeds.size()];
            Plain p = initial(first, gen);
            for (const char* step : scenarios()[i]) {
                if (!fail_.empty())
                    break;
                bool fresh = seen_.insert(p.key()).second || visited_.count(p.key()) == 0;
                if (fresh) {
                    visit(p);
                } else {
                    // Checked already: only its successors are wanted.
                    quiet_ = true;
                    succ_.clear();
                    cur_ = p;
                    cur_state_ = to_state(p);
                    lay_ = Layout{};
                    expanding_ = true;
                    client_calls(true);
                    server_calls(true);
                    quiet_ = false;
                }
                auto it = std::find_if(succ_.begin(), succ_.end(),
                                       [&](const auto& x) { return x.first.rfind(step, 0) == 0; });
                if (it == succ_.end()) {
                    ++scenario_stops_;
                    break;
                }
                p = it->second;
            }
            if (fail_.empty() && visited_.count(p.key()) == 0)
                visit(p);
        }
        rep.ok = fail_.empty();
        rep.message = fail_;
        rep.states = states_;
        rep.hostile_states = hostile_states_;
        rep.calls = calls_;
        rep.frontier = frontier_ + queue_.size();
        rep.scenario_stops = scenario_stops_;
    }

  private:
    // Paths through the model to states a breadth-first search of the budget does not reach
    // (several operations in flight, taken, cancelled, completed, torn down): each step
    // names the call (a prefix of its text) whose successor comes next.
    static const std::vector<std::vector<const char*>>& scenarios() {
        static const std::vector<std::vector<const char*>> s{
            {"Client::submit(opcode=0,", "Client::submit(opcode=0,", "Client::publish",
             "Server::poll", "Client::reap_batch(out[2])"},
            {"Client::acquire", "Client::submit(opcode=16, buffer=in hand", "Client::publish",
             "Server::poll", "Server::take()", "Server::complete(", "Server::publish",
             "Client::reap()"},
            {"Client::submit(opcode=16, buffer=none", "Client::submit(opcode=16, buffer=none",
             "Client::publish", "Server::poll", "Server::take_batch(handles[2])",
             "Server::complete_batch("},
            {"Client::submit(opcode=16, buffer=none", "Client::publish", "Server::poll",
             "Client::cancel(", "Client::publish", "Server::poll", "Server::publish",
             "Client::reap_batch(out[2])"},
            {"Client::submit(opcode=16, buffer=none", "Client::publish", "Server::poll",
             "Server::take()", "Client::cancel(", "Client::publish", "Server::poll",
             "Server::complete(", "Server::publish", "Client::reap()", "Client::reap()"},
            {"Client::cancel(", "Client::submit(opcode=16, buffer=none", "Client::publish",
             "Server::poll", "Server::take_batch(handles[2])"},
            {"Client::acquire", "Client::submit(opcode=16, buffer=in hand", "Client::publish",
             "Server::poll", "Server::client_gone", "Client::peer_gone", "Client::reap()"},
            {"Client::submit(opcode=16, buffer=none", "Client::publish", "Server::poll",
             "Server::take()", "Client::close", "Server::poll", "Server::client_gone",
             "Server::complete(", "Client::reap()"},
            {"Client::submit(opcode=0,", "Client::publish", "Server::poll", "Client::reap()",
             "Client::submit(opcode=0,", "Client::publish", "Server::poll", "Client::reap()",
             "Client::submit(opcode=16, buffer=none"},
        };
        return s;
    }

    // Checks one state the search reached, then the same state after each hostile write.
    void visit(const Plain& p) {
        visited_.insert(p.key());
        ++states_;
        succ_.clear();
        check_state(p, true);
        auto succ = std::move(succ_);
        if (cfg_.hostile) {
            auto hs = hostile(p);
            for (std::size_t i = 0; i < hs.size() && fail_.empty(); ++i) {
                auto& [what, h] = hs[i];
                hostile_reader_ = readers_[i];
                hostile_what_ = what;
                ++hostile_states_;
                check_state(h, false);
            }
            hostile_what_.clear();
        }
        succ_ = std::move(succ);
    }

    // ---------------------------------------------------------------- plumbing ----------
    Plain initial(U32 first, std::uint16_t gen) const {
        const U32 cap = cfg_.capacity, bufs = cfg_.buffer_count;
        Plain p;
        p.cmode = kCOpen;
        p.smode = kSOpen;
        p.sq_tail = p.sq_head_seen = p.cq_head = p.cq_tail_seen = p.drain_limit = first;
        p.sq_head = p.sq_tail_seen = p.cq_tail = p.cq_head_seen = p.cq_published = first;
        p.sq_head_pub = p.sq_tail_pub = p.cq_head_pub = p.cq_tail_pub = first;
        p.c_state.assign(cap, R::kSlotFree);
        p.c_gen.assign(cap, gen);
        p.c_buf.assign(cap, kNoBuf);
        p.c_cancel.assign(cap, 0);
        p.op_state.assign(cap, R::kOpFree);
        p.op_tag.assign(cap, 0);
        p.op_buf.assign(cap, kNoBuf);
        p.op_flag.assign(cap, 0);
        p.op_gen.assign(cap, gen);
        // Shared memory as Client::create leaves it: the entries zeroed.
        for (auto* a : {&p.sq_tag, &p.sq_opcode, &p.sq_buffer, &p.sq_length, &p.sq_target,
                        &p.sq_target_hi, &p.cq_tag, &p.cq_status, &p.cq_buffer})
            a->assign(cap, 0);
        p.bstate.assign(bufs, R::kBufPooled);
        p.held.assign(bufs, R::kHeldNo);
        return p;
    }

    expr bv(std::uint64_t v) const { return m_.bv(v); }

    State to_state(const Plain& p) const {
        State s(ctx_);
#define KEEL_R_S(n) s.n = m_.bv(p.n);
#define KEEL_R_A(n)    \
    for (auto v : p.n) \
        s.n.push_back(m_.bv(v));
        KEEL_SPEC_SCALARS(KEEL_R_S)
        KEEL_SPEC_ARRAYS(KEEL_R_A)
#undef KEEL_R_S
#undef KEEL_R_A
        return s;
    }

    static std::uint64_t num(const expr& v) {
        return Model::concrete(v);
    }

    MStep eval(const Out& o) const {
        std::vector<expr> es;
#define KEEL_R_S(n) es.push_back(o.next.n);
#define KEEL_R_A(n) es.insert(es.end(), o.next.n.begin(), o.next.n.end());
        KEEL_SPEC_SCALARS(KEEL_R_S)
        KEEL_SPEC_ARRAYS(KEEL_R_A)
#undef KEEL_R_S
#undef KEEL_R_A
        const std::size_t nf = es.size();
        for (const expr* e : {&o.err, &o.value, &o.r_tag, &o.r_status, &o.r_buffer, &o.r_cancel})
            es.push_back(*e);
        es.push_back(o.choice_ok && o.alloc_ok);
        es.push_back(o.safe);
        auto r = m_.simplify_all(es);
        MStep st;
        st.next = shape_;
        std::size_t i = 0;
#define KEEL_R_S(n) st.next.n = num(r[i++]);
#define KEEL_R_A(n)           \
    for (auto& v : st.next.n) \
        v = num(r[i++]);
        KEEL_SPEC_SCALARS(KEEL_R_S)
        KEEL_SPEC_ARRAYS(KEEL_R_A)
#undef KEEL_R_S
#undef KEEL_R_A
        (void)nf;
        st.err = num(r[i++]);
        st.value = num(r[i++]);
        st.r_tag = num(r[i++]);
        st.r_status = num(r[i++]);
        st.r_buffer = num(r[i++]);
        st.r_cancel = num(r[i++]);
        st.choice_ok = num(r[i++]) == 1;
        st.safe = num(r[i++]) == 1;
        return st;
    }

    bool truth(const expr& e) const {
        return num(m_.simplify_all({e})[0]) == 1;
    }

    // Loads the state under check into the real pair, with the given layout of what the
    // model does not order.
    void begin(const std::string& call) {
        g_call = call;
        g_state = &cur_;
        SA::load(client_, server_, cur_, lay_);
    }

    // The model's verdict on a call: same error, same result, a choice it allows, and no
    // assertion where it says none can fire.
    static void agree(std::string& why, const MStep& ms, const RealOut& r, bool check_value) {
        if (!ms.choice_ok)
            why +=
                "  the implementation's choice (buffer, slot or record) is not one the model "
                "allows\n";
        if (!ms.safe)
            why += "  the model says an assertion of the implementation fires here\n";
        std::uint64_t e = r.ok ? 0 : r.err;
        if (ms.err != e) {
            why += "  result: model " + err_text(ms.err) + ", implementation " + err_text(e) + "\n";
        } else if (e == 0 && check_value && ms.value != r.value) {
            why += "  result value: model " + num_text(ms.value) + ", implementation " +
                   num_text(r.value) + "\n";
        }
    }
    static void diff(std::string& why, const std::string& what, std::uint64_t model,
                     std::uint64_t impl) {
        if (model != impl)
            why += "  " + what + ": model " + num_text(model) + ", implementation " +
                   num_text(impl) + "\n";
    }

    // The real pair now abstracts to `want` and satisfies the representation invariant.
    void expect(std::string& why, const Plain& want) const {
        Plain got = SA::abstract(client_, server_, shape_);
        auto names = shape_.names();
        auto a = want.key(), b = got.key();
        for (std::size_t i = 0; i < a.size(); ++i)
            diff(why, "state afterwards, " + names[i], a[i], b[i]);
        why += SA::rep_invariant(client_, server_);
    }

    void finish(const std::string& why) {
        if (!quiet_)
            ++calls_;
        if (why.empty() || !fail_.empty())
            return;
        std::ostringstream o;
        o << "COUNTEREXAMPLE (refinement): " << g_call << " disagrees with the model (capacity "
          << cfg_.capacity << ", " << cfg_.buffer_count << " buffer(s), buffer size "
          << cfg_.buffer_size << ", op_limit " << cfg_.op_limit << ")\n"
          << "  from the model state" << (hostile_what_.empty() ? "" : " after " + hostile_what_)
          << " (layout: stacks " << (lay_.stacks_reversed ? "highest" : "lowest")
          << " on top, FIFO " << (lay_.fifo_reversed ? "reversed" : "by record") << " from "
          << num_text(lay_.fifo_base) << "):" << describe(cur_) << "\n"
          << why;
        fail_ = o.str();
    }

    void note(const Plain& next, bool expand) {
        if (expanding_ && lay_.fifo_base == 0)
            succ_.push_back({g_call, next});
        if (!expand || !expanding_ || depth_ + 1 > cfg_.depth)
            return;
        if (seen_.insert(next.key()).second)
            queue_.push_back({next, depth_ + 1});
    }

    bool done() const {
        return !fail_.empty();
    }

    // Free slots (records, buffers) in the order the loaded stack hands them out.
    std::vector<U32> pop_order(const std::vector<std::uint64_t>& v, std::uint64_t x) const {
        auto r = positions(v, x);
        if (lay_.stacks_reversed)
            std::reverse(r.begin(), r.end());
        return r;
    }

    U32 tag_of(const Plain& p, U32 slot) const {
        return R::tag_make<U32>(slot, U32(p.c_gen[slot]));
    }

    // ---------------------------------------------------------------- one state ---------
    void check_state(const Plain& p, bool canonical) {
        cur_ = p;
        cur_state_ = to_state(p);
        lay_ = Layout{};
        expanding_ = canonical;
        if (!canonical) {
            shared_calls(hostile_reader_);
            return;
        }
        client_calls(true);
        server_calls(true);
        const Plain& q = cur_;
        if (done() ||
            (q.count(q.c_state, R::kSlotFree) < 2 && q.count(q.bstate, R::kBufPooled) < 2 &&
             q.count(q.op_state, R::kOpFree) < 2 && q.count(q.op_state, R::kOpQueued) < 2))
            return;
        // The same state with the other layout of the private structures the model does not
        // order: the calls that pop or push a stack or use the FIFO.
        lay_ = Layout{true, true, 0xFFFF'FFFF};
        expanding_ = false;
        stack_calls();
    }

    // After a hostile write: the calls that read what it changed. reader 'c': the client
    // reads it (completion tail and entries, submission head); 's': the server (submission
    // tail and entries, the closed flag); 'h': the server's completion-head reads.
    void shared_calls(char reader) {
        if (reader == 'c') {
            reap();
            reap_batch(2);
            simple(
                "Client::peer_gone()", [&] { client_.peer_gone(); }, m_.peer_gone(cur_state_));
            simple(
                "Client::close()", [&] { client_.close(); }, m_.client_close(cur_state_));
            submit(kServiceOp, -1, 0, false);
            prepare_commit(kServiceOp, -1, 0, 0, false);
            return;
        }
        poll();
        if (reader != 'h')
            return;
        auto taken = taken_handles();
        using D = std::vector<std::pair<U32, std::uint16_t>>;
        const std::uint16_t ok = std::uint16_t(ipc::abi::Status::Ok);
        D all;
        for (U32 h : taken) {
            complete(h, ok, false);
            all.push_back({h, ok});
        }
        if (!all.empty())
            complete_batch(all, false);
        complete_batch(D{{R::op_handle<U32>(0, U32(cur_.op_gen[0]) + 1), ok}}, false);
    }

    void stack_calls() {
        acquire();
        submit(kServiceOp, -1, 0, false);
        submit_batch({{kServiceOp, 0}, {kServiceOp, 0}}, 2, false);
        reap();
        reap_batch(2);
        poll();
        take(0);
        take_batch(2);
        auto taken = taken_handles();
        if (!taken.empty())
            complete(taken[0], std::uint16_t(ipc::abi::Status::Ok), false);
        simple(
            "Server::client_gone()", [&] { server_.client_gone(); }, m_.client_gone(cur_state_));
    }

    // ---------------------------------------------------------------- client ------------
    void client_calls(bool full) {
        const Plain& p = cur_;
        const U32 bsize = cfg_.buffer_size;
        auto in_hand = positions(p.bstate, R::kBufInHand);
        if (full) {
            acquire();
            for (U32 b : in_hand)
                release(int(b));
            release(-2);  // another client's buffer
            release(-3);  // an empty handle
        } else {
            acquire();
        }
        // submit: (opcode, buffer, length); buffer -1 none, -2 another client's, -3 empty
        // handle, -4 this client's buffer not in hand, else the k-th buffer in hand.
        struct Sub {
            std::uint16_t opcode;
            int buf;
            U32 length;
            bool expand;
        };
        std::vector<Sub> subs{{kServiceOp, -1, 0, true}};
        if (!in_hand.empty())
            subs.push_back({kServiceOp, 0, bsize, true});
        if (full) {
            for (std::uint16_t op : {kNopOp, kCancelOp, std::uint16_t(cfg_.op_limit - 1),
                                     cfg_.op_limit, std::uint16_t(0xFFFF)})
                subs.push_back({op, -1, 0, op == kNopOp});
            for (U32 len : {1u, 0x7FFF'FFFFu, 0x8000'0000u, 0xFFFF'FFFFu})
                subs.push_back({kServiceOp, -1, len, false});
            if (!in_hand.empty()) {
                for (U32 len : {0u, 1u, bsize + 1, 0x8000'0000u, 0xFFFF'FFFFu})
                    subs.push_back({kServiceOp, 0, len, false});
                subs.push_back({kCancelOp, 0, 0, false});
                subs.push_back({kNopOp, 0, bsize, false});
            }
            if (in_hand.size() > 1)
                subs.push_back({kServiceOp, 1, 0, true});
            subs.push_back({kServiceOp, -2, 0, false});
            subs.push_back({kServiceOp, -3, 0, false});
            subs.push_back({kServiceOp, -4, 0, false});
        }
        for (const Sub& s : subs) {
            if (done())
                return;
            submit(s.opcode, s.buf, s.length, s.expand);
        }
        // Batches of requests without buffers: (opcode, length) each.
        using Q = std::vector<std::pair<std::uint16_t, U32>>;
        submit_batch(Q{{kServiceOp, 0}, {kNopOp, 0}}, 2, true);
        if (full) {
            submit_batch(Q{{kNopOp, 0}, {kCancelOp, 0}}, 2, false);
            submit_batch(Q{{kServiceOp, 0}, {kServiceOp, 1}, {kServiceOp, 0}}, 3, false);
            submit_batch(Q{{kCancelOp, 0}, {kServiceOp, 0}}, 2, false);
            submit_batch(Q{{kServiceOp, 0}, {kServiceOp, 0}, {kServiceOp, 0}}, 0, false);
            submit_batch(Q{{kServiceOp, 0}, {kServiceOp, 0}}, 1, false);  // tags too short
            submit_batch(Q{}, 0, false);
        }
        // Batches lending buffers: (opcode, buffer as for submit, length) each.
        using QB = std::vector<Sub>;
        if (!in_hand.empty()) {
            QB all;
            for (U32 k = 0; k < in_hand.size(); ++k)
                all.push_back({kServiceOp, int(k), k == 0 ? 0 : bsize, true});
            submit_batch_buffers(all, true);
            if (full) {
                submit_batch_buffers(QB{{kServiceOp, 0, 0, false}, {kServiceOp, -3, 0, false}},
                                     false);
                submit_batch_buffers(
                    QB{{kServiceOp, 0, 0, false}, {kServiceOp, -1, bsize + 1, false}}, false);
                submit_batch_buffers(QB{{kServiceOp, 0, bsize + 1, false}}, false);
                submit_batch_buffers(QB{{kCancelOp, 0, 0, false}}, false);
            }
        } else if (full) {
            submit_batch_buffers(QB{{kServiceOp, -2, 0, false}}, false);
            submit_batch_buffers(QB{{kServiceOp, -3, 0, false}, {kServiceOp, -3, 0, false}}, false);
        }
        if (full)
            submit_batch_buffers(QB{}, false);  // buffers span sized 1 for no request
        // In-place submission.
        prepare_commit(kServiceOp, -1, 0, 0, true);
        if (!in_hand.empty())
            prepare_commit(kServiceOp, 0, bsize, 0, true);
        if (full) {
            prepare_commit(kServiceOp, -5, 0, 0, false);  // prepare alone
            prepare_commit(kCancelOp, -1, 0, 0, false);
            prepare_commit(kServiceOp, -2, 0, 0, false);
            prepare_commit(kServiceOp, -3, 0, 0, false);
            prepare_commit(kServiceOp, -4, 0, 0, false);
            if (!in_hand.empty())
                prepare_commit(kServiceOp, 0, bsize + 1, 0, false);
            prepare_commit(kServiceOp, -1, 0, 1, false);  // the next slot's entry
            prepare_commit(kServiceOp, -1, 0, 2, false);  // no entry at all
            prepare_commit(kServiceOp, -1, 0, 3, false);  // the tail's, a lap earlier
            prepare_commit(kServiceOp, -1, 0, 4, false);  // the tail's, never prepared
            if (!in_hand.empty())
                prepare_commit(kServiceOp, 0, 0, 3, false);
        }
        // Cancel: every live tag, stale and foreign tags, boundary values.
        std::vector<U32> targets;
        for (U32 i = 0; i < cfg_.capacity; ++i) {
            if (p.c_state[i] == R::kSlotLive)
                targets.push_back(tag_of(p, i));
        }
        if (full) {
            for (U32 i = 0; i < cfg_.capacity; ++i) {
                targets.push_back(R::tag_make<U32>(i, U32(p.c_gen[i]) + 1));
                targets.push_back(R::tag_make<U32>(i, U32(p.c_gen[i]) - 1));
            }
            for (U32 t : {0u, 1u, cfg_.capacity, 0x7FFF'FFFFu, 0x8000'0000u, 0xFFFF'FFFFu})
                targets.push_back(t);
        }
        bool first = true;
        for (U32 t : targets) {
            if (done())
                return;
            cancel(t, first);
            first = false;
        }
        if (full) {
            for (std::uint64_t ud : {std::uint64_t(100), std::uint64_t(101), ~std::uint64_t(0)})
                cancel_user_data(ud);
        }
        simple(
            "Client::publish()", [&] { client_.publish(); }, m_.publish(cur_state_));
        reap();
        reap_batch(2);
        if (full) {
            reap_batch(1);
            reap_batch(3);
        }
        simple(
            "Client::peer_gone()", [&] { client_.peer_gone(); }, m_.peer_gone(cur_state_));
        simple(
            "Client::close()", [&] { client_.close(); }, m_.client_close(cur_state_));
    }

    // A call without a result: its successor is the model's.
    template <class F>
    void simple(const std::string& call, F&& f, const Out& model) {
        if (done())
            return;
        begin(call);
        f();
        MStep ms = eval(model);
        std::string why;
        agree(why, ms, RealOut{}, false);
        expect(why, ms.next);
        finish(why);
        note(ms.next, true);
    }

    // Handle errors the model cannot state (no such handle exists in its state): the
    // documented error, nothing changed.
    void unchanged_with(std::string& why, const RealOut& r, E want) const {
        unchanged_with(why, r, want, cur_);
    }
    void unchanged_with(std::string& why, const RealOut& r, E want, const Plain& state) const {
        std::uint64_t e = r.ok ? 0 : r.err;
        if (e != std::uint64_t(want))
            why += "  result: documented " + err_text(std::uint64_t(want)) +
                   " (nothing changes), implementation " + err_text(e) + "\n";
        expect(why, state);
    }

    void acquire() {
        if (done())
            return;
        begin("Client::acquire()");
        auto r = client_.acquire();
        RealOut o = real_out(r);
        U32 id = 0;
        if (r) {
            id = r->id();
            o.value = id;
            SA::forget(*r);
        }
        MStep ms = eval(m_.acquire(cur_state_, bv(id)));
        std::string why;
        agree(why, ms, o, true);
        expect(why, ms.next);
        finish(why);
        note(ms.next, true);
    }

    ipc::Buffer handle(int which, U32& model_id) {
        const Plain& p = cur_;
        if (which == -2) {
            model_id = cfg_.buffer_count;  // not this client's: out of its range
            return SA::buffer(&other_, 0);
        }
        if (which == -3) {
            model_id = kNoBuf;
            return ipc::Buffer();
        }
        if (which == -4) {
            for (U32 b = 0; b < cfg_.buffer_count; ++b) {
                if (p.bstate[b] != R::kBufInHand) {
                    model_id = b;
                    return SA::buffer(&client_, std::uint16_t(b));
                }
            }
            model_id = cfg_.buffer_count;
            return SA::buffer(&client_, std::uint16_t(cfg_.buffer_count));
        }
        auto in_hand = positions(p.bstate, R::kBufInHand);
        model_id = in_hand.at(std::size_t(which));
        return SA::buffer(&client_, std::uint16_t(model_id));
    }

    void release(int which) {
        if (done())
            return;
        U32 id = 0;
        begin("Client::release(" +
              std::string(which >= 0    ? "buffer in hand"
                          : which == -2 ? "another client's buffer"
                                        : "an empty handle") +
              ")");
        ipc::Buffer h = handle(which, id);
        auto r = client_.release(std::move(h));
        bool kept = h.valid();
        SA::forget(h);
        RealOut o = real_out(r);
        std::string why;
        if (which < 0) {
            unchanged_with(why, o, which == -2 ? E::NotOwner : E::InvalidBuffer);
            if (!kept && which == -2)
                why += "  the refused handle was emptied\n";
            finish(why);
            return;
        }
        MStep ms = eval(m_.release(cur_state_, bv(id)));
        agree(why, ms, o, false);
        expect(why, ms.next);
        finish(why);
        note(ms.next, true);
    }

    std::string sub_text(const char* call, std::uint16_t opcode, int buf, U32 len) const {
        std::ostringstream o;
        o << call << "(opcode=" << opcode << ", buffer="
          << (buf == -1   ? "none"
              : buf == -2 ? "another client's"
              : buf == -3 ? "empty handle"
              : buf == -4 ? "this client's, not in hand"
                          : "in hand #" + std::to_string(buf))
          << ", length=" << num_text(len) << ")";
        return o.str();
    }

    void submit(std::uint16_t opcode, int buf, U32 length, bool expand) {
        const Plain& p = cur_;
        if (buf == -4 && positions(p.bstate, R::kBufInHand).size() == p.bstate.size())
            return;
        begin(sub_text("Client::submit", opcode, buf, length));
        ipc::Request rq;
        rq.user_data = 0xABCD;
        rq.opcode = opcode;
        rq.length = length;
        U32 id = kNoBuf;
        bool kept = true;
        auto r = [&]() -> ipc::Result<U32> {
            if (buf == -1)
                return client_.submit(rq);
            ipc::Buffer h = handle(buf, id);
            auto res = client_.submit(rq, std::move(h));
            kept = h.valid();
            SA::forget(h);
            return res;
        }();
        RealOut o = real_out(r);
        std::string why;
        if (buf == -3) {
            unchanged_with(why, o, E::InvalidBuffer);
            finish(why);
            return;
        }
        if (r)
            o.value = *r;
        if (buf != -1 && kept == bool(r))
            why += "  the handle is " + std::string(kept ? "kept" : "emptied") + " after " +
                   (r ? "a success" : "an error") + "\n";
        U32 slot = r ? R::tag_slot<U32>(*r) : 0;
        MStep ms = eval(m_.submit(cur_state_, bv(opcode), bv(id), bv(length), bv(slot)));
        agree(why, ms, o, true);
        expect(why, ms.next);
        finish(why);
        note(ms.next, expand);
    }

    // submit_batch without buffers: the model's submits in order, stopping at the first
    // refusal; the first one's error if it is refused.
    void submit_batch(const std::vector<std::pair<std::uint16_t, U32>>& reqs, std::size_t ntags,
                      bool expand) {
        if (done())
            return;
        std::ostringstream t;
        t << "Client::submit_batch([";
        for (auto& [op, len] : reqs)
            t << "(opcode=" << op << ", length=" << num_text(len) << ")";
        t << "], tags[" << ntags << "])";
        begin(t.str());
        std::vector<ipc::Request> rs;
        for (auto& [op, len] : reqs) {
            ipc::Request rq;
            rq.opcode = op;
            rq.length = len;
            rs.push_back(rq);
        }
        std::vector<U32> tags(ntags, 0xDEAD'BEEF);
        auto r = client_.submit_batch(rs, tags);
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        std::string why;
        if (ntags != 0 && ntags < reqs.size()) {
            unchanged_with(why, o, E::InvalidArgument);
            finish(why);
            return;
        }
        Plain st = cur_;
        MStep first;
        std::vector<U32> want_tags;
        auto order = pop_order(cur_.c_state, R::kSlotFree);
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            U32 slot = i < order.size() ? order[i] : 0;
            MStep ms = eval(m_.submit(i == 0 ? cur_state_ : to_state(st), bv(reqs[i].first),
                                      bv(kNoBuf), bv(reqs[i].second), bv(slot)));
            if (i == 0)
                first = ms;
            if (ms.err != 0)
                break;
            if (!ms.choice_ok)
                why += "  the model does not allow slot " + std::to_string(slot) + "\n";
            want_tags.push_back(U32(ms.value));
            st = ms.next;
        }
        compare_batch(why, o, reqs.empty(), first, U32(want_tags.size()));
        for (std::size_t i = 0; i < ntags; ++i) {
            std::uint64_t want = i < want_tags.size() && o.ok ? want_tags[i] : 0xDEAD'BEEF;
            diff(why, "tags[" + std::to_string(i) + "]", want, tags[i]);
        }
        expect(why, st);
        finish(why);
        note(st, expand);
    }

    // A batch's verdict: n of a prefix, or the first one's error with nothing changed.
    static void compare_batch(std::string& why, const RealOut& o, bool empty, const MStep& first,
                              U32 n) {
        if (empty) {
            if (!o.ok || o.value != 0)
                why += "  an empty batch: expected 0, implementation " +
                       (o.ok ? num_text(o.value) : err_text(o.err)) + "\n";
            return;
        }
        if (n == 0) {
            if (o.ok || o.err != first.err)
                why += "  result: model " + err_text(first.err) +
                       " (the first one refused), implementation " +
                       (o.ok ? "ok " + num_text(o.value) : err_text(o.err)) + "\n";
            return;
        }
        if (!o.ok || o.value != n)
            why += "  result: model " + std::to_string(n) + " done, implementation " +
                   (o.ok ? num_text(o.value) : err_text(o.err)) + "\n";
    }

    template <class S>
    void submit_batch_buffers(const std::vector<S>& reqs, bool expand) {
        if (done())
            return;
        std::ostringstream t;
        t << "Client::submit_batch([";
        for (auto& s : reqs)
            t << sub_text("", s.opcode, s.buf, s.length);
        t << "], buffers, tags)";
        begin(t.str());
        std::vector<ipc::Request> rs;
        std::vector<ipc::Buffer> hs;
        std::vector<U32> ids;
        for (auto& s : reqs) {
            ipc::Request rq;
            rq.opcode = s.opcode;
            rq.length = s.length;
            rs.push_back(rq);
            U32 id = kNoBuf;
            hs.push_back(s.buf == -1 ? ipc::Buffer() : handle(s.buf, id));
            ids.push_back(s.buf == -1 ? U32(kNoBuf) : id);
        }
        if (reqs.empty())
            hs.emplace_back();  // sizes differ: refused
        std::vector<U32> tags(reqs.size(), 0xDEAD'BEEF);
        auto r = client_.submit_batch(rs, hs, tags);
        std::vector<bool> kept;
        for (auto& h : hs) {
            kept.push_back(h.valid());
            SA::forget(h);
        }
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        std::string why;
        if (reqs.empty()) {
            unchanged_with(why, o, E::InvalidArgument);
            finish(why);
            return;
        }
        Plain st = cur_;
        MStep first;
        std::vector<U32> want_tags;
        auto order = pop_order(cur_.c_state, R::kSlotFree);
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            U32 slot = i < order.size() ? order[i] : 0;
            if (reqs[i].buf == -3 || reqs[i].buf == -1) {
                // An empty handle: refused as InvalidBuffer (no model state names it).
                if (i == 0)
                    first.err = std::uint64_t(E::InvalidBuffer);
                break;
            }
            MStep ms = eval(m_.submit(i == 0 ? cur_state_ : to_state(st), bv(reqs[i].opcode),
                                      bv(ids[i]), bv(reqs[i].length), bv(slot)));
            if (i == 0)
                first = ms;
            if (ms.err != 0)
                break;
            if (!ms.choice_ok)
                why += "  the model does not allow slot " + std::to_string(slot) + "\n";
            want_tags.push_back(U32(ms.value));
            st = ms.next;
        }
        U32 n = U32(want_tags.size());
        compare_batch(why, o, false, first, n);
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            std::uint64_t want = i < n && o.ok ? want_tags[i] : 0xDEAD'BEEF;
            diff(why, "tags[" + std::to_string(i) + "]", want, tags[i]);
            if (reqs[i].buf != -1 && reqs[i].buf != -3 && kept[i] != (i >= n))
                why +=
                    "  buffers[" + std::to_string(i) + "] " + (kept[i] ? "kept" : "emptied") + "\n";
        }
        expect(why, st);
        finish(why);
        note(st, expand);
    }

    // prepare(), then commit() of: the entry handed out (entry 0), the next slot's (1) or
    // none (2). buf -5: prepare alone.
    void prepare_commit(std::uint16_t opcode, int buf, U32 length, int entry, bool expand) {
        if (done())
            return;
        const Plain& p = cur_;
        if (buf == -4 && positions(p.bstate, R::kBufInHand).size() == p.bstate.size())
            return;
        if (entry == 1 && cfg_.capacity == 1)
            return;
        if (entry >= 3) {
            stale_commit(opcode, buf, length, entry);
            return;
        }
        std::string text = buf == -5 ? "Client::prepare()"
                                     : "Client::prepare() then " +
                                           sub_text(entry == 0   ? "commit(entry"
                                                    : entry == 1 ? "commit(next slot's entry"
                                                                 : "commit(nullptr",
                                                    opcode, buf, length);
        begin(text);
        auto pr = client_.prepare();
        auto order = pop_order(cur_.c_state, R::kSlotFree);
        U32 slot0 = order.empty() ? 0 : order[0];
        // prepare: submit's checks for a Nop, then nothing but the cached head it re-read.
        MStep mp = eval(m_.submit(cur_state_, bv(kNopOp), bv(kNoBuf), bv(0), bv(slot0)));
        Plain prepared = cur_;
        if (mp.err == 0)
            prepared.sq_head_seen = mp.next.sq_head_seen;
        std::string why;
        RealOut o = real_out(pr);
        const ipc::QueueView& v = SA::view(client_);
        if (pr)
            o.value = std::uint64_t(*pr - v.sq_entries);
        mp.value = R::ring_slot<U32>(U32(p.sq_tail), cfg_.capacity);
        mp.choice_ok = true;
        agree(why, mp, o, true);
        if (!pr || buf == -5 || !why.empty()) {
            expect(why, prepared);
            finish(why);
            note(prepared, expand && buf == -5);
            return;
        }
        ipc::abi::Submission* e = *pr;
        if (entry == 1)
            e = v.sq_entries + R::ring_slot<U32>(U32(p.sq_tail) + 1, cfg_.capacity);
        if (entry == 2)
            e = nullptr;
        U32 id = kNoBuf;
        bool kept = true;
        auto r = [&]() -> ipc::Result<U32> {
            if (buf == -1)
                return client_.commit(e, 0xABCD, opcode);
            ipc::Buffer h = handle(buf, id);
            auto res = client_.commit(e, 0xABCD, opcode, length, std::move(h));
            kept = h.valid();
            SA::forget(h);
            return res;
        }();
        RealOut c = real_out(r);
        if (r)
            c.value = *r;
        if (buf == -3) {
            unchanged_with(why, c, E::InvalidBuffer, prepared);
            finish(why);
            return;
        }
        if (buf != -1 && kept == bool(r))
            why += "  the handle is " + std::string(kept ? "kept" : "emptied") + "\n";
        U32 slot = r ? R::tag_slot<U32>(*r) : 0;
        MStep mc = eval(m_.submit(to_state(prepared), bv(opcode), bv(id), bv(length), bv(slot)));
        if (entry != 0) {
            // Not the entry prepare() handed out: refused (InvalidArgument) unless a check
            // that comes first refuses it; nothing changes.
            if (mc.err == 0)
                mc.err = std::uint64_t(E::InvalidArgument);
            mc.next = prepared;
            mc.choice_ok = true;  // no slot is taken
        }
        if (mc.err != 0) {
            mc.next = prepared;
        } else {
            // commit() writes the protocol's fields and leaves the service's (args[0]
            // among them: the target only a Cancel has, and commit refuses Cancel) as the
            // caller wrote them.
            U32 at = R::ring_slot<U32>(U32(p.sq_tail), cfg_.capacity);
            mc.next.sq_target[at] = prepared.sq_target[at];
            mc.next.sq_target_hi[at] = prepared.sq_target_hi[at];
        }
        agree(why, mc, c, true);
        expect(why, mc.next);
        finish(why);
        note(mc.next, expand);
    }

    // commit() of the entry at the tail that prepare() handed out a full lap earlier (entry
    // 3: capacity submissions since) or never (4): the same pointer as a fresh one, refused
    // (InvalidArgument, nothing changed) unless a check that comes first refuses it.
    void stale_commit(std::uint16_t opcode, int buf, U32 length, int entry) {
        const Plain& p = cur_;
        begin(sub_text(entry == 3 ? "Client::commit(entry prepared a lap earlier"
                                  : "Client::commit(entry never prepared",
                       opcode, buf, length));
        SA::set_prepared(client_, U32(p.sq_tail) - (entry == 3 ? cfg_.capacity : 1));
        const ipc::QueueView& v = SA::view(client_);
        ipc::abi::Submission* e = v.sq_entries + R::ring_slot<U32>(U32(p.sq_tail), cfg_.capacity);
        U32 id = kNoBuf;
        bool kept = true;
        auto r = [&]() -> ipc::Result<U32> {
            if (buf == -1)
                return client_.commit(e, 0xABCD, opcode);
            ipc::Buffer h = handle(buf, id);
            auto res = client_.commit(e, 0xABCD, opcode, length, std::move(h));
            kept = h.valid();
            SA::forget(h);
            return res;
        }();
        RealOut c = real_out(r);
        if (r)
            c.value = *r;
        std::string why;
        if (buf != -1 && kept == bool(r))
            why += "  the handle is " + std::string(kept ? "kept" : "emptied") + "\n";
        MStep mc = eval(m_.submit(cur_state_, bv(opcode), bv(id), bv(length), bv(0)));
        const std::uint64_t first_wins[] = {std::uint64_t(E::NotOwner),
                                            std::uint64_t(E::InvalidBuffer),
                                            std::uint64_t(E::PeerGone), std::uint64_t(E::Closed)};
        if (std::find(std::begin(first_wins), std::end(first_wins), mc.err) == std::end(first_wins))
            mc.err = std::uint64_t(E::InvalidArgument);
        mc.next = p;
        mc.choice_ok = true;
        agree(why, mc, c, true);
        expect(why, mc.next);
        finish(why);
    }

    void cancel(U32 target, bool expand) {
        if (done())
            return;
        begin("Client::cancel(target=" + num_text(target) + ")");
        auto r = client_.cancel(0xABCD, target);
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        U32 slot = r ? R::tag_slot<U32>(*r) : 0;
        MStep ms = eval(m_.cancel(cur_state_, bv(target), bv(slot)));
        std::string why;
        agree(why, ms, o, true);
        expect(why, ms.next);
        finish(why);
        note(ms.next, expand);
    }

    // cancel_user_data: a Cancel of the first live operation (lowest slot, not a Cancel)
    // whose user_data is `target`, else of no tag (client.hpp).
    void cancel_user_data(std::uint64_t target) {
        if (done())
            return;
        begin("Client::cancel_user_data(target=" + num_text(target) + ")");
        auto r = client_.cancel_user_data(0xABCD, target);
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        U32 tag = ipc::abi::kNoTag;
        for (U32 i = 0; i < cfg_.capacity; ++i) {
            if (cur_.c_state[i] == R::kSlotLive && cur_.c_cancel[i] == 0 &&
                SA::user_data_of(i) == target) {
                tag = tag_of(cur_, i);
                break;
            }
        }
        U32 slot = r ? R::tag_slot<U32>(*r) : 0;
        MStep ms = eval(m_.cancel(cur_state_, bv(tag), bv(slot)));
        std::string why;
        agree(why, ms, o, true);
        expect(why, ms.next);
        finish(why);
    }

    void compare_reaped(std::string& why, const std::string& at, const MStep& ms,
                        const ipc::Reaped& rr) const {
        diff(why, at + "tag", ms.r_tag, rr.tag);
        diff(why, at + "status", ms.r_status, rr.status);
        diff(why, at + "buffer", ms.r_buffer, rr.buffer.valid() ? rr.buffer.id() : kNoBuf);
        diff(why, at + "is_cancel", ms.r_cancel, rr.is_cancel ? 1 : 0);
        diff(why, at + "user_data", SA::user_data_of(R::tag_slot<U32>(U32(ms.r_tag))),
             rr.user_data);
    }

    void reap() {
        if (done())
            return;
        begin("Client::reap()");
        auto r = client_.reap();
        RealOut o = real_out(r);
        MStep ms = eval(m_.reap(cur_state_));
        std::string why;
        agree(why, ms, o, false);
        if (r && ms.err == 0)
            compare_reaped(why, "reaped ", ms, *r);
        if (r)
            SA::forget(r->buffer);
        expect(why, ms.next);
        finish(why);
        note(ms.next, true);
    }

    // reap_batch: the model's reaps in order, the completion tail read at most once (only by
    // the first, and only when the cached one says empty): while open, a later one stops when
    // the cached tail says empty. Stops at the first refusal; the first one's error if it is
    // refused.
    void reap_batch(U32 k) {
        if (done())
            return;
        begin("Client::reap_batch(out[" + std::to_string(k) + "])");
        std::vector<ipc::Reaped> out(k);
        auto r = client_.reap_batch(out);
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        Plain st = cur_;
        MStep first;
        std::vector<MStep> steps;
        for (U32 i = 0; i < k; ++i) {
            if (i > 0 && st.cmode == kCOpen &&
                !R::ring_has_entry<U32>(U32(st.cq_head), U32(st.cq_tail_seen)))
                break;
            MStep ms = eval(m_.reap(i == 0 ? cur_state_ : to_state(st)));
            if (i == 0)
                first = ms;
            if (ms.err != 0)
                break;
            steps.push_back(ms);
            st = ms.next;
        }
        std::string why;
        U32 n = U32(steps.size());
        compare_batch(why, o, false, first, n);
        for (U32 i = 0; i < k; ++i) {
            if (o.ok && i < n && i < o.value) {
                compare_reaped(why, "out[" + std::to_string(i) + "].", steps[i], out[i]);
            } else if (out[i].tag != 0 || out[i].buffer.valid()) {
                why += "  out[" + std::to_string(i) + "] written past the completions taken\n";
            }
            SA::forget(out[i].buffer);
        }
        expect(why, st);
        finish(why);
        note(st, true);
    }

    // ---------------------------------------------------------------- server ------------
    std::vector<U32> handles(bool full) const {
        const Plain& p = cur_;
        std::vector<U32> h;
        for (U32 r = 0; r < cfg_.capacity; ++r) {
            U32 g = U32(p.op_gen[r]);
            h.push_back(R::op_handle<U32>(r, g));
            if (full) {
                h.push_back(R::op_handle<U32>(r, g + 1));
                h.push_back(R::op_handle<U32>(r, g - 1));
            }
        }
        if (full) {
            for (U32 x : {cfg_.capacity, 0xFFFFu, 0x7FFF'FFFFu, 0x8000'0000u, 0xFFFF'FFFFu})
                h.push_back(x);
        }
        return h;
    }
    std::vector<U32> taken_handles() const {
        std::vector<U32> h;
        for (U32 r : positions(cur_.op_state, R::kOpTaken))
            h.push_back(R::op_handle<U32>(r, U32(cur_.op_gen[r])));
        return h;
    }

    void server_calls(bool full) {
        poll();
        take(0);
        take(1);
        take_batch(2);
        if (full) {
            take_batch(1);
            take_batch(3);
            take_batch(0);
        }
        auto taken = taken_handles();
        for (U32 h : taken)
            complete(h, std::uint16_t(ipc::abi::Status::Ok), true);
        if (full) {
            for (U32 h : taken) {
                for (std::uint16_t st : {std::uint16_t(ipc::abi::Status::Cancelled),
                                         std::uint16_t(ipc::abi::Status::InProgress),
                                         std::uint16_t(ipc::abi::Status::NotFound),
                                         ipc::abi::kFirstServiceStatus, std::uint16_t(0xFFFF)})
                    complete(h, st, false);
            }
            for (U32 h : handles(true))
                complete(h, std::uint16_t(ipc::abi::Status::Ok), false);
            for (U32 h : handles(true))
                queries(h);
        }
        // Batches: every taken op; the first twice; a stale one first or after; a bad status.
        using D = std::vector<std::pair<U32, std::uint16_t>>;
        const std::uint16_t ok = std::uint16_t(ipc::abi::Status::Ok);
        D all;
        for (U32 h : taken)
            all.push_back({h, ok});
        if (!all.empty())
            complete_batch(all, true);
        U32 stale = R::op_handle<U32>(0, U32(cur_.op_gen[0]) + 1);
        complete_batch(D{{stale, ok}}, false);
        if (!taken.empty()) {
            complete_batch(D{{taken[0], ok}, {taken[0], ok}}, false);
            complete_batch(D{{taken[0], ok}, {stale, ok}}, false);
            if (full) {
                complete_batch(D{{stale, ok}, {taken[0], ok}}, false);
                complete_batch(D{{taken[0], std::uint16_t(ipc::abi::Status::InProgress)}}, false);
                complete_batch(D{{taken[0], ok}, {0xFFFF'FFFF, ok}}, false);
            }
        }
        if (full)
            complete_batch(D{}, false);
        simple(
            "Server::publish()", [&] { server_.publish(); }, m_.server_publish(cur_state_));
        simple(
            "Server::client_gone()", [&] { server_.client_gone(); }, m_.client_gone(cur_state_));
        simple(
            "Server::close()", [&] { server_.close(); }, m_.server_close(cur_state_));
    }

    // poll: poll_begin, accept_one while accept_enabled (the record each takes is the one
    // the loaded free-record stack hands out), poll_end.
    void poll() {
        if (done())
            return;
        begin("Server::poll()");
        auto r = server_.poll();
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        std::string why;
        MStep b = eval(m_.poll_begin(cur_state_));
        if (b.err != 0) {
            agree(why, b, o, false);
            expect(why, b.next);
            finish(why);
            return;
        }
        Plain st = b.next;
        auto stack = pop_order(cur_.op_state, R::kOpFree);
        std::reverse(stack.begin(), stack.end());  // the next one handed out last
        U32 drained = 0;
        while (drained <= 4 * cfg_.capacity && truth(m_.accept_enabled(to_state(st)))) {
            U32 rec = stack.empty() ? 0 : stack.back();
            MStep a = eval(m_.accept_one(to_state(st), bv(rec)));
            if (!a.choice_ok)
                why += "  accept: the model does not allow record " + std::to_string(rec) + "\n";
            if (!a.safe)
                why += "  accept: the model says an assertion fires\n";
            for (U32 k = 0; k < cfg_.capacity; ++k) {
                bool was = st.op_state[k] == R::kOpFree, is = a.next.op_state[k] == R::kOpFree;
                if (was && !is && !stack.empty())
                    stack.pop_back();
                if (!was && is)
                    stack.push_back(k);
            }
            st = a.next;
            ++drained;
        }
        MStep e = eval(m_.poll_end(to_state(st), bv(drained)));
        e.value = drained;
        agree(why, e, o, true);
        expect(why, e.next);
        finish(why);
        note(e.next, true);
    }

    // take (form 0: take(), 1: take_id()).
    void take(int form) {
        if (done())
            return;
        begin(form == 0 ? "Server::take()" : "Server::take_id()");
        RealOut o;
        U32 tag = 0, buffer = 0;
        if (form == 0) {
            auto r = server_.take();
            o = real_out(r);
            if (r) {
                o.value = r->id;
                tag = r->request.tag;
                buffer = r->request.buffer;
            }
        } else {
            auto r = server_.take_id();
            o = real_out(r);
            if (r) {
                o.value = *r;
                tag = server_.request(*r).tag;
                buffer = server_.request(*r).buffer;
            }
        }
        U32 rec = o.ok ? R::op_record<U32>(U32(o.value)) : 0;
        MStep ms = eval(m_.take(cur_state_, bv(rec)));
        std::string why;
        agree(why, ms, o, true);
        if (o.ok && ms.err == 0) {
            diff(why, "taken op's tag", ms.r_tag, tag);
            diff(why, "taken op's buffer", ms.r_buffer, buffer);
            // Oldest first: the loaded FIFO's head.
            auto q = positions(cur_.op_state, R::kOpQueued);
            U32 oldest = lay_.fifo_reversed ? q.back() : q.front();
            diff(why, "taken op's record (the FIFO's oldest)", oldest, rec);
        }
        expect(why, ms.next);
        finish(why);
        note(ms.next, true);
    }

    void take_batch(U32 k) {
        if (done())
            return;
        begin("Server::take_batch(handles[" + std::to_string(k) + "])");
        std::vector<U32> hs(k, 0xDEAD'BEEF);
        auto r = server_.take_batch(hs);
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        std::string why;
        Plain st = cur_;
        MStep first;
        U32 n = 0;
        auto q = positions(cur_.op_state, R::kOpQueued);
        if (lay_.fifo_reversed)
            std::reverse(q.begin(), q.end());
        for (U32 i = 0; i < k; ++i) {
            if (i > 0 && positions(st.op_state, R::kOpQueued).empty())
                break;
            U32 rec = o.ok && i < o.value ? R::op_record<U32>(hs[i]) : (i < q.size() ? q[i] : 0);
            MStep ms = eval(m_.take(i == 0 ? cur_state_ : to_state(st), bv(rec)));
            if (i == 0)
                first = ms;
            if (ms.err != 0)
                break;
            if (!ms.choice_ok)
                why += "  handles[" + std::to_string(i) + "]: not a queued record\n";
            diff(why, "handles[" + std::to_string(i) + "]", ms.value, hs[i]);
            if (i < q.size())
                diff(why, "handles[" + std::to_string(i) + "]'s record (oldest first)", q[i], rec);
            st = ms.next;
            ++n;
        }
        if (k == 0 && cur_.smode != kSOpen) {
            first.err = std::uint64_t(E::Closed);  // the mode is checked first
            compare_batch(why, o, false, first, 0);
        } else {
            compare_batch(why, o, k == 0, first, n);
        }
        expect(why, st);
        finish(why);
        note(st, true);
    }

    void complete(U32 h, std::uint16_t status, bool expand) {
        if (done())
            return;
        begin("Server::complete(op=" + num_text(h) + ", status=" + num_text(status) + ")");
        auto r = server_.complete(h, status, 7);
        RealOut o = real_out(r);
        MStep ms = eval(m_.complete(cur_state_, bv(h), bv(status)));
        std::string why;
        agree(why, ms, o, false);
        expect(why, ms.next);
        finish(why);
        note(ms.next, expand);
    }

    // complete_batch: the model's completes in order, stopping at the first refusal. The
    // batch may re-read the client's head once up front (its one room check): the cached
    // head may then be the shared one, where it is a valid read.
    void complete_batch(const std::vector<std::pair<U32, std::uint16_t>>& ds, bool expand) {
        if (done())
            return;
        std::ostringstream t;
        t << "Server::complete_batch([";
        for (auto& [h, st] : ds)
            t << "(op=" << num_text(h) << ", status=" << st << ")";
        t << "])";
        begin(t.str());
        std::vector<ipc::Server::Done> done;
        for (auto& [h, st] : ds)
            done.push_back({h, st, 7});
        auto r = server_.complete_batch(done);
        RealOut o = real_out(r);
        if (r)
            o.value = *r;
        std::string why;
        Plain st = cur_;
        MStep first;
        U32 n = 0;
        for (std::size_t i = 0; i < ds.size(); ++i) {
            MStep ms = eval(
                m_.complete(i == 0 ? cur_state_ : to_state(st), bv(ds[i].first), bv(ds[i].second)));
            if (i == 0)
                first = ms;
            if (ms.err != 0)
                break;
            agree(why, ms, RealOut{}, false);
            st = ms.next;
            ++n;
        }
        compare_batch(why, o, ds.empty(), first, n);
        Plain got = SA::abstract(client_, server_, shape_);
        if (got.cq_head_seen != st.cq_head_seen && got.cq_head_seen == cur_.cq_head_pub &&
            R::ring_head_valid<U32>(U32(cur_.cq_head_seen), U32(cur_.cq_head_pub),
                                    U32(cur_.cq_tail)))
            st.cq_head_seen = got.cq_head_seen;
        expect(why, st);
        finish(why);
        note(st, expand);
    }

    // The read-only calls on a handle: only a current one (taken, of its record's
    // generation: IPC-R-054) views bytes or a cancel request.
    void queries(U32 h) {
        if (done())
            return;
        begin("Server::bytes / cancel_requested(op=" + num_text(h) + ")");
        const U32 rec = R::op_record<U32>(h);
        bool current =
            rec < cfg_.capacity &&
            R::server_handle_current<U32>(h, U32(cur_.op_state[rec]), U32(cur_.op_gen[rec]));
        std::string why;
        bool flag = current && cur_.op_flag[rec] != 0;
        diff(why, "cancel_requested", flag, server_.cancel_requested(h) ? 1 : 0);
        ipc::Operation op;
        op.id = h;
        auto bytes = server_.bytes(op);
        std::size_t want = current && cur_.op_buf[rec] != kNoBuf ? cfg_.buffer_size : 0;
        diff(why, "bytes().size()", want, bytes.size());
        expect(why, cur_);
        finish(why);
    }

    // ---------------------------------------------------------------- hostile peers -----
    // The state after one write a hostile peer may make to shared memory (counters out of
    // range, forged entries, a closed flag): each side must refuse or contain it as the model
    // says (the model reads shared memory as it finds it).
    std::vector<std::pair<std::string, Plain>> hostile(const Plain& p) {
        const U32 cap = cfg_.capacity;
        std::vector<std::pair<std::string, Plain>> v;
        readers_.clear();
        char reader = 'c';
        auto add = [&](const std::string& what, auto&& f) {
            Plain h = p;
            f(h);
#define KEEL_R_S(n) h.n &= 0xFFFF'FFFFu;
            KEEL_SPEC_SCALARS(KEEL_R_S)
#undef KEEL_R_S
            if (h.key() != p.key()) {
                v.push_back({what, h});
                readers_.push_back(reader);
            }
        };
        add("the server sets the cq tail past capacity",
            [&](Plain& h) { h.cq_tail_pub = p.cq_head + cap + 1; });
        add("the server sets the cq tail backwards",
            [&](Plain& h) { h.cq_tail_pub = p.cq_head - 1; });
        for (U32 variant = 0; variant < 3; ++variant) {
            add("the server forges a completion (" + std::to_string(variant) + ")", [&](Plain& h) {
                U32 at = R::ring_slot<U32>(U32(p.cq_tail_pub), cap);
                h.cq_tail_pub = U32(p.cq_tail_pub) + 1;
                U32 live = cap;
                for (U32 i = 0; i < cap; ++i) {
                    if (p.c_state[i] == R::kSlotLive)
                        live = i;
                }
                switch (variant) {
                    case 0:  // a free slot's tag
                        h.cq_tag[at] = tag_of(p, 0) + (p.c_state[0] == R::kSlotLive ? 0x10000 : 0);
                        h.cq_buffer[at] = kNoBuf;
                        break;
                    case 1:  // a live slot, the wrong buffer
                        h.cq_tag[at] = live < cap ? tag_of(p, live) : 0xFFFF'FFFF;
                        h.cq_buffer[at] = live < cap && p.c_buf[live] == kNoBuf ? 0 : kNoBuf;
                        break;
                    default:  // a live slot, a status only a Cancel may have; else out of range
                        h.cq_tag[at] = live < cap ? tag_of(p, live) : 0xFFFF'FFFF;
                        h.cq_buffer[at] = live < cap ? p.c_buf[live] : kNoBuf;
                        h.cq_status[at] = std::uint16_t(ipc::abi::Status::InProgress);
                        break;
                    case 3:
                        h.cq_tag[at] = 0xFFFF'FFFF;
                        break;
                }
            });
        }
        reader = 's';
        add("the client sets the sq tail past capacity",
            [&](Plain& h) { h.sq_tail_pub = p.sq_head + cap + 1; });
        reader = 'h';
        add("the client sets the cq head past the tail",
            [&](Plain& h) { h.cq_head_pub = p.cq_tail + 1; });
        add("the client sets the cq head backwards",
            [&](Plain& h) { h.cq_head_pub = p.cq_head_seen - 1; });
        reader = 'c';
        add("the server sets the sq head past the tail",
            [&](Plain& h) { h.sq_head_pub = p.sq_tail + 1; });
        add("the server sets the sq head backwards",
            [&](Plain& h) { h.sq_head_pub = p.sq_head_seen - 1; });
        reader = 's';
        add("the client announces closing", [&](Plain& h) { h.client_closed = 1; });
        struct Forged {
            std::uint16_t opcode;
            U32 buffer;
            U32 length;
            std::uint64_t target;
        };
        const U32 bufs = cfg_.buffer_count;
        std::vector<Forged> forged{
            {kServiceOp, 0, cfg_.buffer_size + 1, 0},
            {kServiceOp, bufs, 0, 0},
            {kCancelOp, 0, 0, U32(p.op_tag[0])},
            {kCancelOp, kNoBuf, 0, U32(p.op_tag[0]) | (std::uint64_t(1) << 32)},
            {kCancelOp, kNoBuf, 0, U32(p.op_tag[cap - 1])},
            {std::uint16_t(cfg_.op_limit), kNoBuf, 0, 0},
        };
        for (std::size_t i = 0; i < forged.size(); ++i) {
            add("the client publishes a forged submission (" + std::to_string(i) + ")",
                [&](Plain& h) {
                    U32 at = R::ring_slot<U32>(U32(p.sq_tail_pub), cap);
                    h.sq_tail_pub = U32(p.sq_tail_pub) + 1;
                    h.sq_tag[at] = 0x1234'0000 | (i % cap);
                    h.sq_opcode[at] = forged[i].opcode;
                    h.sq_buffer[at] = forged[i].buffer;
                    h.sq_length[at] = forged[i].length;
                    h.sq_target[at] = U32(forged[i].target);
                    h.sq_target_hi[at] = (forged[i].target >> 32) != 0 ? 1 : 0;
                });
        }
        return v;
    }

    RefineConfig cfg_;
    ipc::Geometry geometry_;
    ipc::Layout layout_;
    AlignedBytes shared_;
    AlignedBytes cstore_;
    AlignedBytes sstore_;
    ipc::Client client_;
    ipc::Server server_;
    ipc::Client other_;  // never created: owns the "another client's" handles
    mutable z3::context ctx_;
    Model m_;
    Plain shape_;
    Plain cur_;
    State cur_state_;
    Layout lay_;
    std::string hostile_what_;
    std::vector<char> readers_;
    char hostile_reader_ = 'c';
    bool expanding_ = false;
    unsigned depth_ = 0;
    std::set<std::vector<std::uint64_t>> seen_;
    std::deque<std::pair<Plain, unsigned>> queue_;
    std::set<std::vector<std::uint64_t>> visited_;
    std::vector<std::pair<std::string, Plain>> succ_;  // (call, successor) of the last state
    bool quiet_ = false;  // re-running a state for its successors: not counted
    std::size_t scenario_stops_ = 0;
    std::string fail_;
    std::size_t states_ = 0, hostile_states_ = 0, calls_ = 0, frontier_ = 0;
};

}  // namespace

std::string refinement_context() {
    if (g_state == nullptr)
        return g_call;
    return g_call + " from the model state" + describe(*g_state);
}

RefineReport check_refinement(const RefineConfig& config) {
    RefineReport rep;
    Refiner r(config);
    r.run(rep);
    return rep;
}

}  // namespace keel::spec
