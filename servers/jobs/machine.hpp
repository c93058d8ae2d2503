// Where a job runs. The job server picks a Machine for each create (Machines::choose) and asks
// it to start the job; everything else (the job's record, its object, the process table it
// serves, the file table) is the same whichever machine runs it. Stage 2 has one kind, the
// local machine (spawn through the job server's own process table); stage 3 adds remote ones
// (an agent on another Keel instance) as another subclass, without changing the rest.
#pragma once

#include <stdint.h>

#include "runtime.hpp"

namespace keel::jobs {

using user::Handle;

class Machine {
  public:
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    // Its name in the job server's messages ("local").
    virtual const char* name() const;
    // Starts a job: `image` and the handles `args` names are this server's (lent by the
    // caller, or made for the job), valid for the call only. The answer is a handle whose read
    // waits for the job's end and gives its abi::ExitInfo (the process's handle on the local
    // machine), or -Error: what a spawn on that machine gives (kBadImage, kNoMemory, kFull...).
    virtual int64_t spawn(Handle image, const abi::SpawnArgs& args);
    // Whether a job may be given to it now (a remote machine that was lost, or has as many
    // jobs as its agent takes, may not).
    virtual bool usable() const { return true; }

    // Jobs started here that have not ended yet (the job server counts them).
    uint32_t running() const { return running_; }
    void started() { ++running_; }
    void ended() { --running_; }

  protected:
    Machine() = default;
    ~Machine() = default;  // never deleted through a Machine*: they live as long as the server

  private:
    uint32_t running_ = 0;
};

// This instance: spawns through `table` (the job server's own "processes"; 0: the system call).
class LocalMachine final : public Machine {
  public:
    explicit LocalMachine(Handle table) : table_(table) {}
    const char* name() const override { return "local"; }
    int64_t spawn(Handle image, const abi::SpawnArgs& args) override;

  private:
    Handle table_;
};

// The machines a job server may use, and its choice: the usable one with the fewest running
// jobs, ties broken round-robin (so equal machines take turns).
class Machines {
  public:
    static constexpr uint32_t kMax = 8;
    // false when there is no room.
    bool add(Machine& m);
    // nullptr when there is none usable.
    Machine* choose();
    uint32_t count() const { return count_; }

  private:
    Machine* list_[kMax] = {};
    uint32_t count_ = 0;
    uint32_t next_ = 0;  // where the round-robin tie-break starts
};

}  // namespace keel::jobs
