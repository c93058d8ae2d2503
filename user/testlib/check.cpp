#include "check.hpp"

namespace keel::testlib {

namespace {
uint64_t g_passed = 0, g_failed = 0, g_bad = 0;
const char* g_test = "";
}  // namespace

void begin(const char* name) {
    g_test = name;
    user::print("[ RUN  ] %s\n", name);
}

void check(bool ok, const char* what, const char* file, int line, bool bad_input) {
    if (bad_input)
        ++g_bad;
    if (ok) {
        ++g_passed;
        return;
    }
    ++g_failed;
    user::print("[ FAIL ] %s: %s (%s:%d)\n", g_test, what, file, line);
}

void check_eq(int64_t got, int64_t want, const char* what, const char* file, int line,
              bool bad_input) {
    if (bad_input)
        ++g_bad;
    if (got == want) {
        ++g_passed;
        return;
    }
    ++g_failed;
    user::print("[ FAIL ] %s: %s: got %ld, want %ld (%s:%d)\n", g_test, what, got, want, file,
                line);
}

uint64_t passed() {
    return g_passed;
}
uint64_t failed() {
    return g_failed;
}
uint64_t bad_inputs() {
    return g_bad;
}

}  // namespace keel::testlib
