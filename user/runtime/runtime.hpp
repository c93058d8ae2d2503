// The user runtime: start-up, console output, a heap, threads and a futex lock. Programs
// define keel_main; the runtime calls it with what the process was given and exits with its
// result.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/cmdline/cmdline.hpp>

#include "syscall.hpp"

namespace keel::user {

struct StartInfo {
    uint64_t handle_count;  // handles abi::initial_handle(0 .. handle_count - 1)
    const char* args;       // not NUL-terminated
    uint64_t args_length;
};

// The handle opened on "console" in the root at start-up (0 if there was none).
Handle console();
// The process's root (its first handle), 0 if it was given none.
Handle root();
// The handle opened on "input" in the root at start-up: where the program reads its input (a
// pipe's read end, a file, the console); 0 if there was none.
Handle input();

// printf-style output to the console (kernel lib/format: %s %c %d %u %x %p, l/z, width, 0).
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Opens name in a root; a handle, or -Error.
int64_t open(Handle root, const char* name);
// Opens a path of names separated by '/' from `dir` ("a/b/c"; a leading '/' starts at root();
// empty components are skipped, so "a//b" is "a/b"). "." and ".." are not names: a caller
// that keeps a current directory resolves them in the path first (kInvalidArgument here). A
// handle (opening "" or "/" gives a new handle to the start), or -Error: kNotFound,
// kInvalidArgument (a component longer than a name), whatever an open gives.
int64_t open_path(Handle dir, const char* path, uint64_t length);

// What h is (get_meta kStat): abi::NodeType kFile or kDirectory, with its size (bytes;
// entries of a directory) in *size; 0 for an object that is neither.
uint32_t node_type(Handle h, uint64_t* size = nullptr);

// Files (files.cpp). write_all writes all n bytes to an open file in pieces a served object
// takes; 0 or -Error (a write that makes no progress is kIo).
int64_t write_all(Handle h, const void* bytes, uint64_t n);
// Makes `name` in the directory `dir` a file holding the n bytes, whichever kind of directory it
// is: in a served one (a file system) the file is opened with create and truncate (append: its
// bytes go after what was there) and written; in a root (memory files) a new memory object of n
// bytes is bound under the name, replacing a file of that name. 0 or -Error: kExists for a
// directory of that name; in a root, kInvalidArgument for n == 0 (a memory file holds at least
// one byte) and kNotSupported for append (the caller joins the bytes: memory files do not grow).
int64_t store_file(Handle dir, const char* name, const void* bytes, uint64_t n,
                   bool append = false);
// Whether dir is served by a process (a file system, where files grow in place).
bool is_served_directory(Handle dir);

// What an error (a negative result, -Error) means, in a few words ("not found"); "error" for a
// value that is not one.
const char* error_text(int64_t result);

// A program's argument string splits into words with lib/cmdline's split_args (the shell
// writes it with quote_args).
using cmdline::split_args;

// Spawns through a process table (kind kProcessTable: "processes" in init's root); 0 for
// `table` spawns with the system call instead. The process handle, or -Error.
int64_t spawn_with(Handle table, Handle image, const abi::SpawnArgs& args);

// A heap on memory objects mapped on demand (first fit, merging). nullptr when out of memory.
void* allocate(size_t size);
void release(void* p);

// Maps a fresh memory object of `size` bytes, read-write; the address or 0. *handle receives
// its handle when not null.
uint64_t map_new(uint64_t size, Handle* handle = nullptr);

// A lock that sleeps in the kernel (futex) instead of spinning when contended.
class Mutex {
  public:
    void lock();
    void unlock();

  private:
    uint32_t state_ = 0;  // 0 free, 1 locked, 2 locked with waiters
};

// Threads: start fn(arg) on a fresh 64 KiB stack (mapped with unmapped guard pages around it).
// The handle, or -Error. join(handle) waits for its end, unmaps its stack and returns its exit
// status (a thread that is never joined keeps its stack mapped).
int64_t spawn_thread(void (*fn)(uint64_t), uint64_t arg);
int64_t join(Handle thread, abi::ExitInfo* info = nullptr);
// A thread's affinity (set_meta/get_meta kAffinity on its handle; bit i: CPU i may run it) and
// the CPU it runs on (get_meta kCpu). set_affinity answers 0 or -Error (kInvalidArgument when
// no CPU of the mask runs threads); when `thread` is the caller's own, it returns on a CPU of
// the mask. affinity and cpu_of answer the value, or -Error.
int64_t set_affinity(Handle thread, uint64_t mask);
int64_t affinity(Handle thread);
int64_t cpu_of(Handle thread);

}  // namespace keel::user

// Provided by each program.
int keel_main(const keel::user::StartInfo& start);
