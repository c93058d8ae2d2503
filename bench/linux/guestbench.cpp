// guestbench: bench row B8 (bench/README.md), run inside the Linux guest that
// bench/linux/make-guest.sh builds. Built on the host with clang++-14 as a static executable
// against Debian's glibc (and liburing.a); it runs as a program of the guest's /init.
//
//   guestbench cpu [quick]        the CPU rows, meant for a boot under QEMU -icount shift=0
//   guestbench blk DEVICE [quick] the block rows on DEVICE (O_DIRECT), a boot without -icount
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
// The random offsets come from xorshift64 seeded with kSeed, so any other system can read the
// same sequence. Output: one line per row,
//   "linuxbench: row NAME ops N clock_ns_per_op X"                       (CPU rows)
//   "linuxbench: blk NAME ops N bytes B ns T mib_per_s X iops Y"          (block rows)
// then "linuxbench: done, N failures". Exit status 0 when every operation succeeded.
#include <fcntl.h>
#include <liburing.h>
#include <sys/io.h>
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

void seq(int fd, bool write_it, uint64_t region, char* buf) {
    const uint64_t ops = region / kSeqChunk;
    const uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < ops; ++i) {
        const off_t at = static_cast<off_t>(i * kSeqChunk);
        const ssize_t n = write_it ? pwrite(fd, buf, kSeqChunk, at) : pread(fd, buf, kSeqChunk, at);
        if (n != static_cast<ssize_t>(kSeqChunk)) {
            fail(write_it ? "pwrite" : "pread");
            return;
        }
    }
    if (write_it && fdatasync(fd) != 0)
        fail("fdatasync");
    blk_row(write_it ? "seq_write" : "seq_read", ops, region, now_ns() - t0);
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

void rand_qd32(int fd, uint64_t region, uint64_t ops, char* bufs) {
    io_uring ring{};
    const int r = io_uring_queue_init(kDepth, &ring, 0);
    if (r < 0) {
        errno = -r;
        fail("io_uring_queue_init");
        return;
    }
    uint64_t s = kSeed;
    const uint64_t blocks = region / kBlock;
    uint64_t submitted = 0;
    uint64_t done = 0;
    const uint64_t t0 = now_ns();
    while (done < ops) {
        // Keep kDepth reads in flight: refill every free slot, submit, wait for one.
        while (submitted < ops && submitted - done < kDepth) {
            io_uring_sqe* sqe = io_uring_get_sqe(&ring);
            if (sqe == nullptr)
                break;
            const uint64_t slot = submitted % kDepth;
            io_uring_prep_read(sqe, fd, bufs + slot * kBlock, kBlock,
                               (xorshift(s) % blocks) * kBlock);
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
            if (cqe->res != static_cast<int>(kBlock)) {
                errno = cqe->res < 0 ? -cqe->res : EIO;
                fail("io_uring read");
            }
            ++seen;
        }
        io_uring_cq_advance(&ring, seen);
        done += seen;
    }
    const uint64_t t1 = now_ns();
    io_uring_queue_exit(&ring);
    blk_row("rand_read_qd32", done, done * kBlock, t1 - t0);
}

int blk(const char* dev, bool quick) {
    const int fd = open(dev, O_RDWR | O_DIRECT);
    if (fd < 0) {
        fail(dev);
        return 1;
    }
    const uint64_t region = quick ? kQuickRegion : kRegion;
    char* buf = static_cast<char*>(std::aligned_alloc(kBlock, kSeqChunk));
    if (buf == nullptr) {
        fail("aligned_alloc");
        return 1;
    }
    for (uint32_t i = 0; i < kSeqChunk; ++i)
        buf[i] = static_cast<char>(i * 7 + 1);
    seq(fd, true, region, buf);
    seq(fd, false, region, buf);
    rand_qd1(fd, region, quick ? 500 : 4'000, buf);
    rand_qd32(fd, region, quick ? 2'000 : 32'000, buf);
    std::free(buf);
    close(fd);
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
    } else {
        std::fprintf(stderr, "usage: guestbench cpu [quick] | blk DEVICE [quick] | exit N\n");
        return 2;
    }
    std::printf("linuxbench: done, %d failures\n", g_failures);
    return r != 0 || g_failures != 0 ? 1 : 0;
}
