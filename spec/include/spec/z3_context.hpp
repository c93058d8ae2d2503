// The Z3 context the trace checkers build their expressions in: one per thread, shared by
// every trace it checks. A fresh context per trace cost more than checking the trace: Z3
// allocates and clears several megabytes of tables for each, which was about two thirds of
// SpecConformance.property_traces' time (perf: page faults in libz3's initialisation).
// So a TraceChecker belongs to the thread that made it: advance it only there, and not after
// that thread has ended.
#pragma once

#include <z3++.h>

namespace keel::spec {

z3::context& trace_context();

}  // namespace keel::spec
