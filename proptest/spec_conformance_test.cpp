// The reference model and the library against the spec (spec/ipc.md, spec/include/spec/trace.hpp):
//  - SpecConformance.property_traces: property-test traces (the full action mix, hostile
//    writes included) are recorded call by call and checked by the spec's Z3 trace checker;
//    zero disagreements allowed.
//  - SpecConformance.model_small_sizes_bfs: for capacities 1 and 2 and up to 2 buffers, a
//    breadth-first walk of the reachable states (bounded: 60 new states per configuration,
//    depth 8): each new state's path runs on the lock-step System (the library and the
//    reference model must agree at each step) and its trace is checked by the spec. Since each
//    step the model accepts is one the library took and the spec accepted, the model agrees
//    with the spec's transition relation on every (state, transition) pair reached.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <vector>

#include <keel_model/system.hpp>
#include <spec/trace.hpp>

namespace {

namespace kabi = keel::ipc::abi;
using keel::model::Action;
using keel::model::Config;
using keel::model::Event;
using keel::model::Kind;
using keel::model::System;

keel::spec::Observed observe(const System& sys) {
    const auto& c = sys.client();
    const auto& s = sys.server();
    keel::spec::Observed o;
    o.client_torn_down = c.torn_down();
    o.outstanding = c.outstanding();
    o.pooled = c.pooled_buffers();
    o.sq_tail = c.sq_tail();
    o.cq_head = c.cq_head();
    o.live = s.live();
    o.queued = s.queued();
    o.taken = s.taken();
    o.sq_head = s.sq_head();
    o.cq_tail = s.cq_tail();
    for (std::uint32_t b = 0; b < sys.config().buffer_count; ++b) {
        o.buffer_state.push_back(std::uint8_t(c.buffer_state(std::uint16_t(b))));
        o.held.push_back(std::uint8_t(s.buffer_held(std::uint16_t(b))));
    }
    auto v = sys.view();
    auto& sh = o.shared;
    sh.sq_head = v.sq->head.value.load();
    sh.sq_tail = v.sq->tail.value.load();
    sh.cq_head = v.cq->head.value.load();
    sh.cq_tail = v.cq->tail.value.load();
    sh.client_closed = v.header->client_state.load() == kabi::kEndpointClosed;
    sh.server_closed = v.header->server_state.load() == kabi::kEndpointClosed;
    for (std::uint32_t j = 0; j < sys.config().capacity; ++j) {
        const auto& e = v.sq_entries[j];
        sh.sq.push_back({e.tag, e.opcode, e.buffer, e.length, e.args[0]});
        const auto& q = v.cq_entries[j];
        sh.cq.push_back({q.tag, q.status, q.buffer});
    }
    return o;
}

keel::spec::Action spec_action(Event::Call c) {
    using A = keel::spec::Action;
    using C = Event::Call;
    switch (c) {
        case C::Acquire:
            return A::Acquire;
        case C::Release:
            return A::Release;
        case C::Submit:
            return A::Submit;
        case C::Cancel:
            return A::Cancel;
        case C::Publish:
            return A::Publish;
        case C::Reap:
            return A::Reap;
        case C::PeerGone:
            return A::PeerGone;
        case C::ClientClose:
            return A::ClientClose;
        case C::Poll:
            return A::Poll;
        case C::Take:
            return A::Take;
        case C::Complete:
            return A::Complete;
        case C::ServerPublish:
            return A::ServerPublish;
        case C::ClientGone:
            return A::ClientGone;
        case C::ServerClose:
            return A::ServerClose;
        case C::PeerWrite:
            return A::PeerWrite;
    }
    return A::PeerWrite;
}

// Runs `actions` on a System that records every call into a spec trace; returns the first
// disagreement (library vs model, or spec vs library), "" if none.
std::string run_and_check(const Config& cfg, const std::vector<Action>& actions,
                          std::size_t* steps_checked = nullptr) {
    System sys(cfg);
    if (!sys.ok())
        return "bad configuration";
    keel::spec::Trace trace;
    trace.capacity = cfg.capacity;
    trace.buffer_count = cfg.buffer_count;
    trace.buffer_size = cfg.buffer_size;
    trace.op_limit = cfg.op_limit;
    trace.first_index = cfg.first_index;
    trace.initial = observe(sys);
    sys.set_observer([&](const Event& e) {
        keel::spec::Step s;
        s.action = spec_action(e.call);
        s.opcode = e.opcode;
        s.buffer = e.buffer;
        s.length = e.length;
        s.target = e.target;
        s.op = e.op;
        s.status = e.status;
        s.ok = e.ok;
        s.error = e.error;
        s.value = e.value;
        s.reaped = {e.r_tag, e.r_status, e.r_buffer, e.r_cancel};
        s.after = observe(sys);
        trace.steps.push_back(std::move(s));
    });
    for (const Action& a : actions) {
        std::string err = sys.step(a);
        if (!err.empty())
            return "library vs model: " + err + "\n" + sys.trace_text();
    }
    std::string err = sys.finish(actions.size() % 2 == 0);
    if (!err.empty())
        return "library vs model: " + err + "\n" + sys.trace_text();
    if (steps_checked)
        *steps_checked += trace.steps.size();
    keel::spec::Verdict v = keel::spec::check_trace(trace);
    if (!v.ok)
        return "spec disagrees at recorded call " + std::to_string(v.step) + ":\n" + v.message;
    return "";
}

}  // namespace

// IPC-R-001..072, I1..I8: property-test traces, hostile writes included, conform to the spec.
RC_GTEST_PROP(SpecConformance, property_traces, ()) {
    Config cfg;
    cfg.capacity = *rc::gen::element<std::uint32_t>(1, 2, 4, 8, 16);
    cfg.buffer_count = *rc::gen::inRange<std::uint32_t>(0, 9);
    cfg.buffer_size = cfg.buffer_count ? 64 : 0;
    cfg.op_limit = kabi::kFirstServiceOp + 4;
    cfg.first_index = *rc::gen::element<std::uint32_t>(0, 0xFFFF'FFF0u, 0xFFFF'FFFFu, 0x8000'0000u);
    // At most 24 actions: the checker's cost is mostly per trace, and 1000 traces must fit the
    // proptest label's time budget.
    const auto actions = *rc::gen::resize(
        24,
        rc::gen::container<std::vector<Action>>(rc::gen::apply(
            [](std::uint8_t k, std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint64_t d) {
                return Action{Kind(k % std::uint8_t(Kind::Count)), a, b, c, d};
            },
            rc::gen::arbitrary<std::uint8_t>(), rc::gen::inRange<std::uint32_t>(0, 64),
            rc::gen::inRange<std::uint32_t>(0, 64), rc::gen::inRange<std::uint32_t>(0, 64),
            rc::gen::arbitrary<std::uint64_t>())));
    std::string err = run_and_check(cfg, actions);
    if (!err.empty())
        RC_FAIL(err);
}

// Breadth-first over the reachable states of capacities 1 and 2 with 0..2 buffers (counters
// starting just before the wrap): every state is expanded once by every action of a small
// alphabet; each expansion replays its path on a fresh System (library and model in lock step)
// and the spec checks the whole recorded trace. Bounded by depth and by a number of runs per
// configuration, reported at the end.
TEST(SpecConformance, model_small_sizes_bfs) {
    const std::vector<Action> alphabet = {
        {Kind::Acquire},
        {Kind::Submit, 1, 1, 1},
        {Kind::Submit, 0},
        {Kind::Cancel, 0},
        {Kind::Cancel, 1},
        {Kind::Publish},
        {Kind::Reap},
        {Kind::Poll},
        {Kind::Take},
        {Kind::Complete, 0, 2},
        {Kind::PeerGone},
        {Kind::ClientClose},
        {Kind::ServerClose},
        {Kind::ClientGone},
        {Kind::HostileCqEntry, 2},
    };
    constexpr std::size_t kDepth = 8;
    constexpr std::size_t kRunsPerConfig = 60;
    std::size_t total_states = 0, total_runs = 0, steps = 0;
    for (std::uint32_t cap : {1u, 2u}) {
        for (std::uint32_t buffers : {0u, 1u, 2u}) {
            Config cfg{cap, buffers, buffers ? 64u : 0u, kabi::kFirstServiceOp + 4, 0xFFFF'FFFEu};
            std::set<std::string> seen;
            {
                System s0(cfg);
                seen.insert(s0.state_key());
            }
            std::vector<std::vector<Action>> frontier = {{}};
            std::size_t runs = 0;
            for (std::size_t depth = 0; depth < kDepth && !frontier.empty(); ++depth) {
                std::vector<std::vector<Action>> next;
                for (const auto& path : frontier) {
                    for (const Action& a : alphabet) {
                        if (runs == kRunsPerConfig)
                            break;
                        auto seq = path;
                        seq.push_back(a);
                        System probe(cfg);
                        for (const Action& x : seq)
                            ASSERT_EQ(probe.step(x), "") << probe.trace_text();
                        if (!seen.insert(probe.state_key()).second)
                            continue;  // a known state: its transitions are explored already
                        ++runs;
                        std::string err = run_and_check(cfg, seq, &steps);
                        ASSERT_EQ(err, "") << "capacity " << cap << ", buffers " << buffers;
                        next.push_back(std::move(seq));
                    }
                }
                frontier = std::move(next);
            }
            total_states += seen.size();
            total_runs += runs;
        }
    }
    std::printf("model vs spec: %zu distinct states reached, %zu traces (%zu calls) checked\n",
                total_states, total_runs, steps);
}
