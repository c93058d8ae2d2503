// kbench's "polling [OPS]" mode (polling.cpp): the polling queue against the system-call queue
// at batch 1 and 32, wall clock, under -smp 2 (bench/run.py b13).
#pragma once

#include <stdint.h>

namespace keel::kbench {

// Runs both modes at both batches with `ops` operations each; 0 when every operation
// succeeded.
int polling_main(uint64_t ops);

}  // namespace keel::kbench
