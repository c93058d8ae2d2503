// The proleptic Gregorian calendar in UTC, for clocks and file systems that store dates: the
// kernel turns the CMOS clock's fields into Unix time, the FAT server turns Unix time into FAT
// dates and back. Pure arithmetic on integers (no tables of leap seconds: Unix time has none).
#pragma once

#include <stdint.h>

namespace keel::c {

struct CivilTime {
    int64_t year;
    uint32_t month;   // 1-12
    uint32_t day;     // 1-31
    uint32_t hour;    // 0-23
    uint32_t minute;  // 0-59
    uint32_t second;  // 0-59
};

// Days since 1970-01-01 of a date (negative before it). Fields out of range (month 0 or 13,
// day 31 of a short month) give the date they add up to, as mktime does with day overflow.
int64_t days_from_civil(int64_t year, uint32_t month, uint32_t day);
// Seconds since 1970-01-01 00:00:00 UTC.
int64_t unix_seconds(const CivilTime& t);
// The date and time `seconds` after (or before) 1970-01-01 00:00:00 UTC.
CivilTime civil_from_unix(int64_t seconds);

}  // namespace keel::c
