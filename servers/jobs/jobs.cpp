// jobs: a job server (README.md). Serves a process table object, published as srv/NAME
// ("jobs" unless named): a create on it starts a job on a machine it picks (stage 2: this one)
// and answers with a job object, which a read waits on as on a process; reading the table lists
// its jobs. With --gather DIR every job's "cwd" is DIR (a directory of this server's name
// space): the file table that gathers every job's output in one place.
#include <new>

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "job_table.hpp"
#include "remote_machine.hpp"

using namespace keel;
using namespace keel::user;

namespace {

// Remote machines one job server may use (Machines::kMax less the local one).
constexpr uint32_t kMaxRemote = jobs::Machines::kMax - 1;

int usage() {
    print("jobs: usage: jobs [--gather DIR] [--remote A.B.C.D:PORT]... [NAME]\n");
    return 2;
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 32];
    constexpr int kMaxWords = 3 + 2 * kMaxRemote;
    const char* words[kMaxWords + 1];
    const int count =
        split_args(start.args, start.args_length, storage, sizeof storage, words, kMaxWords + 1);
    const char* gather_path = nullptr;
    const char* remotes[kMaxRemote];
    uint32_t remote_count = 0;
    const char* name = "jobs";
    int i = 0;
    if (count < 0 || count > kMaxWords)
        return usage();
    for (; i + 1 < count && words[i][0] == '-'; i += 2) {
        if (c::compare(words[i], "--gather", 9) == 0 && gather_path == nullptr)
            gather_path = words[i + 1];
        else if (c::compare(words[i], "--remote", 9) == 0 && remote_count < kMaxRemote)
            remotes[remote_count++] = words[i + 1];
        else
            return usage();
    }
    if (i < count)
        name = words[i++];
    if (i != count || name[0] == '-' || c::length(name) > abi::kMaxNameLength)
        return usage();

    Handle gather = 0;
    if (gather_path != nullptr) {
        const int64_t g = open_path(root(), gather_path, c::length(gather_path));
        if (g < 0 || node_type(static_cast<Handle>(g)) != uint32_t(abi::NodeType::kDirectory)) {
            print("jobs: --gather %s: %s\n", gather_path,
                  g < 0 ? error_text(g) : "not a directory");
            return 1;
        }
        gather = static_cast<Handle>(g);
    }
    // Its own table, where local jobs are spawned; without one, the system call.
    const int64_t opened = open(root(), "processes");
    const Handle table = opened > 0 ? static_cast<Handle>(opened) : 0;
    // Remote machines are reached through "net" (the network server).
    Handle net = 0;
    if (remote_count > 0) {
        const int64_t n = open(root(), "net");
        if (n < 0) {
            print("jobs: --remote needs the network as \"net\": %s\n", error_text(n));
            return 1;
        }
        net = static_cast<Handle>(n);
    }
    // Made once and never destroyed (the process ends with the service).
    struct State {
        jobs::LocalMachine local;
        jobs::Machines machines;
        ServePort port;
    };
    void* memory = allocate(sizeof(State));
    if (memory == nullptr) {
        print("jobs: out of memory\n");
        return 1;
    }
    State* state = new (memory) State{jobs::LocalMachine{table}, {}, {}};
    (void)state->machines.add(state->local);
    for (uint32_t k = 0; k < remote_count; ++k) {
        void* m = allocate(sizeof(jobs::RemoteMachine));
        if (m == nullptr) {
            print("jobs: out of memory\n");
            return 1;
        }
        (void)state->machines.add(*new (m) jobs::RemoteMachine{net, remotes[k], state->local});
    }
    ServePort& port = state->port;
    if (const int64_t r = port.create(jobs::kCapacity, jobs::kBuffers, jobs::kBufferSize); r < 0) {
        print("jobs: cannot serve: %s\n", error_text(r));
        return 1;
    }
    void* at = allocate(sizeof(jobs::JobServer));
    if (at == nullptr) {
        print("jobs: out of memory\n");
        return 1;
    }
    jobs::JobServer& server = *new (at) jobs::JobServer{port, state->machines, gather, table};
    if (const int64_t r = server.learn_own_id(); r < 0) {
        print("jobs: cannot learn its own id: %s\n", error_text(r));
        return 1;
    }
    const int64_t srv = open(root(), "srv");
    const int64_t bound = srv < 0 ? srv
                                  : sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, name,
                                               c::length(name), port.served());
    if (bound < 0) {
        print("jobs: cannot publish srv/%s: %s\n", name, error_text(bound));
        return 1;
    }
    (void)sys::do_io(static_cast<uint64_t>(srv), Op::kClose);
    char machines[256];
    uint64_t n = snformat(machines, sizeof machines, "%s", state->local.name());
    for (uint32_t k = 0; k < remote_count && n < sizeof machines; ++k)
        n += snformat(machines + n, sizeof machines - n, ", %s", remotes[k]);
    print("jobs: serving srv/%s: %u machine(s) (%s), at most %u jobs%s%s\n", name,
          state->machines.count(), machines, jobs::kMaxJobs, gather != 0 ? ", gathering in " : "",
          gather != 0 ? gather_path : "");
    server.serve();
    print("jobs: the port failed; ending\n");
    return 1;
}
