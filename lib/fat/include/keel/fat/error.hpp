// The one error shape of lib/fat. Success is kOk; every other value names what went wrong so a
// server can map it onto its own protocol's errors without reading reasons.
#pragma once

#include <stdint.h>

namespace keel::fat {

enum class Error : uint8_t {
    kOk,
    kIo,            // the block device failed a read, write or flush
    kCorrupt,       // the volume's bytes break the format (Volume::reason() says how)
    kNotFound,      // no such name (and: the end of a directory listing)
    kExists,        // the new name is taken
    kNotDirectory,  // a directory operation on a file
    kIsDirectory,   // a file operation on a directory
    kNotEmpty,      // removing a directory that still holds entries
    kNoSpace,       // no free cluster, no free directory slot, or the cache is too small
    kBadName,       // a name FAT cannot store (empty, too long, a forbidden character, ".")
    kTooLarge,      // beyond FAT's 4 GiB - 1 file size
    kInvalid,       // not allowed: removing the root, moving a directory into itself
};

// A static, readable text for each value ("corrupt volume", ...).
const char* describe(Error e);

}  // namespace keel::fat
