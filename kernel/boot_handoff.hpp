// The BootInfo the loader handed over, for the rest of the kernel (tests, future consumers
// of modules and the RSDP). It lives in memory the usable map excludes, so it stays valid.
#pragma once

#include <keel/boot_info.hpp>

namespace keel {

// Valid once keel_kernel_main has checked it (before anything else runs).
const boot::BootInfo& boot_info();

}  // namespace keel
