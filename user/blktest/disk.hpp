// What blktest and blkbench share: finding the disk the driver publishes.
#pragma once

#include "runtime.hpp"

namespace keel::blktest {

// ns/srv/blk0 from a program the shell started, waited for up to 10 s (init starts the driver
// alongside the shell, so it may not have published yet). The handle, or 0.
inline user::Handle wait_for_disk() {
    for (int i = 0; i < 200; ++i) {
        const int64_t d = user::open_path(user::root(), "ns/srv/blk0", 11);
        if (d > 0)
            return static_cast<user::Handle>(d);
        (void)user::sys::sleep_ns(50'000'000);
    }
    return 0;
}

}  // namespace keel::blktest
