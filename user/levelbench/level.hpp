// user/levelbench: the same reads done at the seed's four I/O levels (docs/io-levels.md). Each
// level is one file with the same three calls, so that its client code can be read and
// counted on its own: sync_level.cpp, async_level.cpp, shm_level.cpp, integrated_level.cpp.
#pragma once

#include <stdint.h>

#include "runtime.hpp"

namespace keel::levelbench {

// Reads of `length` bytes (at most kMaxLength) at `offsets[0..count)`, at most `depth` (at most
// kMaxDepth) in flight. done() is called once per read, in completion order, with its index,
// its data (valid during the call only) and its latency (submission to completion seen).
struct Job {
    const uint64_t* offsets;
    uint32_t count;
    uint32_t length;
    uint32_t depth;
    void (*done)(uint32_t index, const uint8_t* data, uint64_t latency_ns);
};

inline constexpr uint32_t kMaxLength = 64 * 1024;
inline constexpr uint32_t kMaxDepth = 32;
inline constexpr uint32_t kMaxCount = 1u << 16;

// One level: open (nullptr or why), run a job (nullptr or why), close.
struct Level {
    const char* name;
    const char* (*open)();
    const char* (*run)(const Job& job);
    void (*close)();
};

extern const Level kSyncLevel;
extern const Level kAsyncLevel;
extern const Level kShmLevel;
extern const Level kIntegratedLevel;

// When each read in flight was submitted, by index (levelbench.cpp; one job at a time).
extern uint64_t g_started[kMaxCount];

}  // namespace keel::levelbench
