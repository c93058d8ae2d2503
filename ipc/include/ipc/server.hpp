// Server: the serving side of a queue. Attaches to a queue a client created, drains its
// submissions (validating every byte), hands operations to the service in order, resolves
// cancellations, and posts exactly one completion per accepted submission.
//
// Threading: one thread at a time per Server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <ipc/abi.hpp>
#include <ipc/layout.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>

namespace keel::ipc {

namespace testing {
struct StateAccess;  // spec/'s refinement check reads and loads private state (no behaviour)
}  // namespace testing

// An operation taken by the service: a validated private copy of its submission.
struct Operation {
    // The server's handle for complete() / bytes() / cancel_requested() / request(): the op
    // record and its generation, `record | gen << 16` (rules::op_handle, IPC-R-054). It is
    // current from take() until complete(); after that every call refuses it (the record's
    // generation has moved on), even once the record serves another operation. Not an index:
    // Server::record_index(id) is.
    std::uint32_t id = 0;
    abi::Submission request{};
};

class Server {
  public:
    struct OpRecord {
        abi::Submission request;
        std::uint16_t gen;
        std::uint8_t state;  // rules::kOpFree / kOpQueued / kOpTaken
        std::uint8_t cancel_flag;
        std::uint8_t pad[4];
    };

    Server() = default;
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    static std::size_t private_size(const Geometry& g);

    // Attaches to the queue a client created in `shared`. The geometry is the server's own
    // expectation (agreed out of band); the shared header is read once and must match it.
    // Service opcodes in [abi::kFirstServiceOp, op_limit) are accepted; others get BadRequest.
    // Cost: O(capacity + buffers). Errors: InvalidArgument (geometry, storage), BadLayout
    // (region too small or misaligned; header missing, of another version or geometry).
    Result<void> attach(std::span<std::byte> shared, std::span<std::byte> storage,
                        const Geometry& g, std::uint16_t op_limit);

    // Drains published submissions while completion credit lasts: each is validated and
    // either queued for the service, or answered at once (Nop, Cancel, BadRequest). Returns
    // the number drained. Call publish() afterwards to make completions visible (poll does
    // it for the ones it posts). Cost: O(drained), plus O(capacity) per Cancel.
    // Errors: ProtocolViolation (the client's tail or head is impossible; nothing changed),
    // PeerGone (the client closed: call client_gone()), Closed.
    Result<std::uint32_t> poll();

    // The oldest queued operation, now taken: the service owns its buffer until complete().
    // O(1) amortised. Errors: Empty, Closed.
    Result<Operation> take();
    // The same without the copy: takes the oldest queued operation and returns its id; its
    // validated request stays in the server's private storage, readable with request(id)
    // until complete(id). O(1). Errors: Empty, Closed.
    Result<std::uint32_t> take_id();
    // Batched take: takes up to handles.size() queued operations, oldest first, exactly as
    // take_id() would one by one, and writes their handles to handles[0..n). One call and one
    // mode check for the batch. Returns n; 0 only for an empty span. O(n).
    // Errors (nothing changed): Empty (none queued), Closed.
    Result<std::uint32_t> take_batch(std::span<std::uint32_t> handles);
    // The server's private, validated copy of operation `id`'s submission (never the shared
    // entry): valid to read while the operation is taken. Precondition: `id` is a current
    // handle (from take_id, not yet completed; asserted: a stale or forged handle is the
    // service's own bug, never the client's doing). O(1).
    const abi::Submission& request(std::uint32_t id) const {
        if (!current(id)) [[unlikely]]
            request_not_current();
        return ops_[record_index(id)].request;
    }

    // Completes a taken operation: posts its completion with its buffer and frees it (the
    // record's generation advances, so `op` is stale from now on). O(1).
    // Errors: InvalidArgument (the handle names no record, or a status only Cancel may use),
    // NotOwner (the handle is not current: its operation is not taken, or was completed
    // already and the record freed or reused; nothing changes). After client_gone() the op is
    // freed and nothing is posted.
    Result<void> complete(std::uint32_t op, std::uint16_t status, std::uint64_t value);

    // One completion for complete_batch.
    struct Done {
        std::uint32_t op;  // a handle from take_id / take_batch
        std::uint16_t status;
        std::uint64_t value;
    };
    // Batched complete: completes done[0], done[1], ... in order, each exactly as
    // complete(op, status, value) would, and stops at the first one complete() would refuse
    // (that one and the rest are untouched). One call, one mode check and one ring-room check
    // (re-reading the client's head at most once) for the batch. Returns how many were
    // completed, a prefix; 0 only for an empty span. O(n). Errors (nothing changed): the
    // first one's error, as complete().
    Result<std::uint32_t> complete_batch(std::span<const Done> done);
    // The bytes of a taken operation's buffer, limited to the request's length (empty if it
    // lent none, or if `op.id` is not current: once completed, an operation views nothing).
    // Read from the server's own copy of the request, whatever `op.request` says. The client
    // may write them concurrently: copy before validating.
    std::span<std::byte> bytes(const Operation& op) const;

    // Whether the client asked to cancel this taken operation (the service may finish early
    // with Cancelled, or complete normally). False for a handle that is not current.
    bool cancel_requested(std::uint32_t op) const;

    // The op record a handle names, below capacity() for every handle take() handed out, and
    // naming that operation alone while it is taken: per-operation state of a service can
    // live in an array of capacity() entries indexed by it. Plain arithmetic, no check.
    static constexpr std::uint32_t record_index(std::uint32_t op) {
        return rules::tag_slot_index(op);
    }

    // Makes posted completions visible to the client (one release store). O(1).
    void publish();

    // The client closed or died: queued operations are dropped (their buffers are released),
    // taken ones are flagged cancelled; complete() then posts nothing. Idempotent. O(capacity).
    void client_gone();
    // This side closes: announced in the shared header. Idempotent.
    void close();

    bool client_closed() const;
    std::uint32_t capacity() const { return capacity_; }
    // Accepted operations not completed yet, plus completions the client has not consumed (as
    // last read; after client_gone() the client's head is no longer read).
    std::uint32_t live() const;
    std::uint32_t queued() const { return queued_; }
    std::uint32_t taken() const { return taken_; }
    std::uint32_t sq_head() const { return sq_head_; }
    std::uint32_t cq_tail() const { return cq_tail_; }
    // rules::kHeldNo / kHeldYes for a buffer id.
    std::uint32_t buffer_held(std::uint16_t id) const;

  private:
    friend struct testing::StateAccess;  // spec/src/refinement.cpp: test-only state access
    enum class Mode : std::uint8_t { Unset, Open, ClientGone, Closed };

    void accept(const abi::SubmissionHead& e, const abi::Submission* shared);
    void accept_cancel(std::uint32_t tag, std::uint64_t target_tag);
    void post(std::uint32_t tag, std::uint16_t status, std::uint16_t buffer, std::uint64_t value);
    void free_op(std::uint32_t id);
    // Whether `op` is a handle of a taken operation whose record is still of its generation
    // (IPC-R-054).
    bool current(std::uint32_t op) const {
        const std::uint32_t r = rules::op_record<std::uint32_t>(op);
        return r < capacity_ &&
               rules::server_handle_current<std::uint32_t>(op, ops_[r].state, ops_[r].gen);
    }
    [[noreturn]] void request_not_current() const;
    bool refresh_cq_head();

    QueueView view_{};
    Mode mode_ = Mode::Unset;
    std::uint32_t capacity_ = 0;
    std::uint32_t buffer_count_ = 0;
    std::uint32_t buffer_size_ = 0;
    std::uint16_t op_limit_ = 0;
    // Submission ring: we consume.
    std::uint32_t sq_head_ = 0;
    std::uint32_t sq_tail_seen_ = 0;
    // Completion ring: we produce.
    std::uint32_t cq_tail_ = 0;
    std::uint32_t cq_head_seen_ = 0;
    std::uint32_t cq_published_ = 0;
    std::uint32_t ops_live_ = 0;  // op records not free
    std::uint32_t queued_ = 0;
    std::uint32_t taken_ = 0;
    // Private storage.
    OpRecord* ops_ = nullptr;            // [capacity]
    std::uint16_t* free_ops_ = nullptr;  // [capacity] stack
    std::uint32_t free_top_ = 0;
    std::uint16_t* fifo_ = nullptr;  // [capacity] queued op ids, oldest first (count == queued_)
    std::uint32_t fifo_head_ = 0;
    std::uint32_t fifo_tail_ = 0;
    std::uint8_t* held_ = nullptr;  // [buffer_count] rules::kHeld*
};

}  // namespace keel::ipc
