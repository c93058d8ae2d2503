// Trace conformance (spec/ipc.md §8): replays a recorded trace through the Z3 transition
// relation with every value concrete, and compares each result and each observable field
// with what the implementation reported.
#include <spec/trace.hpp>

#include <deque>
#include <map>
#include <memory>
#include <sstream>

#include <ipc/rules.hpp>
#include <spec/model.hpp>
#include <spec/z3_context.hpp>

namespace keel::spec {

namespace R = keel::ipc::rules;

const char* action_name(Action a) {
    switch (a) {
        case Action::Acquire:
            return "Client::acquire";
        case Action::Release:
            return "Client::release";
        case Action::Submit:
            return "Client::submit";
        case Action::Cancel:
            return "Client::cancel";
        case Action::Publish:
            return "Client::publish";
        case Action::Reap:
            return "Client::reap";
        case Action::PeerGone:
            return "Client::peer_gone";
        case Action::ClientClose:
            return "Client::close";
        case Action::Poll:
            return "Server::poll";
        case Action::Take:
            return "Server::take";
        case Action::Complete:
            return "Server::complete";
        case Action::ServerPublish:
            return "Server::publish";
        case Action::ClientGone:
            return "Server::client_gone";
        case Action::ServerClose:
            return "Server::close";
        case Action::PeerWrite:
            return "peer writes shared memory";
    }
    return "?";
}

Verdict disagreement(const Trace& t, std::size_t i, const std::string& why, std::size_t upto,
                     const char* check, const char* against) {
    Verdict v;
    v.ok = false;
    v.step = i;
    std::ostringstream o;
    o << "COUNTEREXAMPLE (" << check << "): step #" << i;
    if (i < t.steps.size())
        o << " " << action_name(t.steps[i].action);
    o << " disagrees with " << against << ":\n" << why << format_trace(t, upto);
    v.message = o.str();
    return v;
}

std::string trace_number(std::uint64_t v) {
    std::ostringstream o;
    if (v >= 0x10000) {
        o << "0x" << std::hex << v;
    } else {
        o << v;
    }
    return o.str();
}

namespace {

std::string hex(std::uint64_t v) {
    return trace_number(v);
}

template <class T>
std::string list(const std::vector<T>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        s += (i ? "," : "") + std::to_string(unsigned(v[i]));
    return s + "]";
}

std::string result_text(const Step& s) {
    if (!s.ok)
        return std::string("error ") + ipc::error_name(s.error);
    switch (s.action) {
        case Action::Acquire:
            return "ok buffer=" + std::to_string(s.value);
        case Action::Submit:
        case Action::Cancel:
            return "ok tag=" + hex(s.value);
        case Action::Poll:
            return "ok drained=" + std::to_string(s.value);
        case Action::Take:
            return "ok op=" + std::to_string(s.value) + " tag=" + hex(s.reaped.tag) +
                   " buffer=" + std::to_string(s.reaped.buffer);
        case Action::Reap:
            return "ok tag=" + hex(s.reaped.tag) + " status=" + std::to_string(s.reaped.status) +
                   " buffer=" + std::to_string(s.reaped.buffer) +
                   (s.reaped.is_cancel ? " (cancel)" : "");
        default:
            return "ok";
    }
}

}  // namespace

std::string format_step(const Step& s) {
    std::ostringstream o;
    o << action_name(s.action);
    switch (s.action) {
        case Action::Release:
            o << "(buffer=" << s.buffer << ")";
            break;
        case Action::Submit:
            o << "(opcode=" << s.opcode << ", buffer=" << s.buffer << ", length=" << s.length
              << ")";
            break;
        case Action::Cancel:
            o << "(target=" << hex(s.target) << ")";
            break;
        case Action::Complete:
            o << "(op=" << s.op << ", status=" << s.status << ")";
            break;
        default:
            o << "()";
            break;
    }
    o << " -> " << result_text(s);
    const Observed& a = s.after;
    o << "\n        client: outstanding=" << a.outstanding << " pooled=" << a.pooled
      << " sq_tail=" << hex(a.sq_tail) << " cq_head=" << hex(a.cq_head)
      << " buffers=" << list(a.buffer_state) << (a.client_torn_down ? " torn-down" : "")
      << "\n        server: live=" << a.live << " queued=" << a.queued << " taken=" << a.taken
      << " sq_head=" << hex(a.sq_head) << " cq_tail=" << hex(a.cq_tail) << " held=" << list(a.held)
      << "\n        shared: sq " << hex(a.shared.sq_head) << ".." << hex(a.shared.sq_tail) << " cq "
      << hex(a.shared.cq_head) << ".." << hex(a.shared.cq_tail)
      << (a.shared.client_closed ? " client-closed" : "")
      << (a.shared.server_closed ? " server-closed" : "");
    return o.str();
}

std::string format_trace(const Trace& t, std::size_t upto) {
    std::ostringstream o;
    o << "trace: capacity=" << t.capacity << " buffers=" << t.buffer_count
      << " buffer_size=" << t.buffer_size << " op_limit=" << t.op_limit
      << " first_index=" << hex(t.first_index) << "\n";
    for (std::size_t i = 0; i < upto && i < t.steps.size(); ++i) {
        o << "  #" << i << " " << format_step(t.steps[i]) << "\n";
    }
    return o.str();
}

void track_fifo(std::deque<std::uint32_t>& fifo, std::uint32_t k, std::uint64_t before,
                std::uint64_t after) {
    if (before == R::kOpFree && after == R::kOpQueued)
        fifo.push_back(k);
    if (before == R::kOpQueued && after == R::kOpFree) {
        for (auto it = fifo.begin(); it != fifo.end(); ++it) {
            if (*it == k) {
                fifo.erase(it);
                break;
            }
        }
    }
}

std::uint32_t spec_handle_for(const std::map<std::uint32_t, std::uint32_t>& op_map,
                              std::uint32_t impl_op, std::uint32_t capacity,
                              const std::function<std::uint32_t(std::uint32_t)>& spec_gen) {
    auto it = op_map.find(impl_op);
    if (it != op_map.end())
        return it->second;
    const std::uint32_t r = R::op_record<std::uint32_t>(impl_op);
    if (r >= capacity)
        return impl_op;
    return R::op_handle<std::uint32_t>(r, R::gen_next<std::uint32_t>(spec_gen(r)));
}

namespace {

class Checker {
  public:
    explicit Checker(const Trace& t) : t_(t), m_(ctx_, t.capacity, t.buffer_count), s_(ctx_) {
        m_.bsize = m_.bv(t.buffer_size);
        m_.op_limit = m_.bv(t.op_limit);
        s_ = m_.initial(m_.bv(t.first_index));
        load_shared(t.initial.shared);
        s_ = simplify(s_);
    }

    Verdict advance() {
        if (!verdict_.ok)
            return verdict_;
        if (!started_) {
            started_ = true;
            std::string why = compare_observed(t_.initial, "initial state");
            if (!why.empty())
                return verdict_ = fail(0, why, 0);
        }
        for (; next_ < t_.steps.size(); ++next_) {
            std::size_t i = next_;
            std::string why = step(t_.steps[i]);
            if (why.empty())
                why = compare_observed(t_.steps[i].after, "afterwards");
            if (!why.empty()) {
                ++next_;
                return verdict_ = fail(i, why, i + 1);
            }
        }
        return verdict_;
    }

  private:
    Verdict fail(std::size_t i, const std::string& why, std::size_t upto) {
        return disagreement(t_, i, why, upto, "trace conformance", "the spec");
    }

    std::uint64_t num(const expr& e) const { return Model::concrete(e.simplify()); }
    bool truth(const expr& e) const { return e.simplify().is_true(); }

    State simplify(const State& s) const { return m_.simplified(s); }

    void load_shared(const Shared& sh) {
        s_.sq_head_pub = m_.bv(sh.sq_head);
        s_.sq_tail_pub = m_.bv(sh.sq_tail);
        s_.cq_head_pub = m_.bv(sh.cq_head);
        s_.cq_tail_pub = m_.bv(sh.cq_tail);
        s_.client_closed = m_.bv(sh.client_closed ? 1 : 0);
        s_.server_closed = m_.bv(sh.server_closed ? 1 : 0);
        for (std::uint32_t j = 0; j < t_.capacity; ++j) {
            const SqEntry& e = sh.sq[j];
            s_.sq_tag[j] = m_.bv(e.tag);
            s_.sq_opcode[j] = m_.bv(e.opcode);
            s_.sq_buffer[j] = m_.bv(e.buffer);
            s_.sq_length[j] = m_.bv(e.length);
            s_.sq_target[j] = m_.bv(std::uint32_t(e.target));
            s_.sq_target_hi[j] = m_.bv((e.target >> 32) != 0 ? 1 : 0);
            const CqEntry& c = sh.cq[j];
            s_.cq_tag[j] = m_.bv(c.tag);
            s_.cq_status[j] = m_.bv(c.status);
            s_.cq_buffer[j] = m_.bv(c.buffer);
        }
    }

    static std::string diff(const std::string& what, std::uint64_t spec, std::uint64_t impl) {
        if (spec == impl)
            return "";
        return "  " + what + ": spec " + hex(spec) + ", implementation " + hex(impl) + "\n";
    }

    std::string compare_observed(const Observed& o, const std::string& when) const {
        std::string d;
        const State& s = s_;
        d += diff("client torn down (" + when + ")", num(!(s.cmode == m_.bv(kCOpen))),
                  o.client_torn_down);
        d += diff("client outstanding", num(s.outstanding), o.outstanding);
        std::vector<expr> pooled;
        for (auto& x : s.bstate)
            pooled.push_back(x == m_.bv(R::kBufPooled));
        d += diff("client pooled buffers", num(m_.count(pooled)), o.pooled);
        d += diff("client sq tail", num(s.sq_tail), o.sq_tail);
        d += diff("client cq head", num(s.cq_head), o.cq_head);
        for (std::uint32_t b = 0; b < t_.buffer_count; ++b) {
            d += diff("client buffer_state(" + std::to_string(b) + ")", num(s.bstate[b]),
                      o.buffer_state.at(b));
            d +=
                diff("server buffer_held(" + std::to_string(b) + ")", num(s.held[b]), o.held.at(b));
        }
        std::vector<expr> q, tk;
        for (auto& x : s.op_state) {
            q.push_back(x == m_.bv(R::kOpQueued));
            tk.push_back(x == m_.bv(R::kOpTaken));
        }
        d += diff("server live", num(m_.server_live(s)), o.live);
        d += diff("server queued", num(m_.count(q)), o.queued);
        d += diff("server taken", num(m_.count(tk)), o.taken);
        d += diff("server sq head", num(s.sq_head), o.sq_head);
        d += diff("server cq tail", num(s.cq_tail), o.cq_tail);
        const Shared& sh = o.shared;
        d += diff("shared sq head", num(s.sq_head_pub), sh.sq_head);
        d += diff("shared sq tail", num(s.sq_tail_pub), sh.sq_tail);
        d += diff("shared cq head", num(s.cq_head_pub), sh.cq_head);
        d += diff("shared cq tail", num(s.cq_tail_pub), sh.cq_tail);
        d += diff("shared client closed", num(s.client_closed), sh.client_closed);
        d += diff("shared server closed", num(s.server_closed), sh.server_closed);
        for (std::uint32_t j = 0; j < t_.capacity; ++j) {
            auto js = "[" + std::to_string(j) + "]";
            const SqEntry& e = sh.sq.at(j);
            d += diff("shared sq" + js + ".tag", num(s.sq_tag[j]), e.tag);
            d += diff("shared sq" + js + ".opcode", num(s.sq_opcode[j]), e.opcode);
            d += diff("shared sq" + js + ".buffer", num(s.sq_buffer[j]), e.buffer);
            d += diff("shared sq" + js + ".length", num(s.sq_length[j]), e.length);
            d += diff("shared sq" + js + ".args[0]",
                      num(s.sq_target[j]) | (num(s.sq_target_hi[j]) << 32),
                      (e.target >> 32) != 0 ? (std::uint32_t(e.target) | (1ull << 32)) : e.target);
            const CqEntry& c = sh.cq.at(j);
            d += diff("shared cq" + js + ".tag", num(s.cq_tag[j]), c.tag);
            d += diff("shared cq" + js + ".status", num(s.cq_status[j]), c.status);
            d += diff("shared cq" + js + ".buffer", num(s.cq_buffer[j]), c.buffer);
        }
        return d;
    }

    // Compares the spec's outcome with the implementation's result; adopts the spec's state.
    std::string adopt(const Out& out, const Step& st, bool check_value) {
        std::string d;
        if (!truth(out.choice_ok && out.alloc_ok)) {
            d += "  the implementation's choice (buffer, slot or op) is not one the spec allows\n";
        }
        if (!truth(out.safe))
            d += "  an implementation assertion must fire here\n";
        auto err = num(out.err);
        std::uint64_t impl_err = st.ok ? 0 : std::uint64_t(st.error);
        if (err != impl_err) {
            d += std::string("  result: spec ") +
                 (err == 0 ? "ok" : ipc::error_name(ipc::Error(err))) + ", implementation " +
                 (st.ok ? "ok" : ipc::error_name(st.error)) + "\n";
        } else if (err == 0 && check_value) {
            d += diff("result value", num(out.value), st.value);
        }
        s_ = simplify(out.next);
        return d;
    }

    std::uint32_t spec_handle_for(std::uint32_t impl_op) const {
        return spec::spec_handle_for(op_map_, impl_op, t_.capacity, [&](std::uint32_t r) {
            return std::uint32_t(num(s_.op_gen[r]));
        });
    }

    std::string step(const Step& st) {
        auto none = m_.bv(ipc::abi::kNoBuffer);
        switch (st.action) {
            case Action::Acquire:
                return adopt(m_.acquire(s_, m_.bv(st.ok ? st.value : 0)), st, false);
            case Action::Release:
                return adopt(m_.release(s_, m_.bv(st.buffer)), st, false);
            case Action::Submit: {
                auto slot = m_.bv(st.ok ? R::tag_slot<std::uint32_t>(st.value) : 0);
                return adopt(
                    m_.submit(s_, m_.bv(st.opcode), m_.bv(st.buffer), m_.bv(st.length), slot), st,
                    true);
            }
            case Action::Cancel: {
                auto slot = m_.bv(st.ok ? R::tag_slot<std::uint32_t>(st.value) : 0);
                return adopt(m_.cancel(s_, m_.bv(st.target), slot), st, true);
            }
            case Action::Publish:
                return adopt(m_.publish(s_), st, false);
            case Action::Reap: {
                Out out = m_.reap(s_);
                std::string d;
                if (num(out.err) == 0 && st.ok) {
                    d += diff("reaped tag", num(out.r_tag), st.reaped.tag);
                    d += diff("reaped status", num(out.r_status), st.reaped.status);
                    d += diff("reaped buffer", num(out.r_buffer), st.reaped.buffer);
                    d += diff("reaped is_cancel", num(out.r_cancel), st.reaped.is_cancel);
                }
                return adopt(out, st, false) + d;
            }
            case Action::PeerGone:
                return adopt(m_.peer_gone(s_), st, false);
            case Action::ClientClose:
                return adopt(m_.client_close(s_), st, false);
            case Action::Poll: {
                Out b = m_.poll_begin(s_);
                if (num(b.err) != 0)
                    return adopt(b, st, false);
                State s = simplify(b.next);
                std::uint32_t drained = 0;
                std::string d;
                while (truth(m_.accept_enabled(s))) {
                    std::uint32_t r = 0;
                    while (r < t_.capacity && num(s.op_state[r]) != R::kOpFree)
                        ++r;
                    Out a = m_.accept_one(s, m_.bv(r));
                    if (!truth(a.safe))
                        d += "  an implementation assertion must fire in poll\n";
                    State n = simplify(a.next);
                    for (std::uint32_t k = 0; k < t_.capacity; ++k)
                        track_fifo(fifo_, k, num(s.op_state[k]), num(n.op_state[k]));
                    s = n;
                    ++drained;
                }
                Out e = m_.poll_end(s, m_.bv(drained));
                e.value = m_.bv(drained);
                return adopt(e, st, true) + d;
            }
            case Action::Take: {
                std::uint32_t r = fifo_.empty() ? 0 : fifo_.front();
                Out out = m_.take(s_, m_.bv(r));
                std::string d;
                if (num(out.err) == 0 && st.ok) {
                    d += diff("taken op's tag", num(out.r_tag), st.reaped.tag);
                    d += diff("taken op's buffer", num(out.r_buffer), st.reaped.buffer);
                    fifo_.pop_front();
                    op_map_[st.value] = std::uint32_t(num(out.value));
                }
                return adopt(out, st, false) + d;
            }
            case Action::Complete: {
                // Kept after a success: the handle is stale from now on, on both sides.
                auto h = spec_handle_for(st.op);
                return adopt(m_.complete(s_, m_.bv(h), m_.bv(st.status)), st, false);
            }
            case Action::ServerPublish:
                return adopt(m_.server_publish(s_), st, false);
            case Action::ClientGone: {
                Out out = m_.client_gone(s_);
                if (num(s_.smode) == kSOpen)
                    fifo_.clear();
                return adopt(out, st, false);
            }
            case Action::ServerClose:
                return adopt(m_.server_close(s_), st, false);
            case Action::PeerWrite:
                load_shared(st.after.shared);
                return "";
        }
        (void)none;
        return "  unknown action\n";
    }

    const Trace& t_;
    bool started_ = false;
    std::size_t next_ = 0;
    Verdict verdict_;
    z3::context& ctx_ = trace_context();
    Model m_;
    State s_;
    std::deque<std::uint32_t> fifo_;  // spec records waiting for take(), oldest first
    std::map<std::uint32_t, std::uint32_t> op_map_;  // implementation handle -> spec handle
};

}  // namespace

namespace {
bool supported(const Trace& t) {
    return t.capacity != 0 && t.capacity <= kMaxTraceSize && t.buffer_count <= kMaxTraceSize &&
           (t.capacity & (t.capacity - 1)) == 0;
}
}  // namespace

struct TraceChecker::Impl {
    explicit Impl(const Trace& t) : ok(supported(t)), trace(t) {
        if (ok)
            checker = std::make_unique<Checker>(t);
    }
    bool ok;
    const Trace& trace;
    std::unique_ptr<Checker> checker;
};

TraceChecker::TraceChecker(const Trace& trace) : impl_(std::make_unique<Impl>(trace)) {}
TraceChecker::~TraceChecker() = default;

Verdict TraceChecker::advance() {
    if (!impl_->ok)
        return Verdict{false, 0, "trace geometry outside what the checker supports\n"};
    return impl_->checker->advance();
}

z3::context& trace_context() {
    thread_local z3::context ctx;
    return ctx;
}

Verdict check_trace(const Trace& trace) {
    TraceChecker c(trace);
    return c.advance();
}

}  // namespace keel::spec
