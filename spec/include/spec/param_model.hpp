// The protocol state machine of spec/ipc.md for EVERY ring capacity and buffer table size at
// once: capacity C = 2^e (e < 16, symbolic) and the buffer count NB (symbolic, <= 0xFFFE).
// The steps are steps.hpp's transition relation, the one Model (model.hpp) runs too; this class
// is its storage representation here. Per-slot, per-record, per-buffer and per-ring-entry
// state are Z3 arrays indexed by 32-bit bit-vectors, and the invariants quantify over their
// indices. Every guard and effect is the shipped rule function of ipc/rules.hpp: over z3::expr,
// exactly as in model.hpp, and the ring and credit rules over ModWord (mod_word.hpp), on the
// integer counters' residues. STORAGE (spec/src/storage_proofs.cpp) proves that this class's
// table and search primitives agree with the concrete model's at capacities 1, 2 and 4; BRIDGE
// and BRIDGE.words that its word operations and ring and credit rules agree with the concrete
// model's on every word.
//
// What the concrete model computes by looping over a table (a count, a search, a bulk update)
// is stated here by its defining property:
//   - "no free/pooled/queued element" and "the lowest matching element" are universally
//     quantified conditions on a nondeterministic choice;
//   - counts (outstanding = live slots, ops_live = active records) are related to the sets by
//     ghost ranks: a bijection between the set and [0, count) (see `ranked` in the invariants);
//   - "exactly one" (I1, I2) by ghost witnesses: for each live slot the place of its one
//     request (loc_kind, loc_idx), for each lent buffer its lender, for each held buffer its
//     holder, with every entry pointing back at itself;
//   - Server::client_gone, one loop over the records, is three steps: begin (mode Dropping),
//     drop one queued record, end (flag the taken ones). No other server call runs meanwhile.
// Ghost fields never influence a step: they are only updated, and only the invariants read them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <spec/model.hpp>
#include <spec/z3_word.hpp>

namespace keel::spec::param {

using keel::spec::Named;
using keel::spec::Pick;
using keel::spec::Steps;
using z3::expr;

// clang-format off
#define KEEL_PARAM_ARRAYS(X) \
    X(c_state) X(c_gen) X(c_buf) X(c_cancel) X(bstate) X(held) \
    X(op_state) X(op_tag) X(op_buf) X(op_flag) X(op_gen) \
    X(sq_tag) X(sq_opcode) X(sq_buffer) X(sq_length) X(sq_target) X(sq_target_hi) \
    X(cq_tag) X(cq_status) X(cq_buffer)
// Ghosts: loc_* per client slot; lender/holder per buffer; ranks of the live-slot and
// active-record sets (rank: element -> position, elem: position -> element), and of their
// complements, the free slots and free records (fs_*, fr_*: onto [0, cap_n - count)).
#define KEEL_PARAM_GHOSTS(X) \
    X(loc_kind) X(loc_pos) X(loc_rec) X(lender) X(holder) X(c_rank) X(c_elem) X(r_rank) X(r_elem) \
    X(fs_rank) X(fs_elem) X(fr_rank) X(fr_elem)
// clang-format on

// Where a live slot's request is: nowhere (server gone), submission ring, op record, completion
// ring; loc_pos is then the entry's ring index, loc_rec the record.
inline constexpr std::uint32_t kLocNone = 0, kLocSq = 1, kLocOp = 2, kLocCq = 3;

struct PState {
#define KEEL_P_INIT(n) , n(c)
    explicit PState(z3::context& c)
        : ctx(&c) KEEL_SPEC_SCALARS(KEEL_P_INIT) KEEL_PARAM_ARRAYS(KEEL_P_INIT)
              KEEL_PARAM_GHOSTS(KEEL_P_INIT) {}
#undef KEEL_P_INIT
    z3::context* ctx;
#define KEEL_P_DECL(n) expr n;
    KEEL_SPEC_SCALARS(KEEL_P_DECL)
    KEEL_PARAM_ARRAYS(KEEL_P_DECL)
    KEEL_PARAM_GHOSTS(KEEL_P_DECL)
#undef KEEL_P_DECL
};

struct POut {
    PState next;
    expr err, value, r_tag, r_status, r_buffer, r_cancel;
    expr choice_ok;  // the nondeterministic choices are ones the spec allows
    // The chosen slot or record is a free one (submit, cancel, accept to queue): a choice that
    // exists only if `safe` holds, so SAFE and the `safe` goals of I8 do not assume it.
    expr alloc_ok;
    // No implementation assertion fires (KEEL_IPC_ASSERT in client.cpp / server.cpp), as
    // model.cpp's Out::safe: a free slot/record exists, a post has room, a buffer released is
    // in hand, a record taken is queued, a target completed by a Cancel was queued.
    expr safe;
};

class PModel {
  public:
    explicit PModel(z3::context& ctx);

    z3::context& ctx() const { return ctx_; }
    expr bv(std::uint64_t v) const { return ctx_.bv_val(v, 32); }

    // Parameters, all symbolic. The capacity twice: cap, a 32-bit word, bounds the slot and
    // record tables; cap_n, an integer, bounds the ring windows and the credit. Each ranges
    // over [1, kMaxCapacity] independently of the other (a superset of the real
    // configurations, which are the powers of two with cap = cap_n: nothing here needs more).
    // Then the buffer count, Geometry::buffer_size, Server::attach's op_limit.
    expr cap, cap_n, nb, bsize, op_limit;
    expr params_ok() const;
    expr n(std::int64_t v) const { return ctx_.int_val(v); }

    // Ring and credit decisions: the shipped rules of rules.hpp (ring_used, ring_has_room,
    // ring_has_entry, ring_tail_valid, ring_head_valid, credit_ok, credit_covers), called on
    // the integer counters as ModWords (mod_word.hpp): the 32-bit decision of the counters'
    // residues, by BRIDGE. Ring entries are addressed by absolute position; RING's "live
    // entries have distinct slots" is what makes that the same as ring_slot.
    expr used(const expr& head, const expr& tail) const;  // in [0, 2^32), as the code's word
    expr has_room(const expr& head, const expr& tail) const;
    expr has_entry(const expr& head, const expr& tail) const;
    expr tail_valid(const expr& head, const expr& seen, const expr& tail) const;
    expr head_valid(const expr& seen, const expr& head, const expr& tail) const;
    expr credit_ok(const expr& live_count) const;
    expr credit_covers(const expr& live_count, const expr& entries) const;
    // A counter read from shared memory (any integer: only its residue is the word the code
    // reads) as the absolute position the reader's decisions make of it: the one congruent to
    // it in [base, base + 2^32), base the reader's own counter it is measured from.
    expr unwrap(const expr& base, const expr& word) const;
    // The invariants' arithmetic: entries between two absolute positions.
    expr span(const expr& head, const expr& tail) const { return tail - head; }

    PState fresh(const std::string& prefix) const;
    PState initial(const expr& first_index) const;
    // A real configuration: cap = cap_n = 2^e, e < 16 (ipc::Geometry).
    expr real_config() const;
    // What the initial state's obligation may assume: a real configuration, and that the
    // ghost ranks of the free sets (every slot, every record) are some bijection onto
    // [0, cap_n). initial_ranks_lemma() is unsatisfiable iff the identity (k <-> position k) is
    // such a bijection in every real configuration, so the assumption can be met.
    expr initial_ok(const PState& init) const;
    expr initial_ranks_lemma() const;
    PState merge(const expr& c, const PState& a, const PState& b) const;
    expr well_typed(const PState& s) const;  // ranges of every field, by construction
    std::vector<std::pair<std::string, expr>> scalars(const PState& s) const;

    // ---- Client ----
    POut acquire(const PState& s, const expr& buffer, const expr& empty) const;
    POut release(const PState& s, const expr& buffer) const;
    POut submit(const PState& s, const expr& opcode, const expr& buffer, const expr& length,
                const expr& slot) const;
    POut cancel(const PState& s, const expr& target, const expr& slot) const;
    POut publish(const PState& s) const;
    POut reap(const PState& s, const expr& found, const expr& idx) const;
    POut peer_gone(const PState& s) const;
    POut client_close(const PState& s) const;
    // ---- Server ----
    expr server_idle(const PState& s) const;  // not inside client_gone
    POut poll_begin(const PState& s) const;
    expr accept_enabled(const PState& s) const;
    POut accept_one(const PState& s, const expr& rec, const expr& found, const expr& t,
                    int only = -1) const;
    POut poll_end(const PState& s, const expr& drained) const;
    // take's value is the handle rules::op_handle(rec, op_gen[rec]); complete takes a handle
    // and refuses one that is not current (IPC-R-054), as model.hpp.
    POut take(const PState& s, const expr& rec, const expr& none) const;
    POut complete(const PState& s, const expr& handle, const expr& status) const;
    POut server_publish(const PState& s) const;
    POut client_gone_begin(const PState& s) const;
    POut client_gone_drop(const PState& s, const expr& rec) const;
    POut client_gone_end(const PState& s) const;
    POut server_close(const PState& s) const;

    // ---- Invariants (spec/ipc.md §6, quantified) ----
    // free_sets: with the ranks of the free slots and free records (I3, for SAFE). Only P.I3
    // and the one-sided obligations need them as a hypothesis; the other P.Ik leave them out
    // (a weaker hypothesis, still a proof; P.I2 is about 4 times faster without them).
    std::vector<Named> invariants(const PState& s, bool free_sets = true) const;

    // Helpers shared with the invariants and proofs.
    expr sel(const expr& a, const expr& i) const { return z3::select(a, i); }
    expr live(const PState& s, const expr& k) const;
    expr active(const PState& s, const expr& r) const;
    expr free_slot_exists(const PState& s) const;    // some k < cap is not live
    expr free_record_exists(const PState& s) const;  // some r < cap is not active
    expr names_live(const PState& s, const expr& tag) const;
    expr in_sq(const PState& s, const expr& j) const;     // ring slot j in [sq_head, sq_tail)
    expr in_cq(const PState& s, const expr& j) const;     // ring slot j in [cq_head, cq_tail)
    expr in_drain(const PState& s, const expr& j) const;  // ring slot j in [cq_head, tail seen)
    expr forall_below(const char* var, const expr& bound,
                      const std::function<expr(const expr&)>& body) const;

    // For the parametric trace checker (param_trace.hpp), where every parameter is a numeral:
    // forall_below with a numeral bound <= 64 becomes the conjunction of its instances, and
    // client_gone_end defines the flags by stores below cap instead of a quantified fresh
    // array, so that simplify() evaluates every choice constraint. Off for the proofs.
    void set_expand_bounded(bool on) { expand_bounded_ = on; }

    // ---- Storage primitives of the transition relation (steps.hpp), beside the ring and
    // credit rules above: counters are integers, a ring entry sits at its absolute position,
    // tables are arrays, searches are their defining properties over the choices passed.
    expr one() const { return n(1); }
    expr cap_word() const { return cap; }
    expr buffers_word() const { return nb; }
    expr at(const expr& counter) const { return counter; }
    expr same_word(const expr& a, const expr& b) const;  // the 32-bit words' equality
    expr sel(const expr& a, const expr& i, const expr& /*dflt*/) const { return z3::select(a, i); }
    expr store(const expr& a, const expr& i, const expr& x) const { return z3::store(a, i, x); }
    expr store_if(const expr& c, const expr& a, const expr& i, const expr& x) const {
        return z3::ite(c, z3::store(a, i, x), a);
    }
    template <class Cond>
    Pick none_of(const expr& table, const expr& bound, Cond cond, const expr& none,
                 const char* var) const;
    template <class Cond>
    Pick lowest(Cond cond, const expr& dflt, const expr& found, const expr& idx,
                const char* var) const;
    expr flags_of_taken(const PState& s, expr& flag) const;
    void ghost_push(PState& n, const PState& s, const expr& slot, const expr& at,
                    const expr& buffer, const expr& has_buf) const;
    void ghost_free_slot(PState& n, const PState& s, const expr& slot) const;
    void ghost_post(PState& n, const expr& tag, const expr& at) const;
    void ghost_free_op(PState& n, const PState& s, const expr& r) const;
    void ghost_queue(PState& q, const PState& s1, const expr& tag, const expr& r,
                     const expr& buffer, const expr& no_buf) const;
    void ghost_drop(PState& n, const PState& s, const expr& r) const;

  private:
    template <class, class, class>
    friend class keel::spec::Steps;
    POut base(const PState& s) const;
    Steps<PModel, PState, POut> steps() const;
    void set_loc(PState& n, const expr& slot, std::uint32_t kind, const expr& pos,
                 const expr& rec) const;

    z3::context& ctx_;
    mutable unsigned fresh_vars_ = 0;
    bool expand_bounded_ = false;
};

template <class Cond>
inline Pick PModel::none_of(const expr& table, const expr& bound, Cond cond, const expr& none,
                            const char* var) const {
    auto all_not = forall_below(var, bound, [&](const expr& k) { return !cond(sel(table, k)); });
    return Pick{none, bv(0), none.is_true() ? all_not : z3::implies(none, all_not)};
}

// The lowest index below the capacity satisfying cond: when `found` is chosen, idx must be that
// index; when it is not, no index below the capacity may satisfy cond.
template <class Cond>
inline Pick PModel::lowest(Cond cond, const expr& /*dflt*/, const expr& found, const expr& idx,
                           const char* var) const {
    auto at = [&](const expr& k) {
        auto get = [k, this](const expr& table) { return sel(table, k); };
        return cond(k, get);
    };
    auto pick = z3::ite(found,
                        z3::ult(idx, cap) && at(idx) &&
                            forall_below(var, idx, [&](const expr& k) { return !at(k); }),
                        forall_below(var, cap, [&](const expr& k) { return !at(k); }));
    return Pick{found, idx, pick};
}

}  // namespace keel::spec::param
