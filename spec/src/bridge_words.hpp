// BRIDGE.words (bridge_words.cpp): ModWord's operations are the bit-vector operations, proven
// by cvc5 for all words.
#pragma once

#include <string>

namespace keel::spec {

// "" when cvc5 proved every goal; otherwise what failed.
std::string bridge_words(unsigned* queries);

}  // namespace keel::spec
