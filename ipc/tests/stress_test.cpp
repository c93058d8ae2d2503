// Two-thread stress: the client on this thread, the server on another, sharing only the
// queue's region, as in production. Checks FIFO order, exactly-once completion, that each
// buffer comes back with its own operation carrying the bytes the server wrote, and (in the
// cancel variant) that each cancel's answer agrees with what happened to its target.
//
// No gtest assertion runs on the worker thread (gtest is not built with the sanitizers):
// each side records its first failure in a Report that the test checks after join().
// Built under ThreadSanitizer too (build/host-tsan), where KEEL_STRESS_SCALE divides the work.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "queue_harness.hpp"

#ifndef KEEL_STRESS_SCALE
#define KEEL_STRESS_SCALE 1
#endif

namespace keel::ipc {
namespace {

using namespace test;

constexpr std::uint64_t scaled(std::uint64_t n) {
    return n / KEEL_STRESS_SCALE;
}

constexpr auto kOk = std::uint16_t(abi::Status::Ok);
constexpr auto kCancelled = std::uint16_t(abi::Status::Cancelled);

struct Report {
    std::uint64_t failures = 0;
    std::string first;
    std::uint64_t count = 0;  // operations this side handled
    std::string summary;      // what happened, for the log

    template <class... Args>
    void fail(const Args&... parts) {
        if (failures++ == 0) {
            std::ostringstream os;
            (os << ... << parts);
            first = os.str();
        }
    }
};

std::uint64_t load_u64(std::span<const std::byte> s) {
    std::uint64_t v = 0;
    if (s.size() >= sizeof v)
        std::memcpy(&v, s.data(), sizeof v);
    return v;
}
void store_u64(std::span<std::byte> s, std::uint64_t v) {
    if (s.size() >= sizeof v)
        std::memcpy(s.data(), &v, sizeof v);
}

struct StressCase {
    std::uint32_t capacity;
    std::uint32_t buffers;
    std::uint32_t first_index;
    std::uint64_t ops;
};

// ---- FIFO: every operation completes Ok, in submission order ----------------------------------

// Server thread: takes operations in order and completes each at once, checking the request's
// sequence number and the bytes the client wrote, and writing its answer into the buffer.
Report serve_fifo(Server& s, std::uint64_t ops) {
    Report rep;
    std::uint64_t next = 0;
    for (;;) {
        auto p = s.poll();
        if (!p) {
            if (p.error() != Error::PeerGone)
                rep.fail("server poll: ", error_name(p.error()));
            break;
        }
        bool progress = *p != 0;
        while (auto op = s.take()) {
            progress = true;
            const abi::Submission& rq = op->request;
            if (rq.args[0] != next)
                rep.fail("FIFO: took ", rq.args[0], " expected ", next);
            next = rq.args[0] + 1;
            if (rq.buffer != abi::kNoBuffer) {
                auto bytes = s.bytes(*op);
                if (bytes.size() != 8 || load_u64(bytes) != rq.args[0]) {
                    rep.fail("server read the wrong bytes for ", rq.args[0]);
                }
                store_u64(bytes, ~rq.args[0]);
            }
            if (!s.complete(op->id, kOk, rq.args[0]))
                rep.fail("complete failed at ", next);
            ++rep.count;
        }
        s.publish();
        if (!progress)
            std::this_thread::yield();
    }
    s.client_gone();
    if (next != ops)
        rep.fail("server saw ", next, " operations, expected ", ops);
    return rep;
}

// Client thread: keeps the queue full, every fourth operation without a buffer.
Report drive_fifo(Client& c, std::uint64_t ops) {
    Report rep;
    const std::uint32_t cap = c.capacity();
    std::vector<std::uint16_t> lent(cap, abi::kNoBuffer);  // by sequence number mod capacity
    std::uint64_t submitted = 0;
    std::uint64_t reaped = 0;
    while (reaped < ops && rep.failures == 0) {
        bool progress = false;
        while (submitted < ops) {
            const bool with_buffer = submitted % 4 != 3;
            Buffer b;
            if (with_buffer) {
                auto a = c.acquire();
                if (!a)
                    break;  // every buffer is out: reap first
                b = std::move(*a);
                store_u64(c.bytes(b), submitted);
            }
            const std::uint16_t id = b.id();
            auto t = with_buffer ? c.submit(op_request(submitted, 8), std::move(b))
                                 : c.submit(op_request(submitted));
            if (!t) {
                if (t.error() != Error::NoCredit)
                    rep.fail("submit: ", error_name(t.error()));
                break;  // b, if any, goes back to the pool
            }
            lent[submitted % cap] = id;
            ++submitted;
            progress = true;
        }
        c.publish();
        for (;;) {
            auto r = c.reap();
            if (!r) {
                if (r.error() != Error::Empty)
                    rep.fail("reap: ", error_name(r.error()));
                break;
            }
            progress = true;
            if (r->user_data != reaped || r->value != reaped || r->status != kOk) {
                rep.fail("completion ", r->user_data, " (value ", r->value, ", status ", r->status,
                         ") where ", reaped, " was due");
            }
            if (r->buffer.id() != lent[reaped % cap]) {
                rep.fail("completion ", reaped, " returned buffer ", r->buffer.id(), " not ",
                         lent[reaped % cap]);
            }
            if (r->buffer.valid() && load_u64(c.bytes(r->buffer)) != ~reaped) {
                rep.fail("buffer of ", reaped, " lacks the server's answer");
            }
            ++reaped;
        }
        if (!progress)
            std::this_thread::yield();
    }
    rep.count = reaped;
    c.close();
    return rep;
}

void PrintTo(const StressCase& k, std::ostream* os) {
    *os << "{capacity=" << k.capacity << " buffers=" << k.buffers
        << " first_index=" << k.first_index << " ops=" << k.ops << "}";
}

class Stress : public ::testing::TestWithParam<StressCase> {};

TEST_P(Stress, FifoExactlyOnceEveryBufferBack) {
    const StressCase& k = GetParam();
    Queue q(geometry(k.capacity, k.buffers, 64), k.first_index);
    ASSERT_TRUE(q.ready());
    Report server_rep;
    std::thread server([&] { server_rep = serve_fifo(q.server, k.ops); });
    Report client_rep = drive_fifo(q.client, k.ops);
    server.join();
    EXPECT_EQ(client_rep.failures, 0u) << client_rep.first;
    EXPECT_EQ(server_rep.failures, 0u) << server_rep.first;
    EXPECT_EQ(client_rep.count, k.ops);
    EXPECT_EQ(server_rep.count, k.ops);
    EXPECT_EQ(q.client.outstanding(), 0u);
    EXPECT_EQ(q.client.pooled_buffers(), k.buffers);
    EXPECT_EQ(q.client.reap().error(), Error::Empty);
    EXPECT_EQ(q.server.queued(), 0u);
    EXPECT_EQ(q.server.taken(), 0u);
    EXPECT_EQ(q.client.sq_tail(), k.first_index + std::uint32_t(k.ops));  // crossed 2^32
}

std::string stress_name(const ::testing::TestParamInfo<StressCase>& info) {
    return "cap" + std::to_string(info.param.capacity) + "_buf" +
           std::to_string(info.param.buffers);
}

INSTANTIATE_TEST_SUITE_P(TwoThreads, Stress,
                         ::testing::Values(StressCase{64, 32, 0xFFFF'0000u, scaled(2'000'000)},
                                           StressCase{1, 1, 0xFFFF'FF00u, scaled(100'000)},
                                           StressCase{2, 2, 0xFFFF'FF00u, scaled(100'000)},
                                           StressCase{abi::kMaxCapacity, 1024, 0xFFFF'8000u,
                                                      scaled(400'000)}),
                         stress_name);

// ---- with cancels: exactly once, and each cancel's answer agrees with its target's fate ----

// Server thread: takes a few operations at a time and completes them later, Cancelled if the
// client asked; operations are taken in submission order (some are cancelled while queued).
Report serve_with_cancels(Server& s) {
    Report rep;
    std::mt19937 rng(7);
    std::vector<Operation> held;
    std::uint64_t last_taken = 0;
    bool any_taken = false;
    std::uint32_t idle = 0;
    for (;;) {
        auto p = s.poll();
        if (!p) {
            if (p.error() != Error::PeerGone)
                rep.fail("server poll: ", error_name(p.error()));
            break;
        }
        idle = *p != 0 ? 0 : idle + 1;
        bool progress = *p != 0;
        const std::size_t want = rng() % 4;
        while (held.size() < want) {
            auto op = s.take();
            if (!op)
                break;
            const std::uint64_t seq = op->request.args[0];
            if (any_taken && seq <= last_taken)
                rep.fail("took ", seq, " after ", last_taken);
            last_taken = seq;
            any_taken = true;
            held.push_back(*op);
            progress = true;
        }
        // Hold taken operations until the client has had a chance to cancel them (new input
        // arrived, or a few idle rounds passed), then complete the older half.
        const std::size_t n = *p != 0 || idle > 8 ? (held.size() + 1) / 2 : 0;
        for (std::size_t i = 0; i < n; ++i) {
            const Operation& op = held[i];
            const bool cancel = s.cancel_requested(op.id) && rng() % 2 == 0;
            if (!s.complete(op.id, cancel ? kCancelled : kOk, op.request.args[0])) {
                rep.fail("complete failed for ", op.request.args[0]);
            }
            ++rep.count;
        }
        held.erase(held.begin(), held.begin() + std::ptrdiff_t(n));
        if (n != 0)
            progress = true;
        s.publish();
        if (!progress)
            std::this_thread::yield();
    }
    s.client_gone();
    for (const Operation& op : held) {  // after client_gone these post nothing
        if (!s.complete(op.id, kOk, 0))
            rep.fail("complete after client_gone failed");
    }
    return rep;
}

struct Pending {
    std::uint64_t seq;
    std::uint16_t buffer;
};
struct PendingCancel {
    std::uint32_t target_tag;
    std::uint64_t target_seq;
};

Report drive_with_cancels(Client& c, std::uint64_t ops) {
    Report rep;
    std::mt19937 rng(11);
    std::unordered_map<std::uint32_t, Pending> live;  // by tag
    std::unordered_map<std::uint32_t, PendingCancel> cancels;
    std::vector<std::uint8_t> done(ops, 0);  // 0 pending, 1 Ok, 2 Cancelled
    std::uint64_t submitted = 0;
    std::uint64_t completed = 0;
    std::uint64_t answers[4] = {0, 0, 0, 0};  // Ok, Cancelled(unused), InProgress, NotFound
    while ((completed < ops || !cancels.empty()) && rep.failures == 0) {
        bool progress = false;
        while (submitted < ops) {
            auto a = c.acquire();
            if (!a)
                break;
            Buffer b = std::move(*a);
            const std::uint16_t id = b.id();
            auto t = c.submit(op_request(submitted, 8), std::move(b));
            if (!t) {
                if (t.error() != Error::NoCredit)
                    rep.fail("submit: ", error_name(t.error()));
                break;
            }
            live.emplace(*t, Pending{submitted, id});
            ++submitted;
            progress = true;
            if (rng() % 3 == 0 && !live.empty()) {
                // Cancel one of the live operations, chosen at random.
                auto it = live.begin();
                std::advance(it, std::ptrdiff_t(rng() % live.size()));
                auto ct = c.cancel(0, it->first);
                if (ct) {
                    cancels.emplace(*ct, PendingCancel{it->first, it->second.seq});
                } else if (ct.error() != Error::NoCredit) {
                    rep.fail("cancel: ", error_name(ct.error()));
                }
            }
        }
        c.publish();
        for (;;) {
            auto r = c.reap();
            if (!r) {
                if (r.error() != Error::Empty)
                    rep.fail("reap: ", error_name(r.error()));
                break;
            }
            progress = true;
            if (r->is_cancel) {
                auto it = cancels.find(r->tag);
                if (it == cancels.end()) {
                    rep.fail("answer for an unknown cancel ", r->tag);
                    continue;
                }
                const std::uint8_t fate = done[it->second.target_seq];
                switch (abi::Status(r->status)) {
                    case abi::Status::Ok:  // the target was queued: it was Cancelled, just now
                        if (fate != 2)
                            rep.fail("cancel Ok but target ", it->second.target_seq, " fate ",
                                     int(fate));
                        ++answers[0];
                        break;
                    case abi::Status::InProgress:  // taken: completes after this answer
                        if (fate != 0)
                            rep.fail("cancel InProgress but target already done");
                        ++answers[2];
                        break;
                    case abi::Status::NotFound:  // completed before the cancel arrived
                        if (fate == 0)
                            rep.fail("cancel NotFound but target still pending");
                        ++answers[3];
                        break;
                    default:
                        rep.fail("cancel answered with status ", r->status);
                }
                cancels.erase(it);
                continue;
            }
            auto it = live.find(r->tag);
            if (it == live.end()) {
                rep.fail("completion for an unknown tag ", r->tag);
                continue;
            }
            const Pending p = it->second;
            live.erase(it);
            if (done[p.seq] != 0)
                rep.fail("operation ", p.seq, " completed twice");
            if (r->user_data != p.seq)
                rep.fail("user_data ", r->user_data, " for ", p.seq);
            if (r->buffer.id() != p.buffer)
                rep.fail("wrong buffer back for ", p.seq);
            if (r->status == kOk) {
                done[p.seq] = 1;
            } else if (r->status == kCancelled) {
                done[p.seq] = 2;
            } else {
                rep.fail("operation ", p.seq, " ended with status ", r->status);
            }
            ++completed;
        }
        if (!progress)
            std::this_thread::yield();
    }
    rep.count = completed;
    for (std::uint64_t i = 0; i < ops && rep.failures == 0; ++i) {
        if (done[i] == 0)
            rep.fail("operation ", i, " never completed");
    }
    std::ostringstream summary;
    summary << "cancel answers: Ok " << answers[0] << ", InProgress " << answers[2] << ", NotFound "
            << answers[3];
    rep.summary = summary.str();
    // Every kind of answer must have happened, or the test did not test cancellation.
    if (answers[0] == 0 || answers[2] == 0 || answers[3] == 0) {
        rep.fail("cancel answers Ok/InProgress/NotFound: ", answers[0], '/', answers[2], '/',
                 answers[3]);
    }
    c.close();
    return rep;
}

TEST(StressCancel, EachCancelAgreesWithItsTargetsFate) {
    const std::uint64_t ops = scaled(300'000);
    Queue q(geometry(16, 12, 64), 0xFFFF'F000u);
    ASSERT_TRUE(q.ready());
    Report server_rep;
    std::thread server([&] { server_rep = serve_with_cancels(q.server); });
    Report client_rep = drive_with_cancels(q.client, ops);
    server.join();
    EXPECT_EQ(client_rep.failures, 0u) << client_rep.first;
    EXPECT_EQ(server_rep.failures, 0u) << server_rep.first;
    EXPECT_EQ(client_rep.count, ops);
    std::printf("%s\n", client_rep.summary.c_str());
    EXPECT_EQ(q.client.outstanding(), 0u);
    EXPECT_EQ(q.client.pooled_buffers(), 12u);
    EXPECT_EQ(q.server.queued(), 0u);
    EXPECT_EQ(q.server.taken(), 0u);
}

}  // namespace
}  // namespace keel::ipc
