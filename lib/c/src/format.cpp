#include <keel/c/format.hpp>

#include <cstdint>

namespace keel {

namespace {

void put_number(CharSink sink, void* ctx, uint64_t v, unsigned base, bool negative, int width,
                char pad) {
    char digits[24];
    int n = 0;
    do {
        const unsigned d = static_cast<unsigned>(v % base);
        digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v != 0);
    if (negative) {
        if (pad == '0')
            sink('-', ctx);
        --width;
    }
    for (int i = n; i < width; ++i)
        sink(pad, ctx);
    if (negative && pad != '0')
        sink('-', ctx);
    while (n > 0)
        sink(digits[--n], ctx);
}

}  // namespace

void vformat(CharSink sink, void* ctx, const char* fmt, va_list args) {
    for (; *fmt != '\0'; ++fmt) {
        if (*fmt != '%') {
            sink(*fmt, ctx);
            continue;
        }
        ++fmt;
        char pad = ' ';
        if (*fmt == '0') {
            pad = '0';
            ++fmt;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l' || *fmt == 'z') {
            ++longs;
            ++fmt;
        }
        switch (*fmt) {
            case 's': {
                const char* s = va_arg(args, const char*);
                if (s == nullptr)
                    s = "(null)";
                int len = 0;
                while (s[len] != '\0')
                    ++len;
                for (int i = len; i < width; ++i)
                    sink(' ', ctx);
                while (*s != '\0')
                    sink(*s++, ctx);
                break;
            }
            case 'c':
                sink(static_cast<char>(va_arg(args, int)), ctx);
                break;
            case 'd':
            case 'i': {
                const int64_t v = longs > 0 ? va_arg(args, int64_t) : va_arg(args, int);
                put_number(sink, ctx,
                           v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v), 10,
                           v < 0, width, pad);
                break;
            }
            case 'u':
            case 'x': {
                const uint64_t v = longs > 0 ? va_arg(args, uint64_t) : va_arg(args, unsigned);
                put_number(sink, ctx, v, *fmt == 'x' ? 16 : 10, false, width, pad);
                break;
            }
            case 'p':
                sink('0', ctx);
                sink('x', ctx);
                put_number(sink, ctx, reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16, false,
                           16, '0');
                break;
            case '%':
                sink('%', ctx);
                break;
            case '\0':
                return;
            default:
                sink('%', ctx);
                sink(*fmt, ctx);
                break;
        }
    }
}

namespace {
struct BufferSink {
    char* buf;
    size_t size;
    size_t len;
};
void buffer_put(char c, void* ctx) {
    auto* b = static_cast<BufferSink*>(ctx);
    if (b->len + 1 < b->size)
        b->buf[b->len] = c;
    ++b->len;
}
}  // namespace

size_t vsnformat(char* buf, size_t size, const char* fmt, va_list args) {
    BufferSink b{buf, size, 0};
    vformat(buffer_put, &b, fmt, args);
    if (size > 0)
        buf[b.len < size ? b.len : size - 1] = '\0';
    return b.len;
}

size_t snformat(char* buf, size_t size, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    const size_t n = vsnformat(buf, size, fmt, args);
    va_end(args);
    return n;
}

}  // namespace keel
