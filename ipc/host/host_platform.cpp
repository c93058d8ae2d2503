#include "host_platform.hpp"

#include <cstdio>
#include <cstdlib>

#include <ipc/platform.hpp>

namespace keel::ipc {

void HostPlatform::panic(const char* message) {
    std::fprintf(stderr, "%s\n", message);
    std::abort();
}

void HostPlatform::log(const char* message) {
    std::fprintf(stderr, "%s\n", message);
}

}  // namespace keel::ipc

KEEL_IPC_PLATFORM(keel::ipc::HostPlatform)
