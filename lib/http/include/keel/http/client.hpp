// The client side (user/fetch): http:// URLs, the request a fetch sends, and the response head
// (RFC 9112 4 and 6: status line, fields, how the body is framed). Refusals are static,
// readable reasons; nullptr is success.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/http/head.hpp>

namespace keel::http {

// http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]: the scheme case-insensitive; HOST a name
// (letters, digits, '-', '.') or a dotted quad; PORT 1-65535 (80 when absent); the path and
// query as given (visible ASCII), "/" when absent; the fragment dropped. Refused: https (no
// TLS), other schemes, user info, IPv6 literals, spaces and controls.
struct Url {
    Text host;
    uint16_t port;
    Text path;  // starts with '/', or is empty for "/"
};
inline constexpr size_t kMaxHostLength = 253;
const char* parse_url(const char* url, size_t n, Url* out);

// "GET PATH HTTP/1.1" with Host (and the port when it is not 80), User-Agent, Accept and
// Connection: close. Returns the length needed (> cap: cut).
size_t write_request(const Url& url, char* out, size_t cap);

enum class Framing : uint8_t {
    kNone,        // no body: 1xx, 204, 304, or the answer to HEAD
    kLength,      // content_length bytes
    kChunked,     // Transfer-Encoding: chunked (ChunkedDecoder)
    kUntilClose,  // everything until the server closes
};

struct Response {
    uint8_t minor;
    uint16_t status;
    Text reason;
    Framing framing;
    uint64_t content_length;
    bool keep_alive;
    size_t head_length;  // bytes of buf the head takes: the body starts after them
    uint32_t field_count;
};

class ResponseParser {
  public:
    enum class Outcome : uint8_t { kIncomplete, kComplete, kError };
    static constexpr size_t kMaxHead = 16384;
    static constexpr uint32_t kMaxFields = 100;
    // `head_request`: the request was HEAD (no body whatever the fields say).
    explicit ResponseParser(bool head_request = false)
        : head_request_(head_request), scanner_(kMaxHead, kMaxHead) {}
    // As RequestParser::feed: buf[0, size) is every byte received for this response so far.
    Outcome feed(const char* buf, size_t size);
    const Response& response() const { return response_; }
    const char* error() const { return error_; }

  private:
    Outcome fail(const char* why);
    Outcome parse(const char* head, size_t length);

    bool head_request_;
    HeadScanner scanner_;
    Response response_{};
    Outcome outcome_ = Outcome::kIncomplete;
    const char* error_ = "";
};

}  // namespace keel::http
