// The process table (issue 16): spawning and listing as operations of an object, so that
// whoever holds it can start programs and see them, and whoever does not cannot. The kernel
// makes one, holding every process, and gives it to init as "processes"; init and the shell
// spawn through it. The interface (read = ProcessEntry records, create = TableSpawn) is made of
// ordinary operations, so a server can offer a table of its own (a job server's): a create on
// a served object lends the TableSpawn's handles to its server (obj/served_spawn.hpp).
#pragma once

#include "obj/object.hpp"

namespace keel::proc {

class ProcessTable final : public obj::Object {
  public:
    static Result<obj::RefPtr<ProcessTable>> create();  // kNoMemory

    // Every process as an abi::ProcessEntry, oldest first; kBufferTooSmall (nothing written)
    // when they do not all fit.
    Result<uint64_t> read(obj::Request& req) override;
    Result<uint64_t> peek(obj::Request& req) override { return read(req); }
    // kSize: how many processes; kMemoryInfo: the machine's memory and kernel objects;
    // kKernelTime: the longest stretch of kernel work without a switch since the last such
    // read (sched/preempt.hpp).
    Result<uint64_t> get_meta(obj::Request& req) override;
    // buffer = abi::TableSpawn: spawns (proc::spawn_for); the new process's handle.
    Result<uint64_t> create(obj::Request& req) override;

  private:
    ProcessTable() : obj::Object(abi::Kind::kProcessTable) {}
    ~ProcessTable() override = default;
};

}  // namespace keel::proc
