// Request targets as paths under a server's root: percent-decoding (RFC 3986 2.1) and
// resolution of the segments inside the root, and percent-encoding for the links the server
// writes.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::http {

// Decodes in[0, n) into out (at most cap bytes; the result is never longer than the input).
// False for a '%' not followed by two hex digits, for %00 (a NUL inside a name), or when out is
// too small. *length receives the bytes written. Nothing but escapes changes ('+' stays '+').
bool percent_decode(const char* in, size_t n, char* out, size_t cap, size_t* length);

// Encodes in[0, n) for a path segment: every byte but the unreserved ones (ALPHA DIGIT - . _ ~)
// becomes %XX (upper-case hex). Writes at most cap bytes and returns the length the whole
// encoding needs (so a result > cap means it was cut: the caller's buffer was too small).
size_t percent_encode(const char* in, size_t n, char* out, size_t cap);

struct Resolved {
    uint16_t status;      // 200: out holds the path; else the status to answer with
    size_t length;        // bytes of the path in out (0: the root itself)
    bool trailing_slash;  // the target's path ended in '/' (it names a directory)
};

// Resolves a request target's path (it starts with '/'; the query and a fragment are dropped)
// into a relative path under the root: segments separated by single '/', no leading or
// trailing '/', no "." and no "..". Each segment is percent-decoded on its own; a decoded
// segment of "." is dropped, ".." removes the segment before it, empty segments collapse.
// Refusals: 400 for a target not starting with '/', a bad escape or %00, a decoded '/' inside a
// segment (%2F); 403 for a ".." that would climb above the root; 414 when out (cap bytes) is
// too small. Writes only out[0, cap). O(n).
Resolved resolve_path(const char* target, size_t n, char* out, size_t cap);

}  // namespace keel::http
