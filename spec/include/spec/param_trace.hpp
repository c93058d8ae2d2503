// Trace conformance of the PARAMETRIC model (spec/include/spec/param_model.hpp, ipc.md §7.1):
// replays a recorded trace (spec/include/spec/trace.hpp) through PModel's transitions with
// every parameter fixed to the trace's values and every choice taken from the implementation's
// results, and compares each result and each observable with what the library reported, as
// check_trace does for the concrete model. Counters are absolute integers in the parametric
// model: they are compared modulo 2^32; ring arrays are indexed by absolute index: shared slot
// j is compared with the entry of the latest index = j (mod capacity) the writer has passed.
//
// Hostile PeerWrite steps: a counter the peer changed becomes base + ((v - base) mod 2^32),
// base the reader's own counter; the slots are written at the absolute indices of the
// writer's window [W - C, W) and of the reader's [R, R + C). Afterwards, before each step that
// reads ring entries (poll, reap), the reader's window is loaded again from what shared memory
// held: once a peer has scribbled, an absolutely indexed array and the ring may differ where a
// hostile counter let one side run more than C ahead or read ahead of the writer (the
// parametric model's ring contents are arbitrary there; ipc.md §8). In traces without
// PeerWrite this never happens.
#pragma once

#include <spec/trace.hpp>

namespace keel::spec {

// Checks every step of `trace` against the parametric model. Same geometry limits and the
// same Verdict format as check_trace.
Verdict check_trace_parametric(const Trace& trace);

}  // namespace keel::spec
