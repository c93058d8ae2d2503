// Proof obligations (spec/ipc.md §7). Each is discharged by Z3 as "hypothesis and not goal is
// unsatisfiable"; a satisfying assignment is a counterexample to induction, printed as
// pre-state, step, post-state and the violated conjuncts.
#include <spec/proofs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <tuple>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>
#include <spec/mod_word.hpp>
#include <spec/model.hpp>
#include <spec/param_proofs.hpp>

#include "bridge_words.hpp"
#include "query.hpp"
#include "storage_proofs.hpp"

namespace keel::spec {

namespace R = keel::ipc::rules;
using E = keel::ipc::Error;

namespace {

struct Inputs {
    expr buf, slot, rec, opcode, buffer, length, target, status, drained;
};

struct Trans {
    std::string name;
    char side;  // 'c' client call, 's' server call
    Out out;
    expr guard;
};

std::vector<Trans> transitions(const Model& m, const State& s, const Inputs& in) {
    auto t = m.ctx().bool_val(true);
    return {
        {"Client::acquire(choice buffer=buf)", 'c', m.acquire(s, in.buf), t},
        {"Client::release(buffer=buf)", 'c', m.release(s, in.buf), t},
        {"Client::submit(opcode, buffer, length; choice slot)", 'c',
         m.submit(s, in.opcode, in.buffer, in.length, in.slot), t},
        {"Client::cancel(target; choice slot)", 'c', m.cancel(s, in.target, in.slot), t},
        {"Client::publish()", 'c', m.publish(s), t},
        {"Client::reap()", 'c', m.reap(s), t},
        {"Client::peer_gone()", 'c', m.peer_gone(s), t},
        {"Client::close()", 'c', m.client_close(s), t},
        {"Server::poll() begin: read and validate counters", 's', m.poll_begin(s), t},
        {"Server::poll() loop: accept one submission (choice record=rec)", 's',
         m.accept_one(s, in.rec), m.accept_enabled(s)},
        {"Server::poll() end: publish heads (drained)", 's', m.poll_end(s, in.drained), t},
        {"Server::take(choice record=rec)", 's', m.take(s, in.rec), t},
        {"Server::complete(handle=rec, status)", 's', m.complete(s, in.rec, in.status), t},
        {"Server::publish()", 's', m.server_publish(s), t},
        {"Server::client_gone()", 's', m.client_gone(s), t},
        {"Server::close()", 's', m.server_close(s), t},
    };
}

Inputs fresh_inputs(const Model& m) {
    auto& c = m.ctx();
    Inputs in{
        c.bv_const("in.buf", 32),    c.bv_const("in.slot", 32),   c.bv_const("in.rec", 32),
        c.bv_const("in.opcode", 32), c.bv_const("in.buffer", 32), c.bv_const("in.length", 32),
        c.bv_const("in.target", 32), c.bv_const("in.status", 32), c.bv_const("in.drained", 32)};
    return in;
}

expr inputs_typed(const Model& m, const Inputs& in) {
    return z3::ult(in.opcode, m.bv(0x10000)) && z3::ult(in.buffer, m.bv(0x10000)) &&
           z3::ult(in.status, m.bv(0x10000));
}

std::string num(const z3::model& mdl, const expr& e) {
    return value_text(mdl, e);
}

std::string show_state(const Model& m, const z3::model& mdl, const State& s, const State* before) {
    std::ostringstream o;
    auto f = m.fields(s);
    std::vector<std::pair<std::string, expr>> b;
    if (before)
        b = m.fields(*before);
    std::string group;
    for (std::size_t i = 0; i < f.size(); ++i) {
        auto v = num(mdl, f[i].second);
        if (before && num(mdl, b[i].second) == v)
            continue;
        auto name = f[i].first;
        auto br = name.find('[');
        auto g = br == std::string::npos ? name : name.substr(0, br);
        if (g != group || br == std::string::npos) {
            o << (group.empty() ? "    " : (br == std::string::npos ? "\n    " : "\n    "));
            group = g;
        } else {
            o << " ";
        }
        o << name << "=" << v;
        if (before)
            o << " (was " << num(mdl, b[i].second) << ")";
    }
    return o.str();
}

std::vector<Named> group_of(const std::vector<Named>& all, const std::string& g) {
    std::vector<Named> r;
    for (auto& n : all) {
        if (n.group == g)
            r.push_back(n);
    }
    return r;
}

expr conj(const Model& m, const std::vector<Named>& v, char side = 0) {
    expr r = m.ctx().bool_val(true);
    for (auto& n : v) {
        if (side == 0 || n.side == side)
            r = r && n.e;
    }
    return r;
}

std::string size_line(std::uint32_t cap, std::uint32_t bufs) {
    return "capacity " + std::to_string(cap) + ", " + std::to_string(bufs) + " buffer(s)";
}

// I1..I7 and SAFE over the composed system; I8.* over one side with the peer havocked.
std::string composed(const std::string& name, std::uint32_t cap, std::uint32_t bufs,
                     unsigned* queries) {
    z3::context ctx;
    Model m(ctx, cap, bufs);
    Query q{ctx, queries};
    State s = m.fresh("pre.");
    // Every rule depends on counter differences, and on absolute indices only through
    // ring_slot = index mod capacity (RING proves both for all 32-bit values): translating a
    // ring's counters by a multiple of the capacity changes nothing. So the base counter of
    // each ring may be taken below the capacity, which keeps the bit-blasted queries small.
    auto small = [&](const char* n) {
        unsigned bits = 0;
        while ((1u << bits) < cap)
            ++bits;
        return bits == 0 ? m.bv(0) : z3::zext(ctx.bv_const(n, bits), 32 - bits);
    };
    if (name == "I8.client") {
        s.sq_head_seen = small("pre.sq_head_seen");
        s.cq_head = small("pre.cq_head");
    } else if (name == "I8.server") {
        s.sq_head = small("pre.sq_head");
        s.cq_head_seen = small("pre.cq_head_seen");
    } else {
        s.sq_head_seen = small("pre.sq_head_seen");
        s.cq_head_seen = small("pre.cq_head_seen");
    }
    Inputs in = fresh_inputs(m);
    auto inv = m.invariants(s);
    bool hostile = name == "I8.client" || name == "I8.server";
    char side = name == "I8.client" ? 'c' : name == "I8.server" ? 's' : 0;

    auto header = [&](const std::string& what) {
        return "COUNTEREXAMPLE to " + name + " (" + size_line(cap, bufs) + "): " + what + "\n";
    };

    if (!hostile && name != "SAFE" && name != "I5.step" && name != "I6.step") {
        auto first = ctx.bv_const("first_index", 32);
        State init = m.initial(first);
        auto goals = group_of(m.invariants(init), name);
        auto ce = q.run(m.well_typed(init), goals, [&](const z3::model& mdl) {
            return header("the initial state") +
                   "  step 0: Client::create + Server::attach, first_index=" + num(mdl, first) +
                   "\n" + show_state(m, mdl, init, nullptr) + "\n";
        });
        if (!ce.empty())
            return ce;
    }

    auto ts = transitions(m, s, in);
    for (auto& t : ts) {
        if (hostile && t.side != side)
            continue;
        expr hyp = m.well_typed(s) && inputs_typed(m, in) && t.guard && t.out.choice_ok;
        hyp = hyp && (hostile ? conj(m, inv, side) : conj(m, inv));
        std::vector<Named> goals;
        if (name == "SAFE" || hostile) {
            goals.push_back(Named{"SAFE", 'x', "no implementation assertion fires", t.out.safe});
        }
        if (hostile) {
            for (auto& n : m.invariants(t.out.next)) {
                if (n.side == side)
                    goals.push_back(n);
            }
        } else if (name == "I6.step") {
            if (t.name != "Client::reap()")
                continue;
            auto torn = !(s.cmode == m.bv(kCOpen));
            goals.push_back(Named{"I6", 'c',
                                  "torn down with operations pending: reap completes one",
                                  !(torn && !(s.outstanding == m.bv(0))) || t.out.err == m.bv(0)});
            goals.push_back(Named{"I6", 'c', "torn down, nothing pending: reap says Empty",
                                  !(torn && s.outstanding == m.bv(0)) ||
                                      t.out.err == m.bv(std::uint32_t(keel::ipc::Error::Empty))});
        } else if (name == "I5.step") {
            if (t.name.rfind("Server::poll() loop", 0) != 0)
                continue;
            using St = keel::ipc::abi::Status;
            auto at = R::ring_slot<expr>(s.sq_head, m.bv(cap));
            auto opcode = m.sel(s.sq_opcode, at, m.bv(0));
            auto ctag = m.sel(s.sq_tag, at, m.bv(0));
            auto target = m.sel(s.sq_target, at, m.bv(0));
            auto is_cancel = opcode == m.bv(std::uint32_t(keel::ipc::abi::Op::Cancel)) &&
                             m.sel(s.sq_buffer, at, m.bv(0)) == m.bv(keel::ipc::abi::kNoBuffer);
            auto both_open = s.cmode == m.bv(kCOpen) && s.smode == m.bv(kSOpen);
            hyp = hyp && is_cancel && both_open;
            const State& n = t.out.next;
            auto post_at = [&](std::uint32_t k, const expr& tag, std::uint32_t status,
                               const expr& buf) {
                auto j = R::ring_slot<expr>(s.cq_tail + m.bv(k), m.bv(cap));
                return m.sel(n.cq_tag, j, m.bv(0)) == tag &&
                       m.sel(n.cq_status, j, m.bv(0)) == m.bv(status) &&
                       m.sel(n.cq_buffer, j, m.bv(0)) == buf;
            };
            auto none = m.bv(keel::ipc::abi::kNoBuffer);
            expr any = ctx.bool_val(false);
            for (std::uint32_t r = 0; r < cap; ++r) {
                auto match = !(s.op_state[r] == m.bv(R::kOpFree)) && s.op_tag[r] == target;
                any = any || match;
                auto rs = std::to_string(r);
                goals.push_back(Named{
                    "I5", 'x', "queued target (op " + rs + "): Cancelled with its buffer, then Ok",
                    !(match && s.op_state[r] == m.bv(R::kOpQueued)) ||
                        (n.op_state[r] == m.bv(R::kOpFree) && n.cq_tail == s.cq_tail + m.bv(2) &&
                         post_at(0, target, std::uint32_t(St::Cancelled), s.op_buf[r]) &&
                         post_at(1, ctag, std::uint32_t(St::Ok), none))});
                goals.push_back(Named{
                    "I5", 'x',
                    "taken target (op " + rs + "): InProgress, target stays taken and flagged",
                    !(match && s.op_state[r] == m.bv(R::kOpTaken)) ||
                        (n.op_state[r] == m.bv(R::kOpTaken) && n.op_flag[r] == m.bv(1) &&
                         n.cq_tail == s.cq_tail + m.bv(1) &&
                         post_at(0, ctag, std::uint32_t(St::InProgress), none))});
            }
            goals.push_back(Named{"I5", 'x', "unknown or completed target: NotFound, nothing else",
                                  any || (n.cq_tail == s.cq_tail + m.bv(1) &&
                                          post_at(0, ctag, std::uint32_t(St::NotFound), none) &&
                                          n.ops_live == s.ops_live)});
        } else if (name != "SAFE") {
            goals = group_of(m.invariants(t.out.next), name);
        }
        auto describe = [&](const z3::model& mdl) {
            std::ostringstream o;
            o << header("a step from a state satisfying " +
                        std::string(hostile
                                        ? "the " + std::string(side == 'c' ? "client" : "server") +
                                              "-local invariants (shared memory arbitrary)"
                                        : "every invariant"));
            o << "  step 1: state\n" << show_state(m, mdl, s, nullptr) << "\n";
            o << "  step 2: " << t.name << "  inputs: buf=" << num(mdl, in.buf)
              << " slot=" << num(mdl, in.slot) << " rec=" << num(mdl, in.rec)
              << " opcode=" << num(mdl, in.opcode) << " buffer=" << num(mdl, in.buffer)
              << " length=" << num(mdl, in.length) << " target=" << num(mdl, in.target)
              << " status=" << num(mdl, in.status) << " drained=" << num(mdl, in.drained)
              << " buffer_size=" << num(mdl, m.bsize) << " op_limit=" << num(mdl, m.op_limit)
              << "\n    -> error=" << num(mdl, t.out.err) << " value=" << num(mdl, t.out.value)
              << " tag=" << num(mdl, t.out.r_tag) << " status=" << num(mdl, t.out.r_status)
              << " buffer=" << num(mdl, t.out.r_buffer) << "\n";
            o << "  step 3: state afterwards (changed fields)\n"
              << show_state(m, mdl, t.out.next, &s) << "\n";
            return o.str();
        };
        // SAFE without the allocation choice: that a free slot or record exists to choose is
        // part of what it proves. The invariant goals assume a free one was chosen.
        std::vector<Named> rest;
        for (auto& g : goals) {
            if (g.group == "SAFE") {
                auto ce = q.run(hyp, {g}, describe);
                if (!ce.empty())
                    return ce;
            } else {
                rest.push_back(g);
            }
        }
        if (!rest.empty()) {
            auto ce = q.run(hyp && t.out.alloc_ok, rest, describe);
            if (!ce.empty())
                return ce;
        }
    }
    return "";
}

// ---- symbolic capacity -------------------------------------------------------------------

expr pow2_cap(z3::context& c, const expr& cap) {
    auto one = c.bv_val(1, 32);
    return !(cap == c.bv_val(0, 32)) && (cap & (cap - one)) == c.bv_val(0, 32) &&
           z3::ule(cap, c.bv_val(std::uint64_t(keel::ipc::abi::kMaxCapacity), 32));
}

std::string ring_rules(unsigned* queries) {
    z3::context c;
    Query q{c, queries};
    auto cap = c.bv_const("capacity", 32);
    auto H = c.bv_const("head_absolute", 64);
    auto U = c.bv_const("used", 64);
    auto i = c.bv_const("i", 32), k = c.bv_const("k", 32);
    auto seen = c.bv_const("seen", 32), nw = c.bv_const("new", 32);
    auto live = c.bv_const("live", 32), g = c.bv_const("gen", 32), sl = c.bv_const("slot", 32);
    auto id = c.bv_const("id", 32), count = c.bv_const("count", 32);
    auto b32 = [&](std::uint64_t v) { return c.bv_val(v, 32); };
    // Tags and buffer ids (IPC-R-020/021, IPC-R-050): first, the cheapest query.
    auto hyp2 = pow2_cap(c, cap) && z3::ult(sl, cap) && z3::ult(g, b32(0x10000)) &&
                z3::ule(count, b32(keel::ipc::abi::kMaxBuffers)) && z3::ult(id, b32(0x10000));
    auto tag = R::tag_make<expr>(sl, g);
    std::vector<Named> goals2{
        {"I2", 'x', "IPC-R-020 tag_slot/tag_gen invert tag_make",
         R::tag_slot<expr>(tag) == sl && R::tag_gen<expr>(tag) == g},
        {"I2", 'x', "IPC-R-021 a freed slot's next generation differs and stays 16-bit",
         !(R::gen_next<expr>(g) == g) && z3::ult(R::gen_next<expr>(g), b32(0x10000))},
        {"I8", 'x', "IPC-R-050 a peer's buffer id is accepted iff none or < count",
         R::buffer_id_in_range<expr>(id, count) ==
             (id == b32(keel::ipc::abi::kNoBuffer) || z3::ult(id, count))},
    };
    auto ce_tags = q.run(hyp2, goals2, [&](const z3::model& mdl) {
        return "COUNTEREXAMPLE to RING (tags/ids): slot=" + num(mdl, sl) + " gen=" + num(mdl, g) +
               " tag=" + num(mdl, tag) + " id=" + num(mdl, id) + " count=" + num(mdl, count) +
               " capacity=" + num(mdl, cap) + "\n";
    });
    if (!ce_tags.empty())
        return ce_tags;
    auto T = H + U;
    auto h = H.extract(31, 0), t = T.extract(31, 0), u = U.extract(31, 0);
    auto hyp = pow2_cap(c, cap) && z3::ule(U, z3::zext(cap, 32)) && z3::ule(seen - h, cap) &&
               z3::ule(t - seen, cap);
    std::vector<Named> goals{
        {"I7", 'x', "IPC-R-001 used = tail - head across wrap", R::ring_used<expr>(h, t) == u},
        {"I7", 'x', "IPC-R-004 has_entry iff used > 0",
         R::ring_has_entry<expr>(h, t) == !(u == b32(0))},
        {"I7", 'x', "IPC-R-002 has_room iff used < capacity",
         R::ring_has_room<expr>(h, t, cap) == z3::ult(u, cap)},
        {"I7", 'x', "IPC-R-003 slot = index mod capacity, < capacity",
         R::ring_slot<expr>(t, cap) == z3::urem(t, cap) &&
             z3::ult(R::ring_slot<expr>(t, cap), cap)},
        {"I7", 'x', "IPC-R-003 live entries have distinct slots",
         !(z3::ult(i, u) && z3::ult(k, u) && !(i == k)) ||
             !(R::ring_slot<expr>(h + i, cap) == R::ring_slot<expr>(h + k, cap))},
    };
    auto ce = q.run(hyp, goals, [&](const z3::model& mdl) {
        return "COUNTEREXAMPLE to RING (symbolic capacity): capacity=" + num(mdl, cap) +
               " head=" + num(mdl, h) + " tail=" + num(mdl, t) + " used=" + num(mdl, u) +
               " seen=" + num(mdl, seen) + " new=" + num(mdl, nw) + " i=" + num(mdl, i) +
               " k=" + num(mdl, k) + " live=" + num(mdl, live) + "\n";
    });
    if (!ce.empty())
        return ce;
    // The counter rules (IPC-R-005, IPC-R-011), stated over absolute ring positions (40 bits:
    // past several 32-bit wraps, never wrapping themselves) rather than restated in the rules'
    // own 32-bit arithmetic: a published counter is valid iff it is the low 32 bits of an
    // absolute position in the allowed window. Each is two goals: every position in the window
    // is accepted (completeness), and an accepted value is the low half of one (soundness; the
    // only candidate, since the window is narrower than 2^32, is the one named). One query
    // each: together they take the solver ten times as long.
    auto A = c.bv_const("head_position", 40), SH = c.bv_const("seen_head_position", 40);
    auto P = c.bv_const("position", 40);
    auto ds = c.bv_const("seen_tail_ahead", 32), dt = c.bv_const("tail_ahead", 32);
    auto w = [&](const expr& x32) { return z3::zext(x32, 8); };
    auto low = [&](const expr& x40) { return x40.extract(31, 0); };
    auto cap40 = w(cap);
    auto far = [&](const expr& x) {  // far from both ends of 40 bits
        return z3::uge(x, c.bv_val(std::uint64_t(1) << 33, 40)) &&
               z3::ult(x, c.bv_val(std::uint64_t(1) << 38, 40));
    };
    // The consumer validating a tail: its head A, the tail it saw last S = A + ds (ds <= cap).
    auto S = A + w(ds);
    auto hyp_tail = pow2_cap(c, cap) && far(A) && z3::ule(ds, cap);
    // The producer validating a head: the head it saw last SH, its tail TT = SH + dt (dt <= cap).
    auto TT = SH + w(dt);
    auto hyp_head = pow2_cap(c, cap) && far(SH) && z3::ule(dt, cap);
    auto counters = [&](const char* what, const expr& hyp, const Named& goal) {
        return q.run(hyp, {goal}, [&](const z3::model& mdl) {
            return std::string("COUNTEREXAMPLE to RING (") + what + "): capacity=" + num(mdl, cap) +
                   " head_position=" + num(mdl, A) + " seen_tail_ahead=" + num(mdl, ds) +
                   " seen_head_position=" + num(mdl, SH) + " tail_ahead=" + num(mdl, dt) +
                   " position=" + num(mdl, P) + " new=" + num(mdl, nw) + " live=" + num(mdl, live) +
                   "\n";
        });
    };
    for (const auto& [what, given, goal] : std::vector<std::tuple<const char*, expr, Named>>{
             {"tail",
              hyp_tail,
              {"I7", 'x', "IPC-R-005 every tail in [seen, head + capacity] is accepted",
               !(z3::ule(S, P) && z3::ule(P, A + cap40)) ||
                   R::ring_tail_valid<expr>(low(A), low(S), low(P), cap)}},
             {"tail",
              hyp_tail,
              {"I7", 'x', "IPC-R-005 an accepted tail is one in [seen, head + capacity]",
               !R::ring_tail_valid<expr>(low(A), low(S), nw, cap) ||
                   (z3::ule(S, A + w(nw - low(A))) && z3::ule(w(nw - low(A)), cap40))}},
             {"head",
              hyp_head,
              {"I7", 'x', "IPC-R-005 every head in [seen head, tail] is accepted",
               !(z3::ule(SH, P) && z3::ule(P, TT)) ||
                   R::ring_head_valid<expr>(low(SH), low(P), low(TT))}},
             {"head",
              hyp_head,
              {"I7", 'x', "IPC-R-005 an accepted head is one in [seen head, tail]",
               !R::ring_head_valid<expr>(low(SH), nw, low(TT)) ||
                   z3::ule(SH + w(nw - low(SH)), TT)}},
             {"credit",
              pow2_cap(c, cap),
              {"I3", 'x', "IPC-R-011 credit iff one more reservation still fits the ring",
               R::credit_ok<expr>(live, cap) == z3::ule(w(live) + c.bv_val(1, 40), cap40)}},
         }) {
        if (auto e = counters(what, given, goal); !e.empty())
            return e;
    }
    return "";
}

// BRIDGE: WordOps<ModWord> (mod_word.hpp), through which the parametric model calls the ring
// and credit rules on integer counters, is 32-bit unsigned arithmetic on residues mod 2^32.
// Proven over the integers, for every pair of integers X, Y: each operation depends on X and Y
// only through their residues (any representative will do), and on residues it is SMT-LIB's
// definition of the bit-vector operation through bv2nat: bvadd and bvsub are + and - mod 2^32,
// bvult and bvule compare bv2nat, = is equality of bv2nat. That last step, from those definitions
// to the bit-vectors, is BRIDGE.words' (bridge_words.cpp, proven by cvc5): Z3 4.8.12 proves none
// of "bv2int(bvadd x y) = (bv2int x + bv2int y) mod 2^32", "bvult x y = (bv2int x < bv2int y)"
// or even "x = y iff bv2int x = bv2int y" at 32 bits within 20 s (7 Dec, each alone). Here it is
// also checked in Z3 on 4 356 pairs of words (boundaries, around 2^31 and 2^32, and scattered
// values), each operation evaluated both ways by Z3. And the model's reading of a shared counter
// (unwrap) gives the word read, within 2^32 past its base.
std::string bridge(unsigned* queries) {
    z3::context c;
    Query q{c, queries};
    auto X = c.int_const("X"), Y = c.int_const("Y"), base = c.int_const("base");
    auto two32 = c.int_val(std::int64_t(1) << 32);
    using WM = keel::ipc::WordOps<ModWord>;
    using WB = keel::ipc::WordOps<expr>;
    ModWord x{X}, y{Y}, rx{mod32(X)}, ry{mod32(Y)};
    auto unwrapped = unwrap_word(base, X);  // PModel::unwrap(base, X)
    auto V = c.int_const("V");              // any literal: lit(v) is int_val(v), v < 2^32
    std::vector<Named> goals{
        {"BRIDGE", 'x', "a residue is in [0, 2^32)", c.int_val(0) <= rx.e && rx.e < two32},
        {"BRIDGE", 'x', "+ is addition mod 2^32 of the residues (bvadd)",
         mod32((x + y).e) == mod32(rx.e + ry.e)},
        {"BRIDGE", 'x', "- is addition mod 2^32 of the negated residue (bvsub)",
         mod32((x - y).e) == mod32(rx.e + (two32 - ry.e))},
        {"BRIDGE", 'x', "== is equality of the residues (=)", (x == y) == (rx.e == ry.e)},
        {"BRIDGE", 'x', "ult compares the residues (bvult)", WM::ult(x, y) == (rx.e < ry.e)},
        {"BRIDGE", 'x', "ule compares the residues (bvule)", WM::ule(x, y) == (rx.e <= ry.e)},
        {"BRIDGE", 'x', "a literal below 2^32 is its own residue (lit)",
         !(c.int_val(0) <= V && V < two32) || mod32(V) == V},
        {"BRIDGE", 'x', "unwrap reads the word, within 2^32 past its base",
         mod32(unwrapped) == rx.e && base <= unwrapped && unwrapped < base + two32},
    };
    auto ce = q.run(c.bool_val(true), goals, [&](const z3::model& mdl) {
        return "COUNTEREXAMPLE to BRIDGE: X=" + num(mdl, X) + " Y=" + num(mdl, Y) +
               " base=" + num(mdl, base) + "\n";
    });
    if (!ce.empty())
        return ce;
    // The step from SMT-LIB's definitions to Z3's bit-vectors, evaluated on numerals.
    std::vector<std::uint64_t> words;
    for (std::uint64_t v : {0ull, 1ull, 2ull, 0x7FFFull, 0x8000ull, 0xFFFFull, 0x10000ull,
                            0x7FFFFFFEull, 0x7FFFFFFFull, 0x80000000ull, 0x80000001ull,
                            0xFFFF0000ull, 0xFFFFFFFDull, 0xFFFFFFFEull, 0xFFFFFFFFull})
        words.push_back(v);
    for (std::uint64_t k = 1; words.size() < 66; ++k)
        words.push_back((k * 0x9E3779B97F4A7C15ull) >> 32);  // scattered over [0, 2^32)
    // Each side must evaluate to a numeral or a truth value: anything else fails the check
    // (a term left unevaluated on both sides must not compare equal).
    bool evaluated = true;
    auto value = [&](const expr& e) {
        std::uint64_t v = 0;
        evaluated = e.simplify().is_numeral_u64(v) && evaluated;
        return v;
    };
    auto truth = [&](const expr& e) {
        auto t = e.simplify();
        evaluated = (t.is_true() || t.is_false()) && evaluated;
        return t.is_true();
    };
    for (auto a : words) {
        for (auto b : words) {
            // Representatives off the residues by a multiple of 2^32, on either side of zero.
            ModWord ma{c.int_val(std::int64_t(a) - (std::int64_t(1) << 32) * std::int64_t(b % 3))};
            ModWord mb{c.int_val(std::int64_t(b) + (std::int64_t(1) << 32) * std::int64_t(a % 2))};
            auto ba = c.bv_val(a, 32), bb = c.bv_val(b, 32);
            bool ok = value(mod32((ma + mb).e)) == value(ba + bb) &&
                      value(mod32((ma - mb).e)) == value(ba - bb) &&
                      truth(ma == mb) == truth(ba == bb) &&
                      truth(WM::ult(ma, mb)) == truth(WB::ult(ba, bb)) &&
                      truth(WM::ule(ma, mb)) == truth(WB::ule(ba, bb)) &&
                      value(mod32(WM::lit(ma, std::uint32_t(a)).e)) ==
                          value(WB::lit(ba, std::uint32_t(a)));
            if (!ok || !evaluated) {
                return "COUNTEREXAMPLE to BRIDGE (evaluated): words " + std::to_string(a) +
                       " and " + std::to_string(b) + "\n";
            }
        }
    }
    return "";
}

// Every ownership, acceptance, cancellation and teardown rule equals the table of ipc.md §3,
// written here independently of rules.hpp. The invariants and the model use the rule
// functions, so this is what stops a wrong rule from being "proved" against itself.
std::string rule_table(unsigned* queries) {
    z3::context c;
    Query q{c, queries};
    auto b32 = [&](std::uint64_t v) { return c.bv_val(v, 32); };
    using St = keel::ipc::abi::Status;
    auto x = c.bv_const("state", 32), cap = c.bv_const("capacity", 32);
    auto tag = c.bv_const("tag", 32), gen = c.bv_const("slot_gen", 32);
    auto sbuf = c.bv_const("slot_buffer", 32), ebuf = c.bv_const("entry_buffer", 32);
    auto is_cancel = c.bv_const("slot_is_cancel", 32), status = c.bv_const("status", 32);
    auto id = c.bv_const("id", 32), held = c.bv_const("held", 32), found = c.bv_const("found", 32);
    auto hyp = pow2_cap(c, cap) && z3::ult(x, b32(3)) && z3::ult(is_cancel, b32(2)) &&
               z3::ult(held, b32(2)) && z3::ult(found, b32(2)) && z3::ult(status, b32(0x10000));
    auto cancel_only =
        status == b32(std::uint32_t(St::InProgress)) || status == b32(std::uint32_t(St::NotFound));
    auto oc = R::resolve_cancel<expr>(found, x);
    auto queued = found == b32(1) && x == b32(R::kOpQueued);
    auto taken = found == b32(1) && x == b32(R::kOpTaken);
    std::vector<Named> goals{
        {"I1", 'c', "IPC-R-030 lend only InHand, then Lent",
         R::client_may_lend<expr>(x) == (x == b32(R::kBufInHand)) &&
             R::client_after_lend<expr>(x) == b32(R::kBufLent)},
        {"I1", 'c', "IPC-R-031 acquire only Pooled",
         R::client_may_acquire<expr>(x) == (x == b32(R::kBufPooled))},
        {"I1", 'c', "IPC-R-032 release only InHand",
         R::client_may_release<expr>(x) == (x == b32(R::kBufInHand))},
        {"I4", 'c', "IPC-R-033 a returned buffer is InHand",
         R::client_after_return<expr>(x) == b32(R::kBufInHand)},
        {"I2", 'c', "IPC-R-041 tag slot in range iff (tag & 0xffff) < capacity",
         R::completion_slot_in_range<expr>(tag, cap) == z3::ult(tag & b32(0xFFFF), cap)},
        {"I2", 'c', "IPC-R-042/043 match iff live, same generation, same buffer",
         R::completion_matches<expr>(tag, x, gen, sbuf, ebuf) ==
             (x == b32(R::kSlotLive) && gen == z3::lshr(tag, b32(16)) && ebuf == sbuf)},
        {"I5", 'c', "IPC-R-044 InProgress/NotFound only for a Cancel",
         R::completion_status_valid<expr>(is_cancel, status) ==
             (is_cancel == b32(1) || !cancel_only)},
        {"I1", 's', "IPC-R-051 hold only a buffer not held",
         R::server_may_hold<expr>(id, held) ==
             (id == b32(keel::ipc::abi::kNoBuffer) || held == b32(R::kHeldNo))},
        {"I1", 's', "IPC-R-052 take only Queued",
         R::server_may_take<expr>(x) == (x == b32(R::kOpQueued))},
        {"I1", 's', "IPC-R-053 complete only Taken",
         R::server_may_complete<expr>(x) == (x == b32(R::kOpTaken))},
        {"I1", 's', "IPC-R-054 a handle is current iff Taken and of the record's generation",
         R::server_handle_current<expr>(tag, x, gen) ==
                 (x == b32(R::kOpTaken) && gen == z3::lshr(tag, b32(16))) &&
             R::op_record<expr>(tag) == (tag & b32(0xFFFF)) &&
             R::op_handle<expr>(tag & b32(0xFFFF), gen & b32(0xFFFF)) ==
                 ((tag & b32(0xFFFF)) | z3::shl(gen & b32(0xFFFF), b32(16)))},
        {"I5", 's', "IPC-R-061 queued target: Ok, target completes, record freed, no flag",
         !queued ||
             (oc.cancel_status == b32(std::uint32_t(St::Ok)) && oc.target_completes == b32(1) &&
              oc.target_state == b32(R::kOpFree) && oc.target_flag == b32(0))},
        {"I5", 's', "IPC-R-062 taken target: InProgress, stays taken, flagged",
         !taken ||
             (oc.cancel_status == b32(std::uint32_t(St::InProgress)) &&
              oc.target_completes == b32(0) && oc.target_state == x && oc.target_flag == b32(1))},
        {"I5", 's', "IPC-R-063 otherwise: NotFound, nothing else",
         queued || taken ||
             (oc.cancel_status == b32(std::uint32_t(St::NotFound)) &&
              oc.target_completes == b32(0) && oc.target_flag == b32(0) &&
              (found == b32(0) || oc.target_state == x))},
        {"I4", 's', "IPC-R-064 a Cancel's completion carries no buffer",
         oc.cancel_buffer == b32(keel::ipc::abi::kNoBuffer)},
        {"I6", 'c', "IPC-R-072 teardown status is PeerGone",
         R::teardown_status<expr>(x) == b32(std::uint32_t(St::PeerGone))},
    };
    // The error tables of ipc.md §3 ("Errors"): for each call, the error of each check when it
    // is the first to fail, and none when no check fails. The checks are free Booleans.
    std::vector<expr> f;
    for (int i = 0; i < 6; ++i)
        f.push_back(c.bool_const(("check" + std::to_string(i + 1)).c_str()));
    auto ck = [&](std::size_t i) { return [&f, i] { return f[i]; }; };
    auto table = [&](const char* call, const expr& err, std::vector<E> errors) {
        expr ok = c.bool_val(true), earlier_pass = c.bool_val(true);
        for (std::size_t i = 0; i < errors.size(); ++i) {
            ok = ok && z3::implies(earlier_pass && f[i], err == b32(std::uint32_t(errors[i])));
            earlier_pass = earlier_pass && !f[i];
        }
        ok = ok && z3::implies(earlier_pass, err == b32(0));
        goals.push_back({"ERR", 'x', std::string("error order of ") + call, ok});
    };
    table("Client::acquire", R::acquire_error<expr>(b32(0), ck(0), ck(1)), {E::Closed, E::Empty});
    table("Client::release", R::release_error<expr>(b32(0), ck(0), ck(1)),
          {E::InvalidBuffer, E::NotOwner});
    table("Client::submit (lent buffer)",
          R::lend_error<expr>(b32(0), ck(0), ck(1), ck(2), ck(3), ck(4)),
          {E::InvalidBuffer, E::NotOwner, E::NotOwner, E::NotOwner, E::InvalidArgument});
    table("Client::submit (no buffer)", R::unlent_error<expr>(b32(0), ck(0)), {E::InvalidArgument});
    table("Client::submit and cancel",
          R::push_error<expr>(b32(0), ck(0), ck(1), ck(2), ck(3), ck(4), ck(5)),
          {E::PeerGone, E::Closed, E::InvalidArgument, E::NoCredit, E::ProtocolViolation,
           E::RingFull});
    table("Client::reap", R::reap_error<expr>(b32(0), ck(0), ck(1), ck(2), ck(3), ck(4)),
          {E::Empty, E::ProtocolViolation, E::Empty, E::ProtocolViolation, E::ProtocolViolation});
    table("Server::poll", R::poll_error<expr>(b32(0), ck(0), ck(1), ck(2), ck(3), ck(4)),
          {E::PeerGone, E::Closed, E::PeerGone, E::ProtocolViolation, E::ProtocolViolation});
    table("Server::take", R::take_error<expr>(b32(0), ck(0), ck(1)), {E::Closed, E::Empty});
    table("Server::complete", R::complete_error<expr>(b32(0), ck(0), ck(1), ck(2), ck(3), ck(4)),
          {E::Closed, E::InvalidArgument, E::NotOwner, E::InvalidArgument, E::ProtocolViolation});
    return q.run(hyp, goals, [&](const z3::model& mdl) {
        return "COUNTEREXAMPLE to RULES: state=" + num(mdl, x) + " tag=" + num(mdl, tag) +
               " slot_gen=" + num(mdl, gen) + " slot_buffer=" + num(mdl, sbuf) +
               " entry_buffer=" + num(mdl, ebuf) + " slot_is_cancel=" + num(mdl, is_cancel) +
               " status=" + num(mdl, status) + " id=" + num(mdl, id) + " held=" + num(mdl, held) +
               " found=" + num(mdl, found) + " capacity=" + num(mdl, cap) + " checks failing:" +
               [&] {
                   std::string t;
                   for (std::size_t i = 0; i < f.size(); ++i)
                       t += mdl.eval(f[i], true).is_true() ? " " + std::to_string(i + 1) : "";
                   return t;
               }() +
               "\n";
    });
}

// The credit/ring counter system of both sides, every capacity <= kMaxCapacity at once.
std::string counters(unsigned* queries) {
    z3::context c;
    Query q{c, queries};
    auto b32 = [&](std::uint64_t v) { return c.bv_val(v, 32); };
    const char* names[] = {"sq_tail",     "sq_head_seen", "sq_head",      "sq_tail_seen",
                           "sq_tail_pub", "cq_head",      "cq_head_seen", "cq_tail_seen",
                           "cq_tail_pub", "cq_tail",      "outstanding",  "ops_live"};
    struct V {
        std::vector<expr> x;
        expr& operator[](int i) { return x[std::size_t(i)]; }
        const expr& operator[](int i) const { return x[std::size_t(i)]; }
    };
    enum {
        sq_tail,
        sq_head_seen,
        sq_head,
        sq_tail_seen,
        sq_tail_pub,
        cq_head,
        cq_head_seen,
        cq_tail_seen,
        cq_tail_pub,
        cq_tail,
        outstanding,
        ops_live,
        kN
    };
    auto cap = c.bv_const("capacity", 32);
    V s;
    for (int i = 0; i < kN; ++i)
        s.x.push_back(c.bv_const((std::string("pre.") + names[i]).c_str(), 32));
    // Every rule used here depends on counter differences only (RING proves each equal to
    // its difference form for all 32-bit values), so each ring's base may be fixed at 0.
    s[sq_head_seen] = b32(0);
    s[cq_head_seen] = b32(0);
    auto chain = [&](const V& v, int base, std::vector<int> xs) {
        expr r = c.bool_val(true);
        expr prev = b32(0);
        for (int x : xs) {
            r = r && z3::ule(prev, v[x] - v[base]);
            prev = v[x] - v[base];
        }
        return r && z3::ule(prev, cap);
    };
    auto inv = [&](const V& v) {
        return std::vector<Named>{
            {"I7", 'x', "sq counters ordered within capacity",
             chain(v, sq_head_seen, {sq_head, sq_tail_seen, sq_tail_pub, sq_tail})},
            {"I7", 'x', "cq counters ordered within capacity",
             chain(v, cq_head_seen, {cq_head, cq_tail_seen, cq_tail_pub, cq_tail})},
            {"I3", 'x', "server reservations <= capacity",
             z3::ule(v[ops_live], cap) &&
                 z3::ule(R::ring_used<expr>(v[cq_head_seen], v[cq_tail]), cap - v[ops_live])},
            {"I3", 'x', "outstanding = in sq + ops + in cq",
             v[outstanding] == R::ring_used<expr>(v[sq_head], v[sq_tail]) + v[ops_live] +
                                   R::ring_used<expr>(v[cq_head], v[cq_tail])},
            {"I3", 'x', "outstanding <= capacity", z3::ule(v[outstanding], cap)},
        };
    };
    auto all = [&](const std::vector<Named>& v) {
        expr r = c.bool_val(true);
        for (auto& n : v)
            r = r && n.e;
        return r;
    };
    auto show = [&](const z3::model& mdl, const V& v) {
        std::string o = "    capacity=" + num(mdl, cap);
        for (int i = 0; i < kN; ++i)
            o += std::string(" ") + names[i] + "=" + num(mdl, v[i]);
        return o + "\n";
    };
    // init
    {
        auto f = c.bv_const("first_index", 32);
        V init;
        for (int i = 0; i < kN; ++i)
            init.x.push_back(i >= outstanding ? b32(0) : f);
        auto ce = q.run(pow2_cap(c, cap), inv(init), [&](const z3::model& mdl) {
            return "COUNTEREXAMPLE to COUNTERS: initial state\n" + show(mdl, init);
        });
        if (!ce.empty())
            return ce;
    }
    auto post = [&](V& v, std::vector<Named>& g, const std::string& why) {
        g.push_back({"SAFE", 'x', why + ": completion ring has room (IPC-R-010)",
                     R::ring_has_room<expr>(v[cq_head_seen], v[cq_tail], cap)});
        v[cq_tail] = v[cq_tail] + b32(1);
    };
    struct T {
        std::string name;
        expr guard;
        V next;
        std::vector<Named> extra;
    };
    std::vector<T> ts;
    auto tr = [&](const std::string& n) {
        ts.push_back(T{n, c.bool_val(true), s, {}});
        return &ts.back();
    };
    {
        T* t = tr("Client::submit/cancel");
        t->guard = R::credit_ok<expr>(s[outstanding], cap);
        auto refresh = !R::ring_has_room<expr>(s[sq_head_seen], s[sq_tail], cap);
        t->extra.push_back(
            {"I8", 'x', "an honest server's head is accepted",
             !refresh || R::ring_head_valid<expr>(s[sq_head_seen], s[sq_head], s[sq_tail])});
        t->next[sq_head_seen] = z3::ite(refresh, s[sq_head], s[sq_head_seen]);
        t->extra.push_back({"I3", 'x', "credit implies room: RingFull never happens",
                            R::ring_has_room<expr>(t->next[sq_head_seen], s[sq_tail], cap)});
        t->next[sq_tail] = s[sq_tail] + b32(1);
        t->next[outstanding] = s[outstanding] + b32(1);
    }
    tr("Client::publish")->next[sq_tail_pub] = s[sq_tail];
    {
        T* t = tr("Server::poll begin");
        t->extra.push_back(
            {"I8", 'x', "an honest client's tail and head are accepted",
             R::ring_tail_valid<expr>(s[sq_head], s[sq_tail_seen], s[sq_tail_pub], cap) &&
                 R::ring_head_valid<expr>(s[cq_head_seen], s[cq_head], s[cq_tail])});
        t->next[sq_tail_seen] = s[sq_tail_pub];
        t->next[cq_head_seen] = s[cq_head];
    }
    auto accept_guard =
        R::ring_has_entry<expr>(s[sq_head], s[sq_tail_seen]) &&
        R::credit_ok<expr>(s[ops_live] + R::ring_used<expr>(s[cq_head_seen], s[cq_tail]), cap);
    {
        T* t = tr("Server::poll accept: queue for the service");
        t->guard = accept_guard;
        t->next[sq_head] = s[sq_head] + b32(1);
        t->next[ops_live] = s[ops_live] + b32(1);
    }
    {
        T* t = tr("Server::poll accept: answer at once (Nop, BadRequest, Cancel not queued)");
        t->guard = accept_guard;
        t->next[sq_head] = s[sq_head] + b32(1);
        post(t->next, t->extra, "immediate answer");
    }
    {
        T* t = tr("Server::poll accept: Cancel of a queued op");
        t->guard = accept_guard && z3::uge(s[ops_live], b32(1));
        t->next[sq_head] = s[sq_head] + b32(1);
        post(t->next, t->extra, "target's Cancelled");
        t->next[ops_live] = s[ops_live] - b32(1);
        post(t->next, t->extra, "Cancel's Ok");
    }
    {
        T* t = tr("Server::complete");
        t->guard = z3::uge(s[ops_live], b32(1));
        auto refresh = !R::ring_has_room<expr>(s[cq_head_seen], s[cq_tail], cap);
        t->extra.push_back(
            {"I8", 'x', "an honest client's head is accepted",
             !refresh || R::ring_head_valid<expr>(s[cq_head_seen], s[cq_head], s[cq_tail])});
        t->next[cq_head_seen] = z3::ite(refresh, s[cq_head], s[cq_head_seen]);
        post(t->next, t->extra, "completion");
        t->next[ops_live] = s[ops_live] - b32(1);
    }
    tr("Server::publish")->next[cq_tail_pub] = s[cq_tail];
    {
        T* t = tr("Client::reap");
        auto empty = !R::ring_has_entry<expr>(s[cq_head], s[cq_tail_seen]);
        t->extra.push_back(
            {"I8", 'x', "an honest server's tail is accepted",
             !empty || R::ring_tail_valid<expr>(s[cq_head], s[cq_tail_seen], s[cq_tail_pub], cap)});
        auto seen = z3::ite(empty, s[cq_tail_pub], s[cq_tail_seen]);
        auto got = R::ring_has_entry<expr>(s[cq_head], seen);
        t->next[cq_tail_seen] = seen;
        t->next[cq_head] = z3::ite(got, s[cq_head] + b32(1), s[cq_head]);
        t->next[outstanding] = z3::ite(got, s[outstanding] - b32(1), s[outstanding]);
    }
    auto pre = inv(s);
    for (auto& t : ts) {
        auto goals = inv(t.next);
        for (auto& e : t.extra)
            goals.push_back(e);
        auto ce = q.run(pow2_cap(c, cap) && all(pre) && t.guard, goals, [&](const z3::model& mdl) {
            return "COUNTEREXAMPLE to COUNTERS (symbolic capacity)\n  step 1: state\n" +
                   show(mdl, s) + "  step 2: " + t.name + "\n  step 3: state afterwards\n" +
                   show(mdl, t.next);
        });
        if (!ce.empty())
            return ce;
    }
    return "";
}

// IPC-R-054, from any well-typed state (no invariant assumed): a handle that is not current
// (its record is not taken, or is of another generation) completes nothing and changes
// nothing; and a complete that succeeds makes its handle stale, so a second complete of it, or
// a complete of it once the record serves another operation, is refused the same way.
std::string stale(std::uint32_t cap, std::uint32_t bufs, unsigned* queries) {
    z3::context ctx;
    Model m(ctx, cap, bufs);
    Query q{ctx, queries};
    State s = m.fresh("pre.");
    auto h = ctx.bv_const("handle", 32), st = ctx.bv_const("status", 32);
    auto st2 = ctx.bv_const("status2", 32);
    auto r = R::op_record<expr>(h);
    auto current = [&](const State& x) {
        return z3::ult(r, m.bv(cap)) &&
               R::server_handle_current<expr>(h, m.sel(x.op_state, r, m.bv(R::kOpFree)),
                                              m.sel(x.op_gen, r, m.bv(0)));
    };
    auto same = [&](const State& a, const State& b) {
        auto fa = m.fields(a), fb = m.fields(b);
        expr e = ctx.bool_val(true);
        for (std::size_t i = 0; i < fa.size(); ++i)
            e = e && fa[i].second == fb[i].second;
        return e;
    };
    Out once = m.complete(s, h, st);
    Out twice = m.complete(once.next, h, st2);
    // Which records are taken and of which generation is all the handle's staleness means: the
    // expected answer is written here from the table of ipc.md, not from the rule function.
    auto taken_now = z3::ult(r, m.bv(cap)) && m.sel(s.op_state, r, m.bv(0)) == m.bv(R::kOpTaken) &&
                     m.sel(s.op_gen, r, m.bv(0)) == z3::lshr(h, m.bv(16));
    std::vector<Named> goals{
        {"STALE", 's', "a handle whose record is not taken at its generation changes nothing",
         taken_now || (!(once.err == m.bv(0)) && same(once.next, s))},
        {"STALE", 's', "after a complete that succeeds its handle is not current",
         !(once.err == m.bv(0)) || !current(once.next)},
        {"STALE", 's', "a second complete of the same handle changes nothing",
         !(once.err == m.bv(0)) || (!(twice.err == m.bv(0)) && same(twice.next, once.next))},
    };
    auto hyp = m.well_typed(s) && z3::ult(st, m.bv(0x10000)) && z3::ult(st2, m.bv(0x10000));
    return q.run(hyp, goals, [&](const z3::model& mdl) {
        return "COUNTEREXAMPLE to STALE (" + size_line(cap, bufs) + "): from the state\n" +
               show_state(m, mdl, s, nullptr) + "\n  Server::complete(handle=" + num(mdl, h) +
               ", status=" + num(mdl, st) + ") -> error " + num(mdl, once.err) +
               "\n  state afterwards\n" + show_state(m, mdl, once.next, &s) +
               "\n  then Server::complete(handle=" + num(mdl, h) + ", status=" + num(mdl, st2) +
               ") -> error " + num(mdl, twice.err) + "\n";
    });
}

// PAST: no step's outcome depends on a read past the end of a slot, record or buffer table,
// nor on a search's index when the search found nothing: where the two storage
// representations differ (Model's fixed default, PModel's unconstrained array element and
// choice; spec/README.md, "One transition relation"). From any well-typed state and inputs,
// no invariant assumed, each transition of a Model whose every such read is a fresh
// unconstrained word (m2) gives what the usual Model gives: the same choice and allocation
// constraints and safety, and for a choice the spec allows the same error and state after,
// and on success the same results.
std::string past_end(std::uint32_t cap, std::uint32_t bufs, unsigned* queries) {
    z3::context ctx;
    Model m(ctx, cap, bufs), m2(ctx, cap, bufs);
    m2.set_fresh_defaults(true);
    Query q{ctx, queries};
    State s = m.fresh("pre.");
    Inputs in = fresh_inputs(m);
    auto hyp = m.well_typed(s) && inputs_typed(m, in);
    auto ts = transitions(m, s, in), ts2 = transitions(m2, s, in);
    for (std::size_t i = 0; i < ts.size(); ++i) {
        const Out& a = ts[i].out;
        const Out& b = ts2[i].out;
        expr same_next = ctx.bool_val(true);
        auto fa = m.fields(a.next), fb = m.fields(b.next);
        for (std::size_t f = 0; f < fa.size(); ++f)
            same_next = same_next && fa[f].second == fb[f].second;
        auto ok = a.err == m.bv(0);
        auto allowed = a.choice_ok && a.alloc_ok;
        std::vector<Named> goals{
            {"PAST", 'x', "the same choice constraint", a.choice_ok == b.choice_ok},
            {"PAST", 'x', "the same allocation constraint",
             z3::implies(a.choice_ok, a.alloc_ok == b.alloc_ok)},
            {"PAST", 'x', "the same safety", z3::implies(a.choice_ok, a.safe == b.safe)},
            {"PAST", 'x', "the same error", z3::implies(allowed, a.err == b.err)},
            {"PAST", 'x', "the same state after", z3::implies(allowed, same_next)},
            {"PAST", 'x', "the same results",
             z3::implies(allowed && ok, a.value == b.value && a.r_tag == b.r_tag &&
                                            a.r_status == b.r_status && a.r_buffer == b.r_buffer &&
                                            a.r_cancel == b.r_cancel)},
        };
        auto ce = q.run(hyp && ts[i].guard, goals, [&](const z3::model& mdl) {
            return "COUNTEREXAMPLE to PAST (" + size_line(cap, bufs) + "): " + ts[i].name +
                   " depends on a read past a table's end, from the state\n" +
                   show_state(m, mdl, s, nullptr) + "\n";
        });
        if (!ce.empty())
            return ce;
    }
    return "";
}

// The proofs' hypotheses are not vacuous: from some state satisfying every invariant, each
// transition succeeds (err = 0) with allowed choices. An inconsistent invariant would make
// every induction step trivially true; this obligation would then fail.
std::string nonvacuous(std::uint32_t cap, std::uint32_t bufs, unsigned* queries) {
    z3::context ctx;
    Model m(ctx, cap, bufs);
    State s = m.fresh("pre.");
    Inputs in = fresh_inputs(m);
    auto inv = m.invariants(s);
    for (auto& t : transitions(m, s, in)) {
        z3::solver sol(ctx);
        sol.add(m.well_typed(s) && inputs_typed(m, in) && t.guard && t.out.choice_ok &&
                t.out.alloc_ok && conj(m, inv) && t.out.err == m.bv(0) &&
                !(s.cmode == m.bv(kCClosed)) && !(s.smode == m.bv(kSClosed)));
        ++*queries;
        if (sol.check() != z3::sat) {
            return "COUNTEREXAMPLE to NONVACUOUS (" + size_line(cap, bufs) +
                   "): no state satisfying " + "every invariant lets " + t.name + " succeed\n";
        }
    }
    return "";
}

}  // namespace

std::vector<std::string> obligation_names() {
    std::vector<std::string> v{
        "I1",       "I2",         "I3",        "I4",        "I5",           "I6",      "I7",
        "I5.step",  "I6.step",    "I8.client", "I8.server", "SAFE",         "RING",    "RULES",
        "COUNTERS", "NONVACUOUS", "STALE",     "BRIDGE",    "BRIDGE.words", "STORAGE", "PAST"};
    for (auto& n : param::obligation_names())
        v.push_back(n);
    return v;
}

unsigned rlimit_override() {
    const char* v = std::getenv("KEEL_SPEC_RLIMIT");
    return v ? unsigned(std::strtoul(v, nullptr, 10)) : 0;
}

ProofReport prove(const std::string& name, const ProofConfig& config) {
    ProofReport rep;
    std::string ce;
    auto names = obligation_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        // A misspelt name in a test list must fail, not prove whatever it falls through to.
        rep.proved = false;
        rep.counterexample = "no obligation named " + name + "\n";
        return rep;
    }
    if (name.rfind("P.", 0) == 0) {
        ce = param::prove(name, &rep.queries);
    } else if (name == "RING") {
        ce = ring_rules(&rep.queries);
    } else if (name == "RULES") {
        ce = rule_table(&rep.queries);
    } else if (name == "BRIDGE") {
        ce = bridge(&rep.queries);
    } else if (name == "BRIDGE.words") {
        ce = bridge_words(&rep.queries);
    } else if (name == "COUNTERS") {
        ce = counters(&rep.queries);
    } else if (name == "STALE") {
        for (auto cap : config.caps) {
            for (auto b : config.buffers) {
                if (ce.empty())
                    ce = stale(cap, b, &rep.queries);
            }
        }
    } else if (name == "STORAGE") {
        for (auto cap : config.caps) {
            for (auto b : config.buffers) {
                if (ce.empty())
                    ce = storage(cap, b, &rep.queries);
            }
        }
    } else if (name == "PAST") {
        for (auto cap : config.caps) {
            for (auto b : config.buffers) {
                if (ce.empty())
                    ce = past_end(cap, b, &rep.queries);
            }
        }
    } else if (name == "NONVACUOUS") {
        for (auto cap : config.caps) {
            for (auto b : config.buffers) {
                if (ce.empty())
                    ce = nonvacuous(cap, b, &rep.queries);
            }
        }
    } else {
        for (auto cap : config.caps) {
            for (auto b : config.buffers) {
                ce = composed(name, cap, b, &rep.queries);
                if (!ce.empty())
                    break;
            }
            if (!ce.empty())
                break;
        }
    }
    rep.proved = ce.empty();
    rep.gave_up = ce.find(kGaveUp) != std::string::npos;
    rep.counterexample = ce;
    return rep;
}

}  // namespace keel::spec
