// What queuetest's test files share (private to queuetest): the names they use, completion
// statuses, and helpers to submit with a buffer and to reap everything available.
#pragma once

#include <new>
#include <utility>

#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>
#include "queue.hpp"
#include "serve.hpp"
#include "testlib.hpp"

namespace keel::queuetest {

using namespace keel::user;
using namespace keel::testlib;
using ipc::abi::Status;
using keel::abi::Kind;
using keel::abi::Meta;

inline constexpr uint16_t kOk = static_cast<uint16_t>(Status::Ok);
inline constexpr uint16_t kCancelled = static_cast<uint16_t>(Status::Cancelled);
inline constexpr uint16_t kInProgress = static_cast<uint16_t>(Status::InProgress);
inline constexpr uint16_t kNotFound = static_cast<uint16_t>(Status::NotFound);
inline constexpr uint16_t kBadRequest = static_cast<uint16_t>(Status::BadRequest);

// Whether the child process `c` has not ended yet.
inline bool child_running(int64_t c) {
    abi::ExitInfo info{};
    return sys::do_io(static_cast<uint64_t>(c), Op::kGetMeta, &info, sizeof info,
                      static_cast<uint64_t>(Meta::kExit)) == static_cast<int64_t>(sizeof info) &&
           info.reason == static_cast<uint32_t>(abi::ExitReason::kRunning);
}

// Reaps every completion available into `out` (at most max); returns how many.
inline uint32_t reap_all(Queue& q, ipc::Reaped* out, uint32_t max) {
    uint32_t n = 0;
    while (n < max) {
        auto r = q.reap();
        if (!r)
            break;
        out[n++] = std::move(*r);
    }
    return n;
}

// Submits op with a fresh buffer holding `data` (length bytes used); the tag or kNoTag.
inline uint32_t submit_with(Queue& q, Op op, Handle object, uint64_t arg, uint64_t user_data,
                            const void* data, uint32_t data_length, uint32_t length) {
    auto b = q.client().acquire();
    if (!b) {
        return ipc::abi::kNoTag;
    }
    if (data_length > 0)
        memcpy(q.client().bytes(*b).data(), data, data_length);
    auto t = q.submit(op, object, arg, user_data, std::move(*b), length);
    return t ? *t : ipc::abi::kNoTag;
}

// A queue on the heap (for children, which may exit without destroying it, and for queues
// rebuilt in place); nullptr when create fails.
inline Queue* heap_queue(uint32_t entries, uint32_t buffers) {
    Queue* q = new (allocate(sizeof(Queue))) Queue;
    return q->create(entries, buffers, 4096) == 0 ? q : nullptr;
}

// A child's queue with `reads` 64-byte reads of `object` submitted (user_data 0, 1, ...) and
// not yet polled; nullptr when the queue cannot be made.
inline Queue* heap_queue_reading(Handle object, int reads) {
    Queue* q = heap_queue(8, 8);
    for (int i = 0; q != nullptr && i < reads; ++i)
        (void)submit_with(*q, Op::kRead, object, 0, static_cast<uint64_t>(i), nullptr, 0, 64);
    return q;
}

// Starts the client child `mode` with the served object (initial handle 1) and the read end of
// a new pipe (2), on which it waits to be told to exit: the write end goes to *go. The child
// process, or <= 0.
inline int64_t spawn_served_client(const char* mode, Handle served, Handle* go) {
    Handle p[2];
    if (sys::object_new(Kind::kPipe, 0, p) != 2)
        return -1;
    const Handle extra[2] = {served, p[0]};
    const int64_t c = spawn_child(mode, extra, 2);
    close(p[0]);
    *go = p[1];
    return c;
}

}  // namespace keel::queuetest
