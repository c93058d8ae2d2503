// The transition relation of spec/ipc.md over arrays, for a symbolic capacity and buffer count
// (param_model.hpp). Each function is model.cpp's function of the same name with the table
// loops replaced by array stores or by the defining property of what the loop computes, plus
// the ghost updates the quantified invariants need. Ring counters, counts and ring indices are
// integers (see PModel::used and friends); everything else is 32-bit words as in model.cpp.
#include <spec/param_model.hpp>

#include <spec/mod_word.hpp>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>

namespace keel::spec::param {

namespace R = keel::ipc::rules;
using E = keel::ipc::Error;

namespace {
std::uint32_t ec(E e) {
    return std::uint32_t(e);
}
constexpr std::uint32_t kNoBuf = keel::ipc::abi::kNoBuffer;
constexpr std::uint32_t st(keel::ipc::abi::Status s) {
    return std::uint32_t(s);
}

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

void PModel::set_loc(PState& s, const expr& slot, std::uint32_t kind, const expr& pos,
                     const expr& rec) const {
    s.loc_kind = z3::store(s.loc_kind, slot, bv(kind));
    s.loc_pos = z3::store(s.loc_pos, slot, pos);
    s.loc_rec = z3::store(s.loc_rec, slot, rec);
}

// ---------------------------------------------------------------- client ----------------

POut PModel::acquire(const PState& s, const expr& b, const expr& empty) const {
    POut o = base(s);
    // Empty exactly when no buffer is pooled; otherwise any pooled buffer may be handed out.
    o.choice_ok = z3::ite(
        empty,
        forall_below("b", nb,
                     [&](const expr& x) { return !R::client_may_acquire<expr>(sel(s.bstate, x)); }),
        z3::ult(b, nb) && R::client_may_acquire<expr>(sel(s.bstate, b)));
    o.err = R::acquire_error<expr>(
        bv(0), [&] { return ctx_.bool_val(false); },  // created: never Unset here
        [&] { return empty; });
    PState n = s;
    n.bstate = z3::store(s.bstate, b, bv(R::kBufInHand));
    o.next = merge(!empty, n, s);
    o.value = b;
    return o;
}

POut PModel::release(const PState& s, const expr& b) const {
    POut o = base(s);
    o.choice_ok = z3::ult(b, nb) && sel(s.bstate, b) == bv(R::kBufInHand);
    o.safe = R::client_may_release<expr>(sel(s.bstate, b));
    PState n = s;
    n.bstate = z3::store(s.bstate, b, bv(R::kBufPooled));
    o.next = n;
    return o;
}

POut PModel::push(const PState& s, const expr& opcode, const expr& buffer, const expr& length,
                  const expr& is_cancel, const expr& target, const expr& slot) const {
    POut o = base(s);
    auto cancel_op = bv(std::uint32_t(keel::ipc::abi::Op::Cancel));
    auto refresh = !has_room(s.sq_head_seen, s.sq_tail);
    auto head = unwrap(s.sq_head_seen, s.sq_head_pub);
    auto head_ok = head_valid(s.sq_head_seen, head, s.sq_tail);
    auto seen = z3::ite(refresh, head, s.sq_head_seen);
    expr err = R::push_error<expr>(
        bv(0), [&] { return s.cmode == bv(kCPeerGone); }, [&] { return !(s.cmode == bv(kCOpen)); },
        [&] { return is_cancel == bv(0) && opcode == cancel_op; },
        [&] { return !credit_ok(s.outstanding); }, [&] { return refresh && !head_ok; },
        [&] { return !has_room(seen, s.sq_tail); });
    o.err = err;
    auto ok = err == bv(0);
    o.safe = !ok || free_slot_exists(s);
    o.alloc_ok = !ok || (z3::ult(slot, cap) && sel(s.c_state, slot) == bv(R::kSlotFree));
    auto gen = sel(s.c_gen, slot);
    auto tag = R::tag_make<expr>(slot, gen);
    PState n = s;
    n.sq_head_seen = seen;
    n.c_state = z3::store(s.c_state, slot, bv(R::kSlotLive));
    n.c_buf = z3::store(s.c_buf, slot, buffer);
    n.c_cancel = z3::store(s.c_cancel, slot, is_cancel);
    auto has_buf = !(buffer == bv(kNoBuf));
    auto lent = R::client_after_lend<expr>(sel(s.bstate, buffer));
    n.bstate = z3::ite(has_buf, z3::store(s.bstate, buffer, lent), s.bstate);
    auto at = s.sq_tail;
    n.sq_tag = z3::store(s.sq_tag, at, tag);
    n.sq_opcode = z3::store(s.sq_opcode, at, opcode);
    n.sq_buffer = z3::store(s.sq_buffer, at, buffer);
    n.sq_length = z3::store(s.sq_length, at, length);
    n.sq_target = z3::store(s.sq_target, at, target);
    n.sq_target_hi = z3::store(s.sq_target_hi, at, bv(0));
    n.sq_tail = s.sq_tail + this->n(1);
    n.outstanding = s.outstanding + this->n(1);
    // ghosts
    set_loc(n, slot, kLocSq, at, bv(0));
    n.lender = z3::ite(has_buf, z3::store(s.lender, buffer, slot), s.lender);
    rank_add(n.c_rank, n.c_elem, s.outstanding, slot);
    rank_remove(n.fs_rank, n.fs_elem, cap_n - s.outstanding, slot);
    o.next = merge(ok, n, s);
    o.value = tag;
    return o;
}

POut PModel::submit(const PState& s, const expr& opcode, const expr& buffer, const expr& length,
                    const expr& slot) const {
    auto has_buf = !(buffer == bv(kNoBuf));
    // A handle is this client's (the model has no other), never empty.
    auto no = [&] { return ctx_.bool_val(false); };
    expr pre = z3::ite(has_buf,
                       R::lend_error<expr>(
                           bv(0), no, no, [&] { return !z3::ult(buffer, nb); },
                           [&] { return !R::client_may_lend<expr>(sel(s.bstate, buffer)); },
                           [&] { return z3::ugt(length, bsize); }),
                       R::unlent_error<expr>(bv(0), [&] { return !(length == bv(0)); }));
    POut o = push(s, opcode, buffer, length, bv(0), bv(0), slot);
    auto pre_ok = pre == bv(0);
    o.err = z3::ite(pre_ok, o.err, pre);
    o.next = merge(pre_ok, o.next, s);
    o.alloc_ok = !pre_ok || o.alloc_ok;
    o.safe = !pre_ok || o.safe;
    return o;
}

POut PModel::cancel(const PState& s, const expr& target, const expr& slot) const {
    return push(s, bv(std::uint32_t(keel::ipc::abi::Op::Cancel)), bv(kNoBuf), bv(0), bv(1), target,
                slot);
}

POut PModel::publish(const PState& s) const {
    POut o = base(s);
    PState n = s;
    n.sq_tail_pub = s.sq_tail;
    o.next = merge(s.cmode == bv(kCOpen), n, s);
    return o;
}

PState PModel::free_slot(const PState& s, const expr& slot) const {
    PState n = s;
    n.c_state = z3::store(s.c_state, slot, bv(R::kSlotFree));
    n.c_gen = z3::store(s.c_gen, slot, R::gen_next<expr>(sel(s.c_gen, slot)));
    n.c_buf = z3::store(s.c_buf, slot, bv(kNoBuf));
    n.outstanding = s.outstanding - this->n(1);
    set_loc(n, slot, kLocNone, this->n(0), bv(0));
    rank_remove(n.c_rank, n.c_elem, s.outstanding, slot);
    rank_add(n.fs_rank, n.fs_elem, cap_n - s.outstanding, slot);
    return n;
}

POut PModel::reap_ring(const PState& s) const {
    POut o = base(s);
    auto empty_now = !has_entry(s.cq_head, s.cq_tail_seen);
    auto tail = unwrap(s.cq_head, s.cq_tail_pub);
    auto tail_ok = tail_valid(s.cq_head, s.cq_tail_seen, tail);
    auto open = s.cmode == bv(kCOpen);
    auto seen = z3::ite(empty_now && open && tail_ok, tail, s.cq_tail_seen);
    auto at = s.cq_head;
    auto tag = sel(s.cq_tag, at);
    auto status = sel(s.cq_status, at);
    auto ebuf = sel(s.cq_buffer, at);
    auto slot = R::tag_slot<expr>(tag);
    auto sstate = sel(s.c_state, slot);
    auto sgen = sel(s.c_gen, slot);
    auto sbuf = sel(s.c_buf, slot);
    auto scancel = sel(s.c_cancel, slot);
    auto valid = R::completion_matches<expr>(tag, sstate, sgen, sbuf, ebuf) &&
                 R::completion_status_valid<expr>(scancel, status);
    o.err = R::reap_error<expr>(
        bv(0), [&] { return empty_now && !open; }, [&] { return empty_now && !tail_ok; },
        [&] { return !has_entry(s.cq_head, seen); },
        [&] { return !R::completion_slot_in_range<expr>(tag, cap); }, [&] { return !valid; });
    auto ok = o.err == bv(0);
    PState n = free_slot(s, slot);
    n.cq_tail_seen = seen;
    auto has_buf = !(sbuf == bv(kNoBuf));
    auto back = R::client_after_return<expr>(sel(s.bstate, sbuf));
    n.bstate = z3::ite(has_buf, z3::store(s.bstate, sbuf, back), s.bstate);
    n.cq_head = s.cq_head + this->n(1);
    n.cq_head_pub = n.cq_head;
    o.next = merge(ok, n, s);
    o.r_tag = tag;
    o.r_status = status;
    o.r_buffer = sbuf;
    o.r_cancel = scancel;
    return o;
}

// Teardown drain: the leftover is the lowest live slot at or after the cursor (found, idx are
// the choice; the choice constraint says they are exactly that).
POut PModel::reap(const PState& s, const expr& found, const expr& idx) const {
    POut ring = reap_ring(s);
    auto open = s.cmode == bv(kCOpen);
    auto try_ring = !open && s.drained == bv(0) && !(s.cq_head == s.drain_limit);
    auto ring_ok = ring.err == bv(0);

    auto pick = z3::ite(
        found,
        z3::uge(idx, s.cursor) && z3::ult(idx, cap) && live(s, idx) &&
            forall_below("k", idx,
                         [&](const expr& k) { return !(z3::uge(k, s.cursor) && live(s, k)); }),
        forall_below("k", cap,
                     [&](const expr& k) { return !(z3::uge(k, s.cursor) && live(s, k)); }));
    POut left = base(s);
    left.err = z3::ite(found, bv(0), bv(ec(E::Empty)));
    PState n = free_slot(s, idx);
    auto sbuf = sel(s.c_buf, idx);
    auto has_buf = !(sbuf == bv(kNoBuf));
    auto back = R::client_after_return<expr>(sel(s.bstate, sbuf));
    n.bstate = z3::ite(has_buf, z3::store(s.bstate, sbuf, back), s.bstate);
    n.cursor = idx + bv(1);
    n.drained = bv(1);
    left.next = merge(found, n, s);
    left.r_tag = R::tag_make<expr>(idx, sel(s.c_gen, idx));
    left.r_status = z3::ite(s.cmode == bv(kCPeerGone), R::teardown_status<expr>(bv(0)),
                            bv(st(keel::ipc::abi::Status::Cancelled)));
    left.r_buffer = sbuf;
    left.r_cancel = sel(s.c_cancel, idx);

    auto use_ring = open || (try_ring && ring_ok);
    POut o = base(s);
    o.err = z3::ite(use_ring, ring.err, left.err);
    o.next = merge(use_ring, ring.next, left.next);
    o.r_tag = z3::ite(use_ring, ring.r_tag, left.r_tag);
    o.r_status = z3::ite(use_ring, ring.r_status, left.r_status);
    o.r_buffer = z3::ite(use_ring, ring.r_buffer, left.r_buffer);
    o.r_cancel = z3::ite(use_ring, ring.r_cancel, left.r_cancel);
    o.choice_ok = pick;  // always satisfiable: the lowest live slot exists or none does
    return o;
}

POut PModel::peer_gone(const PState& s) const {
    POut o = base(s);
    auto tail = unwrap(s.cq_head, s.cq_tail_pub);
    auto ok = tail_valid(s.cq_head, s.cq_tail_seen, tail);
    PState n = s;
    n.cq_tail_seen = z3::ite(ok, tail, s.cq_tail_seen);
    n.drain_limit = n.cq_tail_seen;
    n.cmode = bv(kCPeerGone);
    o.next = merge(s.cmode == bv(kCOpen), n, s);
    return o;
}

POut PModel::client_close(const PState& s) const {
    POut o = peer_gone(s);
    PState n = o.next;
    n.cmode = bv(kCClosed);
    n.client_closed = bv(1);
    PState closed = s;
    closed.cmode = bv(kCClosed);
    o.next = merge(s.cmode == bv(kCOpen), n, merge(s.cmode == bv(kCClosed), closed, s));
    return o;
}

// ---------------------------------------------------------------- server ----------------

expr PModel::server_idle(const PState& s) const {
    return !(s.smode == bv(kSDropping));
}

POut PModel::poll_begin(const PState& s) const {
    POut o = base(s);
    auto tail = unwrap(s.sq_head, s.sq_tail_pub);
    auto head = unwrap(s.cq_head_seen, s.cq_head_pub);
    // IPC-R-012: the client's head is read only when the credit as last seen does not cover
    // every visible entry.
    auto reads_head =
        !credit_covers(s.ops_live + used(s.cq_head_seen, s.cq_tail), used(s.sq_head, tail));
    o.err = R::poll_error<expr>(
        bv(0), [&] { return s.smode == bv(kSClientGone); },
        [&] { return !(s.smode == bv(kSOpen)); }, [&] { return s.client_closed == bv(1); },
        [&] { return !tail_valid(s.sq_head, s.sq_tail_seen, tail); },
        [&] { return reads_head && !head_valid(s.cq_head_seen, head, s.cq_tail); });
    PState n = s;
    n.sq_tail_seen = tail;
    n.cq_head_seen = z3::ite(reads_head, head, s.cq_head_seen);
    o.next = merge(o.err == bv(0), n, s);
    return o;
}

expr PModel::accept_enabled(const PState& s) const {
    return s.smode == bv(kSOpen) && has_entry(s.sq_head, s.sq_tail_seen) &&
           credit_ok(s.ops_live + used(s.cq_head_seen, s.cq_tail));
}

PModel::Posted PModel::post(const PState& s, const expr& tag, const expr& status,
                            const expr& buffer) const {
    auto room = has_room(s.cq_head_seen, s.cq_tail);
    PState n = s;
    auto at = s.cq_tail;
    n.cq_tag = z3::store(s.cq_tag, at, tag);
    n.cq_status = z3::store(s.cq_status, at, status);
    n.cq_buffer = z3::store(s.cq_buffer, at, buffer);
    n.cq_tail = s.cq_tail + this->n(1);
    set_loc(n, R::tag_slot<expr>(tag), kLocCq, at, bv(0));
    return Posted{n, room};
}

PState PModel::free_op(const PState& s, const expr& r) const {
    PState n = s;
    auto buf = sel(s.op_buf, r);
    n.held = z3::ite(!(buf == bv(kNoBuf)), z3::store(s.held, buf, bv(R::kHeldNo)), s.held);
    n.op_state = z3::store(s.op_state, r, bv(R::kOpFree));
    n.op_flag = z3::store(s.op_flag, r, bv(0));
    // IPC-R-054: every handle of the record's last operation is stale from now on.
    n.op_gen = z3::store(s.op_gen, r, R::gen_next<expr>(sel(s.op_gen, r)));
    n.ops_live = s.ops_live - this->n(1);
    rank_remove(n.r_rank, n.r_elem, s.ops_live, r);
    rank_add(n.fr_rank, n.fr_elem, cap_n - s.ops_live, r);
    return n;
}

POut PModel::accept_one(const PState& s, const expr& r, const expr& found, const expr& t,
                        int only) const {
    POut o = base(s);
    using Op = keel::ipc::abi::Op;
    using St = keel::ipc::abi::Status;
    auto at = s.sq_head;
    auto tag = sel(s.sq_tag, at);
    auto opcode = sel(s.sq_opcode, at);
    auto buffer = sel(s.sq_buffer, at);
    auto length = sel(s.sq_length, at);
    auto target = sel(s.sq_target, at);
    auto target_hi = sel(s.sq_target_hi, at);
    PState s1 = s;
    s1.sq_head = s.sq_head + n(1);
    s1.sq_head_pub = s1.sq_head;

    auto no_buf = buffer == bv(kNoBuf);
    auto held_b = z3::ite(no_buf, bv(R::kHeldNo), sel(s.held, buffer));
    auto buffer_ok =
        R::buffer_id_in_range<expr>(buffer, nb) && R::server_may_hold<expr>(buffer, held_b);
    auto back = z3::ite(buffer_ok, buffer, bv(kNoBuf));
    auto is_cancel = opcode == bv(std::uint32_t(Op::Cancel));
    auto length_ok = z3::ite(no_buf, length == bv(0), z3::ule(length, bsize));
    auto bad = z3::ite(
        is_cancel, !no_buf,
        !buffer_ok || !length_ok ||
            (!(opcode == bv(std::uint32_t(Op::Nop))) &&
             (z3::ult(opcode, bv(keel::ipc::abi::kFirstServiceOp)) || z3::uge(opcode, op_limit))));
    auto nop = !is_cancel && !bad && opcode == bv(std::uint32_t(Op::Nop));
    auto queue = !is_cancel && !bad && !nop;
    auto do_cancel = is_cancel && !bad;

    Posted imm = post(s1, tag, z3::ite(bad, bv(st(St::BadRequest)), bv(st(St::Ok))), back);

    PState q = s1;
    q.op_state = z3::store(s1.op_state, r, bv(R::kOpQueued));
    q.op_tag = z3::store(s1.op_tag, r, tag);
    q.op_buf = z3::store(s1.op_buf, r, buffer);
    q.op_flag = z3::store(s1.op_flag, r, bv(0));
    q.held = z3::ite(!no_buf, z3::store(s1.held, buffer, bv(R::kHeldYes)), s1.held);
    q.ops_live = s1.ops_live + n(1);
    set_loc(q, R::tag_slot<expr>(tag), kLocOp, n(0), r);
    q.holder = z3::ite(!no_buf, z3::store(s1.holder, buffer, r), s1.holder);
    rank_add(q.r_rank, q.r_elem, s1.ops_live, r);
    rank_remove(q.fr_rank, q.fr_elem, cap_n - s1.ops_live, r);

    // Cancel's target: the lowest non-free record with the target tag (found, t: the choice).
    auto match = [&](const expr& k) {
        return target_hi == bv(0) && active(s1, k) && sel(s1.op_tag, k) == target;
    };
    auto pick = z3::ite(found,
                        z3::ult(t, cap) && match(t) &&
                            forall_below("r", t, [&](const expr& k) { return !match(k); }),
                        forall_below("r", cap, [&](const expr& k) { return !match(k); }));
    auto fbv = z3::ite(found, bv(1), bv(0));
    auto t_state = sel(s1.op_state, t);
    auto out = R::resolve_cancel<expr>(fbv, z3::ite(found, t_state, bv(0)));
    auto completes = !(out.target_completes == bv(0));
    Posted tp = post(s1, sel(s1.op_tag, t), bv(st(St::Cancelled)), sel(s1.op_buf, t));
    PState c1 = merge(completes, free_op(tp.s, t), s1);
    PState c2 = c1;
    c2.op_state = z3::store(c1.op_state, t, z3::ite(found, out.target_state, sel(c1.op_state, t)));
    c2.op_flag =
        z3::store(c1.op_flag, t, z3::ite(!(out.target_flag == bv(0)), bv(1), sel(c1.op_flag, t)));
    Posted cp = post(c2, tag, out.cancel_status, out.cancel_buffer);

    // only: build just that outcome's state (the caller asserts the outcome); smaller queries.
    o.next = only == int(kAcceptAnswer)   ? imm.s
             : only == int(kAcceptQueue)  ? q
             : only == int(kAcceptCancel) ? cp.s
                                          : merge(do_cancel, cp.s, merge(queue, q, imm.s));
    // For the proofs, which take the three outcomes one at a time.
    o.value =
        z3::ite(do_cancel, bv(kAcceptCancel), z3::ite(queue, bv(kAcceptQueue), bv(kAcceptAnswer)));
    o.choice_ok = !do_cancel || pick;
    o.alloc_ok = !queue || (z3::ult(r, cap) && sel(s.op_state, r) == bv(R::kOpFree));
    // As model.cpp: the target, if completed here, was waiting in the queue; both posts had
    // room; a queued op finds a free record; an immediate answer has room.
    o.safe =
        z3::ite(do_cancel,
                (!completes || t_state == bv(R::kOpQueued)) && (!completes || tp.room) && cp.room,
                z3::ite(queue, free_record_exists(s), imm.room));
    return o;
}

POut PModel::poll_end(const PState& s, const expr& drained) const {
    POut o = base(s);
    PState n = s;
    n.sq_head_pub = s.sq_head;
    // The code compares the two 32-bit words: equality of residues.
    auto pub = s.smode == bv(kSOpen) && !(w(s.cq_published) == w(s.cq_tail));
    n.cq_tail_pub = z3::ite(pub, s.cq_tail, s.cq_tail_pub);
    n.cq_published = z3::ite(pub, s.cq_tail, s.cq_published);
    o.next = merge(!(drained == bv(0)), n, s);
    return o;
}

POut PModel::take(const PState& s, const expr& r, const expr& none) const {
    POut o = base(s);
    auto queued = [&](const expr& k) { return sel(s.op_state, k) == bv(R::kOpQueued); };
    o.err = R::take_error<expr>(
        bv(0), [&] { return !(s.smode == bv(kSOpen)); }, [&] { return none; });
    auto ok = o.err == bv(0);
    o.choice_ok = z3::ite(none, forall_below("r", cap, [&](const expr& k) { return !queued(k); }),
                          z3::ult(r, cap) && queued(r));
    o.safe = !ok || R::server_may_take<expr>(sel(s.op_state, r));
    PState n = s;
    n.op_state = z3::store(s.op_state, r, bv(R::kOpTaken));
    o.next = merge(ok, n, s);
    o.value = R::op_handle<expr>(r, sel(s.op_gen, r));
    o.r_tag = sel(s.op_tag, r);
    o.r_buffer = sel(s.op_buf, r);
    return o;
}

POut PModel::complete(const PState& s, const expr& handle, const expr& status) const {
    POut o = base(s);
    auto r = R::op_record<expr>(handle);
    auto rs = sel(s.op_state, r);
    auto current = R::server_handle_current<expr>(handle, rs, sel(s.op_gen, r));
    auto open = s.smode == bv(kSOpen);
    auto refresh = open && !has_room(s.cq_head_seen, s.cq_tail);
    auto head = unwrap(s.cq_head_seen, s.cq_head_pub);
    auto head_ok = head_valid(s.cq_head_seen, head, s.cq_tail);
    o.err = R::complete_error<expr>(
        bv(0), [&] { return ctx_.bool_val(false); },  // attached: never Unset here
        [&] { return !z3::ult(r, cap); }, [&] { return !current; },
        [&] { return !R::completion_status_valid<expr>(bv(0), status); },
        [&] { return refresh && !head_ok; });
    PState pre = s;
    pre.cq_head_seen = z3::ite(refresh, head, s.cq_head_seen);
    Posted p = post(pre, sel(s.op_tag, r), status, sel(s.op_buf, r));
    PState n = free_op(merge(open, p.s, pre), r);
    o.next = merge(o.err == bv(0), n, s);
    o.safe = !(o.err == bv(0)) || !open || p.room;
    return o;
}

POut PModel::server_publish(const PState& s) const {
    POut o = base(s);
    PState n = s;
    n.cq_tail_pub = s.cq_tail;
    n.cq_published = s.cq_tail;
    o.next = merge(s.smode == bv(kSOpen) && !(w(s.cq_published) == w(s.cq_tail)), n, s);
    return o;
}

// Server::client_gone: when open, drop every queued record (one step each), then flag every
// taken one and become ClientGone.
POut PModel::client_gone_begin(const PState& s) const {
    POut o = base(s);
    PState n = s;
    n.smode = bv(kSDropping);
    o.next = merge(s.smode == bv(kSOpen), n, s);
    return o;
}

POut PModel::client_gone_drop(const PState& s, const expr& r) const {
    POut o = base(s);
    o.choice_ok = z3::ult(r, cap) && sel(s.op_state, r) == bv(R::kOpQueued);
    PState n = free_op(s, r);
    set_loc(n, R::tag_slot<expr>(sel(s.op_tag, r)), kLocNone, this->n(0), bv(0));
    o.next = n;
    return o;
}

POut PModel::client_gone_end(const PState& s) const {
    POut o = base(s);
    o.choice_ok = forall_below(
        "r", cap, [&](const expr& k) { return !(sel(s.op_state, k) == bv(R::kOpQueued)); });
    PState n = s;
    std::uint64_t c = 0;
    if (expand_bounded_ && cap.is_numeral_u64(c) && c <= 64) {
        // Concrete capacity (trace checker): the same flags, stored below cap.
        for (std::uint64_t r = 0; r < c; ++r) {
            n.op_flag = z3::store(
                n.op_flag, bv(r),
                z3::ite(sel(s.op_state, bv(r)) == bv(R::kOpTaken), bv(1), sel(s.op_flag, bv(r))));
        }
    } else {
        // The flags afterwards: a fresh array defined pointwise (every index, not only < C).
        n.op_flag = ctx_.constant("post.op_flag", s.op_flag.get_sort());
        auto k = ctx_.bv_const("flag.r", 32);
        o.choice_ok =
            o.choice_ok &&
            z3::forall(k, sel(n.op_flag, k) == z3::ite(sel(s.op_state, k) == bv(R::kOpTaken), bv(1),
                                                       sel(s.op_flag, k)));
    }
    n.smode = bv(kSClientGone);
    o.next = n;
    return o;
}

POut PModel::server_close(const PState& s) const {
    POut o = base(s);
    PState n = s;
    n.server_closed = bv(1);
    n.smode = bv(kSClosed);
    o.next = merge(s.smode == bv(kSClosed), s, n);
    return o;
}

}  // namespace keel::spec::param
