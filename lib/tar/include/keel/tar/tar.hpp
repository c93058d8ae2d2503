// A reader of POSIX ustar archives held in memory: the initial file system image is one,
// written by the host's `tar --format=ustar`. An archive is untrusted bytes (a boot module, a
// file): every header is checksummed and every field validated before it is used, an entry's
// data must lie inside the archive, and a path must stay inside it (relative, no ".."). Pure
// code over a byte range: no allocation, no globals, built-in headers only; entries point into
// the caller's bytes, which must outlive them. Every refusal is a static, readable reason.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::tar {

inline constexpr uint32_t kBlockSize = 512;
// A ustar path is prefix (155) + "/" + name (100); kept NUL-terminated.
inline constexpr uint32_t kMaxPath = 256;
inline constexpr uint32_t kMaxLink = 100;  // the linkname field

enum class Type : uint8_t {
    kFile,         // '0', NUL (pre-POSIX writers) and '7' (contiguous: a regular file)
    kDirectory,    // '5'
    kSymlink,      // '2': reported with its target, never followed
    kUnsupported,  // anything else (hard links, devices, FIFOs, pax and GNU extension
                   // headers, vendor types): reported with its raw typeflag, data skipped
};

struct Entry {
    // The path with "." components and a directory's trailing "/" removed: "a/b/c". Empty
    // only for the archive's own root directory ("." or "./", as `tar -C dir .` writes it).
    char path[kMaxPath + 1];
    uint32_t path_length;
    Type type;
    char typeflag;  // the raw byte, for reporting an unsupported entry
    uint32_t mode;  // the mode field (permission bits and set-id bits)
    uint32_t uid, gid;
    uint64_t mtime;
    uint64_t size;            // data bytes; 0 for directories and symlinks
    const uint8_t* data;      // size bytes inside the archive (nullptr when size is 0)
    char link[kMaxLink + 1];  // a symlink's target as written (not checked, not followed)
    uint32_t link_length;
    uint64_t header_offset;  // of this entry's header in the archive
};

enum class Step : uint8_t { kEntry, kEnd, kError };

// Walks an archive header by header. Cost per entry: one header (512 bytes summed and parsed),
// the data is skipped, not read. Not thread-safe; one Reader per walk.
class Reader {
  public:
    Reader(const uint8_t* archive, size_t size) : archive_(archive), size_(size) {}

    // kEntry: *out holds the next entry. kEnd: the end-of-archive marker (two zero blocks) was
    // read; whatever follows it is not looked at. kError: error() says why and offset() where;
    // the walk stops there, and every later call gives the same error (*out is unspecified).
    // Entries given before an error were complete and valid: a caller that needs all or
    // nothing calls validate() first.
    Step next(Entry* out);

    const char* error() const { return error_; }
    // The header offset of the entry being read (where an error was found), or of the end.
    uint64_t offset() const { return offset_; }

  private:
    Step fail(const char* why);

    const uint8_t* archive_;
    size_t size_;
    uint64_t offset_ = 0;
    const char* error_ = nullptr;
    bool ended_ = false;
};

// Walks the whole archive: nullptr if every entry is valid and the end marker is there, with
// *entries set to their count (every entry, unsupported ones included); else the first reason.
const char* validate(const uint8_t* archive, size_t size, uint32_t* entries);

// Looks a path up ("bin/sh", "./bin/sh" and "etc/" are normalised like entry paths). Walks the
// whole archive, so that the answer never depends on how far a corrupt archive was read:
// returns a reason if the archive is not valid, the path is not (absolute, "..", empty
// component, too long) or it names more than one entry; otherwise nullptr with *found set
// and, if found, *out filled.
const char* find(const uint8_t* archive, size_t size, const char* path, size_t path_length,
                 Entry* out, bool* found);

// Normalises a path by the rules entries follow (relative; no "..", no empty component; "."
// components and one trailing "/" dropped) into out[0, kMaxPath] (NUL-terminated), setting
// *length. `directory` allows the trailing "/" and the empty result (the root). Used by find;
// public so that a server can check a client's path the same way.
const char* normalize_path(const char* path, size_t length, bool directory, char* out,
                           uint32_t* out_length);

}  // namespace keel::tar
