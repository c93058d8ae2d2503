// Checks for Keel user test programs: CHECK counts a pass or prints the failure (the test goes
// on); BAD_INPUT additionally counts the case as a bad-input case (for the closing note).
// Failures are counted per program; testlib::run() turns any failure into exit status 1.
#pragma once

#include "runtime.hpp"

namespace keel::testlib {

void check(bool ok, const char* what, const char* file, int line, bool bad_input);
void check_eq(int64_t got, int64_t want, const char* what, const char* file, int line,
              bool bad_input);
// Names the running test in failure reports and prints "[ RUN  ] name".
void begin(const char* name);
uint64_t passed();
uint64_t failed();
uint64_t bad_inputs();

}  // namespace keel::testlib

#define CHECK(cond) ::keel::testlib::check((cond), #cond, __FILE__, __LINE__, false)
#define CHECK_EQ(got, want) \
    ::keel::testlib::check_eq((got), (want), #got, __FILE__, __LINE__, false)
// A call with bad input must fail with exactly the expected error.
#define BAD_INPUT(call, error)                                                          \
    ::keel::testlib::check_eq((call), -static_cast<int64_t>(::keel::abi::Error::error), \
                              #call " == -" #error, __FILE__, __LINE__, true)
