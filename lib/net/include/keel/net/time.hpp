// Time in the engine: the caller's monotonic clock in nanoseconds, passed into every call
// that may start or expire a timer. Nothing in lib/net reads a clock, so host tests drive it.
#pragma once

#include <stdint.h>

namespace keel::net {

using Time = uint64_t;  // nanoseconds, monotonic, any origin
inline constexpr Time kNever = ~static_cast<Time>(0);
inline constexpr Time kMillisecond = 1'000'000;
inline constexpr Time kSecond = 1'000'000'000;

}  // namespace keel::net
