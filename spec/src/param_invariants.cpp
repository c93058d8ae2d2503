// Invariants I1..I7 of spec/ipc.md §6 for every capacity and buffer count (param_model.hpp):
// the same conjuncts as invariants.cpp, with "for each slot/record/ring entry/buffer" as a
// quantifier and each count or "exactly one" stated through the ghost fields:
//   - a count n of a set S: ranks, a bijection between S and [0, n) (so n = |S|);
//   - "exactly one entry per live slot": loc_* names the place of the slot's request, and each
//     entry naming a live slot is that place (so two entries would be one);
//   - "exactly one lender/holder per buffer": lender/holder name it and point back.
#include <spec/param_model.hpp>

#include <ipc/abi.hpp>
#include <ipc/rules.hpp>

namespace keel::spec::param {

namespace R = keel::ipc::rules;

namespace {
constexpr std::uint32_t kNoBuf = keel::ipc::abi::kNoBuffer;
}

std::vector<Named> PModel::invariants(const PState& s, bool free_sets) const {
    std::vector<Named> v;
    auto add = [&](const char* g, char side, const std::string& n, const expr& e) {
        v.push_back(Named{g, side, n, e});
    };
    auto B = [&](std::uint64_t x) { return bv(x); };
    auto copen = s.cmode == B(kCOpen);
    auto sopen = s.smode == B(kSOpen);
    auto slot_of = [](const expr& tag) { return R::tag_slot<expr>(tag); };
    auto tag_of = [&](const expr& k) { return R::tag_make<expr>(k, sel(s.c_gen, k)); };
    auto every_slot = [&](const std::function<expr(const expr&)>& f) {
        return forall_below("k", cap, f);
    };
    auto every_buffer = [&](const std::function<expr(const expr&)>& f) {
        return forall_below("b", nb, f);
    };
    // Ring entries by absolute index (integers; the window conditions are in the bodies).
    auto every_sq = [&](const std::function<expr(const expr&)>& f) {
        auto i = ctx_.int_const("i!sq");
        return z3::forall(i, f(i));
    };
    auto every_cq = [&](const std::function<expr(const expr&)>& f) {
        auto i = ctx_.int_const("i!cq");
        return z3::forall(i, f(i));
    };
    auto every_record = [&](const std::function<expr(const expr&)>& f) {
        return forall_below("r", cap, f);
    };
    auto at_pos = [&](const expr& tag, std::uint32_t kind, const expr& pos) {
        auto k = slot_of(tag);
        return sel(s.loc_kind, k) == B(kind) && sel(s.loc_pos, k) == pos;
    };
    auto at_rec = [&](const expr& tag, const expr& r) {
        auto k = slot_of(tag);
        return sel(s.loc_kind, k) == B(kLocOp) && sel(s.loc_rec, k) == r;
    };
    // The completion entries the client will still read: the ring while open, the part seen at
    // teardown while draining.
    auto cq_in = [&](const expr& j) {
        return (copen && in_cq(s, j)) || (!copen && s.drained == B(0) && in_drain(s, j));
    };
    // n = |{x < C : member(x)}| through the ghost ranks: a bijection with [0, n).
    auto ranked = [&](const char* var, const expr& rank, const expr& elem, const expr& n,
                      const std::function<expr(const std::function<expr(const expr&)>&)>& every,
                      const std::function<expr(const expr&)>& member) {
        auto i = ctx_.int_const(var);
        return n >= this->n(0) && every([&](const expr& x) {
                   auto r = sel(rank, x);
                   return z3::implies(member(x), this->n(0) <= r && r < n && sel(elem, r) == x);
               }) &&
               z3::forall(i, z3::implies(this->n(0) <= i && i < n,
                                         z3::ult(sel(elem, i), cap) && member(sel(elem, i)) &&
                                             sel(rank, sel(elem, i)) == i));
    };

    // ---- I7 ring arithmetic (absolute indices) ------------------------------------------
    auto chain = [&](const std::vector<expr>& xs, const expr& limit) {
        expr r = ctx_.bool_val(true);
        for (std::size_t i = 0; i + 1 < xs.size(); ++i)
            r = r && xs[i] <= xs[i + 1];
        return r && xs.back() <= limit;
    };
    add("I7", 'c', "client sq: head_seen <= tail <= head_seen + cap",
        chain({s.sq_head_seen, s.sq_tail}, s.sq_head_seen + cap_n));
    add("I7", 'c', "client cq: head <= tail_seen <= head + cap",
        chain({s.cq_head, s.cq_tail_seen}, s.cq_head + cap_n));
    add("I7", 's', "server sq: head <= tail_seen <= head + cap",
        chain({s.sq_head, s.sq_tail_seen}, s.sq_head + cap_n));
    add("I7", 's', "server cq: head_seen <= tail <= head_seen + cap",
        chain({s.cq_head_seen, s.cq_tail}, s.cq_head_seen + cap_n));
    add("I7", 'x',
        "sq: head_seen <= head_pub <= head <= tail_seen <= tail_pub <= tail <= head_seen + cap",
        chain({s.sq_head_seen, s.sq_head_pub, s.sq_head, s.sq_tail_seen, s.sq_tail_pub, s.sq_tail},
              s.sq_head_seen + cap_n));
    add("I7", 'x', "cq: head_seen <= head <= tail_seen <= tail_pub <= tail <= head_seen + cap",
        chain({s.cq_head_seen, s.cq_head, s.cq_tail_seen, s.cq_tail_pub, s.cq_tail},
              s.cq_head_seen + cap_n));
    add("I7", 'x', "cq head published as consumed", s.cq_head_pub == s.cq_head);
    add("I7", 'x', "cq tail published = server's record of it", s.cq_published == s.cq_tail_pub);

    // ---- I3 credit ----------------------------------------------------------------------
    add("I3", 'c', "outstanding = |live client slots| (ranks)",
        s.outstanding <= cap_n && ranked("i!crank", s.c_rank, s.c_elem, s.outstanding, every_slot,
                                         [&](const expr& k) { return live(s, k); }));
    add("I3", 's', "ops_live = |active op records| (ranks)",
        ranked("i!rrank", s.r_rank, s.r_elem, s.ops_live, every_record,
               [&](const expr& r) { return active(s, r); }));
    // The complements, for SAFE ("a free slot/record exists when the count is below cap"):
    // with the ranks above, |live| + |free| = cap_n, so count < cap_n gives a free element.
    if (free_sets) {
        add("I3", 'c', "cap - outstanding = |free client slots| (ranks)",
            ranked("i!fsrank", s.fs_rank, s.fs_elem, cap_n - s.outstanding, every_slot,
                   [&](const expr& k) { return !live(s, k); }));
        add("I3", 's', "cap - ops_live = |free op records| (ranks)",
            ranked("i!frrank", s.fr_rank, s.fr_elem, cap_n - s.ops_live, every_record,
                   [&](const expr& r) { return !active(s, r); }));
    }
    add("I3", 's', "server reservations: ops_live + (cq_tail - cq_head_seen) <= cap",
        s.ops_live <= cap_n && span(s.cq_head_seen, s.cq_tail) <= cap_n - s.ops_live);

    // ---- I1 single owner ------------------------------------------------------------------
    add("I1", 'c', "a live slot's buffer is Lent, by that slot", every_slot([&](const expr& k) {
            auto b = sel(s.c_buf, k);
            return z3::implies(
                live(s, k) && !(b == B(kNoBuf)),
                z3::ult(b, nb) && sel(s.bstate, b) == B(R::kBufLent) && sel(s.lender, b) == k);
        }));
    add("I1", 'c', "a Lent buffer's lender is a live slot lending it",
        every_buffer([&](const expr& b) {
            auto k = sel(s.lender, b);
            return z3::implies(sel(s.bstate, b) == B(R::kBufLent),
                               z3::ult(k, cap) && live(s, k) && sel(s.c_buf, k) == b);
        }));
    add("I1", 'c', "slots: a free slot holds no buffer, a Cancel lends none",
        every_slot([&](const expr& k) {
            auto nob = sel(s.c_buf, k) == B(kNoBuf);
            return z3::implies(!live(s, k), nob) &&
                   z3::implies(live(s, k) && sel(s.c_cancel, k) == B(1), nob);
        }));
    add("I1", 's', "an active op's buffer is held, by that op", every_record([&](const expr& r) {
            auto b = sel(s.op_buf, r);
            return z3::implies(
                active(s, r) && !(b == B(kNoBuf)),
                z3::ult(b, nb) && sel(s.held, b) == B(R::kHeldYes) && sel(s.holder, b) == r);
        }));
    add("I1", 's', "a held buffer's holder is an active op holding it",
        every_buffer([&](const expr& b) {
            auto r = sel(s.holder, b);
            return z3::implies(sel(s.held, b) == B(R::kHeldYes),
                               z3::ult(r, cap) && active(s, r) && sel(s.op_buf, r) == b);
        }));
    add("I1", 'x', "held by server => lent by client, by the slot whose op holds it",
        every_buffer([&](const expr& b) {
            auto k = sel(s.lender, b);
            return z3::implies(copen && sel(s.held, b) == B(R::kHeldYes),
                               sel(s.bstate, b) == B(R::kBufLent) &&
                                   sel(s.loc_kind, k) == B(kLocOp) &&
                                   sel(s.loc_rec, k) == sel(s.holder, b));
        }));

    // ---- I2 exactly once ----------------------------------------------------------------
    // Torn down, a slot is freed (its generation advanced) while requests or ops with its old
    // tag may remain; it never becomes live again. So every entry's tag names a slot in range
    // that is free or of the tag's generation, whatever the modes.
    auto current_or_free = [&](const expr& tag) {
        auto k = slot_of(tag);
        return R::completion_slot_in_range<expr>(tag, cap) &&
               z3::implies(live(s, k), sel(s.c_gen, k) == R::tag_gen<expr>(tag));
    };
    add("I2", 'x', "a queued request's slot is free or of its generation",
        every_sq([&](const expr& j) {
            return z3::implies(in_sq(s, j), current_or_free(sel(s.sq_tag, j)));
        }));
    add("I2", 'x', "an active op's slot is free or of its generation",
        every_record([&](const expr& r) {
            return z3::implies(active(s, r), current_or_free(sel(s.op_tag, r)));
        }));
    add("I2", 'x', "a posted completion's slot is free or of its generation",
        every_cq([&](const expr& j) {
            return z3::implies(in_cq(s, j), current_or_free(sel(s.cq_tag, j)));
        }));
    add("I2", 'x', "open: every queued request names a live slot", every_sq([&](const expr& j) {
            return z3::implies(copen && in_sq(s, j), names_live(s, sel(s.sq_tag, j)));
        }));
    add("I2", 'x', "open: every active op names a live slot", every_record([&](const expr& r) {
            return z3::implies(copen && active(s, r), names_live(s, sel(s.op_tag, r)));
        }));
    add("I2", 'x', "every completion still to be read names a live slot",
        every_cq(
            [&](const expr& j) { return z3::implies(cq_in(j), names_live(s, sel(s.cq_tag, j))); }));
    add("I2", 'x', "a request naming a live slot is that slot's one place",
        every_sq([&](const expr& j) {
            auto t = sel(s.sq_tag, j);
            return z3::implies(in_sq(s, j) && names_live(s, t), at_pos(t, kLocSq, j));
        }));
    add("I2", 'x', "an op naming a live slot is that slot's one place",
        every_record([&](const expr& r) {
            auto t = sel(s.op_tag, r);
            return z3::implies(active(s, r) && names_live(s, t), at_rec(t, r));
        }));
    add("I2", 'x', "a completion naming a live slot is that slot's one place",
        every_cq([&](const expr& j) {
            auto t = sel(s.cq_tag, j);
            return z3::implies(in_cq(s, j) && names_live(s, t), at_pos(t, kLocCq, j));
        }));
    add("I2", 'x', "both open: every live slot has its place (request, op or completion)",
        every_slot([&](const expr& k) {
            auto kind = sel(s.loc_kind, k);
            auto i = sel(s.loc_pos, k);
            auto r = sel(s.loc_rec, k);
            auto t = tag_of(k);
            auto there =
                (kind == B(kLocSq) && in_sq(s, i) && sel(s.sq_tag, i) == t) ||
                (kind == B(kLocOp) && z3::ult(r, cap) && active(s, r) && sel(s.op_tag, r) == t) ||
                (kind == B(kLocCq) && in_cq(s, i) && sel(s.cq_tag, i) == t);
            return z3::implies(copen && sopen && live(s, k), there);
        }));

    // ---- I4 buffer return, I5 cancel statuses --------------------------------------------
    add("I4", 'x', "open: a request lends exactly its slot's buffer, as its slot says",
        every_sq([&](const expr& j) {
            auto k = slot_of(sel(s.sq_tag, j));
            auto buf = sel(s.sq_buffer, j);
            auto is_cancel = sel(s.sq_opcode, j) == B(std::uint32_t(keel::ipc::abi::Op::Cancel));
            auto len = sel(s.sq_length, j);
            return z3::implies(copen && in_sq(s, j),
                               buf == sel(s.c_buf, k) &&
                                   is_cancel == (sel(s.c_cancel, k) == B(1)) &&
                                   sel(s.sq_target_hi, j) == B(0) &&
                                   z3::ite(buf == B(kNoBuf), len == B(0), z3::ule(len, bsize)));
        }));
    add("I4", 'x', "open: an op holds exactly its slot's buffer", every_record([&](const expr& r) {
            return z3::implies(copen && active(s, r),
                               sel(s.op_buf, r) == sel(s.c_buf, slot_of(sel(s.op_tag, r))));
        }));
    add("I4", 'x', "a completion returns exactly its slot's buffer", every_cq([&](const expr& j) {
            return z3::implies(cq_in(j),
                               sel(s.cq_buffer, j) == sel(s.c_buf, slot_of(sel(s.cq_tag, j))));
        }));
    add("I5", 'x', "open: an op is not a Cancel", every_record([&](const expr& r) {
            return z3::implies(copen && active(s, r),
                               sel(s.c_cancel, slot_of(sel(s.op_tag, r))) == B(0));
        }));
    add("I5", 's', "cancel flag only on taken ops", every_record([&](const expr& r) {
            return z3::implies(!(sel(s.op_state, r) == B(R::kOpTaken)), sel(s.op_flag, r) == B(0));
        }));
    add("I5", 'x', "a completion's status is allowed for its slot", every_cq([&](const expr& j) {
            auto k = slot_of(sel(s.cq_tag, j));
            return z3::implies(cq_in(j), R::completion_status_valid<expr>(sel(s.c_cancel, k),
                                                                          sel(s.cq_status, j)));
        }));

    // ---- I6 teardown ---------------------------------------------------------------------
    add("I6", 'c', "open: nothing drained yet",
        z3::implies(copen, s.drained == B(0) && s.cursor == B(0)));
    add("I6", 'c', "torn down: drain limit = tail seen at teardown",
        z3::implies(!copen, s.drain_limit == s.cq_tail_seen));
    add("I6", 'c', "cursor <= cap, 0 until drained",
        z3::ule(s.cursor, cap) && z3::implies(s.drained == B(0), s.cursor == B(0)));
    add("I6", 'c', "slots behind the cursor are completed",
        every_slot([&](const expr& k) { return z3::implies(z3::ult(k, s.cursor), !live(s, k)); }));
    add("I6", 'x', "torn down: at most one completion per slot left to drain (its place)",
        every_cq([&](const expr& j) {
            auto t = sel(s.cq_tag, j);
            return z3::implies(!copen && s.drained == B(0) && in_drain(s, j) && names_live(s, t),
                               at_pos(t, kLocCq, j));
        }));
    return v;
}

}  // namespace keel::spec::param
