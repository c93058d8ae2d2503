// RemoteJob: runs a program on another Keel machine's agent (servers/agent) with objects of
// this process as its root's entries, serving every operation the program makes on them (and
// on what it opens through them) with do_io here (docs/remote-run.md). No global state: one
// RemoteJob per job, run() on the thread that owns it (a server runs each on a thread of its
// own); run() starts one more thread, for heartbeats, and joins it before returning.
#pragma once

#include <keel/remote/wire.hpp>

#include "frame_socket.hpp"

namespace keel::user {

struct RemoteEntry {
    const char* name;  // a root name for the program (console, input, cwd, ns, ...)
    Handle handle;     // this process's object it stands for (lent for the run, not closed)
};

struct RemoteSpawn {
    Handle image;  // a memory object holding the program (read from its start)
    const char* name;
    uint32_t name_length;
    const char* args;  // the program's argument string (lib/cmdline's quote_args)
    uint32_t args_length;
    const RemoteEntry* entries;
    uint32_t entry_count;
};

class RemoteJob {
  public:
    // Objects the program may hold open through us at once (its entries included); an open
    // beyond them fails Full there.
    static constexpr uint32_t kMaxObjects = 64;

    RemoteJob() = default;
    RemoteJob(const RemoteJob&) = delete;
    RemoteJob& operator=(const RemoteJob&) = delete;
    ~RemoteJob();

    // Runs the job on `connection` (a TCP connection to an agent; taken over and closed):
    // hello, spawn, the image, then the program's operations until its exit. 0 and *exit, or
    // -Error with why() saying what happened: kTimedOut (the agent was silent for
    // remote::kPeerSilenceNs: a dead machine), kPeerGone or kReset (the connection ended
    // before the exit), kProtocol (the agent sent what it may not), the agent's spawn error
    // (its Started), or an error of this side (the image, memory). Never waits longer than
    // kPeerSilenceNs without a frame from the agent, except inside one operation it asked for
    // that blocks here (a read of an input nobody types into): the agent is still told, by
    // heartbeats, that this side lives.
    int64_t run(Handle connection, const RemoteSpawn& spawn, abi::ExitInfo* exit);
    const char* why() const { return why_; }
    uint64_t operations() const { return operations_; }  // served for the program so far
    // The clock when the agent was last heard from (bytes arrived), for a caller's report.
    uint64_t last_heard() const { return socket_ == nullptr ? 0 : socket_->last_received(); }

  private:
    struct Object {
        uint32_t id;  // 0: a free slot
        Handle handle;
        bool owned;  // opened for the program: closed when it closes it or at the end
    };
    int64_t fail(int64_t error, const char* why);
    int64_t send_image(Handle image, uint32_t length);
    int64_t perform(const remote::Message& m);
    Object* find(uint32_t id);
    static void heartbeat(uint64_t self);

    FrameSocket* socket_ = nullptr;
    uint8_t* buffer_ = nullptr;  // one operation's bytes (remote::kMaxData)
    Object objects_[kMaxObjects] = {};
    uint32_t next_id_ = 1;
    uint32_t job_ = 1;
    volatile bool running_ = false;
    const char* why_ = "";
    uint64_t operations_ = 0;
};

}  // namespace keel::user
