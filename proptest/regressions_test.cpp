// Regression tests: fixed action sequences, each once a counterexample or a scenario worth
// pinning. Each runs through the same lock-step System as the properties.
#include <gtest/gtest.h>

#include <vector>

#include <keel_model/system.hpp>

namespace {

using keel::model::Action;
using keel::model::Config;
using keel::model::Kind;
using keel::model::System;

void replay(const Config& c, const std::vector<Action>& steps, bool close_at_end) {
    System sys(c);
    ASSERT_TRUE(sys.ok());
    for (const Action& a : steps) {
        std::string err = sys.step(a);
        ASSERT_EQ(err, "") << sys.trace_text();
    }
    ASSERT_EQ(sys.finish(close_at_end), "") << sys.trace_text();
}

}  // namespace

// IPC-R-062: cancel of a taken operation answers InProgress; the target completes later with
// its buffer, across the counter wrap.
TEST(IpcRegression, CancelTakenAcrossWrap) {
    replay({2, 2, 64, 20, 0xFFFF'FFFFu},
           {{Kind::Acquire},
            {Kind::Submit, 1, 1, 1},
            {Kind::Publish},
            {Kind::Poll},
            {Kind::Take},
            {Kind::Cancel, 0},
            {Kind::Publish},
            {Kind::Poll},
            {Kind::Reap},
            {Kind::Complete, 0, 0, 0, 7},
            {Kind::Reap}},
           false);
}

// IPC-R-061: cancel of a queued operation: the target completes Cancelled with its buffer,
// then the cancel completes Ok without one (I4).
TEST(IpcRegression, CancelQueuedReturnsBufferWithTarget) {
    replay({4, 1, 64, 20, 0},
           {{Kind::Acquire},
            {Kind::Submit, 2, 1, 2},
            {Kind::Cancel, 0},
            {Kind::Publish},
            {Kind::Poll},
            {Kind::Reap},
            {Kind::Reap},
            {Kind::Reap}},
           true);
}

// IPC-R-071: the server dies with operations queued, taken and completed-unreaped.
TEST(IpcRegression, PeerGoneWithEveryState) {
    replay({4, 4, 64, 20, 0xFFFF'FFF0u},
           {{Kind::Acquire},
            {Kind::Acquire},
            {Kind::Submit, 1, 1, 1},
            {Kind::Submit, 1, 1, 1},
            {Kind::Submit, 0},
            {Kind::Publish},
            {Kind::Poll},
            {Kind::Take},
            {Kind::Complete, 0, 2, 0, 99},
            {Kind::ServerPublish},
            {Kind::Take},
            {Kind::ServerClose}},
           false);
}

// Counterexample (found by every property at once, first run): after teardown a reap that
// returned Empty had moved the leftover cursor and set the drained flag: a failed call changed
// the Client. Fixed in ipc/src/client.cpp (reap, reap_leftover).
TEST(IpcRegression, EmptyReapAfterTeardownChangesNothing) {
    replay({2, 1, 64, 20, 0},
           {{Kind::Acquire},
            {Kind::Submit, 1, 1, 1},
            {Kind::Publish},
            {Kind::Poll},
            {Kind::PeerGone},
            {Kind::Reap},
            {Kind::Reap},
            {Kind::Reap}},
           false);
}

// Counterexample class: a reap that loaded a new completion tail and then refused the entry
// at the head kept the new tail in its cache: a failed call changed the Client. Fixed in
// ipc/src/client.cpp (reap_ring commits the tail only with the entry).
TEST(IpcRegression, RefusedCompletionLeavesTailCacheAlone) {
    for (std::uint32_t how = 0; how < 4; ++how) {
        replay({4, 2, 64, 20, 0xFFFF'FFFFu},
               {{Kind::Acquire},
                {Kind::Submit, 1, 1, 1},
                {Kind::Submit, 0},
                {Kind::Publish},
                {Kind::Poll},
                {Kind::Take},
                {Kind::Complete, 0, 0, 0, 5},
                {Kind::HostileCqEntry, how, 0, 0, 3},
                {Kind::Reap},
                {Kind::Reap}},
               how % 2 == 0);
    }
}

// Adequacy finding (spec mutant m10): a stale copy of a handle whose buffer is in flight must
// be refused with NotOwner, not lent twice (IPC-R-032).
TEST(IpcRegression, StaleHandleToLentBufferRefused) {
    replay({2, 1, 64, 20, 0},
           {{Kind::Acquire}, {Kind::Submit, 1, 1, 1}, {Kind::SubmitForged}, {Kind::Publish}}, true);
}

// Adequacy finding (spec mutant m08): a completion naming a free slot's current generation
// (no live operation has that tag) is refused (IPC-R-040).
TEST(IpcRegression, CompletionForFreeSlotRefused) {
    replay(
        {2, 0, 0, 20, 0},
        {{Kind::Submit, 0}, {Kind::Publish}, {Kind::Poll}, {Kind::Reap}, {Kind::HostileForge, 1}},
        false);
}
