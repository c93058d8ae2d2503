#include "obj/served.hpp"

#include <ipc/layout.hpp>

#include <cstddef>
#include <new>
#include <utility>

#include <keel/c/libc.hpp>
#include "mm/user_copy.hpp"
#include "obj/memory.hpp"
#include "obj/served_spawn.hpp"
#include "proc/process.hpp"
#include "sched/scheduler.hpp"

namespace keel::obj {

namespace {

// The server's end. Closing its last handle (or the server's death) ends the service.
class Port final : public Object {
  public:
    explicit Port(RefPtr<Served> s) : Object(abi::Kind::kPort), served_(std::move(s)) {}
    Served* port_of() override { return served_.get(); }

  private:
    ~Port() override { served_->server_gone(); }  // then served_ drops the port's reference
    RefPtr<Served> served_;
};

ipc::Unexpected<Error> submit_failed(ipc::Error e) {
    return fail(e == ipc::Error::PeerGone ? Error::kPeerGone : Error::kProtocol);
}

constexpr auto kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
// The largest value a server may answer: one of 2^63 or more would reach the caller as an
// error code.
constexpr uint64_t kMaxValue = ~0ull >> 1;

// The operations whose caller's bytes go to the server, and those whose answer's bytes come
// back to the caller (both paths).
bool carries_data(abi::Op op) {
    return op == abi::Op::kWrite || op == abi::Op::kSetMeta || op == abi::Op::kOpen ||
           op == abi::Op::kDestroy;
}
bool returns_data(abi::Op op) {
    return op == abi::Op::kRead || op == abi::Op::kPeek || op == abi::Op::kReadAt ||
           op == abi::Op::kGetMeta;
}

// The server's answer (status, value) to `op` on `length` bytes as the caller's result, one
// rule for both paths: a failure status is PeerGone or the error a valid code carries (anything
// else the server wrote is a protocol violation); an Ok value of 2^63 or more is Protocol (the
// caller would read it as an error code); a write's or a read's count is clamped to the
// caller's length (a write that claims more bytes than it was given, a read more than fit: the
// bytes a read copies back); any other operation's value stands.
[[gnu::always_inline]] inline Result<uint64_t> judged(uint16_t status, uint64_t value, abi::Op op,
                                                      uint64_t length) {
    if (status != kOk) [[unlikely]] {
        if (status == static_cast<uint16_t>(ipc::abi::Status::PeerGone))
            return fail(Error::kPeerGone);
        Error e = Error::kProtocol;
        (void)abi::decode_queue_error(status, &e);
        return fail(e);
    }
    if (value > kMaxValue)
        return fail(Error::kProtocol);
    if (op == abi::Op::kWrite || returns_data(op))
        return value < length ? value : length;
    return value;
}

}  // namespace

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
        wake_server();
    }
}

void Served::server_gone() {
    if (gone_ || !created_) {
        gone_ = true;
        return;
    }
    gone_ = true;
    while (held_ != nullptr)
        answer_gone(*held_);  // unlinks it
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
    wake_all_servers();
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
    if (req.direct && receivers_ != nullptr && direct_ok(req))
        return call_direct(req, f, object);
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
        req.handoff = ring_handoff();  // do_io switches to the server as it blocks
    else
        wake_server();
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
    if (carries_data(req.op)) {
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
    if (f.direct())
        return finish_direct(req, f);
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
    if (s.status == kOk && (req.op == abi::Op::kOpen || req.op == abi::Op::kCreate)) [[unlikely]]
        return req.op == abi::Op::kOpen ? opened(s, req) : created(s, req);
    const uint64_t n = KEEL_TRY(judged(s.status, s.value, req.op, req.buffer.length()));
    if (returns_data(req.op) && s.buffer.valid())
        KEEL_TRY(req.buffer.copy_into(0, client_.bytes(s.buffer).data(), n));
    else if (returns_data(req.op) && !s.data_memory)
        return s.value;  // a read of 0 bytes: the server's value (the direct path answers 0)
    return n;            // device data: a read's bytes are there already
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
    if (f.direct()) {
        // A direct call: the server thread still holding it finds nothing to answer.
        DirectCall& c = sched::current()->call;
        if (c.state == DirectCall::kHeld)
            unhold(c);
        c.state = DirectCall::kIdle;
        f = {};
        return;
    }
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
        s->wake_server();
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

// ---- the direct path (issue 24) --------------------------------------------------------------

bool Served::direct_ok(const Request& req) const {
    // Nothing in flight through the ring (close notices and abandoned operations included): a call
    // never overtakes what went before it. Open and create carry handles: the ring's alone.
    return in_flight_ == 0 && closes_ == nullptr && req.caller != nullptr &&
           req.buffer.length() <= abi::kServeCallBytes && req.op != abi::Op::kOpen &&
           req.op != abi::Op::kCreate && !uses_device_data(req);
}

void Served::hold(DirectCall& c, sched::Thread& t) {
    c.state = DirectCall::kHeld;
    c.served = this;
    c.holder = &t;
    t.held_call = &c;
    c.prev_held = nullptr;
    c.next_held = held_;
    if (held_ != nullptr)
        held_->prev_held = &c;
    held_ = &c;
}

void Served::unhold(DirectCall& c) {
    if (c.holder != nullptr)
        c.holder->held_call = nullptr;
    c.holder = nullptr;
    if (c.prev_held != nullptr)
        c.prev_held->next_held = c.next_held;
    else
        c.served->held_ = c.next_held;
    if (c.next_held != nullptr)
        c.next_held->prev_held = c.prev_held;
    c.next_held = c.prev_held = nullptr;
    c.served = nullptr;
}

void Served::answer_gone(DirectCall& c) {
    unhold(c);
    c.status = static_cast<uint16_t>(ipc::abi::Status::PeerGone);
    c.value = 0;
    c.state = DirectCall::kAnswered;
    c.done.wake_all();
}

void Served::unreceive_slow(sched::Thread& self) {
    for (sched::Thread** p = &receivers_; *p != nullptr; p = &(*p)->next_receiver) {
        if (*p == &self) {
            *p = self.next_receiver;
            break;
        }
    }
    self.next_receiver = nullptr;
    self.receiving = false;
}

void Served::wake_server() {
    work_.wake_all();
    if (sched::Thread* t = take_receiver())
        t->receive.wake_all();
}

sched::WaitQueue* Served::ring_handoff() {
    if (!work_.empty() && receivers_ == nullptr)
        return &work_;  // block_switch wakes the other ServeSync threads
    if (work_.empty() && receivers_ != nullptr)
        return &take_receiver()->receive;
    wake_server();  // both kinds wait, or none
    return nullptr;
}

void Served::wake_all_servers() {
    work_.wake_all();
    while (sched::Thread* t = take_receiver())
        t->receive.wake_all();
}

void Served::thread_gone(sched::Thread& t) {
    if (t.held_call != nullptr)
        answer_gone(*t.held_call);
}

// The caller's thread hands its record to the last server thread to wait in ServeCall and, blocking
// in do_io, switches to it (Request::handoff).
[[gnu::always_inline]] Result<uint64_t> Served::call_direct(Request& req, Forward& f,
                                                            uint32_t object) {
    DirectCall& c = sched::current()->call;
    const auto n = static_cast<uint32_t>(req.buffer.length());
    if (n != 0 && carries_data(req.op))
        KEEL_TRY(req.buffer.copy_out_of(0, c.data, n));
    c.op = req.op;
    c.object = object;
    c.length = n;
    c.arg = req.arg;
    c.client = req.caller->id();
    sched::Thread& t = *take_receiver();
    hold(c, t);
    f = {retain_ref(this), 0, object, Forward::kDirect};
    req.handoff = &t.receive;
    return obj::would_block(req, c.done);
}

// The caller's retry: the answer, under the ring path's rules (answer() above).
Result<uint64_t> Served::finish_direct(Request& req, Forward& f) {
    DirectCall& c = sched::current()->call;
    if (c.state == DirectCall::kHeld)
        return obj::would_block(req, c.done);
    c.state = DirectCall::kIdle;
    const RefPtr<Served> self = std::move(f.served);  // dropped on return
    f = {};
    const uint64_t n = KEEL_TRY(judged(c.status, c.value, c.op, c.length));
    if (returns_data(c.op) && n != 0)
        KEEL_TRY(req.buffer.copy_into(0, c.data, n));
    return n;
}

namespace {
// ServeCall's parts, by offset (each way one copy): what the server writes in (the answer and
// a read's bytes) ends where its data does; what the kernel writes out (a write's bytes and
// the call) starts at its data, or at its opcode when it has no bytes.
constexpr uint64_t kData = offsetof(abi::ServeCall, data);
constexpr uint64_t kCallOut = offsetof(abi::ServeCall, opcode);
constexpr uint64_t kRing = offsetof(abi::ServeCall, ring);
const std::byte* at(const abi::ServeCall& m, uint64_t offset) {
    return reinterpret_cast<const std::byte*>(&m) + offset;
}
}  // namespace

Result<uint64_t> Served::call_wait(uint64_t msg, uint64_t deadline) {
    sched::Thread& self = *sched::current();
    // The ring's completions first, as ServeSync: their callers are woken. Reaping a create's
    // can close a lent handle and destroy its object, which reaches preemption points, where
    // the caller of the call this thread holds may give up (and go on to other calls): what
    // the thread holds is read after it.
    if (client_.outstanding() != 0)
        collect();
    DirectCall* const held = self.held_call;
    // With a call held, a read's room comes in the same copy: at most the caller's length.
    abi::ServeCall in;
    const uint64_t room = held != nullptr && returns_data(held->op) ? held->length : 0;
    KEEL_TRY(mm::copy_from_user(&in, msg, kData + room));
    if ((in.flags & ~abi::kServeCallReply) != 0 ||
        (held != nullptr && (in.flags & abi::kServeCallReply) == 0))
        return fail(Error::kInvalidArgument);
    DirectCall* answered = nullptr;
    if (held != nullptr) {
        // A read's bytes: the whole array, a fixed size the compiler copies inline (the libc
        // copy is a byte loop). Only the first `room` came from the server (the rest is this
        // stack's): finish_direct gives the caller at most min(value, length) = at most room.
        __builtin_memcpy(held->data, in.data, sizeof held->data);
        unhold(*held);
        held->status = in.status;
        held->value = in.value;
        held->state = DirectCall::kAnswered;
        answered = held;
    }
    // From here to the switch nothing reaches a preemption point: the caller, ready or not,
    // cannot leave do_io (and its record) before it is woken.
    for (;;) {
        if (self.held_call != nullptr)
            return deliver(self, msg);
        if (submitted_ != synced_ || gone_) {
            if (answered != nullptr)
                answered->done.wake_all();
            if (gone_)
                return fail(Error::kPeerGone);
            const uint64_t n = submitted_ - synced_;
            KEEL_TRY(mm::copy_to_user(msg + kRing, &n, sizeof n));
            synced_ = submitted_;
            return uint64_t{0};
        }
        // The answer's caller runs next, straight from here (sched::block_switch).
        receive(self);
        const sched::WakeReason why =
            answered != nullptr ? sched::block_switch(&self.receive, deadline, answered->done)
                                : sched::block(&self.receive, deadline);
        unreceive(self);
        answered = nullptr;
        if (self.held_call != nullptr)
            continue;  // a call came with the wake-up, whatever else did
        // Ring work that came with the timeout or the interruption may have been handed to this
        // thread alone (wake_server): it is reported, or passed on to another thread.
        if (why == sched::WakeReason::kInterrupted) {
            if (submitted_ != synced_)
                wake_server();
            return fail(Error::kPeerGone);
        }
        if (why == sched::WakeReason::kTimedOut && submitted_ == synced_ && !gone_)
            return fail(Error::kTimedOut);
    }
}

// The call the thread now holds, written to its message (with a write's bytes, in the same
// copy). A message it cannot write is the server's fault: the call is answered Protocol rather
// than left with a server that never saw it.
[[gnu::always_inline]] Result<uint64_t> Served::deliver(sched::Thread& self, uint64_t msg) {
    DirectCall& c = *self.held_call;
    abi::ServeCall out;
    out.opcode = abi::queue_opcode(c.op);
    out.reserved2 = 0;
    out.object = c.object;
    out.arg = c.arg;
    out.client = c.client;
    out.length = c.length;
    out.reserved3 = 0;
    const uint64_t from = c.length != 0 && carries_data(c.op) ? kData : kCallOut;
    if (from == kData) {
        memcpy(out.data, c.data, c.length);
        memset(out.data + c.length, 0, sizeof out.data - c.length);  // nothing of the kernel's
    }
    const Result<void> w = mm::copy_to_user(msg + from, at(out, from), kRing - from);
    if (!w.ok()) {
        unhold(c);
        c.status = abi::queue_error_status(Error::kProtocol);
        c.state = DirectCall::kAnswered;
        c.done.wake_all();
        return fail(Error::kBadAddress);
    }
    return uint64_t{1};
}

}  // namespace keel::obj
