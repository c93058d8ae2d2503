// HTTP/1.1 message heads (RFC 9110, RFC 9112): what the server and the client parsers share.
// A head is a start line, header field lines and an empty line, each ended by CR LF or a bare
// LF. The bytes are untrusted: every limit is checked, nothing is allocated, nothing is read
// outside the caller's buffer, and a refusal is a value (a status code or a static reason).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::http {

// The status codes this library produces or the server sends.
enum Status : uint16_t {
    kOk = 200,
    kBadRequest = 400,
    kForbidden = 403,
    kNotFound = 404,
    kMethodNotAllowed = 405,
    kRequestTimeout = 408,
    kContentTooLarge = 413,
    kUriTooLong = 414,
    kHeadersTooLarge = 431,
    kInternalError = 500,
    kNotImplemented = 501,
    kServiceUnavailable = 503,
    kVersionNotSupported = 505,
};

// The reason phrase of a status code (RFC 9110 section 15), "" for a code it does not know.
const char* reason_phrase(uint16_t status);

// A byte string inside a caller's buffer (not NUL-terminated).
struct Text {
    const char* data = nullptr;
    size_t length = 0;
};

// RFC 9110 5.6.2: tchar, the bytes of a token (method, field name, transfer coding).
bool is_tchar(uint8_t c);
// ASCII case-insensitive equality of t and the NUL-terminated lower-case `lower`.
bool equals_lower(Text t, const char* lower);
// Whether the comma-separated list t (RFC 9110 5.6.1: elements with OWS around them, empty
// elements allowed) holds the token `lower`, ignoring case.
bool list_has(Text t, const char* lower);

// Where a head ends: scanned incrementally, so that a caller feeding a byte at a time does
// linear work in total. Leading empty lines are skipped (RFC 9112 2.2: a server SHOULD ignore
// at least one before a request line; they count against the size limit).
class HeadScanner {
  public:
    enum class Outcome : uint8_t {
        kIncomplete,   // no empty line yet: give it more bytes
        kComplete,     // start() .. end() is the head, the empty line included
        kTooLarge,     // max_head bytes hold no complete head
        kLineTooLong,  // the start line alone is longer than max_start_line
    };
    HeadScanner(size_t max_head, size_t max_start_line)
        : max_head_(max_head), max_start_line_(max_start_line) {}
    // buf[0, size) are every byte received for this head so far (the same bytes each call,
    // plus new ones at the end). O(new bytes).
    Outcome scan(const char* buf, size_t size);
    size_t start() const { return start_; }  // after leading empty lines
    size_t end() const { return end_; }
    void reset() { *this = HeadScanner(max_head_, max_start_line_); }

  private:
    size_t max_head_, max_start_line_;
    size_t scanned_ = 0, line_start_ = 0, start_ = 0, end_ = 0;
    bool start_line_done_ = false, complete_ = false;
};

// Splits the head's lines: each call gives the next line without its CR LF (or LF); false
// after the last (the empty line). A CR anywhere else in a line is reported by `bare_cr`.
class Lines {
  public:
    Lines(const char* head, size_t length) : p_(head), end_(head + length) {}
    bool next(Text* line, bool* bare_cr);

  private:
    const char* p_;
    const char* end_;
};

// One header field line (RFC 9112 5): a token name, ':', OWS, a value, OWS. Returns false for
// a malformed line: obs-fold (a line starting with SP or HTAB), whitespace before the colon,
// a name that is not a token, a byte in the value that is neither VCHAR, obs-text, SP nor
// HTAB (NUL and other controls).
bool parse_field(Text line, Text* name, Text* value);

// A Content-Length value: digits, or a list of equal ones ("5, 5", RFC 9110 8.6). False for
// anything else or a value above 2^62.
bool parse_content_length(Text value, uint64_t* out);

}  // namespace keel::http
