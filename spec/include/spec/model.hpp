// The protocol state machine of spec/ipc.md as Z3 expressions, at a fixed capacity and buffer
// count. The steps are steps.hpp's transition relation, written once for this model and the
// parametric one (param_model.hpp); this class is its storage representation here: 32-bit
// words, one expression per table element, searches and counts as loops. Every guard and
// effect is computed by the shipped rule functions of ipc/rules.hpp instantiated over
// z3::expr; what the relation adds is only the sequencing Client and Server perform around
// those rules (named in spec/ipc.md, "What is shared and what is conformance-checked").
//
// The same transition functions serve the inductive proofs (state and choices symbolic) and
// the trace checker (everything concrete, simplified to numerals).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <spec/z3_word.hpp>

namespace keel::spec {

using z3::expr;

// Scalars of the state, in one list so that copying, merging and printing stay generic:
// client (cmode .. outstanding), server (smode .. ops_live), shared memory (the rest).
// clang-format off
#define KEEL_SPEC_SCALARS(X) \
    X(cmode) X(sq_tail) X(sq_head_seen) X(cq_head) X(cq_tail_seen) X(drain_limit) X(drained) \
    X(cursor) X(outstanding) \
    X(smode) X(sq_head) X(sq_tail_seen) X(cq_tail) X(cq_head_seen) X(cq_published) X(ops_live) \
    X(sq_head_pub) X(sq_tail_pub) X(cq_head_pub) X(cq_tail_pub) X(client_closed) X(server_closed)
// clang-format on

// Arrays: per client slot (capacity), per buffer, per server op record (capacity), per ring slot.
// clang-format off
#define KEEL_SPEC_SLOT_ARRAYS(X) X(c_state) X(c_gen) X(c_buf) X(c_cancel)
#define KEEL_SPEC_BUF_ARRAYS(X) X(bstate) X(held)
#define KEEL_SPEC_REC_ARRAYS(X) X(op_state) X(op_tag) X(op_buf) X(op_flag) X(op_gen)
#define KEEL_SPEC_SQ_ARRAYS(X) \
    X(sq_tag) X(sq_opcode) X(sq_buffer) X(sq_length) X(sq_target) X(sq_target_hi)
#define KEEL_SPEC_CQ_ARRAYS(X) X(cq_tag) X(cq_status) X(cq_buffer)
#define KEEL_SPEC_ARRAYS(X) \
    KEEL_SPEC_SLOT_ARRAYS(X) KEEL_SPEC_BUF_ARRAYS(X) KEEL_SPEC_REC_ARRAYS(X) \
    KEEL_SPEC_SQ_ARRAYS(X) KEEL_SPEC_CQ_ARRAYS(X)
// clang-format on

// Client modes (Client::Mode minus Unset) and server modes (Server::Mode minus Unset).
inline constexpr std::uint32_t kCOpen = 0, kCPeerGone = 1, kCClosed = 2;
inline constexpr std::uint32_t kSOpen = 0, kSClientGone = 1, kSClosed = 2;
// Server mode inside Server::client_gone, which the transition relation takes as three steps
// (begin, drop one queued record, end): not a mode of the library. Model::client_gone runs the
// three at once, so no Model state has it; PModel's states do between the steps.
inline constexpr std::uint32_t kSDropping = 3;
// accept_one's outcome, in its Out::value: answered at once (Nop, BadRequest), queued, a Cancel.
inline constexpr std::uint32_t kAcceptAnswer = 0, kAcceptQueue = 1, kAcceptCancel = 2;

struct State {
    // z3::expr has no default constructor: every scalar starts as an empty expr of `c`
    // (`ctx` only anchors the member-initialiser list the macro extends).
#define KEEL_SPEC_INIT_S(n) , n(c)
    explicit State(z3::context& c) : ctx(&c) KEEL_SPEC_SCALARS(KEEL_SPEC_INIT_S) {}
#undef KEEL_SPEC_INIT_S
    z3::context* ctx;
#define KEEL_SPEC_DECL_S(n) expr n;
#define KEEL_SPEC_DECL_A(n) std::vector<expr> n;
    KEEL_SPEC_SCALARS(KEEL_SPEC_DECL_S)
    KEEL_SPEC_ARRAYS(KEEL_SPEC_DECL_A)
#undef KEEL_SPEC_DECL_S
#undef KEEL_SPEC_DECL_A
};

// Result of one transition. err is 0 or an ipc::Error value (bv32). A failed call leaves the
// state as the spec says (usually unchanged; cached peer counters may be refreshed).
struct Out {
    State next;
    expr err;
    expr value;      // tag / buffer id / op handle / drained count
    expr r_tag;      // reap, take
    expr r_status;   // reap
    expr r_buffer;   // reap, take
    expr r_cancel;   // reap
    expr choice_ok;  // the nondeterministic choices given are ones the spec allows
    expr safe;       // no KEEL_IPC_ASSERT of the implementation can fire
    // The chosen slot or op record is a free one. Apart from choice_ok because SAFE must not
    // assume it: "a free one exists" is what SAFE proves for that choice.
    expr alloc_ok;
};

// A search's outcome in the transition relation (steps.hpp): `cond` (found, or none), the
// element `idx`, and what the nondeterministic choice must satisfy (true where the
// representation computes the search itself, as Model does).
struct Pick {
    expr cond;
    expr idx;
    expr choice_ok;
};

template <class M, class S, class O>
class Steps;

struct Named {
    std::string group;  // I1..I7
    char side;          // 'c' client-local, 's' server-local, 'x' relates both sides
    std::string name;
    expr e;
};

class Model {
  public:
    // cap: ring capacity = client slots = server op records (concrete); buffers: table size.
    Model(z3::context& ctx, std::uint32_t cap, std::uint32_t buffers);

    z3::context& ctx() const { return ctx_; }
    std::uint32_t cap() const { return cap_; }
    std::uint32_t buffers() const { return buffers_; }
    expr bv(std::uint64_t v) const { return ctx_.bv_val(v, 32); }

    State fresh(const std::string& prefix) const;  // every field a fresh constant
    State initial(const expr& first_index) const;  // after Client::create + Server::attach
    State merge(const expr& c, const State& a, const State& b) const;  // c ? a : b
    // Ranges every field has by construction (types, enum values); no protocol content.
    expr well_typed(const State& s) const;
    std::vector<std::pair<std::string, expr>> fields(const State& s) const;  // for printing

    // Environment: Geometry::buffer_size and Server::attach's op_limit.
    expr bsize, op_limit;

    // ---- Client (spec/ipc.md §3) ----
    Out acquire(const State& s, const expr& choice_buffer) const;
    Out release(const State& s, const expr& buffer) const;
    Out submit(const State& s, const expr& opcode, const expr& buffer, const expr& length,
               const expr& choice_slot) const;
    Out cancel(const State& s, const expr& target, const expr& choice_slot) const;
    Out publish(const State& s) const;
    Out reap(const State& s) const;
    Out peer_gone(const State& s) const;
    Out client_close(const State& s) const;
    // ---- Server (spec/ipc.md §4) ----
    Out poll_begin(const State& s) const;  // validate and read the client's counters
    expr accept_enabled(const State& s) const;
    Out accept_one(const State& s, const expr& choice_record) const;  // one loop turn of poll
    Out poll_end(const State& s, const expr& drained) const;  // publish heads after the loop
    // take's value is the operation's handle, rules::op_handle(record, op_gen[record]);
    // complete takes a handle and refuses one that is not current (IPC-R-054).
    Out take(const State& s, const expr& choice_record) const;
    Out complete(const State& s, const expr& handle, const expr& status) const;
    Out server_publish(const State& s) const;
    Out client_gone(const State& s) const;
    Out server_close(const State& s) const;

    // ---- Invariants (spec/ipc.md §6) ----
    std::vector<Named> invariants(const State& s) const;
    // Client-local and server-local parts (I8: what each side keeps whatever the peer does).
    expr client_local(const State& s) const;
    expr server_local(const State& s) const;

    // Helpers also used by the proofs and the checker.
    expr sel(const std::vector<expr>& v, const expr& i, const expr& dflt) const;
    std::vector<expr> upd(const std::vector<expr>& v, const expr& i, const expr& x) const;
    expr count(const std::vector<expr>& conds) const;
    expr live_count(const State& s) const;  // client slots live
    expr tag_of(const State& s, std::uint32_t slot) const;
    expr server_live(const State& s) const;  // Server::live()
    // Concrete evaluation (trace checker, refinement check): every expression simplified in
    // one pass. The fields of a step's state share its guard ("if the call succeeded, new
    // value, else old"), which one simplifier pass over all of them rewrites once instead of
    // once per field: they become the arguments of one uninterpreted function application,
    // which the simplifier leaves as it is.
    std::vector<expr> simplify_all(const std::vector<expr>& es) const;
    State simplified(const State& s) const;
    // A simplified expression as a number: 1 or 0 for a Boolean, the value of a numeral, and
    // ~0 for anything not concrete (a value no field takes, so a comparison with it fails).
    static std::uint64_t concrete(const expr& simplified);

    // ---- Storage primitives of the transition relation (steps.hpp) ----
    // Counters are 32-bit words, a ring entry sits at ring_slot of its counter, a counter read
    // from the peer is the word read, and the ring and credit rules take the capacity word.
    expr one() const { return bv(1); }
    expr cap_word() const { return bv(cap_); }
    expr buffers_word() const { return bv(buffers_); }
    expr at(const expr& counter) const;
    expr unwrap(const expr& /*base*/, const expr& word) const { return word; }
    expr same_word(const expr& a, const expr& b) const { return a == b; }
    expr used(const expr& head, const expr& tail) const;
    expr has_room(const expr& head, const expr& tail) const;
    expr has_entry(const expr& head, const expr& tail) const;
    expr tail_valid(const expr& head, const expr& seen, const expr& tail) const;
    expr head_valid(const expr& seen, const expr& head, const expr& tail) const;
    expr credit_ok(const expr& live_count) const;
    expr credit_covers(const expr& live_count, const expr& entries) const;
    // Tables: one word per element; an update by a symbolic index is an if-then-else per element.
    std::vector<expr> store(const std::vector<expr>& v, const expr& i, const expr& x) const {
        return upd(v, i, x);
    }
    std::vector<expr> store_if(const expr& c, const std::vector<expr>& v, const expr& i,
                               const expr& x) const;
    // PAST (proofs.cpp): every read past a table's end, and a search's index when it finds
    // nothing, gives a fresh unconstrained word instead of the fixed default, as PModel's
    // arrays and choices do. Off for everything else.
    void set_fresh_defaults(bool on) { fresh_defaults_ = on; }
    // Searches: loops over the elements; the choices passed are not read.
    expr free_slot_exists(const State& s) const;
    expr free_record_exists(const State& s) const;
    template <class Cond>
    Pick none_of(const std::vector<expr>& table, const expr& bound, Cond cond, const expr& none,
                 const char* var) const;
    template <class Cond>
    Pick lowest(Cond cond, const expr& dflt, const expr& found, const expr& idx,
                const char* var) const;
    expr flags_of_taken(const State& s, std::vector<expr>& flag) const;
    std::vector<expr> records() const;  // every record index, below the capacity
    // No ghost fields.
    void ghost_push(State&, const State&, const expr&, const expr&, const expr&,
                    const expr&) const {}
    void ghost_free_slot(State&, const State&, const expr&) const {}
    void ghost_post(State&, const expr&, const expr&) const {}
    void ghost_free_op(State&, const State&, const expr&) const {}
    void ghost_queue(State&, const State&, const expr&, const expr&, const expr&,
                     const expr&) const {}
    void ghost_drop(State&, const State&, const expr&) const {}

  private:
    template <class, class, class>
    friend class Steps;
    Out base(const State& s) const;
    Steps<Model, State, Out> steps() const;
    expr unknown_default() const;  // a fresh word, for set_fresh_defaults

    z3::context& ctx_;
    std::uint32_t cap_;
    std::uint32_t buffers_;
    bool fresh_defaults_ = false;
    mutable unsigned unknown_defaults_ = 0;
};

template <class Cond>
inline Pick Model::none_of(const std::vector<expr>& table, const expr& /*bound*/, Cond cond,
                           const expr& /*none*/, const char* /*var*/) const {
    std::vector<expr> conds;
    for (auto& x : table)
        conds.push_back(cond(x));
    return Pick{count(conds) == bv(0), bv(0), ctx_.bool_val(true)};
}

// The lowest index below the capacity whose elements satisfy cond (dflt if none): a loop from
// the top, each element overriding the ones above it.
template <class Cond>
inline Pick Model::lowest(Cond cond, const expr& dflt, const expr& /*found*/, const expr& /*idx*/,
                          const char* /*var*/) const {
    expr found = ctx_.bool_val(false);
    expr idx = fresh_defaults_ ? unknown_default() : dflt;
    for (std::uint32_t k = cap_; k-- > 0;) {
        auto get = [k](const std::vector<expr>& table) { return table[k]; };
        auto here = cond(bv(k), get);
        idx = z3::ite(here, bv(k), idx);
        found = found || here;
    }
    return Pick{found, idx, ctx_.bool_val(true)};
}

// Error codes as bv32 numerals.
std::uint32_t err_code(int e);

// A value of a Z3 model for counterexamples: decimal below 0x10000, hex above.
std::string value_text(const z3::model& mdl, const expr& e);

}  // namespace keel::spec
