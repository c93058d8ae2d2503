// PModel: the storage representation of the parametric model (param_model.hpp): arrays,
// integer ring counters with the ring and credit rules on their residues, searches by their
// defining properties, and the ghost updates the quantified invariants need. Its steps are
// steps.hpp's.
#include <spec/param_model.hpp>

#include <spec/mod_word.hpp>

#include "steps.hpp"

#include <ipc/abi.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>

namespace keel::spec::param {

namespace R = keel::ipc::rules;
using E = keel::ipc::Error;

namespace {
constexpr std::uint32_t kNoBuf = keel::ipc::abi::kNoBuffer;

// Ghost ranks of a counted set: add x (not a member) at position n; remove member x by moving
// the element at position n - 1 into x's position. n is the count before the step.
void rank_add(expr& rank, expr& elem, const expr& n, const expr& x) {
    rank = z3::store(rank, x, n);
    elem = z3::store(elem, n, x);
}
void rank_remove(expr& rank, expr& elem, const expr& n, const expr& x) {
    auto one = n.ctx().int_val(1);
    auto i = z3::select(rank, x);
    auto y = z3::select(elem, n - one);
    elem = z3::store(elem, i, y);
    rank = z3::store(rank, y, i);
}
}  // namespace

PModel::PModel(z3::context& ctx)
    : cap(ctx.bv_const("capacity_word", 32)),
      cap_n(ctx.int_const("capacity")),
      nb(ctx.bv_const("buffers", 32)),
      bsize(ctx.bv_const("buffer_size", 32)),
      op_limit(ctx.bv_const("op_limit", 32)),
      ctx_(ctx) {}

expr PModel::params_ok() const {
    return z3::ule(bv(1), cap) && z3::ule(cap, bv(keel::ipc::abi::kMaxCapacity)) && cap_n >= n(1) &&
           cap_n <= n(1 << 15) && z3::ule(nb, bv(keel::ipc::abi::kMaxBuffers)) &&
           z3::ule(bsize, bv(1u << 30)) && z3::ult(op_limit, bv(0x10000));
}

namespace {
// Scalars that are ring counters or counts: integers.
bool int_scalar(const std::string& n) {
    return !(n == "cmode" || n == "smode" || n == "drained" || n == "cursor" ||
             n == "client_closed" || n == "server_closed");
}
// Arrays indexed by ring index (integer) or holding integers.
bool int_index(const std::string& n) {
    return n.rfind("sq_", 0) == 0 || n.rfind("cq_", 0) == 0 || n == "c_elem" || n == "r_elem" ||
           n == "fs_elem" || n == "fr_elem";
}
bool int_value(const std::string& n) {
    return n == "loc_pos" || n == "c_rank" || n == "r_rank" || n == "fs_rank" || n == "fr_rank";
}
}  // namespace

PState PModel::fresh(const std::string& p) const {
    PState s(ctx_);
    auto scalar = [&](const std::string& n) {
        return int_scalar(n) ? ctx_.int_const((p + n).c_str()) : ctx_.bv_const((p + n).c_str(), 32);
    };
    auto array = [&](const std::string& n) {
        auto dom = int_index(n) ? ctx_.int_sort() : ctx_.bv_sort(32);
        auto rng = int_value(n) ? ctx_.int_sort() : ctx_.bv_sort(32);
        return ctx_.constant((p + n).c_str(), ctx_.array_sort(dom, rng));
    };
#define KEEL_S(n) s.n = scalar(#n);
    KEEL_SPEC_SCALARS(KEEL_S)
#undef KEEL_S
#define KEEL_A(n) s.n = array(#n);
    KEEL_PARAM_ARRAYS(KEEL_A)
    KEEL_PARAM_GHOSTS(KEEL_A)
#undef KEEL_A
    return s;
}

PState PModel::initial(const expr& first) const {
    PState s = fresh("init.");  // ring contents and ghosts stay arbitrary
    auto k = [&](std::uint32_t v) { return z3::const_array(ctx_.bv_sort(32), bv(v)); };
    s.cmode = bv(kCOpen);
    s.smode = bv(kSOpen);
    s.sq_tail = s.sq_head_seen = s.cq_head = s.cq_tail_seen = s.drain_limit = first;
    s.sq_head = s.sq_tail_seen = s.cq_tail = s.cq_head_seen = s.cq_published = first;
    s.sq_head_pub = s.sq_tail_pub = s.cq_head_pub = s.cq_tail_pub = first;
    s.drained = s.cursor = bv(0);
    s.outstanding = s.ops_live = n(0);
    s.client_closed = s.server_closed = bv(0);
    s.c_state = k(R::kSlotFree);
    s.c_gen = k(0);
    s.c_buf = k(kNoBuf);
    s.c_cancel = k(0);
    s.op_state = k(R::kOpFree);
    s.op_buf = k(kNoBuf);
    s.op_flag = k(0);
    s.op_gen = k(0);
    s.bstate = k(R::kBufPooled);
    s.held = k(R::kHeldNo);
    return s;
}

expr PModel::real_config() const {
    auto e = ctx_.bv_const("capacity_log2", 32);
    expr pow = n(1);
    for (int j = 15; j >= 0; --j)
        pow = z3::ite(e == bv(std::uint32_t(j)), n(std::int64_t(1) << j), pow);
    return z3::ult(e, bv(16)) && cap == z3::shl(bv(1), e) && cap_n == pow;
}

expr PModel::initial_ok(const PState& s) const {
    // Every slot and every record is free: the free-set ghosts are some bijection between
    // {k < cap} and [0, cap_n). initial_ranks_lemma shows one exists (the identity).
    auto bij = [&](const char* var, const char* pos, const expr& rank, const expr& elem) {
        auto i = ctx_.int_const(pos);
        return forall_below(var, cap,
                            [&](const expr& k) {
                                auto p = sel(rank, k);
                                return n(0) <= p && p < cap_n && sel(elem, p) == k;
                            }) &&
               z3::forall(i, z3::implies(n(0) <= i && i < cap_n, z3::ult(sel(elem, i), cap) &&
                                                                     sel(rank, sel(elem, i)) == i));
    };
    return real_config() && bij("k", "i!fsrank.init", s.fs_rank, s.fs_elem) &&
           bij("r", "i!frrank.init", s.fr_rank, s.fr_elem);
}

expr PModel::initial_ranks_lemma() const {
    // The identity, k <-> position k: with k and i arbitrary (the negated universals).
    auto k = ctx_.bv_const("lemma.k", 32);
    auto i = ctx_.int_const("lemma.i");
    auto rank = z3::bv2int(k, false);
    auto elem = z3::int2bv(32, i);
    auto bij =
        z3::implies(z3::ult(k, cap), n(0) <= rank && rank < cap_n && z3::int2bv(32, rank) == k) &&
        z3::implies(n(0) <= i && i < cap_n, z3::ult(elem, cap) && z3::bv2int(elem, false) == i);
    return real_config() && !bij;
}

PState PModel::merge(const expr& c, const PState& a, const PState& b) const {
    PState s(ctx_);
#define KEEL_M(n) s.n = z3::ite(c, a.n, b.n);
    KEEL_SPEC_SCALARS(KEEL_M)
    KEEL_PARAM_ARRAYS(KEEL_M)
    KEEL_PARAM_GHOSTS(KEEL_M)
#undef KEEL_M
    return s;
}

std::vector<std::pair<std::string, expr>> PModel::scalars(const PState& s) const {
    std::vector<std::pair<std::string, expr>> f;
#define KEEL_S(n) f.emplace_back(#n, s.n);
    KEEL_SPEC_SCALARS(KEEL_S)
#undef KEEL_S
    return f;
}

expr PModel::forall_below(const char* var, const expr& bound,
                          const std::function<expr(const expr&)>& body) const {
    std::uint64_t v = 0;
    if (expand_bounded_ && bound.is_numeral_u64(v) && v <= 64) {
        expr all = ctx_.bool_val(true);
        for (std::uint64_t i = 0; i < v; ++i)
            all = all && body(bv(i));
        return all;
    }
    auto x = ctx_.bv_const((std::string(var) + "!" + std::to_string(fresh_vars_++)).c_str(), 32);
    return z3::forall(x, z3::implies(z3::ult(x, bound), body(x)));
}

expr PModel::well_typed(const PState& s) const {
    expr w = ctx_.bool_val(true);
    auto lt = [&](const expr& x, std::uint64_t v) { return z3::ult(x, bv(v)); };
    w = w && lt(s.cmode, 3) && lt(s.smode, 4) && lt(s.drained, 2) && lt(s.client_closed, 2) &&
        lt(s.server_closed, 2);
    w = w && forall_below("k", cap, [&](const expr& k) {
            return lt(sel(s.c_state, k), 2) && lt(sel(s.c_gen, k), 0x10000) &&
                   lt(sel(s.c_buf, k), 0x10000) && lt(sel(s.c_cancel, k), 2) &&
                   lt(sel(s.loc_kind, k), 4);
        });
    w = w && forall_below("r", cap, [&](const expr& r) {
            return lt(sel(s.op_state, r), 3) && lt(sel(s.op_buf, r), 0x10000) &&
                   lt(sel(s.op_flag, r), 2) && lt(sel(s.op_gen, r), 0x10000);
        });
    auto i = ctx_.int_const("wt.sq");
    w = w && z3::forall(i, lt(sel(s.sq_opcode, i), 0x10000) && lt(sel(s.sq_buffer, i), 0x10000) &&
                               lt(sel(s.sq_target_hi, i), 2));
    auto j = ctx_.int_const("wt.cq");
    w = w && z3::forall(j, lt(sel(s.cq_status, j), 0x10000) && lt(sel(s.cq_buffer, j), 0x10000));
    w = w && forall_below("b", nb, [&](const expr& b) {
            return lt(sel(s.bstate, b), 3) && lt(sel(s.held, b), 2);
        });
    return w;
}

POut PModel::base(const PState& s) const {
    auto t = ctx_.bool_val(true);
    return POut{s, bv(0), bv(0), bv(0), bv(0), bv(kNoBuf), bv(0), t, t, t};
}

expr PModel::live(const PState& s, const expr& k) const {
    return sel(s.c_state, k) == bv(R::kSlotLive);
}
expr PModel::active(const PState& s, const expr& r) const {
    return !(sel(s.op_state, r) == bv(R::kOpFree));
}
expr PModel::free_slot_exists(const PState& s) const {
    return !forall_below("k", cap, [&](const expr& k) { return live(s, k); });
}
expr PModel::free_record_exists(const PState& s) const {
    return !forall_below("r", cap, [&](const expr& r) { return active(s, r); });
}
expr PModel::names_live(const PState& s, const expr& tag) const {
    auto slot = R::tag_slot<expr>(tag);
    return R::completion_slot_in_range<expr>(tag, cap) && live(s, slot) &&
           sel(s.c_gen, slot) == R::tag_gen<expr>(tag);
}
expr PModel::in_sq(const PState& s, const expr& i) const {
    return s.sq_head <= i && i < s.sq_tail;
}
expr PModel::in_cq(const PState& s, const expr& i) const {
    return s.cq_head <= i && i < s.cq_tail;
}
expr PModel::in_drain(const PState& s, const expr& i) const {
    return s.cq_head <= i && i < s.cq_tail_seen;
}
namespace {
ModWord w(const expr& x) {
    return ModWord{x};
}
}  // namespace
expr PModel::used(const expr& head, const expr& tail) const {
    return mod32(R::ring_used<ModWord>(w(head), w(tail)).e);
}
expr PModel::has_room(const expr& head, const expr& tail) const {
    return R::ring_has_room<ModWord>(w(head), w(tail), w(cap_n));
}
expr PModel::has_entry(const expr& head, const expr& tail) const {
    return R::ring_has_entry<ModWord>(w(head), w(tail));
}
expr PModel::tail_valid(const expr& head, const expr& seen, const expr& tail) const {
    return R::ring_tail_valid<ModWord>(w(head), w(seen), w(tail), w(cap_n));
}
expr PModel::head_valid(const expr& seen, const expr& head, const expr& tail) const {
    return R::ring_head_valid<ModWord>(w(seen), w(head), w(tail));
}
expr PModel::credit_ok(const expr& live_count) const {
    return R::credit_ok<ModWord>(w(live_count), w(cap_n));
}
expr PModel::credit_covers(const expr& live_count, const expr& entries) const {
    return R::credit_covers<ModWord>(w(live_count), w(entries), w(cap_n));
}
expr PModel::unwrap(const expr& base, const expr& word) const {
    return unwrap_word(base, word);
}

expr PModel::same_word(const expr& a, const expr& b) const {
    return w(a) == w(b);
}

expr PModel::flags_of_taken(const PState& s, expr& flag) const {
    auto taken_flag = [&](const expr& r) {
        return z3::ite(sel(s.op_state, r) == bv(R::kOpTaken), bv(1), sel(s.op_flag, r));
    };
    std::uint64_t c = 0;
    if (expand_bounded_ && cap.is_numeral_u64(c) && c <= 64) {
        // Concrete capacity (trace checker): the same flags, stored below cap.
        for (std::uint64_t r = 0; r < c; ++r)
            flag = z3::store(flag, bv(r), taken_flag(bv(r)));
        return ctx_.bool_val(true);
    }
    // The flags afterwards: a fresh array defined pointwise (every index, not only < C).
    flag = ctx_.constant("post.op_flag", s.op_flag.get_sort());
    auto k = ctx_.bv_const("flag.r", 32);
    return z3::forall(k, sel(flag, k) == taken_flag(k));
}

void PModel::set_loc(PState& s, const expr& slot, std::uint32_t kind, const expr& pos,
                     const expr& rec) const {
    s.loc_kind = z3::store(s.loc_kind, slot, bv(kind));
    s.loc_pos = z3::store(s.loc_pos, slot, pos);
    s.loc_rec = z3::store(s.loc_rec, slot, rec);
}

// ---------------------------------------------------------------- ghosts -----------------
// Only updated here, only read by the invariants: no step's outcome depends on them.

void PModel::ghost_push(PState& n, const PState& s, const expr& slot, const expr& at,
                        const expr& buffer, const expr& has_buf) const {
    set_loc(n, slot, kLocSq, at, bv(0));
    n.lender = z3::ite(has_buf, z3::store(s.lender, buffer, slot), s.lender);
    rank_add(n.c_rank, n.c_elem, s.outstanding, slot);
    rank_remove(n.fs_rank, n.fs_elem, cap_n - s.outstanding, slot);
}

void PModel::ghost_free_slot(PState& n, const PState& s, const expr& slot) const {
    set_loc(n, slot, kLocNone, this->n(0), bv(0));
    rank_remove(n.c_rank, n.c_elem, s.outstanding, slot);
    rank_add(n.fs_rank, n.fs_elem, cap_n - s.outstanding, slot);
}

void PModel::ghost_post(PState& n, const expr& tag, const expr& at) const {
    set_loc(n, R::tag_slot<expr>(tag), kLocCq, at, bv(0));
}

void PModel::ghost_free_op(PState& n, const PState& s, const expr& r) const {
    rank_remove(n.r_rank, n.r_elem, s.ops_live, r);
    rank_add(n.fr_rank, n.fr_elem, cap_n - s.ops_live, r);
}

void PModel::ghost_queue(PState& q, const PState& s1, const expr& tag, const expr& r,
                         const expr& buffer, const expr& no_buf) const {
    set_loc(q, R::tag_slot<expr>(tag), kLocOp, n(0), r);
    q.holder = z3::ite(!no_buf, z3::store(s1.holder, buffer, r), s1.holder);
    rank_add(q.r_rank, q.r_elem, s1.ops_live, r);
    rank_remove(q.fr_rank, q.fr_elem, cap_n - s1.ops_live, r);
}

void PModel::ghost_drop(PState& n, const PState& s, const expr& r) const {
    set_loc(n, R::tag_slot<expr>(sel(s.op_tag, r)), kLocNone, this->n(0), bv(0));
}

// ---------------------------------------------------------------- the steps --------------
// steps.hpp's relation, with the choices the caller makes.

Steps<PModel, PState, POut> PModel::steps() const {
    return Steps<PModel, PState, POut>(*this);
}

POut PModel::acquire(const PState& s, const expr& b, const expr& empty) const {
    return steps().acquire(s, b, empty);
}
POut PModel::release(const PState& s, const expr& b) const {
    return steps().release(s, b);
}
POut PModel::submit(const PState& s, const expr& opcode, const expr& buffer, const expr& length,
                    const expr& slot) const {
    return steps().submit(s, opcode, buffer, length, slot);
}
POut PModel::cancel(const PState& s, const expr& target, const expr& slot) const {
    return steps().cancel(s, target, slot);
}
POut PModel::publish(const PState& s) const {
    return steps().publish(s);
}
POut PModel::reap(const PState& s, const expr& found, const expr& idx) const {
    return steps().reap(s, found, idx);
}
POut PModel::peer_gone(const PState& s) const {
    return steps().peer_gone(s);
}
POut PModel::client_close(const PState& s) const {
    return steps().client_close(s);
}
expr PModel::server_idle(const PState& s) const {
    return !(s.smode == bv(kSDropping));
}
POut PModel::poll_begin(const PState& s) const {
    return steps().poll_begin(s);
}
expr PModel::accept_enabled(const PState& s) const {
    return steps().accept_enabled(s);
}
POut PModel::accept_one(const PState& s, const expr& r, const expr& found, const expr& t,
                        int only) const {
    return steps().accept_one(s, r, found, t, only);
}
POut PModel::poll_end(const PState& s, const expr& drained) const {
    return steps().poll_end(s, drained);
}
POut PModel::take(const PState& s, const expr& r, const expr& none) const {
    return steps().take(s, r, none);
}
POut PModel::complete(const PState& s, const expr& handle, const expr& status) const {
    return steps().complete(s, handle, status);
}
POut PModel::server_publish(const PState& s) const {
    return steps().server_publish(s);
}
POut PModel::client_gone_begin(const PState& s) const {
    return steps().client_gone_begin(s);
}
POut PModel::client_gone_drop(const PState& s, const expr& r) const {
    return steps().client_gone_drop(s, r);
}
POut PModel::client_gone_end(const PState& s) const {
    return steps().client_gone_end(s);
}
POut PModel::server_close(const PState& s) const {
    return steps().server_close(s);
}

}  // namespace keel::spec::param
