// Percent-encoding (RFC 3986 2.1) and request paths resolved inside a root.
#include <keel/http/path.hpp>

#include <keel/http/head.hpp>

#include "text.hpp"

namespace keel::http {

namespace {

int hex_value(char c) {
    return detail::hex_value(static_cast<uint8_t>(c));
}

bool unreserved(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

}  // namespace

bool percent_decode(const char* in, size_t n, char* out, size_t cap, size_t* length) {
    size_t w = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = in[i];
        if (c == '%') {
            if (n - i < 3)
                return false;
            const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = static_cast<char>(hi << 4 | lo);
            i += 2;
        }
        if (w == cap)
            return false;
        out[w++] = c;
    }
    *length = w;
    return true;
}

size_t percent_encode(const char* in, size_t n, char* out, size_t cap) {
    constexpr char kHex[] = "0123456789ABCDEF";
    size_t w = 0;
    auto put = [&](char c) {
        if (w < cap)
            out[w] = c;
        ++w;
    };
    for (size_t i = 0; i < n; ++i) {
        const auto c = static_cast<uint8_t>(in[i]);
        if (unreserved(c)) {
            put(static_cast<char>(c));
        } else {
            put('%');
            put(kHex[c >> 4]);
            put(kHex[c & 15]);
        }
    }
    return w;
}

Resolved resolve_path(const char* target, size_t n, char* out, size_t cap) {
    Resolved r{kBadRequest, 0, false};
    size_t end = 0;
    while (end < n && target[end] != '?' && target[end] != '#')
        ++end;
    if (end == 0 || target[0] != '/')
        return r;
    r.trailing_slash = target[end - 1] == '/';
    size_t w = 0;  // out[0, w): the segments so far, separated by '/'
    size_t i = 1;
    while (i <= end) {
        size_t j = i;
        while (j < end && target[j] != '/')
            ++j;
        if (j > i) {
            // Decode the segment after a separator (when there is room for one).
            const size_t at = w == 0 ? 0 : w + 1;
            if (at > cap) {
                r.status = kUriTooLong;
                return r;
            }
            // Escapes first (400 whatever the room), then the room (414).
            for (size_t k = i; k < j; ++k) {
                if (target[k] != '%')
                    continue;
                const int hi = j - k < 3 ? -1 : hex_value(target[k + 1]);
                const int lo = j - k < 3 ? -1 : hex_value(target[k + 2]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                    return r;
            }
            size_t len = 0;
            if (!percent_decode(target + i, j - i, out + at, cap - at, &len)) {
                r.status = kUriTooLong;
                return r;
            }
            for (size_t k = 0; k < len; ++k) {
                if (out[at + k] == '/')
                    return r;  // %2F: a separator inside a name
            }
            const char* seg = out + at;
            if (len == 1 && seg[0] == '.') {
                // dropped
            } else if (len == 2 && seg[0] == '.' && seg[1] == '.') {
                if (w == 0) {
                    r.status = kForbidden;
                    return r;
                }
                while (w > 0 && out[w - 1] != '/')
                    --w;
                if (w > 0)
                    --w;  // the separator before the removed segment
            } else {
                if (at > 0)
                    out[w] = '/';
                w = at + len;
            }
        }
        i = j + 1;
    }
    r.status = kOk;
    r.length = w;
    return r;
}

}  // namespace keel::http
