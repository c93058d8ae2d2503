// WordOps<z3::expr>: lets the shipped protocol rules (ipc/rules.hpp) run over Z3 32-bit
// bit-vector expressions, so spec/ proves the very functions Client and Server execute.
#pragma once

#include <z3++.h>

#include <cstdint>

#include <ipc/word.hpp>

// rules.hpp shifts with `<<`; z3++ only offers shl(). Found by ADL on z3::expr.
namespace z3 {
inline expr operator<<(const expr& a, const expr& b) {
    return shl(a, b);
}
}  // namespace z3

template <>
struct keel::ipc::WordOps<z3::expr> {
    using Bool = z3::expr;
    static z3::expr lit(const z3::expr& like, std::uint32_t v) {
        return like.ctx().bv_val(std::uint64_t(v), 32);
    }
    static z3::expr ult(const z3::expr& a, const z3::expr& b) { return z3::ult(a, b); }
    static z3::expr ule(const z3::expr& a, const z3::expr& b) { return z3::ule(a, b); }
    static z3::expr ite(const z3::expr& c, const z3::expr& a, const z3::expr& b) {
        return z3::ite(c, a, b);
    }
    // Both branches are built; a literal condition (a check a model does not have, passed as
    // false) adds no if-then-else, so the formula is the one the model wrote before.
    template <class A, class B>
    static z3::expr ite_lazy(const z3::expr& c, A&& a, B&& b) {
        if (c.is_false())
            return b();
        if (c.is_true())
            return a();
        return z3::ite(c, a(), b());
    }
    static z3::expr shr(const z3::expr& a, const z3::expr& n) { return z3::lshr(a, n); }
};
