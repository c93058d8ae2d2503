// Level 4, integrated: the virtio-blk driver's device half (drivers/virtio-blk's
// keel_virtio_blk) linked into this program, which holds a second virtio-blk device itself
// (ns/disk1, given to the shell by init): requests go straight into the device's queue, data
// straight into this program's DMA memory, and completions are polled: no other process, no
// system call per read.
#include <new>

#include "level.hpp"
#include "virtio_block.hpp"

namespace keel::levelbench {
namespace {

namespace blk = keel::virtio::blk;
namespace vio = keel::virtio;
using drivers::virtio_blk::BlockDevice;
using drivers::virtio_blk::kMaxQueue;

BlockDevice* g_device = nullptr;
drivers::virtio::Dma g_buffers;
uint32_t g_index_of[kMaxQueue], g_buffer_of[kMaxQueue];

const char* open() {
    const int64_t h = user::open_path(user::root(), "ns/disk1", 8);
    if (h < 0)
        return "no ns/disk1 (a second virtio-blk device)";
    void* storage = user::allocate(sizeof(BlockDevice));
    if (storage == nullptr)
        return "no memory";
    g_device = new (storage) BlockDevice;
    if (const char* why = g_device->init(static_cast<user::Handle>(h), kMaxLength))
        return why;
    if (const char* why = g_device->device().dma(uint64_t{kMaxDepth} * kMaxLength, &g_buffers))
        return why;
    g_device->set_interrupts(false);  // polled
    return nullptr;
}

const char* run(const Job& job) {
    BlockDevice& d = *g_device;
    uint32_t free[kMaxDepth], free_count = 0;
    for (uint32_t b = 0; b < kMaxDepth; ++b)
        free[free_count++] = b;
    uint32_t submitted = 0, completed = 0;
    while (completed < job.count) {
        while (submitted < job.count && submitted - completed < job.depth && free_count > 0) {
            const int32_t r = d.free_record();
            if (r < 0)
                break;
            const uint32_t buffer = free[free_count - 1];
            vio::Segment data[drivers::virtio_blk::kMaxDataSegments];
            const uint32_t n =
                d.cut(g_buffers.device + uint64_t{buffer} * kMaxLength, job.length, true, data);
            g_started[submitted] = user::sys::clock_ns();
            if (!d.add(static_cast<uint32_t>(r), blk::kTypeIn,
                       job.offsets[submitted] / blk::kSector, data, n))
                break;
            --free_count;
            g_index_of[r] = submitted++;
            g_buffer_of[r] = buffer;
        }
        d.kick();
        vio::Completion c{};
        vio::SplitQueue::Reaped got;
        while ((got = d.reap(&c)) == vio::SplitQueue::Reaped::kNothing) {
        }
        for (; got == vio::SplitQueue::Reaped::kCompletion; got = d.reap(&c)) {
            const auto r = static_cast<uint32_t>(c.token);
            if (!d.ok(r))
                return "a read failed";
            const uint32_t index = g_index_of[r];
            job.done(index, g_buffers.at + uint64_t{g_buffer_of[r]} * kMaxLength,
                     user::sys::clock_ns() - g_started[index]);
            free[free_count++] = g_buffer_of[r];
            ++completed;
        }
        if (got == vio::SplitQueue::Reaped::kFault)
            return "device fault";
    }
    return nullptr;
}

void close() {
    g_device->device().stop();  // it stops using the memory, which can then go back
}

}  // namespace

const Level kIntegratedLevel{"integrated", open, run, close};

}  // namespace keel::levelbench
