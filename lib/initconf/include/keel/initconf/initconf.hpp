// init's configuration: one program per line, read from the initial file system image.
//
//   # comment lines and blank lines are ignored
//   NAME  PROGRAM  [restart=never|on-failure|always]  [give=PATH[:AS]]...  [ready=PATH]
//         [-- ARGS...]
//
// A give can also name a device by PCI identity: give=device:VVVV:DDDD[#N][:AS] (hex vendor
// and device ids; the Nth match that no other service holds, 1 by default; "device" by
// default as its name).
//
// The text is untrusted (it comes from an image anyone can rebuild): every line is checked
// whole before anything of it is used, and a bad line is an error with its 1-based line and
// column and a static, readable reason, never a crash; init reports it and goes on with the
// next line. Pure code: no allocation (the caller provides the Entry and, for a whole file,
// the Parser, which holds the names seen so far), no globals, built-in headers only. The rules
// are in lib/initconf/README.md.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::initconf {

inline constexpr uint32_t kMaxName = 32;      // NAME and AS: 1..32 of [a-z0-9_-]
inline constexpr uint32_t kMaxPath = 128;     // PROGRAM and give PATH: 1..128 bytes
inline constexpr uint32_t kMaxGives = 16;     // give= options per program
inline constexpr uint32_t kMaxArgs = 1024;    // the argument string after "--"
inline constexpr uint32_t kMaxLine = 8192;    // bytes per line, '\r' excluded
inline constexpr uint32_t kMaxPrograms = 64;  // entries per file (Parser's name table)

enum class Restart : uint8_t { kNever, kOnFailure, kAlways };

inline constexpr uint32_t kMaxDeviceIndex = 99;  // #N of a device give: 1..99

// An object from init's name space (by path) handed to the program under the name `as`, or
// (is_device) a PCI device by identity: then `path` holds the give's text without ":AS"
// ("device:1af4:1042" or "device:1af4:1042#2"), and `as` is "device" unless ":AS" was given.
struct Give {
    char path[kMaxPath + 1];  // NUL-terminated
    uint32_t path_length;
    char as[kMaxName + 1];  // NUL-terminated; the path's last component unless ":AS" was given
    uint32_t as_length;
    bool is_device;
    uint16_t vendor;     // is_device: the PCI vendor id
    uint16_t device_id;  // is_device: the PCI device id
    uint32_t index;      // is_device: which unclaimed match, 1..kMaxDeviceIndex
};

struct Entry {
    char name[kMaxName + 1];  // NUL-terminated, like every string here
    uint32_t name_length;
    char program[kMaxPath + 1];
    uint32_t program_length;
    Restart restart;  // kNever unless restart= says otherwise
    // ready=PATH: init starts the next program only once PATH exists in its name space (a
    // server's published object); empty when not given.
    char ready[kMaxPath + 1];
    uint32_t ready_length;
    uint32_t give_count;
    Give gives[kMaxGives];    // in the order written; no two with the same `as`
    bool has_args;            // "--" was there (the string may still be empty)
    char args[kMaxArgs + 1];  // everything after "--" and its blanks, trailing blanks cut
    uint32_t args_length;
};

struct Error {
    uint32_t line;       // 1-based
    uint32_t column;     // 1-based byte column of the fault (one past the end for "missing")
    const char* reason;  // static
};

enum class Outcome : uint8_t {
    kEntry,  // *out holds the line's program
    kSkip,   // a blank or comment line
    kError,  // *error says where and why; *out is unspecified
    kEnd,    // Parser only: no more lines
};

// Parses one line (without its '\n'; a trailing '\r' is ignored) numbered `line`. Cost: one
// pass over the line. Cannot see other lines: duplicate names are the Parser's check.
Outcome parse_line(const char* text, size_t length, uint32_t line, Entry* out, Error* error);

// A whole file, line by line: every line is parsed, bad ones are given as errors (with their
// line number) and skipped, and the walk goes on. A program whose name an earlier good line
// already took is an error (the earlier one stands), as is a good line beyond kMaxPrograms.
// Lines end at '\n'; a last line without one counts. Not thread-safe; about 2.2 KiB.
class Parser {
  public:
    Parser(const char* text, size_t length) : text_(text), length_(length) {}

    // kEntry or kError for each line that is not blank or a comment, then kEnd (and kEnd
    // again on every later call).
    Outcome next(Entry* out, Error* error);

  private:
    const char* text_;
    size_t length_;
    size_t at_ = 0;
    uint32_t line_ = 0;
    uint32_t count_ = 0;
    char names_[kMaxPrograms][kMaxName];
    uint8_t name_lengths_[kMaxPrograms];
};

}  // namespace keel::initconf
