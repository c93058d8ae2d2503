// fsbench: file throughput through the FAT server (bench row B9, bench/README.md). Reads the
// 16 MiB file BENCH.DAT that bench/run.py puts on the disk image with mtools, then writes a
// new 16 MiB file, all through /mnt/disk (servers/fat over srv/blk0/1):
//   seq_read_64k_qd1   64 KiB reads from the start to the end, one do_io at a time
//   seq_read_64k_qd32  the same through one open object, a queue kept 32 reads deep, each a
//                      read_at of the next 64 KiB (guestbench: io_uring reads at consecutive
//                      offsets)
//   rand_read_4k_qd1   read_at of 4 KiB at xorshift64 offsets (guestbench's seed and pread),
//                      one at a time
//   rand_read_4k_qd32  the same offsets, read_at through one open object, 32 in flight
//   seq_write_64k_qd1  a new file (create, truncate) written in 64 KiB writes, then sync
// Every read is checked: the file's 8-byte word at offset o is splitmix64(o / 8) (little
// endian), so a read served from the wrong position fails the row.
// Before each read row the FAT server writes back and forgets its caches (set_meta
// DropCaches), as guestbench drops Linux's page cache: each row starts cold.
// Output, one line a row:
//   "fsbench: row NAME ops N bytes B ns T"  then  "fsbench: done, N failures"
// Wall-clock time in the guest, like blkbench.
// `fsbench ROW ROUNDS` runs only the read row ROW (one of the names above), ROUNDS times, each
// from cold caches: a row long enough to sample (bench/guestprof.py).
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>
#include <keel/syscall_abi.hpp>

#include <utility>

#include "queue.hpp"
#include "runtime.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint64_t kFileSize = 16ull << 20;
constexpr uint32_t kBig = 64 * 1024;
constexpr uint32_t kSmall = 4096;
constexpr uint32_t kDepth = 32;
constexpr uint64_t kRandomOps = 4096;
constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;
constexpr const char* kName = "BENCH.DAT";
constexpr const char* kWriteName = "WRITE.DAT";

Handle g_dir = 0;
int g_failures = 0;
uint8_t g_buf[kBig];

uint64_t splitmix64(uint64_t x) {
    uint64_t z = x * 0x9e3779b97f4a7c15ull + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t xorshift(uint64_t& s) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

// The first word of a read at `at` is the file's word there.
bool check(const uint8_t* p, uint64_t at) {
    uint64_t w = 0;
    c::copy(&w, p, 8);
    return w == splitmix64(at / 8);
}

void fail(const char* what, int64_t r) {
    ++g_failures;
    print("fsbench: FAILED %s (%ld)\n", what, r);
}

int64_t open_file(const char* name, uint64_t flags) {
    return sys::do_io(g_dir, Op::kOpen, name, c::length(name), flags);
}

void close(int64_t h) {
    if (h > 0)
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
}

// The volume's caches written back and emptied (not in any row's time).
void drop_caches() {
    if (const int64_t r = sys::do_io(g_dir, Op::kSetMeta, nullptr, 0,
                                     static_cast<uint64_t>(abi::Meta::kDropCaches));
        r < 0)
        fail("drop caches", r);
}

void row(const char* name, uint64_t ops, uint64_t bytes, uint64_t ns) {
    print("fsbench: row %s ops %lu bytes %lu ns %lu\n", name, ops, bytes, ns);
}

void seq_read_qd1() {
    const int64_t f = open_file(kName, 0);
    if (f < 0)
        return fail("open", f);
    const uint64_t start = sys::clock_ns();
    uint64_t at = 0;
    while (at < kFileSize) {
        const int64_t n = sys::do_io(static_cast<uint64_t>(f), Op::kRead, g_buf, kBig);
        if (n != kBig || !check(g_buf, at)) {
            close(f);
            return fail("seq read", n);
        }
        at += kBig;
    }
    const uint64_t ns = sys::clock_ns() - start;
    close(f);
    row("seq_read_64k_qd1", kFileSize / kBig, kFileSize, ns);
}

void seq_read_qd32() {
    const int64_t f = open_file(kName, 0);
    if (f < 0)
        return fail("open", f);
    Queue q;
    if (const int64_t r = q.create(64, kDepth, kBig); r != 0) {
        close(f);
        return fail("queue", r);
    }
    const uint64_t ops = kFileSize / kBig;
    uint64_t submitted = 0, done = 0;
    bool ok = true;
    const uint64_t start = sys::clock_ns();
    auto submit = [&]() {
        auto b = q.client().acquire();
        if (!b || !q.submit(Op::kReadAt, static_cast<Handle>(f), submitted * kBig, submitted,
                            std::move(*b), kBig))
            return false;
        ++submitted;
        return true;
    };
    while (ok && submitted < ops && submitted < kDepth)
        ok = submit();
    while (ok && done < ops) {
        if (const int64_t r = q.wait(1, 10'000'000'000); r < 0) {
            ok = false;
            break;
        }
        while (auto r = q.reap()) {
            ++done;
            if (r->status != 0 || r->value != kBig) {
                ok = false;
                break;
            }
            const auto* p = reinterpret_cast<const uint8_t*>(q.client().bytes(r->buffer).data());
            if (!check(p, r->user_data * kBig)) {
                ok = false;
                break;
            }
            r->buffer.reset();
            if (submitted < ops && !submit()) {
                ok = false;
                break;
            }
        }
    }
    const uint64_t ns = sys::clock_ns() - start;
    close(f);
    if (!ok)
        return fail("seq read qd32", static_cast<int64_t>(done));
    row("seq_read_64k_qd32", ops, kFileSize, ns);
}

void rand_read_qd1() {
    const int64_t f = open_file(kName, 0);
    if (f < 0)
        return fail("open", f);
    uint64_t s = kSeed;
    const uint64_t blocks = kFileSize / kSmall;
    const uint64_t start = sys::clock_ns();
    for (uint64_t i = 0; i < kRandomOps; ++i) {
        const uint64_t at = (xorshift(s) % blocks) * kSmall;
        const int64_t n = sys::do_io(static_cast<uint64_t>(f), Op::kReadAt, g_buf, kSmall, at);
        if (n != kSmall || !check(g_buf, at)) {
            close(f);
            return fail("random read", n);
        }
    }
    const uint64_t ns = sys::clock_ns() - start;
    close(f);
    row("rand_read_4k_qd1", kRandomOps, kRandomOps * kSmall, ns);
}

void rand_read_qd32() {
    const int64_t f = open_file(kName, 0);
    if (f < 0)
        return fail("open", f);
    Queue q;
    if (const int64_t r = q.create(64, kDepth, kSmall); r != 0) {
        close(f);
        return fail("queue", r);
    }
    uint64_t want[kDepth] = {};
    uint64_t s = kSeed;
    const uint64_t blocks = kFileSize / kSmall;
    uint64_t submitted = 0, done = 0;
    bool ok = true;
    // user_data: the slot, whose offset want[] holds until its read completes.
    auto submit = [&](uint32_t slot) {
        const uint64_t at = (xorshift(s) % blocks) * kSmall;
        want[slot] = at;
        auto b = q.client().acquire();
        if (!b || !q.submit(Op::kReadAt, static_cast<Handle>(f), at, slot, std::move(*b), kSmall))
            return false;
        ++submitted;
        return true;
    };
    const uint64_t start = sys::clock_ns();
    for (uint32_t slot = 0; ok && slot < kDepth && submitted < kRandomOps; ++slot)
        ok = submit(slot);
    while (ok && done < kRandomOps) {
        if (q.wait(1, 10'000'000'000) < 0) {
            ok = false;
            break;
        }
        while (auto r = q.reap()) {
            const auto slot = static_cast<uint32_t>(r->user_data);
            ++done;
            if (slot >= kDepth || r->status != 0 || r->value != kSmall ||
                !check(reinterpret_cast<const uint8_t*>(q.client().bytes(r->buffer).data()),
                       want[slot]))
                ok = false;
            r->buffer.reset();
            if (ok && submitted < kRandomOps)
                ok = submit(slot);
            if (!ok)
                break;
        }
    }
    const uint64_t ns = sys::clock_ns() - start;
    close(f);
    if (!ok)
        return fail("random read qd32", static_cast<int64_t>(done));
    row("rand_read_4k_qd32", kRandomOps, kRandomOps * kSmall, ns);
}

void seq_write_qd1() {
    const int64_t f = open_file(kWriteName, abi::kOpenCreate | abi::kOpenTruncate);
    if (f < 0)
        return fail("create", f);
    for (uint32_t i = 0; i < kBig; ++i)
        g_buf[i] = static_cast<uint8_t>(i * 31);
    const auto h = static_cast<uint64_t>(f);
    const uint64_t start = sys::clock_ns();
    for (uint64_t at = 0; at < kFileSize; at += kBig) {
        const int64_t n = sys::do_io(h, Op::kWrite, g_buf, kBig);
        if (n != kBig) {
            close(f);
            return fail("write", n);
        }
    }
    const int64_t synced = sys::do_io(h, Op::kSync);
    const uint64_t ns = sys::clock_ns() - start;
    close(f);
    if (synced != 0)
        return fail("sync", synced);
    row("seq_write_64k_qd1", kFileSize / kBig, kFileSize, ns);
}

}  // namespace

struct Row {
    const char* name;
    void (*run)();
};
constexpr Row kReadRows[] = {{"seq_read_64k_qd1", seq_read_qd1},
                             {"seq_read_64k_qd32", seq_read_qd32},
                             {"rand_read_4k_qd1", rand_read_qd1},
                             {"rand_read_4k_qd32", rand_read_qd32}};

// `fsbench ROW ROUNDS`: ROW alone, ROUNDS times. False when the arguments name no read row.
bool only_row(const StartInfo& start) {
    char storage[256];
    const char* words[3];
    if (split_args(start.args, start.args_length, storage, sizeof storage, words, 3) != 2)
        return false;
    const uint64_t rounds = parse_u64(words[1]);
    for (const Row& r : kReadRows) {
        if (str_equal(r.name, words[0])) {
            for (uint64_t i = 0; i < rounds; ++i) {
                drop_caches();
                r.run();
            }
            return true;
        }
    }
    return false;
}

int keel_main(const StartInfo& start) {
    const char* path = "ns/mnt/disk";
    const int64_t dir = open_path(root(), path, c::length(path));
    if (dir < 0) {
        print("fsbench: no /mnt/disk (%ld)\n", dir);
        return 1;
    }
    g_dir = static_cast<Handle>(dir);
    if (start.args_length != 0) {
        if (!only_row(start)) {
            print("fsbench: usage: fsbench [ROW ROUNDS] (ROW: a read row's name)\n");
            return 1;
        }
        print("fsbench: done, %d failures\n", g_failures);
        return g_failures == 0 ? 0 : 1;
    }
    drop_caches();
    seq_read_qd1();
    drop_caches();
    seq_read_qd32();
    drop_caches();
    rand_read_qd1();
    drop_caches();
    rand_read_qd32();
    seq_write_qd1();
    print("fsbench: done, %d failures\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
