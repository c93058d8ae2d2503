// init: the first process. The kernel hands it a root holding "console", "devices" (the device
// list), "processes" (the process table) and every boot module by name. Its arguments choose
// what it does:
//   (none) or "system"  build the system's name space (system.cpp, image.cpp) and start the
//                       services of etc/init.conf (services.cpp), restarting them as configured;
//   "exec COMMANDS"     the same name space and services (supervised and restarted alike, on
//                       a thread of their own), but the shell runs COMMANDS ("-c") and init
//                       exits with their status, which stops the machine (scripts and tests);
//   "PROGRAM.elf ..."   the test mode (programs.cpp): run those modules in order and exit 0
//                       only if all exited 0.
#include <keel/c/mem.hpp>

#include <atomic>

#include "init.hpp"

using namespace keel::init;
namespace abi = keel::abi;

namespace {

bool starts_with(const StartInfo& start, const char* word) {
    const uint64_t n = keel::c::length(word);
    return start.args_length >= n && keel::c::compare(start.args, word, n) == 0 &&
           (start.args_length == n || start.args[n] == ' ');
}

}  // namespace

int keel_main(const StartInfo& start) {
    char shown[abi::kMaxArgsLength + 1];
    const uint64_t n =
        start.args_length < abi::kMaxArgsLength ? start.args_length : abi::kMaxArgsLength;
    keel::c::copy(shown, start.args, n);
    shown[n] = '\0';
    print("init: started with %lu handle(s), arguments \"%s\"\n", start.handle_count, shown);
    const bool exec = starts_with(start, "exec");
    if (!exec && !starts_with(start, "system") && start.args_length > 0)
        return run_programs(start.args, start.args_length);
    System system{};
    if (!build_system(&system))
        return 1;
    load_config(system);
    if (exec) {
        // The other services as configured, and the configured shell's gives with the
        // commands as its arguments.
        // Supervised as in the system mode, on a thread of their own (restarts included:
        // tests crash drivers while the shell's commands run); the shell starts once every
        // first start returned, so only that thread starts services from then on.
        static System supervised;
        static std::atomic<bool> started{false};
        supervised = system;
        if (spawn_thread([](uint64_t) { supervise(supervised, "shell", &started); }, 0) < 0) {
            print("init: no thread to supervise the services: started once, not watched\n");
            start_services_but(system, "shell");
            started.store(true);
        }
        while (!started.load())
            (void)keel::user::sys::sleep_ns(5'000'000);
        static char args[abi::kMaxArgsLength];
        const uint64_t rest = start.args_length > 5 ? start.args_length - 5 : 0;
        keel::c::copy(args, "-c ", 3);
        const uint64_t k = rest < sizeof args - 3 ? rest : sizeof args - 3;
        keel::c::copy(args + 3, start.args + 5, k);
        const Service* configured = find_service("shell");
        Service shell = configured != nullptr ? *configured : shell_service(nullptr, 0);
        shell.args = args;
        shell.args_length = 3 + k;
        const int64_t process = start_service(system, shell);
        if (process < 0)
            return 1;
        const int64_t status = wait_service(shell, process);
        sync_mounts(system);  // what the commands wrote reaches the disks
        print("init: exec finished with status %ld\n", status);
        return static_cast<int>(status);
    }
    run_services(system);
}
