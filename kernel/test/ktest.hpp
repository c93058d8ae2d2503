// The in-kernel test framework. A test is registered with KTEST(name) { ... } anywhere in the
// kernel (beside the code it tests); run_all() runs every one when the command line contains
// the word `test`, printing each result and the closing line "N passed, N failed".
#pragma once

#include <cstdint>

namespace keel::ktest {

struct TestCase {
    const char* name;
    void (*fn)();
    const char* file;
    int line;
};

// Records a failed expectation in the running test (the test continues).
void fail(const char* expr, const char* file, int line);
void fail_eq(const char* a_expr, const char* b_expr, uint64_t a, uint64_t b, const char* file,
             int line);

// Runs every registered test; returns the number that failed.
int run_all();

}  // namespace keel::ktest

#define KTEST(name)                                                                             \
    static void ktest_body_##name();                                                            \
    [[gnu::used,                                                                                \
      gnu::section(".keel_tests")]] static constexpr ::keel::ktest::TestCase ktest_case_##name{ \
        #name, ktest_body_##name, __FILE__, __LINE__};                                          \
    static void ktest_body_##name()

#define KEXPECT(cond)                                       \
    do {                                                    \
        if (!(cond))                                        \
            ::keel::ktest::fail(#cond, __FILE__, __LINE__); \
    } while (0)

#define KEXPECT_EQ(a, b)                                                                \
    do {                                                                                \
        const auto ktest_a = (a);                                                       \
        const auto ktest_b = (b);                                                       \
        if (!(ktest_a == ktest_b)) {                                                    \
            ::keel::ktest::fail_eq(#a, #b, static_cast<uint64_t>(ktest_a),              \
                                   static_cast<uint64_t>(ktest_b), __FILE__, __LINE__); \
        }                                                                               \
    } while (0)

// Stops the current test when cond is false (later checks would be meaningless).
#define KASSERT(cond)                                       \
    do {                                                    \
        if (!(cond)) {                                      \
            ::keel::ktest::fail(#cond, __FILE__, __LINE__); \
            return;                                         \
        }                                                   \
    } while (0)
