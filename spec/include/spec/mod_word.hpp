// ModWord: a 32-bit word represented by an unbounded integer (a Z3 Int), standing for its residue
// mod 2^32. WordOps<ModWord> lets the parametric model, whose ring counters are integers
// (absolute ring positions), call the shipped ring and credit rules of ipc/rules.hpp on them.
//
// The bridge: every operation offered here (lit, +, -, ==, ult, ule) is the 32-bit operation on
// residues. + and - keep any representative (they commute with "mod 2^32"); == is equality of
// residues; ult and ule compare the residues in [0, 2^32); a literal below 2^32 is its own
// residue. BRIDGE (spec/src/proofs.cpp) proves, for every integer, that each depends on its
// operands' residues only and is SMT-LIB's definition of the bit-vector operation (through
// bv2nat) on them; BRIDGE.words (bridge_words.cpp) proves with cvc5, for all words, that each
// is the bit-vector operation of WordOps<z3::expr> (Z3 4.8.12 does not prove it at 32 bits),
// and BRIDGE evaluates both in Z3 on 4 356 pairs of words. A rule body built from these
// alone therefore computes, on representatives, what it computes on the words (by induction
// over the body); for the seven ring and credit rules the parametric model calls, BRIDGE.words
// proves that of each whole body too, so no induction is trusted for them. Nothing else is
// offered, so that a future rule keeps the argument. & | << >> and ite are not:
// ring_slot and the tag functions do not compile over ModWord, and the parametric model
// addresses ring entries by absolute position (RING proves that the same as ring_slot for every
// live entry) and keeps its tags as bit-vectors.
#pragma once

#include <z3++.h>

#include <cstdint>

#include <ipc/word.hpp>

namespace keel::spec {

struct ModWord {
    z3::expr e;  // any integer congruent to the word mod 2^32
};

// The residue in [0, 2^32): the word's value as the 32-bit code reads it.
inline z3::expr mod32(const z3::expr& x) {
    return z3::mod(x, x.ctx().int_val(std::int64_t(1) << 32));
}

inline ModWord operator+(const ModWord& a, const ModWord& b) {
    return {a.e + b.e};
}
inline ModWord operator-(const ModWord& a, const ModWord& b) {
    return {a.e - b.e};
}
inline z3::expr operator==(const ModWord& a, const ModWord& b) {
    return mod32(a.e - b.e) == a.e.ctx().int_val(0);
}

// A counter read from shared memory (only its residue is the word read) as an absolute
// position: the one congruent to it in [base, base + 2^32), base the reader's own counter that
// the code measures it from (PModel::unwrap; BRIDGE proves it the word read, in that window).
inline z3::expr unwrap_word(const z3::expr& base, const z3::expr& word) {
    return base + mod32(word - base);
}

}  // namespace keel::spec

template <>
struct keel::ipc::WordOps<keel::spec::ModWord> {
    using Bool = z3::expr;
    static keel::spec::ModWord lit(const keel::spec::ModWord& like, std::uint32_t v) {
        return {like.e.ctx().int_val(std::uint64_t(v))};
    }
    static z3::expr ult(const keel::spec::ModWord& a, const keel::spec::ModWord& b) {
        return keel::spec::mod32(a.e) < keel::spec::mod32(b.e);
    }
    static z3::expr ule(const keel::spec::ModWord& a, const keel::spec::ModWord& b) {
        return keel::spec::mod32(a.e) <= keel::spec::mod32(b.e);
    }
};
