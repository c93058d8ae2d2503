// fstest VOLUME: a file system served to programs, through the ordinary object API only: what
// the shell and every program rely on. The shell runs it with the path of a mounted volume
// (/mnt/ram on the ramdisk, /mnt/disk on the virtio disk); it works inside a fresh "fstest"
// directory there, so it runs on any volume: create, write, read, seek, append, truncate, positions
// per open, large files, deep and wide directories listed by cursor, rename (following open
// objects), removal while open, rights, times, bad names, a full volume and several processes
// writing at once. Prints "N passed, N failed" and exits 0 only when nothing failed.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "queue.hpp"
#include "testlib.hpp"

using namespace keel;
using namespace keel::user;
using namespace keel::testlib;
using abi::Error;

namespace {

constexpr uint64_t kCreate = abi::kOpenCreate, kExclusive = abi::kOpenExclusive,
                   kTruncate = abi::kOpenTruncate, kDirectory = abi::kOpenDirectory,
                   kAppend = abi::kOpenAppend;

int64_t err(Error e) {
    return -static_cast<int64_t>(e);
}

int64_t open_in(Handle dir, const char* name, uint64_t flags = 0) {
    return sys::do_io(dir, Op::kOpen, name, c::length(name), flags);
}

void drop(int64_t h) {
    if (h > 0)
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
}

uint64_t size_of(int64_t h) {
    uint64_t size = ~0ull;
    (void)node_type(static_cast<Handle>(h), &size);
    return size;
}

// Writes n bytes of `pattern(i)` from position `from` in chunks; true when all were taken.
template <class Pattern>
bool write_pattern(int64_t h, uint64_t from, uint64_t n, uint64_t chunk, Pattern pattern) {
    static uint8_t buf[64 * 1024];
    for (uint64_t at = 0; at < n;) {
        const uint64_t k = n - at < chunk ? n - at : chunk;
        for (uint64_t i = 0; i < k; ++i)
            buf[i] = pattern(from + at + i);
        if (sys::do_io(static_cast<uint64_t>(h), Op::kWrite, buf, k) != static_cast<int64_t>(k))
            return false;
        at += k;
    }
    return true;
}

// Reads everything from the current position in chunks and checks it against pattern(i);
// the number of bytes that matched before the first difference (or the end).
template <class Pattern>
uint64_t read_pattern(int64_t h, uint64_t from, uint64_t chunk, Pattern pattern) {
    static uint8_t buf[64 * 1024];
    uint64_t good = 0;
    for (;;) {
        const int64_t n = sys::do_io(static_cast<uint64_t>(h), Op::kRead, buf, chunk);
        if (n <= 0)
            return good;
        for (int64_t i = 0; i < n; ++i) {
            if (buf[i] != pattern(from + good))
                return good;
            ++good;
        }
    }
}

uint8_t bytes_a(uint64_t i) {
    return static_cast<uint8_t>(i * 7 + (i >> 9));
}

Handle g_top = 0;  // fs/fstest

// Removes dir/name and everything under it.
void remove_tree(Handle dir, const char* name) {
    const int64_t h = open_in(dir, name);
    if (h < 0)
        return;
    if (node_type(static_cast<Handle>(h)) == uint32_t(abi::NodeType::kDirectory)) {
        char names[2048];
        for (;;) {
            const int64_t n =
                sys::do_io(static_cast<uint64_t>(h), Op::kRead, names, sizeof names, 0);
            if (n <= 0)
                break;
            int64_t end = 0;
            while (end < n && names[end] != '\n')
                ++end;
            names[end] = '\0';
            remove_tree(static_cast<Handle>(h), names);
        }
    }
    drop(h);
    (void)sys::do_io(dir, Op::kDestroy, name, c::length(name));
}

// The volume under test: the path given as the argument (from the shell's name space "ns"),
// set before the tests run.
const char* g_volume = "";

int64_t open_volume() {
    const int64_t ns = open(root(), "ns");
    if (ns < 0)
        return ns;
    const char* path = g_volume[0] == '/' ? g_volume + 1 : g_volume;
    const int64_t h = open_path(static_cast<Handle>(ns), path, c::length(path));
    drop(ns);
    return h;
}

Handle top() {
    if (g_top == 0) {
        const int64_t fs = open_volume();
        CHECK(fs > 0);
        remove_tree(static_cast<Handle>(fs), "fstest");
        const int64_t t =
            open_in(static_cast<Handle>(fs), "fstest", kCreate | kExclusive | kDirectory);
        CHECK(t > 0);
        drop(fs);
        g_top = t > 0 ? static_cast<Handle>(t) : 0;
    }
    return g_top;
}

TEST(volume_root_is_a_served_directory) {
    const int64_t fs = open_volume();
    CHECK(fs > 0);
    uint64_t kind = 0;
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(fs), Op::kGetMeta, &kind, 8,
                        static_cast<uint64_t>(abi::Meta::kKind)),
             8);
    CHECK_EQ(kind, static_cast<uint64_t>(abi::Kind::kServed));
    CHECK_EQ(node_type(static_cast<Handle>(fs)), uint32_t(abi::NodeType::kDirectory));
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(fs), Op::kWrite, "x", 1), kIsDirectory);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(fs), Op::kSeek, nullptr, 0, 0), kIsDirectory);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(fs), Op::kSync), 0);
    drop(fs);
}

TEST(create_write_read) {
    const int64_t f = open_in(top(), "hello.txt", kCreate | kExclusive);
    CHECK(f > 0);
    CHECK_EQ(node_type(static_cast<Handle>(f)), uint32_t(abi::NodeType::kFile));
    CHECK_EQ(size_of(f), 0u);  // an empty file is a file
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, "hello, disk", 11), 11);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, 7), 7);
    char back[16] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kPeek, back, sizeof back), 4);
    CHECK(c::compare(back, "disk", 4) == 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kRead, back, sizeof back), 4);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kRead, back, sizeof back), 0);  // the end
    CHECK_EQ(size_of(f), 11u);
    drop(f);
    BAD_INPUT(open_in(top(), "hello.txt", kCreate | kExclusive), kExists);
    BAD_INPUT(open_in(top(), "HELLO.TXT", kCreate | kExclusive), kExists);  // FAT ignores case
    BAD_INPUT(open_in(top(), "absent.txt"), kNotFound);
    BAD_INPUT(open_in(top(), "hello.txt", kDirectory), kNotDirectory);
    const int64_t again = open_in(top(), "Hello.Txt");
    CHECK(again > 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(again), Op::kRead, back, sizeof back), 11);
    BAD_INPUT(open_in(static_cast<Handle>(again), "x"), kNotDirectory);
    drop(again);
}

TEST(append_truncate_and_size) {
    int64_t f = open_in(top(), "log", kCreate);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, "one\n", 4), 4);
    drop(f);
    f = open_in(top(), "log", kAppend);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, 0), 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, "two\n", 4), 4);  // at the end
    CHECK_EQ(size_of(f), 8u);
    uint64_t size = 3;
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSetMeta, &size, 8,
                        static_cast<uint64_t>(abi::Meta::kSize)),
             8);
    CHECK_EQ(size_of(f), 3u);
    size = 5000;  // growing fills with zeros
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSetMeta, &size, 8,
                        static_cast<uint64_t>(abi::Meta::kSize)),
             8);
    char buf[8];
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, 4990), 4990);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kRead, buf, 8), 8);
    CHECK(buf[0] == 0 && buf[7] == 0);
    drop(f);
    f = open_in(top(), "log", kTruncate);
    CHECK_EQ(size_of(f), 0u);
    drop(f);
}

TEST(each_open_has_its_own_position) {
    const int64_t a = open_in(top(), "shared", kCreate);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kWrite, "abcdef", 6), 6);
    const int64_t b = open_in(top(), "shared");
    char x[3] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kRead, x, 3), 3);
    CHECK(c::compare(x, "abc", 3) == 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kWrite, "gh", 2), 2);  // a is at 6
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kRead, x, 3), 3);      // b is at 3
    CHECK(c::compare(x, "def", 3) == 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kRead, x, 3), 2);  // what a wrote
    CHECK(c::compare(x, "gh", 2) == 0);
    drop(a);
    drop(b);
}

TEST(large_file_in_many_clusters) {
    constexpr uint64_t kBytes = 700 * 1024 + 333;
    const int64_t f = open_in(top(), "large.bin", kCreate | kTruncate);
    CHECK(write_pattern(f, 0, kBytes, 60000, bytes_a));
    CHECK_EQ(size_of(f), kBytes);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, 0), 0);
    CHECK_EQ(read_pattern(f, 0, 4096, bytes_a), kBytes);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, 123457), 123457);
    CHECK_EQ(read_pattern(f, 123457, 65536, bytes_a), kBytes - 123457);
    drop(f);
}

// Reads queued several at a time on one open, running past the end, as httpd streams a file:
// each completes exactly once, in order, the bytes before the end with the file's data and
// the rest with 0 (a client once saw the last one or two of such reads never complete). Also
// from a position just before the end, with the reads of 20 rounds on one queue.
TEST(queued_reads_past_the_end_all_complete) {
    constexpr uint64_t kBytes = 100 * 1024 + 1;
    constexpr uint32_t kPiece = 32 * 1024, kReads = 8;
    const int64_t f = open_in(top(), "queued.bin", kCreate | kTruncate);
    CHECK(write_pattern(f, 0, kBytes, 60000, bytes_a));
    Queue q;
    CHECK_EQ(q.create(16, kReads, kPiece), 0);
    for (int round = 0; round < 20; ++round) {
        const uint64_t from = round % 2 == 0 ? 0 : kBytes - 5;
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, from),
                 static_cast<int64_t>(from));
        for (uint32_t i = 0; i < kReads; ++i) {
            auto b = q.client().acquire();
            CHECK(static_cast<bool>(b));
            if (!b || !q.submit(Op::kRead, static_cast<Handle>(f), 0, i, std::move(*b), kPiece))
                return;
        }
        uint32_t reaped = 0;
        uint64_t at = from;
        bool in_order = true, data_ok = true;
        for (int waits = 0; waits < 50 && reaped < kReads; ++waits) {
            (void)q.wait(1, 200'000'000);
            while (auto r = q.reap()) {
                in_order = in_order && r->user_data == reaped && r->status == 0;
                const uint64_t want =
                    at < kBytes ? (kBytes - at < kPiece ? kBytes - at : kPiece) : 0;
                data_ok = data_ok && r->value == want;
                const auto bytes = q.client().bytes(r->buffer);
                for (uint64_t k = 0; data_ok && k < r->value; k += 997)
                    data_ok = static_cast<uint8_t>(bytes[k]) == bytes_a(at + k);
                at += r->value;
                ++reaped;
                r->buffer.reset();  // back to the pool for the next round
            }
        }
        CHECK_EQ(reaped, kReads);
        CHECK(in_order);
        CHECK(data_ok);
        CHECK_EQ(at, kBytes);
    }
    drop(f);
}

uint8_t bytes_b(uint64_t i) {
    return static_cast<uint8_t>(i * 13 + (i >> 11) + 1);
}

// The server's page cache keeps file data once read: another open's writes (whole blocks
// straight to the device, partial ones through the sector cache, a zero-filling growth) and
// the clusters of a removed file reused by a new one must all be what a read sees next.
TEST(cached_data_follows_writes_through_other_opens) {
    constexpr uint64_t kBytes = 200 * 1024;
    const int64_t a = open_in(top(), "cached.bin", kCreate | kTruncate);
    const int64_t b = open_in(top(), "cached.bin");
    CHECK(write_pattern(a, 0, kBytes, 65536, bytes_a));
    CHECK_EQ(read_pattern(b, 0, 4096, bytes_a), kBytes);  // now in the cache
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSeek, nullptr, 0, 0), 0);
    CHECK(write_pattern(a, 0, kBytes, 65536, bytes_b));  // whole blocks
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kSeek, nullptr, 0, 0), 0);
    CHECK_EQ(read_pattern(b, 0, 4096, bytes_b), kBytes);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSeek, nullptr, 0, 1001), 1001);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kWrite, "xyz", 3), 3);  // a partial one
    char x[8] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kSeek, nullptr, 0, 1000), 1000);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kRead, x, 5), 5);
    CHECK(static_cast<uint8_t>(x[0]) == bytes_b(1000) && c::compare(x + 1, "xyz", 3) == 0 &&
          static_cast<uint8_t>(x[4]) == bytes_b(1004));
    uint64_t size = 4096;  // shrink, then grow with zeros over what was cached
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSetMeta, &size, 8,
                        static_cast<uint64_t>(abi::Meta::kSize)),
             8);
    size = kBytes;
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSetMeta, &size, 8,
                        static_cast<uint64_t>(abi::Meta::kSize)),
             8);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kSeek, nullptr, 0, 4096), 4096);
    CHECK_EQ(read_pattern(b, 0, 65536, [](uint64_t) { return uint8_t{0}; }), kBytes - 4096);
    drop(a);
    drop(b);
    // Removed, its clusters taken by a new file: the new bytes are read, not the cached old.
    CHECK_EQ(sys::do_io(top(), Op::kDestroy, "cached.bin", 10), 0);
    const int64_t n = open_in(top(), "cached2.bin", kCreate | kTruncate);
    CHECK(write_pattern(n, 0, kBytes, 65536, bytes_a));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(n), Op::kSeek, nullptr, 0, 0), 0);
    CHECK_EQ(read_pattern(n, 0, 4096, bytes_a), kBytes);
    drop(n);
}

void drop_caches() {
    CHECK_EQ(
        sys::do_io(top(), Op::kSetMeta, nullptr, 0, static_cast<uint64_t>(abi::Meta::kDropCaches)),
        0);
}

// Reading a file in order makes the server fetch the pages ahead of the reads (servers/fat's
// read-ahead); another open's writes into that region (a whole 64 KiB to the device, a partial
// one through the sector cache) must be what the reads after them see, not the fetched bytes.
TEST(read_ahead_follows_writes) {
    constexpr uint64_t kBytes = 512 * 1024;
    const int64_t a = open_in(top(), "ahead.bin", kCreate | kTruncate);
    CHECK(write_pattern(a, 0, kBytes, 65536, bytes_a));
    drop_caches();  // cold: the reads below fetch from the device
    const int64_t b = open_in(top(), "ahead.bin");
    static uint8_t buf[64 * 1024];
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(b), Op::kRead, buf, sizeof buf), 65536);
    CHECK(buf[0] == bytes_a(0) && buf[65535] == bytes_a(65535));
    // The next 256 KiB were asked for ahead; write into them.
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSeek, nullptr, 0, 131072), 131072);
    CHECK(write_pattern(a, 131072, 65536, 65536, bytes_b));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSeek, nullptr, 0, 250001), 250001);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kWrite, "xyz", 3), 3);
    const auto want = [](uint64_t i) {
        if (i >= 131072 && i < 196608)
            return bytes_b(i);
        if (i >= 250001 && i < 250004)
            return static_cast<uint8_t>("xyz"[i - 250001]);
        return bytes_a(i);
    };
    CHECK_EQ(read_pattern(b, 65536, 65536, want), kBytes - 65536);
    drop(a);
    drop(b);
}

// One queue holding a write to a file through one open, then reads of it through another: the
// server sends the reads' fetches to the device when it takes them, before it performs the
// write. The reads must see the written bytes all the same (servers/fat collects its fetches
// before any request of its own reaches the device, and the page cache refuses a fetch that a
// write overtook).
TEST(queued_reads_after_a_queued_write_see_it) {
    constexpr uint64_t kBytes = 256 * 1024;
    constexpr uint32_t kPiece = 64 * 1024, kOps = 5;
    const int64_t a = open_in(top(), "queued-rw.bin", kCreate | kTruncate);
    CHECK(write_pattern(a, 0, kBytes, 65536, bytes_a));
    const int64_t b = open_in(top(), "queued-rw.bin");
    for (int round = 0; round < 6; ++round) {
        if (round % 3 != 2)
            drop_caches();  // rounds 2 and 5 find the pages kept
        // The write lands at 64 KiB (whole pieces) or 64 KiB + 100, in turn.
        const uint64_t at = 65536 + (round % 2 == 0 ? 0 : 100);
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSeek, nullptr, 0, at),
                 static_cast<int64_t>(at));
        Queue q;
        CHECK_EQ(q.create(16, kOps, kPiece), 0);
        // user_data: 0 the write, 1-4 reads of b at 0, 64, 128 and 192 KiB.
        for (uint32_t i = 0; i < kOps; ++i) {
            auto buffer = q.client().acquire();
            CHECK(static_cast<bool>(buffer));
            if (!buffer)
                return;
            if (i == 0) {
                auto data = q.client().bytes(*buffer);
                for (uint32_t k = 0; k < kPiece; ++k)
                    data[k] = static_cast<std::byte>(bytes_b(at + k));
                CHECK(static_cast<bool>(q.submit(Op::kWrite, static_cast<Handle>(a), 0, i,
                                                 std::move(*buffer), kPiece)));
            } else {
                CHECK(static_cast<bool>(q.submit(Op::kReadAt, static_cast<Handle>(b),
                                                 (i - 1) * uint64_t{kPiece}, i, std::move(*buffer),
                                                 kPiece)));
            }
        }
        uint32_t reaped = 0;
        bool ok = true;
        for (int waits = 0; waits < 50 && reaped < kOps; ++waits) {
            (void)q.wait(1, 200'000'000);
            while (auto r = q.reap()) {
                ++reaped;
                const auto i = static_cast<uint32_t>(r->user_data);
                ok = ok && i < kOps && r->status == 0 && r->value == kPiece;
                const auto bytes = q.client().bytes(r->buffer);
                for (uint64_t k = 0; ok && i > 0 && k < kPiece; ++k) {
                    const uint64_t o = (i - 1) * uint64_t{kPiece} + k;
                    ok = static_cast<uint8_t>(bytes[k]) ==
                         (o >= at && o < at + kPiece ? bytes_b(o) : bytes_a(o));
                }
                r->buffer.reset();
            }
        }
        CHECK_EQ(reaped, kOps);
        CHECK(ok);
        // bytes_a everywhere again for the next round.
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(a), Op::kSeek, nullptr, 0, 0), 0);
        CHECK(write_pattern(a, 0, kBytes, 65536, bytes_a));
    }
    drop(a);
    drop(b);
}

TEST(deep_and_wide_directories) {
    // 24 levels down, a file at the bottom, found again by a path walk.
    int64_t d = sys::do_io(top(), Op::kShare, nullptr, 0, uint64_t{abi::kRightsAll} << 32);
    for (int i = 0; i < 24; ++i) {
        char name[16];
        snformat(name, sizeof name, "level%d", i);
        const int64_t next =
            open_in(static_cast<Handle>(d), name, kCreate | kExclusive | kDirectory);
        CHECK(next > 0);
        drop(d);
        d = next;
    }
    CHECK(open_in(static_cast<Handle>(d), "bottom", kCreate) > 0);
    drop(d);
    const char path[] =
        "level0/level1/level2/level3/level4/level5/level6/level7/level8/level9/"
        "level10/level11/level12/level13/level14/level15/level16/level17/"
        "level18/level19/level20/level21/level22/level23/bottom";
    const int64_t bottom = open_path(top(), path, sizeof path - 1);
    CHECK(bottom > 0);
    drop(bottom);
    BAD_INPUT(sys::do_io(top(), Op::kDestroy, "level0", 6), kNotEmpty);
    // 300 names with long names, listed through a small buffer from a cursor: each exactly once.
    const int64_t wide = open_in(top(), "wide", kCreate | kDirectory);
    for (int i = 0; i < 300; ++i) {
        char name[48];
        snformat(name, sizeof name, "a file with a long name %03d.text", i);
        const int64_t f = open_in(static_cast<Handle>(wide), name, kCreate | kExclusive);
        CHECK(f > 0);
        drop(f);
    }
    static bool seen[300];
    int listed = 0, reads = 0;
    char names[200];
    for (uint64_t cursor = 0;;) {
        const int64_t n =
            sys::do_io(static_cast<uint64_t>(wide), Op::kRead, names, sizeof names, cursor);
        CHECK(n >= 0);
        if (n <= 0)
            break;
        ++reads;
        for (int64_t at = 0; at < n;) {
            int64_t end = at;
            while (end < n && names[end] != '\n')
                ++end;
            const int i =
                (names[end - 8] - '0') * 100 + (names[end - 7] - '0') * 10 + (names[end - 6] - '0');
            CHECK(i >= 0 && i < 300 && !seen[i]);
            if (i >= 0 && i < 300)
                seen[i] = true;
            ++listed;
            ++cursor;
            at = end + 1;
        }
    }
    CHECK_EQ(listed, 300);
    CHECK(reads >= 40);  // the small buffer took many reads
    CHECK_EQ(size_of(wide), 300u);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(wide), Op::kRead, names, 10, 0), kBufferTooSmall);
    drop(wide);
    remove_tree(top(), "wide");
    BAD_INPUT(open_in(top(), "wide"), kNotFound);
}

TEST(rename_follows_open_objects) {
    const int64_t f = open_in(top(), "before.txt", kCreate);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, "moving", 6), 6);
    const int64_t sub = open_in(top(), "sub", kCreate | kDirectory);
    drop(sub);
    const char names[] = "before.txt\0sub/after with a long name.txt";
    CHECK_EQ(sys::do_io(top(), Op::kSetMeta, names, sizeof names - 1,
                        static_cast<uint64_t>(abi::Meta::kRename)),
             static_cast<int64_t>(sizeof names - 1));
    BAD_INPUT(open_in(top(), "before.txt"), kNotFound);
    // The object opened before the move still reads and writes its file.
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, "!", 1), 1);
    drop(f);
    const char moved[] = "sub/after with a long name.txt";
    const int64_t g = open_path(top(), moved, sizeof moved - 1);
    CHECK(g > 0);
    char buf[8] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(g), Op::kRead, buf, sizeof buf), 7);
    CHECK(c::compare(buf, "moving!", 7) == 0);
    drop(g);
    const char onto[] = "sub\0hello.txt";  // taken
    BAD_INPUT(sys::do_io(top(), Op::kSetMeta, onto, sizeof onto - 1,
                         static_cast<uint64_t>(abi::Meta::kRename)),
              kExists);
    const char into_itself[] = "sub\0sub/inner";
    BAD_INPUT(sys::do_io(top(), Op::kSetMeta, into_itself, sizeof into_itself - 1,
                         static_cast<uint64_t>(abi::Meta::kRename)),
              kInvalidArgument);
    const char no_new[] = "sub";
    BAD_INPUT(sys::do_io(top(), Op::kSetMeta, no_new, 3, static_cast<uint64_t>(abi::Meta::kRename)),
              kInvalidArgument);
}

TEST(removed_while_open) {
    const int64_t f = open_in(top(), "doomed", kCreate);
    CHECK_EQ(sys::do_io(top(), Op::kDestroy, "doomed", 6), 0);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, "x", 1), kNotFound);
    // A new file in the freed entry is not reachable through the old object.
    const int64_t other = open_in(top(), "reborn", kCreate);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, 0), kNotFound);
    drop(other);
    drop(f);
    BAD_INPUT(sys::do_io(top(), Op::kDestroy, "doomed", 6), kNotFound);
}

TEST(names_fat_cannot_store) {
    BAD_INPUT(open_in(top(), "a/b", kCreate), kInvalidArgument);
    BAD_INPUT(open_in(top(), "what?", kCreate), kInvalidArgument);
    BAD_INPUT(open_in(top(), "star*", kCreate), kInvalidArgument);
    BAD_INPUT(open_in(top(), ".", kCreate | kExclusive), kExists);
    BAD_INPUT(sys::do_io(top(), Op::kOpen, "x\0y", 3, kCreate), kInvalidArgument);
    char longest[300];
    c::fill(longest, 'n', sizeof longest);
    BAD_INPUT(sys::do_io(top(), Op::kOpen, longest, 256, kCreate), kInvalidArgument);
    const int64_t ok = sys::do_io(top(), Op::kOpen, longest, 255, kCreate);  // FAT's longest
    CHECK(ok > 0);
    drop(ok);
    BAD_INPUT(sys::do_io(top(), Op::kOpen, "x", 1, 1u << 9), kInvalidArgument);  // flags
}

TEST(rights_are_enforced) {
    const int64_t ro = sys::do_io(top(), Op::kShare, nullptr, 0,
                                  uint64_t{abi::kRightRead | abi::kRightShare} << 32);
    CHECK(ro > 0);
    BAD_INPUT(open_in(static_cast<Handle>(ro), "new", kCreate), kNoRights);
    BAD_INPUT(open_in(static_cast<Handle>(ro), "hello.txt", kTruncate), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(ro), Op::kDestroy, "hello.txt", 9), kNoRights);
    const int64_t f = open_in(static_cast<Handle>(ro), "hello.txt");
    CHECK(f > 0);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, "x", 1), kNoRights);
    char b[4];
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kRead, b, 4), 4);
    drop(f);
    drop(ro);
}

// read_at (pread): a file's bytes from an absolute offset, the open's position neither used
// nor moved; the end reads nothing however far past it; refused on a directory, without Read,
// and where offset + length would wrap; queued, each read takes its own offset.
TEST(read_at_reads_at_its_offset) {
    const int64_t f = open_in(top(), "hello.txt");
    CHECK(f > 0);
    const auto h = static_cast<uint64_t>(f);
    char b[16] = {};
    CHECK_EQ(sys::do_io(h, Op::kSeek, nullptr, 0, 2), 2);
    CHECK_EQ(sys::do_io(h, Op::kReadAt, b, sizeof b, 7), 4);
    CHECK(c::compare(b, "disk", 4) == 0);
    CHECK_EQ(sys::do_io(h, Op::kReadAt, b, 5, 0), 5);
    CHECK(c::compare(b, "hello", 5) == 0);
    CHECK_EQ(sys::do_io(h, Op::kRead, b, 3), 3);  // from 2: read_at left the position alone
    CHECK(c::compare(b, "llo", 3) == 0);
    CHECK_EQ(sys::do_io(h, Op::kReadAt, b, sizeof b, 11), 0);          // the end
    CHECK_EQ(sys::do_io(h, Op::kReadAt, b, sizeof b, 1ull << 40), 0);  // far past it
    CHECK_EQ(sys::do_io(h, Op::kReadAt, b, sizeof b, 1ull << 62), 0);
    BAD_INPUT(sys::do_io(h, Op::kReadAt, b, sizeof b, ~0ull - 3), kInvalidArgument);  // wraps
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(top()), Op::kReadAt, b, sizeof b, 0), kIsDirectory);
    const int64_t wo = sys::do_io(h, Op::kShare, nullptr, 0, uint64_t{abi::kRightWrite} << 32);
    CHECK(wo > 0);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(wo), Op::kReadAt, b, 4, 0), kNoRights);
    drop(wo);
    drop(f);

    // 64 reads of 1000 bytes at scattered offsets of a 300 KiB file, queued 16 at a time on
    // one open object (the server fetches what they miss together): each has its own bytes.
    constexpr uint64_t kBytes = 300 * 1024;
    constexpr uint32_t kPiece = 1000, kDepth = 16, kReads = 64;
    const int64_t g = open_in(top(), "scattered.bin", kCreate | kTruncate);
    CHECK(write_pattern(g, 0, kBytes, 60000, bytes_a));
    CHECK_EQ(
        sys::do_io(top(), Op::kSetMeta, nullptr, 0, static_cast<uint64_t>(abi::Meta::kDropCaches)),
        0);
    Queue q;
    CHECK_EQ(q.create(32, kDepth, 1024), 0);
    uint64_t want[kReads];
    uint32_t submitted = 0, reaped = 0;
    bool data_ok = true;
    auto submit = [&]() {
        // Offsets from a fixed multiplicative walk, the last few past the end.
        const uint64_t at = submitted < kReads - 4 ? (submitted * 48271ull * 1031) % kBytes
                                                   : kBytes - 500 + submitted * 1000ull;
        want[submitted] = at;
        auto buf = q.client().acquire();
        if (!buf ||
            !q.submit(Op::kReadAt, static_cast<Handle>(g), at, submitted, std::move(*buf), kPiece))
            return false;
        ++submitted;
        return true;
    };
    while (submitted < kDepth && submit()) {
    }
    for (int waits = 0; waits < 100 && reaped < kReads; ++waits) {
        (void)q.wait(1, 200'000'000);
        while (auto r = q.reap()) {
            const uint64_t at = want[r->user_data];
            const uint64_t expect = at < kBytes ? (kBytes - at < kPiece ? kBytes - at : kPiece) : 0;
            data_ok = data_ok && r->status == 0 && r->value == expect;
            const auto bytes = q.client().bytes(r->buffer);
            for (uint64_t k = 0; data_ok && k < r->value; k += 97)
                data_ok = static_cast<uint8_t>(bytes[k]) == bytes_a(at + k);
            ++reaped;
            r->buffer.reset();
            if (submitted < kReads)
                (void)submit();
        }
    }
    CHECK_EQ(submitted, kReads);
    CHECK_EQ(reaped, kReads);
    CHECK(data_ok);
    drop(g);
}

TEST(times_are_kept) {
    const int64_t f = open_in(top(), "stamped", kCreate);
    abi::FileTimes t{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kGetMeta, &t, sizeof t,
                        static_cast<uint64_t>(abi::Meta::kTimes)),
             static_cast<int64_t>(sizeof t));
    const int64_t now = static_cast<int64_t>(sys::wall_clock_ns());
    // FAT keeps modification times to 2 s.
    CHECK(t.modified > now - 5'000'000'000 && t.modified <= now + 2'000'000'000);
    CHECK(t.created > now - 5'000'000'000 && t.created <= now + 2'000'000'000);
    abi::FileTimes set{0, 1'000'000'000'000'000'000, 1'000'000'000'000'000'000};  // 2001-09-09
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSetMeta, &set, sizeof set,
                        static_cast<uint64_t>(abi::Meta::kTimes)),
             static_cast<int64_t>(sizeof set));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kGetMeta, &t, sizeof t,
                        static_cast<uint64_t>(abi::Meta::kTimes)),
             static_cast<int64_t>(sizeof t));
    CHECK(t.modified <= set.modified && t.modified > set.modified - 2'000'000'000);
    drop(f);
}

// Several processes write their own files at once; each checks its file, the parent all.
TEST(processes_write_at_once) {
    constexpr int kWriters = 4;
    int64_t children[kWriters];
    for (int i = 0; i < kWriters; ++i) {
        char mode[24];
        snformat(mode, sizeof mode, "writer %d", i);
        const Handle given[] = {top()};
        children[i] = spawn_child(mode, given, 1);
        CHECK(children[i] > 0);
    }
    for (int i = 0; i < kWriters; ++i) {
        const abi::ExitInfo e = wait_child(children[i]);
        CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
        CHECK_EQ(e.status, 0);
    }
    for (int i = 0; i < kWriters; ++i) {
        char name[16];
        snformat(name, sizeof name, "writer%d", i);
        const int64_t f = open_in(top(), name);
        const auto pattern = [i](uint64_t k) { return static_cast<uint8_t>(k * 13 + i); };
        CHECK_EQ(read_pattern(f, 0, 8192, pattern), 200u * 1024);
        drop(f);
    }
}

CHILD_MODE("writer") {
    const int i = static_cast<int>(args.number());
    const Handle dir = abi::initial_handle(1);
    char name[16];
    snformat(name, sizeof name, "writer%d", i);
    const int64_t f = open_in(dir, name, kCreate | kTruncate);
    if (f < 0)
        return 2;
    const auto pattern = [i](uint64_t k) { return static_cast<uint8_t>(k * 13 + i); };
    if (!write_pattern(f, 0, 200 * 1024, 4096 + 512 * static_cast<uint64_t>(i), pattern))
        return 3;
    if (sys::do_io(static_cast<uint64_t>(f), Op::kSeek, nullptr, 0, 0) != 0)
        return 4;
    return read_pattern(f, 0, 3000, pattern) == 200 * 1024 ? 0 : 5;
}

// A volume that fills up: the write that finds no room fails kNoSpace, the file keeps what it
// had, and after removing it everything works again. Only volumes of at most 16 MiB are
// filled (the ramdisk); on a larger one the test says so.
TEST(full_volume) {
    const int64_t f = open_in(top(), "filler", kCreate | kTruncate);
    uint64_t written = 0;
    int64_t last = 0;
    static uint8_t block[60000];
    while (written < 16u << 20) {
        last = sys::do_io(static_cast<uint64_t>(f), Op::kWrite, block, sizeof block);
        if (last < 0)
            break;
        written += static_cast<uint64_t>(last);
    }
    if (last >= 0) {
        print("fstest: full_volume: the volume holds more than 16 MiB; not filled\n");
    } else {
        CHECK_EQ(last, err(Error::kNoSpace));
        CHECK_EQ(size_of(f), written);
        print("fstest: full_volume: kNoSpace after %lu bytes, the file kept them\n", written);
    }
    drop(f);
    CHECK_EQ(sys::do_io(top(), Op::kDestroy, "filler", 6), 0);
    const int64_t again = open_in(top(), "after-full", kCreate);
    CHECK(again > 0);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(again), Op::kWrite, "ok", 2), 2);
    drop(again);
}

TEST(leave_a_file_for_the_host) {
    // What the host's mtools read back after the machine stopped (ci/check-disk.sh).
    const int64_t f = open_in(top(), "from keel.txt", kCreate | kTruncate);
    const char text[] = "written in Keel through the FAT server\n";
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kWrite, text, sizeof text - 1),
             static_cast<int64_t>(sizeof text - 1));
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(f), Op::kSync), 0);
    drop(f);
}

}  // namespace

int keel_main(const StartInfo& start) {
    // "child MODE ..." is one of its own children (testlib); anything else names the volume.
    const bool child = start.args_length > 6 && c::compare(start.args, "child ", 6) == 0;
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[2];
    if (!child) {
        if (split_args(start.args, start.args_length, storage, sizeof storage, words, 2) != 1) {
            print("fstest: usage: fstest VOLUME (the path of a mounted file system)\n");
            return 2;
        }
        g_volume = words[0];
    }
    return run(start, "fstest");
}
