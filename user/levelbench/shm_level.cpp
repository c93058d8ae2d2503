// Level 3, shared memory: the driver's ring (lib/blkring) and data buffers in DMA memory both
// processes map; requests and completions are plain memory writes, and the kernel is entered
// only to ring the doorbell when the driver sleeps, or to sleep after a bounded spin.
#include <keel/blkring/blkring.hpp>

#include "disk.hpp"
#include "level.hpp"

namespace keel::levelbench {
namespace {

namespace br = keel::blkring;
using user::Op;
namespace sys = user::sys;

constexpr uint64_t kSpinNs = 50'000;  // then sleep in the driver until a completion

user::Handle g_disk = 0, g_session = 0;
br::Header* g_ring = nullptr;
uint8_t* g_region = nullptr;

const char* open() {
    g_disk = blktest::wait_for_disk();
    if (g_disk == 0)
        return "no srv/blk0";
    const int64_t s = sys::do_io(g_disk, Op::kOpen, "shm", 3);
    if (s < 0)
        return "open shm refused";
    g_session = static_cast<user::Handle>(s);
    const int64_t m = user::open_path(user::root(), "ns/srv/blk0.shm", 15);
    const int64_t at = m < 0 ? m : sys::do_io(static_cast<uint64_t>(m), Op::kMap, nullptr, 0, 1);
    if (m >= 0)
        (void)sys::do_io(static_cast<uint64_t>(m), Op::kClose);  // the mapping keeps it
    if (at <= 0)
        return "cannot map srv/blk0.shm";
    g_region = reinterpret_cast<uint8_t*>(at);
    g_ring = reinterpret_cast<br::Header*>(g_region);
    if (br::load(&g_ring->magic) != br::kMagic)
        return "not a ring";
    // The first doorbell: the driver unbinds the name (this process holds the memory now).
    return sys::do_io(g_session, Op::kSync) == 0 ? nullptr : "doorbell refused";
}

const char* run(const Job& job) {
    br::Header& h = *g_ring;
    uint32_t free[br::kBuffers], free_count = 0;
    for (uint32_t b = 0; b < br::kBuffers; ++b)
        free[free_count++] = b;
    uint32_t tail = br::load(&h.sq_tail), head = br::load(&h.cq_head);
    uint32_t submitted = 0, completed = 0;
    while (completed < job.count) {
        bool rang = false;
        while (submitted < job.count && submitted - completed < job.depth && free_count > 0) {
            const uint32_t buffer = free[--free_count];
            g_started[submitted] = sys::clock_ns();
            h.sq[tail % br::kEntries] = {job.offsets[submitted],
                                         job.length,
                                         buffer,
                                         br::kRead,
                                         0,
                                         uint64_t{submitted} << 32 | buffer};
            br::store(&h.sq_tail, ++tail);
            br::fence();
            ++submitted;
            if (!rang && br::load(&h.driver_idle) != 0) {
                (void)sys::do_io(g_session, Op::kSync);  // the doorbell
                rang = true;
            }
        }
        const uint64_t spin_from = sys::clock_ns();
        while (br::load(&h.cq_tail) == head) {
            if (sys::clock_ns() - spin_from > kSpinNs &&
                sys::do_io(g_session, Op::kSync, nullptr, 0, 1 + uint64_t{head}) < 0)
                return "the driver gave up on the ring";
        }
        while (br::load(&h.cq_tail) != head) {
            const br::Completion c = h.cq[head % br::kEntries];
            br::store(&h.cq_head, ++head);
            const auto index = static_cast<uint32_t>(c.tag >> 32);
            const auto buffer = static_cast<uint32_t>(c.tag);
            if (c.result != job.length || index >= submitted || buffer >= br::kBuffers)
                return "a read failed";
            job.done(index, g_region + br::kDataAt + uint64_t{buffer} * br::kBufferBytes,
                     sys::clock_ns() - g_started[index]);
            free[free_count++] = buffer;
            ++completed;
        }
    }
    return nullptr;
}

void close() {
    (void)sys::unmap(reinterpret_cast<uint64_t>(g_region));
    (void)sys::do_io(g_session, Op::kClose);
    (void)sys::do_io(g_disk, Op::kClose);
}

}  // namespace

const Level kShmLevel{"shm", open, run, close};

}  // namespace keel::levelbench
