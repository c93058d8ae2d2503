#include "block_client.hpp"

#include <new>

namespace keel::fatserver {

namespace {
constexpr uint64_t kAheadTimeoutNs = 10'000'000'000;  // a driver that takes longer is broken
}  // namespace

int64_t BlockClient::attach(user::Handle dir, const char* path, uint64_t length) {
    if (device_ == nullptr) {
        void* memory = user::allocate(sizeof(user::Reopening));
        if (memory == nullptr)
            return -static_cast<int64_t>(abi::Error::kNoMemory);
        device_ = new (memory) user::Reopening;
    }
    if (const int64_t e = device_->open(dir, path, length, user::Reopening::Retry::kPositioned);
        e < 0)
        return e;
    path_ = path;
    abi::BlockInfo info{};
    const int64_t r = device_->io(user::Op::kGetMeta, &info, sizeof info,
                                  static_cast<uint64_t>(abi::Meta::kBlockInfo));
    if (r < 0)
        return r;
    const uint32_t s = info.block_size;
    if (r != static_cast<int64_t>(sizeof info) ||
        (s != 512 && s != 1024 && s != 2048 && s != 4096) || info.max_transfer < s ||
        info.block_count == 0)
        return -static_cast<int64_t>(abi::Error::kInvalidArgument);
    sector_size = s;
    sector_count = info.block_count;
    device_->set_check(same_device, this);
    // Whole sectors per request, and never more than a served operation carries.
    const uint64_t most =
        info.max_transfer < abi::kMaxIoLength ? info.max_transfer : abi::kMaxIoLength;
    max_transfer_ = static_cast<uint32_t>(most / s * s);
    return 0;
}

int64_t BlockClient::same_device(user::Handle fresh, void* self) {
    const auto* client = static_cast<const BlockClient*>(self);
    abi::BlockInfo info{};
    const int64_t r = user::sys::do_io(fresh, user::Op::kGetMeta, &info, sizeof info,
                                       static_cast<uint64_t>(abi::Meta::kBlockInfo));
    if (r < 0)
        return r;
    if (r != static_cast<int64_t>(sizeof info) || info.block_size != client->sector_size ||
        info.block_count != client->sector_count) {
        user::print(
            "fat: the device came back with another geometry (%u-byte blocks, %lu of "
            "them): not used\n",
            info.block_size, info.block_count);
        return -static_cast<int64_t>(abi::Error::kIo);
    }
    return 0;
}

int64_t BlockClient::io(user::Op op, void* data, uint64_t length, uint64_t at) {
    const int64_t r = device_->io(op, data, length, at);
    if (device_->reopens() != reopens_said_) {
        reopens_said_ = device_->reopens();
        user::print("fat: srv/%s opened again after its driver ended (reopen %lu), %s\n", path_,
                    reopens_said_, r < 0 ? user::error_text(r) : "the operation sent again");
    }
    return r;
}

fat::Error BlockClient::transfer(user::Op op, uint64_t sector, uint32_t count, uint8_t* data) {
    if (!inside(sector, count))
        return fat::Error::kIo;
    uint64_t bytes = static_cast<uint64_t>(count) * sector_size;
    uint64_t at = sector * sector_size;
    while (bytes > 0) {
        const uint64_t n = bytes < max_transfer_ ? bytes : max_transfer_;
        if (io(op, data, n, at) != static_cast<int64_t>(n))
            return fat::Error::kIo;
        data += n;
        at += n;
        bytes -= n;
    }
    return fat::Error::kOk;
}

fat::Error BlockClient::read(uint64_t sector, uint32_t count, uint8_t* out) {
    return transfer(user::Op::kRead, sector, count, out);
}

fat::Error BlockClient::write(uint64_t sector, uint32_t count, const uint8_t* in) {
    // do_io only reads the buffer of a write.
    return transfer(user::Op::kWrite, sector, count, const_cast<uint8_t*>(in));
}

void BlockClient::read_ahead(const fat::Volume::Extent* runs, uint32_t count,
                             fat::PageCache& pages) {
    if (count == 0 || queue_failed_)
        return;
    if (queue_ == nullptr) {
        void* memory = user::allocate(sizeof(user::Queue));
        if (memory == nullptr) {
            queue_failed_ = true;
            return;
        }
        queue_ = new (memory) user::Queue;
        if (queue_->create(2 * kAhead, kAhead, max_transfer_) != 0) {
            queue_->~Queue();
            user::release(memory);
            queue_ = nullptr;
            queue_failed_ = true;
            return;
        }
    }
    struct Piece {
        uint64_t sector;
        uint32_t count;
        bool used;
    };
    Piece flight[kAhead] = {};
    uint32_t r = 0, in_flight = 0;
    uint64_t at = 0;  // sectors of runs[r] already sent
    const uint32_t most = max_transfer_ / sector_size;
    for (;;) {
        while (in_flight < kAhead && r < count) {
            const uint64_t left = runs[r].count - at;
            const uint32_t k = left < most ? static_cast<uint32_t>(left) : most;
            uint32_t j = 0;
            while (flight[j].used)
                ++j;
            auto b = queue_->client().acquire();
            if (!b)
                break;
            const uint64_t sector = runs[r].sector + at;
            if (!inside(sector, k) ||
                !queue_->submit(user::Op::kRead, device_->handle(), sector * sector_size, j,
                                std::move(*b), k * sector_size))
                break;
            flight[j] = {sector, k, true};
            ++in_flight;
            at += k;
            if (at == runs[r].count) {
                ++r;
                at = 0;
            }
        }
        if (in_flight == 0)
            return;
        if (queue_->wait(1, kAheadTimeoutNs) < 0) {
            // Nothing more is sent this way; what is in flight is cancelled and dropped.
            (void)queue_->destroy();
            while (auto c = queue_->reap())
                c->buffer.reset();
            queue_failed_ = true;
            return;
        }
        while (auto c = queue_->reap()) {
            const auto j = static_cast<uint32_t>(c->user_data);
            if (j < kAhead && flight[j].used) {
                if (c->status == 0 && c->value == uint64_t{flight[j].count} * sector_size) {
                    const auto bytes = queue_->client().bytes(c->buffer);
                    pages.fill(flight[j].sector, flight[j].count,
                               reinterpret_cast<const uint8_t*>(bytes.data()));
                }
                flight[j].used = false;
                --in_flight;
            }
            c->buffer.reset();
        }
    }
}

fat::Error BlockClient::flush() {
    return io(user::Op::kSync, nullptr, 0, 0) < 0 ? fat::Error::kIo : fat::Error::kOk;
}

}  // namespace keel::fatserver
