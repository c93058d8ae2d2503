// The asynchronous-queue test program (issue 8): every queue system call and outcome through
// the runtime's ipc::Client (batch submit and reap, blocked operations finishing later, cancel
// in its three cases, credit exhaustion, failed operations, destroy with operations pending,
// a client that dies with operations pending, a client scribbling over its own region),
// user-space servers, and a seeded system-call fuzzer run as a child ("child fuzz SEED COUNT").
// Prints "N passed, N failed"; exits 0 only when nothing failed. The tests are in this
// folder's other files, one topic each, registered with TEST.
#include "testlib.hpp"

int keel_main(const keel::user::StartInfo& start) {
    return keel::testlib::run(start, "queuetest");
}
