// Level 1, synchronous: one blocking do_io per read on the driver's served object srv/blk0.
#include "disk.hpp"
#include "level.hpp"

namespace keel::levelbench {
namespace {

user::Handle g_disk = 0;
uint8_t g_buffer[kMaxLength];

const char* open() {
    g_disk = blktest::wait_for_disk();
    return g_disk == 0 ? "no srv/blk0" : nullptr;
}

const char* run(const Job& job) {
    for (uint32_t i = 0; i < job.count; ++i) {
        const uint64_t start = user::sys::clock_ns();
        if (user::sys::do_io(g_disk, user::Op::kRead, g_buffer, job.length, job.offsets[i]) !=
            job.length)
            return "a read failed";
        job.done(i, g_buffer, user::sys::clock_ns() - start);
    }
    return nullptr;
}

void close() {
    (void)user::sys::do_io(g_disk, user::Op::kClose);
}

}  // namespace

const Level kSyncLevel{"sync", open, run, close};

}  // namespace keel::levelbench
