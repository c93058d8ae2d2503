// STORAGE: the two storage representations of steps.hpp's transition relation agree on what a
// step reads of them. Model keeps a table as one word per element and computes searches and
// counts by loops; PModel keeps it as a Z3 array and states a search by its defining property
// over a nondeterministic choice. Proven here, at a fixed capacity C and buffer count B (the
// parametric model's parameters set to them), for tables related element by element below
// their length:
//   - sel: the same element at every index below the length;
//   - store, store_if: the same table afterwards below the length, at any index and condition;
//   - none_of (acquire's "no pooled buffer", take's and client_gone's "no queued record"): the
//     loop's count is zero exactly when the defining property holds, and a choice of "none"
//     is allowed exactly then (a choice of "some" is the step's to witness);
//   - lowest (reap's leftover at or after the cursor, a Cancel's target): the loop's answer
//     satisfies the defining property, and every choice satisfying it is that answer (found,
//     and the index when found);
//   - free_slot_exists, free_record_exists: the loop's count and the quantified property agree
//     (for slots, on well-typed slot states: free or live);
//   - flags_of_taken: client_gone's flags, loop and pointwise definition, agree below the length.
// Not here, and where they are: the counter primitives (the ring and credit rules on residues,
// unwrap, same_word, one) are BRIDGE's and BRIDGE.words'; at (a ring slot against an absolute
// position) is RING's "live entries have distinct slots", inside the live window of a state
// satisfying I7. Where the representations differ, a read past a table's end (Model's default,
// PModel's unconstrained element) and a search's index when it found nothing, a step's error,
// state after, constraints and results on success do not depend on them: PAST (proofs.cpp).
#include "storage_proofs.hpp"

#include "query.hpp"

#include <z3++.h>

#include <string>
#include <vector>

#include <ipc/rules.hpp>
#include <spec/model.hpp>
#include <spec/param_model.hpp>

namespace keel::spec {

namespace {

namespace R = keel::ipc::rules;
using param::PModel;

// One table in both representations, related element by element below its length.
struct Table {
    std::vector<expr> v;  // Model's
    expr a;               // PModel's
};

Table table(z3::context& c, const std::string& name, std::uint32_t len, expr& rel) {
    Table t{{}, c.constant(("p." + name).c_str(), c.array_sort(c.bv_sort(32), c.bv_sort(32)))};
    for (std::uint32_t k = 0; k < len; ++k) {
        t.v.push_back(c.bv_const(("c." + name + "[" + std::to_string(k) + "]").c_str(), 32));
        rel = rel && t.v[k] == z3::select(t.a, c.bv_val(k, 32));
    }
    return t;
}

// A Model table and a PModel table agree below the length.
expr same_below(z3::context& c, const std::vector<expr>& v, const expr& a) {
    expr all = c.bool_val(true);
    for (std::uint32_t k = 0; k < v.size(); ++k)
        all = all && v[k] == z3::select(a, c.bv_val(k, 32));
    return all;
}

}  // namespace

std::string storage(std::uint32_t cap, std::uint32_t bufs, unsigned* queries) {
    z3::context c;
    Model m(c, cap, bufs);
    PModel p(c);
    auto bv = [&](std::uint64_t v) { return c.bv_val(v, 32); };
    expr hyp = p.cap == bv(cap) && p.cap_n == p.n(cap) && p.nb == bv(bufs);
    std::string at =
        " (capacity " + std::to_string(cap) + ", " + std::to_string(bufs) + " buffers)";

    State cs = m.fresh("c.");
    param::PState ps = p.fresh("p.");
    Table slot = table(c, "c_state", cap, hyp);
    Table rec = table(c, "op_state", cap, hyp);
    Table tag = table(c, "op_tag", cap, hyp);
    Table flag = table(c, "op_flag", cap, hyp);
    Table buf = table(c, "bstate", bufs, hyp);
    cs.c_state = slot.v;
    ps.c_state = slot.a;
    cs.op_state = rec.v;
    ps.op_state = rec.a;
    cs.op_tag = tag.v;
    ps.op_tag = tag.a;
    cs.op_flag = flag.v;
    ps.op_flag = flag.a;
    cs.bstate = buf.v;
    ps.bstate = buf.a;

    auto i = c.bv_const("i", 32), x = c.bv_const("x", 32), d = c.bv_const("dflt", 32);
    auto cond = c.bool_const("cond");
    std::string ce;
    Query q{c, queries};
    auto prove = [&](const expr& h, const expr& goal, const std::string& what) {
        if (ce.empty()) {
            ce = q.run(h, {{"STORAGE", 'x', what, goal}}, [&](const z3::model& mdl) {
                // (the goal names itself: with a quantifier in it, the model may not evaluate it)
                return "COUNTEREXAMPLE to STORAGE" + at + ": " + what + "\n" + mdl.to_string() +
                       "\n";
            });
        }
    };

    // Tables.
    for (const Table* t : {&slot, &buf}) {
        auto len = bv(t->v.size());
        prove(hyp && z3::ult(i, len), m.sel(t->v, i, d) == p.sel(t->a, i, d), "sel");
        prove(hyp, same_below(c, m.store(t->v, i, x), p.store(t->a, i, x)), "store");
        prove(hyp, same_below(c, m.store_if(cond, t->v, i, x), p.store_if(cond, t->a, i, x)),
              "store_if");
    }

    // Searches that find nothing.
    auto may_acquire = [&](const expr& e) { return R::client_may_acquire<expr>(e); };
    auto queued = [&](const expr& e) { return e == bv(R::kOpQueued); };
    prove(hyp,
          m.none_of(buf.v, bv(bufs), may_acquire, c.bool_val(true), "b").cond ==
              p.none_of(buf.a, p.nb, may_acquire, c.bool_val(true), "b").choice_ok,
          "none_of, no pooled buffer");
    prove(hyp,
          m.none_of(rec.v, bv(cap), queued, c.bool_val(true), "r").cond ==
              p.none_of(rec.a, p.cap, queued, c.bool_val(true), "r").choice_ok,
          "none_of, no queued record");
    // As acquire and take call it, with the choice symbolic: choosing "none" is allowed
    // exactly when the loop finds none; choosing "some" is left to the step's own witness.
    auto none = c.bool_const("none");
    prove(hyp,
          p.none_of(buf.a, p.nb, may_acquire, none, "b").choice_ok ==
              z3::implies(none, m.none_of(buf.v, bv(bufs), may_acquire, none, "b").cond),
          "none_of, no pooled buffer, chosen");
    prove(hyp,
          p.none_of(rec.a, p.cap, queued, none, "r").choice_ok ==
              z3::implies(none, m.none_of(rec.v, bv(cap), queued, none, "r").cond),
          "none_of, no queued record, chosen");

    // Searches for the lowest: the loop's answer is the one choice the property allows.
    auto cursor = c.bv_const("cursor", 32), target = c.bv_const("target", 32),
         target_hi = c.bv_const("target_hi", 32);
    // Each search's condition over a state of either model (cs or ps).
    auto leftover = [&](const auto& st) {
        return [&, at = &st](const expr& k, const auto& get) {
            return z3::uge(k, cursor) && get(at->c_state) == bv(R::kSlotLive);
        };
    };
    auto match = [&](const auto& st) {
        return [&, at = &st](const expr&, const auto& get) {
            return target_hi == bv(0) && !(get(at->op_state) == bv(R::kOpFree)) &&
                   get(at->op_tag) == target;
        };
    };
    auto f = c.bool_const("found"), k = c.bv_const("k", 32);
    auto lowest = [&](const auto& cond_of, const expr& dflt, const char* var,
                      const std::string& what) {
        Pick mine = m.lowest(cond_of(cs), dflt, f, k, var);
        prove(hyp, p.lowest(cond_of(ps), dflt, mine.cond, mine.idx, var).choice_ok,
              "lowest, " + what + ": the loop's answer satisfies");
        prove(hyp && p.lowest(cond_of(ps), dflt, f, k, var).choice_ok,
              f == mine.cond && z3::implies(f, k == mine.idx),
              "lowest, " + what + ": only the loop's answer satisfies");
    };
    lowest(leftover, bv(cap), "k", "a leftover");
    lowest(match, bv(0), "r", "a Cancel's target");

    // Counts that say whether a free element exists.
    expr slots_typed = c.bool_val(true);
    for (auto& e : slot.v)
        slots_typed = slots_typed && z3::ult(e, bv(2));
    prove(hyp && slots_typed, m.free_slot_exists(cs) == p.free_slot_exists(ps), "free slot");
    prove(hyp, m.free_record_exists(cs) == p.free_record_exists(ps), "free record");

    // client_gone's flags.
    std::vector<expr> mflag = cs.op_flag;
    expr pflag = ps.op_flag;
    auto defined = m.flags_of_taken(cs, mflag) && p.flags_of_taken(ps, pflag);
    prove(hyp && defined, same_below(c, mflag, pflag), "flags of taken records");
    return ce;
}

}  // namespace keel::spec
