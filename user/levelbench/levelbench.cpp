// levelbench: 4 KiB random reads and sequential 64 KiB reads from the virtio-blk disk at the
// seed's four I/O levels, in one boot (docs/io-levels.md): synchronous (do_io on srv/blk0),
// asynchronous (a queue on it), shared memory (the driver's ring, lib/blkring) and integrated
// (the driver's device half linked in, on a second device with the same contents, ns/disk1).
//
//   levelbench check SIZE   the same reads at every level: each read's checksum compared across
//                           the levels and its bytes against the host's pattern (every 8-byte
//                           word at byte offset o holds o * 0x9e3779b97f4a7c15); then a hostile
//                           client on the shared ring (qemu_levels), which runs this program
//                           again as "levelbench die SIZE" (a client that dies mid-ring)
//   levelbench bench SIZE [OPS]   the benchmark rows (bench/run.py b11): per level and workload
//                           one line "levelbench: row LEVEL WORKLOAD depth D ops N ns T p50 A
//                           p99 B" (T: the whole run's clock; under -icount shift=0 the clock
//                           counts guest instructions)
//
// SIZE is the disk's size in bytes (both disks the same).
#include <keel/blkring/blkring.hpp>
#include <keel/c/mem.hpp>

#include "level.hpp"

using namespace keel;
using namespace keel::user;
using namespace keel::levelbench;

namespace keel::levelbench {
uint64_t g_started[kMaxCount];
}

namespace {

const Level* const kLevels[] = {&kSyncLevel, &kAsyncLevel, &kShmLevel, &kIntegratedLevel};
constexpr uint32_t kLevelCount = 4;
constexpr uint64_t kPatternStep = 0x9e3779b97f4a7c15ull;

uint64_t g_size = 0;
uint64_t g_offsets[kMaxCount];
uint64_t g_latency[kMaxCount];
uint64_t g_sums[kLevelCount][kMaxCount];
uint32_t g_level = 0;
uint32_t g_pattern_bad = 0, g_length = 0;
uint64_t g_rng = 0x2545f4914f6cdd1dull;

uint64_t next_random() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

// FNV-1a over a read's bytes.
uint64_t checksum(const uint8_t* p, uint32_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < n; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

void check_done(uint32_t index, const uint8_t* data, uint64_t) {
    g_sums[g_level][index] = checksum(data, g_length);
    for (uint32_t w = 0; w < g_length; w += 8) {
        uint64_t v;
        c::copy(&v, data + w, 8);
        if (v != (g_offsets[index] + w) * kPatternStep) {
            ++g_pattern_bad;
            return;
        }
    }
}

void bench_done(uint32_t index, const uint8_t*, uint64_t latency) {
    g_latency[index] = latency;
}

void sort(uint64_t* a, uint32_t n) {  // Shell sort: a few thousand latencies
    for (uint32_t gap = n / 2; gap > 0; gap /= 2) {
        for (uint32_t i = gap; i < n; ++i) {
            const uint64_t v = a[i];
            uint32_t j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap)
                a[j] = a[j - gap];
            a[j] = v;
        }
    }
}

// Offsets: `count` random whole `length` blocks of the disk, or sequential from 0.
void make_offsets(uint32_t count, uint32_t length, bool random) {
    for (uint32_t i = 0; i < count; ++i)
        g_offsets[i] = random ? next_random() % (g_size / length) * length
                              : uint64_t{i} * length % (g_size - g_size % length);
}

bool open_all() {
    for (const Level* l : kLevels) {
        if (const char* why = l->open()) {
            print("levelbench: %s: %s\n", l->name, why);
            return false;
        }
    }
    return true;
}

// ---- check ------------------------------------------------------------------------------------

int check() {
    // 64 random 4 KiB reads, then 16 sequential 64 KiB reads (1 MiB) from 2 MiB on.
    constexpr uint32_t kRandom = 64, kSeq = 16;
    uint32_t failures = 0;
    for (uint32_t l = 0; l < kLevelCount; ++l) {
        g_level = l;
        g_pattern_bad = 0;
        g_rng = 0x2545f4914f6cdd1dull;
        for (uint32_t part = 0; part < 2; ++part) {
            const bool random = part == 0;
            g_length = random ? 4096 : kMaxLength;
            const uint32_t count = random ? kRandom : kSeq;
            make_offsets(count, g_length, random);
            if (!random) {
                for (uint32_t i = 0; i < count; ++i)
                    g_offsets[i] += 2u << 20;
            }
            // The sums of part 1 go after part 0's.
            uint64_t saved[kRandom];
            if (!random)
                c::copy(saved, g_sums[l], sizeof saved);
            const Job job{g_offsets, count, g_length, random ? 1u : 8u, check_done};
            if (const char* why = kLevels[l]->run(job)) {
                print("levelbench: %s: %s\n", kLevels[l]->name, why);
                return 1;
            }
            if (!random) {
                for (uint32_t i = 0; i < kSeq; ++i)
                    g_sums[l][kRandom + i] = g_sums[l][i];
                c::copy(g_sums[l], saved, sizeof saved);
            }
        }
        uint64_t all = 0;
        for (uint32_t i = 0; i < kRandom + kSeq; ++i)
            all = all * 31 + g_sums[l][i];
        print("levelbench: %s: %u reads, checksum %lx, %u not the host's pattern\n",
              kLevels[l]->name, kRandom + kSeq, all, g_pattern_bad);
        failures += g_pattern_bad;
    }
    uint32_t differ = 0;
    for (uint32_t l = 1; l < kLevelCount; ++l) {
        for (uint32_t i = 0; i < kRandom + kSeq; ++i)
            differ += g_sums[l][i] != g_sums[0][i];
    }
    if (differ == 0 && failures == 0)
        print("levelbench: the four levels read the same %u blocks, all the host's pattern\n",
              kRandom + kSeq);
    else
        print("levelbench: FAIL: %u reads differ between levels, %u not the pattern\n", differ,
              failures);
    return differ == 0 && failures == 0 ? 0 : 1;
}

// ---- bench ------------------------------------------------------------------------------------

bool row(const Level& l, const char* workload, uint32_t count, uint32_t length, uint32_t depth,
         bool random) {
    make_offsets(count, length, random);
    const Job job{g_offsets, count, length, depth, bench_done};
    const uint64_t start = sys::clock_ns();
    if (const char* why = l.run(job)) {
        print("levelbench: %s %s: %s\n", l.name, workload, why);
        return false;
    }
    const uint64_t ns = sys::clock_ns() - start;
    sort(g_latency, count);
    print("levelbench: row %s %s depth %u ops %u ns %lu p50 %lu p99 %lu\n", l.name, workload, depth,
          count, ns, g_latency[count / 2], g_latency[count * 99 / 100]);
    return true;
}

int bench(uint32_t ops) {
    const uint32_t seq = ops / 4;  // 64 KiB reads: a quarter as many
    for (const Level* l : kLevels) {
        const bool ok = row(*l, "rand4k", ops, 4096, 1, true) &&
                        (l == &kSyncLevel || row(*l, "rand4k", ops, 4096, kMaxDepth, true)) &&
                        row(*l, "seq64k", seq, kMaxLength, l == &kSyncLevel ? 1 : 16, false);
        if (!ok)
            return 1;
    }
    print("levelbench: done\n");
    return 0;
}

// A decimal number, or 0 when the word is not one.
uint64_t number(const char* s) {
    uint64_t v = 0;
    for (; *s != '\0'; ++s) {
        if (*s < '0' || *s > '9' || v > (~0ull - 9) / 10)
            return 0;
        v = v * 10 + static_cast<uint64_t>(*s - '0');
    }
    return v;
}

}  // namespace

int hostile_ring(uint64_t size);  // hostile.cpp
int hostile_die(uint64_t size);   // hostile.cpp: the child it runs

int keel_main(const StartInfo& start) {
    char storage[256];
    const char* words[4] = {};
    const int n = split_args(start.args, start.args_length, storage, sizeof storage, words, 4);
    if (n < 2) {
        print("levelbench: usage: levelbench check|bench SIZE [OPS]\n");
        return 2;
    }
    g_size = number(words[1]);
    if (g_size < (4u << 20) || g_size % kMaxLength != 0) {
        print("levelbench: SIZE must be a multiple of 64 KiB, at least 4 MiB\n");
        return 2;
    }
    if (c::compare(words[0], "die", 4) == 0)
        return hostile_die(g_size);  // before open_all: it must not touch the other levels
    if (!open_all())
        return 1;
    if (c::compare(words[0], "check", 6) == 0) {
        const int r = check();
        kShmLevel.close();  // the hostile client opens a session of its own
        return r != 0 ? r : hostile_ring(g_size);
    }
    const uint64_t ops = n > 2 ? number(words[2]) : 2000;
    if (c::compare(words[0], "bench", 6) != 0 || ops < 4 || ops > kMaxCount) {
        print("levelbench: usage: levelbench check|bench SIZE [OPS], OPS 4..%u\n", kMaxCount);
        return 2;
    }
    return bench(static_cast<uint32_t>(ops));
}
