// Client: the submitting side of a queue. Creates the queue in a shared region, lends owned
// buffers with submissions, reaps completions, cancels, and tears down.
//
// Threading: one thread at a time per Client (single producer of submissions, single consumer
// of completions). A Client is neither copyable nor movable: Buffers point back at it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <ipc/abi.hpp>
#include <ipc/buffer.hpp>
#include <ipc/layout.hpp>
#include <ipc/platform.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>
#include <ipc/shared_access.hpp>

namespace keel::ipc {

// What to ask of the server. The protocol interprets only `opcode` (Nop, Cancel, or a service
// opcode) and the buffer; the rest travels unchanged to the service.
struct Request {
    std::uint64_t user_data = 0;
    std::uint16_t opcode = 0;
    std::uint32_t object = 0;
    std::uint32_t length = 0;  // bytes of the lent buffer the operation may use (<= buffer size)
    std::uint64_t offset = 0;
    std::uint64_t args[3] = {0, 0, 0};
    std::uint32_t flags = 0;
};

// One finished operation, as reap() hands it out.
struct Reaped {
    std::uint64_t user_data = 0;
    std::uint32_t tag = 0;
    std::uint16_t status = 0;  // abi::Status or a service status
    std::uint64_t value = 0;
    bool is_cancel = false;  // this completes a Cancel request, not an operation
    Buffer buffer;           // the lent buffer, back with its operation's completion; else empty
};

class Client {
  public:
    // Private bookkeeping, one record per pending slot. Public only for sizing.
    struct Slot {
        std::uint64_t user_data;
        std::uint16_t gen;
        std::uint16_t buffer;
        std::uint8_t state;      // rules::kSlotFree / kSlotLive
        std::uint8_t is_cancel;  // 1 if this slot is a Cancel request
        std::uint8_t pad[2];
    };

    Client() = default;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Bytes of private storage create() needs for this geometry (8-byte aligned).
    static std::size_t private_size(const Geometry& g);

    // Lays out a new queue in `shared` (header written last) and takes every buffer into the
    // client's pool. All four ring counters start at `first_index` (tests start them near 2^32
    // to cross the wrap). Cost: O(capacity + buffers). Errors: InvalidArgument (bad geometry,
    // private storage too small or misaligned), BadLayout (shared region too small or not
    // 64-byte aligned).
    Result<void> create(std::span<std::byte> shared, std::span<std::byte> storage,
                        const Geometry& g, std::uint32_t first_index = 0);

    // Takes a buffer from the pool. O(1). Errors: Empty (every buffer is in hand or lent),
    // Closed (before create()). After teardown buffers can still be taken and released, but
    // no longer submitted.
    Result<Buffer> acquire();
    // Puts a buffer in hand back into the pool. O(1). Errors: InvalidBuffer (empty handle),
    // NotOwner (another client's buffer). On error the handle is left untouched.
    Result<void> release(Buffer&& buffer);
    // The bytes of a buffer in hand; empty span for an empty or foreign handle. The server may
    // have written them: treat their contents as untrusted input.
    std::span<std::byte> bytes(const Buffer& buffer) const;

    // Queues an operation; it becomes visible to the server at the next publish(). With a
    // buffer, ownership moves to the queue and the handle is emptied; on any error nothing
    // changes and the handle keeps the buffer. Returns the submission's tag. O(1).
    // Errors: Closed / PeerGone (endpoint torn down), NoCredit (capacity operations pending:
    // reap first), InvalidBuffer, NotOwner, InvalidArgument (length > buffer size, or opcode
    // Cancel: use cancel()), RingFull (server's head invalid or stalled), ProtocolViolation.
    Result<std::uint32_t> submit(const Request& request, Buffer&& buffer);
    Result<std::uint32_t> submit(const Request& request);

    // Batched submission: queues requests[0], requests[1], ... in order, each exactly as
    // submit(requests[i]) would (the second form lends buffers[i] with requests[i], as
    // submit(requests[i], std::move(buffers[i])) would), and stops at the first one submit()
    // would refuse: that one and the rest are left untouched (their handles keep their
    // buffers). Writes each tag to tags[i] when `tags` is not empty. Returns how many were
    // queued, a prefix of the span; 0 only for an empty span. O(n); one call for the batch,
    // the checks stay per request. Make them visible with publish().
    // Errors (nothing changed): the first request's error, as submit(); InvalidArgument when
    // `buffers` does not match `requests` in size or `tags` is shorter.
    Result<std::uint32_t> submit_batch(std::span<const Request> requests,
                                       std::span<std::uint32_t> tags = {});
    Result<std::uint32_t> submit_batch(std::span<const Request> requests, std::span<Buffer> buffers,
                                       std::span<std::uint32_t> tags = {});

    // In-place submission (as io_uring_get_sqe): prepare() makes the checks of submit() that
    // do not depend on the request (the endpoint open, credit, room in the ring; IPC-R-002..005,
    // 010..011) and hands out the ring entry the next submission will occupy. The caller writes
    // the service's fields straight into it (object, offset, args, flags: fields it leaves alone
    // keep this client's own earlier bytes), then commit() passes the fields the protocol reads
    // (user_data, opcode, length, buffer) as arguments, checks them as submit() would, writes
    // them and the tag into the entry and queues it: nothing is read back from shared memory
    // and no 64-byte copy is made. Make it visible with publish().
    // prepare(): O(1). Errors: Closed / PeerGone, NoCredit, RingFull, ProtocolViolation, as
    // submit(); it changes nothing but the cached head it may re-read (validated) and the
    // private record of the tail it prepared at.
    Result<abi::Submission*> prepare();
    // commit(): `entry` must be the one prepare() handed out, with no submission since. What is
    // checked is that the last prepare() was at the current tail (the client keeps that tail)
    // and `entry` is its slot, with credit and room (else InvalidArgument): an entry prepared
    // before a submission, even one whose slot came round again a full lap later, is refused
    // (spec/ipc.md; told apart until the tail has moved 2^32 times since).
    // The rest as submit(request, buffer) / submit(request): with a buffer, ownership moves to
    // the queue and the handle is emptied. Errors: Closed / PeerGone (torn down since prepare),
    // InvalidArgument (the entry, opcode Cancel, a length without a buffer or longer than it),
    // InvalidBuffer, NotOwner. On error nothing changes (the entry holds what the caller wrote,
    // beyond the tail: never published). Returns the tag. O(1).
    Result<std::uint32_t> commit(abi::Submission* entry, std::uint64_t user_data,
                                 std::uint16_t opcode, std::uint32_t length, Buffer&& buffer);
    Result<std::uint32_t> commit(abi::Submission* entry, std::uint64_t user_data,
                                 std::uint16_t opcode);

    // Asks the server to cancel the pending operation with tag `target`. The Cancel is a
    // submission of its own (it takes one credit) and completes with Ok (target was queued: it
    // completes with Cancelled and returns its buffer), InProgress (target already taken: it
    // completes later, normally) or NotFound. O(1). Errors: as submit().
    Result<std::uint32_t> cancel(std::uint64_t user_data, std::uint32_t target);
    // The same, naming the target by its user_data (the first live operation that has it).
    // O(capacity). An unknown user_data is still sent, and completes with NotFound.
    Result<std::uint32_t> cancel_user_data(std::uint64_t user_data, std::uint64_t target);

    // Makes every queued submission visible to the server (one release store). O(1).
    void publish();

    // Takes the next completion. O(1). The completion's buffer, if any, is back in hand.
    // Errors: Empty; ProtocolViolation (the server wrote an index or entry that cannot be: a
    // bad tag, a duplicate or stale completion, the wrong buffer, an impossible status); the
    // state is unchanged and the caller should tear down with peer_gone().
    // After peer_gone() or close(): first the completions the server had already posted (and
    // that validate), then one completion per remaining operation, PeerGone or Cancelled, each
    // with its buffer; then Empty.
    Result<Reaped> reap();

    // Batched reap: takes up to out.size() completions into out[0..n), each exactly as reap()
    // would hand it out, with one read of the completion tail (only when the cached one says
    // empty) and one store of the head for the whole batch. Whatever buffer an entry of `out`
    // held before is returned to the pool (as if dropped). Returns n; 0 only for an empty span.
    // O(n). A completion that fails validation after good ones ends the batch and stays in
    // the ring: the next call reports it. Errors (nothing changed): Empty, ProtocolViolation,
    // Closed, as reap(). After teardown it drains exactly as reap() does.
    Result<std::uint32_t> reap_batch(std::span<Reaped> out);

    // The server closed or died. From now on submissions fail with PeerGone and reap() drains
    // as described above. Idempotent. O(1).
    void peer_gone();
    // This side closes: announces it in the shared header; pending operations complete with
    // Cancelled through reap(). Idempotent. O(1).
    void close();

    std::uint32_t capacity() const { return capacity_; }
    std::uint32_t outstanding() const { return outstanding_; }  // accepted, not yet reaped
    std::uint32_t credit() const { return capacity_ - outstanding_; }
    std::uint32_t buffer_count() const { return buffer_count_; }
    std::uint32_t buffer_size() const { return buffer_size_; }
    std::uint32_t pooled_buffers() const { return pool_top_; }
    // Owner of a buffer as this client sees it (rules::kBufPooled / kBufInHand / kBufLent).
    std::uint32_t buffer_state(std::uint16_t id) const;
    // True once the server announced closing in the shared header.
    bool server_closed() const;
    bool torn_down() const { return mode_ != Mode::Open; }

    // Counters as this side knows them (for tests and the spec's trace checker).
    std::uint32_t sq_tail() const { return sq_tail_; }
    std::uint32_t cq_head() const { return cq_head_; }

  private:
    friend class Buffer;
    friend struct testing::StateAccess;  // spec/src/refinement.cpp: test-only state access
    enum class Mode : std::uint8_t { Unset, Open, PeerGone, Closed };

    Result<std::uint32_t> push(const Request& request, std::uint16_t buffer, bool is_cancel);
    Result<void> lend_check(const Buffer& buffer, std::uint32_t length) const;
    // The hot state, as locals for one batched call or as the members (client.cpp).
    template <class Ref>
    struct PushCursor;
    template <class Ref>
    struct ReapCursor;
    template <class Ref>
    PushCursor<Ref> push_cursor();
    void push_store(const PushCursor<std::uint32_t>& k);
    template <class K>
    bool push_room(K& k) const;
    Result<void> push_check(std::uint16_t opcode, bool is_cancel);
    template <class K>
    std::uint32_t push_commit(K& k, const Request& request, std::uint16_t buffer, bool is_cancel);
    template <class K>
    std::uint32_t take_slot(K& k, std::uint64_t user_data, std::uint16_t buffer, bool is_cancel);
    // In-place submission: the fast paths are inline (below the class); the refusals, which
    // say why and change nothing, are in client.cpp.
    bool commit_ok(const abi::Submission* entry, std::uint16_t opcode) const;
    std::uint32_t commit_entry(abi::Submission* entry, std::uint64_t user_data,
                               std::uint16_t opcode, std::uint32_t length, std::uint16_t buffer);
    Result<abi::Submission*> prepare_refused();
    Result<std::uint32_t> commit_refused(const abi::Submission* entry, std::uint16_t opcode,
                                         std::uint32_t length, const Buffer* buffer) const;
    template <class Ref>
    ReapCursor<Ref> reap_cursor();
    void reap_store(const ReapCursor<std::uint32_t>& k);
    Result<void> cq_available(std::uint32_t& seen) const;
    template <class K>
    bool consume(K& k, Reaped& out);
    Result<Reaped> reap_ring();
    Result<Reaped> reap_leftover();
    void release_id(std::uint16_t id);
    void free_slot(std::uint32_t slot);

    QueueView view_{};
    Mode mode_ = Mode::Unset;
    std::uint32_t capacity_ = 0;
    std::uint32_t buffer_count_ = 0;
    std::uint32_t buffer_size_ = 0;
    // Submission ring: we produce.
    std::uint32_t sq_tail_ = 0;
    std::uint32_t sq_head_seen_ = 0;
    std::uint32_t prepared_tail_ = 0;  // the tail of the last prepare(); != sq_tail_: none
    // Completion ring: we consume.
    std::uint32_t cq_head_ = 0;
    std::uint32_t cq_tail_seen_ = 0;
    std::uint32_t cq_drain_limit_ = 0;  // after teardown: reap the ring up to here only
    bool cq_drained_ = false;
    std::uint32_t outstanding_ = 0;
    std::uint32_t leftover_cursor_ = 0;
    // Private storage.
    Slot* slots_ = nullptr;                // [capacity]
    std::uint16_t* free_slots_ = nullptr;  // [capacity] stack of free slot numbers
    std::uint32_t free_top_ = 0;
    std::uint8_t* buf_state_ = nullptr;  // [buffer_count] rules::kBuf*
    std::uint16_t* pool_ = nullptr;      // [buffer_count] stack of pooled buffer ids
    std::uint32_t pool_top_ = 0;
};

// ---- in-place submission: the fast paths, inline so that a caller's loop of prepare/commit
// compiles to the stores themselves. The mutant-adequacy builds (proptest/, fuzz/, spec/)
// compile every harness against the mutated copy of these headers. ----

// The hot state of the submitting side. Ref = std::uint32_t: copies in locals for the length
// of one batched call, so that stores into the slot table and the ring cannot force the
// compiler to reload them (written back once at the end by push_store); Ref = std::uint32_t&:
// the members themselves (one operation). The pointers and the capacity never change after
// create().
template <class Ref>
struct Client::PushCursor {
    abi::Submission* sq;
    Slot* slots;
    std::uint16_t* free_slots;
    std::uint8_t* buf_state;
    std::uint32_t capacity;
    Ref tail;
    Ref head_seen;
    Ref free_top;
    Ref outstanding;
};

template <class Ref>
inline Client::PushCursor<Ref> Client::push_cursor() {
    return PushCursor<Ref>{view_.sq_entries, slots_,        free_slots_, buf_state_,  capacity_,
                           sq_tail_,         sq_head_seen_, free_top_,   outstanding_};
}

// A pending slot for one more submission, its record filled and its buffer (if any) lent:
// the commit's bookkeeping, after every check has passed. Cannot fail. Returns the tag.
template <class K>
[[gnu::always_inline]] inline std::uint32_t Client::take_slot(K& k, std::uint64_t user_data,
                                                              std::uint16_t buffer,
                                                              bool is_cancel) {
    using U32 = std::uint32_t;
    // Credit holds, so a free pending slot exists (outstanding < capacity == slots).
    KEEL_IPC_ASSERT(k.free_top > 0);
    U32 slot = k.free_slots[--k.free_top];
    Slot& s = k.slots[slot];
    KEEL_IPC_ASSERT(s.state == rules::kSlotFree);
    U32 tag = rules::tag_make<U32>(slot, s.gen);
    s.user_data = user_data;
    s.buffer = buffer;
    s.state = rules::kSlotLive;
    s.is_cancel = is_cancel ? 1 : 0;
    if (buffer != abi::kNoBuffer)
        k.buf_state[buffer] = std::uint8_t(rules::client_after_lend<U32>(k.buf_state[buffer]));
    return tag;
}

// IPC-R-002/010/011 on the cached counters, open endpoint: what prepare() hands an entry for.
[[gnu::always_inline]] inline Result<abi::Submission*> Client::prepare() {
    using U32 = std::uint32_t;
    if (mode_ == Mode::Open && rules::credit_ok<U32>(outstanding_, capacity_) &&
        rules::ring_has_room<U32>(sq_head_seen_, sq_tail_, capacity_)) [[likely]] {
        prepared_tail_ = sq_tail_;
        return view_.sq_entries + rules::ring_slot<U32>(sq_tail_, capacity_);
    }
    return prepare_refused();  // or the room after re-reading the head
}

// commit()'s checks beyond the buffer: still open, the entry prepare() handed out for the
// current tail (prepared there, and that tail's slot: the same slot a lap later is refused)
// with credit and room still there (on the cached head: prepare() checked them and only a
// submission, which moves the tail, can take them away), and not a Cancel.
[[gnu::always_inline]] inline bool Client::commit_ok(const abi::Submission* entry,
                                                     std::uint16_t opcode) const {
    using U32 = std::uint32_t;
    return mode_ == Mode::Open && prepared_tail_ == sq_tail_ &&
           entry == view_.sq_entries + rules::ring_slot<U32>(sq_tail_, capacity_) &&
           rules::credit_ok<U32>(outstanding_, capacity_) &&
           rules::ring_has_room<U32>(sq_head_seen_, sq_tail_, capacity_) &&
           opcode != std::uint16_t(abi::Op::Cancel);
}

// The protocol's fields of an entry the caller filled: user_data, then tag, opcode and buffer
// as one word (offsets 8..15, abi.hpp; little-endian, asserted in client.cpp), then length.
// Volatile stores, as write_once's: the peer may read the entry once it is published.
[[gnu::always_inline]] inline std::uint32_t Client::commit_entry(abi::Submission* entry,
                                                                 std::uint64_t user_data,
                                                                 std::uint16_t opcode,
                                                                 std::uint32_t length,
                                                                 std::uint16_t buffer) {
    auto k = push_cursor<std::uint32_t&>();
    std::uint32_t tag = take_slot(k, user_data, buffer, false);
    auto* words = reinterpret_cast<std::uint64_t*>(entry);
    write_word(&words[0], user_data);
    write_word(&words[1],
               std::uint64_t(tag) | std::uint64_t(opcode) << 32 | std::uint64_t(buffer) << 48);
    write_word(&entry->length, length);
    ++k.tail;
    ++k.outstanding;
    return tag;
}

[[gnu::always_inline]] inline Result<std::uint32_t> Client::commit(abi::Submission* entry,
                                                                   std::uint64_t user_data,
                                                                   std::uint16_t opcode) {
    if (commit_ok(entry, opcode)) [[likely]]
        return commit_entry(entry, user_data, opcode, 0, abi::kNoBuffer);
    return commit_refused(entry, opcode, 0, nullptr);
}

[[gnu::always_inline]] inline Result<std::uint32_t> Client::commit(abi::Submission* entry,
                                                                   std::uint64_t user_data,
                                                                   std::uint16_t opcode,
                                                                   std::uint32_t length,
                                                                   Buffer&& buffer) {
    // lend_check's conditions (IPC-R-030..031), then commit_ok's.
    if (buffer.owner_ == this && buffer.id_ < buffer_count_ &&
        rules::client_may_lend<std::uint32_t>(buf_state_[buffer.id_]) && length <= buffer_size_ &&
        commit_ok(entry, opcode)) [[likely]] {
        std::uint32_t tag = commit_entry(entry, user_data, opcode, length, buffer.id_);
        buffer.forget();  // ownership moved with the submission
        return tag;
    }
    return commit_refused(entry, opcode, length, &buffer);
}

inline void Buffer::reset() {
    if (owner_ != nullptr)
        owner_->release_id(id_);
    forget();
}

}  // namespace keel::ipc
