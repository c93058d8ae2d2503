#include "obj/served.hpp"

#include <ipc/layout.hpp>

#include <new>
#include <utility>

#include "obj/memory.hpp"
#include "obj/served_spawn.hpp"
#include "proc/process.hpp"
#include "sched/scheduler.hpp"

namespace keel::obj {

namespace {

// The server's end. Closing its last handle (or the server's death) ends the service.
class Port final : public Object {
  public:
    explicit Port(RefPtr<Served> s) : served_(std::move(s)) {}
    abi::Kind kind() const override { return abi::Kind::kPort; }
    Served* served() const { return served_.get(); }

  private:
    ~Port() override { served_->server_gone(); }  // then served_ drops the port's reference
    RefPtr<Served> served_;
};

ipc::Unexpected<Error> submit_failed(ipc::Error e) {
    return fail(e == ipc::Error::PeerGone ? Error::kPeerGone : Error::kProtocol);
}

}  // namespace

Served* served_of_port(Object& o) {
    return o.kind() == abi::Kind::kPort ? static_cast<Port&>(o).served() : nullptr;
}

Result<Served::Created> Served::create(proc::Process& server, const abi::QueueGeometry& g,
                                       DeviceObject* device) {
    // Capacity 2 at least: the kernel keeps one credit in reserve per forwarded operation for
    // its Cancel.
    // Device data (abi::kServeDeviceData) needs the region in a device's DMA memory.
    QueueRegion region = KEEL_TRY(QueueRegion::create(
        g, 2, &ipc::Client::private_size, device, device != nullptr ? abi::kServeDeviceData : 0));
    RefPtr<Served> s = adopt_ref(new (std::nothrow) Served(std::move(region)));
    if (!s)
        return fail(Error::kNoMemory);
    s->server_ = &server;
    if ((g.flags & abi::kServeDeviceData) != 0)
        s->device_data_ = device;
    s->slots_ = new (std::nothrow) Slot[g.capacity];
    if (s->slots_ == nullptr)
        return fail(Error::kNoMemory);
    // The kernel lays the queue out: it is the client. The server attaches to what it finds.
    if (!s->client_.create(s->region_.shared(), s->region_.storage(), s->region_.geometry()))
        return fail(Error::kInvalidArgument);
    s->created_ = true;
    RefPtr<Object> port = adopt_ref<Object>(new (std::nothrow) Port(s));
    if (!port)
        return fail(Error::kNoMemory);
    // On failure the port goes first (ending the service), then the served object.
    KEEL_TRY(s->region_.map_user(server));
    return Created{std::move(port), std::move(s)};
}

Served::~Served() {
    // Every slot is free here: a caller in flight holds a reference, and so does every child
    // (whose notices were sent or dropped when the server went).
    while (closes_ != nullptr) {
        CloseNotice* n = closes_;
        closes_ = n->next;
        delete n;
    }
    for (uint32_t i = 0; slots_ != nullptr && i < region_.geometry().capacity; ++i)
        delete slots_[i].lent;  // none left: every completion was reaped when the port went
    delete[] slots_;
    if (created_)
        client_.close();
}  // then region_ goes

bool Served::collect(bool wake) {
    if (!created_)
        return false;
    bool any = false;
    // Nothing can be reaped once every submission was: stop there rather than read an empty
    // ring (ipc::Client frees one slot per completion handed out, ring or teardown).
    while (client_.outstanding() != 0) {
        auto r = client_.reap();
        if (!r) {
            if (r.error() == ipc::Error::ProtocolViolation && !gone_) {
                // A server that writes impossible completions is treated as dead.
                gone_ = true;
                client_.peer_gone();
                continue;
            }
            break;
        }
        any = true;
        if (r->is_cancel)
            continue;
        // Our slot is in the client's private user_data (the server never sees it).
        if (r->user_data >= client_.capacity())
            continue;  // cannot happen: only submit() and send_closes() set it
        Slot& s = slots_[r->user_data];
        if (s.tag != r->tag || s.state == kFree || s.state == kDone)
            continue;  // cannot happen: ipc/ validated the tag against its own pending slots
        // Only a create has anything to settle: the other operations skip the call.
        const uint16_t status =
            s.op == abi::Op::kCreate ? settle(s, r->status, r->value) : r->status;
        if (s.state == kOrphan) {
            // The caller left (or this was a close notice): the buffer goes back to the pool.
            // An open the server granted meanwhile is closed again at once.
            if (s.notice != nullptr) {
                const bool granted = s.op == abi::Op::kOpen &&
                                     r->status == static_cast<uint16_t>(ipc::abi::Status::Ok) &&
                                     static_cast<uint32_t>(r->value) != 0;
                if (granted) {
                    s.notice->object = static_cast<uint32_t>(r->value);
                    s.notice->next = closes_;
                    closes_ = s.notice;
                } else {
                    delete s.notice;
                }
                s.notice = nullptr;
            }
            s.data_memory.reset();
            s.state = kFree;
            --in_flight_;
            continue;
        }
        s.state = kDone;
        s.status = status;
        s.value = r->value;
        s.buffer = std::move(r->buffer);
    }
    if (any) {
        if (closes_ != nullptr)  // the common path has none: no call
            send_closes();
        if (wake)
            done_.wake_all();
    }
    return any;
}

uint16_t Served::settle(Slot& s, uint16_t status, uint64_t value) {
    if (s.state == kPending && s.op == abi::Op::kCreate &&
        status == static_cast<uint16_t>(ipc::abi::Status::Ok)) {
        // The answer names a handle in the server's table, given on with its rights (giving is
        // sharing: it needs Share). Held now: the server may close it before the caller looks.
        bool named = false;
        if (server_ != nullptr && value <= 0xffffffffu) {
            const Result<proc::HandleEntry> e =
                server_->handles().lookup(static_cast<abi::Handle>(value));
            if (e.ok() && (e->rights & abi::kRightShare) != 0) {
                s.made = retain_ref(e->object);
                s.made_rights = e->rights;
                named = true;
            }
        }
        if (!named)
            status = abi::queue_error_status(Error::kProtocol);
    }
    if (s.lent != nullptr) {
        // The server's process ended: its table took the lent handles with it.
        if (server_ != nullptr)
            return_lent(*server_, *s.lent);
        delete s.lent;
        s.lent = nullptr;
    }
    return status;
}

// A waiting client retries at every completion, so a mark older than this is one that left.
constexpr uint64_t kStarvedWindowNs = 100'000'000;

void Served::starved(uint64_t client) {
    starved_ = client;
    starved_at_ = sched::now_ns();
}

// Counting a client's slots takes a scan, so it is done only while someone else waits. Orphans
// count for the client that left them: one that times out again and again still holds what
// the server has not completed.
bool Served::over_share(uint64_t client, bool needs_buffer) const {
    if (starved_ == 0 || starved_ == client || sched::now_ns() - starved_at_ > kStarvedWindowNs)
        return false;
    const uint32_t slot_share = abi::served_client_share(client_.capacity() / 2);
    const uint32_t buffer_share = abi::served_client_share(client_.buffer_count());
    uint32_t slots = 0, buffers = 0;
    for (uint32_t i = 0; i < client_.capacity(); ++i) {
        const Slot& s = slots_[i];
        if (s.state == kFree || s.client != client)
            continue;
        ++slots;
        buffers += s.buffered ? 1 : 0;
    }
    return slots >= slot_share || (needs_buffer && buffers >= buffer_share);
}

// A slot nobody uses. Our slots are not the client's: ipc/ frees its slot when a completion is
// reaped, while ours stays kDone until the caller takes the answer, so a new submission can
// get the client's slot number of an answer still waiting. has_room() leaves half the
// capacity unused, so the scan always finds one.
uint32_t Served::free_slot() {
    const uint32_t n = client_.capacity();
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t k = (next_slot_ + i) % n;
        if (slots_[k].state == kFree) {
            next_slot_ = (k + 1) % n;
            return k;
        }
    }
    return 0;  // unreachable while has_room() holds
}

void Served::child_closed(CloseNotice* notice) {
    if (gone_) {  // nobody to tell
        delete notice;
        return;
    }
    notice->next = closes_;
    closes_ = notice;
    send_closes();
}

// A close notice is an operation nobody waits for (an orphan from the start): its
// completion only frees the slot. It takes the same room as any operation, so a caller's
// Cancel always finds its reserved credit.
void Served::send_closes() {
    bool sent = false;
    while (closes_ != nullptr && !gone_ && has_room()) {
        const uint32_t index = free_slot();
        ipc::Request r;
        r.opcode = abi::queue_opcode(abi::Op::kClose);
        r.object = closes_->object;
        r.user_data = index;
        auto t = client_.submit(r);
        if (!t)
            break;
        CloseNotice* n = closes_;
        closes_ = n->next;
        delete n;
        Slot& slot = slots_[index];
        slot.state = kOrphan;
        slot.op = abi::Op::kClose;
        slot.buffered = false;
        slot.tag = *t;
        slot.client = 0;
        ++in_flight_;
        ++submitted_;
        sent = true;
    }
    if (sent) {
        client_.publish();
        work_.wake_all();
    }
}

void Served::server_gone() {
    if (gone_ || !created_) {
        gone_ = true;
        return;
    }
    gone_ = true;
    // The device may still be writing the memory of the operations in flight: it goes through
    // the device's quarantine when it ends (MemoryObject::set_lent_only).
    for (uint32_t i = 0; i < client_.capacity(); ++i) {
        const Slot& slot = slots_[i];
        if ((slot.state == kPending || slot.state == kOrphan) && slot.data_memory)
            slot.data_memory->mark_device_may_write();
    }
    client_.peer_gone();
    // PeerGone for each operation in flight, each with its buffer; the handles lent with them
    // go back while the server (still there, or emptying its table as it ends) is known.
    collect();
    server_ = nullptr;
    while (closes_ != nullptr) {
        CloseNotice* n = closes_;
        closes_ = n->next;
        delete n;
    }
    work_.wake_all();
}

Result<uint64_t> Served::forward(Request& req, uint32_t object) {
    if (req.forward == nullptr)
        return fail(Error::kNotSupported);
    Forward& f = *req.forward;
    // The caller's handle now names another served object (closed and reused between
    // retries): the old operation is abandoned, this one starts afresh.
    if (f.started() && (f.served.get() != this || f.object != object))
        abandon(f);
    if (f.started())
        return finish(req, f);
    if (req.op == abi::Op::kOpen) {
        // Creating or emptying a name changes the directory: that takes Write.
        if ((req.arg & ~static_cast<uint64_t>(abi::kOpenFlagsAll)) != 0)
            return fail(Error::kInvalidArgument);
        if ((req.arg & (abi::kOpenCreate | abi::kOpenTruncate)) != 0 &&
            (req.rights & abi::kRightWrite) == 0)
            return fail(Error::kNoRights);
    }
    return begin(req, f, object);
}

// A create is a spawn: the server sees the TableSpawn's ServedSpawn record, so its buffers
// must hold one; the caller must have room for the answer's handle before the server starts
// anything for it. Out of line, like new_lent(): the other operations' path stays as short.
[[gnu::noinline]] Result<void> Served::check_spawn(const Request& req) const {
    if (req.buffer.length() != sizeof(abi::TableSpawn) || req.caller == nullptr)
        return fail(Error::kInvalidArgument);
    if (client_.buffer_count() == 0 || sizeof(abi::ServedSpawn) > client_.buffer_size())
        return fail(Error::kTooLarge);
    if (req.caller->handles().full())
        return fail(Error::kFull);
    return success();
}

[[gnu::noinline]] Lent* Served::new_lent() {
    return new (std::nothrow) Lent;
}

// The server's completions are collected by its ServeSync; begin() and finish() collect only
// when that could change the answer (no room for a new operation, or ours still pending), so
// the common path never reads an empty completion ring.
Result<uint64_t> Served::begin(Request& req, Forward& f, uint32_t object) {
    if (gone_)
        return fail(Error::kPeerGone);
    if (req.op == abi::Op::kCreate) [[unlikely]]
        KEEL_TRY(check_spawn(req));
    const bool device_data = uses_device_data(req);
    const bool needs_buffer = req.buffer.length() > 0 && !device_data;
    if (needs_buffer &&
        (client_.buffer_count() == 0 || req.buffer.length() > client_.buffer_size()))
        return fail(Error::kTooLarge);
    const uint64_t client = req.caller != nullptr ? req.caller->id() : 0;
    if (over_share(client, needs_buffer))
        return obj::would_block(req, done_);
    // One credit stays in reserve per operation in flight, for its Cancel; close notices
    // waiting for room go first.
    if (!has_room() || closes_ != nullptr) {
        if (!collect() || !has_room() || closes_ != nullptr) {
            starved(client);
            return obj::would_block(req, done_);
        }
        if (gone_)
            return fail(Error::kPeerGone);
    }
    // An open's close notice is made now, so the child it may make can always be closed.
    CloseNotice* notice = nullptr;
    if (req.op == abi::Op::kOpen) {
        notice = new (std::nothrow) CloseNotice;
        if (notice == nullptr)
            return fail(Error::kNoMemory);
    }
    Lent* lent = nullptr;
    if (req.op == abi::Op::kCreate) [[unlikely]] {
        lent = new_lent();
        if (lent == nullptr) {
            delete notice;  // none: only an open has one
            return fail(Error::kNoMemory);
        }
    }
    const uint32_t index = free_slot();
    const Result<uint32_t> submitted = submit(req, object, client, index, lent, device_data);
    if (!submitted) {
        delete notice;
        delete lent;  // submit() gave back whatever it had lent
        return fail(submitted.error());
    }
    const uint32_t tag = *submitted;
    if (starved_ == client)
        starved_ = 0;  // its wait is over
    client_.publish();
    Slot& s = slots_[index];
    s.state = kPending;
    s.op = req.op;
    s.buffered = needs_buffer;
    if (device_data) [[unlikely]]
        s.data_memory = retain_ref(req.buffer.device_memory());
    s.tag = tag;
    s.client = client;
    s.notice = notice;
    s.lent = lent;
    ++in_flight_;
    ++submitted_;
    f = {retain_ref(this), tag, object, index};
    if (req.direct)
        req.handoff = &work_;  // do_io switches to the server as it blocks
    else
        work_.wake_all();
    return obj::would_block(req, done_);
}

bool Served::uses_device_data(const Request& req) const {
    const MemoryObject* m = req.buffer.device_memory();
    return device_data_ != nullptr && m != nullptr && m->dma_owner() == device_data_ &&
           (req.op == abi::Op::kRead || req.op == abi::Op::kReadAt || req.op == abi::Op::kWrite);
}

// Submits req to the server (a write's bytes copied into an owned buffer, device data as its
// address; a create's handles lent with a ServedSpawn record into `lent`): the tag, or why not
// (kWouldBlock when no buffer is free yet).
Result<uint32_t> Served::submit(Request& req, uint32_t object, uint64_t client, uint32_t index,
                                Lent* lent, bool device_data) {
    ipc::Request r;
    r.opcode = abi::queue_opcode(req.op);
    r.object = object;
    r.user_data = index;
    r.length =
        static_cast<uint32_t>(lent != nullptr ? sizeof(abi::ServedSpawn) : req.buffer.length());
    r.args[0] = req.arg;
    r.args[abi::kServedClientArg] = client;
    if (device_data) [[unlikely]] {
        // No copy and no owned buffer: the device reaches the caller's own (abi::kServeDeviceData).
        r.length = 0;
        r.flags = abi::kServedDeviceData;
        r.offset = req.buffer.device_address();
        r.args[abi::kServedDataLengthArg] = req.buffer.length();
    }
    if (r.length == 0) {
        auto t = client_.submit(r);
        if (!t)
            return submit_failed(t.error());
        return *t;
    }
    if (client_.pooled_buffers() == 0 && (!collect() || gone_ || client_.pooled_buffers() == 0)) {
        if (gone_)
            return fail(Error::kPeerGone);
        starved(client);
        return obj::would_block(req, done_);
    }
    auto got = client_.acquire();
    if (!got) {
        starved(client);
        return obj::would_block(req, done_);
    }
    if (lent != nullptr) [[unlikely]]
        return submit_spawn(req, r, *got, *lent);
    const abi::Op op = req.op;
    if (op == abi::Op::kWrite || op == abi::Op::kSetMeta || op == abi::Op::kOpen ||
        op == abi::Op::kDestroy) {
        // On failure the buffer returns to the pool with *got.
        KEEL_TRY(req.buffer.copy_out_of(0, client_.bytes(*got).data(), req.buffer.length()));
    }
    // On failure the buffer stays in *got and returns to the pool with it.
    auto t = client_.submit(r, std::move(*got));
    if (!t)
        return submit_failed(t.error());
    return *t;
}

// submit() for a create: the handles lent and the record written into the buffer, then
// submitted. On failure nothing stays lent and the buffer returns to the pool with `buffer`.
[[gnu::noinline]] Result<uint32_t> Served::submit_spawn(Request& req, const ipc::Request& r,
                                                        ipc::Buffer& buffer, Lent& lent) {
    // A server emptying its table as it ends would keep what was lent past its end.
    if (server_ == nullptr || server_->finishing())
        return fail(Error::kPeerGone);
    KEEL_TRY(lend_spawn(req, *server_,
                        reinterpret_cast<abi::ServedSpawn*>(client_.bytes(buffer).data()), lent));
    auto t = client_.submit(r, std::move(buffer));
    if (!t) {
        return_lent(*server_, lent);
        return submit_failed(t.error());
    }
    return *t;
}

Result<uint64_t> Served::finish(Request& req, Forward& f) {
    if (pending(f.slot))
        return obj::would_block(req, done_);
    Slot& s = slots_[f.slot];
    const Result<uint64_t> result = answer(s, req);
    delete s.notice;  // an open's that made no child
    s.notice = nullptr;
    s.buffer.reset();
    if (s.data_memory) [[unlikely]]
        s.data_memory.reset();
    s.state = kFree;
    --in_flight_;
    // The caller's in-flight reference, dropped on return; a handle still holds the object.
    const RefPtr<Served> self = std::move(f.served);
    f = {};
    done_.wake_all();  // room for a waiting submitter
    return result;
}

// The server's answer to a finished operation: its status as the caller's result, a read's
// bytes copied back through the caller's buffer.
Result<uint64_t> Served::answer(Slot& s, Request& req) {
    const auto ok = static_cast<uint16_t>(ipc::abi::Status::Ok);
    if (s.status == ok && (req.op == abi::Op::kOpen || req.op == abi::Op::kCreate)) [[unlikely]]
        return req.op == abi::Op::kOpen ? opened(s, req) : created(s, req);
    if (s.status == ok) {
        // The server's value is its claim. One of 2^63 or more would reach the caller as an
        // error code; a count is never more than the caller's length (a write that claims
        // more bytes than it was given, a read more than fit).
        if (s.value > (~0ull >> 1))
            return fail(Error::kProtocol);
        const uint64_t n = s.value < req.buffer.length() ? s.value : req.buffer.length();
        if (req.op == abi::Op::kWrite)
            return n;
        const bool reads = req.op == abi::Op::kRead || req.op == abi::Op::kPeek ||
                           req.op == abi::Op::kReadAt || req.op == abi::Op::kGetMeta;
        if (!reads || !s.buffer.valid())
            return s.data_memory ? n : s.value;  // device data: a read's bytes are there already
        KEEL_TRY(req.buffer.copy_into(0, client_.bytes(s.buffer).data(), n));
        return n;
    }
    if (s.status == static_cast<uint16_t>(ipc::abi::Status::PeerGone))
        return fail(Error::kPeerGone);
    // A valid failure status carries its error; anything else the server wrote is a protocol
    // violation.
    Error e = Error::kProtocol;
    (void)abi::decode_queue_error(s.status, &e);
    return fail(e);
}

// An open the server granted: value = served_open_value(object, rights). The child object
// takes the slot's close notice; the caller's handle gets the rights both the server and the
// directory's handle allow. If the handle cannot be made, the child goes at once and the
// server gets its close notice.
Result<uint64_t> Served::opened(Slot& s, Request& req) {
    const auto object = static_cast<uint32_t>(s.value);
    const auto granted = static_cast<uint32_t>(s.value >> 32);
    if (object == 0 || (granted & ~abi::kRightsServed) != 0) {
        // A lie: no child. A non-zero object is closed again so the server's count stays true.
        if (object != 0) {
            s.notice->object = object;
            child_closed(s.notice);
            s.notice = nullptr;
        }
        return fail(Error::kProtocol);
    }
    s.notice->object = object;
    RefPtr<Object> child =
        adopt_ref<Object>(new (std::nothrow) ServedChild(retain_ref(this), s.notice));
    if (!child) {
        child_closed(s.notice);
        s.notice = nullptr;
        return fail(Error::kNoMemory);
    }
    s.notice = nullptr;  // the child's now
    if (req.caller == nullptr)
        return fail(Error::kInvalidArgument);
    return KEEL_TRY(req.caller->handles().insert(*child, granted & req.rights));
}

// A create the server answered with a handle of its own (held since collect()): the caller
// gets a new handle to that object with the same rights.
// The slot's reference goes with this call (kept by the caller's new handle, if any).
[[gnu::noinline]] Result<uint64_t> Served::created(Slot& s, Request& req) {
    const RefPtr<Object> made = std::move(s.made);
    if (!made)
        return fail(Error::kProtocol);
    if (req.caller == nullptr)
        return fail(Error::kInvalidArgument);
    return KEEL_TRY(req.caller->handles().insert(*made, s.made_rights));
}

void Served::abandon_slow(Forward& f) {
    const RefPtr<Served> s = std::move(f.served);  // the in-flight reference, dropped on return
    Slot& slot = s->slots_[f.slot];
    if (slot.state == kDone) {
        // A granted open nobody takes: its object is closed again at once.
        if (slot.notice != nullptr) {
            const bool granted = slot.op == abi::Op::kOpen &&
                                 slot.status == static_cast<uint16_t>(ipc::abi::Status::Ok) &&
                                 static_cast<uint32_t>(slot.value) != 0;
            if (granted) {
                slot.notice->object = static_cast<uint32_t>(slot.value);
                s->child_closed(slot.notice);
            } else {
                delete slot.notice;
            }
            slot.notice = nullptr;
        }
        slot.buffer.reset();
        slot.data_memory.reset();
        slot.made.reset();  // a create's answer nobody takes: the server keeps its own handle
        slot.state = kFree;
        --s->in_flight_;
    } else if (slot.state == kPending) {
        slot.state = kOrphan;
        // The reserved credit makes this succeed while the server is there. The Cancel is a
        // submission like any other: counted, so that the server's serve_sync reports it (a
        // server asleep in it, or one asking without waiting, would otherwise not look until
        // something else came, and might hand the abandoned read the next bytes).
        (void)s->client_.cancel(0, f.tag);
        s->client_.publish();
        ++s->submitted_;
        s->work_.wake_all();
    }
    f = {};
    s->done_.wake_all();
}

Result<uint64_t> Served::sync(bool wait, uint64_t deadline) {
    // A server that goes to sleep hands the CPU straight to the oldest thread waiting on the
    // port's completions (sched::block_switch: usually the do_io just answered); otherwise
    // they are woken as usual.
    bool handoff = collect(!wait) && wait;
    while (wait && submitted_ == synced_ && !gone_) {
        // Woken by a submission (or the end of the service): the completions this server
        // posts meanwhile are collected by its next ServeSync.
        const sched::WakeReason why =
            handoff ? sched::block_switch(&work_, deadline, done_) : sched::block(&work_, deadline);
        handoff = false;
        if (why == sched::WakeReason::kInterrupted)
            return fail(Error::kPeerGone);
        if (why == sched::WakeReason::kTimedOut)
            return fail(Error::kTimedOut);
    }
    if (handoff)
        done_.wake_all();  // the server does not sleep: work came, or the service ended
    const uint64_t n = submitted_ - synced_;
    synced_ = submitted_;
    return Result<uint64_t>(n);
}

}  // namespace keel::obj
