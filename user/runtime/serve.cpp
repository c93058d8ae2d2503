#include "serve.hpp"

#include <keel/c/libc.hpp>
#include "runtime.hpp"

namespace keel::user {

ServePort::~ServePort() {
    (void)destroy();
    if (region_ != nullptr)  // the mapping is the process's, as Queue's region
        (void)sys::unmap(reinterpret_cast<uint64_t>(region_));
    release(storage_);
}

int64_t ServePort::create(uint32_t capacity, uint32_t buffer_count, uint32_t buffer_size,
                          Handle device, uint32_t flags) {
    if (port_ != 0)
        return err(Error::kExists);
    const abi::QueueGeometry g{capacity, buffer_count, buffer_size, flags};
    abi::ServeInfo info{};
    const int64_t r = sys::serve_create(&g, &info, device);
    if (r < 0)
        return r;
    port_ = info.port;
    served_ = info.served;
    region_ = reinterpret_cast<uint8_t*>(info.address);
    region_size_ = info.size;
    device_address_ = info.device_address;
    const ipc::Geometry geometry{capacity, buffer_count, buffer_size};
    const size_t storage_size = ipc::Server::private_size(geometry);
    storage_ = allocate(storage_size);
    if (storage_ == nullptr) {
        (void)destroy();
        return err(Error::kNoMemory);
    }
    const uint16_t limit = abi::queue_opcode(abi::Op::kCount);
    const auto attached =
        server_.attach({reinterpret_cast<std::byte*>(info.address), info.size},
                       {static_cast<std::byte*>(storage_), storage_size}, geometry, limit);
    if (!attached) {
        (void)destroy();
        return err(Error::kProtocol);
    }
    return 0;
}

int64_t ServePort::sync(bool wait, uint64_t timeout_ns) {
    server_.publish();
    return sys::serve_sync(port_, wait ? 1 : 0, timeout_ns);
}

int64_t ServePort::call(abi::ServeCall& msg, uint64_t timeout_ns) {
    server_.publish();
    return sys::serve_call(port_, &msg, timeout_ns);
}

int64_t ServePort::destroy() {
    if (port_ == 0)
        return 0;
    const int64_t r = sys::do_io(port_, Op::kClose);
    if (served_ != 0)
        (void)sys::do_io(served_, Op::kClose);
    port_ = served_ = 0;
    return r;
}

bool read_spawn(ServePort& sp, const ipc::Operation& op, abi::ServedSpawn* out) {
    const auto bytes = sp.server().bytes(op);
    if (op.request.opcode != abi::queue_opcode(Op::kCreate) || bytes.size() < sizeof *out)
        return false;
    memcpy(out, bytes.data(), sizeof *out);
    return true;
}

abi::SpawnArgs spawn_args_of(const abi::ServedSpawn& rec) {
    const auto at_most = [](uint64_t n, uint64_t limit) { return n < limit ? n : limit; };
    return abi::SpawnArgs{reinterpret_cast<uint64_t>(rec.handles),
                          at_most(rec.handle_count, abi::kMaxSpawnHandles),
                          reinterpret_cast<uint64_t>(rec.args),
                          at_most(rec.args_length, abi::kMaxArgsLength),
                          reinterpret_cast<uint64_t>(rec.name),
                          at_most(rec.name_length, sizeof rec.name),
                          rec.has_limits != 0 ? reinterpret_cast<uint64_t>(&rec.limits) : 0};
}

}  // namespace keel::user
