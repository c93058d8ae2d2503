// The kernel's stack protector canary (stack_guard.cpp).
#pragma once

namespace keel::debug {

// Picks this boot's canary. Called first thing on the boot stack, before any protected
// function that will return.
void init_stack_guard();

}  // namespace keel::debug
