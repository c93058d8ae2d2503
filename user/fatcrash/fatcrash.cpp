// fatcrash: writers of files on /mnt/disk while the FAT server is crashed again and again
// (issue 21; run from the shell of the fat-crash image, etc/test/fat-crash.conf: init starts
// servers/fat with --crash-after-ms and restarts it). Arguments: CRASHES SECONDS [driver], as
// blkcrash.
//
// With `driver` (the fat-blk-crash image, etc/test/fat-blk-crash.conf) the *block driver* under
// the FAT server is the one crashed: the server opens its partition again and sends the block
// operation again (servers/fat/block_client.hpp), so the writers must never see PeerGone (no
// file abandoned), the monitor counts the driver's crashes on srv/blk0, and the host finds the
// volume clean without repair (kernel/tests/qemu-fat-crash.sh --clean).
//
// kWriters threads each write file after file (the N-th as wW-S.txt, S = N % kSlots: the
// names come round again, each rewrite truncating the file; open with Create|Truncate, written
// in 4 KiB pieces, synced, closed): a file whose every step succeeded is *complete and
// flushed*. Any PeerGone abandons that file (it may be on the disk in any state) and the writer
// reopens its directory (the runtime's Reopening) and goes on with the next. Every few files a
// writer reads one of its complete files back. At the end every complete file is read back
// through the (restarted) server, and the list of them is written as manifest.txt (again until
// it is complete and flushed); kernel/tests/qemu-fat-crash.sh then checks on the host that
// fsck.fat repairs the volume and every listed file is there with its bytes.
// The files are in a directory per writer (wW/: a FAT16 root holds only 512 entries). The N-th
// file's byte i: (i * 7 + W * 31 + N * 13) % 251; its size 3000 + (N * 977) % 12000.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include <atomic>

#include "crash.hpp"
#include "reopen.hpp"
#include "testlib.hpp"

namespace keel::fatcrash {

namespace {

using namespace keel::user;

constexpr int kWriters = 2;
constexpr uint32_t kSlots = 128;  // file names a writer uses, over and over
constexpr uint64_t kPiece = 4096;
constexpr uint64_t kHangNs = 10'000'000'000;
const int64_t kPeerGone = -static_cast<int64_t>(abi::Error::kPeerGone);

uint8_t byte_of(uint64_t w, uint64_t n, uint64_t i) {
    return static_cast<uint8_t>((i * 7 + w * 31 + n * 13) % 251);
}
uint64_t size_of(uint64_t n) {
    return 3000 + (n * 977) % 12000;
}

struct Writer {
    uint64_t started = 0, complete = 0, abandoned = 0, other = 0;
    uint64_t verified = 0, bad = 0;
    uint64_t slowest_ns = 0;  // the longest a file took to write (a restart below waits)
    bool hung = false;
    std::atomic<uint64_t> progress{0};
    uint64_t done[kSlots] = {};  // N + 1 of the complete and flushed file in the slot, or 0
    uint8_t buf[kPiece];
};
Writer g_writers[kWriters];
std::atomic<bool> g_stop{false};
testlib::CrashLog g_log;
bool g_driver = false;  // the block driver is crashed, not the FAT server

void name_of(char (&name)[32], uint64_t w, uint64_t n) {
    (void)snformat(name, sizeof name, "w%lu-%lu.txt", w, n % kSlots);
}

// Opens the volume, or writer w's directory on it (made first: again after a PeerGone), as a
// Reopening (waiting while it is not there).
bool open_volume(Reopening& volume, int w = -1) {
    const uint64_t until = sys::clock_ns() + kHangNs;
    char path[32];
    const uint64_t length = w < 0 ? snformat(path, sizeof path, "ns/mnt/disk")
                                  : snformat(path, sizeof path, "ns/mnt/disk/w%d", w);
    // A writer's directory is made (or found) again on every try: the server may crash after
    // answering the create and before writing the directory back, and the volume that comes
    // back then has no such directory (a complete file is one flushed; this one was not).
    // Made once, the volume's NotFound lasted until the writer gave up (3 boots in 20 beside
    // three other QEMU tests).
    int64_t top = 0, made = 0, opened = 0;
    for (;;) {
        if (w >= 0) {
            top = open_path(root(), path, 11);
            made = top < 0 ? top
                           : sys::do_io(static_cast<uint64_t>(top), Op::kOpen, path + 12,
                                        length - 12, abi::kOpenCreate | abi::kOpenDirectory);
            if (top >= 0)
                (void)sys::do_io(static_cast<uint64_t>(top), Op::kClose);
            if (made >= 0)
                (void)sys::do_io(static_cast<uint64_t>(made), Op::kClose);
        }
        if (made >= 0) {
            opened = volume.open(root(), path, length, Reopening::Retry::kNothing);
            if (opened >= 0)
                return true;
        }
        if (sys::clock_ns() > until) {
            print(
                "fatcrash: writer %d: %s not opened after %lu s (the volume: %ld, the "
                "directory made: %ld, opened: %ld)\n",
                w, path, kHangNs / 1'000'000'000, top, made, opened);
            return false;
        }
        (void)sys::sleep_ns(2'000'000);
    }
}

// After a PeerGone: the volume again (false when it did not come back in time).
bool recover(Reopening& volume) {
    (void)sys::sleep_ns(2'000'000);
    return volume.reopen() == 0;
}

// Writes the n-th file of writer w completely: open, pieces, sync, close. 1 when complete and
// flushed, 0 when a PeerGone abandoned it (the volume reopened), -1 on any other error.
int write_file(Reopening& volume, Writer& wr, uint64_t w, uint64_t n) {
    char name[32];
    name_of(name, w, n);
    const int64_t f = sys::do_io(volume.handle(), Op::kOpen, name, c::length(name),
                                 abi::kOpenCreate | abi::kOpenTruncate);
    int64_t r = f;
    const uint64_t size = size_of(n);
    for (uint64_t at = 0; r >= 0 && at < size; at += kPiece) {
        const uint64_t k = size - at < kPiece ? size - at : kPiece;
        for (uint64_t i = 0; i < k; ++i)
            wr.buf[i] = byte_of(w, n, at + i);
        r = sys::do_io(static_cast<uint64_t>(f), Op::kWrite, wr.buf, k);
        if (r >= 0 && r != static_cast<int64_t>(k))
            r = -static_cast<int64_t>(abi::Error::kIo);
    }
    if (r >= 0)
        r = sys::do_io(static_cast<uint64_t>(f), Op::kSync);
    if (f > 0)
        (void)sys::do_io(static_cast<uint64_t>(f), Op::kClose);
    if (r >= 0)
        return 1;
    if (r == kPeerGone)
        return recover(volume) ? 0 : -1;
    print("fatcrash: %s: %s\n", name, error_text(r));
    return -1;
}

// Reads the n-th file of writer w back: 1 same, 0 PeerGone (volume reopened), -1 different or an
// error.
int verify_file(Reopening& volume, Writer& wr, uint64_t w, uint64_t n) {
    char name[32];
    name_of(name, w, n);
    const int64_t f = sys::do_io(volume.handle(), Op::kOpen, name, c::length(name), 0);
    int64_t r = f;
    uint64_t at = 0, bad = 0;
    const uint64_t size = size_of(n);
    while (r >= 0) {
        r = sys::do_io(static_cast<uint64_t>(f), Op::kRead, wr.buf, kPiece);
        if (r <= 0)
            break;
        for (int64_t i = 0; i < r; ++i)
            bad += at + static_cast<uint64_t>(i) < size &&
                           wr.buf[i] == byte_of(w, n, at + static_cast<uint64_t>(i))
                       ? 0
                       : 1;
        at += static_cast<uint64_t>(r);
    }
    if (f > 0)
        (void)sys::do_io(static_cast<uint64_t>(f), Op::kClose);
    if (r == kPeerGone)
        return recover(volume) ? 0 : -1;
    if (r < 0 || at != size || bad != 0) {
        print("fatcrash: %s: %s, %lu of %lu bytes, %lu differ\n", name,
              r < 0 ? error_text(r) : "read", at, size, bad);
        return -1;
    }
    return 1;
}

// One of the complete files read back (again after a PeerGone at the end: `last`).
void verify_slot(Reopening& volume, Writer& wr, uint64_t w, uint32_t slot, bool last) {
    if (wr.done[slot] == 0)
        return;
    int v = 0;
    for (int tries = 0; v == 0 && tries < (last ? 50 : 1); ++tries)
        v = verify_file(volume, wr, w, wr.done[slot] - 1);
    wr.verified += v > 0 ? 1 : 0;
    wr.bad += v < 0 || (last && v == 0) ? 1 : 0;
    wr.progress.store(sys::clock_ns());
}

void writer(uint64_t w) {
    Writer& wr = g_writers[w];
    testlib::Random rng(500 + w);
    Reopening volume;
    if (!open_volume(volume, static_cast<int>(w))) {
        wr.hung = true;
        sys::thread_exit(0);
    }
    for (uint64_t n = 0; !g_stop.load(); ++n) {
        ++wr.started;
        wr.done[n % kSlots] = 0;  // truncated by the open: whatever was there is gone
        const uint64_t began = sys::clock_ns();
        const int r = write_file(volume, wr, w, n);
        wr.progress.store(sys::clock_ns());
        if (wr.progress.load() - began > wr.slowest_ns)
            wr.slowest_ns = wr.progress.load() - began;
        if (r < 0) {
            ++wr.other;
            wr.hung = volume.handle() == 0;
            if (wr.hung)
                break;
            continue;
        }
        if (r == 0) {
            ++wr.abandoned;
            continue;
        }
        wr.done[n % kSlots] = n + 1;
        ++wr.complete;
        if (n % 4 == 3)
            verify_slot(volume, wr, w, static_cast<uint32_t>(rng.below(kSlots)), false);
    }
    for (uint32_t slot = 0; slot < kSlots && volume.handle() != 0; ++slot)
        verify_slot(volume, wr, w, slot, true);
    sys::thread_exit(0);
}

// As blkcrash's: crashes (the first failure after a success) and the time until the volume
// answers again; with g_driver, the driver's crashes (a GetMeta on srv/blk0) and the time until
// it answers again.
void monitor(uint64_t) {
    Reopening volume;
    if (g_driver) {
        const uint64_t until = sys::clock_ns() + kHangNs;
        while (volume.open(root(), "ns/srv/blk0", 11, Reopening::Retry::kNothing) < 0 &&
               sys::clock_ns() < until)
            (void)sys::sleep_ns(2'000'000);
    } else {
        (void)open_volume(volume);
    }
    static char names[512];
    while (!g_stop.load()) {
        uint64_t size = 0;
        const int64_t r = volume.handle() == 0 ? kPeerGone
                          : g_driver
                              ? sys::do_io(volume.handle(), Op::kGetMeta, &size, 8,
                                           static_cast<uint64_t>(abi::Meta::kSize))
                              : sys::do_io(volume.handle(), Op::kRead, names, sizeof names, 0);
        g_log.observe(r >= 0);
        if (r < 0)
            (void)volume.reopen(0);
        (void)sys::sleep_ns(2'000'000);
    }
    sys::thread_exit(0);
}

// manifest.txt: "PATH SIZE N" a line for every complete file, written until complete and
// flushed itself. Whether it was.
bool write_manifest() {
    static char text[kWriters * kSlots * 40];
    uint64_t length = 0;
    uint64_t files = 0;
    for (uint64_t w = 0; w < kWriters; ++w) {
        for (uint32_t slot = 0; slot < kSlots; ++slot) {
            const uint64_t n1 = g_writers[w].done[slot];
            if (n1 == 0)
                continue;
            char name[32];
            name_of(name, w, n1 - 1);
            length += snformat(text + length, sizeof text - length, "w%lu/%s %lu %lu\n", w, name,
                               size_of(n1 - 1), n1 - 1);
            ++files;
        }
    }
    Reopening volume;
    if (!open_volume(volume))
        return false;
    const uint64_t until = sys::clock_ns() + kHangNs;
    while (sys::clock_ns() < until) {
        const int64_t f = sys::do_io(volume.handle(), Op::kOpen, "manifest.txt", 12,
                                     abi::kOpenCreate | abi::kOpenTruncate);
        int64_t r = f;
        for (uint64_t at = 0; r >= 0 && at < length; at += static_cast<uint64_t>(r)) {
            r = sys::do_io(static_cast<uint64_t>(f), Op::kWrite, text + at,
                           length - at < kPiece ? length - at : kPiece);
            if (r == 0)
                r = -static_cast<int64_t>(abi::Error::kIo);
        }
        if (r >= 0)
            r = sys::do_io(static_cast<uint64_t>(f), Op::kSync);
        if (f > 0)
            (void)sys::do_io(static_cast<uint64_t>(f), Op::kClose);
        if (r >= 0) {
            print("fatcrash: manifest.txt: %lu complete files listed\n", files);
            return true;
        }
        if (r != kPeerGone || !recover(volume)) {
            print("fatcrash: manifest.txt: %s\n", error_text(r));
            return false;
        }
    }
    return false;
}

uint64_t g_want = 20;
uint64_t g_seconds = 25;

TEST(complete_files_survive_crashes) {
    print("fatcrash: until %lu crashes, at most %lu s\n", g_want, g_seconds);
    int64_t threads[kWriters + 1];
    const uint64_t start = sys::clock_ns();
    for (int i = 0; i < kWriters; ++i) {
        g_writers[i].progress.store(start);
        threads[i] = spawn_thread(writer, static_cast<uint64_t>(i));
        CHECK(threads[i] > 0);
    }
    threads[kWriters] = spawn_thread(monitor, 0);
    CHECK(threads[kWriters] > 0);
    uint64_t ran_ms = 0;
    const bool hang = !g_log.wait(
        "fatcrash", g_want, g_seconds, kWriters, [](int i) { return g_writers[i].progress.load(); },
        kHangNs, &ran_ms);
    g_stop.store(true);
    CHECK(!hang);
    if (hang)
        return;
    for (int i = 0; i <= kWriters; ++i) {
        if (threads[i] > 0)
            CHECK_EQ(join(static_cast<Handle>(threads[i])), 0);
    }
    const int crashes = g_log.crashes();
    print("fatcrash: %d crashes in %lu ms\n", crashes, ran_ms);
    CHECK(static_cast<uint64_t>(crashes) >= g_want);
    uint64_t complete = 0, abandoned = 0, slowest = 0;
    for (int i = 0; i < kWriters; ++i) {
        const Writer& w = g_writers[i];
        print(
            "fatcrash: writer %d: %lu files started, %lu complete and flushed, %lu abandoned "
            "(PeerGone), %lu other errors; %lu read back, %lu bad; slowest file %lu ms\n",
            i, w.started, w.complete, w.abandoned, w.other, w.verified, w.bad,
            w.slowest_ns / 1'000'000);
        slowest = w.slowest_ns > slowest ? w.slowest_ns : slowest;
        CHECK(!w.hung);
        CHECK_EQ(w.started, w.complete + w.abandoned + w.other);
        CHECK_EQ(w.other, 0u);
        CHECK_EQ(w.bad, 0u);
        CHECK(w.complete > 0);
        complete += w.complete;
        abandoned += w.abandoned;
    }
    if (g_driver)
        CHECK_EQ(abandoned, 0u);  // the FAT server hid every restart of its driver
    else
        CHECK(abandoned > 0);  // the crashes reached writes in progress
    CHECK(write_manifest());
    CHECK(g_log.report("fatcrash") > 0);  // crash to service restored: median, worst
    print("fatcrash: %lu files complete and flushed, %lu abandoned; slowest file %lu ms\n",
          complete, abandoned, slowest / 1'000'000);
}

}  // namespace

}  // namespace keel::fatcrash

int keel_main(const keel::user::StartInfo& start) {
    char word[8];
    if (!keel::testlib::crash_args(start, &keel::fatcrash::g_want, &keel::fatcrash::g_seconds, word,
                                   sizeof word) ||
        (word[0] != '\0' && keel::c::compare(word, "driver", 7) != 0)) {
        keel::user::print("fatcrash: usage: fatcrash [CRASHES [SECONDS [driver]]]\n");
        return 2;
    }
    keel::fatcrash::g_driver = word[0] != '\0';
    return keel::testlib::run(start, "fatcrash");
}
