// A remote machine: another Keel instance whose agent (servers/agent) runs jobs for this job
// server, everything the job touches (its console, input, cwd and ns) proxied back here by
// user/remote's RemoteJob (docs/remote-run.md). To the job table it is a Machine like the local
// one: spawn() answers with a handle whose read waits for the job's end and gives its ExitInfo
// (the read end of a message pipe the job's runner thread writes that ExitInfo into).
//
// A machine that is lost mid-job (the agent silent for remote::kPeerSilenceNs, the connection
// reset, or no connection at all) is marked down and chosen no more; every job it held is run
// again on this machine, from the start, with the same image, arguments and names (a job of a
// build writes its outputs whole, so a second run replaces what the first left). An error of
// the job itself on the agent (its image refused there) is not a loss: the job ends with status
// 126, said on the console.
#pragma once

#include <atomic>

#include "machine.hpp"

namespace keel::jobs {

class RemoteMachine final : public Machine {
  public:
    // Jobs it gives the agent at once (one runner thread each, made on first use): the agent's
    // own default (`agent PORT`, 4 jobs), which closes a connection beyond it, a refusal this
    // side could not tell from a lost machine. A full machine is not chosen.
    static constexpr uint32_t kMaxRunning = 4;

    // `net`: the network server (srv/net) to connect through; `address` "A.B.C.D:PORT" (kept);
    // `fallback`: where a lost job runs again.
    RemoteMachine(Handle net, const char* address, Machine& fallback);
    const char* name() const override { return address_; }
    bool usable() const override { return !down_.load() && running() < kMaxRunning; }
    int64_t spawn(Handle image, const abi::SpawnArgs& args) override;

    // For the runner threads.
    struct Task;
    void run(Task& t);

  private:
    static void runner_main(uint64_t task);
    int64_t connect();
    void lost(Task& t, int64_t error, const char* why);
    void end(Task& t, const abi::ExitInfo& info);

    Handle net_;
    const char* address_;
    Machine& fallback_;
    std::atomic<bool> down_{false};
    user::Mutex lock_;  // the task slots (spawn on the server's thread, end on a runner)
    Task* tasks_[kMaxRunning] = {};
};

}  // namespace keel::jobs
