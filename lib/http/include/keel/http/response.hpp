// The server's output: response heads (RFC 9112 4, RFC 9110 6.6 and 15), the Date value, a
// media type from a file name, the small HTML body of an error, and an HTML directory listing.
// Every writer writes at most `cap` bytes and returns the length the whole text needs, like
// snprintf: a result > cap means the buffer was too small and the output is cut.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::http {

struct ResponseHead {
    uint16_t status = 200;
    uint8_t minor = 1;       // the status line's version: HTTP/1.minor
    bool keep_alive = true;  // Connection: keep-alive (1.0) or close
    bool chunked = false;    // Transfer-Encoding: chunked instead of Content-Length
    bool has_length = true;  // Content-Length: content_length (unless chunked)
    uint64_t content_length = 0;
    const char* content_type = nullptr;  // nullptr: no Content-Type
    const char* date = nullptr;          // an IMF-fixdate (format_date), nullptr: no Date
    const char* allow = nullptr;         // Allow (405), nullptr: none
    const char* server = "keel-httpd";   // nullptr: no Server
};

// "HTTP/1.1 404 Not Found\r\n" and the fields, ending with the empty line.
size_t write_response_head(const ResponseHead& head, char* out, size_t cap);

// The IMF-fixdate (RFC 9110 5.6.7) of a Unix time in seconds ("Sun, 06 Nov 1994 08:49:37
// GMT", kDateLength bytes) into out, NUL-terminated; times before 1970 give the epoch.
inline constexpr size_t kDateLength = 29;
void format_date(int64_t unix_seconds, char (&out)[kDateLength + 1]);

// The media type for a file name's extension (case ignored), application/octet-stream for
// one the table lacks.
const char* content_type(const char* name, size_t n);

// An error's body: "<!DOCTYPE html>...<h1>404 Not Found</h1>..." (text/html).
size_t write_error_body(uint16_t status, char* out, size_t cap);

// Escapes & < > " ' for HTML text and attribute values.
size_t html_escape(const char* in, size_t n, char* out, size_t cap);

// A directory listing in three parts, so that a long one can be sent in pieces: the start
// (title and heading with the directory's path, escaped), one line per entry (a link to
// "/" + dir + "/" + the name percent-encoded, the name escaped, a '/' after a directory's),
// the end. `dir` is the resolved relative path ("" for the root), as resolve_path gives it,
// its segments encoded in the links. An entry's worst case is kListingEntryMax + 9 * dir.
inline constexpr size_t kListingEntryMax = 128 + 9 * 255;
size_t listing_start(const char* dir, size_t dir_length, char* out, size_t cap);
size_t listing_entry(const char* dir, size_t dir_length, const char* name, size_t name_length,
                     bool directory, char* out, size_t cap);
size_t listing_end(char* out, size_t cap);

}  // namespace keel::http
