// guestbench: bench row B8 (bench/README.md), run inside the Linux guest that
// bench/linux/make-guest.sh builds. Built on the host with clang++-14 as a static executable
// against Debian's glibc (and liburing.a); it runs as a program of the guest's /init.
//
//   guestbench cpu [quick]        the CPU rows, meant for a boot under QEMU -icount shift=0
//   guestbench blk DEVICE [quick] the block rows on DEVICE (O_DIRECT), a boot without -icount
//   guestbench file DIR           the file rows of row B9 on DIR (a mounted vfat volume holding
//                                 BENCH.DAT, 16 MiB), a boot without -icount
//   guestbench exit STATUS        stops the machine through QEMU's isa-debug-exit device
//
// CPU rows use kbench's method (user/kbench/kbench.cpp, row B7): under -icount shift=0 the
// guest clock advances 1 ns per guest instruction, so the elapsed CLOCK_MONOTONIC over N
// operations divided by N is instructions per operation, everything the guest executes in the
// interval counted (user code, entry and exit, the kernel, switches, timer interrupts). A
// calibration loop of a known instruction count runs first and its ratio is printed, so the
// assumption is checked in every run. Rows:
//   null_syscall  syscall(SYS_getppid)
//   pipe_rtt      one byte to a child process through a pipe and one byte back through another
//   small_read    pread of 4 KiB at offset 0 of a file in the initramfs (tmpfs)
// Block rows: wall time inside the guest (clock_gettime), device opened with O_DIRECT, 4 KiB
// aligned buffers, over the first kRegion bytes of the device:
//   seq_write     1 MiB pwrite calls over the region, then fdatasync (in the time)
//   seq_read      1 MiB pread calls over the region
//   rand_read_qd1 4 KiB pread at random 4 KiB-aligned offsets, one at a time
//   rand_read_qd32 the same offsets through io_uring with 32 reads in flight
//   seq_write_64k, seq_read_64k   as seq_write and seq_read in 64 KiB calls (row B9's equal-size
//                  pair with Keel, whose served object carries at most 64 KiB per request)
//   seq_read_64k_qd32 64 KiB reads in order over the region through io_uring, 32 in flight
// File rows (row B9), buffered (vfat has no O_DIRECT), on DIR/BENCH.DAT; before each read row
// the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) so that the device
// serves the reads (the kernel's readahead still applies, as it would for any program):
//   file_seq_read_64k_qd1   read() of 64 KiB from the start to the end
//   file_seq_read_64k_qd32  io_uring reads of 64 KiB at consecutive offsets, 32 in flight
//   file_rand_read_4k_qd1   pread of 4 KiB at xorshift64 offsets in the file (kSeed)
//   file_rand_read_4k_qd32  the same offsets through io_uring, 32 in flight
//   file_seq_write_64k_qd1  a new file DIR/WRITE.DAT in 64 KiB write() calls, then fsync
// Every file read's first 8-byte word is checked against the file's content (splitmix64 of
// the word's index, bench/run.py writes the file).
// The random offsets come from xorshift64 seeded with kSeed, so any other system can read the
// same sequence. Output: one line per row,
//   "linuxbench: row NAME ops N clock_ns_per_op X"                       (CPU rows)
//   "linuxbench: blk NAME ops N bytes B ns T mib_per_s X iops Y"          (block and file rows)
// then "linuxbench: done, N failures". Exit status 0 when every operation succeeded.
#include <fcntl.h>
#include <liburing.h>
#include <sys/io.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr uint64_t kCalibrationIterations = 50'000'000;  // 2 instructions each
constexpr uint64_t kRegion = 64ull << 20;                // bytes of the device the rows use
constexpr uint64_t kQuickRegion = 4ull << 20;
constexpr uint32_t kSeqChunk = 1u << 20;
constexpr uint32_t kBlock = 4096;
constexpr uint32_t kSmallChunk = 64 * 1024;  // row B9's sequential size, Keel's request limit
constexpr uint64_t kFileSize = 16ull << 20;  // BENCH.DAT of row B9
constexpr uint64_t kFileRandomOps = 4096;    // fsbench's count
constexpr unsigned kDepth = 32;
constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;
constexpr uint16_t kDebugExitPort = 0xf4;

int g_failures = 0;

void fail(const char* what) {
    ++g_failures;
    std::printf("linuxbench: FAILED %s: %s\n", what, std::strerror(errno));
    std::fflush(stdout);
}

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// 2 instructions per iteration (dec, jnz): exactly 2 * n + a few.
void spin_loop(uint64_t n) {
    asm volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
}

void cpu_row(const char* name, uint64_t ops, uint64_t ns) {
    std::printf("linuxbench: row %s ops %lu clock_ns_per_op %.1f\n", name, ops,
                static_cast<double>(ns) / static_cast<double>(ops));
    std::fflush(stdout);
}

void null_syscall(uint64_t ops) {
    const uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < ops; ++i) {
        if (syscall(SYS_getppid) < 0) {
            fail("getppid");
            return;
        }
    }
    cpu_row("null_syscall", ops, now_ns() - t0);
}

void pipe_rtt(uint64_t ops) {
    int to_child[2];
    int to_parent[2];
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
        fail("pipe");
        return;
    }
    const pid_t child = fork();
    if (child < 0) {
        fail("fork");
        return;
    }
    char byte = 0;
    if (child == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        while (read(to_child[0], &byte, 1) == 1) {
            if (write(to_parent[1], &byte, 1) != 1)
                break;
        }
        _exit(0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    const uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < ops; ++i) {
        if (write(to_child[1], &byte, 1) != 1 || read(to_parent[0], &byte, 1) != 1) {
            fail("pipe round trip");
            break;
        }
    }
    const uint64_t t1 = now_ns();
    close(to_child[1]);
    int status = 0;
    waitpid(child, &status, 0);
    close(to_parent[0]);
    cpu_row("pipe_rtt", ops, t1 - t0);
}

void small_read(const char* path, uint64_t ops) {
    const int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fail(path);
        return;
    }
    alignas(64) static char buf[kBlock];
    const uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < ops; ++i) {
        if (pread(fd, buf, sizeof buf, 0) != static_cast<ssize_t>(sizeof buf)) {
            fail("pread");
            break;
        }
    }
    cpu_row("small_read", ops, now_ns() - t0);
    close(fd);
}

int cpu(bool quick) {
    const uint64_t t0 = now_ns();
    spin_loop(kCalibrationIterations);
    const uint64_t t1 = now_ns();
    std::printf("linuxbench: calibration loop %lu instructions, clock %lu ns\n",
                2 * kCalibrationIterations, t1 - t0);
    const uint64_t scale = quick ? 10 : 1;
    null_syscall(20'000 / scale);
    pipe_rtt(10'000 / scale);
    small_read("/bench/small.dat", 20'000 / scale);
    return 0;
}

uint64_t xorshift(uint64_t& s) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

void blk_row(const char* name, uint64_t ops, uint64_t bytes, uint64_t ns) {
    const double secs = static_cast<double>(ns) / 1e9;
    std::printf("linuxbench: blk %s ops %lu bytes %lu ns %lu mib_per_s %.1f iops %.0f\n", name, ops,
                bytes, ns, static_cast<double>(bytes) / secs / (1 << 20),
                static_cast<double>(ops) / secs);
    std::fflush(stdout);
}

void seq(const char* name, int fd, bool write_it, uint64_t region, uint32_t chunk, char* buf) {
    const uint64_t ops = region / chunk;
    const uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < ops; ++i) {
        const off_t at = static_cast<off_t>(i * chunk);
        const ssize_t n = write_it ? pwrite(fd, buf, chunk, at) : pread(fd, buf, chunk, at);
        if (n != static_cast<ssize_t>(chunk)) {
            fail(write_it ? "pwrite" : "pread");
            return;
        }
    }
    if (write_it && fdatasync(fd) != 0)
        fail("fdatasync");
    blk_row(name, ops, region, now_ns() - t0);
}

void rand_qd1(int fd, uint64_t region, uint64_t ops, char* buf) {
    uint64_t s = kSeed;
    const uint64_t blocks = region / kBlock;
    const uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < ops; ++i) {
        const off_t at = static_cast<off_t>((xorshift(s) % blocks) * kBlock);
        if (pread(fd, buf, kBlock, at) != kBlock) {
            fail("pread 4k");
            return;
        }
    }
    blk_row("rand_read_qd1", ops, ops * kBlock, now_ns() - t0);
}

bool check_word(const char* p, uint64_t at);

// `ops` reads of `size` bytes through io_uring, kDepth in flight: at xorshift64 offsets (kSeed)
// over the region when `random`, else consecutive from 0. `bufs` holds kDepth * size bytes.
// `verify`: check each read's first word against the file's content (file rows).
void uring_reads(const char* name, int fd, uint64_t region, uint64_t ops, uint32_t size,
                 bool random, bool verify, char* bufs) {
    io_uring ring{};
    const int r = io_uring_queue_init(kDepth, &ring, 0);
    if (r < 0) {
        errno = -r;
        fail("io_uring_queue_init");
        return;
    }
    uint64_t s = kSeed;
    const uint64_t blocks = region / size;
    uint64_t submitted = 0;
    uint64_t done = 0;
    uint64_t at_of[kDepth] = {};
    uint64_t free_slots[kDepth];  // a stack of the slots whose buffers no read holds
    unsigned free_count = kDepth;
    for (unsigned i = 0; i < kDepth; ++i)
        free_slots[i] = kDepth - 1 - i;
    const uint64_t t0 = now_ns();
    while (done < ops) {
        // Keep kDepth reads in flight: refill every free slot, submit, wait for one. A slot is
        // free again once its read completed (its user data names it; reads complete in any
        // order).
        while (submitted < ops && free_count > 0) {
            io_uring_sqe* sqe = io_uring_get_sqe(&ring);
            if (sqe == nullptr)
                break;
            const uint64_t slot = free_slots[--free_count];
            const uint64_t at = (random ? xorshift(s) % blocks : submitted) * size;
            at_of[slot] = at;
            io_uring_prep_read(sqe, fd, bufs + slot * size, size, at);
            io_uring_sqe_set_data64(sqe, slot);
            ++submitted;
        }
        io_uring_cqe* cqe = nullptr;
        const int w = io_uring_submit_and_wait(&ring, 1);
        if (w < 0 || io_uring_peek_cqe(&ring, &cqe) != 0) {
            errno = w < 0 ? -w : EIO;
            fail("io_uring_submit_and_wait");
            break;
        }
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            const uint64_t slot = io_uring_cqe_get_data64(cqe);
            if (cqe->res != static_cast<int>(size)) {
                errno = cqe->res < 0 ? -cqe->res : EIO;
                fail("io_uring read");
            } else if (verify && !check_word(bufs + slot * size, at_of[slot])) {
                errno = EIO;
                fail("io_uring read content");
            }
            free_slots[free_count++] = slot;
            ++seen;
        }
        io_uring_cq_advance(&ring, seen);
        done += seen;
    }
    const uint64_t t1 = now_ns();
    io_uring_queue_exit(&ring);
    blk_row(name, done, done * size, t1 - t0);
}

int blk(const char* dev, bool quick) {
    const int fd = open(dev, O_RDWR | O_DIRECT);
    if (fd < 0) {
        fail(dev);
        return 1;
    }
    const uint64_t region = quick ? kQuickRegion : kRegion;
    // 1 MiB for the sequential rows, kDepth * 64 KiB for seq_read_64k_qd32.
    char* buf = static_cast<char*>(std::aligned_alloc(kBlock, 2 * kSeqChunk));
    if (buf == nullptr) {
        fail("aligned_alloc");
        return 1;
    }
    for (uint32_t i = 0; i < kSeqChunk; ++i)
        buf[i] = static_cast<char>(i * 7 + 1);
    seq("seq_write", fd, true, region, kSeqChunk, buf);
    seq("seq_read", fd, false, region, kSeqChunk, buf);
    rand_qd1(fd, region, quick ? 500 : 4'000, buf);
    uring_reads("rand_read_qd32", fd, region, quick ? 2'000 : 32'000, kBlock, true, false, buf);
    seq("seq_write_64k", fd, true, region, kSmallChunk, buf);
    seq("seq_read_64k", fd, false, region, kSmallChunk, buf);
    uring_reads("seq_read_64k_qd32", fd, region, region / kSmallChunk, kSmallChunk, false, false,
                buf);
    std::free(buf);
    close(fd);
    return 0;
}

uint64_t splitmix64(uint64_t x) {
    uint64_t z = x * 0x9e3779b97f4a7c15ull + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// The file's 8-byte word at offset `at` is splitmix64(at / 8), little endian (bench/run.py).
bool check_word(const char* p, uint64_t at) {
    uint64_t w = 0;
    std::memcpy(&w, p, 8);
    return w == splitmix64(at / 8);
}

// Writes back dirty pages, then drops the page cache (and dentries and inodes).
void drop_caches() {
    sync();
    const int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0 || write(fd, "3", 1) != 1)
        fail("drop_caches");
    if (fd >= 0)
        close(fd);
}

int file(const char* dir) {
    char path[256];
    std::snprintf(path, sizeof path, "%s/BENCH.DAT", dir);
    char* buf = static_cast<char*>(std::aligned_alloc(kBlock, kDepth * kSmallChunk));
    if (buf == nullptr) {
        fail("aligned_alloc");
        return 1;
    }
    int fd = open(path, O_RDONLY);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size != static_cast<off_t>(kFileSize)) {
        fail(path);
        return 1;
    }
    drop_caches();
    {
        const uint64_t ops = kFileSize / kSmallChunk;
        const uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < ops; ++i) {
            if (read(fd, buf, kSmallChunk) != static_cast<ssize_t>(kSmallChunk) ||
                !check_word(buf, i * kSmallChunk)) {
                fail("file read");
                break;
            }
        }
        blk_row("file_seq_read_64k_qd1", ops, kFileSize, now_ns() - t0);
    }
    drop_caches();
    uring_reads("file_seq_read_64k_qd32", fd, kFileSize, kFileSize / kSmallChunk, kSmallChunk,
                false, true, buf);
    drop_caches();
    {
        uint64_t s = kSeed;
        const uint64_t blocks = kFileSize / kBlock;
        const uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < kFileRandomOps; ++i) {
            const uint64_t at = (xorshift(s) % blocks) * kBlock;
            if (pread(fd, buf, kBlock, static_cast<off_t>(at)) != kBlock || !check_word(buf, at)) {
                fail("file pread 4k");
                break;
            }
        }
        blk_row("file_rand_read_4k_qd1", kFileRandomOps, kFileRandomOps * kBlock, now_ns() - t0);
    }
    drop_caches();
    uring_reads("file_rand_read_4k_qd32", fd, kFileSize, kFileRandomOps, kBlock, true, true, buf);
    close(fd);
    std::snprintf(path, sizeof path, "%s/WRITE.DAT", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fail(path);
        return 1;
    }
    for (uint32_t i = 0; i < kSmallChunk; ++i)
        buf[i] = static_cast<char>(i * 31);
    {
        const uint64_t ops = kFileSize / kSmallChunk;
        const uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < ops; ++i) {
            if (write(fd, buf, kSmallChunk) != static_cast<ssize_t>(kSmallChunk)) {
                fail("file write");
                break;
            }
        }
        if (fsync(fd) != 0)
            fail("fsync");
        blk_row("file_seq_write_64k_qd1", ops, kFileSize, now_ns() - t0);
    }
    close(fd);
    std::free(buf);
    return 0;
}

// QEMU's isa-debug-exit (the device Keel's boots have, ci/qemu-boot.sh): writing v makes QEMU
// exit with (v << 1) | 1, so 0x10 gives 33, what qemu-boot.sh reads as success.
int debug_exit(int status) {
    if (ioperm(kDebugExitPort, 4, 1) != 0) {
        fail("ioperm");
        return 1;
    }
    outl(status == 0 ? 0x10 : 0x11, kDebugExitPort);
    return 1;  // not reached when the device is there
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "exit") == 0)
        return debug_exit(std::atoi(argv[2]));
    const bool quick = std::strcmp(argv[argc - 1], "quick") == 0;
    int r = 2;
    if (argc >= 2 && std::strcmp(argv[1], "cpu") == 0) {
        r = cpu(quick);
    } else if (argc >= 3 && std::strcmp(argv[1], "blk") == 0) {
        r = blk(argv[2], quick);
    } else if (argc >= 3 && std::strcmp(argv[1], "file") == 0) {
        r = file(argv[2]);
    } else {
        std::fprintf(stderr,
                     "usage: guestbench cpu [quick] | blk DEVICE [quick] | file DIR | exit N\n");
        return 2;
    }
    std::printf("linuxbench: done, %d failures\n", g_failures);
    return r != 0 || g_failures != 0 ? 1 : 0;
}
