// Client side of a queue. Every decision goes through rules.hpp (proved in spec/); this file
// only sequences them: check everything first, then commit with no way left to fail.
#include <bit>

#include <ipc/client.hpp>
#include <ipc/shared_access.hpp>

namespace keel::ipc {

namespace {

using U32 = std::uint32_t;

std::size_t align8(std::size_t n) {
    return (n + 7) & ~std::size_t(7);
}

}  // namespace

std::size_t Client::private_size(const Geometry& g) {
    return align8(sizeof(Slot) * g.capacity) + align8(sizeof(std::uint16_t) * g.capacity) +
           align8(g.buffer_count) + align8(sizeof(std::uint16_t) * g.buffer_count);
}

Result<void> Client::create(std::span<std::byte> shared, std::span<std::byte> storage,
                            const Geometry& g, std::uint32_t first_index) {
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

    view_ = *view;
    capacity_ = g.capacity;
    buffer_count_ = g.buffer_count;
    buffer_size_ = g.buffer_size;
    std::byte* p = storage.data();
    slots_ = reinterpret_cast<Slot*>(p);
    p += align8(sizeof(Slot) * g.capacity);
    free_slots_ = reinterpret_cast<std::uint16_t*>(p);
    p += align8(sizeof(std::uint16_t) * g.capacity);
    buf_state_ = reinterpret_cast<std::uint8_t*>(p);
    p += align8(g.buffer_count);
    pool_ = reinterpret_cast<std::uint16_t*>(p);

    for (U32 i = 0; i < capacity_; ++i) {
        slots_[i] = Slot{0, 0, abi::kNoBuffer, rules::kSlotFree, 0, {0, 0}};
        free_slots_[i] = std::uint16_t(capacity_ - 1 - i);  // slot 0 is handed out first
    }
    free_top_ = capacity_;
    for (U32 i = 0; i < buffer_count_; ++i) {
        buf_state_[i] = rules::kBufPooled;
        pool_[i] = std::uint16_t(buffer_count_ - 1 - i);
    }
    pool_top_ = buffer_count_;
    sq_tail_ = sq_head_seen_ = cq_head_ = cq_tail_seen_ = cq_drain_limit_ = first_index;
    prepared_tail_ = first_index - 1;  // nothing prepared
    outstanding_ = 0;

    auto* h = view_.header;
    write_word(&h->version, abi::kVersion);
    write_word(&h->header_size, sizeof(abi::QueueHeader));
    write_word(&h->capacity, g.capacity);
    write_word(&h->buffer_count, g.buffer_count);
    write_word(&h->buffer_size, g.buffer_size);
    write_word(&h->sq_entries, layout->sq_entries);
    write_word(&h->cq_entries, layout->cq_entries);
    write_word(&h->buffers, layout->buffers);
    write_word(&h->total_size, layout->total_size);
    shared_store(h->server_state, 0, std::memory_order_relaxed);
    for (auto* r : {view_.sq, view_.cq}) {
        shared_store(r->head.value, first_index, std::memory_order_relaxed);
        shared_store(r->tail.value, first_index, std::memory_order_relaxed);
    }
    shared_store(h->client_state, abi::kEndpointOpen, std::memory_order_relaxed);
    // The magic is written last, with release: a server that sees it sees the whole header.
    shared_store(h->magic, abi::kMagic, std::memory_order_release);
    mode_ = Mode::Open;
    return success();
}

Result<Buffer> Client::acquire() {
    U32 err = rules::acquire_error<U32>(
        0, [&] { return mode_ == Mode::Unset; }, [&] { return pool_top_ == 0; });
    if (err != 0)
        return fail(Error(err));
    std::uint16_t id = pool_[pool_top_ - 1];
    KEEL_IPC_ASSERT(id < buffer_count_ && rules::client_may_acquire<U32>(buf_state_[id]));
    --pool_top_;
    buf_state_[id] = rules::kBufInHand;
    return Buffer(this, id);
}

void Client::release_id(std::uint16_t id) {
    KEEL_IPC_ASSERT(id < buffer_count_ && rules::client_may_release<U32>(buf_state_[id]));
    buf_state_[id] = rules::kBufPooled;
    pool_[pool_top_++] = id;
}

Result<void> Client::release(Buffer&& buffer) {
    U32 err = rules::release_error<U32>(
        0, [&] { return !buffer.valid(); }, [&] { return buffer.owner_ != this; });
    if (err != 0)
        return fail(Error(err));
    buffer.reset();
    return success();
}

std::span<std::byte> Client::bytes(const Buffer& buffer) const {
    if (buffer.owner_ != this || buffer.id_ >= buffer_count_)
        return {};
    return {view_.buffers + std::size_t(buffer.id_) * buffer_size_, buffer_size_};
}

U32 Client::buffer_state(std::uint16_t id) const {
    return id < buffer_count_ ? buf_state_[id] : rules::kBufLent;
}

bool Client::server_closed() const {
    return view_.header != nullptr &&
           shared_load(view_.header->server_state, std::memory_order_acquire) ==
               abi::kEndpointClosed;
}

// IPC-R-030..031: only a buffer in hand, of this client, may be lent, with a length it holds.
// Checks only (rules::lend_error's); success when the buffer may go.
inline Result<void> Client::lend_check(const Buffer& buffer, std::uint32_t length) const {
    U32 err = rules::lend_error<U32>(
        0, [&] { return !buffer.valid(); }, [&] { return buffer.owner_ != this; },
        [&] { return buffer.id_ >= buffer_count_; },
        [&] { return !rules::client_may_lend<U32>(buf_state_[buffer.id_]); },
        [&] { return length > buffer_size_; });
    if (err != 0) [[unlikely]]
        return fail(Error(err));
    return success();
}

Result<std::uint32_t> Client::submit(const Request& request, Buffer&& buffer) {
    KEEL_TRY(lend_check(buffer, request.length));
    auto tag = push(request, buffer.id_, false);
    if (tag)
        buffer.forget();  // ownership moved with the submission (committed in push)
    return tag;
}

Result<std::uint32_t> Client::submit(const Request& request) {
    if (U32 err = rules::unlent_error<U32>(0, [&] { return request.length != 0; }))
        return fail(Error(err));
    return push(request, abi::kNoBuffer, false);
}

void Client::push_store(const PushCursor<U32>& k) {
    sq_tail_ = k.tail;
    sq_head_seen_ = k.head_seen;
    free_top_ = k.free_top;
    outstanding_ = k.outstanding;
}

// IPC-R-010/011 and 002/005 for one more submission, on the cursor: credit, then room (the
// consumer's head re-read, validated, only when the cached one says full). False changes
// nothing; the caller then reports the exact error through push_check.
template <class K>
[[gnu::always_inline]] inline bool Client::push_room(K& k) const {
    if (!rules::credit_ok<U32>(k.outstanding, k.capacity))
        return false;
    if (rules::ring_has_room<U32>(k.head_seen, k.tail, k.capacity)) [[likely]]
        return true;
    U32 head = shared_load(view_.sq->head.value, std::memory_order_acquire);
    if (!rules::ring_head_valid<U32>(k.head_seen, head, k.tail) ||
        !rules::ring_has_room<U32>(head, k.tail, k.capacity)) {
        return false;
    }
    k.head_seen = head;
    return true;
}

Result<std::uint32_t> Client::submit_batch(std::span<const Request> requests,
                                           std::span<std::uint32_t> tags) {
    if (!tags.empty() && tags.size() < requests.size())
        return fail(Error::InvalidArgument);
    if (requests.empty())
        return U32(0);
    U32 n = 0;
    if (mode_ == Mode::Open) [[likely]] {
        auto k = push_cursor<U32>();
        for (; n < requests.size(); ++n) {
            const Request& r = requests[n];
            if (r.length != 0 || r.opcode == std::uint16_t(abi::Op::Cancel) || !push_room(k))
                break;
            U32 tag = push_commit(k, r, abi::kNoBuffer, false);
            if (!tags.empty())
                tags[n] = tag;
        }
        push_store(k);
    }
    if (n != 0)
        return n;
    // The first request was refused: submit() says why (and changes nothing).
    auto t = submit(requests[0]);
    if (!t)
        return fail(t.error());
    if (!tags.empty())
        tags[0] = *t;
    return U32(1);
}

Result<std::uint32_t> Client::submit_batch(std::span<const Request> requests,
                                           std::span<Buffer> buffers,
                                           std::span<std::uint32_t> tags) {
    if (buffers.size() != requests.size() || (!tags.empty() && tags.size() < requests.size()))
        return fail(Error::InvalidArgument);
    if (requests.empty())
        return U32(0);
    U32 n = 0;
    if (mode_ == Mode::Open) [[likely]] {
        auto k = push_cursor<U32>();
        for (; n < requests.size(); ++n) {
            const Request& r = requests[n];
            Buffer& b = buffers[n];
            // lend_check's conditions (IPC-R-030..031), then push_check's.
            if (b.owner_ != this || b.id_ >= buffer_count_ ||
                !rules::client_may_lend<U32>(k.buf_state[b.id_]) || r.length > buffer_size_ ||
                r.opcode == std::uint16_t(abi::Op::Cancel) || !push_room(k)) {
                break;
            }
            U32 tag = push_commit(k, r, b.id_, false);
            b.forget();  // ownership moved with the submission
            if (!tags.empty())
                tags[n] = tag;
        }
        push_store(k);
    }
    if (n != 0)
        return n;
    // The first request was refused: submit() says why (and changes nothing).
    auto t = submit(requests[0], std::move(buffers[0]));
    if (!t)
        return fail(t.error());
    if (!tags.empty())
        tags[0] = *t;
    return U32(1);
}

Result<std::uint32_t> Client::cancel(std::uint64_t user_data, std::uint32_t target) {
    Request r;
    r.user_data = user_data;
    r.opcode = std::uint16_t(abi::Op::Cancel);
    r.args[0] = target;
    return push(r, abi::kNoBuffer, true);
}

Result<std::uint32_t> Client::cancel_user_data(std::uint64_t user_data, std::uint64_t target) {
    U32 tag = abi::kNoTag;
    for (U32 s = 0; s < capacity_; ++s) {
        const Slot& slot = slots_[s];
        if (slot.state == rules::kSlotLive && !slot.is_cancel && slot.user_data == target) {
            tag = rules::tag_make<U32>(s, slot.gen);
            break;
        }
    }
    return cancel(user_data, tag);
}

// Every check a submission needs beyond its buffer, in rules::push_error's order; success
// when it may be committed. Changes nothing on failure (not even the cached head); on success the
// head it re-read is kept, and the commit follows with no way left to fail.
[[gnu::always_inline]] inline Result<void> Client::push_check(std::uint16_t opcode,
                                                              bool is_cancel) {
    // The mode is tested once on the fast path (PeerGone is not Open), and the room once: the
    // head is re-read only when the ring looks full, and only then can the room change.
    bool refresh = false;
    U32 head = 0;
    U32 err = rules::push_error<U32>(
        0, [&] { return mode_ != Mode::Open && mode_ == Mode::PeerGone; },
        [&] { return mode_ != Mode::Open; },
        [&] { return !is_cancel && opcode == std::uint16_t(abi::Op::Cancel); },
        [&] { return !rules::credit_ok<U32>(outstanding_, capacity_); },
        [&] {
            refresh = !rules::ring_has_room<U32>(sq_head_seen_, sq_tail_, capacity_);
            if (!refresh) [[likely]]
                return false;
            head = shared_load(view_.sq->head.value, std::memory_order_acquire);
            return !rules::ring_head_valid<U32>(sq_head_seen_, head, sq_tail_);
        },
        [&] { return refresh && !rules::ring_has_room<U32>(head, sq_tail_, capacity_); });
    if (err != 0) [[unlikely]]
        return fail(Error(err));
    if (refresh)
        sq_head_seen_ = head;
    return success();
}

// The commit after the checks (push_check or push_room, and the lend checks for a buffer):
// cannot fail. Returns the tag.
template <class K>
[[gnu::always_inline]] inline U32 Client::push_commit(K& k, const Request& request,
                                                      std::uint16_t buffer, bool is_cancel) {
    U32 tag = take_slot(k, request.user_data, buffer, is_cancel);
    abi::Submission e{};
    e.user_data = request.user_data;
    e.tag = tag;
    e.opcode = request.opcode;
    e.buffer = buffer;
    e.object = request.object;
    e.length = request.length;
    e.offset = request.offset;
    e.args[0] = request.args[0];
    e.args[1] = request.args[1];
    e.args[2] = request.args[2];
    e.flags = request.flags;
    write_once(&k.sq[rules::ring_slot<U32>(k.tail, k.capacity)], e);
    ++k.tail;
    ++k.outstanding;
    return tag;
}

// Checks, then commits. Nothing is written before every check has passed.
Result<std::uint32_t> Client::push(const Request& request, std::uint16_t buffer, bool is_cancel) {
    KEEL_TRY(push_check(request.opcode, is_cancel));
    auto k = push_cursor<U32&>();
    return push_commit(k, request, buffer, is_cancel);
}

// prepare()'s refusal (client.hpp holds the fast path): submit()'s checks in submit()'s order
// say why; a full-looking ring re-reads the head, which may yet show room.
Result<abi::Submission*> Client::prepare_refused() {
    // The opcode is commit's to check: Nop passes push_check's Cancel test.
    KEEL_TRY(push_check(std::uint16_t(abi::Op::Nop), false));
    prepared_tail_ = sq_tail_;
    return &view_.sq_entries[rules::ring_slot<U32>(sq_tail_, capacity_)];
}

// commit()'s refusal (client.hpp holds the fast path): which check failed, as submit() orders
// them. Changes nothing. `buffer` is null for the form without one.
Result<std::uint32_t> Client::commit_refused(const abi::Submission* entry, std::uint16_t opcode,
                                             std::uint32_t length, const Buffer* buffer) const {
    if (buffer != nullptr) {
        KEEL_TRY(lend_check(*buffer, length));
    }
    if (mode_ != Mode::Open)
        return fail(mode_ == Mode::PeerGone ? Error::PeerGone : Error::Closed);
    KEEL_IPC_ASSERT(!commit_ok(entry, opcode));
    return fail(Error::InvalidArgument);
}

static_assert(std::endian::native == std::endian::little, "commit_entry merges fields by offset");

void Client::publish() {
    if (mode_ != Mode::Open)
        return;
    shared_store(view_.sq->tail.value, sq_tail_, std::memory_order_release);
}

void Client::free_slot(U32 slot) {
    Slot& s = slots_[slot];
    s.state = rules::kSlotFree;
    s.gen = std::uint16_t(rules::gen_next<U32>(s.gen));
    s.buffer = abi::kNoBuffer;
    free_slots_[free_top_++] = std::uint16_t(slot);
    --outstanding_;
}

Result<Reaped> Client::reap() {
    if (mode_ == Mode::Open) [[likely]]
        return reap_ring();
    if (mode_ == Mode::Unset)
        return fail(Error::Closed);
    if (!cq_drained_ && cq_head_ != cq_drain_limit_) {
        auto r = reap_ring();
        if (r)
            return r;
    }
    // The rest complete here, without the server. The drain ends only once a leftover is
    // handed out, so a reap that returns Empty changes nothing.
    auto r = reap_leftover();
    if (r)
        cq_drained_ = true;
    return r;
}

// The hot state of the reaping side (see PushCursor).
template <class Ref>
struct Client::ReapCursor {
    const abi::Completion* cq;
    Slot* slots;
    std::uint16_t* free_slots;
    std::uint8_t* buf_state;
    U32 capacity;
    Ref head;
    Ref free_top;
    Ref outstanding;
};

template <class Ref>
Client::ReapCursor<Ref> Client::reap_cursor() {
    return ReapCursor<Ref>{view_.cq_entries, slots_,   free_slots_, buf_state_,
                           capacity_,        cq_head_, free_top_,   outstanding_};
}

void Client::reap_store(const ReapCursor<U32>& k) {
    cq_head_ = k.head;
    free_top_ = k.free_top;
    outstanding_ = k.outstanding;
}

// The entries the ring holds for us: the cached tail if it says there are any, else the tail
// re-read (acquire) and validated, in `seen`. Commits nothing; the caller commits `seen`
// together with the first entry it accepts. Errors: Empty, ProtocolViolation.
[[gnu::always_inline]] inline Result<void> Client::cq_available(U32& seen) const {
    seen = cq_tail_seen_;
    if (rules::ring_has_entry<U32>(cq_head_, seen)) [[likely]]
        return success();
    // rules::reap_error's first three checks; the entries' own are consume()'s.
    U32 err = rules::reap_error<U32>(
        0, [&] { return mode_ != Mode::Open; },  // past the drain limit: not read again
        [&] {
            seen = shared_load(view_.cq->tail.value, std::memory_order_acquire);
            return !rules::ring_tail_valid<U32>(cq_head_, cq_tail_seen_, seen, capacity_);
        },
        [&] { return !rules::ring_has_entry<U32>(cq_head_, seen); }, [] { return false; },
        [] { return false; });
    if (err != 0)
        return fail(Error(err));
    return success();
}

// The completion at the cursor's head (known to be published): read once, validated, and only
// then committed: its slot freed, its buffer back in hand in `out.buffer` (whatever handle
// `out` held before is dropped first), the head advanced. The shared head is not stored: the
// caller does that once. False (a protocol violation) changes nothing.
template <class K>
[[gnu::always_inline]] inline bool Client::consume(K& k, Reaped& out) {
    // Read the entry once; validate the copy; use only the copy.
    const abi::Completion c = read_once(&k.cq[rules::ring_slot<U32>(k.head, k.capacity)]);
    if (!rules::completion_slot_in_range<U32>(c.tag, k.capacity)) {
        return false;
    }
    U32 slot = rules::tag_slot<U32>(c.tag);
    Slot& s = k.slots[slot];
    if (!rules::completion_matches<U32>(c.tag, s.state, s.gen, s.buffer, c.buffer) ||
        !rules::completion_status_valid<U32>(s.is_cancel, c.status)) {
        return false;
    }

    // ---- commit ----
    out.user_data = s.user_data;
    out.tag = c.tag;
    out.status = c.status;
    out.value = c.value;
    out.is_cancel = s.is_cancel != 0;
    if (s.buffer != abi::kNoBuffer) {
        k.buf_state[s.buffer] =
            std::uint8_t(rules::client_after_return<U32>(k.buf_state[s.buffer]));
        out.buffer = Buffer(this, s.buffer);
    } else if (out.buffer.valid()) [[unlikely]] {
        out.buffer.reset();
    }
    // The slot is free again (as free_slot does), with a new generation.
    s.state = rules::kSlotFree;
    s.gen = std::uint16_t(rules::gen_next<U32>(s.gen));
    s.buffer = abi::kNoBuffer;
    k.free_slots[k.free_top++] = std::uint16_t(slot);
    --k.outstanding;
    ++k.head;
    return true;
}

// One completion. The same decisions as consume() above, written out for a single entry: kept
// apart because building the Reaped in place here is what keeps reap() at its cost (consume()
// through a reference costs about 18 instructions more per call).
Result<Reaped> Client::reap_ring() {
    // rules::reap_error's checks. The tail is re-read only with no entry cached, and committed
    // below, once the entry has validated. The entry is read once; the checks validate the
    // copy, and only the copy is used.
    U32 seen = cq_tail_seen_;
    const bool cached = rules::ring_has_entry<U32>(cq_head_, cq_tail_seen_);
    abi::Completion c;
    Slot* sp = nullptr;
    U32 err = rules::reap_error<U32>(
        0, [&] { return !cached && mode_ != Mode::Open; },  // past the drain limit
        [&] {
            if (cached) [[likely]]
                return false;
            seen = shared_load(view_.cq->tail.value, std::memory_order_acquire);
            return !rules::ring_tail_valid<U32>(cq_head_, cq_tail_seen_, seen, capacity_);
        },
        [&] { return !rules::ring_has_entry<U32>(cq_head_, seen); },
        [&] {
            c = read_once(&view_.cq_entries[rules::ring_slot<U32>(cq_head_, capacity_)]);
            return !rules::completion_slot_in_range<U32>(c.tag, capacity_);
        },
        [&] {
            sp = &slots_[rules::tag_slot<U32>(c.tag)];
            return !rules::completion_matches<U32>(c.tag, sp->state, sp->gen, sp->buffer,
                                                   c.buffer) ||
                   !rules::completion_status_valid<U32>(sp->is_cancel, c.status);
        });
    if (err != 0)
        return fail(Error(err));
    U32 slot = rules::tag_slot<U32>(c.tag);
    Slot& s = *sp;

    // ---- commit ----
    cq_tail_seen_ = seen;
    Reaped out;
    out.user_data = s.user_data;
    out.tag = c.tag;
    out.status = c.status;
    out.value = c.value;
    out.is_cancel = s.is_cancel != 0;
    if (s.buffer != abi::kNoBuffer) {
        buf_state_[s.buffer] = std::uint8_t(rules::client_after_return<U32>(buf_state_[s.buffer]));
        out.buffer = Buffer(this, s.buffer);
    }
    free_slot(slot);
    ++cq_head_;
    shared_store(view_.cq->head.value, cq_head_, std::memory_order_release);
    return out;
}

Result<std::uint32_t> Client::reap_batch(std::span<Reaped> out) {
    if (mode_ != Mode::Open) [[unlikely]] {
        // Teardown (or before create): one at a time, exactly as reap() drains.
        U32 n = 0;
        for (; n < out.size(); ++n) {
            auto r = reap();
            if (!r) {
                if (n == 0)
                    return fail(r.error());
                break;
            }
            out[n] = std::move(*r);
        }
        return n;
    }
    if (out.empty())
        return U32(0);
    U32 seen;
    KEEL_TRY(cq_available(seen));
    auto k = reap_cursor<U32>();
    U32 avail = rules::ring_used<U32>(k.head, seen);
    const U32 limit = avail < out.size() ? avail : U32(out.size());
    Reaped* o = out.data();
    U32 n = 0;
    while (n < limit && consume(k, o[n]))
        ++n;
    // A bad entry after good ones stays where it is: the next call reports it, changing nothing.
    if (n == 0)
        return fail(Error::ProtocolViolation);
    reap_store(k);
    cq_tail_seen_ = seen;
    shared_store(view_.cq->head.value, cq_head_, std::memory_order_release);
    return n;
}

// After teardown: every operation the server never completed completes here, exactly once.
Result<Reaped> Client::reap_leftover() {
    // The cursor moves only when a leftover is handed out: an Empty reap changes nothing.
    for (U32 slot = leftover_cursor_; slot < capacity_; ++slot) {
        Slot& s = slots_[slot];
        if (s.state != rules::kSlotLive)
            continue;
        leftover_cursor_ = slot + 1;
        Reaped out;
        out.user_data = s.user_data;
        out.tag = rules::tag_make<U32>(slot, s.gen);
        out.status = mode_ == Mode::PeerGone ? std::uint16_t(rules::teardown_status<U32>(0))
                                             : std::uint16_t(abi::Status::Cancelled);
        out.is_cancel = s.is_cancel != 0;
        if (s.buffer != abi::kNoBuffer) {
            buf_state_[s.buffer] =
                std::uint8_t(rules::client_after_return<U32>(buf_state_[s.buffer]));
            out.buffer = Buffer(this, s.buffer);
        }
        free_slot(slot);
        return out;
    }
    return fail(Error::Empty);
}

// Teardown: the completion ring is drained up to the tail seen now (validated), then the
// remaining operations complete locally. The server's later writes are never read.
void Client::peer_gone() {
    if (mode_ != Mode::Open)
        return;
    U32 tail = shared_load(view_.cq->tail.value, std::memory_order_acquire);
    if (rules::ring_tail_valid<U32>(cq_head_, cq_tail_seen_, tail, capacity_)) {
        cq_tail_seen_ = tail;
    }
    cq_drain_limit_ = cq_tail_seen_;
    mode_ = Mode::PeerGone;
}

void Client::close() {
    if (mode_ == Mode::Unset || mode_ == Mode::PeerGone)
        return;  // gone already: PeerGone stands
    if (mode_ == Mode::Open) {
        U32 tail = shared_load(view_.cq->tail.value, std::memory_order_acquire);
        if (rules::ring_tail_valid<U32>(cq_head_, cq_tail_seen_, tail, capacity_)) {
            cq_tail_seen_ = tail;
        }
        cq_drain_limit_ = cq_tail_seen_;
        shared_store(view_.header->client_state, abi::kEndpointClosed, std::memory_order_release);
    }
    mode_ = Mode::Closed;
}

}  // namespace keel::ipc
