// The conformance runs spec/ checks the linked ipc/ library with (scripted + seeded random
// traces through Recorder, check_trace and check_trace_parametric). Used by
// keel_spec_conformance and every mutant.
#pragma once

#include <cstddef>
#include <string>

#include <spec/trace.hpp>

namespace keel::spec {

struct ConformanceResult {
    bool ok = true;
    std::size_t traces = 0;
    std::size_t steps = 0;
    std::string message;  // the first disagreement, as a readable trace
};

ConformanceResult run_conformance(bool verbose);

}  // namespace keel::spec
