// The request head parser (RFC 9112 3 and 5, RFC 9110 7.2 and 9).
#include <keel/http/request.hpp>

namespace keel::http {

namespace {

struct MethodName {
    const char* name;
    Method method;
};
constexpr MethodName kMethods[] = {
    {"GET", Method::kGet},         {"HEAD", Method::kHead},     {"POST", Method::kPost},
    {"PUT", Method::kPut},         {"DELETE", Method::kDelete}, {"CONNECT", Method::kConnect},
    {"OPTIONS", Method::kOptions}, {"TRACE", Method::kTrace},   {"PATCH", Method::kPatch},
};

// Methods are case-sensitive (RFC 9110 9.1).
bool same(Text t, const char* s) {
    size_t i = 0;
    for (; i < t.length; ++i) {
        if (s[i] == '\0' || s[i] != t.data[i])
            return false;
    }
    return s[i] == '\0';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

RequestParser::Outcome RequestParser::fail(uint16_t status, const char* reason) {
    status_ = status;
    reason_ = reason;
    outcome_ = Outcome::kError;
    return outcome_;
}

RequestParser::Outcome RequestParser::feed(const char* buf, size_t size) {
    if (outcome_ != Outcome::kIncomplete)
        return outcome_;
    switch (scanner_.scan(buf, size)) {
        case HeadScanner::Outcome::kIncomplete:
            return outcome_;
        case HeadScanner::Outcome::kTooLarge:
            return fail(kHeadersTooLarge, "head too large");
        case HeadScanner::Outcome::kLineTooLong:
            return fail(kUriTooLong, "request line too long");
        case HeadScanner::Outcome::kComplete:
            break;
    }
    request_ = Request{};
    request_.head_length = scanner_.end();
    outcome_ = parse(buf + scanner_.start(), scanner_.end() - scanner_.start());
    return outcome_;
}

RequestParser::Outcome RequestParser::parse(const char* head, size_t length) {
    Lines lines(head, length);
    Text line;
    bool bare_cr = false;
    if (!lines.next(&line, &bare_cr) || bare_cr)
        return fail(kBadRequest, "malformed request line");
    // request-line = method SP request-target SP HTTP-version
    size_t i = 0;
    while (i < line.length && is_tchar(static_cast<uint8_t>(line.data[i])))
        ++i;
    const Text method{line.data, i};
    if (i == 0 || i == line.length || line.data[i] != ' ')
        return fail(kBadRequest, "malformed method");
    const size_t target_start = ++i;
    while (i < line.length && line.data[i] > 0x20 && line.data[i] < 0x7f)
        ++i;
    Text target{line.data + target_start, i - target_start};
    if (target.length == 0 || i == line.length || line.data[i] != ' ')
        return fail(kBadRequest, "malformed request target");
    const Text version{line.data + i + 1, line.length - i - 1};
    if (version.length != 8 || !same(Text{version.data, 5}, "HTTP/") ||
        !is_digit(version.data[5]) || version.data[6] != '.' || !is_digit(version.data[7])) {
        return fail(kBadRequest, "malformed version");
    }
    if (target.length > limits_.max_target)
        return fail(kUriTooLong, "target too long");
    if (version.data[5] != '1' || (version.data[7] != '0' && version.data[7] != '1'))
        return fail(kVersionNotSupported, "version not supported");
    request_.minor = static_cast<uint8_t>(version.data[7] - '0');
    bool known = false;
    for (const MethodName& m : kMethods) {
        if (same(method, m.name)) {
            request_.method = m.method;
            known = true;
        }
    }
    if (!known)
        return fail(kNotImplemented, "unknown method");
    request_.method_text = method;
    // absolute-form (RFC 9112 3.2.2): the server must accept it; its path is what counts.
    if (target.length >= 7 && equals_lower(Text{target.data, 7}, "http://")) {
        size_t p = 7;
        while (p < target.length && target.data[p] != '/' && target.data[p] != '?')
            ++p;
        if (p == 7)
            return fail(kBadRequest, "absolute target without a host");
        target = p < target.length && target.data[p] == '/'
                     ? Text{target.data + p, target.length - p}
                     : Text{"/", 1};
    } else if (target.data[0] != '/') {
        return fail(kBadRequest, "target not a path");
    }
    request_.target = target;

    uint32_t hosts = 0, lengths = 0;
    bool connection_close = false, connection_keep = false, transfer_encoding = false;
    while (lines.next(&line, &bare_cr)) {
        if (++request_.field_count > limits_.max_fields)
            return fail(kHeadersTooLarge, "too many header fields");
        Text name, value;
        if (bare_cr || !parse_field(line, &name, &value))
            return fail(kBadRequest, "malformed header field");
        if (equals_lower(name, "host")) {
            request_.host = value;
            ++hosts;
        } else if (equals_lower(name, "connection")) {
            connection_close = connection_close || list_has(value, "close");
            connection_keep = connection_keep || list_has(value, "keep-alive");
        } else if (equals_lower(name, "content-length")) {
            uint64_t n = 0;
            if (!parse_content_length(value, &n) || (lengths > 0 && n != request_.content_length))
                return fail(kBadRequest, "bad Content-Length");
            request_.content_length = n;
            ++lengths;
        } else if (equals_lower(name, "transfer-encoding")) {
            transfer_encoding = true;
        }
    }
    // RFC 9112 3.2: exactly one Host in 1.1, at most one in 1.0.
    if (hosts > 1 || (hosts == 0 && request_.minor == 1))
        return fail(kBadRequest, hosts > 1 ? "more than one Host" : "no Host");
    request_.has_host = hosts == 1;
    // A request body is never read; one sent with Transfer-Encoding cannot be skipped safely.
    if (transfer_encoding)
        return fail(kBadRequest, "Transfer-Encoding in a request");
    if (request_.content_length > limits_.max_body)
        return fail(kContentTooLarge, "request body too large");
    request_.keep_alive = !connection_close && (request_.minor == 1 || connection_keep);
    return Outcome::kComplete;
}

}  // namespace keel::http
