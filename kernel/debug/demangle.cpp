#include "debug/demangle.hpp"

#include <keel/c/libc.hpp>

namespace keel::debug {

namespace {

class Writer {
  public:
    Writer(char* buf, size_t size) : buf_(buf), size_(size) {}
    void put(const char* s, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            if (len_ + 1 < size_)
                buf_[len_++] = s[i];
        }
        if (size_ > 0)
            buf_[len_] = '\0';
    }
    void put(const char* s) { put(s, strlen(s)); }

  private:
    char* buf_;
    size_t size_;
    size_t len_ = 0;
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// <source-name> ::= <length> <identifier>. Advances p; false when malformed.
bool source_name(const char*& p, const char** name, size_t* len) {
    if (!is_digit(*p))
        return false;
    size_t n = 0;
    while (is_digit(*p))
        n = n * 10 + static_cast<size_t>(*p++ - '0');
    for (size_t i = 0; i < n; ++i) {
        if (p[i] == '\0')
            return false;
    }
    *name = p;
    *len = n;
    p += n;
    return true;
}

// Skips a template argument list "I ... E" (nesting included).
bool skip_template_args(const char*& p) {
    int depth = 0;
    do {
        if (*p == '\0')
            return false;
        if (*p == 'I')
            ++depth;
        if (*p == 'E')
            --depth;
        ++p;
    } while (depth > 0);
    return true;
}

}  // namespace

bool demangle(const char* mangled, char* buf, size_t size) {
    Writer out(buf, size);
    const char* p = mangled;
    auto give_up = [&] {
        Writer raw(buf, size);
        raw.put(mangled);
        return false;
    };
    if (p[0] != '_' || p[1] != 'Z')
        return give_up();
    p += 2;
    if (*p == 'L')
        ++p;  // internal linkage
    if (*p != 'N') {
        const char* name;
        size_t len;
        if (!source_name(p, &name, &len))
            return give_up();
        out.put(name, len);
        if (*p == 'I')
            out.put("<...>");
        return true;
    }
    ++p;
    while (*p == 'r' || *p == 'V' || *p == 'K' || *p == 'R' || *p == 'O')
        ++p;  // qualifiers
    const char* last = nullptr;
    size_t last_len = 0;
    bool first = true;
    while (*p != 'E') {
        if (!first && *p != 'I')
            out.put("::");
        if (*p == 'I') {
            if (!skip_template_args(p))
                return give_up();
            out.put("<...>");
            continue;
        }
        first = false;
        if (p[0] == 'S' && p[1] == 't') {
            out.put("std");
            p += 2;
            continue;
        }
        if ((p[0] == 'C' && (p[1] == '1' || p[1] == '2' || p[1] == '3')) ||
            (p[0] == 'D' && (p[1] == '0' || p[1] == '1' || p[1] == '2'))) {
            if (last == nullptr)
                return give_up();
            if (p[0] == 'D')
                out.put("~");
            out.put(last, last_len);
            p += 2;
            continue;
        }
        const char* name;
        size_t len;
        if (!source_name(p, &name, &len))
            return give_up();
        constexpr const char kAnonymous[] = "_GLOBAL__N_1";
        if (len == sizeof kAnonymous - 1 && memcmp(name, kAnonymous, len) == 0) {
            out.put("(anonymous namespace)");
        } else {
            out.put(name, len);
        }
        last = name;
        last_len = len;
    }
    return true;
}

}  // namespace keel::debug
