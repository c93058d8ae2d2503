// Query: one proof query of the concrete obligations (proofs.cpp, storage_proofs.cpp), run by
// Z3's default solver. run() returns "" when hyp && !(all goals) is unsatisfiable (proven),
// else a counterexample (the caller's description of the model and the goals it violates), or
// that Z3 gave up.
#pragma once

#include <z3++.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <spec/model.hpp>
#include <spec/proofs.hpp>

namespace keel::spec {

struct Query {
    z3::context& ctx;
    unsigned* queries;
    // Returns a counterexample text, or "" if hyp && !goal is unsatisfiable.
    std::string run(const expr& hyp, const std::vector<Named>& goals,
                    const std::function<std::string(const z3::model&)>& describe) {
        z3::solver sol(ctx);  // the default solver: faster here than proof_solver (RING, COUNTERS)
        z3::params p(ctx);
        p.set("timeout", 120000u);
        if (unsigned limit = rlimit_override())
            p.set("rlimit", limit);
        sol.set(p);
        sol.add(hyp);
        expr all = ctx.bool_val(true);
        for (auto& g : goals)
            all = all && g.e;
        sol.add(!all);
        ++*queries;
        auto t0 = std::chrono::steady_clock::now();
        auto r = sol.check();
        if (std::getenv("KEEL_SPEC_VERBOSE")) {
            std::fprintf(
                stderr, "  query %u: %.2f s\n", *queries,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        if (r == z3::unsat)
            return "";
        if (r == z3::unknown)
            return std::string(kGaveUp) + " (unknown: " + sol.reason_unknown() + ")\n";
        auto mdl = sol.get_model();
        std::ostringstream o;
        o << describe(mdl);
        o << "  violated:\n";
        for (auto& g : goals) {
            if (mdl.eval(g.e, true).is_false())
                o << "    [" << g.group << "] " << g.name << "\n";
        }
        return o.str();
    }
};

}  // namespace keel::spec
