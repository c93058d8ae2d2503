// The refinement check (spec/README.md, "Refinement"): real ipc::Client / ipc::Server objects,
// loaded with a model state through the test-only accessor ipc::testing::StateAccess, run one
// public call, and must give the model's step (spec/src/model.cpp evaluated concretely, as the
// trace checker does): the same error and result, a successor state that abstracts to the
// model's successor, and private structures that satisfy the representation invariant.
//
// The states: every model state reachable from Client::create + Server::attach within a
// number of steps (breadth first, through the model's own transitions), from counters and
// generations at their boundary values, each also with a hostile peer's write to shared
// memory. Compiled into its program with the ipc build under test (the real one or a
// mutant: spec/CMakeLists.txt), like the Recorder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace keel::spec {

struct RefineConfig {
    std::uint32_t capacity = 1;
    std::uint32_t buffer_count = 1;
    std::uint32_t buffer_size = 64;
    std::uint16_t op_limit = 32;
    // One search from each (first index, first generation): the four ring counters start at
    // the first (0, 1, 2^31 - 1, 2^31, 2^32 - 1 and the wrap are all crossed within a step or
    // two), every client slot's and server record's generation at the second (0xFFFF wraps
    // to 0 at the first reuse).
    std::vector<std::pair<std::uint32_t, std::uint16_t>> seeds{
        {0, 0}, {0x7FFF'FFFF, 0xFFFF}, {0xFFFF'FFFF, 0xFFFF}};
    unsigned depth = 1;             // breadth-first steps from each initial state
    std::size_t max_states = 1000;  // a bound on the cost of the breadth-first part
    bool hostile = true;            // also check each state after a hostile peer's write
};

struct RefineReport {
    bool ok = true;
    std::string message;             // the first counterexample
    std::size_t states = 0;          // distinct model states checked
    std::size_t hostile_states = 0;  // of which reached by a hostile write
    std::size_t calls = 0;           // real calls compared with a model step
    std::size_t frontier = 0;        // states reached at the depth bound, not expanded
    std::size_t scenario_stops = 0;  // scenarios that ended early (a call the state refuses)
};

RefineReport check_refinement(const RefineConfig& config);

// Context of the call being checked, for the program's ipc platform hook: an assertion of
// the library that fires is a counterexample too (the model says whether one may).
std::string refinement_context();

}  // namespace keel::spec
