// The kernel's ipc/ Platform: the library's invariant failures become kernel panics, its log
// lines kernel log lines. Waking is not provided yet (no threads to wake); ipc/ detects that.
#include <ipc/platform.hpp>

#include "log/log.hpp"
#include "panic.hpp"

namespace keel {

struct KernelIpcPlatform {
    static void panic(const char* why) { ::keel::panic("%s", why); }
    static void log(const char* what) { log::info("ipc: %s", what); }
};

}  // namespace keel

KEEL_IPC_PLATFORM(keel::KernelIpcPlatform)
