// agent PORT [--jobs=N]: runs programs for callers on other machines (docs/remote-run.md). It
// listens on TCP PORT through the network server ("net" in its root: srv/net) and takes each
// connection as one job (job.hpp): the caller's program is spawned here with a root the agent
// serves, whose every operation goes back to the caller over that connection. At most N jobs
// (default 4, at most 16) at once, each on a thread of its own; a connection beyond them is
// closed at once, and the caller sees its connection end before a Started.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

#include "job.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint32_t kDefaultJobs = 4, kMostJobs = 16;

Mutex g_lock;
uint32_t g_running = 0;

struct Start {
    Handle connection;  // 0 once the job ended
    uint32_t number;
    Handle thread;  // joined (its stack unmapped) before the slot is used again
};
Start g_start[kMostJobs];

void job_thread(uint64_t slot) {
    agent::run_job(g_start[slot].connection, g_start[slot].number);
    g_lock.lock();
    g_start[slot].connection = 0;
    --g_running;
    g_lock.unlock();
}

}  // namespace

int keel_main(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + 4];
    const char* words[3];
    const int count = split_args(start.args, start.args_length, storage, sizeof storage, words, 3);
    uint64_t port = 0;
    uint64_t jobs = kDefaultJobs;
    bool usage = count < 1 || count > 2;
    for (int i = 0; i < count && !usage; ++i) {
        if (c::compare(words[i], "--jobs=", 7) == 0) {
            jobs = parse_u64(words[i] + 7);
            usage = jobs == 0 || jobs > kMostJobs;
        } else if (port == 0) {
            port = parse_u64(words[i]);
            usage = port == 0 || port > 65535;
        } else {
            usage = true;
        }
    }
    if (usage || port == 0) {
        print("agent: usage: agent PORT [--jobs=N] (N 1..16, default 4)\n");
        return 2;
    }
    const int64_t net = open(root(), "net");
    if (net < 0) {
        print("agent: needs net (srv/net) in its root: %s\n", error_text(net));
        return 2;
    }
    char name[32];
    const uint64_t n = snformat(name, sizeof name, "tcp/listen/%lu", port);
    const int64_t listener = open_path(static_cast<Handle>(net), name, n);
    if (listener < 0) {
        print("agent: %s: %s\n", name, error_text(listener));
        return 1;
    }
    print("agent: listening on port %lu, %lu jobs at once\n", port, jobs);
    for (uint32_t number = 1;; ++number) {
        const int64_t connection = open(static_cast<Handle>(listener), "accept");
        if (connection < 0) {
            print("agent: accept: %s\n", error_text(connection));
            return 1;
        }
        g_lock.lock();
        uint32_t slot = kMostJobs;
        for (uint32_t i = 0; i < kMostJobs; ++i) {
            if (g_start[i].connection == 0 && g_start[i].thread != 0) {
                (void)join(g_start[i].thread);  // ended: returns at once
                g_start[i].thread = 0;
            }
            if (slot == kMostJobs && g_running < jobs && g_start[i].connection == 0)
                slot = i;
        }
        if (slot < kMostJobs) {
            g_start[slot] = Start{static_cast<Handle>(connection), number, 0};
            ++g_running;
        }
        g_lock.unlock();
        if (slot == kMostJobs) {
            print("agent: job %u refused: %lu jobs running\n", number, jobs);
            (void)sys::do_io(static_cast<uint64_t>(connection), Op::kClose);
            continue;
        }
        if (const int64_t t = spawn_thread(job_thread, slot); t < 0) {
            print("agent: job %u: no thread: %s\n", number, error_text(t));
            (void)sys::do_io(static_cast<uint64_t>(connection), Op::kClose);
            g_lock.lock();
            g_start[slot].connection = 0;
            --g_running;
            g_lock.unlock();
        } else {
            g_lock.lock();
            g_start[slot].thread = static_cast<Handle>(t);
            g_lock.unlock();
        }
    }
}
