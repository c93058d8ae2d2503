// The protocol's decisions, as pure functions over a word type W (std::uint32_t in the
// library, Z3 bit-vectors in spec/). Client and Server make every ownership, credit, ring and
// cancellation decision through these functions and nothing else, so spec/ proves the shipped
// logic: a wrong line here breaks a proof. Rule numbers refer to spec/ipc.md.
//
// Only + - & | << >> == != && || ! and WordOps<W> are used: both instantiations support them.
// The error-order rules at the end also call the check callables their callers pass.
#pragma once

#include <cstdint>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>
#include <ipc/word.hpp>

namespace keel::ipc::rules {

template <class W>
using Bool = typename WordOps<W>::Bool;

template <class W>
W k(const W& like, std::uint32_t v) {
    return WordOps<W>::lit(like, v);
}

// ---- Ring arithmetic (IPC-R-001..005, invariant I7) ---------------------------------------

// Entries between head and tail; correct across 32-bit wrap because both run free.
template <class W>
W ring_used(const W& head, const W& tail) {
    return tail - head;
}

// Slot of a free-running index. capacity is a power of two (checked once at set-up).
template <class W>
W ring_slot(const W& index, const W& capacity) {
    return index & (capacity - k(capacity, 1));
}

// Producer: may one more entry be written?
template <class W>
Bool<W> ring_has_room(const W& head, const W& tail, const W& capacity) {
    return WordOps<W>::ult(tail - head, capacity);
}

// Consumer: is there an entry at head?
template <class W>
Bool<W> ring_has_entry(const W& head, const W& tail) {
    return !(head == tail);
}

// Consumer validating the producer's published tail (read once from shared memory): the ring
// may hold at most `capacity` entries past our head, and the tail never moves back past what
// we saw before.
template <class W>
Bool<W> ring_tail_valid(const W& head, const W& seen_tail, const W& new_tail, const W& capacity) {
    return WordOps<W>::ule(new_tail - head, capacity) &&
           WordOps<W>::ule(seen_tail - head, new_tail - head);
}

// Producer validating the consumer's published head: it moves forward, never past our tail.
template <class W>
Bool<W> ring_head_valid(const W& seen_head, const W& new_head, const W& tail) {
    return WordOps<W>::ule(new_head - seen_head, tail - seen_head);
}

// ---- Credit (IPC-R-010..011, invariant I3) ------------------------------------------------

// Each accepted submission reserves one completion slot until its completion is reaped. With
// `live` reservations held, one more may be taken only if the completion ring can hold it.
template <class W>
Bool<W> credit_ok(const W& live, const W& capacity) {
    return WordOps<W>::ult(live, capacity);
}

// IPC-R-012: does the credit as the client's completion head was last seen (`live` reservations,
// at most `capacity`) cover all `entries` visible submissions? Then a poll accepts every one
// of them without the client's head, and does not read it: the head only adds credit.
template <class W>
Bool<W> credit_covers(const W& live, const W& entries, const W& capacity) {
    return WordOps<W>::ule(live, capacity) && WordOps<W>::ule(entries, capacity - live);
}

// ---- Tags (IPC-R-020..021) -----------------------------------------------------------------

inline constexpr std::uint32_t kSlotBits = 16;
inline constexpr std::uint32_t kSlotMask = 0xFFFF;

template <class W>
W tag_make(const W& slot, const W& gen) {
    return (slot & k(slot, kSlotMask)) | ((gen & k(gen, kSlotMask)) << k(gen, kSlotBits));
}
template <class W>
W tag_slot(const W& tag) {
    return tag & k(tag, kSlotMask);
}
template <class W>
W tag_gen(const W& tag) {
    return WordOps<W>::shr(tag, k(tag, kSlotBits));
}
// The same slot index for a transport's own bookkeeping (IPC-R-020): for every tag the client
// handed out it is below the queue's capacity and names that operation's slot alone while it
// is pending, so per-operation state can live in an array of `capacity` entries indexed by it
// (the kernel's served objects keep theirs so). Plain uint32_t, usable in constant expressions.
constexpr std::uint32_t tag_slot_index(std::uint32_t tag) {
    return tag & kSlotMask;
}
static_assert(tag_slot_index((7u << kSlotBits) | 5u) == 5u);

// A slot's generation advances each time it is freed, so a stale or duplicated completion
// carrying an old tag no longer matches.
template <class W>
W gen_next(const W& gen) {
    return (gen + k(gen, 1)) & k(gen, kSlotMask);
}

// ---- Client-side buffer ownership (IPC-R-030..034, invariants I1, I4) ----------------------

inline constexpr std::uint32_t kBufPooled = 0;  // the client's, in its pool
inline constexpr std::uint32_t kBufInHand = 1;  // the client's, held by the application
inline constexpr std::uint32_t kBufLent = 2;    // lent with a submission: not the client's

template <class W>
Bool<W> client_may_lend(const W& state) {
    return state == k(state, kBufInHand);
}
template <class W>
Bool<W> client_may_release(const W& state) {
    return state == k(state, kBufInHand);
}
template <class W>
Bool<W> client_may_acquire(const W& state) {
    return state == k(state, kBufPooled);
}
template <class W>
W client_after_lend(const W& state) {
    return k(state, kBufLent);
}
// A lent buffer comes back with the completion of the operation that took it, and only then.
template <class W>
W client_after_return(const W& state) {
    return k(state, kBufInHand);
}

// ---- Client-side completion acceptance (IPC-R-040..044, invariants I2, I4, I8) -------------

inline constexpr std::uint32_t kSlotFree = 0;
inline constexpr std::uint32_t kSlotLive = 1;

template <class W>
Bool<W> completion_slot_in_range(const W& tag, const W& capacity) {
    return WordOps<W>::ult(tag_slot(tag), capacity);
}

// A completion read from the ring is accepted only if its tag names a live pending slot of the
// current generation, and it carries back exactly the buffer that slot lent (or none if it
// lent none). Anything else is a protocol violation and changes nothing.
template <class W>
Bool<W> completion_matches(const W& tag, const W& slot_state, const W& slot_gen,
                           const W& slot_buffer, const W& entry_buffer) {
    return slot_state == k(slot_state, kSlotLive) && slot_gen == tag_gen(tag) &&
           entry_buffer == slot_buffer;
}

// Statuses a completion may carry: InProgress and NotFound only answer a Cancel.
template <class W>
Bool<W> completion_status_valid(const W& slot_is_cancel, const W& status) {
    auto cancel_only = status == k(status, std::uint32_t(abi::Status::InProgress)) ||
                       status == k(status, std::uint32_t(abi::Status::NotFound));
    return !(slot_is_cancel == k(slot_is_cancel, 0)) || !cancel_only;
}

// ---- Server-side acceptance (IPC-R-050..053, invariants I1, I8) ----------------------------

inline constexpr std::uint32_t kOpFree = 0;
inline constexpr std::uint32_t kOpQueued = 1;  // accepted, not yet taken by the service
inline constexpr std::uint32_t kOpTaken = 2;   // taken by the service, not yet completed

inline constexpr std::uint32_t kHeldNo = 0;
inline constexpr std::uint32_t kHeldYes = 1;

template <class W>
Bool<W> buffer_id_in_range(const W& id, const W& count) {
    return id == k(id, abi::kNoBuffer) || WordOps<W>::ult(id, count);
}
// A submission may lend a buffer only if no accepted, uncompleted operation holds it already.
template <class W>
Bool<W> server_may_hold(const W& id, const W& held) {
    return id == k(id, abi::kNoBuffer) || held == k(held, kHeldNo);
}
template <class W>
Bool<W> server_may_take(const W& op_state) {
    return op_state == k(op_state, kOpQueued);
}
template <class W>
Bool<W> server_may_complete(const W& op_state) {
    return op_state == k(op_state, kOpTaken);
}

// ---- Server operation handles (IPC-R-054) ---------------------------------------------------

// The service's handle on a taken operation names its record and the record's generation,
// `record | gen << 16`, as a tag names a client slot (the record's generation advances each time
// it is freed, gen_next). Every call taking a handle decodes the record with op_record.
template <class W>
W op_handle(const W& record, const W& gen) {
    return tag_make(record, gen);
}
template <class W>
W op_record(const W& handle) {
    return tag_slot(handle);
}
// A handle may complete (or view, or query) its operation only while that operation is taken
// and the record is still of the handle's generation: a handle kept past its complete() (a
// second complete, or an old handle after the record was reused) is stale and changes nothing.
template <class W>
Bool<W> server_handle_current(const W& handle, const W& op_state, const W& op_gen) {
    return server_may_complete(op_state) && tag_gen(handle) == op_gen;
}

// ---- Cancellation (IPC-R-060..064, invariant I5) --------------------------------------------

template <class W>
struct CancelOutcome {
    W cancel_status;     // status of the Cancel's own completion
    W target_completes;  // 1: the target completes now, with Cancelled and its own buffer
    W target_state;      // the target's op state afterwards
    W target_flag;       // 1: the service is told to finish the target early
    W cancel_buffer;     // buffer the Cancel's completion carries: never the target's
};

// found: a non-free op with the target tag exists; state: that op's state (any value if not).
template <class W>
CancelOutcome<W> resolve_cancel(const W& found, const W& state) {
    using O = WordOps<W>;
    auto is_found = !(found == k(found, 0));
    auto queued = is_found && state == k(state, kOpQueued);
    auto taken = is_found && state == k(state, kOpTaken);
    auto ok = k(state, std::uint32_t(abi::Status::Ok));
    auto in_progress = k(state, std::uint32_t(abi::Status::InProgress));
    auto not_found = k(state, std::uint32_t(abi::Status::NotFound));
    return CancelOutcome<W>{
        O::ite(queued, ok, O::ite(taken, in_progress, not_found)),
        O::ite(queued, k(state, 1), k(state, 0)),
        O::ite(queued, k(state, kOpFree), state),
        O::ite(taken, k(state, 1), k(state, 0)),
        k(state, abi::kNoBuffer),
    };
}

// ---- Teardown (IPC-R-070..072, invariant I6) ------------------------------------------------

// Status with which the client completes, itself, an operation the vanished server never did.
template <class W>
W teardown_status(const W& like) {
    return k(like, std::uint32_t(abi::Status::PeerGone));
}

// ---- Which error a call fails with (spec/ipc.md §3, "Errors") ------------------------------
//
// A call's checks in the order their errors win: the error of the first that fails, or 0 when
// none does (the call may commit). Each check is a callable saying whether it fails, called only
// once every check before it has passed: over std::uint32_t a shared word a check reads is read
// only then (a check may also keep what it read, for the commit), and an index a check uses is
// in range because an earlier check said so. Over Z3 every check is built into one chain of
// if-then-else. Client, Server and both models in spec/ pass their own conditions; which checks
// come, in which order, and the error each gives are fixed here, and RULES (spec/) states these
// tables independently.

// Always inlined: over std::uint32_t the chain must fold into the caller's branches (a call per
// check costs the endpoints tens of instructions).
template <class W, class Fails, class... Rest>
[[gnu::always_inline]] inline W first_failure(const W& like, Fails&& fails, Error error,
                                              Rest&&... rest) {
    return WordOps<W>::ite_lazy(
        fails(), [&] { return k(like, std::uint32_t(error)); },
        [&] {
            if constexpr (sizeof...(Rest) == 0)
                return k(like, 0);
            else
                return first_failure<W>(like, rest...);
        });
}

// Client::acquire: an endpoint never created, then an empty pool.
template <class W, class Unset, class PoolEmpty>
[[gnu::always_inline]] inline W acquire_error(const W& like, Unset&& unset,
                                              PoolEmpty&& pool_empty) {
    return first_failure<W>(like, unset, Error::Closed, pool_empty, Error::Empty);
}

// Client::release (IPC-R-032): an empty handle, another client's handle.
template <class W, class Empty, class Foreign>
[[gnu::always_inline]] inline W release_error(const W& like, Empty&& empty_handle,
                                              Foreign&& foreign) {
    return first_failure<W>(like, empty_handle, Error::InvalidBuffer, foreign, Error::NotOwner);
}

// Client::submit with a buffer (IPC-R-030..031), before push_error's checks: an empty handle,
// another client's handle, an id past the table, a buffer not in hand, a length past the buffer.
template <class W, class Empty, class Foreign, class OutOfRange, class NotInHand, class TooLong>
[[gnu::always_inline]] inline W lend_error(const W& like, Empty&& empty_handle, Foreign&& foreign,
                                           OutOfRange&& out_of_range, NotInHand&& not_in_hand,
                                           TooLong&& too_long) {
    return first_failure<W>(like, empty_handle, Error::InvalidBuffer, foreign, Error::NotOwner,
                            out_of_range, Error::NotOwner, not_in_hand, Error::NotOwner, too_long,
                            Error::InvalidArgument);
}

// Client::submit without a buffer, before push_error's checks: a length describes a buffer.
template <class W, class HasLength>
[[gnu::always_inline]] inline W unlent_error(const W& like, HasLength&& has_length) {
    return first_failure<W>(like, has_length, Error::InvalidArgument);
}

// Client::submit and Client::cancel (IPC-R-011, IPC-R-002, IPC-R-005): the endpoint's mode (the
// server gone, then closed), a Cancel opcode submitted as a request, no credit left, and, when
// the ring looks full, the consumer's head re-read (an impossible one) and the room it gives.
template <class W, class PeerGone, class Closed, class CancelOpcode, class NoCredit, class BadHead,
          class Full>
[[gnu::always_inline]] inline W push_error(const W& like, PeerGone&& peer_gone, Closed&& closed,
                                           CancelOpcode&& cancel_opcode, NoCredit&& no_credit,
                                           BadHead&& bad_head, Full&& full) {
    return first_failure<W>(like, peer_gone, Error::PeerGone, closed, Error::Closed, cancel_opcode,
                            Error::InvalidArgument, no_credit, Error::NoCredit, bad_head,
                            Error::ProtocolViolation, full, Error::RingFull);
}

// Client::reap from the ring (IPC-R-004, IPC-R-005, IPC-R-040..044): with no entry cached,
// teardown past its drain limit (the tail is not read again), then the tail re-read (an
// impossible one), then no entry; then the entry at the head: a tag naming no slot, an entry
// its slot does not accept.
template <class W, class PastLimit, class BadTail, class NoEntry, class BadSlot, class BadEntry>
[[gnu::always_inline]] inline W reap_error(const W& like, PastLimit&& past_limit,
                                           BadTail&& bad_tail, NoEntry&& no_entry,
                                           BadSlot&& bad_slot, BadEntry&& bad_entry) {
    return first_failure<W>(like, past_limit, Error::Empty, bad_tail, Error::ProtocolViolation,
                            no_entry, Error::Empty, bad_slot, Error::ProtocolViolation, bad_entry,
                            Error::ProtocolViolation);
}

// Server::poll (IPC-R-005, IPC-R-012): the endpoint's mode (the client gone, then closed), the
// client's closed flag, then the tail read (an impossible one), then the client's head when it
// is read (an impossible one).
template <class W, class ClientGone, class Closed, class ClientClosed, class BadTail, class BadHead>
[[gnu::always_inline]] inline W poll_error(const W& like, ClientGone&& client_gone, Closed&& closed,
                                           ClientClosed&& client_closed, BadTail&& bad_tail,
                                           BadHead&& bad_head) {
    return first_failure<W>(like, client_gone, Error::PeerGone, closed, Error::Closed,
                            client_closed, Error::PeerGone, bad_tail, Error::ProtocolViolation,
                            bad_head, Error::ProtocolViolation);
}

// Server::take: not open, then nothing queued.
template <class W, class Closed, class NoneQueued>
[[gnu::always_inline]] inline W take_error(const W& like, Closed&& closed,
                                           NoneQueued&& none_queued) {
    return first_failure<W>(like, closed, Error::Closed, none_queued, Error::Empty);
}

// Server::complete (IPC-R-054, IPC-R-044): an endpoint never attached, a handle naming no
// record, a handle not current (IPC-R-054), a status only a Cancel may have, then, open with the
// ring looking full, the client's head re-read (an impossible one).
template <class W, class Unset, class NoRecord, class NotCurrent, class BadStatus, class BadHead>
[[gnu::always_inline]] inline W complete_error(const W& like, Unset&& unset, NoRecord&& no_record,
                                               NotCurrent&& not_current, BadStatus&& bad_status,
                                               BadHead&& bad_head) {
    return first_failure<W>(like, unset, Error::Closed, no_record, Error::InvalidArgument,
                            not_current, Error::NotOwner, bad_status, Error::InvalidArgument,
                            bad_head, Error::ProtocolViolation);
}

}  // namespace keel::ipc::rules
