#include "log/log.hpp"

#include <keel/c/format.hpp>
#include "log/serial.hpp"

namespace keel::log {

namespace {
Level g_level = Level::kInfo;
const char* const kPrefix[] = {"[debug] ", "[info ] ", "[warn ] ", "[error] "};
void sink(char c, void*) {
    serial::put(c);
}
}  // namespace

void set_level(Level l) {
    g_level = l;
}
Level level() {
    return g_level;
}

void vlog(Level l, const char* fmt, va_list args) {
    if (l < g_level)
        return;
    serial::write(kPrefix[static_cast<int>(l)]);
    vformat(sink, nullptr, fmt, args);
    serial::put('\n');
}

void vprint(const char* fmt, va_list args) {
    vformat(sink, nullptr, fmt, args);
}

#define KEEL_LOG_FN(name, lvl)        \
    void name(const char* fmt, ...) { \
        va_list args;                 \
        va_start(args, fmt);          \
        vlog(lvl, fmt, args);         \
        va_end(args);                 \
    }
KEEL_LOG_FN(debug, Level::kDebug)
KEEL_LOG_FN(info, Level::kInfo)
KEEL_LOG_FN(warn, Level::kWarn)
KEEL_LOG_FN(error, Level::kError)
#undef KEEL_LOG_FN

void print(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vformat(sink, nullptr, fmt, args);
    va_end(args);
}

}  // namespace keel::log
