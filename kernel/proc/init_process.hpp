// Starting user mode: the first boot module after the kernel is init. Every boot module is
// copied into a memory object and bound by name in init's root, beside "console"; init gets
// that root as its one handle and its module command line as its arguments. Init's end stops
// the machine (QEMU exits with success when init exited with status 0).
#pragma once

#include <keel/boot_info.hpp>

namespace keel::proc {

// False (after logging why) when there is no module or init cannot be started.
bool start_init(const boot::BootInfo& info);

}  // namespace keel::proc
