// The solver of every parametric query's attempt (param_proofs.cpp). Z3's default solver
// (z3::solver(ctx)) builds its preprocessing tactics at every check: about 7 ms even for
// `true`, most of the time of the parametric obligations' 1 198 mostly easy queries
// (spec/README.md, "How long it takes"). This chain of preprocessing steps and the smt core,
// built directly, costs about 1 ms. The solver's parameters (rlimit, relevancy,
// phase_selection, arith.solver, random_seed) reach its smt step. The concrete obligations
// keep the default solver: with this one RING took 2.3 s instead of 0.5 and COUNTERS 4.9
// instead of 1.2 (7 Dec).
#pragma once

#include <z3++.h>

namespace keel::spec {

inline z3::solver proof_solver(z3::context& c) {
    return (z3::tactic(c, "simplify") & z3::tactic(c, "propagate-values") &
            z3::tactic(c, "solve-eqs") & z3::tactic(c, "elim-uncnstr") & z3::tactic(c, "smt"))
        .mk_solver();
}

}  // namespace keel::spec
