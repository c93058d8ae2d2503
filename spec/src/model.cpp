// The transition relation of spec/ipc.md, built from ipc/rules.hpp over Z3 bit-vectors.
// Each function mirrors one public call of Client or Server: the order of its checks (which
// error wins), the rule function deciding each check, and the commit. Comments name the rules.
#include <spec/model.hpp>

#include <sstream>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>

namespace keel::spec {

namespace R = keel::ipc::rules;
using E = keel::ipc::Error;
using Ops = keel::ipc::WordOps<expr>;

std::uint32_t err_code(int e) {
    return std::uint32_t(e);
}

std::string value_text(const z3::model& mdl, const expr& e) {
    auto v = mdl.eval(e, true);
    std::uint64_t x = 0;
    if (v.is_numeral_u64(x)) {
        std::ostringstream o;
        if (x >= 0x10000) {
            o << "0x" << std::hex << x;
        } else {
            o << x;
        }
        return o.str();
    }
    return v.to_string();
}

namespace {
std::uint32_t ec(E e) {
    return std::uint32_t(e);
}
constexpr std::uint32_t kNoBuf = keel::ipc::abi::kNoBuffer;
constexpr std::uint32_t st(keel::ipc::abi::Status s) {
    return std::uint32_t(s);
}
}  // namespace

Model::Model(z3::context& ctx, std::uint32_t cap, std::uint32_t buffers)
    : bsize(ctx.bv_const("buffer_size", 32)),
      op_limit(ctx.bv_const("op_limit", 32)),
      ctx_(ctx),
      cap_(cap),
      buffers_(buffers) {}

State Model::fresh(const std::string& p) const {
    State s(ctx_);
#define KEEL_S(n) s.n = ctx_.bv_const((p + #n).c_str(), 32);
    KEEL_SPEC_SCALARS(KEEL_S)
#undef KEEL_S
    auto arr = [&](const char* n, std::uint32_t len) {
        std::vector<expr> v;
        for (std::uint32_t i = 0; i < len; ++i) {
            v.push_back(ctx_.bv_const((p + n + "[" + std::to_string(i) + "]").c_str(), 32));
        }
        return v;
    };
#define KEEL_C(n) s.n = arr(#n, cap_);
#define KEEL_B(n) s.n = arr(#n, buffers_);
    KEEL_SPEC_SLOT_ARRAYS(KEEL_C)
    KEEL_SPEC_REC_ARRAYS(KEEL_C)
    KEEL_SPEC_SQ_ARRAYS(KEEL_C)
    KEEL_SPEC_CQ_ARRAYS(KEEL_C)
    KEEL_SPEC_BUF_ARRAYS(KEEL_B)
#undef KEEL_C
#undef KEEL_B
    return s;
}

State Model::initial(const expr& first) const {
    State s = fresh("init.");  // ring contents stay arbitrary: never read before written
    s.cmode = bv(kCOpen);
    s.smode = bv(kSOpen);
    s.sq_tail = s.sq_head_seen = s.cq_head = s.cq_tail_seen = s.drain_limit = first;
    s.sq_head = s.sq_tail_seen = s.cq_tail = s.cq_head_seen = s.cq_published = first;
    s.sq_head_pub = s.sq_tail_pub = s.cq_head_pub = s.cq_tail_pub = first;
    s.drained = s.cursor = s.outstanding = s.ops_live = bv(0);
    s.client_closed = s.server_closed = bv(0);
    for (std::uint32_t i = 0; i < cap_; ++i) {
        s.c_state[i] = bv(R::kSlotFree);
        s.c_gen[i] = bv(0);
        s.c_buf[i] = bv(kNoBuf);
        s.c_cancel[i] = bv(0);
        s.op_state[i] = bv(R::kOpFree);
        s.op_buf[i] = bv(kNoBuf);
        s.op_flag[i] = bv(0);
        s.op_gen[i] = bv(0);
    }
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        s.bstate[b] = bv(R::kBufPooled);
        s.held[b] = bv(R::kHeldNo);
    }
    return s;
}

State Model::merge(const expr& c, const State& a, const State& b) const {
    State s(ctx_);
#define KEEL_S(n) s.n = z3::ite(c, a.n, b.n);
    KEEL_SPEC_SCALARS(KEEL_S)
#undef KEEL_S
#define KEEL_A(n)                                \
    for (std::size_t i = 0; i < a.n.size(); ++i) \
        s.n.push_back(z3::ite(c, a.n[i], b.n[i]));
    KEEL_SPEC_ARRAYS(KEEL_A)
#undef KEEL_A
    return s;
}

std::vector<std::pair<std::string, expr>> Model::fields(const State& s) const {
    std::vector<std::pair<std::string, expr>> f;
#define KEEL_S(n) f.emplace_back(#n, s.n);
    KEEL_SPEC_SCALARS(KEEL_S)
#undef KEEL_S
#define KEEL_A(n)                                \
    for (std::size_t i = 0; i < s.n.size(); ++i) \
        f.emplace_back(#n "[" + std::to_string(i) + "]", s.n[i]);
    KEEL_SPEC_ARRAYS(KEEL_A)
#undef KEEL_A
    return f;
}

expr Model::sel(const std::vector<expr>& v, const expr& i, const expr& dflt) const {
    expr r = dflt;
    for (std::size_t k = v.size(); k-- > 0;)
        r = z3::ite(i == bv(k), v[k], r);
    return r;
}

std::vector<expr> Model::upd(const std::vector<expr>& v, const expr& i, const expr& x) const {
    std::vector<expr> r;
    for (std::size_t k = 0; k < v.size(); ++k)
        r.push_back(z3::ite(i == bv(k), x, v[k]));
    return r;
}

// Counts stay far below 2^16 (at most 3 * capacity items), so they are summed in 16 bits:
// narrower adders make the bit-blasted queries much cheaper.
expr Model::count(const std::vector<expr>& conds) const {
    expr n = ctx_.bv_val(0, 16);
    for (const auto& c : conds)
        n = n + z3::ite(c, ctx_.bv_val(1, 16), ctx_.bv_val(0, 16));
    return z3::zext(n, 16);
}

expr Model::live_count(const State& s) const {
    std::vector<expr> c;
    for (auto& x : s.c_state)
        c.push_back(x == bv(R::kSlotLive));
    return count(c);
}

expr Model::tag_of(const State& s, std::uint32_t slot) const {
    return R::tag_make<expr>(bv(slot), s.c_gen[slot]);
}

expr Model::server_live(const State& s) const {
    return s.ops_live + R::ring_used<expr>(s.cq_head_seen, s.cq_tail);
}

std::vector<expr> Model::simplify_all(const std::vector<expr>& es) const {
    z3::sort_vector sorts(ctx_);
    z3::expr_vector args(ctx_);
    for (const auto& e : es) {
        sorts.push_back(e.get_sort());
        args.push_back(e);
    }
    auto pack = ctx_.function("state!pack", sorts, ctx_.bool_sort());
    auto all = pack(args).simplify();
    std::vector<expr> r;
    for (unsigned i = 0; i < es.size(); ++i)
        r.push_back(all.arg(i));
    return r;
}

std::uint64_t Model::concrete(const expr& v) {
    std::uint64_t x = 0;
    if (v.is_true())
        return 1;
    if (v.is_false())
        return 0;
    if (!v.is_numeral_u64(x))
        return ~std::uint64_t(0);
    return x;
}

State Model::simplified(const State& s) const {
    std::vector<expr*> fields;
    State r = s;
#define KEEL_S(n) fields.push_back(&r.n);
    KEEL_SPEC_SCALARS(KEEL_S)
#undef KEEL_S
#define KEEL_A(n)       \
    for (auto& x : r.n) \
        fields.push_back(&x);
    KEEL_SPEC_ARRAYS(KEEL_A)
#undef KEEL_A
    std::vector<expr> es;
    for (auto* f : fields)
        es.push_back(*f);
    auto out = simplify_all(es);
    for (std::size_t i = 0; i < fields.size(); ++i)
        *fields[i] = out[i];
    return r;
}

expr Model::well_typed(const State& s) const {
    expr w = ctx_.bool_val(true);
    auto lt = [&](const expr& x, std::uint64_t n) { w = w && z3::ult(x, bv(n)); };
    lt(s.cmode, 3);
    lt(s.smode, 3);
    lt(s.drained, 2);
    lt(s.client_closed, 2);
    lt(s.server_closed, 2);
    for (std::uint32_t i = 0; i < cap_; ++i) {
        lt(s.c_state[i], 2);
        lt(s.c_gen[i], 0x10000);
        lt(s.c_buf[i], 0x10000);
        lt(s.c_cancel[i], 2);
        lt(s.op_state[i], 3);
        lt(s.op_buf[i], 0x10000);
        lt(s.op_flag[i], 2);
        lt(s.op_gen[i], 0x10000);
        lt(s.sq_opcode[i], 0x10000);
        lt(s.sq_buffer[i], 0x10000);
        lt(s.sq_target_hi[i], 2);
        lt(s.cq_status[i], 0x10000);
        lt(s.cq_buffer[i], 0x10000);
    }
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        lt(s.bstate[b], 3);
        lt(s.held[b], 2);
    }
    w = w && z3::ule(bsize, bv(1u << 30)) && z3::ult(op_limit, bv(0x10000));
    return w;
}

Out Model::base(const State& s) const {
    return Out{s,
               bv(0),
               bv(0),
               bv(0),
               bv(0),
               bv(kNoBuf),
               bv(0),
               ctx_.bool_val(true),
               ctx_.bool_val(true),
               ctx_.bool_val(true)};
}

// ---------------------------------------------------------------- client ----------------

Out Model::acquire(const State& s, const expr& b) const {
    Out o = base(s);
    std::vector<expr> pooled;
    for (auto& x : s.bstate)
        pooled.push_back(R::client_may_acquire<expr>(x));
    o.err = R::acquire_error<expr>(
        bv(0), [&] { return ctx_.bool_val(false); },  // created: never Unset here
        [&] { return count(pooled) == bv(0); });
    auto ok = o.err == bv(0);
    o.choice_ok = !ok || (z3::ult(b, bv(buffers_)) &&
                          R::client_may_acquire<expr>(sel(s.bstate, b, bv(R::kBufInHand))));
    State n = s;
    n.bstate = upd(s.bstate, b, bv(R::kBufInHand));
    o.next = merge(ok, n, s);
    o.value = b;
    return o;
}

// Release is reachable only with a handle, i.e. for a buffer in hand (IPC-R-032).
Out Model::release(const State& s, const expr& b) const {
    Out o = base(s);
    auto st_b = sel(s.bstate, b, bv(R::kBufLent));
    o.choice_ok = z3::ult(b, bv(buffers_)) && st_b == bv(R::kBufInHand);
    o.safe = R::client_may_release<expr>(st_b);
    State n = s;
    n.bstate = upd(s.bstate, b, bv(R::kBufPooled));
    o.next = n;
    return o;
}

Out Model::push(const State& s, const expr& opcode, const expr& buffer, const expr& length,
                const expr& is_cancel, const expr& target, const expr& slot) const {
    Out o = base(s);
    auto cancel_op = bv(std::uint32_t(keel::ipc::abi::Op::Cancel));
    auto refresh = !R::ring_has_room<expr>(s.sq_head_seen, s.sq_tail, bv(cap_));
    auto head = s.sq_head_pub;
    auto head_ok = R::ring_head_valid<expr>(s.sq_head_seen, head, s.sq_tail);
    auto seen = z3::ite(refresh, head, s.sq_head_seen);
    // IPC-R-011 credit, IPC-R-002/005 room (re-read the consumer's head only when full).
    expr err = R::push_error<expr>(
        bv(0), [&] { return s.cmode == bv(kCPeerGone); }, [&] { return !(s.cmode == bv(kCOpen)); },
        [&] { return is_cancel == bv(0) && opcode == cancel_op; },
        [&] { return !R::credit_ok<expr>(s.outstanding, bv(cap_)); },
        [&] { return refresh && !head_ok; },
        [&] { return !R::ring_has_room<expr>(seen, s.sq_tail, bv(cap_)); });
    o.err = err;
    auto ok = err == bv(0);
    // Validate, then commit: a failed call changes nothing, not even the cached head.
    const State& failed = s;

    std::vector<expr> free_slots;
    for (auto& x : s.c_state)
        free_slots.push_back(x == bv(R::kSlotFree));
    o.safe = !ok || count(free_slots) != bv(0);
    o.alloc_ok = !ok || (z3::ult(slot, bv(cap_)) &&
                         sel(s.c_state, slot, bv(R::kSlotLive)) == bv(R::kSlotFree));
    auto gen = sel(s.c_gen, slot, bv(0));
    auto tag = R::tag_make<expr>(slot, gen);
    State n = failed;
    n.sq_head_seen = seen;
    n.c_state = upd(s.c_state, slot, bv(R::kSlotLive));
    n.c_buf = upd(s.c_buf, slot, buffer);
    n.c_cancel = upd(s.c_cancel, slot, is_cancel);
    auto has_buf = !(buffer == bv(kNoBuf));
    auto lent = R::client_after_lend<expr>(sel(s.bstate, buffer, bv(0)));
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        n.bstate[b] = z3::ite(has_buf && buffer == bv(b), lent, s.bstate[b]);
    }
    auto at = R::ring_slot<expr>(s.sq_tail, bv(cap_));
    n.sq_tag = upd(s.sq_tag, at, tag);
    n.sq_opcode = upd(s.sq_opcode, at, opcode);
    n.sq_buffer = upd(s.sq_buffer, at, buffer);
    n.sq_length = upd(s.sq_length, at, length);
    n.sq_target = upd(s.sq_target, at, target);
    n.sq_target_hi = upd(s.sq_target_hi, at, bv(0));
    n.sq_tail = s.sq_tail + bv(1);
    n.outstanding = s.outstanding + bv(1);
    o.next = merge(ok, n, failed);
    o.value = tag;
    return o;
}

Out Model::submit(const State& s, const expr& opcode, const expr& buffer, const expr& length,
                  const expr& slot) const {
    auto has_buf = !(buffer == bv(kNoBuf));
    // IPC-R-030: only a buffer in hand may be lent; checked before anything else.
    // A handle is this client's (the model has no other), never empty.
    auto no = [&] { return ctx_.bool_val(false); };
    expr pre = z3::ite(has_buf,
                       R::lend_error<expr>(
                           bv(0), no, no, [&] { return !z3::ult(buffer, bv(buffers_)); },
                           [&] { return !R::client_may_lend<expr>(sel(s.bstate, buffer, bv(0))); },
                           [&] { return z3::ugt(length, bsize); }),
                       R::unlent_error<expr>(bv(0), [&] { return !(length == bv(0)); }));
    Out o = push(s, opcode, buffer, length, bv(0), bv(0), slot);
    auto pre_ok = pre == bv(0);
    o.err = z3::ite(pre_ok, o.err, pre);
    o.next = merge(pre_ok, o.next, s);
    o.safe = !pre_ok || o.safe;
    o.alloc_ok = !pre_ok || o.alloc_ok;
    return o;
}

Out Model::cancel(const State& s, const expr& target, const expr& slot) const {
    return push(s, bv(std::uint32_t(keel::ipc::abi::Op::Cancel)), bv(kNoBuf), bv(0), bv(1), target,
                slot);
}

Out Model::publish(const State& s) const {
    Out o = base(s);
    State n = s;
    n.sq_tail_pub = s.sq_tail;
    o.next = merge(s.cmode == bv(kCOpen), n, s);
    return o;
}

State Model::free_slot(const State& s, const expr& slot) const {
    State n = s;
    n.c_state = upd(s.c_state, slot, bv(R::kSlotFree));
    n.c_gen = upd(s.c_gen, slot, R::gen_next<expr>(sel(s.c_gen, slot, bv(0))));
    n.c_buf = upd(s.c_buf, slot, bv(kNoBuf));
    n.outstanding = s.outstanding - bv(1);
    return n;
}

// One completion from the ring (IPC-R-004, IPC-R-040..044).
Out Model::reap_ring(const State& s) const {
    Out o = base(s);
    auto cap = bv(cap_);
    auto empty_now = !R::ring_has_entry<expr>(s.cq_head, s.cq_tail_seen);
    auto tail = s.cq_tail_pub;
    auto tail_ok = R::ring_tail_valid<expr>(s.cq_head, s.cq_tail_seen, tail, cap);
    auto open = s.cmode == bv(kCOpen);
    auto seen = z3::ite(empty_now && open && tail_ok, tail, s.cq_tail_seen);
    // The tail read is committed together with the entry it published; on any error the
    // state is unchanged.
    State pre = s;

    auto at = R::ring_slot<expr>(s.cq_head, cap);
    auto tag = sel(s.cq_tag, at, bv(0));
    auto status = sel(s.cq_status, at, bv(0));
    auto ebuf = sel(s.cq_buffer, at, bv(0));
    auto slot = R::tag_slot<expr>(tag);
    auto sstate = sel(s.c_state, slot, bv(R::kSlotFree));
    auto sgen = sel(s.c_gen, slot, bv(0));
    auto sbuf = sel(s.c_buf, slot, bv(kNoBuf));
    auto scancel = sel(s.c_cancel, slot, bv(0));
    auto valid = R::completion_matches<expr>(tag, sstate, sgen, sbuf, ebuf) &&
                 R::completion_status_valid<expr>(scancel, status);
    o.err = R::reap_error<expr>(
        bv(0), [&] { return empty_now && !open; }, [&] { return empty_now && !tail_ok; },
        [&] { return !R::ring_has_entry<expr>(s.cq_head, seen); },
        [&] { return !R::completion_slot_in_range<expr>(tag, cap); }, [&] { return !valid; });
    auto ok = o.err == bv(0);
    State n = free_slot(pre, slot);
    n.cq_tail_seen = seen;
    auto has_buf = !(sbuf == bv(kNoBuf));
    auto back = R::client_after_return<expr>(sel(s.bstate, sbuf, bv(0)));
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        n.bstate[b] = z3::ite(has_buf && sbuf == bv(b), back, s.bstate[b]);
    }
    n.cq_head = s.cq_head + bv(1);
    n.cq_head_pub = n.cq_head;
    o.next = merge(ok, n, pre);
    o.r_tag = tag;
    o.r_status = status;
    o.r_buffer = sbuf;
    o.r_cancel = scancel;
    return o;
}

// Teardown drain (IPC-R-070..072): the ring up to the limit, then each live slot locally.
Out Model::reap(const State& s) const {
    Out ring = reap_ring(s);
    auto open = s.cmode == bv(kCOpen);
    auto try_ring = !open && s.drained == bv(0) && !(s.cq_head == s.drain_limit);
    auto ring_ok = ring.err == bv(0);

    // Leftovers: the lowest live slot at or after the cursor. A failed ring read in teardown
    // changes nothing; the drain ends (drained = 1) once a leftover is handed out, and an
    // Empty leftover reap changes nothing either.
    const State& d = s;
    expr found = ctx_.bool_val(false);
    expr idx = bv(cap_);
    for (std::uint32_t k = cap_; k-- > 0;) {
        auto here = z3::uge(bv(k), d.cursor) && d.c_state[k] == bv(R::kSlotLive);
        idx = z3::ite(here, bv(k), idx);
        found = found || here;
    }
    Out left = base(d);
    left.err = z3::ite(found, bv(0), bv(ec(E::Empty)));
    State n = free_slot(d, idx);
    auto sbuf = sel(d.c_buf, idx, bv(kNoBuf));
    auto has_buf = !(sbuf == bv(kNoBuf));
    auto back = R::client_after_return<expr>(sel(d.bstate, sbuf, bv(0)));
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        n.bstate[b] = z3::ite(has_buf && sbuf == bv(b), back, d.bstate[b]);
    }
    n.cursor = idx + bv(1);
    n.drained = bv(1);
    left.next = merge(found, n, d);
    left.r_tag = R::tag_make<expr>(idx, sel(d.c_gen, idx, bv(0)));
    left.r_status = z3::ite(d.cmode == bv(kCPeerGone), R::teardown_status<expr>(bv(0)),
                            bv(st(keel::ipc::abi::Status::Cancelled)));
    left.r_buffer = sbuf;
    left.r_cancel = sel(d.c_cancel, idx, bv(0));

    auto use_ring = open || (try_ring && ring_ok);
    Out o = base(s);
    o.err = z3::ite(use_ring, ring.err, left.err);
    o.next = merge(use_ring, ring.next, left.next);
    o.r_tag = z3::ite(use_ring, ring.r_tag, left.r_tag);
    o.r_status = z3::ite(use_ring, ring.r_status, left.r_status);
    o.r_buffer = z3::ite(use_ring, ring.r_buffer, left.r_buffer);
    o.r_cancel = z3::ite(use_ring, ring.r_cancel, left.r_cancel);
    return o;
}

Out Model::peer_gone(const State& s) const {
    Out o = base(s);
    auto tail = s.cq_tail_pub;
    auto ok = R::ring_tail_valid<expr>(s.cq_head, s.cq_tail_seen, tail, bv(cap_));
    State n = s;
    n.cq_tail_seen = z3::ite(ok, tail, s.cq_tail_seen);
    n.drain_limit = n.cq_tail_seen;
    n.cmode = bv(kCPeerGone);
    o.next = merge(s.cmode == bv(kCOpen), n, s);
    return o;
}

Out Model::client_close(const State& s) const {
    Out o = peer_gone(s);
    State n = o.next;
    n.cmode = bv(kCClosed);
    n.client_closed = bv(1);
    State closed = s;
    closed.cmode = bv(kCClosed);
    // Open: drain limit and announce. Closed already: nothing. PeerGone: PeerGone stands.
    o.next = merge(s.cmode == bv(kCOpen), n, merge(s.cmode == bv(kCClosed), closed, s));
    return o;
}

// ---------------------------------------------------------------- server ----------------

Out Model::poll_begin(const State& s) const {
    Out o = base(s);
    auto cap = bv(cap_);
    auto tail = s.sq_tail_pub;
    auto head = s.cq_head_pub;
    // IPC-R-012: the client's head is read only when the credit as last seen does not cover
    // every visible entry.
    auto reads_head =
        !R::credit_covers<expr>(server_live(s), R::ring_used<expr>(s.sq_head, tail), cap);
    o.err = R::poll_error<expr>(
        bv(0), [&] { return s.smode == bv(kSClientGone); },
        [&] { return !(s.smode == bv(kSOpen)); }, [&] { return s.client_closed == bv(1); },
        [&] { return !R::ring_tail_valid<expr>(s.sq_head, s.sq_tail_seen, tail, cap); },
        [&] { return reads_head && !R::ring_head_valid<expr>(s.cq_head_seen, head, s.cq_tail); });
    State n = s;
    n.sq_tail_seen = tail;
    n.cq_head_seen = z3::ite(reads_head, head, s.cq_head_seen);
    o.next = merge(o.err == bv(0), n, s);
    return o;
}

expr Model::accept_enabled(const State& s) const {
    return s.smode == bv(kSOpen) && R::ring_has_entry<expr>(s.sq_head, s.sq_tail_seen) &&
           R::credit_ok<expr>(server_live(s), bv(cap_));
}

Model::Posted Model::post(const State& s, const expr& tag, const expr& status,
                          const expr& buffer) const {
    // IPC-R-010: credit reserved at acceptance guarantees room (implementation asserts it).
    auto room = R::ring_has_room<expr>(s.cq_head_seen, s.cq_tail, bv(cap_));
    State n = s;
    auto at = R::ring_slot<expr>(s.cq_tail, bv(cap_));
    n.cq_tag = upd(s.cq_tag, at, tag);
    n.cq_status = upd(s.cq_status, at, status);
    n.cq_buffer = upd(s.cq_buffer, at, buffer);
    n.cq_tail = s.cq_tail + bv(1);
    return Posted{n, room};
}

State Model::free_op(const State& s, const expr& r) const {
    State n = s;
    auto buf = sel(s.op_buf, r, bv(kNoBuf));
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        n.held[b] = z3::ite(!(buf == bv(kNoBuf)) && buf == bv(b), bv(R::kHeldNo), s.held[b]);
    }
    n.op_state = upd(s.op_state, r, bv(R::kOpFree));
    n.op_flag = upd(s.op_flag, r, bv(0));
    // IPC-R-054: every handle of the record's last operation is stale from now on.
    n.op_gen = upd(s.op_gen, r, R::gen_next<expr>(sel(s.op_gen, r, bv(0))));
    n.ops_live = s.ops_live - bv(1);
    return n;
}

// One submission (IPC-R-050..053), cancellation (IPC-R-060..064).
Out Model::accept_one(const State& s, const expr& r) const {
    Out o = base(s);
    using Op = keel::ipc::abi::Op;
    using St = keel::ipc::abi::Status;
    auto at = R::ring_slot<expr>(s.sq_head, bv(cap_));
    auto tag = sel(s.sq_tag, at, bv(0));
    auto opcode = sel(s.sq_opcode, at, bv(0));
    auto buffer = sel(s.sq_buffer, at, bv(0));
    auto length = sel(s.sq_length, at, bv(0));
    auto target = sel(s.sq_target, at, bv(0));
    auto target_hi = sel(s.sq_target_hi, at, bv(0));
    State s1 = s;
    s1.sq_head = s.sq_head + bv(1);
    s1.sq_head_pub = s1.sq_head;

    auto no_buf = buffer == bv(kNoBuf);
    auto held_b = z3::ite(no_buf, bv(R::kHeldNo), sel(s.held, buffer, bv(R::kHeldNo)));
    auto buffer_ok = R::buffer_id_in_range<expr>(buffer, bv(buffers_)) &&
                     R::server_may_hold<expr>(buffer, held_b);
    auto back = z3::ite(buffer_ok, buffer, bv(kNoBuf));
    auto is_cancel = opcode == bv(std::uint32_t(Op::Cancel));
    auto length_ok = z3::ite(no_buf, length == bv(0), z3::ule(length, bsize));
    auto bad = z3::ite(
        is_cancel, !no_buf,
        !buffer_ok || !length_ok ||
            (!(opcode == bv(std::uint32_t(Op::Nop))) &&
             (z3::ult(opcode, bv(keel::ipc::abi::kFirstServiceOp)) || z3::uge(opcode, op_limit))));
    auto nop = !is_cancel && !bad && opcode == bv(std::uint32_t(Op::Nop));
    auto queue = !is_cancel && !bad && !nop;
    auto do_cancel = is_cancel && !bad;

    // Immediate answers: BadRequest or Nop's Ok, returning the buffer only if it was lendable.
    Posted imm = post(s1, tag, z3::ite(bad, bv(st(St::BadRequest)), bv(st(St::Ok))), back);

    // Queue for the service.
    std::vector<expr> free_recs;
    for (auto& x : s.op_state)
        free_recs.push_back(x == bv(R::kOpFree));
    State q = s1;
    q.op_state = upd(s1.op_state, r, bv(R::kOpQueued));
    q.op_tag = upd(s1.op_tag, r, tag);
    q.op_buf = upd(s1.op_buf, r, buffer);
    q.op_flag = upd(s1.op_flag, r, bv(0));
    for (std::uint32_t b = 0; b < buffers_; ++b) {
        q.held[b] = z3::ite(!no_buf && buffer == bv(b), bv(R::kHeldYes), s1.held[b]);
    }
    q.ops_live = s1.ops_live + bv(1);

    // Cancel: the first (lowest) non-free record with the target tag.
    expr found = ctx_.bool_val(false);
    expr t = bv(0);
    for (std::uint32_t k = cap_; k-- > 0;) {
        auto here =
            target_hi == bv(0) && !(s1.op_state[k] == bv(R::kOpFree)) && s1.op_tag[k] == target;
        t = z3::ite(here, bv(k), t);
        found = found || here;
    }
    auto fbv = z3::ite(found, bv(1), bv(0));
    auto t_state = sel(s1.op_state, t, bv(0));
    auto out = R::resolve_cancel<expr>(fbv, z3::ite(found, t_state, bv(0)));
    auto completes = !(out.target_completes == bv(0));
    Posted tp =
        post(s1, sel(s1.op_tag, t, bv(0)), bv(st(St::Cancelled)), sel(s1.op_buf, t, bv(kNoBuf)));
    State c1 = merge(completes, free_op(tp.s, t), s1);
    State c2 = c1;
    c2.op_state = upd(c1.op_state, t, z3::ite(found, out.target_state, sel(c1.op_state, t, bv(0))));
    c2.op_flag =
        upd(c1.op_flag, t, z3::ite(!(out.target_flag == bv(0)), bv(1), sel(c1.op_flag, t, bv(0))));
    Posted cp = post(c2, tag, out.cancel_status, out.cancel_buffer);

    o.next = merge(do_cancel, cp.s, merge(queue, q, imm.s));
    o.alloc_ok =
        !queue || (z3::ult(r, bv(cap_)) && sel(s.op_state, r, bv(R::kOpQueued)) == bv(R::kOpFree));
    o.safe =
        z3::ite(do_cancel,
                // the target, if completed here, was waiting in the queue; both posts had room
                (!completes || t_state == bv(R::kOpQueued)) && (!completes || tp.room) && cp.room,
                z3::ite(queue, count(free_recs) != bv(0), imm.room));
    return o;
}

Out Model::poll_end(const State& s, const expr& drained) const {
    Out o = base(s);
    State n = s;
    n.sq_head_pub = s.sq_head;
    auto pub = s.smode == bv(kSOpen) && !(s.cq_published == s.cq_tail);
    n.cq_tail_pub = z3::ite(pub, s.cq_tail, s.cq_tail_pub);
    n.cq_published = z3::ite(pub, s.cq_tail, s.cq_published);
    o.next = merge(!(drained == bv(0)), n, s);
    return o;
}

Out Model::take(const State& s, const expr& r) const {
    Out o = base(s);
    std::vector<expr> queued;
    for (auto& x : s.op_state)
        queued.push_back(x == bv(R::kOpQueued));
    o.err = R::take_error<expr>(
        bv(0), [&] { return !(s.smode == bv(kSOpen)); }, [&] { return count(queued) == bv(0); });
    auto ok = o.err == bv(0);
    auto rs = sel(s.op_state, r, bv(R::kOpFree));
    o.choice_ok = !ok || (z3::ult(r, bv(cap_)) && rs == bv(R::kOpQueued));
    o.safe = !ok || R::server_may_take<expr>(rs);
    State n = s;
    n.op_state = upd(s.op_state, r, bv(R::kOpTaken));
    o.next = merge(ok, n, s);
    o.value = R::op_handle<expr>(r, sel(s.op_gen, r, bv(0)));
    o.r_tag = sel(s.op_tag, r, bv(0));
    o.r_buffer = sel(s.op_buf, r, bv(kNoBuf));
    return o;
}

Out Model::complete(const State& s, const expr& handle, const expr& status) const {
    Out o = base(s);
    auto r = R::op_record<expr>(handle);
    auto rs = sel(s.op_state, r, bv(R::kOpFree));
    auto current = R::server_handle_current<expr>(handle, rs, sel(s.op_gen, r, bv(0)));
    auto open = s.smode == bv(kSOpen);
    auto refresh = open && !R::ring_has_room<expr>(s.cq_head_seen, s.cq_tail, bv(cap_));
    auto head_ok = R::ring_head_valid<expr>(s.cq_head_seen, s.cq_head_pub, s.cq_tail);
    o.err = R::complete_error<expr>(
        bv(0), [&] { return ctx_.bool_val(false); },  // attached: never Unset here
        [&] { return !z3::ult(r, bv(cap_)); }, [&] { return !current; },
        [&] { return !R::completion_status_valid<expr>(bv(0), status); },
        [&] { return refresh && !head_ok; });
    State pre = s;
    pre.cq_head_seen = z3::ite(refresh, s.cq_head_pub, s.cq_head_seen);
    Posted p = post(pre, sel(s.op_tag, r, bv(0)), status, sel(s.op_buf, r, bv(kNoBuf)));
    State n = free_op(merge(open, p.s, pre), r);
    o.next = merge(o.err == bv(0), n, s);
    o.safe = !(o.err == bv(0)) || !open || p.room;
    return o;
}

Out Model::server_publish(const State& s) const {
    Out o = base(s);
    State n = s;
    n.cq_tail_pub = s.cq_tail;
    n.cq_published = s.cq_tail;
    o.next = merge(s.smode == bv(kSOpen) && !(s.cq_published == s.cq_tail), n, s);
    return o;
}

// IPC-R-071: queued operations are dropped (their buffers released), taken ones flagged.
Out Model::client_gone(const State& s) const {
    Out o = base(s);
    State n = s;
    for (std::uint32_t k = 0; k < cap_; ++k) {
        auto q = s.op_state[k] == bv(R::kOpQueued);
        n = merge(q, free_op(n, bv(k)), n);
        n.op_flag[k] = z3::ite(s.op_state[k] == bv(R::kOpTaken), bv(1), n.op_flag[k]);
    }
    n.smode = bv(kSClientGone);
    o.next = merge(s.smode == bv(kSOpen), n, s);
    return o;
}

Out Model::server_close(const State& s) const {
    Out o = base(s);
    State n = s;
    n.server_closed = bv(1);
    n.smode = bv(kSClosed);
    o.next = merge(s.smode == bv(kSClosed), s, n);
    return o;
}

}  // namespace keel::spec
