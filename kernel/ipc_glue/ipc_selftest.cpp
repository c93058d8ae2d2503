// Kernel self-test of ipc/ as linked into the kernel: one queue in kernel heap memory, client
// and server both in the kernel, through submit, take, complete, reap and both kinds of cancel.
#include <ipc/abi.hpp>
#include <ipc/client.hpp>
#include <ipc/layout.hpp>
#include <ipc/server.hpp>

#include <keel/c/libc.hpp>
#include "mm/heap.hpp"
#include "test/ktest.hpp"

namespace keel {
namespace {

using ipc::abi::Status;
constexpr uint16_t kOp = ipc::abi::kFirstServiceOp;

// Heap memory aligned to 64 bytes (the shared region must be cache-line aligned).
struct AlignedBlock {
    explicit AlignedBlock(size_t size) : raw(heap::alloc(size + 64)), size_(size) {}
    ~AlignedBlock() { heap::free(raw); }
    std::span<std::byte> span() {
        const uint64_t a = (reinterpret_cast<uint64_t>(raw) + 63) & ~uint64_t{63};
        return {reinterpret_cast<std::byte*>(a), size_};
    }
    void* raw;
    size_t size_;
};

struct KernelQueue {
    explicit KernelQueue(const ipc::Geometry& g)
        : shared(ipc::Layout::compute(g)->total_size),
          client_store(ipc::Client::private_size(g)),
          server_store(ipc::Server::private_size(g)) {
        created = client.create(shared.span(), client_store.span(), g).ok() &&
                  server.attach(shared.span(), server_store.span(), g, kOp + 4).ok();
    }
    AlignedBlock shared, client_store, server_store;
    ipc::Client client;
    ipc::Server server;
    bool created = false;
};

uint16_t status(Status s) {
    return static_cast<uint16_t>(s);
}

KTEST(ipc_submit_take_complete_reap) {
    KernelQueue q(ipc::Geometry{8, 4, 256});
    KASSERT(q.created);
    auto buf = q.client.acquire();
    KASSERT(buf.ok());
    memcpy(q.client.bytes(*buf).data(), "hello", 5);
    ipc::Request req;
    req.user_data = 1;
    req.opcode = kOp;
    req.length = 5;
    auto tag = q.client.submit(req, std::move(*buf));
    KASSERT(tag.ok());
    KEXPECT(!buf->valid());  // the queue owns it now
    q.client.publish();

    auto polled = q.server.poll();
    KASSERT(polled.ok());
    KEXPECT_EQ(*polled, 1u);
    auto op = q.server.take();
    KASSERT(op.ok());
    auto bytes = q.server.bytes(*op);
    KASSERT(bytes.size() == 5);
    KEXPECT(memcmp(bytes.data(), "hello", 5) == 0);
    memcpy(bytes.data(), "HELLO", 5);
    KEXPECT(q.server.complete(op->id, status(Status::Ok), 5).ok());
    q.server.publish();

    auto done = q.client.reap();
    KASSERT(done.ok());
    KEXPECT_EQ(done->user_data, 1u);
    KEXPECT_EQ(done->status, status(Status::Ok));
    KEXPECT_EQ(done->value, 5u);
    KASSERT(done->buffer.valid());
    KEXPECT(memcmp(q.client.bytes(done->buffer).data(), "HELLO", 5) == 0);
    done->buffer.reset();
    KEXPECT(q.client.reap().error() == ipc::Error::Empty);
    KEXPECT_EQ(q.client.outstanding(), 0u);
    KEXPECT_EQ(q.client.pooled_buffers(), 4u);
}

KTEST(ipc_cancel_queued_and_taken_operations) {
    KernelQueue q(ipc::Geometry{8, 4, 256});
    KASSERT(q.created);
    ipc::Request req;
    req.opcode = kOp;

    // A: cancelled while still queued: completes Cancelled with its buffer, the cancel Ok.
    auto buf = q.client.acquire();
    KASSERT(buf.ok());
    req.user_data = 10;
    req.length = 16;
    auto tag_a = q.client.submit(req, std::move(*buf));
    KASSERT(tag_a.ok());
    KASSERT(q.client.cancel(11, *tag_a).ok());
    q.client.publish();
    KASSERT(q.server.poll().ok());
    KEXPECT(q.server.take().error() == ipc::Error::Empty);
    q.server.publish();
    bool saw_a = false, saw_cancel_a = false;
    for (int i = 0; i < 2; ++i) {
        auto r = q.client.reap();
        KASSERT(r.ok());
        if (r->user_data == 10) {
            saw_a = r->status == status(Status::Cancelled) && r->buffer.valid();
        } else if (r->user_data == 11) {
            saw_cancel_a = r->is_cancel && r->status == status(Status::Ok);
        }
    }
    KEXPECT(saw_a);
    KEXPECT(saw_cancel_a);

    // B: cancelled after the server took it: the cancel says InProgress, the server sees the
    // request and the target still completes exactly once.
    req.user_data = 20;
    req.length = 0;
    auto tag_b = q.client.submit(req);
    KASSERT(tag_b.ok());
    q.client.publish();
    KASSERT(q.server.poll().ok());
    auto op = q.server.take();
    KASSERT(op.ok());
    KASSERT(q.client.cancel(21, *tag_b).ok());
    q.client.publish();
    KASSERT(q.server.poll().ok());
    KEXPECT(q.server.cancel_requested(op->id));
    KEXPECT(q.server.complete(op->id, status(Status::Cancelled), 0).ok());
    q.server.publish();
    int completions_b = 0;
    bool saw_in_progress = false;
    for (int i = 0; i < 2; ++i) {
        auto r = q.client.reap();
        KASSERT(r.ok());
        if (r->user_data == 20)
            ++completions_b;
        if (r->user_data == 21)
            saw_in_progress = r->status == status(Status::InProgress);
    }
    KEXPECT_EQ(completions_b, 1);
    KEXPECT(saw_in_progress);

    // C: cancelling something already finished: NotFound.
    KASSERT(q.client.cancel(31, *tag_b).ok());
    q.client.publish();
    KASSERT(q.server.poll().ok());
    q.server.publish();
    auto r = q.client.reap();
    KASSERT(r.ok());
    KEXPECT_EQ(r->status, status(Status::NotFound));
    KEXPECT_EQ(q.client.outstanding(), 0u);
    KEXPECT_EQ(q.client.pooled_buffers(), 4u);
}

}  // namespace
}  // namespace keel
