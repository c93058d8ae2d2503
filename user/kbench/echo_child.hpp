// The echo child of the pipe benchmarks (kbench's pipe_rtt, scalebench's pipes): the program's
// own image ("self" in its root) started again with the argument "echo" and two pipes; each
// byte written to `to_child` comes back on `from_child`, until `to_child` is closed.
#pragma once

#include <stdint.h>

#include "runtime.hpp"

namespace keel::user::bench {

struct EchoChild {
    Handle to_child = 0;    // our write end
    Handle from_child = 0;  // our read end
    Handle process = 0;
};

// Starts one (named `name` in the process table) and makes one round trip with it, so that
// its start-up is not measured: 0, or -Error with nothing left open.
int64_t start_echo_child(const char* name, EchoChild* out);
// Closes our write end (the child reads the end and exits), waits for its exit and closes the
// rest: 0 when it exited with status 0, else its status or -Error.
int64_t stop_echo_child(EchoChild* child);
// The child's keel_main: each byte read from handle 1 written back to handle 2, until the end.
// Status 0 after the end, 1 when a read or write failed.
int echo_main();

}  // namespace keel::user::bench
