#include "obj/served.hpp"

#include <ipc/layout.hpp>
#include <ipc/rules.hpp>

#include <new>
#include <utility>

#include "obj/memory.hpp"
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

Result<Served::Created> Served::create(proc::Process& server, const abi::QueueGeometry& g) {
    // Capacity 2 at least: the kernel keeps one credit in reserve per forwarded operation for
    // its Cancel.
    QueueRegion region = KEEL_TRY(QueueRegion::create(g, 2, &ipc::Client::private_size));
    RefPtr<Served> s = adopt_ref(new (std::nothrow) Served(std::move(region)));
    if (!s)
        return fail(Error::kNoMemory);
    s->server_ = &server;
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
    // Every slot is free here: a caller in flight holds a reference.
    delete[] slots_;
    if (created_)
        client_.close();
}  // then region_ goes

bool Served::collect() {
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
        Slot& s = slots_[ipc::rules::tag_slot_index(r->tag)];
        if (s.tag != r->tag || s.state == kFree || s.state == kDone)
            continue;  // cannot happen: ipc/ validated the tag against its own pending slots
        if (s.state == kOrphan) {
            s.state = kFree;  // the caller left: the buffer goes back to the pool
            --in_flight_;
            continue;
        }
        s.state = kDone;
        s.status = r->status;
        s.value = r->value;
        s.buffer = std::move(r->buffer);
    }
    if (any)
        done_.wake_all();
    return any;
}

void Served::server_gone() {
    if (gone_ || !created_) {
        gone_ = true;
        return;
    }
    gone_ = true;
    server_ = nullptr;
    client_.peer_gone();
    collect();  // PeerGone for each operation in flight, each with its buffer
    work_.wake_all();
}

Result<uint64_t> Served::forward(Request& req) {
    if (req.forward == nullptr)
        return fail(Error::kNotSupported);
    Forward& f = *req.forward;
    // The caller's handle now names another served object (closed and reused between
    // retries): the old operation is abandoned, this one starts afresh.
    if (f.started() && f.served.get() != this)
        abandon(f);
    return f.started() ? finish(req, f) : begin(req, f);
}

// The server's completions are collected by its ServeSync; begin() and finish() collect only
// when that could change the answer (no room for a new operation, or ours still pending), so
// the common path never reads an empty completion ring.
Result<uint64_t> Served::begin(Request& req, Forward& f) {
    if (gone_)
        return fail(Error::kPeerGone);
    if (req.buffer.length() > 0 &&
        (client_.buffer_count() == 0 || req.buffer.length() > client_.buffer_size()))
        return fail(Error::kTooLarge);
    // One credit stays in reserve per operation in flight, for its Cancel.
    if (2 * (in_flight_ + 1) > client_.capacity()) {
        if (!collect() || 2 * (in_flight_ + 1) > client_.capacity())
            return obj::would_block(req, done_);
        if (gone_)
            return fail(Error::kPeerGone);
    }
    const uint32_t tag = KEEL_TRY(submit(req));
    client_.publish();
    Slot& s = slots_[ipc::rules::tag_slot_index(tag)];
    s.state = kPending;
    s.tag = tag;
    ++in_flight_;
    ++submitted_;
    f = {retain_ref(this), tag};
    work_.wake_all();
    return obj::would_block(req, done_);
}

// Submits req to the server (a write's bytes copied into an owned buffer): the tag, or why not
// (kWouldBlock when no buffer is free yet).
Result<uint32_t> Served::submit(Request& req) {
    ipc::Request r;
    r.opcode = abi::queue_opcode(req.op);
    r.length = static_cast<uint32_t>(req.buffer.length());
    r.args[0] = req.arg;
    if (req.buffer.length() == 0) {
        auto t = client_.submit(r);
        if (!t)
            return submit_failed(t.error());
        return *t;
    }
    if (client_.pooled_buffers() == 0 && (!collect() || gone_ || client_.pooled_buffers() == 0))
        return gone_ ? fail(Error::kPeerGone) : obj::would_block(req, done_);
    auto got = client_.acquire();
    if (!got)
        return obj::would_block(req, done_);
    if (req.op == abi::Op::kWrite || req.op == abi::Op::kSetMeta) {
        // On failure the buffer returns to the pool with *got.
        KEEL_TRY(req.buffer.copy_out_of(0, client_.bytes(*got).data(), req.buffer.length()));
    }
    // On failure the buffer stays in *got and returns to the pool with it.
    auto t = client_.submit(r, std::move(*got));
    if (!t)
        return submit_failed(t.error());
    return *t;
}

Result<uint64_t> Served::finish(Request& req, Forward& f) {
    Slot& s = slots_[ipc::rules::tag_slot_index(f.tag)];
    if (s.state == kPending && (!collect() || s.state == kPending))
        return obj::would_block(req, done_);
    const Result<uint64_t> result = answer(s, req);
    s.buffer.reset();
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
Result<uint64_t> Served::answer(const Slot& s, Request& req) {
    const auto ok = static_cast<uint16_t>(ipc::abi::Status::Ok);
    if (s.status == ok) {
        const bool reads =
            req.op == abi::Op::kRead || req.op == abi::Op::kPeek || req.op == abi::Op::kGetMeta;
        if (!reads || !s.buffer.valid())
            return s.value;
        // The server's value is its claim: never more than the caller's length comes back.
        const uint64_t n = s.value < req.buffer.length() ? s.value : req.buffer.length();
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

void Served::abandon_slow(Forward& f) {
    const RefPtr<Served> s = std::move(f.served);  // the in-flight reference, dropped on return
    Slot& slot = s->slots_[ipc::rules::tag_slot_index(f.tag)];
    if (slot.state == kDone) {
        slot.buffer.reset();
        slot.state = kFree;
        --s->in_flight_;
    } else if (slot.state == kPending) {
        slot.state = kOrphan;
        // The reserved credit makes this succeed while the server is there.
        (void)s->client_.cancel(0, f.tag);
        s->client_.publish();
        s->work_.wake_all();
    }
    f = {};
    s->done_.wake_all();
}

Result<uint64_t> Served::sync(bool wait, uint64_t deadline) {
    collect();
    while (wait && submitted_ == synced_ && !gone_) {
        // Woken by a submission (or the end of the service): the completions this server
        // posts meanwhile are collected by its next ServeSync.
        const sched::WakeReason why = sched::block(&work_, deadline);
        if (why == sched::WakeReason::kInterrupted)
            return fail(Error::kPeerGone);
        if (why == sched::WakeReason::kTimedOut)
            return fail(Error::kTimedOut);
    }
    const uint64_t n = submitted_ - synced_;
    synced_ = submitted_;
    return Result<uint64_t>(n);
}

}  // namespace keel::obj
