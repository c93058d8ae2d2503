// Shared pieces of HTTP/1.1 heads: tokens, lists, the end of a head, lines and field lines.
#include <keel/http/head.hpp>

#include "text.hpp"

namespace keel::http {

const char* reason_phrase(uint16_t status) {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "";
    }
}

bool is_tchar(uint8_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

namespace {

uint8_t lower(uint8_t c) {
    return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c;
}

using detail::is_ows;
using detail::next_element;

}  // namespace

bool equals_lower(Text t, const char* lower_text) {
    size_t i = 0;
    for (; i < t.length; ++i) {
        if (lower_text[i] == '\0' ||
            lower(static_cast<uint8_t>(t.data[i])) != static_cast<uint8_t>(lower_text[i])) {
            return false;
        }
    }
    return lower_text[i] == '\0';
}

bool list_has(Text t, const char* lower_text) {
    size_t at = 0;
    Text element;
    while (next_element(t, &at, &element)) {
        if (equals_lower(element, lower_text))
            return true;
    }
    return false;
}

HeadScanner::Outcome HeadScanner::scan(const char* buf, size_t size) {
    if (complete_)
        return Outcome::kComplete;
    // Bytes past the limit are never looked at: the answer is known without them.
    const size_t limit = size < max_head_ ? size : max_head_;
    for (size_t i = scanned_; i < limit; ++i) {
        if (buf[i] != '\n')
            continue;
        size_t line_end = i;
        if (line_end > line_start_ && buf[line_end - 1] == '\r')
            --line_end;
        if (line_end == line_start_) {
            if (!start_line_done_) {
                start_ = i + 1;  // an empty line before the start line
            } else {
                end_ = i + 1;
                complete_ = true;
                scanned_ = i + 1;
                return Outcome::kComplete;
            }
        } else if (!start_line_done_) {
            start_line_done_ = true;
            if (line_end - line_start_ > max_start_line_)
                return Outcome::kLineTooLong;
        }
        line_start_ = i + 1;
    }
    scanned_ = limit;
    // The start line so far, without a last CR that the next byte may make a CRLF: counted, a
    // line of exactly max_start_line_ bytes was refused when its CR and LF came apart (the
    // fuzzer's fragments oracle), and accepted when they came together.
    size_t pending = limit - start_;
    if (pending > 0 && buf[limit - 1] == '\r')
        --pending;
    if (!start_line_done_ && pending > max_start_line_)
        return Outcome::kLineTooLong;
    return size >= max_head_ ? Outcome::kTooLarge : Outcome::kIncomplete;
}

bool Lines::next(Text* line, bool* bare_cr) {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\n')
        ++p_;
    if (p_ == end_)
        return false;
    const char* stop = p_;
    ++p_;
    if (stop > start && stop[-1] == '\r')
        --stop;
    *bare_cr = false;
    for (const char* q = start; q < stop; ++q) {
        if (*q == '\r')
            *bare_cr = true;
    }
    *line = Text{start, static_cast<size_t>(stop - start)};
    return line->length != 0;
}

bool parse_field(Text line, Text* name, Text* value) {
    size_t i = 0;
    while (i < line.length && is_tchar(static_cast<uint8_t>(line.data[i])))
        ++i;
    if (i == 0 || i == line.length || line.data[i] != ':')
        return false;  // obs-fold, whitespace before ':', a non-token byte, no colon
    *name = Text{line.data, i};
    size_t a = i + 1, b = line.length;
    while (a < b && is_ows(line.data[a]))
        ++a;
    while (b > a && is_ows(line.data[b - 1]))
        --b;
    for (size_t k = a; k < b; ++k) {
        const auto c = static_cast<uint8_t>(line.data[k]);
        if (c != '\t' && (c < 0x20 || c == 0x7f))
            return false;
    }
    *value = Text{line.data + a, b - a};
    return true;
}

bool parse_content_length(Text value, uint64_t* out) {
    constexpr uint64_t kMax = 1ull << 62;
    bool have = false;
    uint64_t first = 0;
    size_t at = 0;
    Text element;
    while (next_element(value, &at, &element)) {
        if (element.length == 0)
            return false;
        uint64_t v = 0;
        for (size_t k = 0; k < element.length; ++k) {
            const char c = element.data[k];
            if (c < '0' || c > '9')
                return false;
            v = v * 10 + static_cast<uint64_t>(c - '0');
            if (v > kMax)
                return false;
        }
        if (have && v != first)
            return false;
        have = true;
        first = v;
    }
    *out = first;
    return have;
}

}  // namespace keel::http
