// Level 2, asynchronous: a queue on the same served object, kept `depth` deep; each round
// submits what fits, then one wait hands the batch to the kernel and collects completions.
#include <new>
#include <utility>

#include "disk.hpp"
#include "level.hpp"
#include "queue.hpp"

namespace keel::levelbench {
namespace {

user::Handle g_disk = 0;
user::Queue* g_queue = nullptr;

const char* open() {
    g_disk = blktest::wait_for_disk();
    if (g_disk == 0)
        return "no srv/blk0";
    // In the heap: a static with a destructor would need __cxa_atexit (the runtime has none).
    void* storage = user::allocate(sizeof(user::Queue));
    if (storage == nullptr)
        return "no memory";
    g_queue = new (storage) user::Queue;
    return g_queue->create(64, kMaxDepth, kMaxLength) == 0 ? nullptr : "no queue";
}

const char* run(const Job& job) {
    user::Queue& q = *g_queue;
    uint32_t submitted = 0, completed = 0;
    while (completed < job.count) {
        while (submitted < job.count && submitted - completed < job.depth) {
            auto buffer = q.client().acquire();
            if (!buffer)
                return "no queue buffer";
            g_started[submitted] = user::sys::clock_ns();
            if (!q.submit(user::Op::kRead, g_disk, job.offsets[submitted], submitted,
                          std::move(*buffer), job.length))
                return "submit refused";
            ++submitted;
        }
        if (q.wait(1, 10'000'000'000) < 0)
            return "queue wait failed";
        while (auto r = q.reap()) {
            if (r->status != 0 || r->value != job.length)
                return "a read failed";
            const auto index = static_cast<uint32_t>(r->user_data);
            const auto bytes = q.client().bytes(r->buffer);
            job.done(index, reinterpret_cast<const uint8_t*>(bytes.data()),
                     user::sys::clock_ns() - g_started[index]);
            r->buffer.reset();
            ++completed;
        }
    }
    return nullptr;
}

void close() {
    (void)g_queue->destroy();
    (void)user::sys::do_io(g_disk, user::Op::kClose);
}

}  // namespace

const Level kAsyncLevel{"async", open, run, close};

}  // namespace keel::levelbench
