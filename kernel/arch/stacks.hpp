// The boot CPU's statically allocated stacks: the boot stack and the IST stacks (each
// application processor gets the same three from mm/kernel_stack, arch/smp.cpp). Each sits just
// above a guard page (in the same .bss.stacks area) that paging::init() unmaps, so running off
// the bottom of any of them faults instead of silently corrupting the stack below.
#pragma once

#include <cstdint>

namespace keel::stacks {

inline constexpr uint64_t kStackSize = 16 * 1024;

enum class Stack { kBoot = 0, kDoubleFault = 1, kNmi = 2 };
inline constexpr int kStackCount = 3;

uint64_t top(Stack s);         // initial rsp (16-byte aligned)
uint64_t guard_page(Stack s);  // the unmapped page just below the stack

}  // namespace keel::stacks
