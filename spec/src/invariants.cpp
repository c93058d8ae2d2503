// Invariants I1..I7 of spec/ipc.md §6 as named conjuncts over a model State (I8 is the
// client-local and server-local subsets, kept whatever the peer writes). The composed
// invariant (all of them) is what the inductive proofs assume before a step; each group is
// an obligation of its own afterwards.
#include <spec/model.hpp>

#include <ipc/abi.hpp>
#include <ipc/rules.hpp>

namespace keel::spec {

namespace R = keel::ipc::rules;

namespace {

constexpr std::uint32_t kNoBuf = keel::ipc::abi::kNoBuffer;

// base <= x1 <= ... <= xn <= base + cap, for free-running counters (differences mod 2^32).
expr chain(const Model& m, const expr& base, const std::vector<expr>& xs) {
    expr r = m.ctx().bool_val(true);
    expr prev = m.bv(0);
    for (const auto& x : xs) {
        r = r && z3::ule(prev, x - base);
        prev = x - base;
    }
    return r && z3::ule(prev, m.bv(m.cap()));
}

// Ring slot j holds an entry of [head, tail) (given tail - head <= cap).
expr in_window(const Model& m, std::uint32_t j, const expr& head, const expr& tail) {
    auto off = R::ring_slot<expr>(m.bv(j) - head, m.bv(m.cap()));
    return z3::ult(off, R::ring_used<expr>(head, tail));
}

// The tag names a live client slot of the current generation (IPC-R-020/021).
expr names_live(const Model& m, const State& s, const expr& tag) {
    auto slot = R::tag_slot<expr>(tag);
    return R::completion_slot_in_range<expr>(tag, m.bv(m.cap())) &&
           m.sel(s.c_state, slot, m.bv(R::kSlotFree)) == m.bv(R::kSlotLive) &&
           m.sel(s.c_gen, slot, m.bv(0)) == R::tag_gen<expr>(tag);
}

}  // namespace

std::vector<Named> Model::invariants(const State& s) const {
    std::vector<Named> v;
    auto add = [&](const char* g, char side, const std::string& n, const expr& e) {
        v.push_back(Named{g, side, n, e});
    };
    auto B = [&](std::uint32_t x) { return bv(x); };
    auto live = [&](std::uint32_t k) { return s.c_state[k] == B(R::kSlotLive); };
    auto active = [&](std::uint32_t r) { return !(s.op_state[r] == B(R::kOpFree)); };
    auto copen = s.cmode == B(kCOpen);
    auto sopen = s.smode == B(kSOpen);

    // ---- I7 ring arithmetic -----------------------------------------------------------
    add("I7", 'c', "client sq: tail - head_seen <= cap",
        z3::ule(s.sq_tail - s.sq_head_seen, B(cap_)));
    add("I7", 'c', "client cq: head <= tail_seen <= head + cap",
        z3::ule(s.cq_tail_seen - s.cq_head, B(cap_)));
    add("I7", 's', "server sq: head <= tail_seen <= head + cap",
        z3::ule(s.sq_tail_seen - s.sq_head, B(cap_)));
    // (A hostile client may claim to have consumed completions not yet published: the
    // server's published tail is related to its head only in the composed system, below.)
    add("I7", 's', "server cq: head_seen <= tail <= head_seen + cap",
        z3::ule(s.cq_tail - s.cq_head_seen, B(cap_)));
    add("I7", 'x',
        "sq: head_seen <= head_pub <= head <= tail_seen <= tail_pub <= tail <= head_seen + cap",
        chain(*this, s.sq_head_seen,
              {s.sq_head_pub, s.sq_head, s.sq_tail_seen, s.sq_tail_pub, s.sq_tail}));
    add("I7", 'x', "cq: head_seen <= head <= tail_seen <= tail_pub <= tail <= head_seen + cap",
        chain(*this, s.cq_head_seen, {s.cq_head, s.cq_tail_seen, s.cq_tail_pub, s.cq_tail}));
    add("I7", 'x', "cq head published as consumed", s.cq_head_pub == s.cq_head);
    add("I7", 'x', "cq tail published = server's record of it", s.cq_published == s.cq_tail_pub);

    // ---- I3 credit ----------------------------------------------------------------------
    add("I3", 'c', "outstanding = live client slots", s.outstanding == live_count(s));
    {
        std::vector<expr> act;
        for (std::uint32_t r = 0; r < cap_; ++r)
            act.push_back(active(r));
        add("I3", 's', "ops_live = active op records", s.ops_live == count(act));
    }
    add("I3", 's', "server reservations: ops_live + (cq_tail - cq_head_seen) <= cap",
        z3::ule(s.ops_live, B(cap_)) &&
            z3::ule(R::ring_used<expr>(s.cq_head_seen, s.cq_tail), B(cap_) - s.ops_live));

    // ---- I1 single owner ------------------------------------------------------------------
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        std::vector<expr> lent_by, held_by;
        for (std::uint32_t k = 0; k < cap_; ++k) {
            lent_by.push_back(live(k) && s.c_buf[k] == B(b));
            held_by.push_back(active(k) && s.op_buf[k] == B(b));
        }
        auto lent = s.bstate[b] == B(R::kBufLent);
        add("I1", 'c', "buffer " + std::to_string(b) + ": Lent iff exactly one live slot lent it",
            count(lent_by) == z3::ite(lent, B(1), B(0)));
        add("I1", 's', "buffer " + std::to_string(b) + ": held iff exactly one active op holds it",
            count(held_by) == s.held[b]);
        add("I1", 'x', "buffer " + std::to_string(b) + ": held by server => lent by client",
            z3::implies(copen && s.held[b] == B(R::kHeldYes), lent));
    }
    for (std::uint32_t k = 0; k < cap_; ++k) {
        auto ks = std::to_string(k);
        auto nb = s.c_buf[k] == B(kNoBuf);
        add("I1", 'c', "slot " + ks + ": lent buffer id in range",
            z3::implies(live(k), nb || z3::ult(s.c_buf[k], B(buffers_))));
        add("I1", 'c', "slot " + ks + ": a free slot holds no buffer", z3::implies(!live(k), nb));
        add("I1", 'c', "slot " + ks + ": a Cancel lends no buffer",
            z3::implies(live(k) && s.c_cancel[k] == B(1), nb));
        add("I1", 's', "op " + ks + ": held buffer id in range",
            z3::implies(active(k), s.op_buf[k] == B(kNoBuf) || z3::ult(s.op_buf[k], B(buffers_))));
    }

    // ---- I2 exactly once, I4 buffer return, I5 cancel statuses (client open) -----------
    for (std::uint32_t k = 0; k < cap_; ++k) {
        auto t = tag_of(s, k);
        std::vector<expr> where;
        for (std::uint32_t j = 0; j < cap_; ++j) {
            where.push_back(in_window(*this, j, s.sq_head, s.sq_tail) && s.sq_tag[j] == t);
            where.push_back(active(j) && s.op_tag[j] == t);
            where.push_back(in_window(*this, j, s.cq_head, s.cq_tail) && s.cq_tag[j] == t);
        }
        auto n = count(where);
        auto one = z3::ite(live(k), B(1), B(0));
        auto ks = std::to_string(k);
        add("I2", 'x', "slot " + ks + ": exactly one request/op/completion while both open",
            z3::implies(copen && sopen, n == one));
        add("I2", 'x', "slot " + ks + ": at most one once the server is gone",
            z3::implies(copen, z3::ule(n, one)));
    }
    for (std::uint32_t j = 0; j < cap_; ++j) {
        auto js = std::to_string(j);
        // Submission ring.
        {
            auto t = s.sq_tag[j];
            auto slot = R::tag_slot<expr>(t);
            auto in = copen && in_window(*this, j, s.sq_head, s.sq_tail);
            auto cbuf = sel(s.c_buf, slot, B(0));
            auto ccan = sel(s.c_cancel, slot, B(0));
            auto is_cancel = s.sq_opcode[j] == B(std::uint32_t(keel::ipc::abi::Op::Cancel));
            add("I2", 'x', "sq[" + js + "] names a live slot",
                z3::implies(in, names_live(*this, s, t)));
            add("I4", 'x', "sq[" + js + "] lends its slot's buffer",
                z3::implies(in, s.sq_buffer[j] == cbuf));
            add("I4", 'x', "sq[" + js + "] is a Cancel iff its slot is",
                z3::implies(in, (is_cancel == (ccan == B(1))) && s.sq_target_hi[j] == B(0)));
            add("I4", 'x', "sq[" + js + "] length fits its buffer",
                z3::implies(in, z3::ite(s.sq_buffer[j] == B(kNoBuf), s.sq_length[j] == B(0),
                                        z3::ule(s.sq_length[j], bsize))));
        }
        // Op records.
        {
            auto t = s.op_tag[j];
            auto slot = R::tag_slot<expr>(t);
            auto in = copen && active(j);
            add("I2", 'x', "op " + js + " names a live slot",
                z3::implies(in, names_live(*this, s, t)));
            add("I4", 'x', "op " + js + " holds its slot's buffer",
                z3::implies(in, s.op_buf[j] == sel(s.c_buf, slot, B(0))));
            add("I5", 'x', "op " + js + " is not a Cancel",
                z3::implies(in, sel(s.c_cancel, slot, B(1)) == B(0)));
            add("I5", 's', "op " + js + ": cancel flag only on taken ops",
                z3::implies(!(s.op_state[j] == B(R::kOpTaken)), s.op_flag[j] == B(0)));
        }
        // Completion ring: [cq_head, cq_tail) while open; [cq_head, drain limit) in teardown.
        {
            auto t = s.cq_tag[j];
            auto slot = R::tag_slot<expr>(t);
            auto in =
                (copen && in_window(*this, j, s.cq_head, s.cq_tail)) ||
                (!copen && s.drained == B(0) && in_window(*this, j, s.cq_head, s.cq_tail_seen));
            add("I2", 'x', "cq[" + js + "] names a live slot",
                z3::implies(in, names_live(*this, s, t)));
            add("I4", 'x', "cq[" + js + "] returns exactly its op's buffer",
                z3::implies(in, s.cq_buffer[j] == sel(s.c_buf, slot, B(0))));
            add("I5", 'x', "cq[" + js + "] status allowed for its slot",
                z3::implies(in, R::completion_status_valid<expr>(sel(s.c_cancel, slot, B(0)),
                                                                 s.cq_status[j])));
        }
    }

    // ---- I6 teardown ---------------------------------------------------------------------
    add("I6", 'c', "open: nothing drained yet",
        z3::implies(copen, s.drained == B(0) && s.cursor == B(0)));
    add("I6", 'c', "torn down: drain limit = tail seen at teardown",
        z3::implies(!copen, s.drain_limit == s.cq_tail_seen));
    add("I6", 'c', "cursor <= cap, 0 until drained",
        z3::ule(s.cursor, B(cap_)) && z3::implies(s.drained == B(0), s.cursor == B(0)));
    for (std::uint32_t k = 0; k < cap_; ++k) {
        add("I6", 'c', "slot " + std::to_string(k) + ": completed if behind the cursor",
            z3::implies(z3::ult(B(k), s.cursor), !live(k)));
        std::vector<expr> in_cq;
        for (std::uint32_t j = 0; j < cap_; ++j) {
            in_cq.push_back(in_window(*this, j, s.cq_head, s.cq_tail_seen) &&
                            s.cq_tag[j] == tag_of(s, k));
        }
        add("I6", 'x', "slot " + std::to_string(k) + ": at most one completion left to drain",
            z3::implies(!copen && s.drained == B(0), z3::ule(count(in_cq), B(1))));
    }
    return v;
}

expr Model::client_local(const State& s) const {
    expr r = ctx_.bool_val(true);
    for (auto& n : invariants(s)) {
        if (n.side == 'c')
            r = r && n.e;
    }
    return r;
}

expr Model::server_local(const State& s) const {
    expr r = ctx_.bool_val(true);
    for (auto& n : invariants(s)) {
        if (n.side == 's')
            r = r && n.e;
    }
    return r;
}

}  // namespace keel::spec
