#include "obj/queue.hpp"

#include <ipc/layout.hpp>

#include <new>
#include <utility>

#include "obj/perform.hpp"
#include "obj/queue_poller.hpp"
#include "proc/process.hpp"
#include "sched/preempt.hpp"

namespace keel::obj {

namespace {

constexpr uint16_t kOpLimit = abi::queue_opcode(abi::Op::kCount);

}  // namespace

Result<RefPtr<Queue>> Queue::create(proc::Process& owner, const abi::QueueGeometry& g,
                                    DeviceObject* device) {
    // kQueuePolling is accepted here and acted on by queue_create (QueuePoller::start).
    if (((g.flags & abi::kQueueDeviceData) != 0) != (device != nullptr))
        return fail(Error::kInvalidArgument);
    QueueRegion region =
        KEEL_TRY(QueueRegion::create(g, 1, &ipc::Server::private_size, device, abi::kQueueFlags));
    // The device reaches it only through the operations forwarded to its driver.
    if (device != nullptr)
        region.memory().set_lent_only();
    RefPtr<Queue> q = adopt_ref(new (std::nothrow) Queue(std::move(region)));
    if (!q)
        return fail(Error::kNoMemory);
    q->owner_ = &owner;
    q->parked_ = new (std::nothrow) Parked[g.capacity];
    q->watchers_ = new (std::nothrow) sched::Watcher[g.capacity];
    if (q->parked_ == nullptr || q->watchers_ == nullptr)
        return fail(Error::kNoMemory);
    KEEL_TRY(q->region_.map_user(owner));
    return q;
}

Queue::~Queue() {
    if (poller_ != nullptr)
        poller_->detach();
    if (attached_)
        server_.close();
    for (uint32_t i = 0; i < parked_count_; ++i)
        Served::abandon(parked_[i].forward);  // a forwarded operation is cancelled at its server
    delete[] watchers_;                       // each unlinks itself from the object it watched
    delete[] parked_;
}  // then doorbell_ and region_ go

uint32_t Queue::published_tail() const {
    const auto* sq = reinterpret_cast<const ipc::abi::RingHeader*>(region_.shared().data() +
                                                                   ipc::abi::kSqHeaderOffset);
    return sq->tail.value.load(std::memory_order_acquire);
}

void Queue::set_poll_state(uint32_t state) {
    auto* word = reinterpret_cast<uint32_t*>(region_.shared().data() + abi::kQueuePollStateOffset);
    __atomic_store_n(word, state, __ATOMIC_RELEASE);
}

Result<uint64_t> Queue::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
        return answer_u64(req, region_.size());
    return fail(Error::kInvalidArgument);
}

void Queue::finish(uint32_t op, const Result<uint64_t>& r) {
    const uint16_t status =
        r.ok() ? static_cast<uint16_t>(ipc::abi::Status::Ok) : abi::queue_error_status(r.error());
    // Cannot fail: op is one we took and have not completed.
    (void)server_.complete(op, status, r.ok() ? r.value() : 0);
}

// An owned buffer as the caller memory of its operation: in a device-data region, with where
// the device reaches it.
IoBuffer Queue::buffer_of(std::span<std::byte> bytes) const {
    if (region_.device_address() == 0)
        return IoBuffer::kernel(bytes.data(), bytes.size());
    const auto offset = static_cast<uint64_t>(bytes.data() - region_.shared().data());
    return IoBuffer::device_data(bytes.data(), bytes.size(), region_.memory(),
                                 region_.device_address() + offset);
}

bool Queue::run(Parked& parked) {
    const ipc::Operation& op = parked.op;
    if (server_.cancel_requested(op.id)) {
        Served::abandon(parked.forward);
        (void)server_.complete(op.id, static_cast<uint16_t>(ipc::abi::Status::Cancelled), 0);
        return true;
    }
    const auto& s = op.request;
    // Still with its server, on the handle that named it: a retry would park it again on the
    // same wait queue. Skipped cheaply, because a round runs every parked operation and a
    // server may hold many (the network server kept 64 reads posted at its driver).
    if (parked.forward.started() && Served::still_pending(parked.forward)) {
        const Result<proc::HandleEntry> e = owner_->handles().lookup(s.object);
        if (e.ok() && e.value().object == parked.target)
            return false;
    }
    const std::span<std::byte> bytes = server_.bytes(op);
    Request req{static_cast<abi::Op>(s.opcode - abi::kQueueOpBase),  0,      s.args[0],
                bytes.empty() ? IoBuffer::none() : buffer_of(bytes), owner_, &parked.forward};
    const Result<uint64_t> r =
        perform_retry(*owner_, static_cast<abi::Handle>(s.object), req, parked.target);
    if (!r.ok() && r.error() == Error::kWouldBlock && req.wait != nullptr) {
        parked.wait = req.wait;
        parked.target = req.target;
        return false;
    }
    Served::abandon(parked.forward);  // no-op unless the handle went away meanwhile
    finish(op.id, r);
    return true;
}

Result<void> Queue::attach() {
    if (!server_.attach(region_.shared(), region_.storage(), region_.geometry(), kOpLimit))
        return fail(Error::kProtocol);
    attached_ = true;
    return success();
}

// A round's operations may reach preemption points (a queued spawn, a 1 MiB copy or console
// write), where other threads run: the caller holds a reference, so the queue and its region
// (the kernel buffers the operations borrow) stay; another round on this queue, from another
// thread of its owner, is turned away meanwhile (it answers no completions, and the doorbell
// rings when this round ends, so a queue_wait turned away sleeps until then).
class Queue::Round {
  public:
    explicit Round(Queue& q) : q_(q) { q_.busy_ = true; }
    ~Round() {
        q_.busy_ = false;
        if (q_.turned_away_) {
            q_.turned_away_ = false;
            q_.doorbell_.wake_all();
        }
    }
    Round(const Round&) = delete;
    Round& operator=(const Round&) = delete;

  private:
    Queue& q_;
};

Result<uint64_t> Queue::process() {
    if (busy_) [[unlikely]] {
        turned_away_ = true;
        return Result<uint64_t>(0);
    }
    if (!attached_) [[unlikely]]
        KEEL_TRY(attach());
    const uint32_t start = server_.cq_tail();
    // Drain once (Nop, Cancel and malformed submissions are answered inside poll), take
    // everything behind the parked operations (oldest first), and run the list again while a
    // pass finished something and something is still parked: an operation finishing (a write)
    // can unblock an older one (a read) in the same round. Each pass is O(operations held).
    //
    // One drain per round: what the client publishes while this runs (at a preemption point)
    // is the next round's, and finishing an operation gives no new credit (its completion
    // holds the credit until the client reaps it). Cancels drained here are seen by run()
    // through cancel_requested().
    const auto drained = server_.poll();
    if (!drained) {
        server_.publish();
        return fail(drained.error() == ipc::Error::ProtocolViolation ? Error::kProtocol
                                                                     : Error::kPeerGone);
    }
    if (server_.queued() == 0 && parked_count_ == 0)
        return Result<uint64_t>(server_.cq_tail() - start);  // poll published its completions
    return run_parked(start);
}

// Runs every parked operation once, oldest first, keeping those still parked in order; true
// when one finished.
bool Queue::run_pass() {
    bool progress = false;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < parked_count_; ++i) {
        if (run(parked_[i]))
            progress = true;
        else if (kept != i)
            parked_[kept++] = std::move(parked_[i]);
        else
            ++kept;
    }
    parked_count_ = kept;
    return progress;
}

void Queue::unwatch_parked() {
    if (watchers_ == nullptr)
        return;  // create() failed before it allocated them
    for (uint32_t i = 0; i < parked_count_; ++i)
        watchers_[i].unwatch();
}

// The rest of a round, out of line so that a round of Nops, Cancels and malformed submissions
// (all answered inside poll) stays a short function.
Result<uint64_t> Queue::run_parked(uint32_t start) {
    const Round round(*this);  // only here can an operation reach a preemption point
    unwatch_parked();          // before entries move; the round watches again at its end
    // At most `capacity` operations are ever taken, so the list cannot overflow.
    while (server_.queued() != 0) {
        auto op = server_.take();
        if (!op)
            break;
        Parked& p = parked_[parked_count_++];
        p.op = *op;
        p.forward = {};
        p.target = nullptr;
    }
    if (parked_count_ == 0)
        return Result<uint64_t>(server_.cq_tail() - start);  // poll published its completions
    // Passes until one finishes nothing. Its recorded wait queues must all be alive when they
    // are watched below, so that pass must also not have let anything else run (an interrupt
    // handler or another thread at a preemption point could have destroyed an object since
    // its operation recorded the wait): a pass that finished nothing but reached a preemption
    // point is followed by one with preemption off, which ends the loop or finishes something.
    for (bool quiet = false;;) {
        const uint64_t epoch = sched::preemption_epoch();
        bool progress = false;
        if (quiet) {
            const sched::NoPreempt no_preempt;
            progress = run_pass();
        } else {
            progress = run_pass();
        }
        if (parked_count_ == 0)
            break;
        if (!progress && (quiet || sched::preemption_epoch() == epoch))
            break;
        quiet = !progress;
    }
    // The last pass finished nothing and nothing else ran meanwhile, so nothing has destroyed
    // an object it recorded: every wait queue is alive. From here on a dying object unlinks its
    // watcher itself (~WaitQueue).
    //
    // One watcher per wait queue is enough (they all ring the doorbell), and operations parked
    // on one object share its queue: each ring of a queue watched n times woke the doorbell n
    // times (the network server's 64 reads at its driver then, rung by every write's completion).
    // Comparing with the last few queues watched finds nearly all repeats in O(1) each.
    constexpr uint32_t kRecent = 4;
    sched::WaitQueue* recent[kRecent] = {};
    uint32_t next = 0;
    for (uint32_t i = 0; i < parked_count_; ++i) {
        sched::WaitQueue* w = parked_[i].wait;
        bool repeat = false;
        for (sched::WaitQueue* r : recent)
            repeat = repeat || r == w;
        if (repeat)
            continue;
        watchers_[i].watch(*w, doorbell_);
        recent[next++ % kRecent] = w;
    }
    server_.publish();
    return Result<uint64_t>(server_.cq_tail() - start);
}

}  // namespace keel::obj
