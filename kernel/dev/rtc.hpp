// The wall clock: the CMOS real-time clock read once at boot, after the scheduler's clock is
// calibrated, so that the time of day is that reading plus the monotonic clock since. QEMU's
// RTC holds the host's UTC time (its default `-rtc base=utc`); a machine whose RTC keeps local
// time would be off by its zone, as every OS that trusts the RTC is.
#pragma once

#include <stdint.h>

namespace keel::dev::rtc {

// Reads the RTC (waiting out an update in progress, twice until two readings agree) and
// remembers where the wall clock stood at that monotonic instant. Falls back to 0 (1970) if
// the RTC's fields make no date.
void init();
// Nanoseconds since 1970-01-01 00:00:00 UTC.
uint64_t now_unix_ns();

struct Fields {  // as the RTC's registers hold them
    uint8_t second, minute, hour, day, month, year, century, status_b;
};
// The Unix time (seconds) the fields name, honouring status register B's binary/BCD and 12/24
// hour bits; century 0 means 20xx. -1 when a field is out of range.
int64_t to_unix(const Fields& f);

}  // namespace keel::dev::rtc
