// Kernel logging with levels, to the serial console. Each line is prefixed with its level so
// that tests and humans can filter; messages below the current level are dropped.
#pragma once

#include <cstdarg>

namespace keel::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
Level level();

void vlog(Level level, const char* fmt, va_list args);
void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Unprefixed output, always printed (banners, test results, panic dumps).
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* fmt, va_list args);

}  // namespace keel::log
