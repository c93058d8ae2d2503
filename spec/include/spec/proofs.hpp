// The proof obligations of spec/ipc.md §7, each one ctest test (label `spec`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace keel::spec {

struct ProofConfig {
    std::vector<std::uint32_t> caps{1, 2, 4, 8};     // concrete ring capacities (slot tables)
    std::vector<std::uint32_t> buffers{1, 2, 4, 8};  // buffer table sizes
    bool verbose = false;
};

// How an obligation's text starts when Z3 answered "unknown" (a timeout, a resource limit)
// instead of a model: not proved, and not refuted either.
inline constexpr char kGaveUp[] = "Z3 gave up";

struct ProofReport {
    bool proved = true;
    bool gave_up = false;        // !proved because Z3 gave up: no counterexample exists
    std::string counterexample;  // readable, if !proved
    unsigned queries = 0;
};

// KEEL_SPEC_RLIMIT=N: every Z3 query gets at most N resource units (0 or unset: the usual
// limits). Makes Z3 give up on purpose (spec.mutant.gave_up_is_not_refuted).
unsigned rlimit_override();

// Names: I1..I7 (inductive over the composed client+server system), I5.step, I6.step
// (transition obligations), I8.client, I8.server (hostile peer), SAFE (no implementation
// assertion can fire), RING (ring/credit rules for every capacity <= kMaxCapacity, symbolic),
// COUNTERS (the credit/ring counter system, symbolic capacity, inductive).
std::vector<std::string> obligation_names();
ProofReport prove(const std::string& name, const ProofConfig& config);

}  // namespace keel::spec
