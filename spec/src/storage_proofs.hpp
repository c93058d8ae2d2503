// STORAGE (storage_proofs.cpp): the concrete and parametric models' storage primitives, the
// only parts of the two models that steps.hpp's transition relation does not share, agree.
#pragma once

#include <cstdint>
#include <string>

namespace keel::spec {

// "" when every goal is proven at this capacity and buffer count; otherwise what failed.
std::string storage(std::uint32_t cap, std::uint32_t bufs, unsigned* queries);

}  // namespace keel::spec
