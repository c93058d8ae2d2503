#include "arch/stacks.hpp"

#include <keel/boot_info.hpp>

namespace keel::stacks {
struct GuardedStack;
}
// entry.S switches to the boot stack (entry 0) before any C++ code runs, so the array has an
// assembler-visible name.
extern "C" keel::stacks::GuardedStack keel_stacks[];

namespace keel::stacks {

struct alignas(4096) GuardedStack {
    uint8_t guard[boot::kPageSize];
    uint8_t stack[kStackSize];
};
static_assert(sizeof(GuardedStack) == 4096 + 16384);  // entry.S computes the boot stack top

uint64_t top(Stack s) {
    return reinterpret_cast<uint64_t>(keel_stacks[static_cast<int>(s)].stack + kStackSize);
}
uint64_t guard_page(Stack s) {
    return reinterpret_cast<uint64_t>(keel_stacks[static_cast<int>(s)].guard);
}

}  // namespace keel::stacks

[[gnu::section(".bss.stacks")]] keel::stacks::GuardedStack keel_stacks[keel::stacks::kStackCount];
