#include "block_client.hpp"

#include <keel/c/mem.hpp>

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
    // While fetches are in flight a request never goes by do_io: each fetch holds one of the
    // device's served slots until this server collects its completion (the kernel keeps an
    // answer until its caller takes it), so with all of them held a do_io would wait for a slot
    // that only this server, blocked in it, could free (qemu_fs_disk's processes_write_at_once
    // hung so). A read joins the fetches in the queue (the kernel parks it until a slot frees,
    // and waiting for it collects the others); anything else waits until they are collected.
    if (in_flight_ > 0 && !queue_failed_ && op == user::Op::kRead && length <= max_transfer_ &&
        read_queued(data, length, at))
        return static_cast<int64_t>(length);
    while (in_flight_ > 0 && !queue_failed_)
        collect();
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

uint64_t BlockClient::fetch(const fat::Volume::Extent* runs, uint32_t count,
                            fat::PageCache& pages) {
    pages_ = &pages;
    if (queue_failed_)
        return accepted_;
    if (queue_ == nullptr) {
        void* memory = user::allocate(sizeof(user::Queue));
        if (memory == nullptr) {
            queue_failed_ = true;
            return accepted_;
        }
        queue_ = new (memory) user::Queue;
        // Device data where the driver takes it (abi::kQueueDeviceData): the device writes the
        // queue's buffers itself, and the kernel copies nothing on the way; else an ordinary
        // queue, the kernel copying each read out of the driver's buffer.
        if (queue_->create(2 * kAhead, kAhead, max_transfer_, abi::kQueueDeviceData, object()) !=
                0 &&
            queue_->create(2 * kAhead, kAhead, max_transfer_) != 0) {
            queue_->~Queue();
            user::release(memory);
            queue_ = nullptr;
            queue_failed_ = true;
            return accepted_;
        }
    }
    for (uint32_t i = 0; i < count && accepted_ - finished_ < kRuns; ++i) {
        if (runs[i].count == 0 || !inside(runs[i].sector, runs[i].count))
            continue;  // nothing to read, or a bug in the plan: not sent
        runs_[accepted_ % kRuns] = {runs[i].sector, runs[i].count, 0, 0};
        ++accepted_;
    }
    send_now();
    return accepted_;
}

void BlockClient::send_now() {
    // A queue's submissions reach the kernel only in its poll or wait: published here, they are
    // read while the server performs what is ready.
    const uint32_t flying = in_flight_;
    send();
    if (!queue_failed_ && in_flight_ != flying && queue_->poll() < 0)
        break_queue();
}

void BlockClient::send() {
    const uint32_t most = max_transfer_ / sector_size;
    while (in_flight_ < kAhead && sending_ < accepted_) {
        Run& run = runs_[sending_ % kRuns];
        const uint32_t left = run.count - run.sent;
        const uint32_t k = left < most ? left : most;
        uint32_t j = 0;
        while (flight_[j].used)
            ++j;
        auto b = queue_->client().acquire();
        if (!b)
            return;
        const uint64_t sector = run.sector + run.sent;
        if (!queue_->submit(user::Op::kRead, device_->handle(), sector * sector_size, j,
                            std::move(*b), k * sector_size)) {
            break_queue();
            return;
        }
        flight_[j] = {sending_, pages_->writes(), sector, k, true};
        ++in_flight_;
        ++run.outstanding;
        run.sent += k;
        if (run.sent == run.count)
            ++sending_;
    }
}

void BlockClient::break_queue() {
    if (queue_ != nullptr) {
        // Nothing more is sent this way; what is in flight is cancelled and dropped.
        (void)queue_->destroy();
        while (auto c = queue_->reap())
            c->buffer.reset();
    }
    queue_failed_ = true;
    for (auto& f : flight_)
        f.used = false;
    in_flight_ = 0;
    finished_ = sending_ = accepted_;
}

bool BlockClient::read_queued(void* data, uint64_t length, uint64_t at) {
    // A buffer: only pieces in flight hold them (kAhead buffers), and each collected gives one
    // back.
    while (in_flight_ >= kAhead && !queue_failed_)
        collect();
    if (queue_failed_)
        return false;
    auto b = queue_->client().acquire();
    if (!b || !queue_->submit(user::Op::kRead, device_->handle(), at, kReadTag, std::move(*b),
                              static_cast<uint32_t>(length)))
        return false;
    read_ = {static_cast<uint8_t*>(data), length, false, false};
    while (!read_.done && !queue_failed_)
        collect();
    return read_.done && read_.ok;
}

void BlockClient::collect() {
    // queue_wait answers 0 when its timeout ran out: a device silent that long is broken.
    const uint64_t since = user::sys::clock_ns();
    const int64_t r = queue_->wait(1, kAheadTimeoutNs);
    if (r < 0 || (r == 0 && user::sys::clock_ns() - since >= kAheadTimeoutNs))
        return break_queue();
    while (auto c = queue_->reap()) {
        if (c->user_data == kReadTag) {
            read_.done = true;
            read_.ok = c->status == 0 && c->value == read_.length;
            if (read_.ok) {
                const auto bytes = queue_->client().bytes(c->buffer);
                c::copy(read_.out, bytes.data(), read_.length);
            }
        } else if (const uint64_t j = c->user_data; j < kAhead && flight_[j].used) {
            Piece& f = flight_[j];
            if (c->status == 0 && c->value == uint64_t{f.count} * sector_size) {
                const auto bytes = queue_->client().bytes(c->buffer);
                pages_->fill(f.sector, f.count, reinterpret_cast<const uint8_t*>(bytes.data()),
                             f.sent_at);
            }
            --runs_[f.run % kRuns].outstanding;
            f.used = false;
            --in_flight_;
        }
        c->buffer.reset();
    }
    // Runs whose every piece has come back are finished, in order.
    while (finished_ < sending_ && runs_[finished_ % kRuns].outstanding == 0)
        ++finished_;
}

void BlockClient::fetch_wait() {
    if (queue_failed_)
        return;
    if (in_flight_ > 0)
        collect();
    if (!queue_failed_)
        send_now();
}

fat::Error BlockClient::flush() {
    return io(user::Op::kSync, nullptr, 0, 0) < 0 ? fat::Error::kIo : fat::Error::kOk;
}

}  // namespace keel::fatserver
