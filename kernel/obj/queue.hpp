// Asynchronous queues (issue 8): the kernel is the ipc::Server of a queue whose shared region a
// process maps; the process's runtime is its ipc::Client. The rings are ipc/ itself.
//
// The region is a memory object the kernel allocates at QueueCreate: it is mapped read-write
// into the creator and, through mm::map_window, into the kernel's window region. The queue
// holds a reference to the memory object, so the frames stay put whatever the process does to
// its own mapping (unmap, remap); the kernel only ever touches them through its window, never
// through a user address. The process can write anything into the region at any time: ipc/
// reads every counter and entry once and validates it (hostile-peer rules), so the worst a
// scribbler gets is an error or a BadRequest completion. The Server's private bookkeeping
// lives in kernel heap memory the process cannot reach.
//
// Each taken submission is one obj::perform() on the creator's behalf, with the lent buffer as
// its kernel IoBuffer: the same code do_io runs. An operation that would block stays taken
// (parked) and is retried on every later poll or wait; a Cancel of a parked operation makes it
// finish early with Cancelled.
//
// Queue handles carry no kRightShare: a queue belongs to the process that created it and dies
// with that process's handles (its pending operations are dropped, its buffers with the region;
// operations forwarded to a user-space server are cancelled there, obj/served.hpp).
#pragma once

#include <ipc/server.hpp>

#include "mm/address.hpp"
#include "obj/object.hpp"
#include "obj/queue_region.hpp"
#include "obj/served.hpp"
#include "sched/wait_queue.hpp"

namespace keel::obj {

class QueuePoller;

class Queue final : public Object {
  public:
    // A new queue for `owner`, its region mapped into it (region()). kInvalidArgument
    // (geometry), kTooLarge (region above abi::kMaxQueueRegion), kNoMemory. With
    // abi::kQueueDeviceData, `device` (a served object's: queue_create checks it) makes the
    // region in that device's DMA memory, and the operations hand it the owned buffers'
    // device addresses (IoBuffer::device_data).
    static Result<RefPtr<Queue>> create(proc::Process& owner, const abi::QueueGeometry& g,
                                        DeviceObject* device = nullptr);
    // The region's user address and size (QueueInfo).
    const QueueRegion& region() const { return region_; }

    Result<uint64_t> get_meta(Request& req) override;  // kSize: the region's bytes

    // One round: attaches to the region on first use, drains every published submission,
    // performs what was taken and retries the parked operations (oldest first, again while
    // something finishes), publishes the completions. Returns the number of completions
    // posted. kProtocol: the header is not a valid one of this geometry (not attached yet),
    // or the client's tail or head is impossible (nothing consumed; every call fails the same
    // way until the client repairs it). kPeerGone: the client announced closing. The caller
    // holds a reference across it: its operations may reach preemption points. A round asked
    // for while another is at one answers 0 at once.
    Result<uint64_t> process();
    // Rung whenever an object that a parked operation would block on wakes its waiters: each
    // round leaves a watcher (sched::Watcher) on the wait queue of every operation it parked,
    // until the next round. queue_wait sleeps on it, so it wakes for whichever parked
    // operation can progress first, whatever objects they are on.
    sched::WaitQueue& doorbell() { return doorbell_; }
    uint32_t parked() const { return parked_count_; }
    proc::Process* owner() const { return owner_; }

    // Polling queues (abi::kQueuePolling, obj/queue_poller.hpp): their poller, or nullptr.
    // queue_create starts it (QueuePoller::start) and hands it here; the destructor detaches
    // it (inline: the host build of this file, fuzz/kernel_objects, has no poller).
    QueuePoller* poller() const { return poller_; }
    void set_poller(QueuePoller* p) { poller_ = p; }
    // Rung by the poller after a round that posted completions or failed, and when it sleeps.
    sched::WaitQueue& posted() { return posted_; }
    // The client's published submission tail, read from the shared region (any value).
    uint32_t published_tail() const;
    // The completions posted so far (the server's tail).
    uint32_t cq_tail() const { return server_.cq_tail(); }
    uint64_t doorbell_rings() const { return doorbell_.rings(); }
    // Writes the region's poll-state word (abi::kQueuePollStateOffset).
    void set_poll_state(uint32_t state);

  private:
    explicit Queue(QueueRegion region) : Object(abi::Kind::kQueue), region_(std::move(region)) {}
    ~Queue() override;
    // Performs a taken operation; true when it finished (completion posted), false when parked.
    struct Parked;
    bool run(Parked& parked);
    [[gnu::noinline]] Result<uint64_t> run_parked(uint32_t start);
    bool run_pass();
    class Round;  // marks a round in progress (queue.cpp)
    // ipc::Server::attach on the region, at the first round; kProtocol when it is refused.
    [[gnu::noinline]] Result<void> attach();
    void finish(uint32_t op, const Result<uint64_t>& r);
    IoBuffer buffer_of(std::span<std::byte> bytes) const;

    proc::Process* owner_ = nullptr;  // not counted: the queue dies with the owner's handles
    QueueRegion region_;              // before server_: the endpoint closes first
    ipc::Server server_;
    bool attached_ = false;
    bool busy_ = false;         // a round is in progress (it may be at a preemption point)
    bool turned_away_ = false;  // a round was refused meanwhile: ring the doorbell at its end
    struct Parked {
        ipc::Operation op;
        Forward forward;                   // when the operation is forwarded to a user-space server
        sched::WaitQueue* wait = nullptr;  // what it would block on, as of the last round
        const Object* target = nullptr;    // the object its handle named (perform_retry)
    };
    void unwatch_parked();
    Parked* parked_ = nullptr;  // [capacity]
    uint32_t parked_count_ = 0;
    // [capacity]: watchers_[i] watches parked_[i].wait from the end of a round to the start of
    // the next (apart from the entries, which move as the list is compacted).
    sched::Watcher* watchers_ = nullptr;
    sched::WaitQueue doorbell_;
    sched::WaitQueue posted_;
    QueuePoller* poller_ = nullptr;  // detached by the destructor; it then exits on its own
};

}  // namespace keel::obj
