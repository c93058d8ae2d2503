// jobs: a job server (README.md). Serves a process table object, published as srv/NAME
// ("jobs" unless named): a create on it starts a job on a machine it picks (stage 2: this one)
// and answers with a job object, which a read waits on as on a process; reading the table lists
// its jobs. With --gather DIR every job's "cwd" is DIR (a directory of this server's name
// space): the file table that gathers every job's output in one place.
#include <new>

#include <keel/c/mem.hpp>

#include "job_table.hpp"

using namespace keel;
using namespace keel::user;

namespace {

int usage() {
    print("jobs: usage: jobs [--gather DIR] [NAME]\n");
    return 2;
}

}  // namespace

int keel_main(const StartInfo& start) {
    char storage[abi::kMaxArgsLength + 16];
    const char* words[4];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 4);
    const char* gather_path = nullptr;
    const char* name = "jobs";
    int i = 0;
    if (count < 0 || count > 3)
        return usage();
    if (i < count && c::compare(words[i], "--gather", 9) == 0) {
        if (i + 1 >= count)
            return usage();
        gather_path = words[i + 1];
        i += 2;
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
    print("jobs: serving srv/%s: %u machine (%s), at most %u jobs%s%s\n", name,
          state->machines.count(), state->local.name(), jobs::kMaxJobs,
          gather != 0 ? ", gathering in " : "", gather != 0 ? gather_path : "");
    server.serve();
    print("jobs: the port failed; ending\n");
    return 1;
}
