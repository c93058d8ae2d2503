// Private helpers of lib/http's sources: a bounded text writer, hex digits, list elements.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/http/head.hpp>
#include <keel/http/path.hpp>

namespace keel::http::detail {

// Appends to out[0, cap) and counts what the whole text needs (snprintf's contract).
class Writer {
  public:
    Writer(char* out, size_t cap) : out_(out), cap_(cap) {}
    void put(char c) {
        if (n_ < cap_)
            out_[n_] = c;
        ++n_;
    }
    void text(const char* s) {
        while (*s != '\0')
            put(*s++);
    }
    void bytes(const char* s, size_t n) {
        for (size_t i = 0; i < n; ++i)
            put(s[i]);
    }
    void number(uint64_t v) {
        char digits[20];
        int k = 0;
        do {
            digits[k++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (k > 0)
            put(digits[--k]);
    }
    // "Name: value\r\n"
    void field(const char* name, const char* value) {
        text(name);
        text(": ");
        text(value);
        text("\r\n");
    }
    // s percent-encoded as one path segment.
    void segment(const char* s, size_t n) {
        n_ += percent_encode(s, n, n_ < cap_ ? out_ + n_ : nullptr, n_ < cap_ ? cap_ - n_ : 0);
    }
    size_t length() const { return n_; }

  private:
    char* out_;
    size_t cap_;
    size_t n_ = 0;
};

inline int hex_value(uint8_t c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

inline bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

// The comma-separated list's next element from *at, OWS trimmed (RFC 9110 5.6.1); false when
// the list is over. Empty elements are given as they are.
inline bool next_element(Text list, size_t* at, Text* element) {
    if (*at > list.length)
        return false;
    size_t j = *at;
    while (j < list.length && list.data[j] != ',')
        ++j;
    size_t a = *at, b = j;
    while (a < b && is_ows(list.data[a]))
        ++a;
    while (b > a && is_ows(list.data[b - 1]))
        --b;
    *element = Text{list.data + a, b - a};
    *at = j + 1;
    return true;
}

}  // namespace keel::http::detail
