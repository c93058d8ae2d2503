// Model: the storage representation of the concrete model (model.hpp); its steps are
// steps.hpp's, passed placeholders for the choices this representation computes itself.
#include <spec/model.hpp>

#include "steps.hpp"

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
constexpr std::uint32_t kNoBuf = keel::ipc::abi::kNoBuffer;
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
    expr r = fresh_defaults_ ? unknown_default() : dflt;
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
    return steps().server_live(s);
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

// ---------------------------------------------------------------- storage ---------------

expr Model::at(const expr& counter) const {
    return R::ring_slot<expr>(counter, bv(cap_));
}
expr Model::used(const expr& head, const expr& tail) const {
    return R::ring_used<expr>(head, tail);
}
expr Model::has_room(const expr& head, const expr& tail) const {
    return R::ring_has_room<expr>(head, tail, bv(cap_));
}
expr Model::has_entry(const expr& head, const expr& tail) const {
    return R::ring_has_entry<expr>(head, tail);
}
expr Model::tail_valid(const expr& head, const expr& seen, const expr& tail) const {
    return R::ring_tail_valid<expr>(head, seen, tail, bv(cap_));
}
expr Model::head_valid(const expr& seen, const expr& head, const expr& tail) const {
    return R::ring_head_valid<expr>(seen, head, tail);
}
expr Model::credit_ok(const expr& live_count) const {
    return R::credit_ok<expr>(live_count, bv(cap_));
}
expr Model::credit_covers(const expr& live_count, const expr& entries) const {
    return R::credit_covers<expr>(live_count, entries, bv(cap_));
}

std::vector<expr> Model::store_if(const expr& c, const std::vector<expr>& v, const expr& i,
                                  const expr& x) const {
    std::vector<expr> r;
    for (std::size_t k = 0; k < v.size(); ++k)
        r.push_back(z3::ite(c && i == bv(k), x, v[k]));
    return r;
}

expr Model::free_slot_exists(const State& s) const {
    std::vector<expr> free;
    for (auto& x : s.c_state)
        free.push_back(x == bv(R::kSlotFree));
    return count(free) != bv(0);
}

expr Model::free_record_exists(const State& s) const {
    std::vector<expr> free;
    for (auto& x : s.op_state)
        free.push_back(x == bv(R::kOpFree));
    return count(free) != bv(0);
}

expr Model::unknown_default() const {
    return ctx_.bv_const(("past_end!" + std::to_string(unknown_defaults_++)).c_str(), 32);
}

std::vector<expr> Model::records() const {
    std::vector<expr> r;
    for (std::uint32_t k = 0; k < cap_; ++k)
        r.push_back(bv(k));
    return r;
}

expr Model::flags_of_taken(const State& s, std::vector<expr>& flag) const {
    for (std::uint32_t k = 0; k < cap_; ++k)
        flag[k] = z3::ite(s.op_state[k] == bv(R::kOpTaken), bv(1), flag[k]);
    return ctx_.bool_val(true);
}

// ---------------------------------------------------------------- the steps --------------
// steps.hpp's relation; the choices Model computes itself are passed as placeholders.

Steps<Model, State, Out> Model::steps() const {
    return Steps<Model, State, Out>(*this);
}

Out Model::acquire(const State& s, const expr& b) const {
    return steps().acquire(s, b, ctx_.bool_val(false));
}
Out Model::release(const State& s, const expr& b) const {
    return steps().release(s, b);
}
Out Model::submit(const State& s, const expr& opcode, const expr& buffer, const expr& length,
                  const expr& slot) const {
    return steps().submit(s, opcode, buffer, length, slot);
}
Out Model::cancel(const State& s, const expr& target, const expr& slot) const {
    return steps().cancel(s, target, slot);
}
Out Model::publish(const State& s) const {
    return steps().publish(s);
}
Out Model::reap(const State& s) const {
    return steps().reap(s, ctx_.bool_val(false), bv(0));
}
Out Model::peer_gone(const State& s) const {
    return steps().peer_gone(s);
}
Out Model::client_close(const State& s) const {
    return steps().client_close(s);
}
Out Model::poll_begin(const State& s) const {
    return steps().poll_begin(s);
}
expr Model::accept_enabled(const State& s) const {
    return steps().accept_enabled(s);
}
Out Model::accept_one(const State& s, const expr& r) const {
    return steps().accept_one(s, r, ctx_.bool_val(false), bv(0), -1);
}
Out Model::poll_end(const State& s, const expr& drained) const {
    return steps().poll_end(s, drained);
}
Out Model::take(const State& s, const expr& r) const {
    return steps().take(s, r, ctx_.bool_val(false));
}
Out Model::complete(const State& s, const expr& handle, const expr& status) const {
    return steps().complete(s, handle, status);
}
Out Model::server_publish(const State& s) const {
    return steps().server_publish(s);
}
Out Model::server_close(const State& s) const {
    return steps().server_close(s);
}

Out Model::client_gone(const State& s) const {
    return steps().client_gone(s);
}

}  // namespace keel::spec
