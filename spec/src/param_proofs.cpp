// Obligations P.I1..P.I7 (spec/ipc.md §7): the invariants of param_invariants.cpp hold
// initially and are preserved by every transition of param_model.cpp, for every capacity
// 2^0..2^15 and every buffer count 0..0xFFFE at once, 32-bit counters, all values. P.SAFE (no
// implementation assertion fires) and P.I8.client / P.I8.server (hostile peer) likewise. Each
// query is "hypothesis and not goal" with quantified invariants on both sides; Z3 must answer
// unsat.
// P.NONVACUOUS checks the hypotheses can hold together with each transition succeeding.
#include <spec/param_proofs.hpp>
#include <spec/proofs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <unordered_set>

#include <ipc/result.hpp>
#include <ipc/rules.hpp>
#include <spec/param_ground.hpp>
#include <spec/param_model.hpp>
#include <spec/z3_solver.hpp>

namespace keel::spec::param {

namespace R = keel::ipc::rules;

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
        {"Server::complete(handle=rec, status)", m.complete(s, in.rec, in.status), idle},
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

// KEEL_SPEC_RECORD_SEEDS: how many random seeds recording tries per round and configuration
// (default 4; more finds cheaper hints for the hardest queries, at that many times the cost).
unsigned record_seeds() {
    const char* r = std::getenv("KEEL_SPEC_RECORD_SEEDS");
    return r ? unsigned(std::atoi(r)) : 4;
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

// Proof hints (param_hints.inc): for each query that the default schedule below solves only
// after attempts that run out of their limit, the instantiation round and Z3 configuration that
// solve it directly. A hint only orders the attempts: a query is proven only by "unsat", and a
// hint that no longer works (the model changed) falls back to the full schedule, costing time,
// never soundness. Regenerate with KEEL_SPEC_RECORD_HINTS=1 (see spec/README.md).
struct Hint {
    const char* key;
    unsigned round, config, seed;
    double units;  // what it cost when recorded
};
const Hint kHints[] = {
#include "param_hints.inc"
    {nullptr, 0, 0, 0, 0},  // the list may be empty
};

const Hint* find_hint(const std::string& key) {
    for (const auto& h : kHints) {
        if (h.key && key == h.key)
            return &h;
    }
    return nullptr;
}

struct Runner {
    z3::context& ctx;
    unsigned* queries;
    std::string key;  // "P.<group> | <transition> | <goal>": names the query for its hint

    // Z3's time on these small mixed integer/bit-vector/array queries swings by orders of
    // magnitude with its search heuristics, so each round tries a few configurations.
    struct Config {
        bool reads;
        unsigned relevancy, phase, arith;
    };
    static constexpr Config kConfigs[] = {{true, 0, 0, 6}, {false, 0, 3, 6}, {false, 0, 0, 2}};
    static constexpr unsigned kNumConfigs = sizeof(kConfigs) / sizeof(kConfigs[0]);
    // Limits in Z3's deterministic resource units, not seconds, so that a loaded machine gets
    // the same answers (about 5-7 million units per second here).
    static constexpr unsigned kShort = 12'000'000u, kLong = 300'000'000u;

    std::string run(const expr& hyp, const std::vector<Named>& goals,
                    const std::function<std::string(const z3::model&)>& describe) {
        expr all = ctx.bool_val(true);
        for (auto& g : goals)
            all = all && g.e;
        // Instantiation rounds: the fewest that prove the query (more instances only make the
        // hypothesis stronger; each round's "unsat" is a proof on its own).
        // Each round's formula, built when first asked for (a hinted query needs only one), and
        // its read-expanded form only for the configurations that use it.
        std::map<unsigned, expr> plain, expanded;
        std::size_t terms = 0;
        auto formula = [&](unsigned k, bool reads) -> const expr& {
            auto p = plain.find(k);
            if (p == plain.end())
                p = plain.emplace(k, ground(ctx, hyp && !all, k, &terms)).first;
            if (!reads)
                return p->second;
            auto e = expanded.find(k);
            if (e == expanded.end())
                e = expanded.emplace(k, expand_reads(ctx, p->second)).first;
            return e->second;
        };
        z3::solver sol(ctx);
        std::string reason;  // of the last "unknown"
        // Each attempt runs in a context of its own, on a copy of the query: Z3's search
        // depends on the internal numbering of terms, which in the shared context depends on
        // every query built before. A copy is numbered by its own structure alone, so an
        // attempt's outcome and resource count are the same in any run, alone or in a batch.
        auto attempt = [&](unsigned k, unsigned ci, unsigned seed, unsigned limit) {
            const auto& c = kConfigs[ci];
            const auto& f = formula(k, c.reads);
            auto configure = [&](z3::context& in, z3::solver& so) {
                z3::params p(in);
                p.set("rlimit", rlimit_override() ? rlimit_override() : limit);
                p.set("relevancy", c.relevancy);
                p.set("phase_selection", c.phase);
                p.set("arith.solver", c.arith);
                p.set("random_seed", seed);
                so.set(p);
            };
            z3::context own;
            z3::solver so = proof_solver(own);
            configure(own, so);
            so.add(z3::to_expr(own, Z3_translate(ctx, f, own)));
            auto tr = std::chrono::steady_clock::now();
            auto r = so.check();
            double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - tr).count();
            double units = rlimit_count(so);
            if (r == z3::unknown)
                reason = so.reason_unknown();
            if (std::getenv("KEEL_SPEC_VERBOSE")) {
                std::fprintf(stderr,
                             "    round %u config %u seed %u: %s %.2f s, %.0f units, %zu terms\n",
                             k, ci, seed,
                             r == z3::unsat ? "unsat"
                             : r == z3::sat ? "sat"
                                            : "unknown",
                             secs, units, terms);
            }
            if (r == z3::sat) {  // the counterexample's model, in the shared context
                sol = proof_solver(ctx);
                configure(ctx, sol);
                sol.add(f);
                if (sol.check() != z3::sat)
                    r = z3::unknown;
            }
            return std::make_pair(r, units);
        };
        auto t0 = std::chrono::steady_clock::now();
        if (std::getenv("KEEL_SPEC_VERBOSE"))
            std::fprintf(stderr, "  %s\n", key.c_str());
        z3::check_result r = z3::unknown;
        if (std::getenv("KEEL_SPEC_RECORD_HINTS")) {
            r = record_hint(attempt);
        } else if (const Hint* h = find_hint(key);
                   h && h->round <= rounds() && h->config < kNumConfigs) {
            // Twice what it cost when recorded: a hint gone stale costs little.
            r = attempt(h->round, h->config, h->seed, unsigned(2 * h->units) + 1'000'000).first;
        }
        // The default schedule: every configuration with the short limit at each round, then
        // all of it again with the long one.
        for (unsigned limit : {kShort, kLong}) {
            for (unsigned k = 1; k <= rounds() && r != z3::unsat; ++k) {
                for (unsigned ci = 0; ci < kNumConfigs; ++ci) {
                    r = attempt(k, ci, 0, limit).first;
                    if (r != z3::unknown)
                        break;  // sat: more instances needed, not another configuration
                }
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
            return std::string(kGaveUp) + " (unknown: " + reason + ")\n";
        auto mdl = sol.get_model();
        std::ostringstream o;
        o << describe(mdl) << "  violated:\n";
        for (auto& g : goals)
            o << "    [" << g.group << "] " << g.name << "\n";
        return o.str();
    }

    // Every round, configuration and a few random seeds; the cheapest "unsat" in resource
    // units becomes a hint line on stdout, unless it is the default schedule's first attempt.
    // Each attempt's limit is the cheapest so far: a dearer one would not be chosen.
    template <typename Attempt>
    z3::check_result record_hint(Attempt& attempt) {
        unsigned best_k = 0, best_c = 0, best_s = 0;
        double best = 0;
        for (unsigned k = 1; k <= rounds(); ++k) {
            bool needs_more = false;
            for (unsigned seed = 0; seed < record_seeds(); ++seed) {
                for (unsigned ci = 0; ci < kNumConfigs; ++ci) {
                    auto limit = best_k ? unsigned(best) : kLong / 4;
                    auto [r, units] = attempt(k, ci, seed, limit);
                    needs_more = needs_more || r == z3::sat;
                    if (r == z3::unsat && (best_k == 0 || units < best)) {
                        best_k = k, best_c = ci, best_s = seed, best = units;
                    }
                    if (k == 1 && ci == 0 && seed == 0 && r == z3::unsat && units < 1'000'000)
                        return r;  // the default's first attempt, cheap enough
                }
                if (best_k && best < 1'000'000)
                    break;
            }
            if (!needs_more && best_k != 0)
                break;  // later rounds only add instances
        }
        if (best_k > 1 || best_c > 0 || best_s > 0)
            std::printf("    {\"%s\", %u, %u, %u, %.0f},\n", key.c_str(), best_k, best_c, best_s,
                        best);
        return best_k ? z3::unsat : z3::unknown;
    }
};

expr conj(z3::context& c, const std::vector<Named>& v) {
    expr r = c.bool_val(true);
    for (auto& n : v)
        r = r && n.e;
    return r;
}

// Steps 1-3 of a counterexample to an induction step: the state, the call, the state after.
std::string step_text(const PModel& m, const z3::model& mdl, const PState& s, const PInputs& in,
                      const PTrans& t) {
    std::ostringstream o;
    o << "  step 1: state\n" << show(m, mdl, s) << "\n";
    o << "  step 2: " << t.name << "  inputs: buf=" << num(mdl, in.buf)
      << " slot=" << num(mdl, in.slot) << " rec=" << num(mdl, in.rec)
      << " opcode=" << num(mdl, in.opcode) << " buffer=" << num(mdl, in.buffer)
      << " length=" << num(mdl, in.length) << " target=" << num(mdl, in.target)
      << " status=" << num(mdl, in.status) << " drained=" << num(mdl, in.drained)
      << " idx=" << num(mdl, in.idx) << " t=" << num(mdl, in.t) << " empty=" << num(mdl, in.empty)
      << " found=" << num(mdl, in.found) << " none=" << num(mdl, in.none)
      << "\n    -> error=" << num(mdl, t.out.err) << " tag=" << num(mdl, t.out.r_tag)
      << " status=" << num(mdl, t.out.r_status) << " buffer=" << num(mdl, t.out.r_buffer) << "\n";
    o << "  step 3: state afterwards\n" << show(m, mdl, t.out.next) << "\n";
    return o.str();
}

std::string inductive(const std::string& group, unsigned* queries) {
    z3::context ctx;
    PModel m(ctx);
    Runner q{ctx, queries, {}};
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
    if (group == "I3") {
        // The initial state's free-slot and free-record ranks exist (see PModel::initial_ok).
        // Quantifier-free, bit-vector/integer conversions: Z3's defaults, not Runner's schedule.
        z3::solver sol(ctx);
        z3::params p(ctx);
        p.set("rlimit", 300'000'000u);
        sol.set(p);
        sol.add(m.initial_ranks_lemma());
        auto t0 = std::chrono::steady_clock::now();
        auto r = sol.check();
        ++*queries;
        if (std::getenv("KEEL_SPEC_VERBOSE")) {
            std::fprintf(
                stderr, "  P.I3 | initial free-set ranks (identity): %.2f s, %.0f units\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                rlimit_count(sol));
        }
        if (r == z3::sat) {
            auto mdl = sol.get_model();
            return "COUNTEREXAMPLE to P.I3 (capacity " + num(mdl, m.cap) +
                   "): the identity does not rank the initial free slots onto [0, capacity)\n";
        }
        if (r == z3::unknown)
            return "Z3 gave up on the initial ranks (unknown: " + sol.reason_unknown() + ")\n";
    }
    {
        auto first = ctx.int_const("first_index");
        PState init = m.initial(first);
        q.key = "P." + group + " | initial state";
        auto init_hyp = m.params_ok() && m.initial_ok(init);
        auto ce = q.run(init_hyp, pick(m.invariants(init)), [&](const z3::model& mdl) {
            return header(mdl, "the initial state") +
                   "  step 0: create + attach, first_index=" + num(mdl, first) + "\n" +
                   show(m, mdl, init) + "\n";
        });
        if (!ce.empty())
            return ce;
    }
    PState s = m.fresh("pre.");
    PInputs in = fresh_inputs(ctx);
    // The free-set ranks (I3) only where needed: P.I3 (their own induction step) and SAFE.
    auto hyp0 = m.params_ok() && m.well_typed(s) && inputs_typed(m, in) &&
                conj(ctx, m.invariants(s, group == "I3"));
    for (auto& t : transitions(m, s, in)) {
        // The choices (alloc_ok first, as one conjunct: the query as before alloc_ok existed).
        auto choice = t.out.choice_ok.is_true()  ? t.out.alloc_ok
                      : t.out.alloc_ok.is_true() ? t.out.choice_ok
                                                 : t.out.alloc_ok && t.out.choice_ok;
        auto hyp = hyp0 && t.guard && choice;
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
            q.key = "P." + group + " | " + t.name + " | " + goal.name;
            auto ce = q.run(hyp, {goal}, [&](const z3::model& mdl) {
                return header(mdl, "a step from a state satisfying every invariant") +
                       step_text(m, mdl, s, in, t);
            });
            if (!ce.empty())
                return ce;
        }
    }
    return "";
}

// P.SAFE: from a state satisfying every invariant, no transition fires an implementation
// assertion. P.I8.client / P.I8.server (hostile peer): from a state satisfying only that side's
// local invariants (side 'c' / 's'; the peer's state and all of shared memory arbitrary), each
// transition of that side fires no assertion and keeps that side's local invariants. Posed as
// proofs.cpp's `composed`. `safe` is posed without alloc_ok, the choice of a free slot or
// record, which exists only if `safe` holds; the invariant goals may assume it.
std::string one_sided(const std::string& name, unsigned* queries) {
    z3::context ctx;
    PModel m(ctx);
    Runner q{ctx, queries, {}};
    const char side = name == "I8.client" ? 'c' : name == "I8.server" ? 's' : 0;
    PState s = m.fresh("pre.");
    PInputs in = fresh_inputs(ctx);
    std::vector<Named> local;
    for (auto& n : m.invariants(s)) {
        if (!side || n.side == side)
            local.push_back(n);
    }
    auto hyp0 = m.params_ok() && m.well_typed(s) && inputs_typed(m, in) && conj(ctx, local);
    // "A free slot/record exists" (when the count is below cap): the one at rank 0 of the free
    // set. These tautologies only bring that term into the instantiation.
    auto term = [&](const expr& a) {
        auto e = z3::select(a, m.n(0));
        return e == e;
    };
    auto witnesses = term(s.fs_elem) && term(s.fr_elem);
    for (auto& t : transitions(m, s, in)) {
        const char t_side = t.name.rfind("Client::", 0) == 0 ? 'c' : 's';
        if (side && t_side != side)
            continue;
        auto hyp = hyp0 && t.guard && t.out.choice_ok;
        if (std::getenv("KEEL_SPEC_VACUITY")) {
            z3::solver v(ctx);
            std::size_t n = 0;
            v.add(ground(ctx, hyp && t.out.alloc_ok && t.out.err == m.bv(0), 2, &n));
            auto r = v.check();
            std::fprintf(stderr, "vacuity %s: %s\n", t.name.c_str(),
                         r == z3::unsat ? "VACUOUS"
                         : r == z3::sat ? "ok"
                                        : "unknown");
        }
        std::vector<std::pair<expr, Named>> goals;
        goals.emplace_back(hyp && witnesses,
                           Named{"SAFE", 'x', "no implementation assertion fires", t.out.safe});
        if (side) {
            for (auto& g : m.invariants(t.out.next)) {
                if (g.side == side)
                    goals.emplace_back(hyp && t.out.alloc_ok, g);
            }
        }
        for (auto& [h, goal] : goals) {
            q.key = "P." + name + " | " + t.name + " | " + goal.name;
            auto ce = q.run(h, {goal}, [&](const z3::model& mdl) {
                std::string what = side ? std::string("a step from a state satisfying the ") +
                                              (side == 'c' ? "client" : "server") +
                                              "-local invariants, shared memory arbitrary"
                                        : "a step from a state satisfying every invariant";
                return "COUNTEREXAMPLE to P." + name + " (capacity " + num(mdl, m.cap) + ", " +
                       num(mdl, m.nb) + " buffer(s), buffer_size " + num(mdl, m.bsize) +
                       ", op_limit " + num(mdl, m.op_limit) + "): " + what + "\n" +
                       step_text(m, mdl, s, in, t);
            });
            if (!ce.empty())
                return ce;
        }
    }
    return "";
}

// Where P.I5.step, P.I6.step and P.PROGRESS start: any state satisfying every invariant, with
// well-typed inputs, for every capacity and buffer count.
struct FromInvariants {
    explicit FromInvariants(unsigned* queries)
        : m(ctx),
          q{ctx, queries, {}},
          s(m.fresh("pre.")),
          in(fresh_inputs(ctx)),
          hyp0(m.params_ok() && m.well_typed(s) && inputs_typed(m, in) &&
               conj(ctx, m.invariants(s))) {}
    z3::context ctx;
    PModel m;
    Runner q;
    PState s;
    PInputs in;
    expr hyp0;
};

// P.I5.step and P.I6.step: the cancel and teardown outcomes of ipc.md §3 and §5 (proofs.cpp's
// I5.step and I6.step, which check them at capacities 1 and 2), from every state satisfying
// every invariant, for every capacity and buffer count at once. Written from ipc.md's rules
// (IPC-R-061..063, the teardown drain), not from the model's branches: each goal names the
// records by a quantifier, so it holds whichever way the model splits the outcomes.
std::string outcomes(const std::string& name, unsigned* queries) {
    FromInvariants f(queries);
    auto& m = f.m;
    auto& q = f.q;
    const auto& s = f.s;
    const auto& in = f.in;
    const auto& hyp0 = f.hyp0;
    auto none = m.bv(keel::ipc::abi::kNoBuffer);
    auto st = [&](keel::ipc::abi::Status v) { return m.bv(std::uint32_t(v)); };
    for (auto& t : transitions(m, s, in)) {
        auto hyp = hyp0 && t.guard && t.out.choice_ok && t.out.alloc_ok;
        const PState& n = t.out.next;
        std::vector<Named> goals;
        if (name == "I6.step") {
            if (t.name.rfind("Client::reap", 0) != 0)
                continue;
            // The live slot at rank 0 (one exists while operations are pending, I3): this
            // tautology only brings the term into the instantiation, as one_sided's witnesses.
            auto first_live = m.sel(s.c_elem, m.n(0));
            hyp = hyp && first_live == first_live;
            auto torn = !(s.cmode == m.bv(kCOpen));
            goals.push_back(Named{"I6", 'c',
                                  "torn down with operations pending: reap completes one",
                                  !(torn && !(s.outstanding == m.n(0))) || t.out.err == m.bv(0)});
            goals.push_back(Named{"I6", 'c', "torn down, nothing pending: reap says Empty",
                                  !(torn && s.outstanding == m.n(0)) ||
                                      t.out.err == m.bv(std::uint32_t(keel::ipc::Error::Empty))});
        } else {
            if (t.name.rfind("Server::poll() loop", 0) != 0)
                continue;
            auto at = s.sq_head;
            auto ctag = m.sel(s.sq_tag, at);
            auto target = m.sel(s.sq_target, at);
            auto is_cancel =
                m.sel(s.sq_opcode, at) == m.bv(std::uint32_t(keel::ipc::abi::Op::Cancel)) &&
                m.sel(s.sq_buffer, at) == none;
            hyp = hyp && is_cancel && s.cmode == m.bv(kCOpen) && s.smode == m.bv(kSOpen);
            // A record the Cancel names (IPC-R-063: a target of 2^32 or more names none; with
            // the client open I4 keeps such targets out of the ring, so that case is RULES'
            // and the refinement check's).
            auto match = [&](const expr& r) {
                return z3::ult(r, m.cap) && m.sel(s.sq_target_hi, at) == m.bv(0) &&
                       m.active(s, r) && m.sel(s.op_tag, r) == target;
            };
            auto post_at = [&](std::int64_t k, const expr& tag, const expr& status,
                               const expr& buf) {
                auto j = s.cq_tail + m.n(k);
                return m.sel(n.cq_tag, j) == tag && m.sel(n.cq_status, j) == status &&
                       m.sel(n.cq_buffer, j) == buf;
            };
            auto state = [&](const expr& r, std::uint32_t v) {
                return m.sel(s.op_state, r) == m.bv(v);
            };
            goals.push_back(
                Named{"I5", 'x', "a queued target: Cancelled with its buffer, then Ok",
                      m.forall_below("r", m.cap, [&](const expr& r) {
                          return !(match(r) && state(r, R::kOpQueued)) ||
                                 (m.sel(n.op_state, r) == m.bv(R::kOpFree) &&
                                  n.cq_tail == s.cq_tail + m.n(2) &&
                                  post_at(0, target, st(keel::ipc::abi::Status::Cancelled),
                                          m.sel(s.op_buf, r)) &&
                                  post_at(1, ctag, st(keel::ipc::abi::Status::Ok), none));
                      })});
            goals.push_back(Named{
                "I5", 'x', "a taken target: InProgress, the target stays taken and flagged",
                m.forall_below("r", m.cap, [&](const expr& r) {
                    return !(match(r) && state(r, R::kOpTaken)) ||
                           (m.sel(n.op_state, r) == m.bv(R::kOpTaken) &&
                            m.sel(n.op_flag, r) == m.bv(1) && n.cq_tail == s.cq_tail + m.n(1) &&
                            post_at(0, ctag, st(keel::ipc::abi::Status::InProgress), none));
                })});
            auto found = !m.forall_below("r", m.cap, [&](const expr& r) { return !match(r); });
            goals.push_back(
                Named{"I5", 'x', "an unknown or completed target: NotFound, nothing else",
                      found || (n.cq_tail == s.cq_tail + m.n(1) &&
                                post_at(0, ctag, st(keel::ipc::abi::Status::NotFound), none) &&
                                n.ops_live == s.ops_live)});
        }
        for (auto& goal : goals) {
            q.key = "P." + name + " | " + t.name + " | " + goal.name;
            auto ce = q.run(hyp, {goal}, [&](const z3::model& mdl) {
                return "COUNTEREXAMPLE to P." + name + " (capacity " + num(mdl, m.cap) + ", " +
                       num(mdl, m.nb) +
                       " buffer(s)): a step from a state satisfying every "
                       "invariant\n" +
                       step_text(m, mdl, s, in, t);
            });
            if (!ce.empty())
                return ce;
        }
    }
    return "";
}

// P.PROGRESS: an entry seen is an entry served (IPC-R-004, the consumer's "is there an entry"
// at every counter value, wrap included), from every state satisfying every invariant, for
// every capacity and buffer count. The other obligations are safety: a consumer that wrongly
// saw an empty ring would change nothing and break none of them (m05, has_entry as an ordered
// compare of the counters, survives every one). Written from ipc.md, over absolute positions:
//   - an open client with a completion seen and not reaped (cq_head < cq_tail_seen): reap
//     returns it (the invariants make every such completion valid);
//   - an open server with a request seen and not taken (sq_head < sq_tail_seen) and credit
//     left (I3's reservations below the capacity): the poll loop takes it.
std::string progress(unsigned* queries) {
    FromInvariants f(queries);
    const PModel& m = f.m;
    const PState& s = f.s;
    auto describe = [&](const std::string& what) {
        return [&, what](const z3::model& mdl) {
            return "COUNTEREXAMPLE to P.PROGRESS (capacity " + num(mdl, m.cap) + ", " +
                   num(mdl, m.nb) + " buffer(s)): " + what +
                   ", from a state satisfying every invariant\n" + show(m, mdl, s);
        };
    };
    auto client_sees = s.cmode == m.bv(kCOpen) && s.cq_head < s.cq_tail_seen;
    auto reap = m.reap(s, f.in.found, f.in.idx);  // the transition Client::reap, alone
    f.q.key = "P.PROGRESS | Client::reap | an open client reaps a completion it saw";
    auto ce = f.q.run(
        f.hyp0 && reap.choice_ok && client_sees,
        {Named{"PROGRESS", 'c', "an open client reaps a completion it saw", reap.err == m.bv(0)}},
        describe("reap of a completion seen"));
    if (!ce.empty())
        return ce;
    auto server_sees = s.smode == m.bv(kSOpen) && s.sq_head < s.sq_tail_seen &&
                       s.ops_live + m.span(s.cq_head_seen, s.cq_tail) < m.cap_n;
    f.q.key =
        "P.PROGRESS | Server::poll() loop | an open server with credit takes a request it saw";
    return f.q.run(f.hyp0 && server_sees,
                   {Named{"PROGRESS", 's', "an open server with credit takes a request it saw",
                          m.accept_enabled(s)}},
                   describe("the poll loop's test for one more request"));
}

// The value of a constant in a model, as a term usable in another query: an array's
// interpretation (a finite table and a default) becomes stores over a constant array.
expr model_value(const z3::model& mdl, const expr& c) {
    expr v = mdl.eval(c, true);
    if (v.is_app() && v.decl().decl_kind() == Z3_OP_AS_ARRAY) {
        z3::func_decl f(v.ctx(), Z3_get_as_array_func_decl(v.ctx(), v));
        auto fi = mdl.get_func_interp(f);
        expr r = z3::const_array(c.get_sort().array_domain(), fi.else_value());
        for (unsigned i = 0; i < fi.num_entries(); ++i)
            r = z3::store(r, fi.entry(i).arg(0), fi.entry(i).value());
        return r;
    }
    return v;
}

void constants(const expr& e, std::unordered_set<unsigned>& seen, z3::expr_vector& out) {
    if (!seen.insert(e.id()).second)
        return;
    if (e.is_quantifier()) {
        constants(e.body(), seen, out);
    } else if (e.is_app()) {
        if (e.is_const() && e.decl().decl_kind() == Z3_OP_UNINTERPRETED)
            out.push_back(e);
        for (unsigned i = 0; i < e.num_args(); ++i)
            constants(e.arg(i), seen, out);
    }
}

// P.NONVACUOUS: each transition succeeds from some state that satisfies every invariant as
// stated, quantifiers and all; otherwise its induction steps could hold only because their
// hypothesis is false. At capacity 2 with 2 buffers: Z3 finds a candidate state with the
// hypotheses instantiated (which weakens them), then the candidate is checked against the
// full hypotheses: every constant replaced by its value, the negation must be unsat.
std::string nonvacuous(unsigned* queries) {
    z3::context ctx;
    PModel m(ctx);
    PState s = m.fresh("pre.");
    PInputs in = fresh_inputs(ctx);
    auto fixed = m.cap == m.bv(2) && m.cap_n == m.n(2) && m.nb == m.bv(2) && m.bsize == m.bv(64) &&
                 m.op_limit == m.bv(32);
    auto hyp0 = m.params_ok() && fixed && m.well_typed(s) && inputs_typed(m, in) &&
                conj(ctx, m.invariants(s));
    for (auto& t : transitions(m, s, in)) {
        auto t0 = std::chrono::steady_clock::now();
        auto hyp = hyp0 && t.guard && t.out.choice_ok && t.out.alloc_ok && t.out.err == m.bv(0);
        // Every index of every table at this size, so that the candidate satisfies each
        // quantifier at all of them (the instantiation takes its terms from the formula).
        expr seeds = ctx.bool_val(true);
        auto seed = [&](const expr& a, const expr& i) {
            seeds = seeds && z3::select(a, i) == z3::select(a, i);
        };
        for (std::uint32_t i = 0; i < 2; ++i) {
            seed(s.c_state, m.bv(i));
            seed(s.op_state, m.bv(i));
            seed(s.bstate, m.bv(i));
            seed(s.c_elem, m.n(i));
            seed(s.r_elem, m.n(i));
            seed(s.fs_elem, m.n(i));
            seed(s.fr_elem, m.n(i));
            seed(s.sq_tag, s.sq_head_seen + m.n(i));
            seed(s.cq_tag, s.cq_head_seen + m.n(i));
        }
        z3::solver sol(ctx);
        z3::params p(ctx);
        p.set("rlimit", 100'000'000u);
        sol.set(p);
        sol.add(ground(ctx, hyp && seeds, 1, nullptr));
        auto r = sol.check();
        ++*queries;
        std::string verdict = r == z3::sat ? "" : r == z3::unsat ? "no candidate" : "Z3 gave up";
        if (r == z3::sat) {
            auto mdl = sol.get_model();
            z3::expr_vector from(ctx), to(ctx);
            std::unordered_set<unsigned> seen;
            constants(hyp, seen, from);
            for (unsigned i = 0; i < from.size(); ++i)
                to.push_back(model_value(mdl, from[i]));
            expr h = hyp;
            z3::solver check(ctx);
            check.set(p);
            check.add(ground(ctx, !h.substitute(from, to), 1, nullptr));
            auto c = check.check();
            ++*queries;
            if (c != z3::unsat) {
                verdict = c == z3::sat ? "the candidate does not satisfy the invariants"
                                       : "Z3 gave up checking the candidate";
                for (auto& n : m.invariants(s)) {
                    z3::solver one(ctx);
                    one.add(ground(ctx, !n.e.substitute(from, to), 1, nullptr));
                    if (one.check() != z3::unsat)
                        verdict += "\n    [" + n.group + "] " + n.name;
                }
            }
        }
        if (std::getenv("KEEL_SPEC_VERBOSE")) {
            std::fprintf(
                stderr, "  %s: %s %.2f s\n", t.name.c_str(),
                verdict.empty() ? "ok" : verdict.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        if (!verdict.empty())
            return "P.NONVACUOUS: " + t.name + ": " + verdict + "\n";
    }
    return "";
}

// P.STALE: STALE of proofs.cpp for every capacity and buffer count at once (IPC-R-054), from
// any state (no invariant assumed): a handle whose record is not taken at the handle's
// generation completes nothing and changes nothing, and a complete that succeeds leaves its
// handle stale, so a second complete of it changes nothing either. Quantifier-free: one query.
std::string stale(unsigned* queries) {
    z3::context ctx;
    PModel m(ctx);
    PState s = m.fresh("pre.");
    auto h = ctx.bv_const("handle", 32), st = ctx.bv_const("status", 32);
    auto st2 = ctx.bv_const("status2", 32);
    auto r = R::op_record<expr>(h);
    auto same = [&](const PState& a, const PState& b) {
        expr e = ctx.bool_val(true);
#define KEEL_EQ(n) e = e && a.n == b.n;
        KEEL_SPEC_SCALARS(KEEL_EQ)
        KEEL_PARAM_ARRAYS(KEEL_EQ)
        KEEL_PARAM_GHOSTS(KEEL_EQ)
#undef KEEL_EQ
        return e;
    };
    auto current = [&](const PState& x) {
        return z3::ult(r, m.cap) &&
               R::server_handle_current<expr>(h, m.sel(x.op_state, r), m.sel(x.op_gen, r));
    };
    POut once = m.complete(s, h, st);
    POut twice = m.complete(once.next, h, st2);
    auto ok1 = once.err == m.bv(0), ok2 = twice.err == m.bv(0);
    // Written from ipc.md's table, not from the rule function.
    auto taken_now = z3::ult(r, m.cap) && m.sel(s.op_state, r) == m.bv(R::kOpTaken) &&
                     m.sel(s.op_gen, r) == z3::lshr(h, m.bv(16));
    std::vector<std::pair<const char*, expr>> goals{
        {"a handle whose record is not taken at its generation changes nothing",
         taken_now || (!ok1 && same(once.next, s))},
        {"after a complete that succeeds its handle is not current", !ok1 || !current(once.next)},
        {"a second complete of the same handle changes nothing",
         !ok1 || (!ok2 && same(twice.next, once.next))},
    };
    for (auto& [what, goal] : goals) {
        z3::solver sol(ctx);
        if (unsigned limit = rlimit_override()) {
            z3::params p(ctx);
            p.set("rlimit", limit);
            sol.set(p);
        }
        sol.add(m.params_ok() && z3::ult(st, m.bv(0x10000)) && z3::ult(st2, m.bv(0x10000)) &&
                !goal);
        ++*queries;
        auto res = sol.check();
        if (res == z3::unknown)
            return std::string(kGaveUp) + " (P.STALE: " + what + ": " + sol.reason_unknown() +
                   ")\n";
        if (res == z3::sat) {
            auto mdl = sol.get_model();
            return "COUNTEREXAMPLE to P.STALE: " + std::string(what) + "\n  from the state\n" +
                   show(m, mdl, s) + "\n  Server::complete(handle=" + num(mdl, h) +
                   ", status=" + num(mdl, st) + ") -> error " + num(mdl, once.err) +
                   "\n  then Server::complete(handle=" + num(mdl, h) + ", status=" + num(mdl, st2) +
                   ") -> error " + num(mdl, twice.err) + "\n";
        }
    }
    return "";
}

}  // namespace

std::vector<std::string> obligation_names() {
    return {"P.I1",         "P.I2",    "P.I3",      "P.I4",        "P.I5",
            "P.I6",         "P.I7",    "P.SAFE",    "P.I8.client", "P.I8.server",
            "P.NONVACUOUS", "P.STALE", "P.I5.step", "P.I6.step",   "P.PROGRESS"};
}

std::string prove(const std::string& name, unsigned* queries) {
    auto ob = name.substr(2);
    if (ob == "NONVACUOUS")
        return nonvacuous(queries);
    if (ob == "STALE")
        return stale(queries);
    if (ob == "SAFE" || ob == "I8.client" || ob == "I8.server")
        return one_sided(ob, queries);
    if (ob == "I5.step" || ob == "I6.step")
        return outcomes(ob, queries);
    if (ob == "PROGRESS")
        return progress(queries);
    return inductive(ob, queries);
}

}  // namespace keel::spec::param
