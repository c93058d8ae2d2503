// init: the first process (see init.cpp for what it is given and its modes).
#pragma once

#include <atomic>

#include "runtime.hpp"

namespace keel::init {

using namespace keel::user;

// programs.cpp: the test mode. Runs each named boot module in order ("PROGRAM.elf" or
// "PROGRAM.elf+NAME+NAME": each NAME of init's root is given too); 0 when all exited 0.
int run_programs(const char* args, uint64_t length);

// image.cpp: the initial file system image.
inline constexpr const char* kImageName = "initfs.tar";
// Adds the image's directories and files under `top` (read-only; executable files spawnable);
// false when there is no image or it is refused (said on the console).
bool load_image(Handle top);

// system.cpp: the system's name space and the services started in it.
struct System {
    Handle ns;     // init's whole name space: bin/ etc/ tmp/ dev/ processes
    Handle table;  // the process table ("processes")
};
// Builds the name space from init's root (boot modules, the console, the device list and the
// process table); false (and says why) when it cannot.
bool build_system(System* s);

inline constexpr int kMaxGives = 16;
struct Give {
    const char* path;  // in init's name space (a device give: its text, for messages)
    uint64_t path_length;
    const char* as;  // the name in the program's root
    uint64_t as_length;
    bool device;  // a PCI device by identity from dev/devices instead of a path
    uint16_t vendor, device_id;
    uint32_t index;  // the index-th match not claimed by another service (1-based)
};
enum class Restart { kNever, kOnFailure, kAlways };
struct Service {
    const char* name;
    const char* program;  // a path in the name space
    uint64_t program_length;
    Give gives[kMaxGives];
    int give_count;
    const char* args;
    uint64_t args_length;
    Restart restart;
    const char* ready;  // a path that appears when the service is ready (ready_length 0: none)
    uint64_t ready_length;
};
// Starts a service: its root holds exactly its gives. A device give is claimed by the
// service (by name, for good: a restart gets the same device back, no other service gets it).
// With `ready`, waits (at most kReadyTimeoutNs) until that path exists or the service ends.
// The process handle, or -Error (said on the console with the service's name).
int64_t start_service(const System& s, const Service& service);
// Makes every file system in mnt/ write back what it holds (before the machine stops).
void sync_mounts(const System& s);
// Waits for a process and reports how it ended; its status (128 + vector for a fault).
int64_t wait_service(const Service& service, int64_t process);

// services.cpp: etc/init.conf. Reads it (a bad line is reported with its line number and
// skipped); the number of services.
int load_config(const System& s);
// The service of that name in the configuration, or nullptr.
const Service* find_service(const char* name);
// Starts every configured service but `excluded`, once, without watching them (exec mode
// when init has no thread to supervise them with).
void start_services_but(const System& s, const char* excluded);
// Starts every configured service but `excluded` (nullptr: all; the shell alone without a
// configuration), sets *started (when given) once each first start returned, and restarts
// them as configured, forever: a service that ends is logged with its cause, its ready= name
// is removed (its object died with it), and it is started again after a back-off (50 ms,
// doubled for each end within 250 ms of its start in a row) unless that was the fifth such
// end in a row, which is logged and ends its restarts. Runs on one thread (exec mode: a
// thread of its own beside the shell's).
[[noreturn]] void supervise(const System& s, const char* excluded, std::atomic<bool>* started);
// supervise(s, nullptr, nullptr): the system mode.
[[noreturn]] void run_services(const System& s);

// The shell as the system's console service: its gives (bin, etc, tmp, processes, the console
// as its output and input) with `args`.
Service shell_service(const char* args, uint64_t args_length);

}  // namespace keel::init
