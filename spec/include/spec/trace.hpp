// Trace conformance: check what a real ipc::Client / ipc::Server pair did, step by step,
// against the Z3 transition relation of spec/ipc.md (spec/src/model.cpp, built from
// ipc/rules.hpp). Used by spec's own conformance tests and mutant checks, and by the property
// tests and fuzzers (proptest/, fuzz/).
//
// Usage (the easy way: let a Recorder drive the real pair and write the trace):
//
//     keel::spec::Recorder rec({.capacity = 4, .buffer_count = 2, .buffer_size = 64,
//                               .first_index = 0xFFFF'FFFE});
//     auto b = rec.acquire();                       // every call returns what ipc returned
//     auto t = rec.submit(16, b.value, 8);          // (opcode, buffer id or kNoBuffer, length)
//     rec.publish(); rec.poll(); ...
//     rec.peer_write([](const ipc::QueueView& v) { v.cq->tail.value.store(99); });  // hostile
//     keel::spec::Verdict v = keel::spec::check_trace(rec.trace());
//     if (!v.ok) { std::cerr << v.message; }        // first disagreeing step, readable trace
//
// Or build a Trace yourself (e.g. from your own reference model run) and call check_trace.
// Limits: capacity and buffer_count at most kMaxTraceSize each (the checker instantiates the
// relation for those concrete sizes). user_data is not part of the protocol and not checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ipc/abi.hpp>
#include <ipc/layout.hpp>
#include <ipc/result.hpp>

namespace keel::spec {

inline constexpr std::uint32_t kMaxTraceSize = 64;

enum class Action : std::uint8_t {
    // Client
    Acquire,      // result: value = buffer id
    Release,      // args: buffer
    Submit,       // args: opcode, buffer (abi::kNoBuffer: none), length; result: value = tag
    Cancel,       // args: target (tag); result: value = tag of the Cancel
    Publish,      // Client::publish
    Reap,         // result: reaped
    PeerGone,     // Client::peer_gone
    ClientClose,  // Client::close
    // Server
    Poll,           // result: value = number drained
    Take,           // result: value = op id, reaped.tag / reaped.buffer = the op's tag and buffer
    Complete,       // args: op (id from take), status
    ServerPublish,  // Server::publish
    ClientGone,     // Server::client_gone
    ServerClose,    // Server::close
    // Hostile peer: the harness wrote shared memory; `after.shared` says what is there now.
    PeerWrite,
};
const char* action_name(Action a);

// The protocol fields of shared memory (what the spec models; other fields are the service's).
struct SqEntry {
    std::uint32_t tag = 0;
    std::uint16_t opcode = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
    std::uint32_t length = 0;
    std::uint64_t target = 0;  // args[0]
};
struct CqEntry {
    std::uint32_t tag = 0;
    std::uint16_t status = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
};
struct Shared {
    std::uint32_t sq_head = 0, sq_tail = 0, cq_head = 0, cq_tail = 0;
    bool client_closed = false, server_closed = false;
    std::vector<SqEntry> sq;  // [capacity], by ring slot
    std::vector<CqEntry> cq;  // [capacity], by ring slot
};

// What the public API of each side shows after a step.
struct Observed {
    // Client
    bool client_torn_down = false;
    std::uint32_t outstanding = 0, pooled = 0, sq_tail = 0, cq_head = 0;
    std::vector<std::uint8_t> buffer_state;  // [buffer_count]: rules::kBufPooled/InHand/Lent
    // Server
    std::uint32_t live = 0, queued = 0, taken = 0, sq_head = 0, cq_tail = 0;
    std::vector<std::uint8_t> held;  // [buffer_count]: rules::kHeldNo/Yes
    Shared shared;
};

struct ReapedView {
    std::uint32_t tag = 0;
    std::uint16_t status = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
    bool is_cancel = false;
};

struct Step {
    Action action = Action::Publish;
    // Arguments
    std::uint16_t opcode = 0;
    std::uint16_t buffer = ipc::abi::kNoBuffer;
    std::uint32_t length = 0;
    std::uint32_t target = 0;
    std::uint32_t op = 0;
    std::uint16_t status = 0;
    // Result
    bool ok = true;
    ipc::Error error{};
    std::uint32_t value = 0;
    ReapedView reaped;
    // State afterwards
    Observed after;
};

struct Trace {
    std::uint32_t capacity = 0;
    std::uint32_t buffer_count = 0;
    std::uint32_t buffer_size = 0;
    std::uint16_t op_limit = 0;  // Server::attach's op_limit
    std::uint32_t first_index = 0;
    Observed initial;  // right after Client::create + Server::attach
    std::vector<Step> steps;
};

struct Verdict {
    bool ok = true;
    std::size_t step = 0;  // index of the first disagreeing step (if !ok)
    std::string message;   // what disagreed, then the trace up to and including that step
};

// Checks every step of `trace` against the spec's transition relation. O(steps * size).
Verdict check_trace(const Trace& trace);

// The same, incrementally: advance() checks the steps appended since the previous call (the
// Trace must outlive the checker and only grow). Once a step disagrees the verdict sticks.
class TraceChecker {
  public:
    explicit TraceChecker(const Trace& trace);
    ~TraceChecker();
    TraceChecker(const TraceChecker&) = delete;
    TraceChecker& operator=(const TraceChecker&) = delete;
    Verdict advance();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};
// The trace as readable text, one line per step (steps [0, upto)).
std::string format_trace(const Trace& trace, std::size_t upto);

// For the trace checkers: the spec's op handle for implementation handle `impl_op`
// (IPC-R-054). The records each side picks differ, so `op_map` maps every handle the
// implementation's take() returned to the handle the spec's take returned for the same
// operation, and keeps it after the operation completed: a stale handle then stands for the
// spec's stale handle, which the spec refuses by its generation. A handle never handed out
// stands for itself if its record is out of range, else for its record at a generation other
// than the spec record's current one (`spec_gen`), which the spec refuses as well.
std::uint32_t spec_handle_for(const std::map<std::uint32_t, std::uint32_t>& op_map,
                              std::uint32_t impl_op, std::uint32_t capacity,
                              const std::function<std::uint32_t(std::uint32_t)>& spec_gen);
// For the trace checkers: `fifo` (spec records waiting for take(), oldest first) after record
// k's op state went from `before` to `after` in one accept turn.
void track_fifo(std::deque<std::uint32_t>& fifo, std::uint32_t k, std::uint64_t before,
                std::uint64_t after);
std::string format_step(const Step& step);
// For the trace checkers: the verdict "step i disagrees with <against>", `why` and the trace up
// to step `upto`, headed "COUNTEREXAMPLE (<check>)".
Verdict disagreement(const Trace& trace, std::size_t i, const std::string& why, std::size_t upto,
                     const char* check, const char* against);
// A number as traces print it: decimal below 0x10000, else hexadecimal.
std::string trace_number(std::uint64_t v);

// Drives a real Client/Server pair over one private region and records every call.
struct RecorderConfig {
    std::uint32_t capacity = 4;
    std::uint32_t buffer_count = 2;
    std::uint32_t buffer_size = 64;
    std::uint16_t op_limit = 32;
    std::uint32_t first_index = 0;
    // Check each step as it is recorded. After the first disagreement no further call
    // reaches the library (a broken library may otherwise crash before the trace is checked);
    // verdict() then says what disagreed.
    bool check_each_step = false;
};

class Recorder {
  public:
    explicit Recorder(const RecorderConfig& config);
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    // Each returns the Step just recorded (ok/error/value/reaped as the library returned).
    // Buffers in hand are kept inside the recorder, by id. release/submit of a buffer the
    // recorder does not hold cannot be expressed through the API: nothing is called or
    // recorded, and the returned Step says InvalidBuffer.
    const Step& acquire();
    const Step& release(std::uint16_t buffer);
    // buffer: an id the recorder holds in hand, or abi::kNoBuffer.
    const Step& submit(std::uint16_t opcode, std::uint16_t buffer, std::uint32_t length);
    const Step& cancel(std::uint32_t target);
    const Step& publish();
    const Step& reap();
    const Step& peer_gone();
    const Step& client_close();
    const Step& poll();
    const Step& take();
    const Step& complete(std::uint32_t op, std::uint16_t status);
    const Step& server_publish();
    const Step& client_gone();
    const Step& server_close();
    // Lets `write` scribble on shared memory (as a hostile peer would), recorded as PeerWrite.
    const Step& peer_write(const std::function<void(const ipc::QueueView&)>& write);

    const Trace& trace() const;
    Verdict verdict() const;  // with check_each_step: the verdict so far; else ok
    std::vector<std::uint16_t> buffers_in_hand() const;
    std::vector<std::uint32_t> taken_ops() const;  // op ids taken and not yet completed
    std::uint32_t capacity() const;
    std::uint32_t buffer_count() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace keel::spec
