// Differential fuzz target: decoded action sequences run on the library and on the reference
// model in lock step (proptest/model System); any difference aborts with the trace.
//
// Input: 4 bytes of configuration, then 7 bytes per action:
//   [0] capacity: 2^(b % 7) (the maximum capacity is the property tests' job: each run
//       would map a 2.6 MB region)
//   [1] buffer count (% 17)    [2] buffer size 64 << (b % 2); bit 7: close (vs peer_gone) at end
//   [3] first index: 0, near 2^32 (b % 64 laps before the wrap), or b << 24
//   action: kind, a, b, c, d (3 bytes, spread over 64 bits)
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <keel_model/system.hpp>

namespace {

using keel::model::Action;
using keel::model::Config;
using keel::model::Kind;

// Feedback for the fuzzer: one counter per (action kind, outcome), outcome being "ok", "skip",
// "tampered" or the error the call returned (TraceStep::outcome: a number, one counter each).
// libFuzzer reads this section as extra coverage; it stands in for the checker's own edges,
// which are not instrumented (coverage_ignore.txt). Other engines ignore it.
constexpr std::size_t kOutcomes = 16;
#if defined(__linux__)
__attribute__((section("__libfuzzer_extra_counters")))
#endif
std::uint8_t outcome_counters[std::size_t(Kind::Count) * kOutcomes];

#if defined(__clang__)
__attribute__((no_sanitize("coverage")))  // bookkeeping: no edges or comparisons of its own
#endif
void count_outcome(const keel::model::TraceStep& t) {
    static_assert(2 + unsigned(keel::ipc::Error::BadLayout) < kOutcomes);
    std::uint8_t& n = outcome_counters[std::size_t(t.action.kind) * kOutcomes + t.outcome];
    n = std::uint8_t(n + 1);
}

[[noreturn]] void report(const keel::model::System& sys, const std::string& err) {
    std::fprintf(stderr, "differential: library and model disagree\n%s\ntrace:\n%s\n", err.c_str(),
                 sys.trace_text(200).c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4)
        return 0;
    Config cfg;
    cfg.capacity = 1u << (data[0] % 7);
    cfg.buffer_count = data[1] % 17;
    cfg.buffer_size = cfg.buffer_count == 0 ? 0 : 64u << (data[2] % 2);
    cfg.op_limit = keel::ipc::abi::kFirstServiceOp + 4;
    switch (data[3] % 4) {
        case 0:
            cfg.first_index = 0;
            break;
        case 1:
        case 2:
            cfg.first_index = 0u - (data[3] >> 2);
            break;
        default:
            cfg.first_index = std::uint32_t(data[3]) << 24;
            break;
    }
    const bool close_at_end = data[2] & 0x80;
    // One System for the whole process, reset per input: no allocation per input once its
    // storage has grown (reset() starts from exactly the state a new System has).
    static keel::model::System* shared = nullptr;
    // Failed calls are compared once per run of them (System::set_deferred_unchanged).
    if (shared == nullptr) {
        shared = new keel::model::System(cfg);
        shared->set_deferred_unchanged(true);
    } else {
        shared->reset(cfg);
    }
    keel::model::System& sys = *shared;
    if (!sys.ok())
        report(sys, "the library refused a valid geometry");
    for (std::size_t i = 4; i + 7 <= size; i += 7) {
        const std::uint8_t* p = data + i;
        Action a;
        a.kind = Kind(p[0] % std::uint8_t(Kind::Count));
        a.a = p[1];
        a.b = p[2];
        a.c = p[3];
        std::uint64_t x = p[4] | std::uint32_t(p[5]) << 8 | std::uint32_t(p[6]) << 16;
        a.d = x * 0x9E37'79B9'7F4A'7C15ull ^ x;
        std::string err = sys.step(a);
        if (!err.empty())
            report(sys, err);
        count_outcome(sys.trace().back());
    }
    std::string err = sys.finish(close_at_end);
    if (!err.empty())
        report(sys, err);
    return 0;
}
