// The RTC's fields as the chip holds them (BCD or binary, 12 or 24 hours) and the wall clock
// read at boot.
#include "dev/rtc.hpp"

#include "sched/scheduler.hpp"
#include "test/ktest.hpp"

namespace keel::dev::rtc {
namespace {

constexpr uint8_t kBcd24 = 0x02, kBinary24 = 0x06, kBcd12 = 0x00;

KTEST(rtc_fields_to_unix_time) {
    // 2026-12-05 12:34:56 in BCD, 24-hour, century register 0x20.
    KEXPECT_EQ(to_unix({0x56, 0x34, 0x12, 0x05, 0x12, 0x26, 0x20, kBcd24}), 1796474096);
    // The same in binary.
    KEXPECT_EQ(to_unix({56, 34, 12, 5, 12, 26, 20, kBinary24}), 1796474096);
    // 12-hour BCD: 12:34:56 PM is 12:34:56, 12 AM is midnight, 1 PM is 13.
    KEXPECT_EQ(to_unix({0x56, 0x34, 0x92, 0x05, 0x12, 0x26, 0x20, kBcd12}), 1796474096);
    KEXPECT_EQ(to_unix({0x00, 0x00, 0x12, 0x05, 0x12, 0x26, 0x20, kBcd12}), 1796428800);
    KEXPECT_EQ(to_unix({0x00, 0x00, 0x81, 0x05, 0x12, 0x26, 0x20, kBcd12}), 1796475600);
    // No century register (0): 20xx.
    KEXPECT_EQ(to_unix({0x56, 0x34, 0x12, 0x05, 0x12, 0x26, 0x00, kBcd24}), 1796474096);
    // Nonsense is refused, never turned into a date.
    KEXPECT_EQ(to_unix({0x5a, 0x34, 0x12, 0x05, 0x12, 0x26, 0x20, kBcd24}), -1);  // not BCD
    KEXPECT_EQ(to_unix({0x00, 0x60, 0x12, 0x05, 0x12, 0x26, 0x20, kBcd24}), -1);  // minute 60
    KEXPECT_EQ(to_unix({0x00, 0x00, 0x24, 0x05, 0x12, 0x26, 0x20, kBcd24}), -1);  // hour 24
    KEXPECT_EQ(to_unix({0x00, 0x00, 0x13, 0x05, 0x12, 0x26, 0x20, kBcd12}), -1);  // 13 o'clock
    KEXPECT_EQ(to_unix({0x00, 0x00, 0x12, 0x00, 0x12, 0x26, 0x20, kBcd24}), -1);  // day 0
    KEXPECT_EQ(to_unix({0x00, 0x00, 0x12, 0x05, 0x13, 0x26, 0x20, kBcd24}), -1);  // month 13
    KEXPECT_EQ(to_unix({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, kBinary24}), -1);
}

// QEMU's RTC holds the host's time: the wall clock read at boot is after this code was written
// and moves with the monotonic clock.
KTEST(rtc_wall_clock_runs) {
    const uint64_t a = now_unix_ns();
    KEXPECT(a > 1796428800ull * 1000000000ull);  // 2026-12-05
    const uint64_t m = sched::now_ns();
    while (sched::now_ns() < m + 1000000) {
    }
    KEXPECT(now_unix_ns() >= a + 1000000);
}

}  // namespace
}  // namespace keel::dev::rtc
