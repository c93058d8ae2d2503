#include "remote_job.hpp"

#include <keel/c/mem.hpp>

#include <new>

namespace keel::user {
namespace rw = keel::remote;

RemoteJob::~RemoteJob() {
    for (Object& o : objects_) {
        if (o.id != 0 && o.owned)
            (void)sys::do_io(o.handle, Op::kClose);
        o = Object{};
    }
    if (socket_ != nullptr) {
        socket_->~FrameSocket();
        release(socket_);
    }
    release(buffer_);
}

int64_t RemoteJob::fail(int64_t error, const char* why) {
    why_ = why;
    return error;
}

RemoteJob::Object* RemoteJob::find(uint32_t id) {
    for (Object& o : objects_) {
        if (o.id == id && id != 0)
            return &o;
    }
    return nullptr;
}

void RemoteJob::heartbeat(uint64_t self) {
    auto* job = reinterpret_cast<RemoteJob*>(self);
    while (job->running_) {
        (void)sys::sleep_ns(100'000'000);
        if (job->running_ && sys::clock_ns() - job->socket_->last_sent() >= rw::kHeartbeatNs) {
            rw::Message m{};
            m.type = rw::Type::kHeartbeat;
            m.job = job->job_;
            (void)job->socket_->send(m);
        }
    }
}

int64_t RemoteJob::send_image(Handle image, uint32_t length) {
    // A memory object has one position for all its holders (docs/syscalls.md): reading it would
    // race another job sending the same program. Mapped read-only, it is read at no position;
    // an image without the Map right is read from its start instead.
    const int64_t mapped = sys::do_io(image, Op::kMap, nullptr, 0, 0);
    if (mapped < 0) {
        if (const int64_t r = sys::do_io(image, Op::kSeek, nullptr, 0, 0); r < 0)
            return fail(r, "the image cannot be read");
    }
    const auto* base = reinterpret_cast<const uint8_t*>(mapped);
    int64_t result = 0;
    for (uint32_t sent = 0; sent < length;) {
        const uint32_t want = length - sent < rw::kMaxData ? length - sent : rw::kMaxData;
        rw::Message m{};
        m.type = rw::Type::kImage;
        m.job = job_;
        m.data = mapped >= 0 ? base + sent : buffer_;
        m.data_length = want;
        if (mapped < 0) {
            const int64_t n = sys::do_io(image, Op::kRead, buffer_, want);
            if (n <= 0) {
                result = fail(n < 0 ? n : err(Error::kIo), "the image cannot be read");
                break;
            }
            m.data_length = static_cast<uint32_t>(n);
        }
        if (const int64_t r = socket_->send(m); r < 0) {
            result = fail(r, "the connection failed while sending the image");
            break;
        }
        sent += m.data_length;
    }
    if (mapped >= 0)
        (void)sys::unmap(static_cast<uint64_t>(mapped));
    return result;
}

// One operation the program made on one of our objects: done here with do_io, answered with a
// Done (also when it fails). A close is answered too; its answer is ignored over there.
int64_t RemoteJob::perform(const rw::Message& m) {
    ++operations_;
    rw::Message done{};
    done.type = rw::Type::kDone;
    done.job = job_;
    done.object = m.object;
    done.tag = m.tag;
    Object* object = find(m.object);
    const Op o = static_cast<Op>(m.op);
    int64_t r = 0;
    if (object == nullptr) {
        r = err(Error::kBadHandle);
    } else if (o == Op::kClose) {
        if (object->owned)
            (void)sys::do_io(object->handle, Op::kClose);
        *object = Object{};
    } else if (rw::op_flow(m.op) == rw::Flow::kOut) {
        const uint32_t room = m.out_capacity < rw::kMaxData ? m.out_capacity : rw::kMaxData;
        r = sys::do_io(object->handle, o, buffer_, room, m.arg);
        if (r > room)
            r = err(Error::kProtocol);  // a server here broke its word: never pass it on
        if (r >= 0) {
            done.data = buffer_;
            done.data_length = static_cast<uint32_t>(r);
        }
    } else if (o == Op::kOpen) {
        Object* slot = nullptr;
        for (Object& s : objects_) {
            if (s.id == 0) {
                slot = &s;
                break;
            }
        }
        r = slot == nullptr ? err(Error::kFull)
                            : sys::do_io(object->handle, o, m.data, m.data_length, m.arg);
        if (r >= 0) {
            *slot = Object{next_id_++, static_cast<Handle>(r), true};
            done.new_object = slot->id;
            r = 0;
        }
    } else {
        r = sys::do_io(object->handle, o, m.data_length > 0 ? m.data : nullptr, m.data_length,
                       m.arg);
    }
    if (r < 0) {
        done.status = static_cast<uint32_t>(-r);
        done.data_length = 0;
        done.new_object = 0;
    } else {
        done.value = static_cast<uint64_t>(r);
    }
    return socket_->send(done);
}

int64_t RemoteJob::run(Handle connection, const RemoteSpawn& spawn, abi::ExitInfo* exit) {
    void* memory = allocate(sizeof(FrameSocket));
    buffer_ = static_cast<uint8_t*>(allocate(rw::kMaxData));
    if (memory == nullptr || buffer_ == nullptr) {
        release(memory);
        (void)sys::do_io(connection, Op::kClose);
        return fail(err(Error::kNoMemory), "no memory for the connection");
    }
    socket_ = new (memory) FrameSocket(connection);
    if (spawn.entry_count > rw::kMaxEntries)
        return fail(err(Error::kTooLarge), "more than 8 root entries");
    uint64_t image_size = 0;
    if (const int64_t r = sys::do_io(spawn.image, Op::kGetMeta, &image_size, 8,
                                     static_cast<uint64_t>(abi::Meta::kSize));
        r < 0)
        return fail(r, "the image has no size");
    rw::Message hello{};
    hello.type = rw::Type::kHello;
    hello.version = rw::kVersion;
    hello.max_data = rw::kMaxData;
    rw::Message m{};
    m.type = rw::Type::kSpawn;
    m.job = job_;
    m.image_length =
        image_size > rw::kMaxImage ? rw::kMaxImage + 1 : static_cast<uint32_t>(image_size);
    m.name = spawn.name;
    m.name_length = spawn.name_length;
    m.args = spawn.args;
    m.args_length = spawn.args_length;
    m.entry_count = spawn.entry_count;
    for (uint32_t i = 0; i < spawn.entry_count; ++i) {
        objects_[i] = Object{next_id_++, spawn.entries[i].handle, false};
        m.entries[i] = rw::Entry{objects_[i].id, spawn.entries[i].name,
                                 static_cast<uint8_t>(c::length(spawn.entries[i].name))};
    }
    if (rw::encode(m, buffer_, rw::kMaxData) == 0)
        return fail(err(Error::kInvalidArgument), "the spawn breaks the protocol's limits");
    if (const int64_t r = socket_->send(hello); r < 0)
        return fail(r, "the connection failed");
    const char* why = "";
    int64_t r = socket_->receive(&hello, sys::clock_ns() + rw::kPeerSilenceNs, &why);
    if (r < 0)
        return fail(r, r == err(Error::kProtocol) ? why : "no hello from the agent");
    if (hello.type != rw::Type::kHello || hello.version != rw::kVersion)
        return fail(err(Error::kProtocol), "the agent's hello is not version 1");
    if (r = socket_->send(m); r < 0)
        return fail(r, "the connection failed while sending the spawn");
    running_ = true;
    const int64_t beat = spawn_thread(heartbeat, reinterpret_cast<uint64_t>(this));
    if (beat < 0) {
        running_ = false;
        return fail(beat, "no heartbeat thread");
    }
    r = send_image(spawn.image, m.image_length);
    bool started = false;
    while (r >= 0) {
        r = socket_->receive(&m, socket_->last_received() + rw::kPeerSilenceNs, &why);
        if (r < 0) {
            const bool silent = r == err(Error::kTimedOut);
            fail(r, r == err(Error::kProtocol) ? why
                    : silent ? "the agent went silent (no heartbeat): its machine is gone"
                             : "the connection to the agent ended before the program did");
            break;
        }
        if (m.job != job_ && m.type != rw::Type::kHello) {
            r = fail(err(Error::kProtocol), "a message for another job");
            break;
        }
        if (m.type == rw::Type::kHeartbeat)
            continue;
        if (m.type == rw::Type::kStarted && !started) {
            started = true;
            if (m.started < 0)
                r = fail(m.started, "the agent could not start the program");
            continue;
        }
        if (m.type == rw::Type::kOp && started) {
            if (r = perform(m); r < 0)
                fail(r, "the connection failed while answering");
            continue;
        }
        if (m.type == rw::Type::kCancel && started)
            continue;  // operations here run to their end; their answer is still sent
        if (m.type == rw::Type::kExit && started) {
            exit->reason = m.exit_reason;
            exit->vector = m.exit_vector;
            exit->status = m.exit_status;
            exit->address = m.exit_address;
            exit->cr2 = m.exit_cr2;
            break;
        }
        r = fail(err(Error::kProtocol), "a message the agent may not send now");
    }
    running_ = false;
    (void)join(static_cast<Handle>(beat));
    socket_->close();
    return r < 0 ? r : 0;
}

}  // namespace keel::user
