// Stateful properties of ipc/ against the reference model (proptest/model). Each property
// drives one queue (a real Client and Server over one region) with a random action sequence
// whose mix stresses the spec rules in its name; System judges every step against the model
// and, after a failed call, requires every byte of both endpoints and the region unchanged.
// Every case ends by tearing the client down and draining: all operations must complete
// exactly once and every buffer come back (I2, I6).
//
// A failure prints the step that disagreed with the trace, RapidCheck's shrunk command list
// and the seed (rerun with RC_PARAMS="reproduce=..." or "seed=...").
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <memory>
#include <vector>

#include <keel_model/system.hpp>

namespace {

using keel::model::Action;
using keel::model::Config;
using keel::model::Kind;
using keel::model::System;

// RapidCheck's own model is unused: the reference model lives in System, because judging a
// step needs the library's free choices (tags, buffer ids) as it makes them.
struct NoModel {};

struct Step final : rc::state::Command<NoModel, System> {
    explicit Step(Action a) : action(a) {}
    Action action;
    void run(const NoModel& /*unused*/, System& sys) const override {
        std::string err = sys.step(action);
        if (!err.empty())
            RC_FAIL(err + "\ntrace:\n" + sys.trace_text());
    }
    void show(std::ostream& os) const override { os << keel::model::describe(action); }
};

using Mix = std::vector<std::pair<std::uint32_t, Kind>>;

rc::Gen<Kind> gen_kind(const Mix& mix) {
    std::uint32_t total = 0;
    for (const auto& [w, k] : mix)
        total += w;
    return rc::gen::map(rc::gen::inRange<std::uint32_t>(0, total), [mix](std::uint32_t x) {
        for (const auto& [w, k] : mix) {
            if (x < w)
                return k;
            x -= w;
        }
        return mix.back().second;
    });
}

rc::Gen<std::shared_ptr<const rc::state::Command<NoModel, System>>> gen_step(const Mix& mix) {
    return rc::gen::apply(
        [](Kind k, std::uint32_t a, std::uint32_t b, std::uint32_t c,
           std::uint64_t d) -> std::shared_ptr<const rc::state::Command<NoModel, System>> {
            return std::make_shared<Step>(Action{k, a, b, c, d});
        },
        gen_kind(mix), rc::gen::inRange<std::uint32_t>(0, 4096),
        rc::gen::inRange<std::uint32_t>(0, 4096), rc::gen::inRange<std::uint32_t>(0, 4096),
        rc::gen::arbitrary<std::uint64_t>());
}

// Random geometry; counters start within a few laps of 2^32 in half the cases (all of them
// when near_wrap), so every ring crosses the 32-bit wrap (I7).
Config gen_config(bool near_wrap) {
    Config c;
    // The maximum capacity is rare: each such case maps and snapshots a 2.6 MB region.
    c.capacity = *rc::gen::weightedElement<std::uint32_t>(
        {{20, 1}, {20, 2}, {20, 4}, {15, 8}, {10, 16}, {5, 64}, {1, keel::ipc::abi::kMaxCapacity}});
    c.buffer_count = *rc::gen::inRange<std::uint32_t>(0, 17);
    c.buffer_size = 64 * *rc::gen::inRange<std::uint32_t>(c.buffer_count == 0 ? 0 : 1, 3);
    c.op_limit = keel::ipc::abi::kFirstServiceOp + 4;
    std::uint32_t laps = *rc::gen::inRange<std::uint32_t>(0, 4 * c.capacity + 8);
    c.first_index =
        near_wrap
            ? 0u - laps
            : *rc::gen::weightedOneOf<std::uint32_t>({{1, rc::gen::just(0u)},
                                                      {1, rc::gen::arbitrary<std::uint32_t>()},
                                                      {2, rc::gen::just(0u - laps)}});
    return c;
}

void run(const Mix& mix, bool near_wrap = false) {
    Config cfg = gen_config(near_wrap);
    System sys(cfg);
    RC_ASSERT(sys.ok());
    rc::state::check(NoModel{}, sys, [&](const NoModel&) { return gen_step(mix); });
    bool close = *rc::gen::arbitrary<bool>();
    std::string err = sys.finish(close);
    if (!err.empty())
        RC_FAIL(err + "\ntrace:\n" + sys.trace_text());
}

// The honest protocol: both sides well behaved.
const Mix kHonest = {
    {6, Kind::Acquire},  {2, Kind::Release},       {1, Kind::Drop},   {10, Kind::Submit},
    {6, Kind::Publish},  {8, Kind::Reap},          {7, Kind::Poll},   {6, Kind::Take},
    {6, Kind::Complete}, {2, Kind::ServerPublish}, {2, Kind::Cancel},
};

Mix with(Mix base, const Mix& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
}

}  // namespace

// IPC-R-001..005, I7: ring arithmetic and FIFO order across the 32-bit wrap.
RC_GTEST_PROP(IpcModel, IPC_R_001_ring_arithmetic_across_wrap, ()) {
    run(kHonest, true);
}

// IPC-R-010..011, I3: credit bounds outstanding operations; completions never overflow.
RC_GTEST_PROP(IpcModel, IPC_R_010_credit_and_no_overflow, ()) {
    run({{2, Kind::Acquire},
         {14, Kind::Submit},
         {3, Kind::Publish},
         {4, Kind::Poll},
         {3, Kind::Take},
         {3, Kind::Complete},
         {3, Kind::Reap},
         {2, Kind::Cancel}});
}

// IPC-R-030..034, I1, I4: one owner per buffer; reuse of a buffer not in hand is refused.
RC_GTEST_PROP(IpcModel, IPC_R_030_buffer_ownership_and_reuse, ()) {
    run(with(kHonest, {{4, Kind::SubmitEmpty},
                       {4, Kind::SubmitForged},
                       {3, Kind::SubmitForeign},
                       {3, Kind::ReleaseEmpty},
                       {3, Kind::ReleaseForeign},
                       {3, Kind::Drop},
                       {3, Kind::CompleteBogus}}));
}

// IPC-R-060..064, I5: cancel of queued, taken, completed, reaped, unknown operations.
RC_GTEST_PROP(IpcModel, IPC_R_060_cancel_in_every_state, ()) {
    run(with(kHonest, {{8, Kind::Cancel}, {4, Kind::CancelUserData}, {3, Kind::CancelRequested}}));
}

// IPC-R-070..072, I6: teardown from either side with operations in every state.
RC_GTEST_PROP(IpcModel, IPC_R_070_teardown_either_side, ()) {
    run(with(kHonest, {{1, Kind::PeerGone},
                       {1, Kind::ClientClose},
                       {1, Kind::ClientGone},
                       {1, Kind::ServerClose},
                       {3, Kind::Cancel}}));
}

// IPC-R-040..044, IPC-R-050..053, I8: a hostile peer's writes are refused and change nothing.
RC_GTEST_PROP(IpcModel, IPC_R_040_hostile_peer_writes, ()) {
    run(with(kHonest, {{3, Kind::HostileCqTail},
                       {4, Kind::HostileCqEntry},
                       {2, Kind::HostileForge},
                       {2, Kind::HostileSqTail},
                       {2, Kind::HostileCqHead},
                       {2, Kind::HostileSqHead},
                       {1, Kind::HostileClientState},
                       {5, Kind::HostileTamperSub},
                       {1, Kind::PeerGone},
                       {1, Kind::ClientGone}}));
}

// Everything at once.
RC_GTEST_PROP(IpcModel, all_rules_mixed, ()) {
    Mix all;
    for (std::uint8_t k = 0; k < std::uint8_t(Kind::Count); ++k) {
        all.push_back({Kind(k) == Kind::Submit || Kind(k) == Kind::Reap ? 6u : 2u, Kind(k)});
    }
    run(all);
}
