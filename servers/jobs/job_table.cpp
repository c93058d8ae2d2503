#include "job_table.hpp"

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

namespace keel::jobs {

namespace {

using user::err;
using user::Op;
using user::print;
namespace sys = user::sys;

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
constexpr uint16_t kCancelled = static_cast<uint16_t>(ipc::abi::Status::Cancelled);
// The job object's rights: Read to wait for it and read its meta, Share because a create's
// answer is given by sharing (and so that it can be passed on like a process handle).
constexpr uint32_t kJobRights = abi::kRightRead | abi::kRightShare;
// What the worker opens to get a job object for slot N: "job N". Only this process's own opens
// are granted (the kernel's caller id), so no client can reach another client's job this way.
constexpr char kJobPrefix[] = "job ";
constexpr uint64_t kJobPrefixLength = sizeof kJobPrefix - 1;

JobServer* g_server = nullptr;  // for the worker threads; the server lives until the process ends

void close(Handle h) {
    if (h != 0)
        (void)sys::do_io(h, Op::kClose);
}

uint16_t status_of(int64_t error) {
    return abi::queue_error_status(static_cast<abi::Error>(-error));
}

void open_once(uint64_t served) {
    (void)sys::do_io(served, Op::kOpen, "?", 1);
}

}  // namespace

JobServer::JobServer(user::ServePort& port, Machines& machines, Handle gather, Handle own_table)
    : port_(port), machines_(machines), gather_(gather), own_table_(own_table) {
    g_server = this;
}

int64_t JobServer::learn_own_id() {
    const int64_t t = user::spawn_thread(open_once, port_.served());
    if (t < 0)
        return t;
    int64_t r = err(abi::Error::kTimedOut);
    for (int i = 0; i < 500 && own_id_ == 0; ++i) {
        (void)port_.sync(true, 10'000'000);
        (void)port_.server().poll();
        while (auto op = port_.server().take()) {
            own_id_ = op->request.args[1];
            (void)port_.server().complete(op->id, abi::queue_error_status(abi::Error::kNotFound),
                                          0);
            r = 0;
        }
    }
    (void)port_.sync(false);
    (void)user::join(static_cast<Handle>(t));
    return own_id_ != 0 ? 0 : r;
}

void JobServer::serve() {
    for (;;) {
        const int64_t r = sys::serve_sync(port_.port(), 1, 0);
        if (r < 0 && r != err(abi::Error::kTimedOut))
            return;
        lock_.lock();
        pump();
        lock_.unlock();
        hand_back();
    }
}

void JobServer::hand_back() {
    while (sys::serve_sync(port_.port(), 0, 0) > 0) {
        lock_.lock();
        pump();
        lock_.unlock();
    }
}

void JobServer::pump() {
    (void)port_.server().poll();
    while (auto op = port_.server().take())
        handle(*op);
    cancel_abandoned();
    port_.server().publish();
}

void JobServer::complete(uint32_t op, uint16_t status, uint64_t value) {
    (void)port_.server().complete(op, status, value);
}

void JobServer::fail(uint32_t op, int64_t error) {
    complete(op, status_of(error), 0);
}

void JobServer::handle(const ipc::Operation& op) {
    Op o{};
    if (!abi::decode_queue_opcode(op.request.opcode, &o)) {
        fail(op.id, err(abi::Error::kNotSupported));
        return;
    }
    const std::span<std::byte> data = port_.server().bytes(op);
    const uint32_t object = op.request.object;
    if (object == 0) {
        on_table(op, o, data);
        return;
    }
    if (object > kMaxJobs || !jobs_[object - 1].object) {
        // Not one of ours (cannot happen: the kernel names only objects this server granted).
        if (o == Op::kClose)
            complete(op.id, kOk, 0);
        else
            fail(op.id, err(abi::Error::kBadHandle));
        return;
    }
    on_job(op, o, data, object - 1);
}

// The process table itself: create (a job), read/peek (the jobs), get_meta, the worker's open.
void JobServer::on_table(const ipc::Operation& op, Op o, std::span<std::byte> data) {
    const uint64_t arg = op.request.args[0];
    switch (o) {
        case Op::kCreate:
            create(op);
            return;
        case Op::kOpen:
            open(op, data);
            return;
        case Op::kRead:
        case Op::kPeek: {
            // One ProcessEntry per job, oldest first: all of them, or BufferTooSmall.
            uint32_t order[kMaxJobs];
            uint32_t n = 0;
            for (uint32_t i = 0; i < kMaxJobs; ++i) {
                if (jobs_[i].state == Job::kFree)
                    continue;
                uint32_t at = n++;
                for (; at > 0 && jobs_[order[at - 1]].id > jobs_[i].id; --at)
                    order[at] = order[at - 1];
                order[at] = i;
            }
            if (data.size() < n * sizeof(abi::ProcessEntry)) {
                fail(op.id, err(abi::Error::kBufferTooSmall));
                return;
            }
            for (uint32_t k = 0; k < n; ++k) {
                const Job& j = jobs_[order[k]];
                abi::ProcessEntry e{};
                e.id = j.id;
                e.parent = j.parent;
                const bool ended = j.state == Job::kEnded;
                const bool fault = ended && j.exit.reason == uint32_t(abi::ExitReason::kFault);
                e.state = uint32_t(!ended  ? abi::ProcessState::kRunning
                                   : fault ? abi::ProcessState::kFault
                                           : abi::ProcessState::kExited);
                e.threads = ended ? 0 : 1;  // as far as this server knows
                e.status = fault ? int64_t(j.exit.vector) : ended ? j.exit.status : 0;
                c::copy(e.name, j.name, j.name_length);
                c::copy(data.data() + k * sizeof e, &e, sizeof e);
            }
            complete(op.id, kOk, n * sizeof(abi::ProcessEntry));
            return;
        }
        case Op::kGetMeta: {
            const auto key = static_cast<abi::Meta>(arg);
            if (key == abi::Meta::kSize) {
                uint64_t n = 0;
                for (const Job& j : jobs_)
                    n += j.state != Job::kFree ? 1 : 0;
                if (data.size() < sizeof n) {
                    fail(op.id, err(abi::Error::kBufferTooSmall));
                    return;
                }
                c::copy(data.data(), &n, sizeof n);
                complete(op.id, kOk, sizeof n);
                return;
            }
            if (key == abi::Meta::kMemoryInfo && own_table_ != 0) {
                // The machine's account, as the kernel's table gives it (leak checks read it
                // through whatever table they were given).
                abi::MemoryInfo m{};
                const int64_t r =
                    sys::do_io(own_table_, Op::kGetMeta, &m, sizeof m, static_cast<uint64_t>(key));
                if (r < 0) {
                    fail(op.id, r);
                    return;
                }
                const uint64_t n = data.size() < sizeof m ? data.size() : sizeof m;
                c::copy(data.data(), &m, n);
                complete(op.id, kOk, n);
                return;
            }
            fail(op.id, err(abi::Error::kInvalidArgument));
            return;
        }
        case Op::kClose:  // never for object 0; answered all the same
            complete(op.id, kOk, 0);
            return;
        default:
            fail(op.id, err(abi::Error::kNotSupported));
            return;
    }
}

// A worker's open of "job N": the job object for slot N. Anyone else's open is refused.
void JobServer::open(const ipc::Operation& op, std::span<std::byte> data) {
    if (op.request.args[1] != own_id_) {
        fail(op.id, err(abi::Error::kNotSupported));
        return;
    }
    uint32_t slot = 0;
    bool digits = data.size() > kJobPrefixLength &&
                  c::compare(data.data(), kJobPrefix, kJobPrefixLength) == 0;
    for (uint64_t i = kJobPrefixLength; digits && i < data.size(); ++i) {
        const auto ch = static_cast<char>(data[i]);
        digits = ch >= '0' && ch <= '9' && slot < kMaxJobs;
        slot = slot * 10 + static_cast<uint32_t>(ch - '0');
    }
    if (!digits || slot >= kMaxJobs || jobs_[slot].state == Job::kFree || jobs_[slot].object) {
        fail(op.id, err(abi::Error::kNotFound));
        return;
    }
    jobs_[slot].object = true;
    complete(op.id, kOk, abi::served_open_value(slot + 1, kJobRights));
}

void JobServer::create(const ipc::Operation& op) {
    abi::ServedSpawn rec{};
    if (!user::read_spawn(port_, op, &rec)) {
        fail(op.id, err(abi::Error::kInvalidArgument));
        return;
    }
    uint32_t slot = kMaxJobs;
    for (uint32_t i = 0; i < kMaxJobs && slot == kMaxJobs; ++i) {
        if (jobs_[i].state == Job::kFree && !jobs_[i].busy)
            slot = i;
    }
    if (slot == kMaxJobs) {
        fail(op.id, err(abi::Error::kFull));
        return;
    }
    Job& j = jobs_[slot];
    if (!j.worker) {
        const int64_t t = user::spawn_thread(worker_main, slot);
        if (t < 0) {
            fail(op.id, t);
            return;
        }
        close(static_cast<Handle>(t));  // it runs as long as the server: never joined
        j.worker = true;
    }
    abi::SpawnArgs args = user::spawn_args_of(rec);
    Handle handles[abi::kMaxSpawnHandles];
    Handle made = 0;
    if (gather_ != 0) {
        // The file table: the lent root again, with the gather directory as "cwd".
        if (args.handle_count == 0) {
            fail(op.id, err(abi::Error::kInvalidArgument));
            return;
        }
        const int64_t r = gather_root(rec.handles[0], gather_);
        if (r < 0) {
            fail(op.id, r);
            return;
        }
        made = static_cast<Handle>(r);
        c::copy(handles, rec.handles, args.handle_count * sizeof(Handle));
        handles[0] = made;
        args.handles = reinterpret_cast<uint64_t>(handles);
    }
    Machine* m = machines_.choose();
    const int64_t process = m != nullptr ? m->spawn(rec.image, args) : err(abi::Error::kNotFound);
    close(made);  // the job holds its own handle to it
    if (process < 0) {
        fail(op.id, process);  // what the spawn gave: the caller sees the same error
        return;
    }
    m->started();
    j.state = Job::kStarting;
    j.object = false;
    j.busy = true;
    j.id = next_id_++;
    j.parent = op.request.args[1];
    j.create_op = op.id;
    j.process = static_cast<Handle>(process);
    j.machine = m;
    j.exit = {};
    j.name_length = static_cast<uint32_t>(args.name_length);
    c::fill(j.name, 0, sizeof j.name);
    c::copy(j.name, rec.name, j.name_length);
    ++started_;
    if (++running_ > most_running_)
        most_running_ = running_;
    j.go.store(1);
    (void)sys::futex_wake(&j.go, 1);
}

// A job object: read waits for the end (the ExitInfo a process handle gives); get_meta Id,
// Exit and Name as a process answers them; the close notice.
void JobServer::on_job(const ipc::Operation& op, Op o, std::span<std::byte> data, uint32_t slot) {
    Job& j = jobs_[slot];
    switch (o) {
        case Op::kRead:
            if (data.size() < sizeof(abi::ExitInfo)) {
                fail(op.id, err(abi::Error::kBufferTooSmall));
                return;
            }
            if (j.state == Job::kEnded) {
                c::copy(data.data(), &j.exit, sizeof j.exit);
                complete(op.id, kOk, sizeof j.exit);
                return;
            }
            if (waiter_count_ == kCapacity) {  // cannot happen: no more are in flight
                fail(op.id, err(abi::Error::kFull));
                return;
            }
            waiters_[waiter_count_++] = {op, slot};
            return;
        case Op::kGetMeta: {
            const auto key = static_cast<abi::Meta>(op.request.args[0]);
            abi::ExitInfo exit = j.state == Job::kEnded ? j.exit : abi::ExitInfo{};
            const void* value = nullptr;
            uint64_t size = 0;
            if (key == abi::Meta::kId) {
                value = &j.id;
                size = sizeof j.id;
            } else if (key == abi::Meta::kExit) {
                value = &exit;
                size = sizeof exit;
            } else if (key == abi::Meta::kName) {
                value = j.name;
                size = j.name_length;
            } else {
                fail(op.id, err(abi::Error::kInvalidArgument));
                return;
            }
            if (data.size() < size) {
                fail(op.id, err(abi::Error::kBufferTooSmall));
                return;
            }
            c::copy(data.data(), value, size);
            complete(op.id, kOk, size);
            return;
        }
        case Op::kClose:
            // Its last handle went: the job goes on; its record stays until it ends.
            for (uint32_t i = 0; i < waiter_count_;) {
                if (waiters_[i].slot == slot) {
                    complete(waiters_[i].op.id, kCancelled, 0);
                    waiters_[i] = waiters_[--waiter_count_];
                } else {
                    ++i;
                }
            }
            j.object = false;
            forget_if_done(slot);
            complete(op.id, kOk, 0);
            return;
        default:
            fail(op.id, err(abi::Error::kNotSupported));
            return;
    }
}

void JobServer::answer_waiters(uint32_t slot) {
    const Job& j = jobs_[slot];
    for (uint32_t i = 0; i < waiter_count_;) {
        const Waiter w = waiters_[i];
        if (w.slot != slot) {
            ++i;
            continue;
        }
        // Still taken (answered only here, at its cancel or at its object's close), so its
        // buffer is still lent to this server.
        const std::span<std::byte> data = port_.server().bytes(w.op);
        c::copy(data.data(), &j.exit, sizeof j.exit);
        complete(w.op.id, kOk, sizeof j.exit);
        waiters_[i] = waiters_[--waiter_count_];
    }
}

void JobServer::forget_if_done(uint32_t slot) {
    Job& j = jobs_[slot];
    if (j.state == Job::kEnded && !j.object && !j.busy) {
        j.state = Job::kFree;
        j.id = 0;
    }
}

// Reads whose callers gave up (timeout, death, a cancelled queue entry) end Cancelled.
void JobServer::cancel_abandoned() {
    for (uint32_t i = 0; i < waiter_count_;) {
        if (port_.server().cancel_requested(waiters_[i].op.id)) {
            complete(waiters_[i].op.id, kCancelled, 0);
            waiters_[i] = waiters_[--waiter_count_];
        } else {
            ++i;
        }
    }
}

void JobServer::worker_main(uint64_t slot) {
    g_server->work(static_cast<uint32_t>(slot));
}

void JobServer::work(uint32_t slot) {
    Job& j = jobs_[slot];
    char name[16];
    const uint64_t name_length = snformat(name, sizeof name, "%s%u", kJobPrefix, slot);
    for (;;) {
        while (j.go.load() == 0)
            (void)sys::futex_wait(&j.go, 0, 0);
        j.go.store(0);
        // The job object: opened on our own served object, granted by whoever pumps.
        const int64_t object = sys::do_io(port_.served(), Op::kOpen, name, name_length);
        lock_.lock();
        const Handle process = j.process;
        if (object >= 0) {
            complete(j.create_op, kOk, static_cast<uint64_t>(object));
            j.state = Job::kRunning;
        } else {
            fail(j.create_op, object);  // the job runs on; nobody can wait for it
            j.state = Job::kRunning;
        }
        port_.server().publish();
        lock_.unlock();
        hand_back();  // the kernel holds the object now
        close(static_cast<Handle>(object >= 0 ? object : 0));
        abi::ExitInfo info{};
        const int64_t r = sys::do_io(process, Op::kRead, &info, sizeof info);
        if (r != static_cast<int64_t>(sizeof info)) {
            // The machine lost it (stage 3: a remote machine that went away): a fault-less end
            // with the error as its status, so a waiter is never left hanging.
            info = {};
            info.reason = static_cast<uint32_t>(abi::ExitReason::kExited);
            info.status = r < 0 ? r : err(abi::Error::kProtocol);
        }
        lock_.lock();
        j.exit = info;
        j.state = Job::kEnded;
        j.machine->ended();
        --running_;
        answer_waiters(slot);
        j.busy = false;
        if (running_ == 0) {
            // A line when a batch of jobs has run (one job after another says nothing new).
            if (started_ - started_at_idle_ > 1)
                print("jobs: idle: %lu jobs started, at most %u running at once\n", started_,
                      most_running_);
            started_at_idle_ = started_;
        }
        forget_if_done(slot);
        port_.server().publish();
        lock_.unlock();
        hand_back();
        close(process);
    }
}

}  // namespace keel::jobs
