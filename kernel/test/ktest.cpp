#include "test/ktest.hpp"

#include "log/log.hpp"

extern "C" const keel::ktest::TestCase __keel_tests_start[];
extern "C" const keel::ktest::TestCase __keel_tests_end[];

namespace keel::ktest {

namespace {
int g_current_failures = 0;
}

void fail(const char* expr, const char* file, int line) {
    ++g_current_failures;
    log::print("    expectation failed: %s (%s:%d)\n", expr, file, line);
}

void fail_eq(const char* a_expr, const char* b_expr, uint64_t a, uint64_t b, const char* file,
             int line) {
    ++g_current_failures;
    log::print("    expectation failed: %s == %s (0x%lx vs 0x%lx) (%s:%d)\n", a_expr, b_expr, a, b,
               file, line);
}

int run_all() {
    const int total = static_cast<int>(__keel_tests_end - __keel_tests_start);
    log::print("ktest: running %d kernel tests\n", total);
    int passed = 0;
    int failed = 0;
    for (const TestCase* t = __keel_tests_start; t < __keel_tests_end; ++t) {
        log::print("[ RUN  ] %s\n", t->name);
        g_current_failures = 0;
        t->fn();
        if (g_current_failures == 0) {
            ++passed;
            log::print("[  OK  ] %s\n", t->name);
        } else {
            ++failed;
            log::print("[FAILED] %s (%s:%d)\n", t->name, t->file, t->line);
        }
    }
    log::print("%d passed, %d failed\n", passed, failed);
    return failed;
}

}  // namespace keel::ktest
