// The job server's state: the jobs it started (its own process table), the operations the
// kernel forwards to it, and the threads that watch each job.
//
// Threads: the main thread sleeps in serve_sync until the kernel forwards something and then
// pumps; each job slot has a worker thread (made on first use, kept for the slot's next jobs)
// that opens the job's object, answers the create with it, waits for the job's end and then
// answers the reads that wait for it. Everything that touches the ipc::Server or the records
// runs under one lock (ipc::Server's one-thread rule); a thread that hands completions back
// with a non-waiting serve_sync pumps whatever that reports (ServePort's rule).
#pragma once

#include <atomic>

#include "file_table.hpp"
#include "machine.hpp"
#include "serve.hpp"

namespace keel::jobs {

using user::Op;

// Jobs known at once (running, or ended with their object still held). Its ProcessEntry list
// (64 bytes each) fits one forwarded buffer with room for `ps`'s eight spare entries.
inline constexpr uint32_t kMaxJobs = 32;
inline constexpr uint32_t kBufferSize = 4096;
static_assert((kMaxJobs + 8) * sizeof(abi::ProcessEntry) <= kBufferSize);
// The port's queue: the kernel forwards at most kCapacity / 2 operations at a time (creates, the
// reads that wait for jobs, close notices), each with memory taking one of kBuffers buffers.
inline constexpr uint32_t kCapacity = 128;
inline constexpr uint32_t kBuffers = 64;

struct Job {
    enum State : uint8_t { kFree, kStarting, kRunning, kEnded };
    State state = kFree;
    bool object = false;          // its job object exists (granted, no close notice yet)
    bool busy = false;            // its worker still has it (from the create to recording its end)
    bool worker = false;          // the slot's worker thread was made
    std::atomic<uint32_t> go{0};  // 1: the worker has a new job (a futex word)
    uint64_t id = 0;              // the job server's own id (from 1)
    uint64_t parent = 0;          // the kernel id of the process that asked for it
    uint32_t create_op = 0;       // the create, answered by the worker
    Handle process = 0;           // what the machine answered: read gives the ExitInfo
    Machine* machine = nullptr;
    abi::ExitInfo exit{};
    uint32_t name_length = 0;
    char name[abi::kMaxNameLength] = {};
};

class JobServer {
  public:
    // `gather`: the gather directory's handle (0: none, "cwd" is passed on unchanged).
    JobServer(user::ServePort& port, Machines& machines, Handle gather, Handle own_table);

    // Learns this process's kernel id (the id the kernel puts in a forwarded operation): a
    // helper thread opens the served object once before it is published. 0 or -Error.
    int64_t learn_own_id();
    // The main thread: sleeps in serve_sync and pumps, until the port fails.
    void serve();

  private:
    void pump();  // under the lock: take every operation and answer what can be answered
    void handle(const ipc::Operation& op);
    void create(const ipc::Operation& op);
    void on_table(const ipc::Operation& op, Op o, std::span<std::byte> data);
    void on_job(const ipc::Operation& op, Op o, std::span<std::byte> data, uint32_t slot);
    void open(const ipc::Operation& op, std::span<std::byte> data);
    void answer_waiters(uint32_t slot);
    void forget_if_done(uint32_t slot);
    void cancel_abandoned();
    void complete(uint32_t op, uint16_t status, uint64_t value);
    void fail(uint32_t op, int64_t error);
    // Hands completions back and pumps what that reports (any thread, not holding the lock).
    void hand_back();

    static void worker_main(uint64_t slot);
    void work(uint32_t slot);

    user::ServePort& port_;
    Machines& machines_;
    Handle gather_;
    Handle own_table_;
    uint64_t own_id_ = 0;
    user::Mutex lock_;
    Job jobs_[kMaxJobs];
    uint64_t next_id_ = 1;
    uint32_t running_ = 0;
    uint32_t most_running_ = 0;  // the most jobs running at once since the server started
    uint64_t started_ = 0;
    uint64_t started_at_idle_ = 0;  // started_ when it was last idle
    // Reads of a job object waiting for its end: (operation, slot).
    struct Waiter {
        ipc::Operation op;
        uint32_t slot;
    };
    Waiter waiters_[kCapacity];
    uint32_t waiter_count_ = 0;
};

}  // namespace keel::jobs
