#include "queue.hpp"

#include <ipc/platform.hpp>

#include "runtime.hpp"

namespace keel::user {

namespace {

// ipc/'s hook: only a broken invariant of the library itself (never anything the kernel
// wrote) ends here.
struct UserIpcPlatform {
    static void panic(const char* why) {
        print("ipc: panic: %s\n", why);
        sys::process_exit(-1);
    }
    static void log(const char* what) { print("ipc: %s\n", what); }
};

}  // namespace

// The region's mapping is the process's (queue_destroy releases only the kernel's side), and
// it outlives destroy() so that the cancelled operations' buffers can still be reaped; it goes
// here. Kept, it leaked the region's pages with every queue a program made and destroyed
// (httpd, one queue per connection, ran out of memory after about 5,000 connections).
Queue::~Queue() {
    (void)destroy();
    if (region_ != nullptr)
        (void)sys::unmap(reinterpret_cast<uint64_t>(region_));
    release(storage_);
}

int64_t Queue::create(uint32_t capacity, uint32_t buffer_count, uint32_t buffer_size,
                      uint32_t flags, Handle served) {
    if (handle_ != 0)
        return err(Error::kExists);
    const abi::QueueGeometry g{capacity, buffer_count, buffer_size, flags};
    abi::QueueInfo info{};
    const int64_t h = sys::queue_create(&g, &info, served);
    if (h < 0)
        return h;
    const ipc::Geometry geometry{capacity, buffer_count, buffer_size};
    const size_t storage_size = ipc::Client::private_size(geometry);
    storage_ = allocate(storage_size);
    if (storage_ == nullptr) {
        (void)sys::queue_destroy(static_cast<uint64_t>(h));
        return err(Error::kNoMemory);
    }
    handle_ = static_cast<Handle>(h);
    polling_ = (flags & abi::kQueuePolling) != 0;
    region_ = reinterpret_cast<uint8_t*>(info.address);
    region_size_ = info.size;
    const auto created =
        client_.create({reinterpret_cast<std::byte*>(region_), region_size_},
                       {static_cast<std::byte*>(storage_), storage_size}, geometry);
    if (!created) {
        (void)destroy();
        return err(Error::kInvalidArgument);
    }
    return 0;
}

ipc::Result<uint32_t> Queue::submit(Op op, Handle object, uint64_t arg, uint64_t user_data) {
    ipc::Request r;
    r.user_data = user_data;
    r.opcode = abi::queue_opcode(op);
    r.object = object;
    r.args[0] = arg;
    return client_.submit(r);
}

ipc::Result<uint32_t> Queue::submit(Op op, Handle object, uint64_t arg, uint64_t user_data,
                                    ipc::Buffer&& buffer, uint32_t length) {
    ipc::Request r;
    r.user_data = user_data;
    r.opcode = abi::queue_opcode(op);
    r.object = object;
    r.length = length;
    r.args[0] = arg;
    return client_.submit(r, static_cast<ipc::Buffer&&>(buffer));
}

int64_t Queue::poll() {
    if (polling_)
        return publish();
    client_.publish();
    return sys::queue_poll(handle_);
}

bool Queue::poller_asleep() const {
    const auto* word = reinterpret_cast<const uint32_t*>(region_ + abi::kQueuePollStateOffset);
    return (__atomic_load_n(word, __ATOMIC_ACQUIRE) & abi::kQueueNeedWakeup) != 0;
}

int64_t Queue::publish() {
    client_.publish();
    if (!polling_)
        return 0;
    // The tail's store, then the word's load: the poller stores the word, then loads the tail.
    // With a full fence on each side one of the two sees the other's store, so a submission is
    // never left with the poller asleep and no wake-up (the same pairing as io_uring's SQPOLL).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!poller_asleep())
        return 0;
    ++wakeups_;
    return sys::queue_poll(handle_);
}

int64_t Queue::wait(uint64_t min, uint64_t timeout_ns) {
    client_.publish();
    return sys::queue_wait(handle_, min, timeout_ns);
}

int64_t Queue::destroy() {
    if (handle_ == 0)
        return err(Error::kBadHandle);
    const int64_t r = sys::queue_destroy(handle_);
    handle_ = 0;
    client_.close();
    return r;
}

}  // namespace keel::user

KEEL_IPC_PLATFORM(keel::user::UserIpcPlatform)
