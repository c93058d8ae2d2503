// HostPlatform: the ipc::Platform for hosted test harnesses, fuzzers and Linux programs.
// panic prints and aborts, so sanitizers and fuzzers see a crash. Link keel_ipc_host_platform
// (it defines the hook) or write your own with KEEL_IPC_PLATFORM.
#pragma once

namespace keel::ipc {

struct HostPlatform {
    static void panic(const char* message);
    static void log(const char* message);
};

}  // namespace keel::ipc
