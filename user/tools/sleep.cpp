// sleep SECONDS: waits that many seconds (whole, at most a day), then exits 0.
#include "tools.hpp"

using namespace keel::tools;

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    uint64_t seconds = 0;
    const char* s = a.count == 1 ? a.words[0] : "";
    for (; *s >= '0' && *s <= '9' && seconds <= 86400; ++s)
        seconds = seconds * 10 + static_cast<uint64_t>(*s - '0');
    if (a.count != 1 || *s != '\0' || a.words[0][0] == '\0' || seconds > 86400) {
        complain("sleep", "usage", "sleep SECONDS (0-86400)");
        return 2;
    }
    (void)sys::sleep_ns(seconds * 1'000'000'000);
    return 0;
}
