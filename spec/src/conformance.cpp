// Conformance runs: scripted scenarios that reach every transition of spec/ipc.md (cancel in
// each case, teardown from either side, hostile writes) plus seeded random runs, each driven
// through a Recorder over the linked ipc/ library and checked by check_trace (concrete model)
// and then by check_trace_parametric (parametric model).
#include <spec/conformance.hpp>

#include <cstdio>
#include <string>

#include <ipc/abi.hpp>
#include <ipc/rules.hpp>
#include <spec/param_trace.hpp>

namespace keel::spec {

namespace {

using St = ipc::abi::Status;
constexpr std::uint16_t kNone = ipc::abi::kNoBuffer;
constexpr std::uint16_t kSvc = ipc::abi::kFirstServiceOp;

struct Lcg {
    std::uint64_t x;
    std::uint32_t next() {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        return std::uint32_t(x >> 33);
    }
    std::uint32_t below(std::uint32_t n) { return n == 0 ? 0 : next() % n; }
};

std::uint16_t first_in_hand(Recorder& r) {
    auto h = r.buffers_in_hand();
    return h.empty() ? kNone : h.front();
}

// Lend a buffer, serve it, return it.
void scenario_round_trip(Recorder& r) {
    r.acquire();
    auto t = r.submit(kSvc, first_in_hand(r), 8);
    (void)t;
    r.publish();
    r.poll();
    auto op = r.take();
    r.complete(op.value, std::uint16_t(St::Ok));
    r.server_publish();
    r.reap();
    r.reap();
    r.release(first_in_hand(r));
    r.submit(ipc::abi::kNoBuffer == 0 ? 0 : 0, kNone, 0);  // Nop
    r.publish();
    r.poll();
    r.reap();
}

// Cancel in each case: queued target, taken target, unknown target.
void scenario_cancels(Recorder& r) {
    r.acquire();
    auto queued = r.submit(kSvc, first_in_hand(r), 0).value;
    r.publish();
    r.poll();
    r.cancel(queued);  // queued: Cancelled for the target with its buffer, Ok for the cancel
    r.publish();
    r.poll();
    r.reap();
    r.reap();
    r.acquire();
    auto taken = r.submit(kSvc + 1, first_in_hand(r), 4).value;
    r.publish();
    r.poll();
    auto op = r.take();
    r.cancel(taken);  // taken: InProgress, the target completes later
    r.publish();
    r.poll();
    r.reap();
    r.complete(op.value, std::uint16_t(St::Cancelled));
    r.server_publish();
    r.reap();
    r.cancel(taken);  // completed: NotFound
    r.cancel(0xDEAD'BEEF);
    r.publish();
    r.poll();
    r.reap();
    r.reap();
}

// Teardown from the client side with work in every place.
void scenario_peer_gone(Recorder& r, bool close_instead) {
    r.acquire();
    r.submit(kSvc, first_in_hand(r), 1);
    r.submit(kSvc, kNone, 0);
    r.publish();
    r.poll();
    auto op = r.take();
    r.complete(op.value, std::uint16_t(St::Ok));
    r.server_publish();
    r.acquire();
    r.submit(kSvc, first_in_hand(r), 2);
    r.publish();
    if (close_instead) {
        r.client_close();
        r.poll();
        r.client_gone();
    } else {
        r.server_close();
        r.peer_gone();
    }
    for (int i = 0; i < 6; ++i)
        r.reap();
    for (auto b : r.buffers_in_hand())
        r.release(b);
    r.submit(kSvc, kNone, 0);
}

// Branches the other runs leave to chance: an immediate answer (BadRequest) for a request
// lending a buffer, honest and then with the buffer id forged in shared memory (the server
// answers it; the client must refuse the answer, which names a buffer it never lent).
void scenario_forged_entry(Recorder& r) {
    constexpr std::uint16_t kUnknownOp = 40;  // neither a protocol op nor a service op
    r.acquire();
    r.submit(kUnknownOp, first_in_hand(r), 8);
    r.publish();
    r.poll();
    r.reap();
    r.acquire();
    r.submit(kUnknownOp, first_in_hand(r), 8);
    r.publish();
    const std::uint32_t cap = r.capacity();
    r.peer_write([cap](const ipc::QueueView& v) {
        for (std::uint32_t j = 0; j < cap; ++j)
            v.sq_entries[j].buffer = 0x7FFF;
    });
    r.poll();
    r.reap();
}

// Teardown after the server published a forged completion tail: peer_gone must refuse it, and
// the drain must stop at the tail it had seen, returning the pending operations as leftovers.
void scenario_forged_tail(Recorder& r) {
    r.acquire();
    r.submit(kSvc, first_in_hand(r), 4);
    r.submit(kSvc + 1, kNone, 0);
    r.publish();
    r.poll();
    r.server_close();
    r.peer_write(
        [](const ipc::QueueView& v) { v.cq->tail.value.store(v.cq->tail.value.load() + 1000); });
    r.peer_gone();
    for (int i = 0; i < 3; ++i)
        r.reap();
}

// IPC-R-054: a handle completes once. A second complete of it, and a complete of it after its
// record was reused by another operation (capacity 1 reuses the one record), change nothing.
void scenario_stale_handles(Recorder& r) {
    r.submit(kSvc, kNone, 0);
    r.publish();
    r.poll();
    const std::uint32_t first = r.take().value;
    r.complete(first, std::uint16_t(St::Ok));
    r.complete(first, std::uint16_t(St::Ok));  // twice: NotOwner
    r.server_publish();
    r.reap();
    r.submit(kSvc, kNone, 0);
    r.publish();
    r.poll();
    const std::uint32_t second = r.take().value;
    r.complete(first, std::uint16_t(St::Ok));  // stale, its record taken again: NotOwner
    r.complete(second, std::uint16_t(St::Ok));
    r.server_publish();
    r.reap();
}

void random_run(Recorder& r, std::uint64_t seed, unsigned steps, bool hostile) {
    Lcg g{seed};
    std::vector<std::uint32_t> tags;
    std::vector<std::uint32_t> handles;  // every handle take() gave: many stale by now
    for (unsigned i = 0; i < steps; ++i) {
        auto k = g.below(hostile ? 20 : 19);
        switch (k) {
            case 0:
            case 1:
                r.acquire();
                break;
            case 2: {
                auto h = r.buffers_in_hand();
                if (!h.empty())
                    r.release(h[g.below(std::uint32_t(h.size()))]);
                break;
            }
            case 3:
            case 4:
            case 5: {
                auto h = r.buffers_in_hand();
                std::uint16_t opcodes[] = {0, kSvc, kSvc + 3, 40, 5};
                auto opc = opcodes[g.below(5)];
                const Step* s;
                if (!h.empty() && g.below(3) != 0) {
                    s = &r.submit(opc, h[g.below(std::uint32_t(h.size()))], g.below(80));
                } else {
                    s = &r.submit(opc, kNone, g.below(4) == 0 ? 1 : 0);
                }
                if (s->ok)
                    tags.push_back(s->value);
                break;
            }
            case 6: {
                std::uint32_t t = tags.empty() || g.below(5) == 0
                                      ? g.next()
                                      : tags[g.below(std::uint32_t(tags.size()))];
                r.cancel(t);
                break;
            }
            case 7:
            case 8:
                r.publish();
                break;
            case 9:
            case 10:
                r.reap();
                break;
            case 11:
            case 12:
                r.poll();
                break;
            case 13: {
                auto& st = r.take();
                if (st.ok)
                    handles.push_back(st.value);
                break;
            }
            case 14:
            case 15: {
                auto t = r.taken_ops();
                std::uint16_t statuses[] = {0, 1, 0x100, 2, 3};
                if (!t.empty()) {
                    r.complete(t[g.below(std::uint32_t(t.size()))], statuses[g.below(5)]);
                } else if (!handles.empty() && g.below(2) == 0) {
                    r.complete(handles[g.below(std::uint32_t(handles.size()))], 0);
                } else if (g.below(4) == 0) {
                    r.complete(g.below(r.capacity() + 2), 0);
                }
                break;
            }
            case 16:
                r.server_publish();
                break;
            case 17:
                if (g.below(40) == 0) {
                    switch (g.below(4)) {
                        case 0:
                            r.peer_gone();
                            break;
                        case 1:
                            r.client_close();
                            break;
                        case 2:
                            r.client_gone();
                            break;
                        default:
                            r.server_close();
                            break;
                    }
                }
                break;
            case 18:
                r.reap();
                break;
            case 19: {
                // Hostile peer: scribble on a counter or an entry.
                auto what = g.below(6);
                auto val = g.below(3) == 0 ? g.next() : g.below(8);
                auto slot = g.below(r.capacity());
                r.peer_write([&](const ipc::QueueView& v) {
                    switch (what) {
                        case 0:
                            v.cq->tail.value.store(v.cq->tail.value.load() + val);
                            break;
                        case 1:
                            v.sq->tail.value.store(v.sq->tail.value.load() + val);
                            break;
                        case 2:
                            v.cq_entries[slot].tag = val;
                            break;
                        case 3:
                            v.cq_entries[slot].buffer = std::uint16_t(val);
                            break;
                        case 4:
                            v.sq_entries[slot].buffer = std::uint16_t(val);
                            break;
                        default:
                            v.sq->head.value.store(v.sq->head.value.load() + val);
                            break;
                    }
                });
                break;
            }
        }
    }
}

}  // namespace

ConformanceResult run_conformance(bool verbose) {
    ConformanceResult res;
    auto check = [&](const char* name, Recorder& r) {
        if (!res.ok)
            return;
        ++res.traces;
        res.steps += r.trace().steps.size();
        auto v = r.verdict();
        // The same trace through the parametric model (every capacity at once, ipc.md §7.1).
        Verdict pv = v.ok ? check_trace_parametric(r.trace()) : Verdict{};
        if (verbose)
            std::printf("  %s: %zu steps %s\n", name, r.trace().steps.size(),
                        !v.ok    ? "DISAGREES"
                        : !pv.ok ? "DISAGREES with the parametric model"
                                 : "ok");
        if (!v.ok) {
            res.ok = false;
            res.message = std::string("in run ") + name + ":\n" + v.message;
        } else if (!pv.ok) {
            res.ok = false;
            res.message = std::string("in run ") + name + " (parametric model):\n" + pv.message;
        }
    };
    // Runs one scenario on a fresh pair, unless an earlier run already disagreed (a mutant
    // is refuted by its first counterexample; the rest would only cost time).
    auto run = [&](const char* name, const RecorderConfig& cfg, auto&& scenario) {
        if (!res.ok)
            return;
        Recorder r(cfg);
        scenario(r);
        check(name, r);
    };
    const std::uint32_t firsts[] = {0, 0xFFFF'FFFE};
    for (std::uint32_t cap : {1u, 2u, 4u, 8u}) {
        for (std::uint32_t first : firsts) {
            RecorderConfig cfg{cap, 2, 64, 32, first, true};
            run("round trip", cfg, [](Recorder& r) { scenario_round_trip(r); });
            if (cap >= 2)
                run("cancels", cfg, [](Recorder& r) { scenario_cancels(r); });
            if (cap >= 2)
                run("forged entry", cfg, [](Recorder& r) { scenario_forged_entry(r); });
            run("forged tail at teardown", cfg, [](Recorder& r) { scenario_forged_tail(r); });
            run("stale handles", cfg, [](Recorder& r) { scenario_stale_handles(r); });
            if (cap >= 4) {
                run("server close, peer gone", cfg,
                    [](Recorder& r) { scenario_peer_gone(r, false); });
                run("client close", cfg, [](Recorder& r) { scenario_peer_gone(r, true); });
            }
        }
    }
    std::uint64_t seed = 1;
    for (std::uint32_t cap : {1u, 2u, 4u, 8u}) {
        for (std::uint32_t bufs : {1u, 3u}) {
            for (bool hostile : {false, true}) {
                RecorderConfig cfg{cap, bufs, 64, 32, seed % 2 ? 0xFFFF'FFF0 : 0, true};
                std::uint64_t sd = seed++;
                run(hostile ? "random with hostile writes" : "random", cfg,
                    [&](Recorder& r) { random_run(r, sd, 120, hostile); });
            }
        }
    }
    return res;
}

}  // namespace keel::spec
