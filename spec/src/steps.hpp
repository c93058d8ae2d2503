// The transition relation of spec/ipc.md, written once. Each function mirrors one public call
// of Client or Server: the order of its checks (which error wins), the rule function of
// ipc/rules.hpp deciding each check, and the commit. Comments name the rules.
//
// Both models are this one relation over two storage representations (spec/README.md, "One
// transition relation"):
//   - Model (model.hpp): capacity and buffer count fixed; counters 32-bit words; every table a
//     vector of words, one per element; searches and counts loops over the elements;
//   - PModel (param_model.hpp): capacity and buffer count symbolic; ring counters and counts
//     unbounded integers, ring entries at their absolute position, the ring and credit rules
//     called on their residues (ModWord); tables Z3 arrays; searches and counts their defining
//     properties over a nondeterministic choice; ghost fields for the quantified invariants.
// What a representation supplies is named below; nothing a step decides is supplied by a
// representation. Steps<M> reads M's primitives only.
//
// The storage primitives (of M, for M = Model or PModel), beside base(s) (a step that changes
// nothing), merge(c, a, b) (a state chosen by c) and the environment words bsize, op_limit:
//   words and counters: bv(v), one() (a counter's step), cap_word(), buffers_word(),
//     at(counter) (where a ring counter's entry is), unwrap(base, word) (a counter read from
//     the peer as the reader measures it), same_word(a, b);
//   the ring and credit rules on counters: used, has_room, has_entry, tail_valid, head_valid,
//     credit_ok, credit_covers;
//   tables: sel(table, i, dflt) (dflt: the concrete model's value for an index past the
//     table), store(table, i, x), store_if(c, table, i, x);
//   searches: free_slot_exists, free_record_exists, none_of (no element satisfies a
//     condition), lowest (the lowest element that does), flags_of_taken (client_gone's flags),
//     records() (Model only: every record index, for client_gone at once);
//   ghosts (PModel only; no-ops in Model): ghost_push, ghost_free_slot, ghost_post,
//     ghost_free_op, ghost_queue, ghost_drop.
#pragma once

#include <cstdint>

#include <spec/model.hpp>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>

namespace keel::spec {

namespace R = keel::ipc::rules;

// A conjunction that adds nothing for a literal true (the concrete model's searches need no
// choice constraint, and its formulas stay as they were written).
inline expr conj(const expr& a, const expr& b) {
    if (a.is_true())
        return b;
    if (b.is_true())
        return a;
    return a && b;
}

template <class M, class S, class O>
class Steps {
    using E = keel::ipc::Error;
    using Op = keel::ipc::abi::Op;
    using St = keel::ipc::abi::Status;
    static constexpr std::uint32_t kNoBuf = keel::ipc::abi::kNoBuffer;

  public:
    explicit Steps(const M& model) : m(model) {}

    // ---- Client (spec/ipc.md §3) ----

    // A pooled buffer handed out, or Empty when none is (empty: the choice that none is).
    O acquire(const S& s, const expr& b, const expr& empty) const {
        O o = m.base(s);
        Pick none = m.none_of(
            s.bstate, m.buffers_word(),
            [&](const expr& x) { return R::client_may_acquire<expr>(x); }, empty, "b");
        o.err = R::acquire_error<expr>(
            bv(0), [&] { return ctx().bool_val(false); },  // created: never Unset here
            [&] { return none.cond; });
        auto ok = o.err == bv(0);
        o.choice_ok =
            conj(none.choice_ok,
                 !ok || (z3::ult(b, m.buffers_word()) &&
                         R::client_may_acquire<expr>(m.sel(s.bstate, b, bv(R::kBufInHand)))));
        S n = s;
        n.bstate = m.store(s.bstate, b, bv(R::kBufInHand));
        o.next = m.merge(ok, n, s);
        o.value = b;
        return o;
    }

    // Release is reachable only with a handle, i.e. for a buffer in hand (IPC-R-032).
    O release(const S& s, const expr& b) const {
        O o = m.base(s);
        auto st_b = m.sel(s.bstate, b, bv(R::kBufLent));
        o.choice_ok = z3::ult(b, m.buffers_word()) && st_b == bv(R::kBufInHand);
        o.safe = R::client_may_release<expr>(st_b);
        S n = s;
        n.bstate = m.store(s.bstate, b, bv(R::kBufPooled));
        o.next = n;
        return o;
    }

    O submit(const S& s, const expr& opcode, const expr& buffer, const expr& length,
             const expr& slot) const {
        auto has_buf = !(buffer == bv(kNoBuf));
        // IPC-R-030: only a buffer in hand may be lent; checked before anything else.
        // A handle is this client's (the model has no other), never empty.
        auto no = [&] { return ctx().bool_val(false); };
        expr pre =
            z3::ite(has_buf,
                    R::lend_error<expr>(
                        bv(0), no, no, [&] { return !z3::ult(buffer, m.buffers_word()); },
                        [&] { return !R::client_may_lend<expr>(m.sel(s.bstate, buffer, bv(0))); },
                        [&] { return z3::ugt(length, m.bsize); }),
                    R::unlent_error<expr>(bv(0), [&] { return !(length == bv(0)); }));
        O o = push(s, opcode, buffer, length, bv(0), bv(0), slot);
        auto pre_ok = pre == bv(0);
        o.err = z3::ite(pre_ok, o.err, pre);
        o.next = m.merge(pre_ok, o.next, s);
        o.safe = !pre_ok || o.safe;
        o.alloc_ok = !pre_ok || o.alloc_ok;
        return o;
    }

    O cancel(const S& s, const expr& target, const expr& slot) const {
        return push(s, bv(std::uint32_t(Op::Cancel)), bv(kNoBuf), bv(0), bv(1), target, slot);
    }

    O publish(const S& s) const {
        O o = m.base(s);
        S n = s;
        n.sq_tail_pub = s.sq_tail;
        o.next = m.merge(s.cmode == bv(kCOpen), n, s);
        return o;
    }

    // One completion from the ring (IPC-R-004, IPC-R-040..044).
    O reap_ring(const S& s) const {
        O o = m.base(s);
        auto empty_now = !m.has_entry(s.cq_head, s.cq_tail_seen);
        auto tail = m.unwrap(s.cq_head, s.cq_tail_pub);
        auto tail_ok = m.tail_valid(s.cq_head, s.cq_tail_seen, tail);
        auto open = s.cmode == bv(kCOpen);
        // The tail read is committed together with the entry it published; on any error the
        // state is unchanged.
        auto seen = z3::ite(empty_now && open && tail_ok, tail, s.cq_tail_seen);
        auto at = m.at(s.cq_head);
        auto tag = m.sel(s.cq_tag, at, bv(0));
        auto status = m.sel(s.cq_status, at, bv(0));
        auto ebuf = m.sel(s.cq_buffer, at, bv(0));
        auto slot = R::tag_slot<expr>(tag);
        auto sstate = m.sel(s.c_state, slot, bv(R::kSlotFree));
        auto sgen = m.sel(s.c_gen, slot, bv(0));
        auto sbuf = m.sel(s.c_buf, slot, bv(kNoBuf));
        auto scancel = m.sel(s.c_cancel, slot, bv(0));
        auto valid = R::completion_matches<expr>(tag, sstate, sgen, sbuf, ebuf) &&
                     R::completion_status_valid<expr>(scancel, status);
        o.err = R::reap_error<expr>(
            bv(0), [&] { return empty_now && !open; }, [&] { return empty_now && !tail_ok; },
            [&] { return !m.has_entry(s.cq_head, seen); },
            [&] { return !R::completion_slot_in_range<expr>(tag, m.cap_word()); },
            [&] { return !valid; });
        auto ok = o.err == bv(0);
        S n = free_slot(s, slot);
        n.cq_tail_seen = seen;
        auto has_buf = !(sbuf == bv(kNoBuf));
        auto back = R::client_after_return<expr>(m.sel(s.bstate, sbuf, bv(0)));
        n.bstate = m.store_if(has_buf, s.bstate, sbuf, back);
        n.cq_head = s.cq_head + m.one();
        n.cq_head_pub = n.cq_head;
        o.next = m.merge(ok, n, s);
        o.r_tag = tag;
        o.r_status = status;
        o.r_buffer = sbuf;
        o.r_cancel = scancel;
        return o;
    }

    // Teardown drain (IPC-R-070..072): the ring up to the limit, then each live slot locally:
    // the lowest live slot at or after the cursor (found, idx: the choice of it). A failed
    // ring read in teardown changes nothing; the drain ends (drained = 1) once a leftover is
    // handed out, and an Empty leftover reap changes nothing either.
    O reap(const S& s, const expr& found, const expr& idx) const {
        O ring = reap_ring(s);
        auto open = s.cmode == bv(kCOpen);
        auto try_ring = !open && s.drained == bv(0) && !(s.cq_head == s.drain_limit);
        auto ring_ok = ring.err == bv(0);

        Pick left_pick = m.lowest(
            [&](const expr& k, const auto& get) {
                return z3::uge(k, s.cursor) && get(s.c_state) == bv(R::kSlotLive);
            },
            m.cap_word(), found, idx, "k");
        const expr& f = left_pick.cond;
        const expr& i = left_pick.idx;
        O left = m.base(s);
        left.err = z3::ite(f, bv(0), bv(std::uint32_t(E::Empty)));
        S n = free_slot(s, i);
        auto sbuf = m.sel(s.c_buf, i, bv(kNoBuf));
        auto has_buf = !(sbuf == bv(kNoBuf));
        auto back = R::client_after_return<expr>(m.sel(s.bstate, sbuf, bv(0)));
        n.bstate = m.store_if(has_buf, s.bstate, sbuf, back);
        n.cursor = i + bv(1);
        n.drained = bv(1);
        left.next = m.merge(f, n, s);
        left.r_tag = R::tag_make<expr>(i, m.sel(s.c_gen, i, bv(0)));
        left.r_status = z3::ite(s.cmode == bv(kCPeerGone), R::teardown_status<expr>(bv(0)),
                                bv(std::uint32_t(St::Cancelled)));
        left.r_buffer = sbuf;
        left.r_cancel = m.sel(s.c_cancel, i, bv(0));

        auto use_ring = open || (try_ring && ring_ok);
        O o = m.base(s);
        o.err = z3::ite(use_ring, ring.err, left.err);
        o.next = m.merge(use_ring, ring.next, left.next);
        o.r_tag = z3::ite(use_ring, ring.r_tag, left.r_tag);
        o.r_status = z3::ite(use_ring, ring.r_status, left.r_status);
        o.r_buffer = z3::ite(use_ring, ring.r_buffer, left.r_buffer);
        o.r_cancel = z3::ite(use_ring, ring.r_cancel, left.r_cancel);
        o.choice_ok = left_pick.choice_ok;  // satisfiable: the lowest exists or none does
        return o;
    }

    O peer_gone(const S& s) const {
        O o = m.base(s);
        auto tail = m.unwrap(s.cq_head, s.cq_tail_pub);
        auto ok = m.tail_valid(s.cq_head, s.cq_tail_seen, tail);
        S n = s;
        n.cq_tail_seen = z3::ite(ok, tail, s.cq_tail_seen);
        n.drain_limit = n.cq_tail_seen;
        n.cmode = bv(kCPeerGone);
        o.next = m.merge(s.cmode == bv(kCOpen), n, s);
        return o;
    }

    O client_close(const S& s) const {
        O o = peer_gone(s);
        S n = o.next;
        n.cmode = bv(kCClosed);
        n.client_closed = bv(1);
        S closed = s;
        closed.cmode = bv(kCClosed);
        // Open: drain limit and announce. Closed already: nothing. PeerGone: PeerGone stands.
        o.next = m.merge(s.cmode == bv(kCOpen), n, m.merge(s.cmode == bv(kCClosed), closed, s));
        return o;
    }

    // ---- Server (spec/ipc.md §4) ----

    // Server::live(): records in use and completions not yet consumed, as last seen.
    expr server_live(const S& s) const { return s.ops_live + m.used(s.cq_head_seen, s.cq_tail); }

    O poll_begin(const S& s) const {
        O o = m.base(s);
        auto tail = m.unwrap(s.sq_head, s.sq_tail_pub);
        auto head = m.unwrap(s.cq_head_seen, s.cq_head_pub);
        // IPC-R-012: the client's head is read only when the credit as last seen does not
        // cover every visible entry.
        auto reads_head = !m.credit_covers(server_live(s), m.used(s.sq_head, tail));
        o.err = R::poll_error<expr>(
            bv(0), [&] { return s.smode == bv(kSClientGone); },
            [&] { return !(s.smode == bv(kSOpen)); }, [&] { return s.client_closed == bv(1); },
            [&] { return !m.tail_valid(s.sq_head, s.sq_tail_seen, tail); },
            [&] { return reads_head && !m.head_valid(s.cq_head_seen, head, s.cq_tail); });
        S n = s;
        n.sq_tail_seen = tail;
        n.cq_head_seen = z3::ite(reads_head, head, s.cq_head_seen);
        o.next = m.merge(o.err == bv(0), n, s);
        return o;
    }

    expr accept_enabled(const S& s) const {
        return s.smode == bv(kSOpen) && m.has_entry(s.sq_head, s.sq_tail_seen) &&
               m.credit_ok(server_live(s));
    }

    // One submission (IPC-R-050..053), cancellation (IPC-R-060..064). r: the record a queued
    // operation takes; found, t: the choice of a Cancel's target. only (PModel's proofs, which
    // take the three outcomes one at a time): build just that outcome's state.
    O accept_one(const S& s, const expr& r, const expr& found, const expr& t, int only) const {
        O o = m.base(s);
        auto at = m.at(s.sq_head);
        auto tag = m.sel(s.sq_tag, at, bv(0));
        auto opcode = m.sel(s.sq_opcode, at, bv(0));
        auto buffer = m.sel(s.sq_buffer, at, bv(0));
        auto length = m.sel(s.sq_length, at, bv(0));
        auto target = m.sel(s.sq_target, at, bv(0));
        auto target_hi = m.sel(s.sq_target_hi, at, bv(0));
        S s1 = s;
        s1.sq_head = s.sq_head + m.one();
        s1.sq_head_pub = s1.sq_head;

        auto no_buf = buffer == bv(kNoBuf);
        auto held_b = z3::ite(no_buf, bv(R::kHeldNo), m.sel(s.held, buffer, bv(R::kHeldNo)));
        auto buffer_ok = R::buffer_id_in_range<expr>(buffer, m.buffers_word()) &&
                         R::server_may_hold<expr>(buffer, held_b);
        auto back = z3::ite(buffer_ok, buffer, bv(kNoBuf));
        auto is_cancel = opcode == bv(std::uint32_t(Op::Cancel));
        auto length_ok = z3::ite(no_buf, length == bv(0), z3::ule(length, m.bsize));
        auto bad = z3::ite(is_cancel, !no_buf,
                           !buffer_ok || !length_ok ||
                               (!(opcode == bv(std::uint32_t(Op::Nop))) &&
                                (z3::ult(opcode, bv(keel::ipc::abi::kFirstServiceOp)) ||
                                 z3::uge(opcode, m.op_limit))));
        auto nop = !is_cancel && !bad && opcode == bv(std::uint32_t(Op::Nop));
        auto queue = !is_cancel && !bad && !nop;
        auto do_cancel = is_cancel && !bad;

        // Immediate answers: BadRequest or Nop's Ok, returning the buffer only if it was
        // lendable.
        Posted imm =
            post(s1, tag,
                 z3::ite(bad, bv(std::uint32_t(St::BadRequest)), bv(std::uint32_t(St::Ok))), back);

        // Queue for the service.
        S q = s1;
        q.op_state = m.store(s1.op_state, r, bv(R::kOpQueued));
        q.op_tag = m.store(s1.op_tag, r, tag);
        q.op_buf = m.store(s1.op_buf, r, buffer);
        q.op_flag = m.store(s1.op_flag, r, bv(0));
        q.held = m.store_if(!no_buf, s1.held, buffer, bv(R::kHeldYes));
        q.ops_live = s1.ops_live + m.one();
        m.ghost_queue(q, s1, tag, r, buffer, no_buf);

        // Cancel: the first (lowest) non-free record with the target tag.
        Pick target_pick = m.lowest(
            [&](const expr&, const auto& get) {
                return target_hi == bv(0) && !(get(s1.op_state) == bv(R::kOpFree)) &&
                       get(s1.op_tag) == target;
            },
            bv(0), found, t, "r");
        const expr& f = target_pick.cond;
        const expr& ti = target_pick.idx;
        auto fbv = z3::ite(f, bv(1), bv(0));
        auto t_state = m.sel(s1.op_state, ti, bv(0));
        auto out = R::resolve_cancel<expr>(fbv, z3::ite(f, t_state, bv(0)));
        auto completes = !(out.target_completes == bv(0));
        Posted tp = post(s1, m.sel(s1.op_tag, ti, bv(0)), bv(std::uint32_t(St::Cancelled)),
                         m.sel(s1.op_buf, ti, bv(kNoBuf)));
        S c1 = m.merge(completes, free_op(tp.s, ti), s1);
        S c2 = c1;
        c2.op_state =
            m.store(c1.op_state, ti, z3::ite(f, out.target_state, m.sel(c1.op_state, ti, bv(0))));
        c2.op_flag =
            m.store(c1.op_flag, ti,
                    z3::ite(!(out.target_flag == bv(0)), bv(1), m.sel(c1.op_flag, ti, bv(0))));
        Posted cp = post(c2, tag, out.cancel_status, out.cancel_buffer);

        o.next = only == int(kAcceptAnswer)   ? imm.s
                 : only == int(kAcceptQueue)  ? q
                 : only == int(kAcceptCancel) ? cp.s
                                              : m.merge(do_cancel, cp.s, m.merge(queue, q, imm.s));
        o.value = z3::ite(do_cancel, bv(kAcceptCancel),
                          z3::ite(queue, bv(kAcceptQueue), bv(kAcceptAnswer)));
        // The target's choice matters only to a Cancel.
        if (!target_pick.choice_ok.is_true())
            o.choice_ok = !do_cancel || target_pick.choice_ok;
        o.alloc_ok = !queue || (z3::ult(r, m.cap_word()) &&
                                m.sel(s.op_state, r, bv(R::kOpQueued)) == bv(R::kOpFree));
        // The target, if completed here, was waiting in the queue; both posts had room; a
        // queued op finds a free record; an immediate answer has room.
        o.safe = z3::ite(
            do_cancel,
            (!completes || t_state == bv(R::kOpQueued)) && (!completes || tp.room) && cp.room,
            z3::ite(queue, m.free_record_exists(s), imm.room));
        return o;
    }

    O poll_end(const S& s, const expr& drained) const {
        O o = m.base(s);
        S n = s;
        n.sq_head_pub = s.sq_head;
        auto pub = s.smode == bv(kSOpen) && !m.same_word(s.cq_published, s.cq_tail);
        n.cq_tail_pub = z3::ite(pub, s.cq_tail, s.cq_tail_pub);
        n.cq_published = z3::ite(pub, s.cq_tail, s.cq_published);
        o.next = m.merge(!(drained == bv(0)), n, s);
        return o;
    }

    // take's value is the operation's handle, rules::op_handle(r, op_gen[r]) (none: the choice
    // that no record is queued).
    O take(const S& s, const expr& r, const expr& none) const {
        O o = m.base(s);
        Pick nq = m.none_of(s.op_state, m.cap_word(), queued(), none, "r");
        o.err = R::take_error<expr>(
            bv(0), [&] { return !(s.smode == bv(kSOpen)); }, [&] { return nq.cond; });
        auto ok = o.err == bv(0);
        auto rs = m.sel(s.op_state, r, bv(R::kOpFree));
        o.choice_ok =
            conj(nq.choice_ok, !ok || (z3::ult(r, m.cap_word()) && rs == bv(R::kOpQueued)));
        o.safe = !ok || R::server_may_take<expr>(rs);
        S n = s;
        n.op_state = m.store(s.op_state, r, bv(R::kOpTaken));
        o.next = m.merge(ok, n, s);
        o.value = R::op_handle<expr>(r, m.sel(s.op_gen, r, bv(0)));
        o.r_tag = m.sel(s.op_tag, r, bv(0));
        o.r_buffer = m.sel(s.op_buf, r, bv(kNoBuf));
        return o;
    }

    // complete takes a handle and refuses one that is not current (IPC-R-054).
    O complete(const S& s, const expr& handle, const expr& status) const {
        O o = m.base(s);
        auto r = R::op_record<expr>(handle);
        auto rs = m.sel(s.op_state, r, bv(R::kOpFree));
        auto current = R::server_handle_current<expr>(handle, rs, m.sel(s.op_gen, r, bv(0)));
        auto open = s.smode == bv(kSOpen);
        auto refresh = open && !m.has_room(s.cq_head_seen, s.cq_tail);
        auto head = m.unwrap(s.cq_head_seen, s.cq_head_pub);
        auto head_ok = m.head_valid(s.cq_head_seen, head, s.cq_tail);
        o.err = R::complete_error<expr>(
            bv(0), [&] { return ctx().bool_val(false); },  // attached: never Unset here
            [&] { return !z3::ult(r, m.cap_word()); }, [&] { return !current; },
            [&] { return !R::completion_status_valid<expr>(bv(0), status); },
            [&] { return refresh && !head_ok; });
        S pre = s;
        pre.cq_head_seen = z3::ite(refresh, head, s.cq_head_seen);
        Posted p = post(pre, m.sel(s.op_tag, r, bv(0)), status, m.sel(s.op_buf, r, bv(kNoBuf)));
        S n = free_op(m.merge(open, p.s, pre), r);
        o.next = m.merge(o.err == bv(0), n, s);
        o.safe = !(o.err == bv(0)) || !open || p.room;
        return o;
    }

    O server_publish(const S& s) const {
        O o = m.base(s);
        S n = s;
        n.cq_tail_pub = s.cq_tail;
        n.cq_published = s.cq_tail;
        o.next = m.merge(s.smode == bv(kSOpen) && !m.same_word(s.cq_published, s.cq_tail), n, s);
        return o;
    }

    // Server::client_gone (IPC-R-071), one loop over the records, as three steps: begin (mode
    // Dropping), drop one queued record (its buffer released), end (flag the taken ones).
    O client_gone_begin(const S& s) const {
        O o = m.base(s);
        S n = s;
        n.smode = bv(kSDropping);
        o.next = m.merge(s.smode == bv(kSOpen), n, s);
        return o;
    }

    O client_gone_drop(const S& s, const expr& r) const {
        O o = m.base(s);
        o.choice_ok =
            z3::ult(r, m.cap_word()) && m.sel(s.op_state, r, bv(R::kOpFree)) == bv(R::kOpQueued);
        S n = free_op(s, r);
        m.ghost_drop(n, s, r);
        o.next = n;
        return o;
    }

    O client_gone_end(const S& s) const {
        O o = m.base(s);
        Pick nq = m.none_of(s.op_state, m.cap_word(), queued(), ctx().bool_val(true), "r");
        S n = s;
        o.choice_ok = conj(nq.choice_ok, m.flags_of_taken(s, n.op_flag));
        n.smode = bv(kSClientGone);
        o.next = n;
        return o;
    }

    // Server::client_gone at once, for a representation that lists its records (Model): the
    // three steps above, a drop for each record queued before it. No state has the mode
    // between them.
    O client_gone(const S& s) const {
        O o = m.base(s);
        O begin = client_gone_begin(s);
        S n = begin.next;
        for (const expr& r : m.records()) {
            n = m.merge(m.sel(s.op_state, r, bv(R::kOpFree)) == bv(R::kOpQueued),
                        client_gone_drop(n, r).next, n);
        }
        n = client_gone_end(n).next;
        o.next = m.merge(begin.next.smode == bv(kSDropping), n, s);
        return o;
    }

    O server_close(const S& s) const {
        O o = m.base(s);
        S n = s;
        n.server_closed = bv(1);
        n.smode = bv(kSClosed);
        o.next = m.merge(s.smode == bv(kSClosed), s, n);
        return o;
    }

  private:
    struct Posted {
        S s;
        expr room;
    };

    expr bv(std::uint64_t v) const { return m.bv(v); }
    // A record's state says it waits for take() (take's and client_gone's searches).
    auto queued() const {
        return [this](const expr& state) { return state == bv(R::kOpQueued); };
    }
    z3::context& ctx() const { return m.ctx(); }

    // A completion posted at the server's tail. IPC-R-010: credit reserved at acceptance
    // guarantees room (the implementation asserts it): `room` is what SAFE proves.
    Posted post(const S& s, const expr& tag, const expr& status, const expr& buffer) const {
        auto room = m.has_room(s.cq_head_seen, s.cq_tail);
        S n = s;
        auto at = m.at(s.cq_tail);
        n.cq_tag = m.store(s.cq_tag, at, tag);
        n.cq_status = m.store(s.cq_status, at, status);
        n.cq_buffer = m.store(s.cq_buffer, at, buffer);
        n.cq_tail = s.cq_tail + m.one();
        m.ghost_post(n, tag, at);
        return Posted{n, room};
    }

    S free_op(const S& s, const expr& r) const {
        S n = s;
        auto buf = m.sel(s.op_buf, r, bv(kNoBuf));
        n.held = m.store_if(!(buf == bv(kNoBuf)), s.held, buf, bv(R::kHeldNo));
        n.op_state = m.store(s.op_state, r, bv(R::kOpFree));
        n.op_flag = m.store(s.op_flag, r, bv(0));
        // IPC-R-054: every handle of the record's last operation is stale from now on.
        n.op_gen = m.store(s.op_gen, r, R::gen_next<expr>(m.sel(s.op_gen, r, bv(0))));
        n.ops_live = s.ops_live - m.one();
        m.ghost_free_op(n, s, r);
        return n;
    }

    S free_slot(const S& s, const expr& slot) const {
        S n = s;
        n.c_state = m.store(s.c_state, slot, bv(R::kSlotFree));
        n.c_gen = m.store(s.c_gen, slot, R::gen_next<expr>(m.sel(s.c_gen, slot, bv(0))));
        n.c_buf = m.store(s.c_buf, slot, bv(kNoBuf));
        n.outstanding = s.outstanding - m.one();
        m.ghost_free_slot(n, s, slot);
        return n;
    }

    // One submission or Cancel (IPC-R-002/005/011, IPC-R-060).
    O push(const S& s, const expr& opcode, const expr& buffer, const expr& length,
           const expr& is_cancel, const expr& target, const expr& slot) const {
        O o = m.base(s);
        auto cancel_op = bv(std::uint32_t(Op::Cancel));
        auto refresh = !m.has_room(s.sq_head_seen, s.sq_tail);
        auto head = m.unwrap(s.sq_head_seen, s.sq_head_pub);
        auto head_ok = m.head_valid(s.sq_head_seen, head, s.sq_tail);
        auto seen = z3::ite(refresh, head, s.sq_head_seen);
        // IPC-R-011 credit, IPC-R-002/005 room (re-read the consumer's head only when full).
        expr err = R::push_error<expr>(
            bv(0), [&] { return s.cmode == bv(kCPeerGone); },
            [&] { return !(s.cmode == bv(kCOpen)); },
            [&] { return is_cancel == bv(0) && opcode == cancel_op; },
            [&] { return !m.credit_ok(s.outstanding); }, [&] { return refresh && !head_ok; },
            [&] { return !m.has_room(seen, s.sq_tail); });
        o.err = err;
        auto ok = err == bv(0);
        // Validate, then commit: a failed call changes nothing, not even the cached head.
        o.safe = !ok || m.free_slot_exists(s);
        o.alloc_ok = !ok || (z3::ult(slot, m.cap_word()) &&
                             m.sel(s.c_state, slot, bv(R::kSlotLive)) == bv(R::kSlotFree));
        auto gen = m.sel(s.c_gen, slot, bv(0));
        auto tag = R::tag_make<expr>(slot, gen);
        S n = s;
        n.sq_head_seen = seen;
        n.c_state = m.store(s.c_state, slot, bv(R::kSlotLive));
        n.c_buf = m.store(s.c_buf, slot, buffer);
        n.c_cancel = m.store(s.c_cancel, slot, is_cancel);
        auto has_buf = !(buffer == bv(kNoBuf));
        auto lent = R::client_after_lend<expr>(m.sel(s.bstate, buffer, bv(0)));
        n.bstate = m.store_if(has_buf, s.bstate, buffer, lent);
        auto at = m.at(s.sq_tail);
        n.sq_tag = m.store(s.sq_tag, at, tag);
        n.sq_opcode = m.store(s.sq_opcode, at, opcode);
        n.sq_buffer = m.store(s.sq_buffer, at, buffer);
        n.sq_length = m.store(s.sq_length, at, length);
        n.sq_target = m.store(s.sq_target, at, target);
        n.sq_target_hi = m.store(s.sq_target_hi, at, bv(0));
        n.sq_tail = s.sq_tail + m.one();
        n.outstanding = s.outstanding + m.one();
        m.ghost_push(n, s, slot, at, buffer, has_buf);
        o.next = m.merge(ok, n, s);
        o.value = tag;
        return o;
    }

    const M& m;
};

}  // namespace keel::spec
