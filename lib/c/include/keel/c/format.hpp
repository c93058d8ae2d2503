// A small printf for freestanding code (the kernel's log, the user runtime): %s %c %d %i %u %x
// %p %%, with l/ll/z length modifiers (all integers are handled as 64-bit), a field width and
// the 0 flag. Output goes to a sink one character at a time: nothing is buffered or allocated.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace keel {

using CharSink = void (*)(char c, void* ctx);

void vformat(CharSink sink, void* ctx, const char* fmt, va_list args);

// Formats into buf (always NUL-terminated when size > 0). Returns the length it would have had.
size_t snformat(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// The same with a va_list (for functions that take their own "...").
size_t vsnformat(char* buf, size_t size, const char* fmt, va_list args);

}  // namespace keel
