// Server side of a queue. Every value read from the shared region is read once, validated by
// rules.hpp, and only then used; every decision goes through rules.hpp (proved in spec/).
#include <cstddef>

#include <ipc/platform.hpp>
#include <ipc/rules.hpp>
#include <ipc/server.hpp>
#include <ipc/shared_access.hpp>

namespace keel::ipc {

namespace {

using U32 = std::uint32_t;

std::size_t align8(std::size_t n) {
    return (n + 7) & ~std::size_t(7);
}

}  // namespace

std::size_t Server::private_size(const Geometry& g) {
    return align8(sizeof(OpRecord) * g.capacity) + 2 * align8(sizeof(std::uint16_t) * g.capacity) +
           align8(g.buffer_count);
}

Result<void> Server::attach(std::span<std::byte> shared, std::span<std::byte> storage,
                            const Geometry& g, std::uint16_t op_limit) {
    if (mode_ != Mode::Unset)
        return fail(Error::InvalidArgument);
    auto layout = Layout::compute(g);
    if (!layout)
        return fail(layout.error());
    if (storage.size() < private_size(g) || reinterpret_cast<std::uintptr_t>(storage.data()) % 8) {
        return fail(Error::InvalidArgument);
    }
    auto view = QueueView::map(shared, *layout);
    if (!view)
        return fail(view.error());

    // The header is the client's: compare each field once against our own layout.
    auto* h = view->header;
    if (shared_load(h->magic, std::memory_order_acquire) != abi::kMagic) {
        return fail(Error::BadLayout);
    }
    if (read_word(&h->version) != abi::kVersion ||
        read_word(&h->header_size) != sizeof(abi::QueueHeader) ||
        read_word(&h->capacity) != g.capacity || read_word(&h->buffer_count) != g.buffer_count ||
        read_word(&h->buffer_size) != g.buffer_size ||
        read_word(&h->sq_entries) != layout->sq_entries ||
        read_word(&h->cq_entries) != layout->cq_entries ||
        read_word(&h->buffers) != layout->buffers ||
        read_word(&h->total_size) != layout->total_size) {
        return fail(Error::BadLayout);
    }
    // Start from the counters as they are (a client may have published already); each is
    // validated like any later value. Checked before anything is committed, so a failed
    // attach leaves this Server as it was.
    U32 sq_head = shared_load(view->sq->head.value, std::memory_order_acquire);
    U32 cq_tail = shared_load(view->cq->tail.value, std::memory_order_acquire);
    U32 cq_head = shared_load(view->cq->head.value, std::memory_order_acquire);
    if (!rules::ring_head_valid<U32>(cq_tail, cq_head, cq_tail))
        return fail(Error::BadLayout);

    view_ = *view;
    capacity_ = g.capacity;
    buffer_count_ = g.buffer_count;
    buffer_size_ = g.buffer_size;
    op_limit_ = op_limit;
    std::byte* p = storage.data();
    ops_ = reinterpret_cast<OpRecord*>(p);
    p += align8(sizeof(OpRecord) * g.capacity);
    free_ops_ = reinterpret_cast<std::uint16_t*>(p);
    p += align8(sizeof(std::uint16_t) * g.capacity);
    fifo_ = reinterpret_cast<std::uint16_t*>(p);
    p += align8(sizeof(std::uint16_t) * g.capacity);
    held_ = reinterpret_cast<std::uint8_t*>(p);
    for (U32 i = 0; i < capacity_; ++i) {
        ops_[i] = OpRecord{};
        ops_[i].state = rules::kOpFree;
        free_ops_[i] = std::uint16_t(capacity_ - 1 - i);
    }
    free_top_ = capacity_;
    for (U32 i = 0; i < buffer_count_; ++i)
        held_[i] = rules::kHeldNo;
    sq_head_ = sq_tail_seen_ = sq_head;
    cq_tail_ = cq_head_seen_ = cq_published_ = cq_tail;
    fifo_head_ = fifo_tail_ = 0;
    ops_live_ = queued_ = taken_ = 0;
    shared_store(h->server_state, abi::kEndpointOpen, std::memory_order_release);
    mode_ = Mode::Open;
    return success();
}

U32 Server::live() const {
    return ops_live_ + rules::ring_used<U32>(cq_head_seen_, cq_tail_);
}

U32 Server::buffer_held(std::uint16_t id) const {
    return id < buffer_count_ ? held_[id] : rules::kHeldNo;
}

bool Server::client_closed() const {
    return view_.header != nullptr &&
           shared_load(view_.header->client_state, std::memory_order_acquire) ==
               abi::kEndpointClosed;
}

// Reads the client's completion-ring head; false (and nothing changed) if it is impossible.
bool Server::refresh_cq_head() {
    U32 head = shared_load(view_.cq->head.value, std::memory_order_acquire);
    if (!rules::ring_head_valid<U32>(cq_head_seen_, head, cq_tail_))
        return false;
    cq_head_seen_ = head;
    return true;
}

// One submission: its head already copied out of shared memory, the rest still there.
// Holds one credit on entry.
[[gnu::always_inline]] inline void Server::accept(const abi::SubmissionHead& e,
                                                  const abi::Submission* shared) {
    U32 opcode = e.opcode;
    U32 buffer = e.buffer;
    bool buffer_ok = rules::buffer_id_in_range<U32>(buffer, buffer_count_) &&
                     rules::server_may_hold<U32>(
                         buffer, buffer == abi::kNoBuffer ? U32(rules::kHeldNo) : held_[buffer]);
    // A rejected submission returns its buffer only if that buffer was the client's to lend.
    std::uint16_t back = buffer_ok ? std::uint16_t(buffer) : abi::kNoBuffer;
    if (opcode == U32(abi::Op::Cancel)) {
        if (buffer != abi::kNoBuffer) {
            post(e.tag, std::uint16_t(abi::Status::BadRequest), back, 0);
            return;
        }
        accept_cancel(e.tag, read_word(&shared->args[0]));
        return;
    }
    bool length_ok = buffer == abi::kNoBuffer ? e.length == 0 : e.length <= buffer_size_;
    if (!buffer_ok || !length_ok) {
        post(e.tag, std::uint16_t(abi::Status::BadRequest), back, 0);
        return;
    }
    if (opcode == U32(abi::Op::Nop)) {
        post(e.tag, std::uint16_t(abi::Status::Ok), back, 0);
        return;
    }
    if (opcode < abi::kFirstServiceOp || opcode >= op_limit_) {
        post(e.tag, std::uint16_t(abi::Status::BadRequest), back, 0);
        return;
    }
    // Credit guarantees a free record: live() < capacity and ops_live_ <= live().
    KEEL_IPC_ASSERT(free_top_ > 0);
    U32 id = free_ops_[--free_top_];
    OpRecord& op = ops_[id];
    KEEL_IPC_ASSERT(op.state == rules::kOpFree);
    // The protocol's fields from the head already read, the service's straight from the ring.
    // The builtin: expanded inline in every environment (a freestanding build would call
    // lib/c's memcpy for std::memcpy).
    __builtin_memcpy(&op.request, &e, sizeof e);
    read_once_into(reinterpret_cast<abi::SubmissionRest*>(&op.request.offset),
                   reinterpret_cast<const abi::SubmissionRest*>(&shared->offset));
    op.state = rules::kOpQueued;
    op.cancel_flag = 0;
    if (buffer != abi::kNoBuffer)
        held_[buffer] = rules::kHeldYes;
    fifo_[rules::ring_slot<U32>(fifo_tail_++, capacity_)] = std::uint16_t(id);
    ++ops_live_;
    ++queued_;
}

Result<U32> Server::poll() {
    U32 tail = 0;
    U32 err = rules::poll_error<U32>(
        0, [&] { return mode_ == Mode::ClientGone; }, [&] { return mode_ != Mode::Open; },
        [&] { return client_closed(); },
        [&] {
            tail = shared_load(view_.sq->tail.value, std::memory_order_acquire);
            return !rules::ring_tail_valid<U32>(sq_head_, sq_tail_seen_, tail, capacity_);
        },
        // The client's completion head only adds credit: read it (a shared line the client
        // writes at every reap) only when the credit as last seen cannot take every visible
        // entry.
        [&] {
            return !rules::credit_covers<U32>(live(), rules::ring_used<U32>(sq_head_, tail),
                                              capacity_) &&
                   !refresh_cq_head();
        });
    if (err != 0) [[unlikely]]
        return fail(Error(err));
    sq_tail_seen_ = tail;

    U32 drained = 0;
    while (rules::ring_has_entry<U32>(sq_head_, sq_tail_seen_) &&
           rules::credit_ok<U32>(live(), capacity_)) {
        const abi::Submission* shared =
            &view_.sq_entries[rules::ring_slot<U32>(sq_head_, capacity_)];
        // The protocol's fields once; the service's (40 bytes) only for an operation that
        // queues, straight into its record: no byte is read twice.
        const abi::SubmissionHead e =
            read_once(reinterpret_cast<const abi::SubmissionHead*>(shared));
        ++sq_head_;
        accept(e, shared);
        ++drained;
    }
    if (drained != 0) {
        shared_store(view_.sq->head.value, sq_head_, std::memory_order_release);
        publish();
    }
    return drained;
}

void Server::accept_cancel(U32 tag, std::uint64_t target_tag) {
    // Find the target among accepted, uncompleted operations. Tags are the client's: a
    // hostile client may repeat one; the lowest-numbered record wins, which harms only that client.
    U32 found = 0;
    U32 target = 0;
    if (target_tag <= 0xFFFF'FFFFu) {
        for (U32 i = 0; i < capacity_; ++i) {
            if (ops_[i].state != rules::kOpFree && ops_[i].request.tag == U32(target_tag)) {
                found = 1;
                target = i;
                break;
            }
        }
    }
    auto out = rules::resolve_cancel<U32>(found, found ? U32(ops_[target].state) : 0);
    if (out.target_completes != 0) {
        OpRecord& op = ops_[target];
        // Remove the target from the queue of operations waiting for take().
        U32 n = fifo_tail_ - fifo_head_;
        U32 at = 0;
        while (at < n && fifo_[rules::ring_slot<U32>(fifo_head_ + at, capacity_)] != target)
            ++at;
        KEEL_IPC_ASSERT(at < n);
        for (; at + 1 < n; ++at) {
            fifo_[rules::ring_slot<U32>(fifo_head_ + at, capacity_)] =
                fifo_[rules::ring_slot<U32>(fifo_head_ + at + 1, capacity_)];
        }
        --fifo_tail_;
        --queued_;
        post(op.request.tag, std::uint16_t(abi::Status::Cancelled), op.request.buffer, 0);
        free_op(target);
    }
    ops_[target].state = found ? std::uint8_t(out.target_state) : ops_[target].state;
    if (out.target_flag != 0)
        ops_[target].cancel_flag = 1;
    post(tag, std::uint16_t(out.cancel_status), std::uint16_t(out.cancel_buffer), 0);
}

void Server::post(U32 tag, std::uint16_t status, std::uint16_t buffer, std::uint64_t value) {
    // Credit was reserved when the submission was accepted, so the ring has room as far as
    // we know the client's head; a stale head can only make it look fuller.
    if (!rules::ring_has_room<U32>(cq_head_seen_, cq_tail_, capacity_)) {
        KEEL_IPC_ASSERT(false && "completion ring full despite credit");
    }
    abi::Completion c{tag, status, buffer, value};
    write_once(&view_.cq_entries[rules::ring_slot<U32>(cq_tail_, capacity_)], c);
    ++cq_tail_;
}

void Server::free_op(U32 id) {
    OpRecord& op = ops_[id];
    if (op.request.buffer != abi::kNoBuffer)
        held_[op.request.buffer] = rules::kHeldNo;
    op.state = rules::kOpFree;
    op.cancel_flag = 0;
    op.gen = std::uint16_t(rules::gen_next<U32>(op.gen));
    free_ops_[free_top_++] = std::uint16_t(id);
    --ops_live_;
}

Result<U32> Server::take_id() {
    U32 err = rules::take_error<U32>(
        0, [&] { return mode_ != Mode::Open; }, [&] { return fifo_head_ == fifo_tail_; });
    if (err != 0)
        return fail(Error(err));
    U32 id = fifo_[rules::ring_slot<U32>(fifo_head_++, capacity_)];
    OpRecord& op = ops_[id];
    KEEL_IPC_ASSERT(rules::server_may_take<U32>(op.state));
    op.state = rules::kOpTaken;
    --queued_;
    ++taken_;
    return rules::op_handle<U32>(id, op.gen);
}

Result<U32> Server::take_batch(std::span<U32> handles) {
    // take()'s checks; an empty span asks for nothing, and gets it once the mode allows.
    const U32 avail = fifo_tail_ - fifo_head_;
    U32 err = rules::take_error<U32>(
        0, [&] { return mode_ != Mode::Open; }, [&] { return avail == 0 && !handles.empty(); });
    if (err != 0)
        return fail(Error(err));
    if (handles.empty())
        return U32(0);
    const U32 n = avail < handles.size() ? avail : U32(handles.size());
    U32 head = fifo_head_;
    for (U32 i = 0; i < n; ++i) {
        U32 id = fifo_[rules::ring_slot<U32>(head++, capacity_)];
        OpRecord& op = ops_[id];
        KEEL_IPC_ASSERT(rules::server_may_take<U32>(op.state));
        op.state = rules::kOpTaken;
        handles[i] = rules::op_handle<U32>(id, op.gen);
    }
    fifo_head_ = head;
    queued_ -= n;
    taken_ += n;
    return n;
}

Result<Operation> Server::take() {
    auto handle = take_id();
    if (!handle)
        return fail(handle.error());
    return Operation{*handle, ops_[rules::op_record<U32>(*handle)].request};
}

void Server::request_not_current() const {
    platform_panic("ipc: Server::request: not the handle of a taken operation");
}

Result<void> Server::complete(U32 handle, std::uint16_t status, std::uint64_t value) {
    U32 id = rules::op_record<U32>(handle);
    U32 err = rules::complete_error<U32>(
        0, [&] { return mode_ == Mode::Unset; }, [&] { return id >= capacity_; },
        // Taken, and of the handle's generation: a second complete of the same handle, or an
        // old handle whose record now serves another operation, changes nothing (IPC-R-054).
        [&] { return !rules::server_handle_current<U32>(handle, ops_[id].state, ops_[id].gen); },
        [&] { return !rules::completion_status_valid<U32>(0, status); },
        // Only a stale view of the client's head can get here; the credit says there is room.
        [&] {
            return mode_ == Mode::Open &&
                   !rules::ring_has_room<U32>(cq_head_seen_, cq_tail_, capacity_) &&
                   !refresh_cq_head();
        });
    if (err != 0)
        return fail(Error(err));
    OpRecord& op = ops_[id];
    if (mode_ == Mode::Open) {
        post(op.request.tag, status, op.request.buffer, value);
    }
    --taken_;
    free_op(id);
    return success();
}

Result<U32> Server::complete_batch(std::span<const Done> done) {
    if (done.empty())
        return U32(0);
    if (mode_ != Mode::Open) [[unlikely]] {
        // Unset or after client_gone() / close(): one at a time, exactly as complete() does.
        U32 n = 0;
        for (; n < done.size(); ++n) {
            auto r = complete(done[n].op, done[n].status, done[n].value);
            if (!r) {
                if (n == 0)
                    return fail(r.error());
                break;
            }
        }
        return n;
    }
    // Room for the whole batch, checked once. Every operation being completed holds a credit,
    // so only a stale view of the client's head can make the batch look too big: it is re-read
    // once. complete() re-reads it only when the ring looks full, so an impossible head ends
    // the batch where complete() would refuse, not earlier: at the room seen before. With no
    // room at all, complete() below says why the first one is refused, in its order (a stale
    // handle is NotOwner before the head is read).
    U32 n = done.size() < capacity_ ? U32(done.size()) : capacity_;  // at most capacity taken
    const U32 head_before = cq_head_seen_;  // a refused batch keeps even the cached head
    U32 room = capacity_ - rules::ring_used<U32>(cq_head_seen_, cq_tail_);
    if (room < n) {
        if (refresh_cq_head())
            room = capacity_ - rules::ring_used<U32>(cq_head_seen_, cq_tail_);
        n = room < n ? room : n;
    }
    U32 i = 0;
    U32 tail = cq_tail_;
    for (; i < n; ++i) {
        const Done& d = done[i];
        U32 id = rules::op_record<U32>(d.op);
        if (id >= capacity_)
            break;
        OpRecord& op = ops_[id];
        if (!rules::server_handle_current<U32>(d.op, op.state, op.gen) ||
            !rules::completion_status_valid<U32>(0, d.status)) {
            break;
        }
        abi::Completion c{op.request.tag, d.status, op.request.buffer, d.value};
        write_once(&view_.cq_entries[rules::ring_slot<U32>(tail, capacity_)], c);
        ++tail;
        --taken_;
        free_op(id);
    }
    cq_tail_ = tail;
    if (i != 0)
        return i;
    // The first one was refused (or did not fit): complete() says why, changing nothing.
    cq_head_seen_ = head_before;
    auto r = complete(done[0].op, done[0].status, done[0].value);
    if (!r)
        return fail(r.error());
    return U32(1);
}

std::span<std::byte> Server::bytes(const Operation& op) const {
    // Only a current handle views anything, and then through the server's own validated copy
    // of the request: after complete() the buffer is the client's again.
    if (!current(op.id))
        return {};
    const abi::Submission& r = ops_[rules::op_record<U32>(op.id)].request;
    if (r.buffer == abi::kNoBuffer || r.buffer >= buffer_count_)
        return {};
    std::uint32_t length = r.length <= buffer_size_ ? r.length : 0;
    return {view_.buffers + std::size_t(r.buffer) * buffer_size_, length};
}

bool Server::cancel_requested(U32 handle) const {
    return current(handle) && ops_[rules::op_record<U32>(handle)].cancel_flag != 0;
}

void Server::publish() {
    if (mode_ != Mode::Open || cq_published_ == cq_tail_)
        return;
    shared_store(view_.cq->tail.value, cq_tail_, std::memory_order_release);
    cq_published_ = cq_tail_;
}

void Server::client_gone() {
    if (mode_ != Mode::Open)
        return;
    while (fifo_head_ != fifo_tail_) {
        U32 id = fifo_[rules::ring_slot<U32>(fifo_head_++, capacity_)];
        --queued_;
        free_op(id);
    }
    for (U32 i = 0; i < capacity_; ++i) {
        if (ops_[i].state == rules::kOpTaken)
            ops_[i].cancel_flag = 1;
    }
    mode_ = Mode::ClientGone;
}

void Server::close() {
    if (mode_ == Mode::Unset || mode_ == Mode::Closed)
        return;
    shared_store(view_.header->server_state, abi::kEndpointClosed, std::memory_order_release);
    mode_ = Mode::Closed;
}

}  // namespace keel::ipc
