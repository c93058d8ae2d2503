#include "obj/served.hpp"

#include <ipc/layout.hpp>

#include <new>
#include <utility>

#include "mm/paging.hpp"
#include "obj/memory.hpp"
#include "obj/queue_geometry.hpp"
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

constexpr uint16_t kSlotMask = 0xffff;

Result<uint64_t> submit_failed(ipc::Error e) {
    return fail(e == ipc::Error::PeerGone ? Error::kPeerGone : Error::kProtocol);
}

}  // namespace

Served* served_of_port(Object& o) {
    return o.kind() == abi::Kind::kPort ? static_cast<Port&>(o).served() : nullptr;
}

Result<ObjectPair> Served::create(proc::Process& server, const abi::QueueGeometry& g,
                                  uint64_t* user_address, uint64_t* size) {
    // Capacity 2 at least: the kernel keeps one credit in reserve per forwarded operation for
    // its Cancel.
    ipc::Layout layout;
    KEEL_TRY(check_queue_geometry(g, 2, &layout));
    const ipc::Geometry geometry = layout.geometry;
    RefPtr<Served> s = adopt_ref(new (std::nothrow) Served);
    if (!s)
        return fail(Error::kNoMemory);
    s->server_ = &server;
    s->size_ = layout.total_size;
    const size_t storage_size = ipc::Client::private_size(geometry);
    s->storage_ = new (std::nothrow) std::byte[storage_size];
    s->slots_ = new (std::nothrow) Slot[g.capacity];
    if (s->storage_ == nullptr || s->slots_ == nullptr)
        return fail(Error::kNoMemory);
    s->region_ = KEEL_TRY(MemoryObject::create(s->size_));
    const auto window = s->region_->map_kernel_window();
    if (!window)
        return fail(Error::kNoMemory);
    s->window_ = *window;
    s->pages_ = s->region_->pages();
    // The kernel lays the queue out: it is the client. The server attaches to what it finds.
    if (!s->client_.create({s->window_.as<std::byte>(), s->size_}, {s->storage_, storage_size},
                           geometry)) {
        return fail(Error::kInvalidArgument);
    }
    s->created_ = true;
    RefPtr<Object> port = adopt_ref<Object>(new (std::nothrow) Port(s));
    if (!port)
        return fail(Error::kNoMemory);
    // On failure the port goes first (ending the service), then the served object.
    *user_address = KEEL_TRY(server.map_memory(*s->region_, 0, true, false));
    *size = s->size_;
    return ObjectPair{std::move(port), std::move(s)};
}

Served::~Served() {
    // Every slot is free here: a caller in flight holds a reference.
    delete[] slots_;
    if (created_)
        client_.close();
    if (pages_ != 0)
        mm::unmap_window(window_, pages_);
    delete[] storage_;
}

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
        Slot& s = slots_[r->tag & kSlotMask];
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
    if (f.served != nullptr && f.served.get() != this)
        abandon(f);
    // The server's completions are collected by its ServeSync; here only when they could
    // change the answer (no room for a new operation, or ours still pending), so the common
    // path never reads an empty completion ring.
    if (f.served == nullptr) {
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
        ipc::Request r;
        r.opcode = static_cast<uint16_t>(abi::kQueueOpBase + static_cast<uint16_t>(req.op));
        r.length = static_cast<uint32_t>(req.buffer.length());
        r.args[0] = req.arg;
        uint32_t tag = 0;
        if (req.buffer.length() > 0) {
            if (client_.pooled_buffers() == 0 &&
                (!collect() || gone_ || client_.pooled_buffers() == 0))
                return gone_ ? fail(Error::kPeerGone) : obj::would_block(req, done_);
            auto got = client_.acquire();
            if (!got)
                return obj::would_block(req, done_);
            if (req.op == abi::Op::kWrite || req.op == abi::Op::kSetMeta) {
                if (!req.buffer.copy_out_of(0, client_.bytes(*got).data(), req.buffer.length()))
                    return fail(Error::kBadAddress);  // the buffer returns to the pool
            }
            // On failure the buffer stays in *got and returns to the pool with it.
            auto t = client_.submit(r, std::move(*got));
            if (!t)
                return submit_failed(t.error());
            tag = *t;
        } else {
            auto t = client_.submit(r);
            if (!t)
                return submit_failed(t.error());
            tag = *t;
        }
        client_.publish();
        Slot& s = slots_[tag & kSlotMask];
        s.state = kPending;
        s.tag = tag;
        ++in_flight_;
        ++submitted_;
        f = {retain_ref(this), tag};
        work_.wake_all();
        return obj::would_block(req, done_);
    }
    Slot& s = slots_[f.tag & kSlotMask];
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
    if (s.status > abi::kQueueErrorBase &&
        s.status <= abi::kQueueErrorBase + static_cast<uint16_t>(Error::kProtocol) &&
        s.status != abi::kQueueErrorBase + static_cast<uint16_t>(Error::kWouldBlock)) {
        return fail(static_cast<Error>(s.status - abi::kQueueErrorBase));
    }
    return fail(Error::kProtocol);
}

void Served::abandon_slow(Forward& f) {
    const RefPtr<Served> s = std::move(f.served);  // the in-flight reference, dropped on return
    Slot& slot = s->slots_[f.tag & kSlotMask];
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
