#include <keel/c/calendar.hpp>

namespace keel::c {

namespace {

// Floor division: the calendar's eras start on negative days too.
int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

// Counts in 400-year eras of 146097 days, with March as the first month so that the leap day
// is the era-year's last: then the day of the year is a linear function of the month.
int64_t days_from_civil(int64_t year, uint32_t month, uint32_t day) {
    // Bring the month into 1..12, carrying whole years.
    const int64_t m0 = static_cast<int64_t>(month) - 1;
    year += floor_div(m0, 12);
    const int64_t m = m0 - floor_div(m0, 12) * 12 + 1;  // 1..12
    const int64_t y = m <= 2 ? year - 1 : year;
    const int64_t era = floor_div(y, 400);
    const int64_t yoe = y - era * 400;                                       // 0..399
    const int64_t mp = m > 2 ? m - 3 : m + 9;                                // March = 0
    const int64_t doy = (153 * mp + 2) / 5 + static_cast<int64_t>(day) - 1;  // 0..365
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;               // 0..146096
    return era * 146097 + doe - 719468;  // 1970-03-01 is 719468 - 59
}

int64_t unix_seconds(const CivilTime& t) {
    return days_from_civil(t.year, t.month, t.day) * 86400 + static_cast<int64_t>(t.hour) * 3600 +
           static_cast<int64_t>(t.minute) * 60 + static_cast<int64_t>(t.second);
}

CivilTime civil_from_unix(int64_t seconds) {
    const int64_t days = floor_div(seconds, 86400);
    const int64_t rest = seconds - days * 86400;
    const int64_t z = days + 719468;
    const int64_t era = floor_div(z, 146097);
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    CivilTime t{};
    t.year = yoe + era * 400 + (m <= 2 ? 1 : 0);
    t.month = static_cast<uint32_t>(m);
    t.day = static_cast<uint32_t>(d);
    t.hour = static_cast<uint32_t>(rest / 3600);
    t.minute = static_cast<uint32_t>(rest / 60 % 60);
    t.second = static_cast<uint32_t>(rest % 60);
    return t;
}

}  // namespace keel::c
