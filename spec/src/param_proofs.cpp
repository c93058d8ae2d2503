// Obligations P.I1..P.I7 (spec/ipc.md §7): the invariants of param_invariants.cpp hold
// initially and are preserved by every transition of param_model.cpp, for every capacity
// 2^0..2^15 and every buffer count 0..0xFFFE at once, 32-bit counters, all values. Each query
// is "hypothesis and not goal" with quantified invariants on both sides; Z3 must answer unsat.
// P.NONVACUOUS checks the hypotheses can hold together with each transition succeeding.
#include <spec/param_proofs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include <ipc/result.hpp>
#include <ipc/rules.hpp>
#include <spec/param_ground.hpp>
#include <spec/param_model.hpp>

namespace keel::spec::param {

namespace {

struct PInputs {
    expr buf, slot, rec, opcode, buffer, length, target, status, drained, idx, t;
    expr empty, found, none;
};

struct PTrans {
    std::string name;
    POut out;
    expr guard;
};

PInputs fresh_inputs(z3::context& c) {
    auto b = [&](const char* n) { return c.bv_const(n, 32); };
    return PInputs{b("in.buf"),
                   b("in.slot"),
                   b("in.rec"),
                   b("in.opcode"),
                   b("in.buffer"),
                   b("in.length"),
                   b("in.target"),
                   b("in.status"),
                   b("in.drained"),
                   b("in.idx"),
                   b("in.t"),
                   c.bool_const("in.empty"),
                   c.bool_const("in.found"),
                   c.bool_const("in.none")};
}

std::vector<PTrans> transitions(const PModel& m, const PState& s, const PInputs& in) {
    auto t = m.ctx().bool_val(true);
    auto idle = m.server_idle(s);
    auto dropping = s.smode == m.bv(kSDropping);
    // Server::poll's loop turn, one transition per outcome (smaller queries).
    auto answer = m.accept_one(s, in.rec, in.found, in.t, kAcceptAnswer);
    auto queue = m.accept_one(s, in.rec, in.found, in.t, kAcceptQueue);
    auto cancel = m.accept_one(s, in.rec, in.found, in.t, kAcceptCancel);
    return {
        {"Client::acquire(choice empty/buf)", m.acquire(s, in.buf, in.empty), t},
        {"Client::release(buffer=buf)", m.release(s, in.buf), t},
        {"Client::submit(opcode, buffer, length; choice slot)",
         m.submit(s, in.opcode, in.buffer, in.length, in.slot), t},
        {"Client::cancel(target; choice slot)", m.cancel(s, in.target, in.slot), t},
        {"Client::publish()", m.publish(s), t},
        {"Client::reap(choice found/idx: leftover)", m.reap(s, in.found, in.idx), t},
        {"Client::peer_gone()", m.peer_gone(s), t},
        {"Client::close()", m.client_close(s), t},
        {"Server::poll() begin", m.poll_begin(s), idle},
        {"Server::poll() loop: accept one, answered at once (Nop, BadRequest)", answer,
         m.accept_enabled(s) && answer.value == m.bv(kAcceptAnswer)},
        {"Server::poll() loop: accept one, queued (choice rec)", queue,
         m.accept_enabled(s) && queue.value == m.bv(kAcceptQueue)},
        {"Server::poll() loop: accept one, a Cancel whose target is queued (choice t)", cancel,
         m.accept_enabled(s) && cancel.value == m.bv(kAcceptCancel) && in.found &&
             z3::select(s.op_state, in.t) == m.bv(keel::ipc::rules::kOpQueued)},
        {"Server::poll() loop: accept one, a Cancel whose target is taken (choice t)", cancel,
         m.accept_enabled(s) && cancel.value == m.bv(kAcceptCancel) && in.found &&
             !(z3::select(s.op_state, in.t) == m.bv(keel::ipc::rules::kOpQueued))},
        {"Server::poll() loop: accept one, a Cancel whose target is not found", cancel,
         m.accept_enabled(s) && cancel.value == m.bv(kAcceptCancel) && !in.found},
        {"Server::poll() end (drained)", m.poll_end(s, in.drained), idle},
        {"Server::take(choice none/rec)", m.take(s, in.rec, in.none), idle},
        {"Server::complete(record=rec, status)", m.complete(s, in.rec, in.status), idle},
        {"Server::publish()", m.server_publish(s), idle},
        {"Server::client_gone() begin", m.client_gone_begin(s), idle},
        {"Server::client_gone() drop one queued record (choice rec)", m.client_gone_drop(s, in.rec),
         dropping},
        {"Server::client_gone() end: flag taken records", m.client_gone_end(s), dropping},
        {"Server::close()", m.server_close(s), idle},
    };
}

expr inputs_typed(const PModel& m, const PInputs& in) {
    return z3::ult(in.opcode, m.bv(0x10000)) && z3::ult(in.buffer, m.bv(0x10000)) &&
           z3::ult(in.status, m.bv(0x10000));
}

std::string num(const z3::model& mdl, const expr& e) {
    return value_text(mdl, e);
}

// The scalars, then each table at the first few indices (up to 8 slots, 8 buffers).
std::string show(const PModel& m, const z3::model& mdl, const PState& s) {
    std::ostringstream o;
    o << "   ";
    for (auto& [n, e] : m.scalars(s)) {
        o << " " << n << "=" << num(mdl, e);
    }
    std::uint64_t cap = 1, nb = 0;
    mdl.eval(m.cap, true).is_numeral_u64(cap);
    mdl.eval(m.nb, true).is_numeral_u64(nb);
    auto row = [&](const std::string& name, const expr& a) {
        bool by_ring = a.get_sort().array_domain().is_int();
        bool buffers = name == "bstate" || name == "held" || name == "lender" || name == "holder";
        std::uint64_t n = by_ring ? 8 : buffers ? nb : cap;
        // Ring arrays from their window's head; the others from index 0.
        expr first = name.rfind("sq_", 0) == 0   ? s.sq_head
                     : name.rfind("cq_", 0) == 0 ? s.cq_head
                                                 : m.n(0);
        o << "\n    " << name << (by_ring && first.to_string() != "0" ? "[from head]" : "") << "=[";
        for (std::uint64_t i = 0; i < std::min<std::uint64_t>(n, 8); ++i) {
            auto idx = by_ring ? first + m.n(std::int64_t(i)) : m.bv(i);
            o << (i ? "," : "") << num(mdl, z3::select(a, idx));
        }
        o << (n > 8 ? ",...]" : "]");
    };
#define KEEL_ROW(n) row(#n, s.n);
    KEEL_PARAM_ARRAYS(KEEL_ROW)
    KEEL_PARAM_GHOSTS(KEEL_ROW)
#undef KEEL_ROW
    return o.str();
}

unsigned rounds() {
    const char* r = std::getenv("KEEL_SPEC_ROUNDS");
    return r ? unsigned(std::atoi(r)) : 3;
}

// Z3's resource counter (deterministic work units; shared by the context's solvers).
double rlimit_count(z3::solver& sol) {
    auto st = sol.statistics();
    for (unsigned i = 0; i < st.size(); ++i) {
        if (st.key(i) == "rlimit count")
            return st.is_uint(i) ? double(st.uint_value(i)) : st.double_value(i);
    }
    return 0;
}

struct Runner {
    z3::context& ctx;
    unsigned* queries;
    std::string run(const expr& hyp, const std::vector<Named>& goals,
                    const std::function<std::string(const z3::model&)>& describe) {
        z3::solver sol(ctx);
        expr all = ctx.bool_val(true);
        for (auto& g : goals)
            all = all && g.e;
        // Instantiation rounds: the fewest that prove the query (more instances only make the
        // hypothesis stronger; each round's "unsat" is a proof on its own). Z3's time on these
        // small mixed integer/bit-vector/array queries swings by orders of magnitude with its
        // search heuristics, so each round tries a few configurations with a small limit
        // first, then again with a large one.
        struct Config {
            bool reads;
            unsigned relevancy, phase, arith;
        };
        static const Config configs[] = {{true, 0, 0, 6}, {false, 0, 3, 6}, {false, 0, 0, 2}};
        std::size_t terms = 0;
        z3::check_result r = z3::unknown;
        auto t0 = std::chrono::steady_clock::now();
        // Limits in Z3's deterministic resource units, not seconds, so that a loaded machine
        // gets the same answers (about 5-7 million units per second here).
        for (unsigned limit : {12'000'000u, 300'000'000u}) {
            for (unsigned k = 1; k <= rounds() && r != z3::unsat; ++k) {
                auto plain = ground(ctx, hyp && !all, k, &terms);
                auto reads = expand_reads(ctx, plain);
                bool refuted_here = false;
                for (const auto& c : configs) {
                    const auto& f = c.reads ? reads : plain;
                    sol = z3::solver(ctx);
                    z3::params p(ctx);
                    p.set("rlimit", limit);
                    p.set("relevancy", c.relevancy);
                    p.set("phase_selection", c.phase);
                    p.set("arith.solver", c.arith);
                    sol.set(p);
                    sol.add(f);
                    auto tr = std::chrono::steady_clock::now();
                    auto before = rlimit_count(sol);
                    r = sol.check();
                    if (std::getenv("KEEL_SPEC_VERBOSE")) {
                        std::fprintf(stderr, "    rlimit %.0f\n", rlimit_count(sol) - before);
                        std::fprintf(
                            stderr, "    round %u config %d/%u/%u/%u: %s %.2f s, %zu terms\n", k,
                            int(c.reads), c.relevancy, c.phase, c.arith,
                            r == z3::unsat ? "unsat"
                            : r == z3::sat ? "sat"
                                           : "unknown",
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - tr)
                                .count(),
                            terms);
                    }
                    if (r != z3::unknown) {
                        refuted_here = r == z3::unsat;
                        break;  // sat: more instances needed, not another configuration
                    }
                }
                if (refuted_here)
                    break;
            }
            if (r != z3::unknown)
                break;
        }
        ++*queries;
        if (std::getenv("KEEL_SPEC_VERBOSE")) {
            std::fprintf(
                stderr, "  query %u: %.2f s, %zu index terms\n", *queries,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                terms);
        }
        if (r == z3::unsat)
            return "";
        if (r == z3::unknown)
            return "Z3 gave up (unknown: " + sol.reason_unknown() + ")\n";
        auto mdl = sol.get_model();
        std::ostringstream o;
        o << describe(mdl) << "  violated:\n";
        for (auto& g : goals)
            o << "    [" << g.group << "] " << g.name << "\n";
        return o.str();
    }
};

expr conj(z3::context& c, const std::vector<Named>& v) {
    expr r = c.bool_val(true);
    for (auto& n : v)
        r = r && n.e;
    return r;
}

std::string inductive(const std::string& group, unsigned* queries) {
    z3::context ctx;
    PModel m(ctx);
    Runner q{ctx, queries};
    auto header = [&](const z3::model& mdl, const std::string& what) {
        return "COUNTEREXAMPLE to P." + group + " (capacity " + num(mdl, m.cap) + ", " +
               num(mdl, m.nb) + " buffer(s), buffer_size " + num(mdl, m.bsize) + ", op_limit " +
               num(mdl, m.op_limit) + "): " + what + "\n";
    };
    auto pick = [&](const std::vector<Named>& all) {
        std::vector<Named> r;
        for (auto& n : all) {
            if (n.group == group)
                r.push_back(n);
        }
        return r;
    };
    {
        auto first = ctx.int_const("first_index");
        PState init = m.initial(first);
        auto ce = q.run(m.params_ok(), pick(m.invariants(init)), [&](const z3::model& mdl) {
            return header(mdl, "the initial state") +
                   "  step 0: create + attach, first_index=" + num(mdl, first) + "\n" +
                   show(m, mdl, init) + "\n";
        });
        if (!ce.empty())
            return ce;
    }
    PState s = m.fresh("pre.");
    PInputs in = fresh_inputs(ctx);
    auto hyp0 =
        m.params_ok() && m.well_typed(s) && inputs_typed(m, in) && conj(ctx, m.invariants(s));
    for (auto& t : transitions(m, s, in)) {
        auto hyp = hyp0 && t.guard && t.out.choice_ok;
        if (std::getenv("KEEL_SPEC_VACUITY")) {
            z3::solver v(ctx);
            std::size_t n = 0;
            v.add(ground(ctx, hyp && t.out.err == m.bv(0), 2, &n));
            auto r = v.check();
            std::fprintf(stderr, "vacuity %s: %s\n", t.name.c_str(),
                         r == z3::unsat ? "VACUOUS"
                         : r == z3::sat ? "ok"
                                        : "unknown");
        }
        // One query per conjunct: each brings one Skolem constant, which keeps the
        // instantiation small.
        for (auto& goal : pick(m.invariants(t.out.next))) {
            auto ce = q.run(hyp, {goal}, [&](const z3::model& mdl) {
                std::ostringstream o;
                o << header(mdl, "a step from a state satisfying every invariant");
                o << "  step 1: state\n" << show(m, mdl, s) << "\n";
                o << "  step 2: " << t.name << "  inputs: buf=" << num(mdl, in.buf)
                  << " slot=" << num(mdl, in.slot) << " rec=" << num(mdl, in.rec)
                  << " opcode=" << num(mdl, in.opcode) << " buffer=" << num(mdl, in.buffer)
                  << " length=" << num(mdl, in.length) << " target=" << num(mdl, in.target)
                  << " status=" << num(mdl, in.status) << " drained=" << num(mdl, in.drained)
                  << " idx=" << num(mdl, in.idx) << " t=" << num(mdl, in.t)
                  << " empty=" << num(mdl, in.empty) << " found=" << num(mdl, in.found)
                  << " none=" << num(mdl, in.none) << "\n    -> error=" << num(mdl, t.out.err)
                  << " tag=" << num(mdl, t.out.r_tag) << " status=" << num(mdl, t.out.r_status)
                  << " buffer=" << num(mdl, t.out.r_buffer) << "\n";
                o << "  step 3: state afterwards\n" << show(m, mdl, t.out.next) << "\n";
                return o.str();
            });
            if (!ce.empty())
                return ce;
        }
    }
    return "";
}

}  // namespace

std::vector<std::string> obligation_names() {
    return {"P.I1", "P.I2", "P.I3", "P.I4", "P.I5", "P.I6", "P.I7"};
}

std::string prove(const std::string& name, unsigned* queries) {
    return inductive(name.substr(2), queries);
}

}  // namespace keel::spec::param
