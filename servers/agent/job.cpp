#include "job.hpp"

#include <keel/c/mem.hpp>

#include <new>

namespace keel::agent {
namespace {

using namespace keel::user;
namespace rw = keel::remote;

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
// The job's port: 16 entries (8 operations at once), 8 buffers of the most one operation
// carries.
constexpr uint32_t kCapacity = 16, kBuffers = 8, kBufferSize = rw::kMaxData;
// How long the serving thread sleeps between looks at the program, the peer and the clock.
constexpr uint64_t kTick = 200'000'000;
// The rights an object opened through the job's root may carry: the caller's own handle
// decides what its operations may do (a refusal comes back as that error).
constexpr uint32_t kRights = abi::kRightRead | abi::kRightWrite | abi::kRightShare;

uint16_t failure(Error e) {
    return abi::queue_error_status(e);
}

struct Object {
    bool used;
    bool entry;       // an open of a root entry: the caller's handle outlives it
    uint32_t remote;  // the caller's id
};

struct Parked {
    bool used;
    bool cancel_sent;
    uint32_t op;  // the port's operation id
    uint8_t operation;
    uint16_t generation;
};

struct Job {
    Job(Handle connection, uint32_t n) : socket(connection), number(n) {}
    FrameSocket socket;
    uint32_t number;
    uint32_t id = 0;  // the caller's job id
    Mutex lock;       // the port's ipc::Server, the tables, the flags below
    ServePort port;
    rw::Entry entries[rw::kMaxEntries];
    char entry_names[rw::kMaxEntries][rw::kMaxName];
    uint32_t entry_count = 0;
    Object objects[kMaxObjects + 1] = {};  // index = the port's object id; 0 is the root
    Parked parked[kMaxParked] = {};
    uint16_t generation = 0;
    bool peer_gone = false;  // set by the receiving thread; every operation then fails PeerGone
    bool stop = false;       // the program ended: the receiving thread leaves
    const char* gone_why = "";
};

// An object id for a new object of the port, or 0 when the table is full.
uint32_t new_object(Job& j, uint32_t remote, bool entry) {
    for (uint32_t i = 1; i <= kMaxObjects; ++i) {
        if (!j.objects[i].used) {
            j.objects[i] = Object{true, entry, remote};
            return i;
        }
    }
    return 0;
}

rw::Message message(Job& j, rw::Type type) {
    rw::Message m{};
    m.type = type;
    m.job = j.id;
    return m;
}

// Tells the caller to close its handle of `remote` (its answer is not waited for).
void send_close(Job& j, uint32_t remote) {
    rw::Message m = message(j, rw::Type::kOp);
    m.object = remote;
    m.op = static_cast<uint8_t>(Op::kClose);
    m.tag = 0;
    (void)j.socket.send(m);
}

// An operation on the root (object 0): opens of its entries are answered here.
void serve_root(Job& j, const ipc::Operation& op, Op o, std::span<std::byte> bytes) {
    if (o != Op::kOpen) {
        (void)j.port.server().complete(op.id, failure(Error::kNotSupported), 0);
        return;
    }
    for (uint32_t i = 0; i < j.entry_count; ++i) {
        const rw::Entry& e = j.entries[i];
        if (bytes.size() == e.name_length && c::compare(bytes.data(), e.name, e.name_length) == 0) {
            const uint32_t object = new_object(j, e.object, true);
            if (object == 0) {
                (void)j.port.server().complete(op.id, failure(Error::kFull), 0);
            } else {
                (void)j.port.server().complete(op.id, kOk, abi::served_open_value(object, kRights));
            }
            return;
        }
    }
    (void)j.port.server().complete(op.id, failure(Error::kNotFound), 0);
}

// One operation the program made: answered here (the root, close notices, after the caller
// went away) or sent to the caller and parked until its Done. Under j.lock.
void serve(Job& j, const ipc::Operation& op) {
    Op o{};
    if (!abi::decode_queue_opcode(op.request.opcode, &o)) {
        (void)j.port.server().complete(op.id, failure(Error::kNotSupported), 0);
        return;
    }
    const uint32_t object = op.request.object;
    std::span<std::byte> bytes = j.port.server().bytes(op);
    if (object > kMaxObjects || (object != 0 && !j.objects[object].used)) {
        (void)j.port.server().complete(op.id, failure(Error::kBadHandle), 0);
        return;
    }
    if (o == Op::kClose) {  // the kernel's notice: the object's last reference went
        if (object != 0) {
            if (!j.objects[object].entry && !j.peer_gone)
                send_close(j, j.objects[object].remote);
            j.objects[object].used = false;
        }
        (void)j.port.server().complete(op.id, kOk, 0);
        return;
    }
    if (object == 0) {
        serve_root(j, op, o, bytes);
        return;
    }
    if (j.peer_gone) {
        (void)j.port.server().complete(op.id, failure(Error::kPeerGone), 0);
        return;
    }
    if (!rw::op_allowed(static_cast<uint8_t>(o))) {
        (void)j.port.server().complete(op.id, failure(Error::kNotSupported), 0);
        return;
    }
    uint32_t slot = kMaxParked;
    for (uint32_t i = 0; i < kMaxParked; ++i) {
        if (!j.parked[i].used) {
            slot = i;
            break;
        }
    }
    if (slot == kMaxParked) {  // more than the port forwards at once: cannot happen
        (void)j.port.server().complete(op.id, failure(Error::kFull), 0);
        return;
    }
    const bool out = rw::op_flow(static_cast<uint8_t>(o)) == rw::Flow::kOut;
    const bool in = rw::op_flow(static_cast<uint8_t>(o)) == rw::Flow::kIn;
    Parked& p = j.parked[slot];
    if (++j.generation == 0)  // 0 never names a parked operation (a close's tag is 0)
        j.generation = 1;
    p = Parked{true, false, op.id, static_cast<uint8_t>(o), j.generation};
    rw::Message m = message(j, rw::Type::kOp);
    m.object = j.objects[object].remote;
    m.tag = slot | static_cast<uint32_t>(p.generation) << 8;
    m.op = static_cast<uint8_t>(o);
    m.arg = op.request.args[0];
    const uint32_t size =
        bytes.size() < rw::kMaxData ? static_cast<uint32_t>(bytes.size()) : rw::kMaxData;
    m.out_capacity = out ? size : 0;
    m.data = in ? reinterpret_cast<const uint8_t*>(bytes.data()) : nullptr;
    m.data_length = in ? size : 0;
    if (const int64_t r = j.socket.send(m); r < 0) {
        p.used = false;
        (void)j.port.server().complete(op.id, failure(Error::kPeerGone), 0);
        j.peer_gone = true;
        j.gone_why = "the connection failed while sending";
    }
}

// The caller's answer to a parked operation: checked against what was asked (a caller is not
// trusted more than any peer), then completed. Under j.lock.
void answer(Job& j, const rw::Message& m) {
    const uint32_t slot = m.tag & 0xff;
    if (slot >= kMaxParked || !j.parked[slot].used ||
        j.parked[slot].generation != static_cast<uint16_t>(m.tag >> 8))
        return;  // the answer to a close, or to nothing: ignored
    Parked& p = j.parked[slot];
    p.used = false;
    ipc::Server& server = j.port.server();
    const ipc::abi::Submission request = server.request(p.op);
    const uint32_t room = request.length;
    const Op o = static_cast<Op>(p.operation);
    if (m.status != 0) {
        const bool known = m.status <= static_cast<uint32_t>(Error::kLastError) &&
                           m.status != static_cast<uint32_t>(Error::kWouldBlock);
        (void)server.complete(p.op, failure(known ? static_cast<Error>(m.status) : Error::kIo), 0);
        return;
    }
    uint64_t value = m.value;
    const bool out = rw::op_flow(p.operation) == rw::Flow::kOut;
    bool fits = m.new_object == 0 || o == Op::kOpen;
    if (out)
        fits = fits && m.data_length <= room && m.value == m.data_length;
    else
        fits = fits && m.data_length == 0;
    if (o == Op::kWrite || o == Op::kSetMeta)
        fits = fits && m.value <= room;
    if (o == Op::kOpen)
        fits = fits && m.new_object != 0;
    if (!fits) {
        if (o == Op::kOpen && m.new_object != 0)
            send_close(j, m.new_object);
        (void)server.complete(p.op, failure(Error::kProtocol), 0);
        return;
    }
    if (out) {
        // The lent buffer of that operation: its bytes, up to the request's length.
        const ipc::Operation view{p.op, request};
        c::copy(server.bytes(view).data(), m.data, m.data_length);
    }
    if (o == Op::kOpen) {
        const uint32_t object = new_object(j, m.new_object, false);
        if (object == 0) {
            send_close(j, m.new_object);
            (void)server.complete(p.op, failure(Error::kFull), 0);
            return;
        }
        value = abi::served_open_value(object, kRights);
    }
    (void)server.complete(p.op, kOk, value);
}

// Everything the port has for us, then the completions handed back. Under j.lock.
void pump(Job& j) {
    ipc::Server& server = j.port.server();
    (void)server.poll();
    while (auto op = server.take())
        serve(j, *op);
    // Operations the program gave up (a timeout, its end): the caller hears of it once.
    for (uint32_t i = 0; i < kMaxParked; ++i) {
        Parked& p = j.parked[i];
        if (p.used && !p.cancel_sent && !j.peer_gone && server.cancel_requested(p.op)) {
            rw::Message m = message(j, rw::Type::kCancel);
            m.tag = i | static_cast<uint32_t>(p.generation) << 8;
            p.cancel_sent = j.socket.send(m) == 0;
        }
    }
    server.publish();
}

// The caller went away: every parked operation completes PeerGone, and so will every later one.
void peer_gone(Job& j, const char* why) {
    if (j.peer_gone)
        return;
    j.peer_gone = true;
    j.gone_why = why;
    for (Parked& p : j.parked) {
        if (p.used) {
            (void)j.port.server().complete(p.op, failure(Error::kPeerGone), 0);
            p.used = false;
        }
    }
    j.port.server().publish();
}

// The receiving thread: the caller's answers and heartbeats, until the program ended or the
// caller is gone (an error, the end of the stream, a bad frame, or silence for kPeerSilenceNs).
void receiver(uint64_t arg) {
    Job& j = *reinterpret_cast<Job*>(arg);
    for (;;) {
        rw::Message m{};
        const char* why = "";
        // Short waits, so that the end of the program is noticed within one of them.
        const uint64_t silence_end = j.socket.last_received() + rw::kPeerSilenceNs;
        const uint64_t now = sys::clock_ns();
        const uint64_t deadline = now + kTick < silence_end ? now + kTick : silence_end;
        const int64_t r = j.socket.receive(&m, deadline, &why);
        j.lock.lock();
        if (j.stop) {
            j.lock.unlock();
            return;
        }
        bool gone = false;
        if (r == err(Error::kTimedOut)) {
            if (sys::clock_ns() >= silence_end) {
                peer_gone(j, "no heartbeat from the caller");
                gone = true;
            }
        } else if (r < 0) {
            peer_gone(j, r == err(Error::kProtocol) ? why : error_text(r));
            gone = true;
        } else if (m.type == rw::Type::kDone && m.job == j.id) {
            answer(j, m);
            j.port.server().publish();
        } else if (m.type != rw::Type::kHeartbeat || m.job != j.id) {
            peer_gone(j, "a message a caller does not send");
            gone = true;
        }
        j.lock.unlock();
        // Hand the completions back; a non-waiting sync reports (and consumes) submissions the
        // serving thread may now sleep without, so serve them here.
        while (j.port.sync(false) > 0) {
            j.lock.lock();
            pump(j);
            j.lock.unlock();
        }
        if (gone)
            return;
    }
}

// Tells the caller its job will not run (a Started with the error): once the spawn came, every
// failure is answered so, not only a program that does not start, so that the caller names the
// cause instead of seeing its connection end. Returns `error`.
int64_t refuse(Job& j, int64_t error) {
    rw::Message started{};
    started.type = rw::Type::kStarted;
    started.job = j.id;
    started.started = error;
    (void)j.socket.send(started);  // a broken connection has nobody left to tell
    return error;
}

// The hello, the spawn and the image, then the program spawned: its process handle, or -Error
// (the caller was told when it could be). `served` is the job's port's creation: a failure
// there is the caller's answer once its spawn came.
int64_t start(Job& j, int64_t served) {
    const char* why = "";
    rw::Message m{};
    const uint64_t deadline = sys::clock_ns() + rw::kPeerSilenceNs;
    int64_t r = j.socket.receive(&m, deadline, &why);
    if (r < 0 || m.type != rw::Type::kHello || m.version != rw::kVersion) {
        print("agent: job %u: no hello: %s\n", j.number,
              r == err(Error::kProtocol) ? why
              : r < 0                    ? error_text(r)
                                         : "another message");
        return r < 0 ? r : err(Error::kProtocol);
    }
    rw::Message hello{};
    hello.type = rw::Type::kHello;
    hello.version = rw::kVersion;
    hello.max_data = rw::kMaxData;
    if (r = j.socket.send(hello); r < 0)
        return r;
    do {
        r = j.socket.receive(&m, sys::clock_ns() + rw::kPeerSilenceNs, &why);
    } while (r == 0 && m.type == rw::Type::kHeartbeat);
    if (r < 0 || m.type != rw::Type::kSpawn) {
        print("agent: job %u: no spawn: %s\n", j.number,
              r == err(Error::kProtocol) ? why
              : r < 0                    ? error_text(r)
                                         : "another message");
        return r < 0 ? r : err(Error::kProtocol);
    }
    // Copy what the spawn says out of the socket's buffer before the image's frames reuse it.
    j.id = m.job;
    if (served < 0) {
        print("agent: job %u: cannot serve: %s\n", j.number, error_text(served));
        return refuse(j, served);
    }
    j.entry_count = m.entry_count;
    for (uint32_t i = 0; i < m.entry_count; ++i) {
        c::copy(j.entry_names[i], m.entries[i].name, m.entries[i].name_length);
        j.entries[i] = rw::Entry{m.entries[i].object, j.entry_names[i], m.entries[i].name_length};
    }
    static_assert(rw::kMaxName <= abi::kMaxNameLength);
    char name[rw::kMaxName + 1];
    const uint32_t name_length = m.name_length;
    c::copy(name, m.name, name_length);
    name[name_length] = '\0';
    char* args = static_cast<char*>(allocate(rw::kMaxArgs));
    if (args == nullptr) {
        print("agent: job %u: no memory for the arguments\n", j.number);
        return refuse(j, err(Error::kNoMemory));
    }
    const uint32_t args_length = m.args_length;
    c::copy(args, m.args, args_length);
    const uint32_t image_length = m.image_length;
    Handle image = 0;
    r = sys::object_new(abi::Kind::kMemory, image_length, &image);
    for (uint32_t got = 0; r >= 0 && got < image_length;) {
        r = j.socket.receive(&m, sys::clock_ns() + rw::kPeerSilenceNs, &why);
        if (r < 0)
            break;
        if (m.type == rw::Type::kHeartbeat)
            continue;
        if (m.type != rw::Type::kImage || m.job != j.id || m.data_length > image_length - got) {
            why = "not the image's next bytes";
            r = err(Error::kProtocol);
            break;
        }
        r = sys::do_io(image, Op::kWrite, m.data, m.data_length);
        got += m.data_length;
    }
    if (r < 0) {
        print("agent: job %u: the image did not arrive: %s\n", j.number,
              r == err(Error::kProtocol) ? why : error_text(r));
        release(args);
        if (image != 0)
            (void)sys::do_io(image, Op::kClose);
        return refuse(j, r);
    }
    // The program's root is the port's first object: its opens of console, input, cwd and ns
    // come here (serve_root).
    const Handle given[] = {j.port.served()};
    const abi::SpawnArgs sa{reinterpret_cast<uint64_t>(given),
                            1,
                            reinterpret_cast<uint64_t>(args),
                            args_length,
                            reinterpret_cast<uint64_t>(name),
                            name_length,
                            0};
    const int64_t process = spawn_with(0, image, sa);
    release(args);
    (void)sys::do_io(image, Op::kClose);
    uint64_t pid = 0;
    if (process >= 0)
        (void)sys::do_io(static_cast<uint64_t>(process), Op::kGetMeta, &pid, 8,
                         static_cast<uint64_t>(abi::Meta::kId));
    if (process < 0) {
        print("agent: job %u: %s did not start: %s\n", j.number, name, error_text(process));
        return refuse(j, process);
    }
    rw::Message started{};
    started.type = rw::Type::kStarted;
    started.job = j.id;
    started.started = pid != 0 ? static_cast<int64_t>(pid) : 1;
    (void)j.socket.send(started);
    return process;
}

}  // namespace

void run_job(Handle connection, uint32_t number) {
    void* memory = allocate(sizeof(Job));
    if (memory == nullptr) {
        (void)sys::do_io(connection, Op::kClose);
        return;
    }
    Job* j = new (memory) Job(connection, number);
    const int64_t process = start(*j, j->port.create(kCapacity, kBuffers, kBufferSize));
    if (process >= 0) {
        const int64_t thread = spawn_thread(receiver, reinterpret_cast<uint64_t>(j));
        if (thread < 0) {
            print("agent: job %u: no receiving thread: %s\n", number, error_text(thread));
            j->peer_gone = true;
        }
        abi::ExitInfo info{};
        for (;;) {
            const int64_t r = j->port.sync(true, kTick);
            j->lock.lock();
            if (r >= 0 || r == err(Error::kTimedOut))
                pump(*j);
            if (!j->peer_gone && sys::clock_ns() - j->socket.last_sent() >= remote::kHeartbeatNs) {
                rw::Message beat = message(*j, rw::Type::kHeartbeat);
                if (j->socket.send(beat) < 0)
                    peer_gone(*j, "the connection failed while sending");
            }
            const int64_t e = sys::do_io(static_cast<uint64_t>(process), Op::kGetMeta, &info,
                                         sizeof info, static_cast<uint64_t>(abi::Meta::kExit));
            const bool ended = e < 0 || info.reason != 0;
            if (ended)
                j->stop = true;
            j->lock.unlock();
            if (ended)
                break;
        }
        (void)j->port.sync(false);
        if (!j->peer_gone) {
            rw::Message done = message(*j, rw::Type::kExit);
            done.exit_reason = info.reason;
            done.exit_vector = info.vector;
            done.exit_status = info.status;
            done.exit_address = info.address;
            done.exit_cr2 = info.cr2;
            (void)j->socket.send(done);
        } else {
            print("agent: job %u: the caller went away (%s); the program ran to its end\n", number,
                  j->gone_why);
        }
        if (thread >= 0)
            (void)join(static_cast<Handle>(thread));
        (void)sys::do_io(static_cast<uint64_t>(process), Op::kClose);
    }
    (void)j->port.destroy();
    j->~Job();
    release(memory);
}

}  // namespace keel::agent
