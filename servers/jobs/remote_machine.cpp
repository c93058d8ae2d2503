#include "remote_machine.hpp"

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

#include <new>

#include "names.hpp"
#include "remote_job.hpp"

namespace keel::jobs {

using user::Op;
using user::print;
namespace sys = user::sys;
using user::err;

namespace {

void close(Handle h) {
    if (h != 0)
        (void)sys::do_io(h, Op::kClose);
}

// The names of a job's root the agent's program gets, proxied: what a program of /bin uses.
// "processes" and "self" are not among them: a process table cannot be carried over the
// network (a create names handles), and a program image on the agent is the agent's own.
constexpr const char* kProxied[] = {"console", "input", "cwd", "ns"};
constexpr uint32_t kProxiedCount = sizeof kProxied / sizeof kProxied[0];

// How long a connection to the agent may take: an agent on the same link answers at once, so
// this is only the bound on noticing a machine that is gone before its job starts.
constexpr uint64_t kConnectTimeoutNs = 3'000'000'000;

}  // namespace

// One job on its way: what the runner needs after the create was answered (the lent handles are
// gone by then, so it holds its own: the image shared to itself, the root's names copied into a
// root of its own).
struct RemoteMachine::Task {
    RemoteMachine* machine = nullptr;
    std::atomic<uint32_t> go{0};  // 1: a new job (a futex word)
    bool busy = false;            // from spawn() until the runner has written the end
    bool thread = false;
    Handle image = 0;
    Handle root = 0;  // the job's names (every name of the root it was given)
    Handle end = 0;   // the message pipe's write end: the ExitInfo goes there
    uint32_t name_length = 0;
    uint32_t args_length = 0;
    char name[abi::kMaxNameLength + 1];  // NUL-terminated for the messages
    char args[abi::kMaxArgsLength];
    alignas(8) unsigned char job[sizeof(user::RemoteJob)];
};

RemoteMachine::RemoteMachine(Handle net, const char* address, Machine& fallback)
    : net_(net), address_(address), fallback_(fallback) {}

int64_t RemoteMachine::spawn(Handle image, const abi::SpawnArgs& args) {
    if (down_.load())
        return err(abi::Error::kPeerGone);
    if (args.handle_count == 0 || args.args_length > abi::kMaxArgsLength ||
        args.name_length > abi::kMaxNameLength)
        return err(abi::Error::kInvalidArgument);
    lock_.lock();
    Task* t = nullptr;
    uint32_t slot = 0;
    for (; slot < kMaxRunning; ++slot) {
        if (tasks_[slot] == nullptr || !tasks_[slot]->busy)
            break;
    }
    if (slot == kMaxRunning) {
        lock_.unlock();
        return err(abi::Error::kFull);
    }
    if (tasks_[slot] == nullptr) {
        void* memory = user::allocate(sizeof(Task));
        if (memory == nullptr) {
            lock_.unlock();
            return err(abi::Error::kNoMemory);
        }
        tasks_[slot] = new (memory) Task;
        tasks_[slot]->machine = this;
    }
    t = tasks_[slot];
    t->busy = true;
    lock_.unlock();

    // Its own handles: the image (read to send it, spawned from on a rerun), its names.
    const auto* lent = reinterpret_cast<const Handle*>(args.handles);
    Handle ends[2] = {0, 0};
    int64_t r = sys::do_io(
        image, Op::kShare, nullptr, 0,
        static_cast<uint64_t>(abi::kRightRead | abi::kRightMap | abi::kRightSpawn) << 32);
    t->image = r >= 0 ? static_cast<Handle>(r) : 0;
    if (r >= 0)
        r = sys::object_new(abi::Kind::kRoot, 0, &t->root);
    if (r >= 0)
        r = user::copy_names(lent[0], t->root, nullptr, 0);
    if (r >= 0)
        r = sys::object_new(abi::Kind::kMessagePipe, 0, ends);
    if (r >= 0 && !t->thread) {
        const int64_t th = user::spawn_thread(runner_main, reinterpret_cast<uint64_t>(t));
        r = th < 0 ? th : 0;
        if (th >= 0) {
            close(static_cast<Handle>(th));  // it runs as long as the server: never joined
            t->thread = true;
        }
    }
    if (r < 0) {
        close(t->image);
        close(t->root);
        close(ends[0]);
        close(ends[1]);
        t->image = t->root = 0;
        lock_.lock();
        t->busy = false;
        lock_.unlock();
        return r;
    }
    t->end = ends[1];
    t->name_length = static_cast<uint32_t>(args.name_length);
    c::copy(t->name, reinterpret_cast<const char*>(args.name), args.name_length);
    t->name[args.name_length] = '\0';
    t->args_length = static_cast<uint32_t>(args.args_length);
    c::copy(t->args, reinterpret_cast<const char*>(args.args), args.args_length);
    t->go.store(1);
    (void)sys::futex_wake(&t->go, 1);
    return ends[0];
}

void RemoteMachine::runner_main(uint64_t task) {
    Task& t = *reinterpret_cast<Task*>(task);
    for (;;) {
        while (t.go.load() == 0)
            (void)sys::futex_wait(&t.go, 0, 0);
        t.go.store(0);
        t.machine->run(t);
    }
}

int64_t RemoteMachine::connect() {
    // "A.B.C.D:PORT" is the network server's name "tcp/connect/A.B.C.D/PORT": the last open
    // makes the connection, under a bound (a dead machine answers no SYN, and TCP would try
    // for a minute before giving up).
    char path[64] = "tcp/connect/";
    uint64_t n = c::length(path);
    const char* colon = address_;
    for (; *colon != '\0' && *colon != ':' && n + 1 < sizeof path; ++colon)
        path[n++] = *colon;
    path[n] = '\0';
    if (*colon != ':')
        return err(abi::Error::kInvalidArgument);
    const int64_t dir = user::open_path(net_, path, n);
    if (dir < 0)
        return dir;
    const char* port = colon + 1;
    const int64_t connection = sys::do_io_timeout(static_cast<Handle>(dir), Op::kOpen, port,
                                                  c::length(port), 0, kConnectTimeoutNs);
    close(static_cast<Handle>(dir));
    return connection;
}

void RemoteMachine::run(Task& t) {
    if (down_.load()) {  // lost since this job was given to it
        lost(t, err(abi::Error::kPeerGone), "lost before the job started");
        return;
    }
    user::RemoteEntry entries[kProxiedCount];
    uint32_t count = 0;
    for (const char* name : kProxied) {
        const int64_t h = user::open(t.root, name);
        if (h > 0)
            entries[count++] = user::RemoteEntry{name, static_cast<Handle>(h)};
    }
    const int64_t connection = connect();
    int64_t r = connection;
    abi::ExitInfo info{};
    const char* why = "cannot connect to the agent";
    if (connection >= 0) {
        print("jobs: %s on %s\n", t.name, address_);
        auto* job = new (t.job) user::RemoteJob;
        const user::RemoteSpawn spawn{t.image,       t.name,  t.name_length, t.args,
                                      t.args_length, entries, count};
        r = job->run(static_cast<Handle>(connection), spawn, &info);
        why = job->why();
        job->~RemoteJob();
    }
    for (uint32_t i = 0; i < count; ++i)
        close(entries[i].handle);
    const bool gone = r == err(abi::Error::kTimedOut) || r == err(abi::Error::kPeerGone) ||
                      r == err(abi::Error::kReset) || r == err(abi::Error::kRefused) ||
                      connection < 0;
    if (r < 0 && gone) {
        lost(t, r, why);
        return;
    }
    if (r < 0) {
        print("jobs: %s on %s: %s (%s); status 126\n", t.name, address_, why, user::error_text(r));
        info = {};
        info.reason = static_cast<uint32_t>(abi::ExitReason::kExited);
        info.status = 126;
    }
    end(t, info);
}

void RemoteMachine::lost(Task& t, int64_t error, const char* why) {
    if (!down_.exchange(true))
        print("jobs: machine %s lost: %s (%s); not used again\n", address_, why,
              user::error_text(error));
    print("jobs: %s: running it again on %s\n", t.name, fallback_.name());
    // The same spawn on the fallback machine, with the names the job was given.
    const Handle given[] = {t.root};
    const abi::SpawnArgs args{reinterpret_cast<uint64_t>(given),
                              1,
                              reinterpret_cast<uint64_t>(t.args),
                              t.args_length,
                              reinterpret_cast<uint64_t>(t.name),
                              t.name_length,
                              0};
    const int64_t process = fallback_.spawn(t.image, args);
    abi::ExitInfo info{};
    int64_t r = process;
    if (process >= 0) {
        r = sys::do_io(static_cast<Handle>(process), Op::kRead, &info, sizeof info);
        close(static_cast<Handle>(process));
    }
    if (r != static_cast<int64_t>(sizeof info)) {
        print("jobs: %s: cannot run it again: %s\n", t.name,
              user::error_text(r < 0 ? r : err(abi::Error::kProtocol)));
        info = {};
        info.reason = static_cast<uint32_t>(abi::ExitReason::kExited);
        info.status = 126;
    }
    end(t, info);
}

void RemoteMachine::end(Task& t, const abi::ExitInfo& info) {
    // One message: the job table's read of the other end gets exactly this ExitInfo.
    (void)sys::do_io(t.end, Op::kWrite, &info, sizeof info);
    close(t.end);
    close(t.image);
    close(t.root);
    t.end = t.image = t.root = 0;
    lock_.lock();
    t.busy = false;
    lock_.unlock();
}

}  // namespace keel::jobs
