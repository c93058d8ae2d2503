// The user-mode test program: every system call and object type, with bad input for each
// (bad and stale handles, missing rights, each kind of bad pointer, oversized lengths) and
// child processes that fault while the parent watches. Started by init as a boot module; it
// prints "N passed, N failed" and exits with 0 only when nothing failed (init then stops the
// machine with that result). Run with arguments "child MODE" it is one of its own children.
// The tests are in this folder's other files, one topic each, registered with TEST.
#include "testlib.hpp"

int keel_main(const keel::user::StartInfo& start) {
    return keel::testlib::run(start, "usertest");
}
