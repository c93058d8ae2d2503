#include "dev/rtc.hpp"

#include <keel/c/calendar.hpp>

#include "arch/cpu.hpp"
#include "log/log.hpp"
#include "sched/scheduler.hpp"

namespace keel::dev::rtc {

namespace {

constexpr uint16_t kIndex = 0x70, kData = 0x71;
constexpr uint8_t kNmiOff = 0x80;  // keep NMIs masked while the index is set, as firmware does
constexpr uint8_t kStatusA = 0x0a, kStatusB = 0x0b, kCentury = 0x32;
constexpr uint8_t kUpdating = 0x80;                // status A: an update is in progress
constexpr uint8_t kBinary = 0x04, kHour24 = 0x02;  // status B
constexpr uint8_t kPm = 0x80;                      // the hour's top bit in 12-hour mode

uint64_t g_unix_at_boot_ns = 0;  // the wall clock minus the monotonic clock

uint8_t read(uint8_t reg) {
    cpu::outb(kIndex, kNmiOff | reg);
    return cpu::inb(kData);
}

Fields read_fields() {
    for (int i = 0; i < 1000000 && (read(kStatusA) & kUpdating) != 0; ++i)
        cpu::pause();
    Fields f{};
    f.second = read(0x00);
    f.minute = read(0x02);
    f.hour = read(0x04);
    f.day = read(0x07);
    f.month = read(0x08);
    f.year = read(0x09);
    f.century = read(kCentury);
    f.status_b = read(kStatusB);
    return f;
}

bool same(const Fields& a, const Fields& b) {
    return a.second == b.second && a.minute == b.minute && a.hour == b.hour && a.day == b.day &&
           a.month == b.month && a.year == b.year && a.century == b.century;
}

// A BCD byte's value, or 0xff when it is not BCD.
uint8_t from_bcd(uint8_t v) {
    if ((v & 0x0f) > 9 || (v >> 4) > 9)
        return 0xff;
    return static_cast<uint8_t>((v >> 4) * 10 + (v & 0x0f));
}

}  // namespace

int64_t to_unix(const Fields& f) {
    const bool binary = (f.status_b & kBinary) != 0;
    auto value = [&](uint8_t v) { return binary ? v : from_bcd(v); };
    const bool pm = (f.status_b & kHour24) == 0 && (f.hour & kPm) != 0;
    uint32_t hour = value(static_cast<uint8_t>(f.hour & ~kPm));
    if ((f.status_b & kHour24) == 0) {  // 12-hour: 12 AM is 0, 12 PM is 12
        if (hour == 0 || hour > 12)
            return -1;
        hour = hour % 12 + (pm ? 12 : 0);
    }
    const uint32_t second = value(f.second), minute = value(f.minute);
    const uint32_t day = value(f.day), month = value(f.month), year = value(f.year);
    const uint32_t century = f.century == 0 ? 20 : value(f.century);
    if (second > 59 || minute > 59 || hour > 23 || day < 1 || day > 31 || month < 1 || month > 12 ||
        year > 99 || century < 19 || century > 99)
        return -1;
    const c::CivilTime t{
        static_cast<int64_t>(century * 100 + year), month, day, hour, minute, second};
    return c::unix_seconds(t);
}

void init() {
    Fields a = read_fields(), b = read_fields();
    for (int i = 0; i < 10 && !same(a, b); ++i) {
        a = b;
        b = read_fields();
    }
    const int64_t s = to_unix(b);
    const uint64_t now = sched::now_ns();
    if (s < 0) {
        log::warn("rtc: the clock's fields make no date; the wall clock starts at 1970");
        return;
    }
    const uint64_t wall = static_cast<uint64_t>(s) * 1000000000ull;
    g_unix_at_boot_ns = wall > now ? wall - now : 0;
    const c::CivilTime t = c::civil_from_unix(s);
    log::info("rtc: %04ld-%02u-%02u %02u:%02u:%02u UTC", t.year, t.month, t.day, t.hour, t.minute,
              t.second);
}

uint64_t now_unix_ns() {
    return g_unix_at_boot_ns + sched::now_ns();
}

}  // namespace keel::dev::rtc
