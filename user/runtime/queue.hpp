// The runtime's queue client: an asynchronous queue whose server is the kernel (QueueCreate)
// and whose client is ipc::Client, the same library the kernel runs on its side.
//
// Use: create(geometry); acquire buffers from client(); submit object operations (the
// operation's buffer is an owned ipc buffer: it belongs to the queue until its completion
// returns it); poll() or wait() to let the kernel drain and perform them; reap() completions.
// One thread at a time per Queue (ipc::Client's rule). Not copyable or movable.
#pragma once

#include <ipc/client.hpp>

#include "syscall.hpp"

namespace keel::user {

class Queue {
  public:
    Queue() = default;
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    // Destroys the kernel queue if still there, unmaps its region and frees the private
    // storage.
    ~Queue();

    // Creates the kernel queue and lays out the client over its region (once per Queue: the
    // client cannot be laid out again after destroy()). 0 or -Error
    // (QueueCreate's errors; kNoMemory for the client's private storage).
    // flags: abi::kQueuePolling for a polling queue (a kernel thread serves it, see publish());
    // abi::kQueueDeviceData with `served`, a served object whose server takes device data (a
    // block driver): the reads and writes this queue sends it go by DMA to and from the owned
    // buffers, with no copy by the kernel (kNotSupported when that server does not).
    int64_t create(uint32_t capacity, uint32_t buffer_count, uint32_t buffer_size,
                   uint32_t flags = 0, Handle served = 0);
    bool polling() const { return polling_; }

    ipc::Client& client() { return client_; }
    Handle handle() const { return handle_; }
    uint8_t* region() const { return region_; }  // the shared region (tests scribble on it)
    uint64_t region_size() const { return region_size_; }

    // Queues `op` on `object` with arg; with a buffer, `length` bytes of it are the operation's
    // memory (ownership moves to the queue). The tag, or ipc's error (nothing changed).
    ipc::Result<uint32_t> submit(Op op, Handle object, uint64_t arg, uint64_t user_data);
    ipc::Result<uint32_t> submit(Op op, Handle object, uint64_t arg, uint64_t user_data,
                                 ipc::Buffer&& buffer, uint32_t length);

    // Publishes and lets the kernel process every submission: completions posted, or -Error.
    // On a polling queue it is publish(): 0 or -Error (the poller posts the completions).
    int64_t poll();
    // A polling queue's steady state: publishes the submissions and wakes the poller (one
    // queue_poll) only when the region's poll-state word says it sleeps. 0, or -Error: the
    // error of the poller's last round (kProtocol, kPeerGone). On any queue it publishes.
    int64_t publish();
    // Whether the poller sleeps (the poll-state word has abi::kQueueNeedWakeup); for tests.
    bool poller_asleep() const;
    // How many publish() calls found it asleep and woke it (one queue_poll each).
    uint64_t wakeups() const { return wakeups_; }
    // Publishes, then waits until the kernel posted at least `min` completions in this call,
    // nothing is left blocked, or the timeout (0: none) ran out. Completions posted, or -Error.
    int64_t wait(uint64_t min, uint64_t timeout_ns = 0);
    // The next completion (ipc::Client::reap).
    ipc::Result<ipc::Reaped> reap() { return client_.reap(); }

    // Destroys the kernel queue: the kernel drops whatever it still holds; reap() then returns
    // each pending operation as Cancelled, with its buffer (the region stays mapped for that
    // until the destructor). 0 or -Error.
    int64_t destroy();

  private:
    ipc::Client client_;
    Handle handle_ = 0;
    uint8_t* region_ = nullptr;
    uint64_t region_size_ = 0;
    void* storage_ = nullptr;
    bool polling_ = false;
    uint64_t wakeups_ = 0;
};

}  // namespace keel::user
