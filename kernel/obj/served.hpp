// User-space servers (issue 8): an object whose operations a process serves through a queue
// of its own. ServeCreate makes a region (as QueueCreate does) but with the roles turned
// round: the KERNEL is the region's ipc::Client and the serving process runs ipc::Server over
// its mapping. It returns two handles: the Port (kind kPort, the server's end: ServeSync on it
// collects completions and waits for work) and the Served object (kind kServed, shareable:
// what clients hold and do_io or queue on).
//
// Forwarding: an operation on a Served object takes an owned buffer of the server's queue (a
// write's bytes are copied into it), submits kQueueOpBase + op with args[0] = the operation's
// arg, and answers kWouldBlock on the object's wait queue. The caller keeps a Forward record
// across its retries (do_io on its stack, a queue in its parked entry); a retry after the
// server's completion copies a read's bytes back, returns the buffer and finishes with the
// server's status. So forwarding fits perform() and both callers without a second path.
//
// Death. Server: when the Port goes (the server closes it, exits or faults), the kernel's
// client calls peer_gone() and reaps: every operation in flight completes exactly once with
// PeerGone and its buffer returns; later operations fail with kPeerGone. Client: a caller
// that gives up (do_io interrupted because its process is ending, a queue destroyed or its
// parked entry cancelled) abandons its Forward: the kernel submits an ipc Cancel for it (one
// credit is kept in reserve for each operation in flight) and the server sees
// cancel_requested or a Cancelled op; the late completion only returns the buffer.
//
// The direct path (issue 24, abi::ServeCall): a do_io that may travel in a ServeCall, made
// while a server thread waits in ServeCall and nothing is in flight through the ring, skips
// the ring and the kernel's ipc::Client: the caller's thread hands its own DirectCall record
// to that server thread, switches to it, and sleeps until the answer switches back. The
// caller's Forward says so (Forward::kDirect), so a retry, a timeout and an abandon take
// the same paths as a ring operation's. Exactly once: the answer, the caller giving up (the
// answer is then dropped), the server thread ending and the port closing (PeerGone) each end
// the hold, and the first to come is the only one.
//
// Locking: system calls run with interrupts off on one CPU (obj/object.hpp).
#pragma once

#include <ipc/client.hpp>

#include "mm/address.hpp"
#include "obj/direct_call.hpp"
#include "obj/object.hpp"
#include "obj/queue_region.hpp"
#include "sched/thread.hpp"
#include "sched/wait_queue.hpp"

namespace keel::obj {

class DeviceObject;
class MemoryObject;
class Served;
struct Lent;

// One caller's forwarded operation, kept by the caller between retries. Plain data.
struct Forward {
    RefPtr<Served> served;  // while an operation is in flight: the port's channel
    uint32_t tag = 0;
    uint32_t object = 0;  // which of the port's objects it was made on
    uint32_t slot = 0;    // the port's record of it, or kDirect
    bool started() const { return served != nullptr; }
    // An operation on the direct path has no record of the port's: its record is the calling
    // thread's own (sched::Thread::call; only do_io, on that thread, starts one).
    static constexpr uint32_t kDirect = ~0u;
    bool direct() const { return slot == kDirect; }
};

// What a child object gives back to its port when its last reference goes: the server's
// close notice. Allocated with the open that made the child, so sending it never fails.
struct CloseNotice {
    CloseNotice* next = nullptr;
    uint32_t object = 0;
};

class Served final : public Object {
  public:
    // A new served object and its port for `server`, the region mapped into it (region()).
    // Errors as Queue::create. With `device` (a device the server holds with Create) the region
    // is that device's DMA memory (QueueRegion::create): the server's device reads and writes
    // the owned buffers itself, and the kernel's copies to and from the callers stay.
    struct Created {
        RefPtr<Object> port;
        RefPtr<Served> served;
    };
    static Result<Created> create(proc::Process& server, const abi::QueueGeometry& g,
                                  DeviceObject* device = nullptr);
    const QueueRegion& region() const { return region_; }

    Result<uint64_t> read(Request& req) override { return forward(req, 0); }
    Result<uint64_t> peek(Request& req) override { return forward(req, 0); }
    Result<uint64_t> write(Request& req) override { return forward(req, 0); }
    Result<uint64_t> seek(Request& req) override { return forward(req, 0); }
    Result<uint64_t> read_at(Request& req) override { return forward(req, 0); }
    Result<uint64_t> get_meta(Request& req) override { return forward(req, 0); }
    Result<uint64_t> set_meta(Request& req) override { return forward(req, 0); }
    Result<uint64_t> sync(Request& req) override { return forward(req, 0); }
    Result<uint64_t> open(Request& req) override { return forward(req, 0); }
    // A spawn on the server's process table: the handles it names are lent (served_spawn.hpp).
    Result<uint64_t> create(Request& req) override { return forward(req, 0); }
    Result<uint64_t> destroy(Request& req) override { return forward(req, 0); }
    Served* served_by() override { return this; }

    // The device a kQueueDeviceData queue is made for: the device whose DMA memory the region
    // is, when the server asked for device data (abi::kServeDeviceData); else nullptr.
    DeviceObject* device_data_device() const { return device_data_; }

    // Every operation on the port's object `object` (0: this one; else a child an open made):
    // begin() on a fresh Forward record (submits, answers kWouldBlock), finish() on one in
    // flight (kWouldBlock until the server completed it, then its answer).
    Result<uint64_t> forward(Request& req, uint32_t object);
    // A child's last reference went: its close notice goes to the server (now, or as soon as
    // there is room in the queue). Takes the notice.
    void child_closed(CloseNotice* notice);

    // finish() for the operation in flight in req.forward, which the caller's handle still
    // names with req.rights (do_io's retry after a wake-up: what perform() and forward() would
    // come to, without the dispatch).
    static Result<uint64_t> finish_started(Request& req) {
        return req.forward->served->finish(req, *req.forward);
    }

    // The direct call in req.forward (its Forward says kDirect): finish()'s answer, without
    // the dispatch (kWouldBlock while it is still held).
    static Result<uint64_t> finish_call(Request& req) {
        return req.forward->served->finish_direct(req, *req.forward);
    }

    // Whether the operation in flight in f is still with the server, once what the server has
    // completed is reaped: then a retry would only answer kWouldBlock on the same wait queue,
    // and a queue's round keeps the operation parked without retrying it (obj/queue.cpp).
    // (A queue's operations never take the direct path: only do_io's do, Request::direct.)
    static bool still_pending(const Forward& f) { return f.served->pending(f.slot); }

    // The caller gives up on its forwarded operation (see above). No-op for an idle record.
    static void abandon(Forward& f) {
        if (f.started())
            abandon_slow(f);
    }

    // ServeSync: reaps the server's completions (waking the callers) and, with wait, sleeps
    // until something was submitted since the last sync or the deadline (0: none). Returns the
    // submissions made since the last sync, or kPeerGone / kTimedOut / kProtocol.
    Result<uint64_t> sync(bool wait, uint64_t deadline);
    // ServeCall (abi::ServeCall, at `msg` in the calling server thread's memory): answers the
    // call the thread holds, collects the ring's completions, then waits until a direct call
    // comes (1, the call written to msg) or ring work (0, its count in msg.ring), or the
    // deadline (0: none).
    Result<uint64_t> call_wait(uint64_t msg, uint64_t deadline);
    // A server thread ends: the call it holds, if any, is answered PeerGone.
    static void thread_gone(sched::Thread& t);
    proc::Process* server() const { return server_; }

    // The Port's end: the server is gone (see above).
    void server_gone();

  private:
    explicit Served(QueueRegion region) : Object(abi::Kind::kServed), region_(std::move(region)) {}
    ~Served() override;
    static void abandon_slow(Forward& f);
    // The direct path (above). direct_ok: whether req may take it now.
    bool direct_ok(const Request& req) const;
    Result<uint64_t> call_direct(Request& req, Forward& f, uint32_t object);
    Result<uint64_t> finish_direct(Request& req, Forward& f);
    Result<uint64_t> deliver(sched::Thread& self, uint64_t msg);
    // c is held by thread t for this port / is not held any more (both links cleared).
    void hold(DirectCall& c, sched::Thread& t);
    static void unhold(DirectCall& c);
    // Ends c's hold with the answer status PeerGone and wakes its caller.
    static void answer_gone(DirectCall& c);
    // The server threads in ServeCall: a stack, so that a call goes to the thread that waited
    // last (its cache the warmest) and wakes nobody else. take_receiver: the top one, taken
    // off (nullptr: none); receive: the current thread goes on; unreceive: it comes off, if
    // still there (a timeout, an interruption).
    sched::Thread* take_receiver() {
        sched::Thread* t = receivers_;
        if (t != nullptr) {
            receivers_ = t->next_receiver;
            t->next_receiver = nullptr;
            t->receiving = false;
        }
        return t;
    }
    void receive(sched::Thread& self) {
        self.next_receiver = receivers_;
        self.receiving = true;
        receivers_ = &self;
    }
    void unreceive(sched::Thread& self) {
        if (self.receiving) [[unlikely]]
            unreceive_slow(self);
    }
    void unreceive_slow(sched::Thread& self);
    // Ring work came: the threads in ServeSync wake, and one in ServeCall (a do_io that blocks
    // at once hands the CPU to one of them instead: ring_handoff). The service ended: all.
    void wake_server();
    sched::WaitQueue* ring_handoff();
    void wake_all_servers();
    Result<uint64_t> begin(Request& req, Forward& f, uint32_t object);
    Result<void> check_spawn(const Request& req) const;
    Result<uint32_t> submit_spawn(Request& req, const ipc::Request& r, ipc::Buffer& buffer,
                                  Lent& lent);
    static Lent* new_lent();
    Result<uint32_t> submit(Request& req, uint32_t object, uint64_t client, uint32_t index,
                            Lent* lent, bool device_data);
    // Whether req's data goes to the server as a device address (abi::kServeDeviceData).
    bool uses_device_data(const Request& req) const;
    uint32_t free_slot();
    // Pending once what the server completed meanwhile is reaped (collect() only when it may
    // change the answer).
    bool pending(uint32_t slot) {
        if (slots_[slot].state != kPending)
            return false;
        collect();
        return slots_[slot].state == kPending;
    }
    Result<uint64_t> finish(Request& req, Forward& f);
    struct Slot;
    Result<uint64_t> answer(Slot& s, Request& req);
    Result<uint64_t> opened(Slot& s, Request& req);
    Result<uint64_t> created(Slot& s, Request& req);
    // A completion reaped for `s`: the handles lent with it go back, and a create's answer
    // (a handle in the server's table) is taken hold of before the server can close it.
    uint16_t settle(Slot& s, uint16_t status, uint64_t value);
    // Submits the waiting close notices while the queue has room.
    void send_closes();
    bool has_room() const { return 2 * (in_flight_ + 1) <= client_.capacity(); }
    // Fairness between clients (abi::served_client_share): while another client waits for
    // room or a buffer, a client that has its share of the slots (or, needing a buffer, of
    // the buffers) waits too, so what frees up goes to the other. With nobody else waiting a
    // client may use everything.
    bool over_share(uint64_t client, bool needs_buffer) const;
    // `client` found no room or no buffer: it is waiting (for kStarvedWindowNs from now, renewed
    // by each retry it makes).
    void starved(uint64_t client);
    // Reaps the server's completions into the slots; true when it reaped any (then the
    // callers waiting on done_ were woken, or, with !wake, are left for the caller to wake:
    // sync() switches to them).
    bool collect(bool wake = true);

    enum : uint8_t { kFree, kPending, kDone, kOrphan };
    struct Slot {
        uint8_t state = kFree;
        abi::Op op = abi::Op::kRead;
        uint16_t status = 0;
        bool buffered = false;  // it took one of the queue's buffers
        // Device data: the caller's memory the device reaches meanwhile, kept until the
        // server answered (its device may write it until then).
        RefPtr<MemoryObject> data_memory;
        uint32_t tag = 0;
        uint64_t client = 0;  // the calling process's id (0: a close notice)
        uint64_t value = 0;
        ipc::Buffer buffer;
        CloseNotice* notice = nullptr;  // an open's: for the child it makes, or sent at once
        Lent* lent = nullptr;           // a create's: the handles lent to the server
        RefPtr<Object> made;            // a create's answer, for the caller's table
        uint32_t made_rights = 0;
    };

    proc::Process* server_ = nullptr;  // not counted: cleared by server_gone()
    QueueRegion region_;               // before client_: the endpoint closes first
    ipc::Client client_;
    bool created_ = false;
    bool gone_ = false;
    DeviceObject* device_data_ = nullptr;  // abi::kServeDeviceData: the region's device
    Slot* slots_ = nullptr;                // [capacity], found through the client's user_data
    uint32_t next_slot_ = 0;
    uint32_t in_flight_ = 0;
    uint64_t starved_ = 0;     // the client that last waited for room or a buffer (0: none)
    uint64_t starved_at_ = 0;  // when (sched::now_ns)
    uint64_t submitted_ = 0;
    uint64_t synced_ = 0;
    sched::WaitQueue done_;               // callers waiting for a completion or for room
    sched::WaitQueue work_;               // the server waiting for work (ServeSync)
    sched::Thread* receivers_ = nullptr;  // server threads waiting in ServeCall (a stack)
    DirectCall* held_ = nullptr;          // direct calls held by server threads, not yet answered
    CloseNotice* closes_ = nullptr;       // waiting for room in the queue
};

// A further object of the same port, made by an open the server answered: its operations go
// to the port's queue with `object` set, and its end is the server's close notice.
class ServedChild final : public Object {
  public:
    ServedChild(RefPtr<Served> port, CloseNotice* notice)
        : Object(abi::Kind::kServed), port_(std::move(port)), notice_(notice) {}
    Result<uint64_t> read(Request& req) override { return fwd(req); }
    Result<uint64_t> peek(Request& req) override { return fwd(req); }
    Result<uint64_t> write(Request& req) override { return fwd(req); }
    Result<uint64_t> seek(Request& req) override { return fwd(req); }
    Result<uint64_t> read_at(Request& req) override { return fwd(req); }
    Result<uint64_t> get_meta(Request& req) override { return fwd(req); }
    Result<uint64_t> set_meta(Request& req) override { return fwd(req); }
    Result<uint64_t> sync(Request& req) override { return fwd(req); }
    Result<uint64_t> open(Request& req) override { return fwd(req); }
    Result<uint64_t> create(Request& req) override { return fwd(req); }
    Result<uint64_t> destroy(Request& req) override { return fwd(req); }
    Served* served_by() override { return port_.get(); }

  private:
    ~ServedChild() override { port_->child_closed(notice_); }
    Result<uint64_t> fwd(Request& req) { return port_->forward(req, notice_->object); }
    RefPtr<Served> port_;
    CloseNotice* notice_;
};

}  // namespace keel::obj
