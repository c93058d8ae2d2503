// The server side: an HTTP/1.1 request head (RFC 9112 3) parsed incrementally over the
// caller's buffer. The caller appends bytes as they arrive and calls feed() with all of them;
// kIncomplete means "keep reading" (the caller's own timeout ends a client that stops half-way);
// kComplete gives the request; kError gives the status to answer with, after which the
// connection is closed (the rest of the bytes cannot be framed).
//
// Decisions (README.md): origin-form and absolute-form ("http://host/path": the path is used)
// targets; GET and HEAD are served, the other methods of RFC 9110 9 are known (405 from the
// server), any other token is 501; HTTP/1.0 and 1.1, any other well-formed version 505;
// Host required (exactly one) in 1.1; a request body is framed but never read: Content-Length
// up to Limits::max_body is reported for the caller to skip (above: 413), Transfer-Encoding is
// refused (400).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/http/head.hpp>

namespace keel::http {

enum class Method : uint8_t {
    kGet,
    kHead,
    kPost,
    kPut,
    kDelete,
    kConnect,
    kOptions,
    kTrace,
    kPatch,
};

struct Limits {
    size_t max_head = 8192;     // bytes of the head, leading empty lines included (else 431)
    size_t max_target = 2048;   // bytes of the request-target (else 414)
    uint32_t max_fields = 64;   // header field lines (else 431)
    uint64_t max_body = 65536;  // Content-Length a GET or HEAD may carry, skipped (else 413)
};

struct Request {
    Method method;
    Text method_text;
    Text target;      // the path and query of the target (absolute-form reduced to them)
    uint8_t minor;    // HTTP/1.minor: 0 or 1
    bool keep_alive;  // the version's default, changed by Connection: close / keep-alive
    bool has_host;
    Text host;
    uint64_t content_length;  // body bytes after the head, for the caller to skip
    size_t head_length;       // bytes of buf the head takes (the next request starts after the
                              // head and content_length bytes of body)
    uint32_t field_count;
};

class RequestParser {
  public:
    enum class Outcome : uint8_t { kIncomplete, kComplete, kError };
    explicit RequestParser(const Limits& limits = Limits())
        : limits_(limits), scanner_(limits.max_head, limits.max_target + kStartLineSlack) {}

    // buf[0, size): every byte received for this request (the same ones each call and the new
    // ones after them). O(new bytes) until the head is complete, then O(head) once. After
    // kComplete or kError it returns the same answer until reset().
    Outcome feed(const char* buf, size_t size);
    // After kComplete: the request; its Texts point into buf (valid while buf is), but for the
    // target of an absolute-form request without a path: a static "/".
    const Request& request() const { return request_; }
    // After kError: the status to answer with (400, 413, 414, 431, 501, 505).
    uint16_t status() const { return status_; }
    // After kError: why, in a few words (for a log line).
    const char* reason() const { return reason_; }
    // For the next request on the connection (the caller moves the bytes after this one to
    // the start of its buffer).
    void reset() { *this = RequestParser(limits_); }

  private:
    static constexpr size_t kStartLineSlack = 32;  // method, spaces and version around a target
    Outcome fail(uint16_t status, const char* reason);
    Outcome parse(const char* head, size_t length);

    Limits limits_;
    HeadScanner scanner_;
    Request request_{};
    Outcome outcome_ = Outcome::kIncomplete;
    uint16_t status_ = 0;
    const char* reason_ = "";
};

// Whether the server serves `m` (GET and HEAD).
inline bool served_method(Method m) {
    return m == Method::kGet || m == Method::kHead;
}

}  // namespace keel::http
