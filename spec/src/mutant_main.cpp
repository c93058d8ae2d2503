// keel_spec_mutant_<name> [--proofs-first | --only OBLIGATION]: the spec check run against a seeded
// mutant of ipc/ (spec/mutants/<name>.sed). Exit 0 only if the mutant is REFUTED, i.e. a proof
// obligation or a conformance trace yields a concrete counterexample, which is printed. An
// obligation on which Z3 gave up (a timeout, a resource limit) refutes nothing: it is named and
// the search goes on, so a mutant that only makes the solver slow is not counted as caught.
// Proofs run at capacities 1 and 2 with 1 and 2 buffers to keep the check cheap.
#include <cstdio>
#include <string>
#include <vector>

#include <spec/conformance.hpp>
#include <spec/proofs.hpp>

namespace {

std::vector<std::string> gave_up;  // obligations Z3 gave up on

bool proofs(const std::string& only) {
    keel::spec::ProofConfig cfg;
    cfg.caps = {1, 2};
    cfg.buffers = {1, 2};
    // Cheapest and most telling first (RULES is one query, RING seven). --only runs any
    // obligation, the parametric P.* too.
    std::vector<std::string> names{"RULES", "RING",    "COUNTERS", "SAFE", "I8.client", "I8.server",
                                   "I1",    "I2",      "I3",       "I4",   "I5",        "I6",
                                   "I7",    "I5.step", "I6.step",  "STALE"};
    if (!only.empty())
        names = {only};
    for (const auto& name : names) {
        const char* n = name.c_str();
        auto r = keel::spec::prove(n, cfg);
        if (r.gave_up) {
            std::printf("obligation %s: Z3 gave up, which refutes nothing\n", n);
            gave_up.push_back(name);
            continue;
        }
        if (!r.proved) {
            std::printf("%sREFUTED by proof obligation %s\n", r.counterexample.c_str(), n);
            return true;
        }
    }
    return false;
}

bool conformance() {
    auto r = keel::spec::run_conformance(false);
    if (!r.ok) {
        std::printf("%sREFUTED by trace conformance\n", r.message.c_str());
        return true;
    }
    return false;
}

}  // namespace

// --only OBLIGATION: run just that proof obligation (to see which obligations a mutant breaks).
int main(int argc, char** argv) {
    bool proofs_first = argc > 1 && std::string(argv[1]) == "--proofs-first";
    if (argc > 2 && std::string(argv[1]) == "--only") {
        bool refuted = proofs(argv[2]);
        if (!refuted)
            std::printf("SURVIVED obligation %s%s\n", argv[2],
                        gave_up.empty() ? "" : " (Z3 gave up)");
        return refuted ? 0 : 1;
    }
    bool refuted = proofs_first ? (proofs({}) || conformance()) : (conformance() || proofs({}));
    if (!refuted) {
        std::printf("SURVIVED: no proof or trace refutes this mutant%s\n",
                    gave_up.empty() ? "" : " (Z3 gave up on some obligations)");
    }
    return refuted ? 0 : 1;
}
