// One synchronous call on a served object that travels by the direct path (issue 24,
// abi::ServeCall): the caller's thread hands it to a server thread waiting in ServeCall and
// sleeps on `done` until it is answered. Each thread has one (sched::Thread::call): a thread
// makes one do_io at a time, so the record never needs allocating, and it outlives the call
// (the caller unlinks it before leaving do_io, answered or not).
//
// Two links tie it while it is held: the server thread's held_call (who must answer it) and the
// port's list of held calls (what a closing port answers PeerGone). Whoever ends the hold
// (the answer, the caller giving up, the server thread's or the port's end) clears both, under
// the big kernel lock. The logic is obj/served.cpp's.
#pragma once

#include <keel/syscall_abi.hpp>

#include <cstdint>

#include "sched/wait_queue.hpp"

namespace keel::sched {
class Thread;
}

namespace keel::obj {

class Served;

struct DirectCall {
    enum State : uint8_t { kIdle, kHeld, kAnswered };
    State state = kIdle;
    abi::Op op = abi::Op::kRead;
    uint16_t status = 0;  // the answer's, as a completion's
    uint32_t object = 0;  // which of the port's objects
    uint32_t length = 0;  // the caller's buffer (at most abi::kServeCallBytes)
    uint64_t arg = 0;
    uint64_t client = 0;              // the calling process's id
    uint64_t value = 0;               // the answer's
    Served* served = nullptr;         // while held: the port it went to (the caller's Forward
                                      // holds the reference)
    sched::Thread* holder = nullptr;  // while held: the server thread that must answer it
    DirectCall* next_held = nullptr;  // the port's list of held calls
    DirectCall* prev_held = nullptr;
    sched::WaitQueue done;  // the caller sleeps here until answered
    // A write's bytes on the way in, a read's on the way back.
    uint8_t data[abi::kServeCallBytes];
};

}  // namespace keel::obj
