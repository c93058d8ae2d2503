// Parametric trace conformance (spec/include/spec/param_trace.hpp): the recorded trace replayed
// through param_model.cpp's transitions, every parameter and choice concrete. After each step
// the model's state is simplified in one pass to numerals (scalars, and the array entries at the
// indices any later step can read or the comparison looks at) and rebuilt from them, so that
// expressions stay small; ghost fields, which no step reads, are reset to constant arrays.
#include <spec/param_trace.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <ipc/rules.hpp>
#include <spec/param_model.hpp>
#include <spec/z3_context.hpp>

namespace keel::spec {

namespace {

namespace R = keel::ipc::rules;
using param::PModel;
using param::POut;
using param::PState;
using z3::expr;
using Field = expr PState::*;

constexpr std::int64_t kNotConcrete = std::numeric_limits<std::int64_t>::min();

std::string hex(std::uint64_t v) {
    return trace_number(v);
}

std::uint64_t m32(std::int64_t v) {
    return std::uint64_t(v) & 0xFFFF'FFFFu;
}

std::int64_t slot_of(std::int64_t i, std::int64_t cap) {
    return ((i % cap) + cap) % cap;
}

// clang-format off
enum Sc {
#define KEEL_E(n) k_##n,
    KEEL_SPEC_SCALARS(KEEL_E)
#undef KEEL_E
    kScalars
};
enum Ar {
#define KEEL_E(n) a_##n,
    KEEL_PARAM_ARRAYS(KEEL_E)
#undef KEEL_E
    kArrays
};
// clang-format on

const std::vector<std::pair<const char*, Field>>& scalar_fields() {
    static const std::vector<std::pair<const char*, Field>> v{
#define KEEL_E(n) {#n, &PState::n},
        KEEL_SPEC_SCALARS(KEEL_E)
#undef KEEL_E
    };
    return v;
}
const std::vector<std::pair<const char*, Field>>& array_fields() {
    static const std::vector<std::pair<const char*, Field>> v{
#define KEEL_E(n) {#n, &PState::n},
        KEEL_PARAM_ARRAYS(KEEL_E)
#undef KEEL_E
    };
    return v;
}
const std::vector<Field>& ghost_fields() {
    static const std::vector<Field> v{
#define KEEL_E(n) &PState::n,
        KEEL_PARAM_GHOSTS(KEEL_E)
#undef KEEL_E
    };
    return v;
}

enum class Kind { Table, Buffer, Sq, Cq };
Kind kind_of(int a) {
    if (a == a_bstate || a == a_held)
        return Kind::Buffer;
    if (a >= a_sq_tag && a <= a_sq_target_hi)
        return Kind::Sq;
    if (a >= a_cq_tag)
        return Kind::Cq;
    return Kind::Table;
}

// A state whose every field is a numeral (arrays: constant arrays plus stores), with the
// numbers alongside.
struct Conc {
    explicit Conc(z3::context& c) : s(c) {}
    PState s;
    std::vector<std::int64_t> sc;                          // [kScalars]
    std::vector<std::map<std::int64_t, std::int64_t>> ar;  // [kArrays]: index -> value
    std::int64_t at(int a, std::int64_t i) const {
        auto it = ar[a].find(i);
        return it == ar[a].end() ? 0 : it->second;
    }
};

class PChecker {
  public:
    explicit PChecker(const Trace& t) : t_(t), m_(ctx_), c_(ctx_), cap_(t.capacity) {
        m_.cap = m_.bv(t.capacity);
        m_.cap_n = m_.n(t.capacity);
        m_.nb = m_.bv(t.buffer_count);
        m_.bsize = m_.bv(t.buffer_size);
        m_.op_limit = m_.bv(t.op_limit);
        m_.set_expand_bounded(true);
        PState s = m_.initial(m_.n(t.first_index));
        // Ring contents and ghosts are arbitrary initially: constant arrays, then the slots.
        for (auto& [name, f] : array_fields()) {
            if (!(s.*f).is_const() || (s.*f).decl().decl_kind() != Z3_OP_UNINTERPRETED)
                continue;
            s.*f = zero_array((s.*f).get_sort());
        }
        std::int64_t first = t.first_index;
        load_ring(s, t.initial.shared, true, first - cap_, first);
        load_ring(s, t.initial.shared, true, first, first + cap_);
        load_ring(s, t.initial.shared, false, first - cap_, first);
        load_ring(s, t.initial.shared, false, first, first + cap_);
        Windows w{first, first, first, first};
        std::vector<std::int64_t> none;
        c_ = normalize(s, w, {}, none);
    }

    Verdict run() {
        std::string why = compare_observed(t_.initial, "initial state");
        if (!why.empty())
            return fail(0, why, 0);
        for (std::size_t i = 0; i < t_.steps.size(); ++i) {
            prev_shared_ = i == 0 ? &t_.initial.shared : &t_.steps[i - 1].after.shared;
            why = step(t_.steps[i]);
            if (why.empty())
                why = compare_observed(t_.steps[i].after, "afterwards");
            if (!why.empty())
                return fail(i, why, i + 1);
        }
        return Verdict{};
    }

  private:
    struct Windows {
        std::int64_t sq_w, sq_r, cq_w, cq_r;  // writer's and reader's counters of each ring
    };
    Windows windows(const Conc& c) const {
        return Windows{c.sc[k_sq_tail], c.sc[k_sq_head], c.sc[k_cq_tail], c.sc[k_cq_head]};
    }

    expr zero_array(const z3::sort& s) const {
        auto r = s.array_range();
        expr z = r.is_int() ? ctx_.int_val(0) : ctx_.bv_val(0, r.bv_size());
        return z3::const_array(s.array_domain(), z);
    }

    Verdict fail(std::size_t i, const std::string& why, std::size_t upto) const {
        return disagreement(t_, i, why, upto, "parametric trace conformance",
                            "the parametric spec (param_model.cpp)");
    }

    static std::int64_t value_of(const expr& e) {
        if (e.is_true())
            return 1;
        if (e.is_false())
            return 0;
        std::int64_t x = 0;
        if (e.is_numeral_i64(x))
            return x;
        return kNotConcrete;
    }

    // The indices of each array that any later step may read or the comparison looks at: the
    // tables below capacity / buffer count; for a ring, the writer's last C entries and what
    // one step (one accept turn of poll) may write next, and the reader's next C entries.
    std::vector<std::int64_t> indices(int a, const Windows& w) const {
        std::set<std::int64_t> ix;
        auto add = [&](std::int64_t lo, std::int64_t hi) {
            for (auto i = lo; i < hi; ++i)
                ix.insert(i);
        };
        switch (kind_of(a)) {
            case Kind::Table:
                add(0, cap_);
                break;
            case Kind::Buffer:
                add(0, t_.buffer_count);
                break;
            case Kind::Sq:
                add(w.sq_w - cap_, w.sq_w + 1);
                add(w.sq_r, w.sq_r + cap_);
                break;
            case Kind::Cq:
                add(w.cq_w - cap_, w.cq_w + 2);
                add(w.cq_r, w.cq_r + cap_);
                break;
        }
        return {ix.begin(), ix.end()};
    }

    expr index_expr(int a, std::int64_t i) const {
        auto k = kind_of(a);
        return k == Kind::Sq || k == Kind::Cq ? ctx_.int_val(i) : m_.bv(std::uint64_t(i));
    }

    // Every field (and the extra expressions) in one simplifier call, as the concrete checker
    // does: the fields are the arguments of one uninterpreted function application. `w`: the
    // counters of the state before the step, which bound the ring indices it can touch.
    Conc normalize(const PState& s, const Windows& w, const std::vector<expr>& extras,
                   std::vector<std::int64_t>& extra_values) const {
        z3::sort_vector sorts(ctx_);
        z3::expr_vector args(ctx_);
        auto push = [&](const expr& e) {
            sorts.push_back(e.get_sort());
            args.push_back(e);
        };
        for (auto& [name, f] : scalar_fields())
            push(s.*f);
        std::vector<std::vector<std::int64_t>> ix(kArrays);
        for (int a = 0; a < kArrays; ++a) {
            ix[a] = indices(a, w);
            for (auto i : ix[a])
                push(z3::select(s.*array_fields()[a].second, index_expr(a, i)));
        }
        for (auto& e : extras)
            push(e);
        auto pack = ctx_.function("pstate!pack", sorts, ctx_.bool_sort());
        auto all = pack(args).simplify();
        Conc c(ctx_);
        c.s = s;
        unsigned k = 0;
        c.sc.resize(kScalars);
        for (std::size_t i = 0; i < scalar_fields().size(); ++i) {
            auto v = all.arg(k++);
            c.s.*(scalar_fields()[i].second) = v;
            c.sc[i] = value_of(v);
        }
        c.ar.resize(kArrays);
        for (int a = 0; a < kArrays; ++a) {
            Field f = array_fields()[a].second;
            expr arr = zero_array((s.*f).get_sort());
            for (auto i : ix[a]) {
                auto v = all.arg(k++);
                auto x = value_of(v);
                c.ar[a][i] = x;
                if (x != 0)
                    arr = z3::store(arr, index_expr(a, i), v);
            }
            c.s.*f = arr;
        }
        for (Field g : ghost_fields())
            c.s.*g = zero_array((s.*g).get_sort());
        extra_values.clear();
        for (unsigned j = 0; j < extras.size(); ++j)
            extra_values.push_back(value_of(all.arg(k++)));
        return c;
    }

    std::string not_concrete(const Conc& c) const {
        std::string d;
        for (std::size_t i = 0; i < scalar_fields().size(); ++i) {
            if (c.sc[i] == kNotConcrete)
                d += std::string("  spec field ") + scalar_fields()[i].first +
                     " does not evaluate to a value\n";
        }
        for (int a = 0; a < kArrays; ++a) {
            for (auto& [i, v] : c.ar[a]) {
                if (v == kNotConcrete)
                    d += std::string("  spec field ") + array_fields()[a].first + "[" +
                         std::to_string(i) + "] does not evaluate to a value\n";
            }
        }
        return d;
    }

    // Shared slots into ring entries at absolute indices [lo, hi).
    void load_ring(PState& s, const Shared& sh, bool sq, std::int64_t lo, std::int64_t hi) const {
        for (auto i = lo; i < hi; ++i) {
            auto at = ctx_.int_val(i);
            auto j = std::size_t(slot_of(i, cap_));
            if (sq) {
                const SqEntry& e = sh.sq.at(j);
                s.sq_tag = z3::store(s.sq_tag, at, m_.bv(e.tag));
                s.sq_opcode = z3::store(s.sq_opcode, at, m_.bv(e.opcode));
                s.sq_buffer = z3::store(s.sq_buffer, at, m_.bv(e.buffer));
                s.sq_length = z3::store(s.sq_length, at, m_.bv(e.length));
                s.sq_target = z3::store(s.sq_target, at, m_.bv(std::uint32_t(e.target)));
                s.sq_target_hi =
                    z3::store(s.sq_target_hi, at, m_.bv((e.target >> 32) != 0 ? 1 : 0));
            } else {
                const CqEntry& e = sh.cq.at(j);
                s.cq_tag = z3::store(s.cq_tag, at, m_.bv(e.tag));
                s.cq_status = z3::store(s.cq_status, at, m_.bv(e.status));
                s.cq_buffer = z3::store(s.cq_buffer, at, m_.bv(e.buffer));
            }
        }
    }

    static std::string diff(const std::string& what, std::uint64_t spec, std::uint64_t impl) {
        if (spec == impl)
            return "";
        return "  " + what + ": spec " + hex(spec) + ", implementation " + hex(impl) + "\n";
    }

    std::string compare_observed(const Observed& o, const std::string& when) const {
        const Conc& c = c_;
        std::string d = not_concrete(c);
        if (!d.empty())
            return d;
        auto& sc = c.sc;
        d += diff("client torn down (" + when + ")", sc[k_cmode] != kCOpen, o.client_torn_down);
        d += diff("client outstanding", m32(sc[k_outstanding]), o.outstanding);
        std::uint64_t pooled = 0;
        for (std::uint32_t b = 0; b < t_.buffer_count; ++b)
            pooled += c.at(a_bstate, b) == R::kBufPooled;
        d += diff("client pooled buffers", pooled, o.pooled);
        d += diff("client sq tail", m32(sc[k_sq_tail]), o.sq_tail);
        d += diff("client cq head", m32(sc[k_cq_head]), o.cq_head);
        for (std::uint32_t b = 0; b < t_.buffer_count; ++b) {
            d += diff("client buffer_state(" + std::to_string(b) + ")",
                      std::uint64_t(c.at(a_bstate, b)), o.buffer_state.at(b));
            d += diff("server buffer_held(" + std::to_string(b) + ")",
                      std::uint64_t(c.at(a_held, b)), o.held.at(b));
        }
        std::uint64_t queued = 0, taken = 0;
        for (std::int64_t r = 0; r < cap_; ++r) {
            queued += c.at(a_op_state, r) == R::kOpQueued;
            taken += c.at(a_op_state, r) == R::kOpTaken;
        }
        d += diff("server live", m32(sc[k_ops_live] + sc[k_cq_tail] - sc[k_cq_head_seen]), o.live);
        d += diff("server queued", queued, o.queued);
        d += diff("server taken", taken, o.taken);
        d += diff("server sq head", m32(sc[k_sq_head]), o.sq_head);
        d += diff("server cq tail", m32(sc[k_cq_tail]), o.cq_tail);
        const Shared& sh = o.shared;
        d += diff("shared sq head", m32(sc[k_sq_head_pub]), sh.sq_head);
        d += diff("shared sq tail", m32(sc[k_sq_tail_pub]), sh.sq_tail);
        d += diff("shared cq head", m32(sc[k_cq_head_pub]), sh.cq_head);
        d += diff("shared cq tail", m32(sc[k_cq_tail_pub]), sh.cq_tail);
        d += diff("shared client closed", std::uint64_t(sc[k_client_closed]), sh.client_closed);
        d += diff("shared server closed", std::uint64_t(sc[k_server_closed]), sh.server_closed);
        // Shared slot j holds the entry of the latest index = j (mod C) its writer passed.
        for (auto i = sc[k_sq_tail] - cap_; i < sc[k_sq_tail]; ++i) {
            auto j = std::size_t(slot_of(i, cap_));
            auto js = "[" + std::to_string(j) + "] (index " + hex(m32(i)) + ")";
            const SqEntry& e = sh.sq.at(j);
            d += diff("shared sq" + js + ".tag", std::uint64_t(c.at(a_sq_tag, i)), e.tag);
            d += diff("shared sq" + js + ".opcode", std::uint64_t(c.at(a_sq_opcode, i)), e.opcode);
            d += diff("shared sq" + js + ".buffer", std::uint64_t(c.at(a_sq_buffer, i)), e.buffer);
            d += diff("shared sq" + js + ".length", std::uint64_t(c.at(a_sq_length, i)), e.length);
            d += diff("shared sq" + js + ".args[0]",
                      std::uint64_t(c.at(a_sq_target, i)) |
                          (std::uint64_t(c.at(a_sq_target_hi, i)) << 32),
                      (e.target >> 32) != 0 ? (std::uint32_t(e.target) | (1ull << 32)) : e.target);
        }
        for (auto i = sc[k_cq_tail] - cap_; i < sc[k_cq_tail]; ++i) {
            auto j = std::size_t(slot_of(i, cap_));
            auto js = "[" + std::to_string(j) + "] (index " + hex(m32(i)) + ")";
            const CqEntry& e = sh.cq.at(j);
            d += diff("shared cq" + js + ".tag", std::uint64_t(c.at(a_cq_tag, i)), e.tag);
            d += diff("shared cq" + js + ".status", std::uint64_t(c.at(a_cq_status, i)), e.status);
            d += diff("shared cq" + js + ".buffer", std::uint64_t(c.at(a_cq_buffer, i)), e.buffer);
        }
        return d;
    }

    // Simplifies the step's outcome, compares its result with the implementation's and
    // adopts its state. `more`: further expressions to evaluate (values in `more_values`).
    std::string adopt(const POut& out, const Step& st, bool check_value,
                      const std::vector<expr>& more = {},
                      std::vector<std::int64_t>* more_values = nullptr) {
        std::vector<expr> ex{out.choice_ok && out.alloc_ok, out.safe, out.err, out.value};
        for (auto& e : more)
            ex.push_back(e);
        std::vector<std::int64_t> x;
        c_ = normalize(out.next, windows(c_), ex, x);
        std::string d;
        if (x[0] != 1)
            d += "  the implementation's choice (buffer, slot or op) is not one the spec allows\n";
        if (x[1] != 1)
            d += "  an implementation assertion must fire here\n";
        auto err = x[2];
        std::int64_t impl_err = st.ok ? 0 : std::int64_t(st.error);
        if (err != impl_err) {
            d += std::string("  result: spec ") +
                 (err == 0              ? std::string("ok")
                  : err == kNotConcrete ? std::string("(no value)")
                                        : ipc::error_name(ipc::Error(err))) +
                 ", implementation " + (st.ok ? "ok" : ipc::error_name(st.error)) + "\n";
        } else if (err == 0 && check_value) {
            d += diff("result value", m32(x[3]), st.value);
        }
        if (more_values)
            more_values->assign(x.begin() + 4, x.end());
        return d;
    }

    std::uint32_t spec_handle_for(std::uint32_t impl_op) const {
        return spec::spec_handle_for(op_map_, impl_op, t_.capacity, [&](std::uint32_t r) {
            return std::uint32_t(c_.at(a_op_gen, r));
        });
    }

    expr boolean(bool b) const { return ctx_.bool_val(b); }

    // Once a peer has written shared memory: the reader's next entries as shared memory holds
    // them, where the writer has not written them (at or past its counter) or has written past
    // them by more than C (param_trace.hpp).
    void sync_reader(bool sq) {
        if (!hostile_)
            return;
        // Not the writer's last C entries, which the previous comparison found equal.
        auto r = sq ? c_.sc[k_sq_head] : c_.sc[k_cq_head];
        auto w = sq ? c_.sc[k_sq_tail] : c_.sc[k_cq_tail];
        load_ring(c_.s, *prev_shared_, sq, r, std::min(r + cap_, w - cap_));
        load_ring(c_.s, *prev_shared_, sq, std::max(r, w), r + cap_);
        std::vector<std::int64_t> none;
        c_ = normalize(c_.s, windows(c_), {}, none);
    }

    std::string peer_write(const Step& st) {
        hostile_ = true;
        const Shared& sh = st.after.shared;
        PState s = c_.s;
        auto& sc = c_.sc;
        // A changed counter, as its reader sees it: base + ((v - base) mod 2^32).
        auto counter = [&](expr& field, Sc f, Sc base, std::uint32_t v) {
            if (m32(sc[f]) == v)
                return;
            field = m_.n(sc[base] + std::int64_t(m32(std::int64_t(v) - sc[base])));
        };
        counter(s.sq_head_pub, k_sq_head_pub, k_sq_head_seen, sh.sq_head);
        counter(s.sq_tail_pub, k_sq_tail_pub, k_sq_head, sh.sq_tail);
        counter(s.cq_head_pub, k_cq_head_pub, k_cq_head_seen, sh.cq_head);
        counter(s.cq_tail_pub, k_cq_tail_pub, k_cq_head, sh.cq_tail);
        s.client_closed = m_.bv(sh.client_closed ? 1 : 0);
        s.server_closed = m_.bv(sh.server_closed ? 1 : 0);
        load_ring(s, sh, true, sc[k_sq_tail] - cap_, sc[k_sq_tail]);
        load_ring(s, sh, true, sc[k_sq_head], sc[k_sq_head] + cap_);
        load_ring(s, sh, false, sc[k_cq_tail] - cap_, sc[k_cq_tail]);
        load_ring(s, sh, false, sc[k_cq_head], sc[k_cq_head] + cap_);
        std::vector<std::int64_t> none;
        c_ = normalize(s, windows(c_), {}, none);
        return "";
    }

    std::string poll(const Step& st) {
        sync_reader(true);
        POut b = m_.poll_begin(c_.s);
        std::vector<std::int64_t> x;
        Conc cur = normalize(b.next, windows(c_), {b.err}, x);
        if (x[0] != 0)
            return adopt(b, st, false);
        std::string d;
        std::uint32_t drained = 0;
        for (;;) {
            if (value_of(m_.accept_enabled(cur.s).simplify()) != 1)
                break;
            if (drained > 4 * cap_ + 4)
                return "  the spec's poll does not end\n";
            std::int64_t r = 0;
            while (r < cap_ && cur.at(a_op_state, r) != R::kOpFree)
                ++r;
            // Cancel's target: the lowest active record with the target tag.
            auto h = cur.sc[k_sq_head];
            std::int64_t t = 0;
            bool found = false;
            for (; t < cap_ && !found; ++t) {
                found = cur.at(a_sq_target_hi, h) == 0 && cur.at(a_op_state, t) != R::kOpFree &&
                        cur.at(a_op_tag, t) == cur.at(a_sq_target, h);
                if (found)
                    break;
            }
            if (!found)
                t = 0;
            auto outcome =
                value_of(m_.accept_one(cur.s, m_.bv(std::uint64_t(r)), boolean(found), m_.bv(t))
                             .value.simplify());
            if (outcome < 0 || outcome > 2)
                return "  the spec's accept outcome does not evaluate to a value\n";
            POut a = m_.accept_one(cur.s, m_.bv(std::uint64_t(r)), boolean(found),
                                   m_.bv(std::uint64_t(t)), int(outcome));
            Conc n = normalize(a.next, windows(cur), {a.choice_ok && a.alloc_ok, a.safe}, x);
            if (x[0] != 1)
                d += "  the implementation's choice of a record is not one the spec allows\n";
            if (x[1] != 1)
                d += "  an implementation assertion must fire in poll\n";
            for (std::int64_t k = 0; k < cap_; ++k)
                track_fifo(fifo_, std::uint32_t(k), cur.at(a_op_state, k), n.at(a_op_state, k));
            cur = n;
            ++drained;
        }
        POut e = m_.poll_end(cur.s, m_.bv(drained));
        e.value = m_.bv(drained);
        c_ = cur;
        return adopt(e, st, true) + d;
    }

    std::string step(const Step& st) {
        auto& c = c_;
        switch (st.action) {
            case Action::Acquire: {
                bool empty = true;
                for (std::uint32_t b = 0; b < t_.buffer_count; ++b)
                    empty = empty && c.at(a_bstate, b) != R::kBufPooled;
                return adopt(m_.acquire(c.s, m_.bv(st.ok ? st.value : 0), boolean(empty)), st,
                             false);
            }
            case Action::Release:
                return adopt(m_.release(c.s, m_.bv(st.buffer)), st, false);
            case Action::Submit: {
                auto slot = m_.bv(st.ok ? R::tag_slot<std::uint32_t>(st.value) : 0);
                return adopt(
                    m_.submit(c.s, m_.bv(st.opcode), m_.bv(st.buffer), m_.bv(st.length), slot), st,
                    true);
            }
            case Action::Cancel: {
                auto slot = m_.bv(st.ok ? R::tag_slot<std::uint32_t>(st.value) : 0);
                return adopt(m_.cancel(c.s, m_.bv(st.target), slot), st, true);
            }
            case Action::Publish:
                return adopt(m_.publish(c.s), st, false);
            case Action::Reap: {
                sync_reader(false);
                // Teardown leftovers: the lowest live slot at or after the cursor.
                std::int64_t idx = c_.sc[k_cursor];
                while (idx < cap_ && c_.at(a_c_state, idx) != R::kSlotLive)
                    ++idx;
                bool found = idx < cap_;
                POut out = m_.reap(c_.s, boolean(found), m_.bv(found ? std::uint64_t(idx) : 0));
                std::vector<std::int64_t> v;
                auto d = adopt(out, st, false,
                               {out.r_tag, out.r_status, out.r_buffer, out.r_cancel}, &v);
                if (d.empty() && st.ok) {
                    d += diff("reaped tag", m32(v[0]), st.reaped.tag);
                    d += diff("reaped status", m32(v[1]), st.reaped.status);
                    d += diff("reaped buffer", m32(v[2]), st.reaped.buffer);
                    d += diff("reaped is_cancel", m32(v[3]), st.reaped.is_cancel);
                }
                return d;
            }
            case Action::PeerGone:
                return adopt(m_.peer_gone(c.s), st, false);
            case Action::ClientClose:
                return adopt(m_.client_close(c.s), st, false);
            case Action::Poll:
                return poll(st);
            case Action::Take: {
                bool none = true;
                for (std::int64_t r = 0; r < cap_; ++r)
                    none = none && c.at(a_op_state, r) != R::kOpQueued;
                std::uint32_t r = fifo_.empty() ? 0 : fifo_.front();
                POut out = m_.take(c.s, m_.bv(r), boolean(none));
                std::vector<std::int64_t> v;
                auto d = adopt(out, st, false, {out.r_tag, out.r_buffer}, &v);
                if (d.empty() && st.ok) {
                    d += diff("taken op's tag", m32(v[0]), st.reaped.tag);
                    d += diff("taken op's buffer", m32(v[1]), st.reaped.buffer);
                    if (!fifo_.empty())
                        fifo_.pop_front();
                    op_map_[st.value] =
                        R::op_handle<std::uint32_t>(r, std::uint32_t(c.at(a_op_gen, r)));
                }
                return d;
            }
            case Action::Complete: {
                // Kept after a success: the handle is stale from now on, on both sides.
                auto h = spec_handle_for(st.op);
                return adopt(m_.complete(c.s, m_.bv(h), m_.bv(st.status)), st, false);
            }
            case Action::ServerPublish:
                return adopt(m_.server_publish(c.s), st, false);
            case Action::ClientGone: {
                if (c.sc[k_smode] != kSOpen)
                    return adopt(m_.client_gone_begin(c.s), st, false);
                // begin, drop each queued record, end (no other server call in between).
                POut b = m_.client_gone_begin(c.s);
                PState s = b.next;
                expr ok = b.choice_ok;
                for (std::int64_t r = 0; r < cap_; ++r) {
                    if (c.at(a_op_state, r) != R::kOpQueued)
                        continue;
                    POut d = m_.client_gone_drop(s, m_.bv(std::uint64_t(r)));
                    ok = ok && d.choice_ok;
                    s = d.next;
                }
                POut e = m_.client_gone_end(s);
                e.choice_ok = e.choice_ok && ok;
                fifo_.clear();
                return adopt(e, st, false);
            }
            case Action::ServerClose:
                return adopt(m_.server_close(c.s), st, false);
            case Action::PeerWrite:
                return peer_write(st);
        }
        return "  unknown action\n";
    }

    const Trace& t_;
    z3::context& ctx_ = trace_context();
    PModel m_;
    Conc c_;
    std::int64_t cap_;
    bool hostile_ = false;  // a PeerWrite happened
    const Shared* prev_shared_ = nullptr;
    std::deque<std::uint32_t> fifo_;                 // spec records waiting for take()
    std::map<std::uint32_t, std::uint32_t> op_map_;  // implementation handle -> spec handle
};

}  // namespace

Verdict check_trace_parametric(const Trace& trace) {
    if (trace.capacity == 0 || trace.capacity > kMaxTraceSize ||
        trace.buffer_count > kMaxTraceSize || (trace.capacity & (trace.capacity - 1)) != 0)
        return Verdict{false, 0, "trace geometry outside what the checker supports\n"};
    PChecker c(trace);
    return c.run();
}

}  // namespace keel::spec
