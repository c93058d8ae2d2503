// Quantifier instantiation for the parametric proofs: see param_ground.cpp.
#pragma once

#include <cstddef>

#include <spec/z3_word.hpp>

namespace keel::spec::param {

// A quantifier-free formula that is unsatisfiable only if `f` is: negative universals
// Skolemised, positive universals instantiated at the index terms found, `rounds` times.
z3::expr ground(z3::context& ctx, const z3::expr& f, unsigned rounds, std::size_t* term_count);

// The same formula with every array read of a store or if-then-else of arrays replaced by an
// if-then-else of reads of the base arrays (equivalent).
z3::expr expand_reads(z3::context& ctx, const z3::expr& f);

}  // namespace keel::spec::param
