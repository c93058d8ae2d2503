#include <keel/c/calendar.hpp>

#include <gtest/gtest.h>
#include <time.h>

namespace {

using keel::c::CivilTime;

TEST(Calendar, KnownDates) {
    EXPECT_EQ(keel::c::days_from_civil(1970, 1, 1), 0);
    EXPECT_EQ(keel::c::days_from_civil(1969, 12, 31), -1);
    EXPECT_EQ(keel::c::days_from_civil(2000, 3, 1), 11017);
    EXPECT_EQ(keel::c::unix_seconds({1980, 1, 1, 0, 0, 0}), 315532800);  // FAT's epoch
    EXPECT_EQ(keel::c::unix_seconds({2026, 12, 5, 12, 0, 0}), 1796472000);
    EXPECT_EQ(keel::c::unix_seconds({2107, 12, 31, 23, 59, 58}), 4354819198);  // FAT's last
    // Day and month overflow carry, as mktime's do.
    EXPECT_EQ(keel::c::days_from_civil(2023, 2, 29), keel::c::days_from_civil(2023, 3, 1));
    EXPECT_EQ(keel::c::days_from_civil(2023, 13, 1), keel::c::days_from_civil(2024, 1, 1));
    EXPECT_EQ(keel::c::days_from_civil(2024, 0, 1), keel::c::days_from_civil(2023, 12, 1));
}

// Every day from 1600 to 2400 against the host C library's timegm and gmtime_r.
TEST(Calendar, AgreesWithTheHostLibrary) {
    for (int64_t s = -11676096000; s < 13569465600; s += 86400 - 7) {
        const CivilTime t = keel::c::civil_from_unix(s);
        struct tm tm {};
        const time_t host = static_cast<time_t>(s);
        ASSERT_NE(gmtime_r(&host, &tm), nullptr);
        ASSERT_EQ(t.year, tm.tm_year + 1900) << s;
        ASSERT_EQ(t.month, static_cast<uint32_t>(tm.tm_mon + 1)) << s;
        ASSERT_EQ(t.day, static_cast<uint32_t>(tm.tm_mday)) << s;
        ASSERT_EQ(t.hour, static_cast<uint32_t>(tm.tm_hour)) << s;
        ASSERT_EQ(t.minute, static_cast<uint32_t>(tm.tm_min)) << s;
        ASSERT_EQ(t.second, static_cast<uint32_t>(tm.tm_sec)) << s;
        ASSERT_EQ(keel::c::unix_seconds(t), s);
        ASSERT_EQ(static_cast<int64_t>(timegm(&tm)), s);
    }
}

}  // namespace
