// The client side: URLs, the request, the response head (RFC 9112 4 and 6.3).
#include <keel/http/client.hpp>

#include "text.hpp"

namespace keel::http {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '.';
}

}  // namespace

const char* parse_url(const char* url, size_t n, Url* out) {
    const Text whole{url, n};
    size_t scheme = 0;
    while (scheme < n && url[scheme] != ':')
        ++scheme;
    if (scheme == n || n - scheme < 3 || url[scheme + 1] != '/' || url[scheme + 2] != '/')
        return "not a URL (http://HOST[:PORT]/PATH)";
    if (equals_lower(Text{url, scheme}, "https"))
        return "https is not supported (no TLS)";
    if (!equals_lower(Text{url, scheme}, "http"))
        return "only http:// URLs are supported";
    for (size_t i = 0; i < n; ++i) {
        const auto c = static_cast<uint8_t>(whole.data[i]);
        if (c <= 0x20 || c >= 0x7f)
            return "a URL holds no spaces or control bytes (encode them as %XX)";
    }
    size_t i = scheme + 3;
    const size_t host_start = i;
    while (i < n && url[i] != ':' && url[i] != '/' && url[i] != '?' && url[i] != '#') {
        if (url[i] == '@')
            return "user names in URLs are not supported";
        if (url[i] == '[')
            return "IPv6 addresses are not supported";
        if (!host_char(url[i]))
            return "bad character in the host name";
        ++i;
    }
    const Text host{url + host_start, i - host_start};
    if (host.length == 0)
        return "no host in the URL";
    if (host.length > kMaxHostLength)
        return "host name too long";
    uint32_t port = 80;
    if (i < n && url[i] == ':') {
        ++i;
        const size_t digits = i;
        port = 0;
        while (i < n && is_digit(url[i])) {
            port = port * 10 + static_cast<uint32_t>(url[i] - '0');
            if (port > 65535)
                return "port out of range";
            ++i;
        }
        if (i == digits)
            return "no port after ':'";
        if (i < n && url[i] != '/' && url[i] != '?' && url[i] != '#')
            return "bad port";
        if (port == 0)
            return "port out of range";
    }
    size_t path_end = i;
    while (path_end < n && url[path_end] != '#')
        ++path_end;
    out->host = host;
    out->port = static_cast<uint16_t>(port);
    out->path = Text{url + i, path_end - i};
    return nullptr;
}

size_t write_request(const Url& url, char* buf, size_t cap) {
    detail::Writer o(buf, cap);
    o.text("GET ");
    if (url.path.length == 0 || url.path.data[0] != '/')
        o.put('/');  // "http://host?q" asks for "/?q"
    o.bytes(url.path.data, url.path.length);
    o.text(" HTTP/1.1\r\nHost: ");
    o.bytes(url.host.data, url.host.length);
    if (url.port != 80) {
        o.put(':');
        o.number(url.port);
    }
    o.text("\r\nUser-Agent: keel-fetch\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    return o.length();
}

ResponseParser::Outcome ResponseParser::fail(const char* why) {
    error_ = why;
    outcome_ = Outcome::kError;
    return outcome_;
}

ResponseParser::Outcome ResponseParser::feed(const char* buf, size_t size) {
    if (outcome_ != Outcome::kIncomplete)
        return outcome_;
    switch (scanner_.scan(buf, size)) {
        case HeadScanner::Outcome::kIncomplete:
            return outcome_;
        case HeadScanner::Outcome::kTooLarge:
        case HeadScanner::Outcome::kLineTooLong:
            return fail("response head too large");
        case HeadScanner::Outcome::kComplete:
            break;
    }
    response_ = Response{};
    response_.head_length = scanner_.end();
    outcome_ = parse(buf + scanner_.start(), scanner_.end() - scanner_.start());
    return outcome_;
}

ResponseParser::Outcome ResponseParser::parse(const char* head, size_t length) {
    Lines lines(head, length);
    Text line;
    bool bare_cr = false;
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    if (!lines.next(&line, &bare_cr) || bare_cr || line.length < 12 ||
        !equals_lower(Text{line.data, 5}, "http/") || !is_digit(line.data[5]) ||
        line.data[6] != '.' || !is_digit(line.data[7]) || line.data[8] != ' ' ||
        !is_digit(line.data[9]) || !is_digit(line.data[10]) || !is_digit(line.data[11]) ||
        (line.length > 12 && line.data[12] != ' ')) {
        return fail("malformed status line");
    }
    if (line.data[5] != '1')
        return fail("not an HTTP/1.x response");
    response_.minor = static_cast<uint8_t>(line.data[7] - '0');
    response_.status = static_cast<uint16_t>((line.data[9] - '0') * 100 +
                                             (line.data[10] - '0') * 10 + (line.data[11] - '0'));
    if (response_.status < 100)
        return fail("malformed status code");
    response_.reason = line.length > 13 ? Text{line.data + 13, line.length - 13} : Text{"", 0};
    for (size_t i = 0; i < response_.reason.length; ++i) {
        const auto c = static_cast<uint8_t>(response_.reason.data[i]);
        if (c != '\t' && (c < 0x20 || c == 0x7f))
            return fail("malformed reason phrase");
    }
    bool has_length = false, chunked = false, close = false, keep = false;
    while (lines.next(&line, &bare_cr)) {
        if (++response_.field_count > kMaxFields)
            return fail("too many header fields");
        Text name, value;
        if (bare_cr || !parse_field(line, &name, &value))
            return fail("malformed header field");
        if (equals_lower(name, "content-length")) {
            uint64_t v = 0;
            if (!parse_content_length(value, &v) || (has_length && v != response_.content_length))
                return fail("bad Content-Length");
            response_.content_length = v;
            has_length = true;
        } else if (equals_lower(name, "transfer-encoding")) {
            // Only "chunked" alone can be decoded here (no compression).
            if (chunked || !equals_lower(value, "chunked"))
                return fail("unsupported Transfer-Encoding");
            chunked = true;
        } else if (equals_lower(name, "connection")) {
            close = close || list_has(value, "close");
            keep = keep || list_has(value, "keep-alive");
        }
    }
    response_.keep_alive = !close && (response_.minor >= 1 || keep);
    const uint16_t s = response_.status;
    if (head_request_ || s < 200 || s == 204 || s == 304) {
        response_.framing = Framing::kNone;
    } else if (chunked) {
        response_.framing = Framing::kChunked;  // over any Content-Length (RFC 9112 6.3)
        response_.keep_alive = response_.keep_alive && !has_length;
    } else if (has_length) {
        response_.framing = Framing::kLength;
    } else {
        response_.framing = Framing::kUntilClose;
        response_.keep_alive = false;
    }
    return Outcome::kComplete;
}

}  // namespace keel::http
